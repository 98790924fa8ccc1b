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
  auto addr = asio::ip::make_address(out->host, ec);
  if (!ec) {
    out->ip_literal = true;
    out->loopback = addr.is_loopback();
  } else {
    std::string h = out->host;
    for (auto& ch : h) ch = static_cast<char>(std::tolower(ch));
    out->loopback = h == "localhost" || h.ends_with(".localhost");
  }
  return std::nullopt;
}

struct Transport::Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool open = false;

  beast::tcp_stream& lowest() {
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }
  void Close() {
    if (tls) {
      error_code ec;
      beast::get_lowest_layer(*tls).socket().close(ec);
      tls.reset();
    }
    if (plain) {
      error_code ec;
      plain->socket().close(ec);
      plain.reset();
    }
    buffer.clear();
    open = false;
  }
};

Transport::Transport(asio::any_io_executor ex, Endpoint endpoint,
                     std::shared_ptr<ssl::context> ssl_ctx,
                     TransportOptions opt)
    : ex_(std::move(ex)),
      endpoint_(std::move(endpoint)),
      ssl_ctx_(std::move(ssl_ctx)),
      opt_(opt) {
  int n = std::max(1, opt_.connections);
  for (int i = 0; i < n; ++i) {
    slots_.push_back(std::make_unique<Connection>());
    free_.push_back(slots_.back().get());
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
  }
  for (auto& w : waiters_) w->cancel();
}

asio::awaitable<Transport::Connection*> Transport::AcquireSlot() {
  while (free_.empty()) {
    if (shutdown_) co_return nullptr;
    auto timer = std::make_shared<asio::steady_timer>(ex_);
    timer->expires_at(asio::steady_timer::time_point::max());
    waiters_.push_back(timer);
    co_await timer->async_wait(as_tuple(use_awaitable));
    std::erase(waiters_, timer);
  }
  if (shutdown_) co_return nullptr;
  Connection* c = free_.back();
  free_.pop_back();
  co_return c;
}

void Transport::ReleaseSlot(Connection* c, bool keep) {
  if (!keep || shutdown_) c->Close();
  // Most recently used first: keeps few sockets busy when load is low.
  free_.push_back(c);
  if (!waiters_.empty()) {
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
asio::awaitable<Exchange> DoRoundtrip(Stream& stream,
                                      beast::tcp_stream& lowest,
                                      beast::flat_buffer& buffer,
                                      RequestPtr request,
                                      std::chrono::milliseconds timeout,
                                      size_t body_limit) {
  Exchange ex;
  ex.sent_at = Clock::now();
  lowest.expires_after(timeout);
  auto [wec, wn] =
      co_await http::async_write(stream, *request, as_tuple(use_awaitable));
  (void)wn;
  if (wec) {
    ex.ec = wec;
    ex.stage = Stage::kWrite;
    co_return ex;
  }
  ex.written = true;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  lowest.expires_after(timeout);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser,
                                             as_tuple(use_awaitable));
  (void)rn;
  lowest.expires_never();
  if (rec) {
    ex.ec = rec;
    ex.stage = Stage::kRead;
    if (parser.got_some()) ex.detail = "partial response";
    co_return ex;
  }
  ex.response = parser.release();
  co_return ex;
}

}  // namespace

asio::awaitable<Exchange> Transport::Roundtrip(Connection* c,
                                               RequestPtr request) {
  Exchange ex;
  if (c->tls) {
    ex = co_await DoRoundtrip(*c->tls, c->lowest(), c->buffer, request,
                              opt_.timeout, opt_.body_limit);
  } else {
    ex = co_await DoRoundtrip(*c->plain, c->lowest(), c->buffer, request,
                              opt_.timeout, opt_.body_limit);
  }
  co_return ex;
}

asio::awaitable<Exchange> Transport::Send(
    RequestPtr request, bool replay_safe,
    std::function<asio::awaitable<bool>()> before_send) {
  Exchange ex;
  Connection* c = co_await AcquireSlot();
  if (c == nullptr) {
    ex.ec = asio::error::operation_aborted;
    co_return ex;
  }
  if (before_send && !co_await before_send()) {
    ReleaseSlot(c, true);
    ex.ec = asio::error::operation_aborted;
    co_return ex;
  }
  bool reused = c->open;
  if (reused && !IdleConnectionAlive(c)) {
    c->Close();
    ++reconnects_;
    reused = false;
  }
  bool replayed = false;
  for (int round = 0; round < 2; ++round) {
    if (!c->open) {
      ex = co_await Open(c);
      ex.replayed = replayed;
      if (ex.ec) {
        ReleaseSlot(c, false);
        co_return ex;
      }
    }
    ex = co_await Roundtrip(c, request);
    ex.replayed = replayed;
    bool nothing_received = ex.detail.empty();
    if (ex.ec && reused && round == 0 && nothing_received &&
        (replay_safe || !ex.written) && !shutdown_) {
      // The server closed the kept-alive connection under us.
      replayed = ex.written;
      c->Close();
      ++reconnects_;
      reused = false;
      continue;
    }
    break;
  }
  bool keep = !ex.ec && ex.response.keep_alive() && !shutdown_;
  ReleaseSlot(c, keep);
  co_return ex;
}

}  // namespace idsync::idaas::detail
