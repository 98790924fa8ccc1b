// The HTTP(S)/1.1 front end of the emulator: Asio/Beast on one io_context,
// keep-alive, a timeout on every read and write, and the Response
// dispositions (delay, reset, drop after commit) of the core.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // host:port or [v6]:port
  std::string tls_cert_file;           // both set = HTTPS
  std::string tls_key_file;
  std::chrono::seconds read_timeout{30};  // also the keep-alive idle timeout
  std::chrono::seconds write_timeout{30};
  bool log_requests = false;
};

class Server {
 public:
  // Binds and listens; throws std::runtime_error on a bad address, a busy
  // port or unreadable TLS files (start-up boundary).
  Server(boost::asio::io_context& io, Emulator& emulator,
         ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void Start();
  // Stops accepting; open connections finish their current exchange.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "127.0.0.1:8080" or "[::1]:8080" for printing.
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace idsync::emulator
