#include "transport.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <cerrno>

#include "idsync/config/loopback.h"

namespace idsync::idaas::detail {

namespace ssl = asio::ssl;
using asio::as_tuple;
using asio::use_awaitable;
using boost::system::error_code;

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kNone: return "none";
    case Stage::kResolve: return "resolve";
    case Stage::kConnect: return "connect";
    case Stage::kHandshake: return "handshake";
    case Stage::kWrite: return "write";
    case Stage::kRead: return "read";
  }
  return "?";
}

std::optional<std::string> ParseEndpoint(const std::string& text,
                                         Endpoint* out) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url) return "endpoint is not an absolute URL: " + text;
  std::string scheme(url->scheme());
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(ch));
  if (scheme == "https") {
    out->tls = true;
  } else if (scheme == "http") {
    out->tls = false;
  } else {
    return "endpoint scheme must be http or https: " + text;
  }
  if (!url->has_authority() || url->host().empty())
    return "endpoint has no host: " + text;
  if (url->has_userinfo()) return "endpoint must not contain user info";
  std::string path(url->encoded_path());
  if (!path.empty() && path != "/")
    return "endpoint must not have a path (got " + path + ")";
  if (url->has_query() || url->has_fragment())
    return "endpoint must not have a query or fragment";
  out->host = std::string(url->host_address());
  if (url->host_type() == boost::urls::host_type::ipv6 ||
      url->host_type() == boost::urls::host_type::ipv4) {
    out->ip_literal = true;
  }
  out->port = url->has_port() ? std::string(url->port())
                              : (out->tls ? "443" : "80");
  out->host_header = std::string(url->encoded_host_and_port());
  error_code ec;
  asio::ip::make_address(out->host, ec);
  if (!ec) out->ip_literal = true;
  // The one loopback test; "x.localhost" is not loopback (DNS answers it).
  out->loopback = config::IsLoopbackHost(out->host);
  return std::nullopt;
}

struct Transport::Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool open = false;
  uint64_t last_used = 0;  // for most-recently-used picking

  // Requests holding a position on this connection: waiting for the rate
  // limiter, writing, or waiting for their response.
  int holders = 0;
  bool writing = false;
  uint64_t next_ticket = 0;  // write order, which is also response order
  uint64_t read_turn = 0;    // the ticket whose response is read next
  // A response kept the connection alive: the server speaks persistent
  // HTTP/1.1 here, so requests may be pipelined behind others.
  bool kept_alive = false;
  // Takes no more requests: it broke, or the server announced its close.
  // Closed and reset when its last holder leaves.
  bool draining = false;
  bool close_announced = false;
  error_code broken;
  std::vector<std::shared_ptr<asio::steady_timer>> waiters;

  beast::tcp_stream& lowest() {
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }
  void CloseSocket() {
    if (!open) return;
    error_code ec;
    lowest().socket().close(ec);
  }
  // Only when no holder but the caller is inside an operation on it.
  void Close() {
    CloseSocket();
    tls.reset();
    plain.reset();
    buffer.clear();
    open = false;
    writing = false;
    next_ticket = read_turn = 0;
    kept_alive = draining = close_announced = false;
    broken = {};
  }
  // Wakes everyone waiting for the write lock or their read turn.
  void Notify() {
    for (auto& w : waiters) w->cancel();
  }
  asio::awaitable<void> Wait(asio::any_io_executor ex) {
    auto timer = std::make_shared<asio::steady_timer>(ex);
    timer->expires_at(asio::steady_timer::time_point::max());
    waiters.push_back(timer);
    co_await timer->async_wait(as_tuple(use_awaitable));
    std::erase(waiters, timer);
  }
};

Transport::Transport(asio::any_io_executor ex, Endpoint endpoint,
                     std::shared_ptr<ssl::context> ssl_ctx,
                     TransportOptions opt)
    : ex_(std::move(ex)),
      endpoint_(std::move(endpoint)),
      ssl_ctx_(std::move(ssl_ctx)),
      opt_(opt) {
  opt_.connections = std::max(1, opt_.connections);
  opt_.pipeline_depth = std::max(1, opt_.pipeline_depth);
  for (int i = 0; i < opt_.connections; ++i) {
    slots_.push_back(std::make_unique<Connection>());
  }
}

Transport::~Transport() {
  for (auto& c : slots_) c->Close();
}

void Transport::Shutdown() {
  shutdown_ = true;
  for (auto& c : slots_) {
    if (c->open) {
      error_code ec;
      c->lowest().socket().cancel(ec);
      c->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    }
    c->Notify();
  }
  for (auto& w : waiters_) w->cancel();
}

// An idle connection first, most recently used first: keeps few sockets
// busy when load is low. Otherwise, with pipelining, the least loaded open
// connection that has shown it keeps alive.
Transport::Connection* Transport::PickConnection() {
  Connection* idle = nullptr;
  Connection* pipelined = nullptr;
  for (auto& slot : slots_) {
    Connection* c = slot.get();
    if (c->draining) continue;
    if (c->holders == 0) {
      if (idle == nullptr || (c->open && !idle->open) ||
          (c->open == idle->open && c->last_used > idle->last_used)) {
        idle = c;
      }
    } else if (c->open && c->kept_alive && c->holders < opt_.pipeline_depth) {
      if (pipelined == nullptr || c->holders < pipelined->holders) {
        pipelined = c;
      }
    }
  }
  return idle != nullptr ? idle : pipelined;
}

