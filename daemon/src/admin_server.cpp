#include "admin_server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <chrono>
#include <list>
#include <set>

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

// GET and HEAD change nothing; anything else (POST, PUT, ...) may.
bool IsSafeMethod(http::verb method) {
  return method == http::verb::get || method == http::verb::head;
}

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

bool TokenMatches(std::string_view header, const std::string& token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() < kScheme.size() ||
      !beast::iequals(header.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  // Constant time, so the comparison leaks neither how much of a guess
  // matched nor (comparing digests of equal size) the token's length.
  auto presented = Sha256(header.substr(kScheme.size()));
  auto expected = Sha256(token);
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "host:port" as a client writes it in Host: IPv6 in brackets.
std::string HostPort(const asio::ip::address& address, unsigned short port) {
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(port);
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
  // Host values naming this endpoint (lower case), set once bound.
  std::set<std::string> hosts;
  // Bound to 0.0.0.0 or ::: the address a client used is not known, so any
  // IP literal with our port passes; names do not (DNS rebinding needs one).
  bool wildcard = false;
  unsigned short port = 0;

  void SetAddresses(const std::string& listen_host, const tcp::endpoint& bound) {
    port = bound.port();
    std::string suffix = ":" + std::to_string(port);
    hosts.insert(Lower(listen_host) + suffix);
    hosts.insert(HostPort(bound.address(), port));
    if (bound.address().is_loopback() || bound.address().is_unspecified()) {
      for (const char* h : {"localhost", "127.0.0.1", "[::1]"}) hosts.insert(h + suffix);
    }
    wildcard = bound.address().is_unspecified();
  }

  bool HostAllowed(std::string_view host_header) const {
    std::string host = Lower(host_header);
    if (hosts.count(host)) return true;
    if (!wildcard) return false;
    auto colon = host.rfind(':');
    if (colon == std::string::npos || host.substr(colon + 1) != std::to_string(port)) {
      return false;
    }
    std::string name = host.substr(0, colon);
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
      name = name.substr(1, name.size() - 2);
    } else if (name.find(':') != std::string::npos) {
      return false;  // an IPv6 literal must be bracketed
    }
    boost::system::error_code ec;
    asio::ip::make_address(name, ec);
    return !ec;
  }

  // Why the request is refused before the handler sees it, or "" to go on.
  std::string Refusal(const http::request<http::string_body>& req, std::string_view path) const {
    bool safe = IsSafeMethod(req.method());
    if (!safe && req.find(http::field::origin) != req.end()) {
      return "refused: a request with an Origin header comes from a web browser, which may "
             "not change the daemon's state; use curl or another non-browser client\n";
    }
    bool open_to_any_host = safe && (IsProbe(path) || path == "/metrics");
    if (!open_to_any_host && !HostAllowed(req[http::field::host])) {
      return "refused: the Host header must name this endpoint (e.g. 127.0.0.1:" +
             std::to_string(port) + " or localhost:" + std::to_string(port) +
             " on loopback); other names are refused against DNS rebinding\n";
    }
    return "";
  }

  http::response<http::string_body> Answer(const http::request<http::string_body>& req) {
    AdminRequest r;
    r.method = std::string(req.method_string());
    std::string_view target = req.target();
    auto q = target.find('?');
    r.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));

    AdminResponse a;
    r.authenticated = !token.empty() && TokenMatches(req[http::field::authorization], token);
    if (std::string refusal = Refusal(req, r.path); !refusal.empty()) {
      a.status = 403;
      a.body = std::move(refusal);
    } else if (!token.empty() && !IsProbe(r.path) && !r.authenticated) {
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
  auto bound = impl->acceptor.local_endpoint(ec);
  if (ec) {
    *error = "cannot listen on " + listen + ": " + ec.message();
    return nullptr;
  }
  impl->SetAddresses(listen.substr(0, listen.rfind(':')), bound);
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
