// The HTTP/1.1 keep-alive connection pool: plain TCP or TLS (OpenSSL with peer
// and host name verification, SNI), per-step timeouts, a body limit, a
// transparent reconnect when the server closed an idle kept-alive connection,
// and optional pipelining (up to `pipeline_depth` requests written ahead of
// their responses on one connection; responses come back in order).
// Private to the client. Single-threaded: use on one executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace idsync::idaas::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Endpoint {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;  // "443" by default
  std::string host_header;
  bool loopback = false;
  bool ip_literal = false;
};

// Parses scheme://host[:port] (no path). Returns an error message on failure.
std::optional<std::string> ParseEndpoint(const std::string& text,
                                         Endpoint* out);

enum class Stage { kNone, kResolve, kConnect, kHandshake, kWrite, kRead };
const char* StageName(Stage stage);

struct TransportOptions {
  std::chrono::milliseconds timeout{15000};
  size_t body_limit = 64u << 20;
  int connections = 4;
  // Requests in flight per connection. 1 = no pipelining. A request is
  // pipelined only behind a response that kept the connection alive.
  int pipeline_depth = 1;
};

// What one exchange produced: either a response or a failure at a stage.
struct Exchange {
  boost::system::error_code ec;  // set when no complete response was read
  Stage stage = Stage::kNone;    // where ec happened
  bool written = false;          // the request was completely written
  bool tls_verify_failed = false;
  // The request was written on a kept-alive connection the server had
  // closed, and sent again on a new one: the server may have seen it twice.
  bool replayed = false;
  bool pipelined = false;        // written behind an unanswered request
  std::string detail;            // e.g. the certificate verification error
  http::response<http::string_body> response;
  Clock::time_point sent_at{};   // when the write started
};

using RequestPtr = std::shared_ptr<const http::request<http::string_body>>;

class Transport {
 public:
  // ssl_ctx may be null for plain http.
  Transport(asio::any_io_executor ex, Endpoint endpoint,
            std::shared_ptr<asio::ssl::context> ssl_ctx, TransportOptions opt);
  ~Transport();

  // Sends `request` on a pooled connection and reads the response. Waits for
  // a free connection (or pipeline position) first. `before_send` is awaited
  // after a position is held and before writing (the rate limiter). If a
  // reused connection turns out to be closed by the server before any
  // response byte, or a request pipelined behind another loses its
  // connection, it is sent once more on a new connection, transparently, when
  // `replay_safe` (the request is idempotent) or when nothing was written.
  asio::awaitable<Exchange> Send(
      RequestPtr request, bool replay_safe,
      std::function<asio::awaitable<bool>()> before_send);

  void Shutdown();
  uint64_t connections_opened() const { return connections_opened_; }
  uint64_t reconnects() const { return reconnects_; }
  uint64_t pipelined() const { return pipelined_; }

 private:
  struct Connection;
  asio::awaitable<Connection*> AcquirePosition();
  Connection* PickConnection();
  void ReleasePosition(Connection* c);
  void Drain(Connection* c, boost::system::error_code broken);
  asio::awaitable<Exchange> Open(Connection* c);
  asio::awaitable<Exchange> Attempt(Connection* c, RequestPtr request,
                                    bool* reused);
  bool IdleConnectionAlive(Connection* c);
  boost::system::error_code FailureCause(Connection* c,
                                         boost::system::error_code ec) const;

  asio::any_io_executor ex_;
  Endpoint endpoint_;
  std::shared_ptr<asio::ssl::context> ssl_ctx_;
  TransportOptions opt_;
  std::vector<std::unique_ptr<Connection>> slots_;  // most recently used last
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
  bool shutdown_ = false;
  uint64_t use_counter_ = 0;
  uint64_t connections_opened_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t pipelined_ = 0;
};

}  // namespace idsync::idaas::detail
