#include "http_client.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace idsync::connectors {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

template <class Stream>
asio::awaitable<void> Exchange(Stream& stream, beast::tcp_stream& lowest,
                               http::request<http::empty_body>& req, size_t body_limit,
                               std::chrono::milliseconds timeout, HttpResult* out) {
  lowest.expires_after(timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, as_tuple(use_awaitable));
  (void)wn;
  if (wec) {
    out->error = "sending the request: " + wec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  lowest.expires_after(timeout);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
  (void)rn;
  if (rec) {
    out->error = rec == http::error::body_limit
                     ? "response body larger than " + std::to_string(body_limit) + " bytes"
                     : "reading the response: " + rec.message();
    co_return;
  }
  out->status = static_cast<int>(parser.get().result_int());
  out->body = std::move(parser.get().body());
}

}  // namespace

std::string Base64(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += t[n >> 18];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += t[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    out += t[n >> 18];
    out += t[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += t[n >> 18];
    out += t[(n >> 12) & 63];
    out += t[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

HttpResult HttpGet(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& ca_file, std::chrono::milliseconds timeout, size_t body_limit) {
  HttpResult out;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    out.error = "invalid URL";
    return out;
  }
  boost::urls::url_view u = *parsed;
  // See MapReader::Url: Boost.URL 1.81 takes an IPv4 prefix of a name
  // ("127.0.0.1.nip.io") for the host and the rest for the path.
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') {
    out.error = "invalid URL";
    return out;
  }
  bool tls = u.scheme() == "https";
  if (!tls && u.scheme() != "http") {
    out.error = "unsupported URL scheme '" + std::string(u.scheme()) + "'";
    return out;
  }
  std::string host(u.host());
  std::string host_name = host;
  if (host_name.size() > 2 && host_name.front() == '[') host_name = host_name.substr(1, host_name.size() - 2);
  if (!tls && !IsLoopbackHost(host)) {
    out.error = "plain http is allowed only to loopback addresses; use https";
    return out;
  }
  std::string port = u.has_port() ? std::string(u.port()) : (tls ? "443" : "80");
  std::string target(u.encoded_target());
  if (target.empty()) target = "/";

  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, u.has_port() ? host + ":" + port : host);
  req.set(http::field::user_agent, "idsync");
  req.set(http::field::accept, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);

  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  boost::system::error_code ec;
  if (tls) {
    ctx.set_verify_mode(ssl::verify_peer);
    if (!ca_file.empty()) {
      ctx.load_verify_file(ca_file, ec);
      if (ec) {
        out.error = "cannot load ca_file " + ca_file + ": " + ec.message();
        return out;
      }
    } else {
      ctx.set_default_verify_paths(ec);
    }
  }
  auto run = [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(host_name, port, as_tuple(use_awaitable));
    if (rec) {
      out.error = "resolving " + host_name + ": " + rec.message();
      co_return;
    }
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
      boost::system::error_code aec;
      asio::ip::make_address(host_name, aec);
      if (aec && !SSL_set_tlsext_host_name(stream.native_handle(), host_name.c_str())) {
        out.error = "cannot set TLS SNI";
        co_return;
      }
      stream.set_verify_callback(ssl::host_name_verification(host_name));
      auto& lowest = beast::get_lowest_layer(stream);
      lowest.expires_after(timeout);
      auto [cec, ep] = co_await lowest.async_connect(results, as_tuple(use_awaitable));
      (void)ep;
      if (cec) {
        out.error = "connecting to " + host_name + ":" + port + ": " + cec.message();
        co_return;
      }
      lowest.expires_after(timeout);
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
      if (hec) {
        out.error = "TLS handshake with " + host_name + ": " + hec.message();
        co_return;
      }
      co_await Exchange(stream, lowest, req, body_limit, timeout, &out);
      lowest.expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(as_tuple(use_awaitable));
    } else {
      beast::tcp_stream stream(ex);
      stream.expires_after(timeout);
      auto [cec, ep] = co_await stream.async_connect(results, as_tuple(use_awaitable));
      (void)ep;
      if (cec) {
        out.error = "connecting to " + host_name + ":" + port + ": " + cec.message();
        co_return;
      }
      co_await Exchange(stream, stream, req, body_limit, timeout, &out);
    }
  };
  asio::co_spawn(ioc, run(), [&](std::exception_ptr e) {
    if (e && out.error.empty() && out.status == 0) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        out.error = ex.what();
      }
    }
  });
  ioc.run();
  return out;
}

}  // namespace idsync::connectors
