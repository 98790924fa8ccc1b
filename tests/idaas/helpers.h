// Test support for the IDaaS client (and for the executor's tests against the
// emulator): the real emulator as a child process with its plain-HTTP control
// API, a scripted HTTP/1.1 server for wire behaviour the emulator does not
// produce, a capture of the "idaas" log, request builders and coroutine
// runners. The implementation is in helpers.cpp (idsync_idaas_test_support).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "idsync/idaas/client.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace idsync::testing {
class Process;
}  // namespace idsync::testing

namespace idsync::idaas::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

inline constexpr const char* kInstance = "idaas_emulator";
inline constexpr const char* kApp = "app_emulator";
inline constexpr const char* kSecret = "emulator-secret";
inline constexpr const char* kRootOu = "ou_emulatorroot00000000000000";

struct HttpReply {
  int status = 0;
  std::string body;
  json::value json;
};

// Sends `req` as it is on a fresh plain-HTTP connection and reads the reply.
HttpReply SendRaw(const std::string& host, const std::string& port,
                  const http::request<http::string_body>& req);

// One plain-HTTP request on a fresh connection (admin API, scripted checks).
HttpReply PlainRequest(const std::string& host, const std::string& port, http::verb method,
                       const std::string& target, const std::string& body = {});

// The real idaas-emulator on 127.0.0.1, port 0.
class Emulator {
 public:
  explicit Emulator(std::vector<std::string> extra = {}, bool tls = false);
  ~Emulator();
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  std::string Url(const std::string& host = "") const;
  HttpReply Admin(http::verb method, const std::string& target,
                  const std::string& body = {}) const;
  void Config(const std::string& json_body) const;
  // The request log (API requests only).
  json::array Requests() const;
  json::value State() const;
  std::string Stderr() const;
  Options ClientOptions() const;

 private:
  bool tls_;
  std::unique_ptr<idsync::testing::Process> process_;
  std::string host_, port_;
};

// A scripted HTTP/1.1 server on 127.0.0.1 in its own thread. The handler
// sees each request and returns the response; arrival times are recorded.
class ScriptedServer {
 public:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;
  using Handler = std::function<Response(const Request&)>;

  explicit ScriptedServer(Handler handler);
  ~ScriptedServer();
  std::string Url() const;
  struct Arrival {
    std::chrono::steady_clock::time_point at;
    std::string target;
    std::string action;
    std::string authorization;
  };
  std::vector<Arrival> arrivals();
  int accepted() const { return accepted_; }
  // Connections the server has closed after answering (close_after_response).
  int closed() const { return closed_; }
  std::atomic<bool> close_after_response{false};

  static Response Json(int status, const std::string& body);
  static Response Token(const std::string& token = "AT_scripted", int expires_in = 1200);

 private:
  void Accept();
  void Serve(std::shared_ptr<tcp::socket> socket);

  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Arrival> arrivals_;
  std::atomic<int> accepted_{0};
  std::atomic<int> closed_{0};
};

Options ScriptedOptions(const std::string& url);

// Captures everything the "idaas" logger writes (at trace level).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string text();

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
};

// Request builders (plain functions: designated initializers that skip
// members warn under -Wextra, and braced temporaries inside co_await trip
// GCC 12).
CreateUserRequest UserReq(std::string username, std::string ou, std::string external_id = "");
PatchUserRequest UserPatchName(std::string display_name);
CreateOrganizationalUnitRequest OuReq(std::string name, std::string parent,
                                      std::string description = "",
                                      std::string external_id = "");
PatchOrganizationalUnitRequest OuPatch(std::string name);
CreateGroupRequest GroupReq(std::string name, std::string external_id = "");
PatchGroupRequest GroupPatch(std::string name);

template <class... A>
std::vector<std::string> Ids(A... ids) {
  return {std::string(ids)...};
}

// Runs `body` as a coroutine on a fresh io_context to completion.
template <class F>
void RunCoro(asio::io_context& io, F body) {
  asio::co_spawn(io, std::move(body), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.restart();
  io.run();
}

// Runs worker(0..n-1) concurrently on io to completion.
template <class F>
void RunWorkers(asio::io_context& io, int n, F worker) {
  for (int i = 0; i < n; ++i) {
    asio::co_spawn(io, worker(i), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  io.restart();
  io.run();
}

#define CO_REQUIRE(r)                                      \
  if (!(r)) {                                              \
    ADD_FAILURE() << #r << ": " << (r).error().message; \
    co_return;                                             \
  }

// What the executor does with an ambiguous create: look it up by external id
// before sending it again.
asio::awaitable<Result<std::string>> CreateUserExactlyOnce(Client& c, CreateUserRequest req,
                                                           int* lookups);

}  // namespace idsync::idaas::testing
