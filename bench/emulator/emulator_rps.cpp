// emulator_rps: measures idaas-emulator throughput on loopback with N
// keep-alive connections issuing GetUser (or ListUsers) for a fixed time.
// Starts its own emulator unless --address is given. Prints one line:
//   emulator_rps connections=4 op=GetUser requests=... seconds=... rps=...
//   p50_us=... p99_us=... errors=...
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

extern char** environ;

namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr char kPrefix[] = "/v2/idaas_emulator/app_emulator";

struct Target {
  std::string host, port;
};

Target Split(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, address.substr(colon + 1)};
}

// Synchronous helper for set-up calls.
std::string Call(const Target& target, http::verb verb, const std::string& path,
                 const std::string& token, const std::string& body) {
  net::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  stream.connect(resolver.resolve(target.host, target.port));
  http::request<http::string_body> req{verb, path, 11};
  req.set(http::field::host, target.host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  if (res.result_int() != 200) {
    throw std::runtime_error("set-up call " + path + " failed: " + res.body());
  }
  return res.body();
}

struct Worker {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
};

net::awaitable<void> Run(Target target, std::string path, std::string token,
                         Clock::time_point warm_until,
                         Clock::time_point deadline, Worker& worker) {
  auto executor = co_await net::this_coro::executor;
  beast::tcp_stream stream(executor);
  tcp::resolver resolver(executor);
  boost::system::error_code ec;
  auto endpoints = co_await resolver.async_resolve(
      target.host, target.port, net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return;
  co_await stream.async_connect(endpoints,
                                net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return;
  stream.socket().set_option(tcp::no_delay(true));
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, target.host);
  req.set(http::field::authorization, "Bearer " + token);
  req.set("x-acs-action", "GetUser");
  req.keep_alive(true);
  beast::flat_buffer buffer;
  while (true) {
    const auto start = Clock::now();
    if (start >= deadline) break;
    co_await http::async_write(stream, req,
                               net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res,
                              net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    const auto end = Clock::now();
    if (res.result_int() != 200) ++worker.errors;
    if (start >= warm_until) {
      worker.latencies_us.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(end - start)
              .count()));
    }
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

int main(int argc, char** argv) {
  int connections = 4;
  double seconds = 5;
  double warmup = 0.5;
  std::string address, op = "GetUser", emulator = IDAAS_EMULATOR_BIN;
  CLI::App app{"emulator_rps: idaas-emulator keep-alive throughput"};
  app.add_option("--connections", connections)->capture_default_str();
  app.add_option("--seconds", seconds, "measured duration")->capture_default_str();
  app.add_option("--warmup", warmup, "seconds excluded from the figures")
      ->capture_default_str();
  app.add_option("--op", op, "GetUser or ListUsers")->capture_default_str();
  app.add_option("--address", address, "use a running emulator (HOST:PORT)");
  app.add_option("--emulator", emulator, "emulator binary to start")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (op != "GetUser" && op != "ListUsers") {
    std::cerr << "--op must be GetUser or ListUsers\n";
    return 2;
  }

  pid_t child = -1;
  if (address.empty()) {
    int out[2];
    if (pipe(out) != 0) return 1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    std::vector<std::string> args = {emulator, "--listen", "127.0.0.1:0"};
    std::vector<char*> cargs;
    for (auto& arg : args) cargs.push_back(arg.data());
    cargs.push_back(nullptr);
    if (posix_spawn(&child, emulator.c_str(), &actions, nullptr, cargs.data(),
                    environ) != 0) {
      std::cerr << "cannot start " << emulator << "\n";
      return 1;
    }
    close(out[1]);
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') address.push_back(c);
    if (address.empty()) {
      std::cerr << "the emulator printed no address\n";
      return 1;
    }
  }

  int exit_code = 0;
  try {
    const Target target = Split(address);
    const std::string token(
        boost::json::parse(
            Call(target, http::verb::post,
                 std::string(kPrefix) +
                     "/oauth2/token?grant_type=client_credentials&client_id="
                     "app_emulator&client_secret=emulator-secret",
                 "", ""))
            .at("access_token")
            .as_string());
    std::string user_id;
    for (int i = 0; i < 20; ++i) {
      std::string body = Call(
          target, http::verb::post, std::string(kPrefix) + "/users", token,
          R"({"username":"bench)" + std::to_string(i) +
              R"(","displayName":"Bench User","email":"bench)" +
              std::to_string(i) +
              R"(@example.com","primaryOrganizationalUnitId":"ou_emulatorroot00000000000000"})");
      user_id = std::string(boost::json::parse(body).at("userId").as_string());
    }
    const std::string path =
        op == "GetUser" ? std::string(kPrefix) + "/users/" + user_id
                        : std::string(kPrefix) + "/users?pageSize=20";

    net::io_context io(1);
    std::vector<Worker> workers(static_cast<size_t>(connections));
    const auto begin = Clock::now();
    const auto warm_until =
        begin + std::chrono::duration_cast<Clock::duration>(
                    std::chrono::duration<double>(warmup));
    const auto deadline =
        warm_until + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(seconds));
    for (auto& worker : workers) {
      net::co_spawn(io, Run(target, path, token, warm_until, deadline, worker),
                    net::detached);
    }
    io.run();
    const double measured =
        std::chrono::duration<double>(Clock::now() - warm_until).count();

    std::vector<uint32_t> all;
    uint64_t errors = 0;
    for (auto& worker : workers) {
      all.insert(all.end(), worker.latencies_us.begin(),
                 worker.latencies_us.end());
      errors += worker.errors;
    }
    std::sort(all.begin(), all.end());
    auto percentile = [&](double p) -> uint32_t {
      if (all.empty()) return 0;
      return all[std::min(all.size() - 1,
                          static_cast<size_t>(p * static_cast<double>(all.size())))];
    };
    std::printf(
        "emulator_rps connections=%d op=%s requests=%zu seconds=%.2f rps=%.0f "
        "p50_us=%u p99_us=%u errors=%llu\n",
        connections, op.c_str(), all.size(), measured,
        static_cast<double>(all.size()) / measured, percentile(0.50),
        percentile(0.99), static_cast<unsigned long long>(errors));
    if (all.empty() || errors > 0) exit_code = 1;
  } catch (const std::exception& e) {
    std::cerr << "emulator_rps: " << e.what() << "\n";
    exit_code = 1;
  }
  if (child > 0) {
    kill(child, SIGTERM);
    int status = 0;
    waitpid(child, &status, 0);
  }
  return exit_code;
}
