#include "server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <array>
#include <deque>
#include <optional>
#include <stdexcept>

namespace idsync::emulator {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

tcp::endpoint ParseListen(net::io_context& io, const std::string& listen) {
  std::string host, port;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() ||
        listen[close + 1] != ':') {
      throw std::runtime_error("bad --listen address '" + listen + "'");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      throw std::runtime_error("--listen needs HOST:PORT, got '" + listen + "'");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port,
                                  tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve --listen '" + listen +
                             "': " + ec.message());
  }
  return results.begin()->endpoint();
}

// One connection. Requests are read and handled as they arrive, also while
// earlier responses are still pending (HTTP/1.1 pipelining), and responses
// go out in request order, each no earlier than its injected delay after
// its request arrived. The delay therefore behaves like network latency:
// pipelined requests overlap their delays, sequential ones add up.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <typename... Args>
  Session(Emulator& emulator, const ServerOptions& options, Args&&... args)
      : emulator_(emulator),
        options_(options),
        stream_(std::forward<Args>(args)...),
        timer_(stream_.get_executor()) {}

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(options_.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) return self->Abort();
            self->Read();
          });
    } else {
      Read();
    }
  }

 private:
  static constexpr bool kTls =
      !std::is_same_v<Stream, beast::tcp_stream>;
  // Requests read ahead of their responses; reading pauses beyond this.
  static constexpr size_t kMaxPipelined = 16;
  using SteadyClock = std::chrono::steady_clock;

  struct Pending {
    Response response;
    unsigned version = 11;
    bool keep_alive = true;
    SteadyClock::time_point due;
  };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Read() {
    reading_ = true;
    parser_.emplace();
    parser_->body_limit(emulator_.options().max_body_bytes);
    Lowest().expires_after(options_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          self->reading_ = false;
          self->OnRead(ec);
        });
  }

  void OnRead(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) {
      // Answer like the API does, then close: the rest of the body is unread.
      const auto& header = parser_->get();
      Enqueue(emulator_.BodyTooLarge(std::string(header.method_string()),
                                     std::string(header.target())),
              header.version(), false);
      return;
    }
    if (ec) {
      // EOF, timeout, or a malformed request: answer what was read, then go.
      eof_ = true;
      if (queue_.empty() && !writing_) Close();
      return;
    }
    http::request<http::string_body> message = parser_->release();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.body = std::move(message.body());
    request.authorization = std::string(message[http::field::authorization]);
    request.content_type = std::string(message[http::field::content_type]);
    request.acs_action = std::string(message["x-acs-action"]);
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()),
                                   std::string(field.value()));
    }
    uint64_t limit = emulator_.options().keepalive_requests;
    bool keep_alive = message.keep_alive() && (limit == 0 || ++served_ < limit);
    Enqueue(emulator_.Handle(request), message.version(), keep_alive);
  }

  void Enqueue(Response response, unsigned version, bool keep_alive) {
    // A reset or a dropped response ends the connection; the server reads
    // nothing after a request that ends it (RFC 9112 section 9.6).
    bool last = !keep_alive ||
                response.disposition != Response::Disposition::kRespond;
    auto due = SteadyClock::now() + response.delay;
    queue_.push_back(Pending{std::move(response), version, keep_alive, due});
    if (last) {
      stop_reading_ = true;
    } else if (queue_.size() < kMaxPipelined) {
      Read();
    }
    Write();
  }

  void Write() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    if (queue_.front().due > SteadyClock::now()) {
      timer_.expires_at(queue_.front().due);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code) {
        self->Act();
      });
      return;
    }
    Act();
  }

  void Act() {
    if (closed_) return;
    Pending& next = queue_.front();
    switch (next.response.disposition) {
      case Response::Disposition::kReset: {
        // SO_LINGER 0 turns close() into a TCP RST.
        boost::system::error_code ignored;
        Lowest().socket().set_option(net::socket_base::linger(true, 0),
                                     ignored);
        return Abort();
      }
      case Response::Disposition::kDropAfterCommit:
        return Close();
      case Response::Disposition::kRespond:
        return Send(next);
    }
  }

  void Send(Pending& next) {
    response_.emplace();
    response_->version(next.version);
    response_->result(static_cast<unsigned>(next.response.status));
    response_->set(http::field::server, "idaas-emulator");
    for (auto& [name, value] : next.response.headers) {
      response_->set(name, value);
    }
    response_->body() = std::move(next.response.body);
    response_->keep_alive(next.keep_alive);
    response_->prepare_payload();
    Lowest().expires_after(options_.write_timeout);
    http::async_write(
        stream_, *response_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          self->OnWritten(ec);
        });
  }

  void OnWritten(beast::error_code ec) {
    if (ec) return Abort();
    bool keep_alive = queue_.front().keep_alive;
    queue_.pop_front();
    writing_ = false;
    if (!keep_alive) return Close();
    if (queue_.empty() && eof_) return Close();
    if (!reading_ && !stop_reading_ && !eof_ && queue_.size() < kMaxPipelined)
      Read();
    Write();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) {
            boost::system::error_code ignored;
            self->Lowest().socket().close(ignored);
          });
    } else {
      // Lingering close: closing with unread pipelined requests in the
      // receive buffer would send a RST, and the client could lose the
      // responses already sent. Half-close, then read and discard until the
      // client closes (or 2 s pass), as nginx's lingering_close does.
      boost::system::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Lowest().expires_after(std::chrono::seconds(2));
      Discard();
    }
  }

  void Discard() {
    Lowest().async_read_some(
        net::buffer(discard_),
        [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (ec) {
            boost::system::error_code ignored;
            self->Lowest().socket().close(ignored);
            return;
          }
          self->Discard();
        });
  }

  void Abort() {
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    Lowest().socket().close(ignored);
  }

  Emulator& emulator_;
  const ServerOptions& options_;
  Stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::deque<Pending> queue_;
  std::array<char, 4096> discard_;
  uint64_t served_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool stop_reading_ = false;
  bool eof_ = false;
  bool closed_ = false;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(net::io_context& io_context, Emulator& emu, ServerOptions opts)
      : io(io_context),
        emulator(emu),
        options(std::move(opts)),
        acceptor(io_context),
        tls(ssl::context::tls_server) {}

  void Accept() {
    // One io thread serves everything, so the core needs no locking.
    acceptor.async_accept(
        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
          if (!self->acceptor.is_open()) return;
          if (!ec) {
            socket.set_option(tcp::no_delay(true), ec);
            if (self->use_tls) {
              std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                  self->emulator, self->options, std::move(socket), self->tls)
                  ->Start();
            } else {
              std::make_shared<Session<beast::tcp_stream>>(
                  self->emulator, self->options, std::move(socket))
                  ->Start();
            }
          }
          self->Accept();
        });
  }

  net::io_context& io;
  Emulator& emulator;
  ServerOptions options;
  tcp::acceptor acceptor;
  ssl::context tls;
  bool use_tls = false;
};

Server::Server(net::io_context& io, Emulator& emulator, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, emulator, std::move(options))) {
  const ServerOptions& opts = impl_->options;
  if (opts.tls_cert_file.empty() != opts.tls_key_file.empty()) {
    throw std::runtime_error("--tls-cert and --tls-key go together");
  }
  if (!opts.tls_cert_file.empty()) {
    boost::system::error_code ec;
    impl_->tls.set_options(ssl::context::default_workarounds |
                           ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    impl_->tls.use_certificate_chain_file(opts.tls_cert_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load --tls-cert " + opts.tls_cert_file +
                               ": " + ec.message());
    }
    impl_->tls.use_private_key_file(opts.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("cannot load --tls-key " + opts.tls_key_file +
                               ": " + ec.message());
    }
    impl_->use_tls = true;
  }
  tcp::endpoint endpoint = ParseListen(io, opts.listen);
  boost::system::error_code ec;
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + opts.listen + ": " +
                             ec.message());
  }
}

Server::~Server() = default;

tcp::endpoint Server::local_endpoint() const {
  return impl_->acceptor.local_endpoint();
}

void Server::Start() { impl_->Accept(); }

void Server::Stop() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]"
                                     : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace idsync::emulator