asio::awaitable<Transport::Connection*> Transport::AcquirePosition() {
  Connection* c = nullptr;
  while (!shutdown_ && (c = PickConnection()) == nullptr) {
    auto timer = std::make_shared<asio::steady_timer>(ex_);
    timer->expires_at(asio::steady_timer::time_point::max());
    waiters_.push_back(timer);
    co_await timer->async_wait(as_tuple(use_awaitable));
    std::erase(waiters_, timer);
  }
  if (shutdown_) co_return nullptr;
  ++c->holders;
  c->last_used = ++use_counter_;
  co_return c;
}

void Transport::Drain(Connection* c, error_code broken) {
  if (!c->draining) {
    c->draining = true;
    c->broken = broken;
    // An error leaves the byte stream unusable: abort whatever else is
    // pending on it. An announced close is orderly; nothing is pending.
    if (broken != http::error::end_of_stream) c->CloseSocket();
  }
  c->Notify();
}

void Transport::ReleasePosition(Connection* c) {
  --c->holders;
  bool reset = false;
  if (c->holders == 0 && (c->draining || shutdown_)) {
    c->Close();
    reset = true;
  }
  // A reset connection frees all its positions at once.
  size_t wake = reset ? waiters_.size() : 1;
  for (size_t i = 0; i < wake && !waiters_.empty(); ++i) {
    auto w = waiters_.front();
    waiters_.pop_front();
    w->cancel();
  }
}

bool Transport::IdleConnectionAlive(Connection* c) {
  if (c->buffer.size() != 0) return false;  // stray bytes: resync impossible
  char byte;
  ssize_t n = ::recv(c->lowest().socket().native_handle(), &byte, 1,
                     MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  return false;  // EOF, an error, or unexpected data (e.g. TLS close_notify)
}

asio::awaitable<Exchange> Transport::Open(Connection* c) {
  using namespace asio::experimental::awaitable_operators;
  Exchange ex;
  c->Close();

  // Resolve, raced against a timer (tcp::resolver has no expiry of its own).
  tcp::resolver resolver(ex_);
  asio::steady_timer timer(ex_, opt_.timeout);
  auto raced = co_await (
      resolver.async_resolve(endpoint_.host, endpoint_.port,
                             as_tuple(use_awaitable)) ||
      timer.async_wait(as_tuple(use_awaitable)));
  if (raced.index() == 1) {
    ex.ec = beast::error::timeout;
    ex.stage = Stage::kResolve;
    co_return ex;
  }
  auto [rec, results] = std::get<0>(std::move(raced));
  if (rec) {
    ex.ec = rec;
    ex.stage = Stage::kResolve;
    co_return ex;
  }

  auto stream = std::make_unique<beast::tcp_stream>(ex_);
  stream->expires_after(opt_.timeout);
  auto [cec, ep] =
      co_await stream->async_connect(results, as_tuple(use_awaitable));
  if (cec) {
    ex.ec = cec;
    ex.stage = Stage::kConnect;
    co_return ex;
  }
  stream->socket().set_option(tcp::no_delay(true));
  if (shutdown_) {
    ex.ec = asio::error::operation_aborted;
    ex.stage = Stage::kConnect;
    co_return ex;
  }

  if (!endpoint_.tls) {
    stream->expires_never();
    c->plain = std::move(stream);
    c->open = true;
    ++connections_opened_;
    co_return ex;
  }

  auto tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(
      std::move(*stream), *ssl_ctx_);
  SSL* ssl = tls->native_handle();
  if (!endpoint_.ip_literal) {
    // SNI carries host names only (RFC 6066), never IP literals.
    SSL_set_tlsext_host_name(ssl, endpoint_.host.c_str());
    SSL_set1_host(ssl, endpoint_.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint_.host.c_str());
  }
  beast::get_lowest_layer(*tls).expires_after(opt_.timeout);
  auto [hec] = co_await tls->async_handshake(ssl::stream_base::client,
                                             as_tuple(use_awaitable));
  if (hec) {
    ex.ec = hec;
    ex.stage = Stage::kHandshake;
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      ex.tls_verify_failed = true;
      ex.detail = std::string("certificate verification failed: ") +
                  X509_verify_cert_error_string(verify);
    } else if (hec.category() == asio::error::get_ssl_category() ||
               hec.category() == ssl::error::get_stream_category()) {
      ex.tls_verify_failed = true;  // a TLS protocol failure: not transient
      ex.detail = "TLS handshake failed: " + hec.message();
    }
    co_return ex;
  }
  beast::get_lowest_layer(*tls).expires_never();
  c->tls = std::move(tls);
  c->open = true;
  ++connections_opened_;
  co_return ex;
}

