#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

namespace idsync::emulator_test {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  std::string host, port, ca_file;
  net::io_context io;
  ssl::context tls{ssl::context::tls_client};
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  int opened = 0;

  bool Connect(beast::error_code& ec) {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, ec);
    if (ec) return false;
    ++opened;
    buffer.clear();
    if (ca_file.empty()) {
      plain = std::make_unique<beast::tcp_stream>(io);
      plain->connect(results, ec);
      return !ec;
    }
    secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, tls);
    beast::get_lowest_layer(*secure).connect(results, ec);
    if (ec) return false;
    SSL_set_tlsext_host_name(secure->native_handle(), "localhost");
    secure->handshake(ssl::stream_base::client, ec);
    return !ec;
  }

  template <typename Stream>
  std::optional<HttpResponse> Exchange(Stream& stream,
                                       http::request<http::string_body>& req) {
    beast::error_code ec;
    http::write(stream, req, ec);
    if (ec) return std::nullopt;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser, ec);
    if (ec) return std::nullopt;
    auto message = parser.release();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      response.headers[name] = std::string(field.value());
    }
    response.body = message.body();
    boost::system::error_code parse_ec;
    response.json = boost::json::parse(response.body, parse_ec);
    if (parse_ec) response.json = nullptr;
    if (!message.keep_alive()) Drop();
    return response;
  }

  void Drop() {
    plain.reset();
    secure.reset();
  }
};

HttpClient::HttpClient(std::string address, std::string ca_file)
    : impl_(std::make_unique<Impl>()) {
  size_t colon = address.rfind(':');
  impl_->host = address.substr(0, colon);
  if (!impl_->host.empty() && impl_->host.front() == '[') {
    impl_->host = impl_->host.substr(1, impl_->host.size() - 2);
  }
  impl_->port = address.substr(colon + 1);
  impl_->ca_file = std::move(ca_file);
  if (!impl_->ca_file.empty()) {
    impl_->tls.load_verify_file(impl_->ca_file);
    impl_->tls.set_verify_mode(ssl::verify_peer);
    impl_->tls.set_verify_callback(ssl::host_name_verification("localhost"));
  }
}

HttpClient::~HttpClient() = default;

int HttpClient::connections_opened() const { return impl_->opened; }

std::optional<HttpResponse> HttpClient::Send(
    const std::string& method, const std::string& target,
    const std::string& body, const std::map<std::string, std::string>& headers) {
  if (!impl_->plain && !impl_->secure) {
    beast::error_code ec;
    if (!impl_->Connect(ec)) {
      impl_->Drop();
      return std::nullopt;
    }
  }
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + impl_->port);
  req.set(http::field::accept, "application/json");
  req.keep_alive(true);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty()) {
    if (headers.find("Content-Type") == headers.end()) {
      req.set(http::field::content_type, "application/json; charset=utf-8");
    }
    req.body() = body;
  }
  req.prepare_payload();
  std::optional<HttpResponse> response =
      impl_->plain ? impl_->Exchange(*impl_->plain, req)
                   : impl_->Exchange(*impl_->secure, req);
  if (!response) impl_->Drop();
  return response;
}

}  // namespace idsync::emulator_test
