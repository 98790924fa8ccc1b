#include "admin_server.h"

#include <openssl/crypto.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <chrono>
#include <list>

namespace idsync::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// Health checkers and scrapers send small requests and read small answers;
// anything slower or bigger is a mistake or an attack.
constexpr auto kIoTimeout = std::chrono::seconds(10);
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kBodyLimit = 16 * 1024;
constexpr size_t kMaxConnections = 32;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool IsProbe(std::string_view path) { return path == "/healthz" || path == "/readyz"; }

bool TokenMatches(std::string_view header, const std::string& token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() != kScheme.size() + token.size()) return false;
  if (!beast::iequals(header.substr(0, kScheme.size()), kScheme)) return false;
  // Constant time, so the comparison does not leak how much of a guess matched.
  return CRYPTO_memcmp(header.data() + kScheme.size(), token.data(), token.size()) == 0;
}

bool ParseListen(const std::string& listen, tcp::endpoint* out, std::string* error) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    *error = "'" + listen + "' is not HOST:PORT";
    return false;
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    *error = "'" + host + "' is not an IP address";
    return false;
  }
  int port = std::atoi(listen.c_str() + colon + 1);
  *out = tcp::endpoint(address, static_cast<unsigned short>(port));
  return true;
}

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<AdminServer::Impl> {
  Impl(asio::any_io_executor ex, std::string tok, AdminHandler h)
      : acceptor(ex), token(std::move(tok)), handler(std::move(h)) {}

  tcp::acceptor acceptor;
  std::string token;
  AdminHandler handler;
  std::list<beast::tcp_stream*> open;  // for Stop()
  bool stopped = false;

  http::response<http::string_body> Answer(const http::request<http::string_body>& req) {
    AdminRequest r;
    r.method = std::string(req.method_string());
    std::string_view target = req.target();
    auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));

    AdminResponse a;
    if (!token.empty() && !IsProbe(r.path) &&
        !TokenMatches(req[http::field::authorization], token)) {
      a.status = 401;
      a.body = "a bearer token is required\n";
      a.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"idsync\"");
    } else {
      a = handler(r);
    }
    http::response<http::string_body> res(static_cast<http::status>(a.status), req.version());
    res.set(http::field::server, "idsync");
    res.set(http::field::content_type, a.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : a.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res.body() = std::move(a.body);
    res.prepare_payload();
    return res;
  }

  // Closing with the rest of an oversized request unread would send a RST,
  // and the client could lose the 413 before reading it. Half-close, then
  // read and discard until the client closes, for at most 2 s and 1 MiB.
  static asio::awaitable<void> LingeringClose(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 4096> scratch;
    for (size_t total = 0; total < (1u << 20);) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
      if (ec) break;
      total += n;
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    auto registration = open.insert(open.end(), &stream);
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      stream.expires_after(kIoTimeout);
      auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (read_ec) {
        if (read_ec == http::error::header_limit || read_ec == http::error::body_limit) {
          http::response<http::string_body> res(http::status::payload_too_large, 11);
          res.keep_alive(false);
          res.body() = "request too large\n";
          res.prepare_payload();
          stream.expires_after(kIoTimeout);
          auto [ec, n] = co_await http::async_write(stream, res, kTuple);
          if (!ec) co_await LingeringClose(stream);
        }
        break;
      }
      auto res = Answer(parser.get());
      stream.expires_after(kIoTimeout);
      auto [write_ec, write_n] = co_await http::async_write(stream, res, kTuple);
      if (write_ec || !res.keep_alive() || stopped) break;
    }
    open.erase(registration);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped) break;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      if (open.size() >= kMaxConnections) continue;  // closed by going out of scope
      asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket)), asio::detached);
    }
  }
};

std::unique_ptr<AdminServer> AdminServer::Start(asio::any_io_executor executor,
                                                const std::string& listen, std::string token,
                                                AdminHandler handler, std::string* error) {
  tcp::endpoint endpoint;
  if (!ParseListen(listen, &endpoint, error)) return nullptr;
  auto impl = std::make_shared<Impl>(executor, std::move(token), std::move(handler));
  boost::system::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + listen + ": " + ec.message();
    return nullptr;
  }
  asio::co_spawn(executor, impl->Accept(), asio::detached);
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::~AdminServer() { Stop(); }

tcp::endpoint AdminServer::local_endpoint() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec);
}

void AdminServer::set_token(std::string token) { impl_->token = std::move(token); }

void AdminServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto* stream : impl_->open) stream->socket().close(ignored);
}

}  // namespace idsync::daemon