namespace {

template <class Stream>
asio::awaitable<error_code> WriteRequest(Stream& stream,
                                         beast::tcp_stream& lowest,
                                         RequestPtr request,
                                         std::chrono::milliseconds timeout) {
  lowest.expires_after(timeout);
  auto [ec, n] =
      co_await http::async_write(stream, *request, as_tuple(use_awaitable));
  (void)n;
  co_return ec;
}

template <class Stream>
asio::awaitable<error_code> ReadResponse(
    Stream& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
    http::response_parser<http::string_body>& parser,
    std::chrono::milliseconds timeout) {
  lowest.expires_after(timeout);
  auto [ec, n] =
      co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
  (void)n;
  co_return ec;
}

}  // namespace

// What to report for a failed read or write. Another request's failure on
// the same connection closes the socket under this one (operation_aborted);
// the first failure is the real cause, and operation_aborted would read as
// a cancelled call.
error_code Transport::FailureCause(Connection* c, error_code ec) const {
  if (c->draining && c->broken) return c->broken;
  if (ec == asio::error::operation_aborted && !shutdown_)
    return asio::error::connection_aborted;
  return ec;
}

// One exchange on a connection the caller holds a position on.
asio::awaitable<Exchange> Transport::Attempt(Connection* c, RequestPtr request,
                                             bool* reused) {
  Exchange ex;
  if (c->open && c->holders == 1 && !IdleConnectionAlive(c)) {
    c->Close();  // sole holder: nothing else is pending on it
    ++reconnects_;
  }
  *reused = c->open;
  if (!c->open) {
    ex = co_await Open(c);
    if (ex.ec) co_return ex;
  }

  // Writes go out one at a time, in ticket order.
  while (c->writing && !c->draining) co_await c->Wait(ex_);
  if (c->draining) {
    ex.pipelined = true;
    ex.ec = c->broken;
    ex.stage = Stage::kWrite;
    co_return ex;
  }
  const uint64_t ticket = c->next_ticket++;
  ex.pipelined = ticket != c->read_turn;
  if (ex.pipelined) ++pipelined_;
  c->writing = true;
  ex.sent_at = Clock::now();
  error_code wec = c->tls ? co_await WriteRequest(*c->tls, c->lowest(), request,
                                                  opt_.timeout)
                          : co_await WriteRequest(*c->plain, c->lowest(),
                                                  request, opt_.timeout);
  c->writing = false;
  c->Notify();
  if (wec) {
    // An incomplete request is never processed; the stream is unusable.
    ex.ec = FailureCause(c, wec);
    ex.stage = Stage::kWrite;
    Drain(c, ex.ec);
    co_return ex;
  }
  ex.written = true;

  // Responses come back in request order.
  while (c->read_turn != ticket && !c->draining) co_await c->Wait(ex_);
  if (c->draining) {
    ex.ec = c->broken;
    ex.stage = Stage::kRead;
    // RFC 9112 section 9.6: after a response announcing close the server
    // processes no further request on that connection.
    if (c->close_announced) ex.written = false;
    co_return ex;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(opt_.body_limit);
  error_code rec =
      c->tls ? co_await ReadResponse(*c->tls, c->lowest(), c->buffer, parser,
                                     opt_.timeout)
             : co_await ReadResponse(*c->plain, c->lowest(), c->buffer, parser,
                                     opt_.timeout);
  if (rec) {
    ex.ec = FailureCause(c, rec);
    ex.stage = Stage::kRead;
    if (parser.got_some()) ex.detail = "partial response";
    Drain(c, rec == http::error::end_of_stream ? error_code(asio::error::eof)
                                               : rec);
    co_return ex;
  }
  ex.response = parser.release();
  ++c->read_turn;
  if (ex.response.keep_alive()) {
    c->kept_alive = true;
    c->Notify();
  } else {
    c->close_announced = true;
    Drain(c, http::error::end_of_stream);
  }
  co_return ex;
}

asio::awaitable<Exchange> Transport::Send(
    RequestPtr request, bool replay_safe,
    std::function<asio::awaitable<bool>()> before_send) {
  Exchange ex;
  bool replayed = false;
  for (int round = 0; round < 2; ++round) {
    Connection* c = co_await AcquirePosition();
    if (c == nullptr) {
      ex = Exchange{};
      ex.ec = asio::error::operation_aborted;
      co_return ex;
    }
    if (round == 0 && before_send && !co_await before_send()) {
      ReleasePosition(c);
      ex.ec = asio::error::operation_aborted;
      co_return ex;
    }
    bool reused = false;
    ex = co_await Attempt(c, request, &reused);
    ex.replayed = replayed;
    if (ex.ec && !c->draining) Drain(c, ex.ec);
    if (shutdown_ && !c->draining) Drain(c, asio::error::operation_aborted);
    ReleasePosition(c);
    bool nothing_received = ex.detail.empty();
    if (ex.ec && round == 0 && !shutdown_ && (reused || ex.pipelined) &&
        nothing_received && (replay_safe || !ex.written)) {
      // The server closed a kept-alive connection under us, or the
      // connection this request was pipelined on went away.
      if (reused && !ex.pipelined) ++reconnects_;
      replayed = ex.written;
      continue;
    }
    break;
  }
  co_return ex;
}

}  // namespace idsync::idaas::detail
