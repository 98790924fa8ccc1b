// idaas_client_bench: drives idsync::idaas::Client against idaas-emulator and
// prints one summary line per scenario:
//   unlimited  no rate limit, loopback, N connections (P5: >= 15,000 ops/s)
//   qps        client qps below the emulator's limit (P3: >= 98 %, 0 throttled)
//   latency    50 ms emulated latency, qps 200, 8 connections (P6: >= 95 %)
// It starts its own emulator for each scenario.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <thread>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "idsync/idaas/client.h"

extern char** environ;

namespace {

namespace asio = boost::asio;
using namespace idsync::idaas;
using Clock = std::chrono::steady_clock;

// The emulator as a child process; its first stdout line is HOST:PORT.
class EmulatorProcess {
 public:
  EmulatorProcess(const std::string& bin, std::vector<std::string> extra) {
    std::vector<std::string> args = {bin, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start " + bin);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') address_ += c;
    close(fds[0]);
    if (auto p = address_.find("://"); p != std::string::npos)
      address_ = address_.substr(p + 3);
    if (address_.empty()) throw std::runtime_error("emulator did not start");
  }
  ~EmulatorProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

struct Scenario {
  std::string name;
  std::vector<std::string> emulator_args;
  double qps = 0;
  int burst = 10;
  int connections = 4;
  int workers = 16;
  int ops = 50000;
  int pipeline_depth = 1;
  bool writes = false;  // CreateUser (a non-idempotent write) instead of GetUser
};

int RunScenario(const std::string& bin, const Scenario& s) {
  EmulatorProcess emu(bin, s.emulator_args);
  asio::io_context io(1);
  Options o;
  o.endpoint = "http://" + emu.address();
  o.instance_id = "idaas_emulator";
  o.application_id = "app_emulator";
  o.client_id = "app_emulator";
  o.client_secret = "emulator-secret";
  o.qps = s.qps;
  o.burst = s.burst;
  o.adaptive = true;
  o.connections = s.connections;
  o.pipeline_depth = s.pipeline_depth;
  auto created = Client::Create(io.get_executor(), o);
  if (!created) {
    std::cerr << created.error().message << "\n";
    return 1;
  }
  auto client = std::move(*created);
  // Set-up outside the measurement: a token and one user to read.
  std::string user_id;
  {
    CreateUserRequest req;
    req.username = "bench";
    req.primary_organizational_unit_id = "ou_emulatorroot00000000000000";
    auto r = RunSync(io, client->CreateUser(req));
    if (!r) {
      std::cerr << r.error().message << "\n";
      return 1;
    }
    user_id = *r;
  }
  // Let the burst refill so every scenario starts alike.
  if (s.qps > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(
        static_cast<int>(1000.0 * s.burst / s.qps) + 50));
  auto before = client->stats();
  auto cpu = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  double cpu_before = cpu();
  int next = 0, failed = 0;
  auto start = Clock::now();
  for (int w = 0; w < s.workers; ++w) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          while (next < s.ops) {
            int n = ++next;
            if (s.writes) {
              CreateUserRequest req;
              req.username = "bench" + std::to_string(n);
              req.user_external_id = "ext" + std::to_string(n);
              req.primary_organizational_unit_id =
                  "ou_emulatorroot00000000000000";
              auto r = co_await client->CreateUser(req);
              if (!r && ++failed <= 3) std::cerr << r.error().message << "\n";
            } else {
              auto r = co_await client->GetUser(user_id);
              if (!r && ++failed <= 3) std::cerr << r.error().message << "\n";
            }
          }
        },
        asio::detached);
  }
  io.restart();
  io.run();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double client_cpu = cpu() - cpu_before;
  auto after = client->stats();
  double rate = s.ops / seconds;
  std::printf(
      "client_ops scenario=%s connections=%d pipeline_depth=%d op=%s qps=%g "
      "ops=%d seconds=%.2f "
      "ops_per_s=%.0f target_pct=%.1f throttled=%llu retries=%llu "
      "failed=%d connections_opened=%llu client_cpu_s=%.2f "
      "ops_per_client_cpu_s=%.0f\n",
      s.name.c_str(), s.connections, s.pipeline_depth,
      s.writes ? "CreateUser" : "GetUser", s.qps, s.ops, seconds, rate,
      s.qps > 0 ? 100.0 * rate / s.qps : 0.0,
      static_cast<unsigned long long>(after.throttled - before.throttled),
      static_cast<unsigned long long>(after.retries - before.retries), failed,
      static_cast<unsigned long long>(after.connections_opened), client_cpu,
      client_cpu > 0 ? s.ops / client_cpu : 0.0);
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = IDAAS_EMULATOR_BIN;
  std::string which = "all";
  int ops = 50000, connections = 4;
  CLI::App app{"idaas client benchmarks against idaas-emulator"};
  app.add_option("--emulator", bin, "idaas-emulator binary")->capture_default_str();
  app.add_option("--scenario", which,
                 "all | unlimited | qps | latency | latency12 | pipelined")
      ->capture_default_str();
  app.add_option("--ops", ops, "operations in the unlimited scenario")
      ->capture_default_str();
  app.add_option("--connections", connections,
                 "connections in the unlimited scenario")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<Scenario> scenarios = {
      {"unlimited", {}, 0, 10, connections, 16, ops},
      // The emulator throttles at 250/s; the client is set to 200/s.
      {"qps", {"--qps", "250"}, 200, 10, 4, 8, 2000},
      // P6: 50 ms per request, qps 200, 8 connections; creates. Without
      // pipelining 8 x 20/s = 160/s is the ceiling.
      {"latency", {"--latency", "50ms"}, 200, 10, 8, 16, 1000, 1, true},
      // The same with enough connections for 200/s (12 x 20/s = 240/s).
      {"latency12", {"--latency", "50ms"}, 200, 10, 12, 24, 1000, 1, true},
      // 8 connections, two requests in flight on each (320/s ceiling).
      {"pipelined", {"--latency", "50ms"}, 200, 10, 8, 16, 1000, 2, true},
  };
  int rc = 0;
  for (const auto& s : scenarios) {
    if (which != "all" && which != s.name) continue;
    try {
      rc |= RunScenario(bin, s);
    } catch (const std::exception& e) {
      std::cerr << s.name << ": " << e.what() << "\n";
      rc = 1;
    }
  }
  return rc;
}
