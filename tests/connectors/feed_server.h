// A loopback HTTPS fixture server for the HR feed tests: Beast over Asio on
// 127.0.0.1, port 0, with the test CA's server certificate. Each request is
// answered by a handler and recorded.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace idsync::testing {

struct FeedRequest {
  std::string target;
  std::string authorization;
};

struct FeedResponse {
  int status = 200;
  std::string body;
};

class FeedServer {
 public:
  using Handler = std::function<FeedResponse(const FeedRequest&)>;

  FeedServer(const std::string& cert_dir, Handler handler)
      : ctx_(boost::asio::ssl::context::tls_server), handler_(std::move(handler)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    ctx_.use_certificate_chain_file(cert_dir + "/server.pem");
    ctx_.use_private_key_file(cert_dir + "/server.key", boost::asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(ioc_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FeedServer() {
    ioc_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "https://localhost:" + std::to_string(port_) + path;
  }
  std::vector<FeedRequest> Requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  boost::asio::awaitable<void> Accept() {
    while (true) {
      auto [ec, sock] = co_await acceptor_.async_accept(
          boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;
      boost::asio::co_spawn(ioc_, Serve(std::move(sock)), boost::asio::detached);
    }
  }
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket sock) {
    namespace http = boost::beast::http;
    using boost::asio::as_tuple;
    using boost::asio::use_awaitable;
    boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream(std::move(sock), ctx_);
    auto [hec] = co_await stream.async_handshake(boost::asio::ssl::stream_base::server,
                                                 as_tuple(use_awaitable));
    if (hec) co_return;
    boost::beast::flat_buffer buf;
    while (true) {
      http::request<http::string_body> req;
      auto [rec, n] = co_await http::async_read(stream, buf, req, as_tuple(use_awaitable));
      (void)n;
      if (rec) co_return;
      FeedRequest fr{std::string(req.target()), std::string(req[http::field::authorization])};
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(fr);
      }
      FeedResponse r = handler_(fr);
      http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = r.body;
      res.prepare_payload();
      res.keep_alive(false);
      co_await http::async_write(stream, res, as_tuple(use_awaitable));
      co_await stream.async_shutdown(as_tuple(use_awaitable));
      co_return;
    }
  }

  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  Handler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<FeedRequest> requests_;
};

}  // namespace idsync::testing
