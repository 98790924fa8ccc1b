// A deliberately small synchronous HTTP/1.1 client (Beast) for the tests that
// talk HTTP(S) to the emulator or the daemon (the emulator conformance tests,
// e2e, daemon and store tests). It is independent of idsync's own IDaaS client
// so the emulator is checked on its own.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace idsync::emulator_test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  boost::json::value json;  // null when the body is not JSON

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  // address is "host:port" or "[v6]:port". With ca_file, speaks HTTPS and
  // verifies the server certificate against that CA for host "localhost".
  explicit HttpClient(std::string address, std::string ca_file = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One exchange on the kept-alive connection (connecting if needed).
  // Returns nullopt on a transport failure (reset, closed without a
  // response, TLS failure); the connection is then dropped.
  std::optional<HttpResponse> Send(
      const std::string& method, const std::string& target,
      const std::string& body = {},
      const std::map<std::string, std::string>& headers = {});

  // Number of TCP connections opened so far (to check keep-alive).
  int connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idsync::emulator_test
