// The daemon's admin HTTP endpoint (Beast, HTTP/1.1, plain text on loopback
// by default). The server owns the transport rules — timeouts, size limits,
// the connection cap and the bearer token — and hands each accepted request
// to the daemon's handler on the same executor, so the handler needs no
// locking.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace idsync::daemon {

struct AdminRequest {
  std::string method;  // GET, POST, ...
  std::string path;    // without the query
  std::string query;   // after '?', undecoded
  // A token is configured and the request carried it. Without a configured
  // token this is false: what needs proof of the operator (overriding a
  // guard) must then be refused, not assumed.
  bool authenticated = false;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

class AdminServer {
 public:
  // Binds `listen` ("HOST:PORT", "[::1]:PORT"; port 0 picks a free one).
  // The server refuses, before the handler sees them (docs/operations.md,
  // "Security of the admin endpoint"):
  //  - with 403, a request other than GET/HEAD that carries an Origin header
  //    (a web browser: a page's form or fetch must not start cycles);
  //  - with 403, a request whose Host is not this endpoint's address (DNS
  //    rebinding), except GET/HEAD of the probes and /metrics, which stay
  //    open to probes and scrapers that address the daemon by any name;
  //  - with 401, when a token is set, every path except the probes without
  //    "Authorization: Bearer <token>" (compared in constant time).
  // nullptr and `error` set when the address cannot be bound.
  static std::unique_ptr<AdminServer> Start(boost::asio::any_io_executor executor,
                                            const std::string& listen, std::string token,
                                            AdminHandler handler, std::string* error);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void set_token(std::string token);
  // Stops accepting and closes every open connection.
  void Stop();

  struct Impl;

 private:
  explicit AdminServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace idsync::daemon
