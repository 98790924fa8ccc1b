// e2e_bench: the flows a user sees, timed end to end — the real `idsync`
// binary against a real `idaas-emulator` child on 127.0.0.1 (issue #17).
//
//   e2e_bench [--people N] [--flows LIST] [--runs R] [--keep DIR]
//
// LIST is comma-separated (default: all), in this order of execution:
//   first_sync   `idsync apply --yes` into an empty tenant, fresh state DB
//   refresh      `idsync refresh` of the tenant first_sync left
//   quiet        `idsync apply --yes` with nothing changed
//   drift        `idsync apply --yes` after 1 % of the people changed
//                (a third renamed, a third moved, a third left)
//   adopt_apply  the tenant as first_sync left it, loaded into a fresh
//                emulator (`PUT /_emulator/state`), and a fresh state DB:
//                `idsync refresh` (not timed), then `idsync apply --yes` (timed)
//   report       `idsync plan --format html|json|csv -o FILE` of the first
//                sync's plan (everything to create), one line per format
// refresh, quiet, drift and adopt_apply need first_sync's tenant: it runs
// (untimed, no line) when not listed. Each timed command prints one line:
//   flow=first_sync n=20000 run=1 wall_s=… cpu_s=… rss_mib=… api_calls=…
//       operations=… ops_per_s=… emu_cpu_s=… exit=0
// wall_s is the idsync child's wall time, cpu_s and rss_mib its rusage (user
// + sys, ru_maxrss), api_calls the requests the emulator logged meanwhile
// (its sequence numbers, so the 100,000-entry log cap does not matter),
// operations the plan's total from the text report, emu_cpu_s the
// emulator's CPU meanwhile (/proc). With --runs R > 1, every flow runs R
// times (fresh emulators and state each time) and a run=median line follows
// per flow. The emulator is unthrottled and idsync is configured with
// rate_limit {qps: 100000, burst: 100000} and 4 connections.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "people_csv.h"

namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr char kRootOu[] = "ou_emulatorroot00000000000000";  // the emulator's default scope

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "e2e_bench: " << what << "\n";
  std::_Exit(1);
}

// ---------------------------------------------------------------- the data

// Leaf departments, as a 3-level path: 10 divisions × 10 departments × teams,
// about 100 people per team (so 200 teams at 20k people, 2,000 at 200k).
int Teams(int n) { return std::max(6, n / 100); }
std::string Department(int t) {
  return "Div" + std::to_string(t % 10) + "/Dept" + std::to_string(t / 10 % 10) + "/Team" +
         std::to_string(t / 100);
}
// Groups: every person in one team group (~200 members each) and every third
// also in one of 10 on-call rotations, ~1.33 memberships a person.
int Groups(int n) { return std::max(10, n / 200); }

enum class Drift { kNone, kRename, kMove, kLeave };
// 1 % of the people, spread evenly: i % 300 picks renames, moves and leavers.
Drift DriftOf(int i) {
  switch (i % 300) {
    case 7: return Drift::kRename;
    case 107: return Drift::kMove;
    case 207: return Drift::kLeave;
    default: return Drift::kNone;
  }
}

// The HR export, deterministic in (n, drifted).
void WriteCsv(const std::string& path, int n, bool drifted) {
  std::string out = idsync::testing::kPeopleCsvHeader;
  out.reserve(static_cast<size_t>(n) * 110);
  const int teams = Teams(n), groups = Groups(n);
  char id[16];
  for (int i = 0; i < n; ++i) {
    Drift d = drifted ? DriftOf(i) : Drift::kNone;
    std::snprintf(id, sizeof id, "E%07d", i);
    std::string s = std::to_string(i);
    out += id;
    out += ",First" + s + ",\"Last" + s + (d == Drift::kRename ? "-Renamed" : "") + "\",user" +
           s + "@example.com,";
    out += Department((i + (d == Drift::kMove ? 1 : 0)) % teams);
    out += d == Drift::kLeave ? ",terminated," : ",active,";
    out += "team-" + std::to_string(i % groups);
    if (i % 3 == 0) out += ";oncall-" + std::to_string(i % 10);
    out += '\n';
  }
  std::ofstream f(path, std::ios::binary);
  f << out;
  if (!f) Die("cannot write " + path);
}

std::string Config(const std::string& address, const std::string& csv, const std::string& db) {
  return R"(idaas:
  endpoint: http://)" + address + R"(
  instance_id: idaas_emulator
  application_id: app_emulator
  client_secret: env:IDSYNC_BENCH_SECRET
  rate_limit: {qps: 100000, burst: 100000}
  connections: 4
)" + idsync::testing::PeopleCsvSourceAndMapping(csv) + R"(target:
  root_ou: )" + kRootOu + R"(
policy:
  max_deletes: {count: 1000000000, percent: 100}
store:
  path: )" + db + R"(
  full_refresh_interval: 3650d
log:
  level: info
)";
}

// ------------------------------------------------------------ the emulator

struct HttpResult {
  int status = 0;
  std::string body;
};

// One exchange on a fresh connection. No body limit: a state dump at 200k
// people is a few hundred MB.
HttpResult Http(const std::string& address, http::verb method, const std::string& target,
                std::string body = {}) {
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  size_t colon = address.rfind(':');
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(address.substr(0, colon), address.substr(colon + 1), ec);
  if (ec) Die("resolve " + address + ": " + ec.message());
  stream.connect(endpoints, ec);
  if (ec) Die("connect " + address + ": " + ec.message());
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, address);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) Die("write " + target + ": " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read(stream, buffer, parser, ec);
  if (ec) Die("read " + target + ": " + ec.message());
  return {static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
}

class Emulator {
 public:
  Emulator() {
    int out[2];
    if (pipe(out) != 0) Die("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      // Die() ends the bench with _Exit, skipping destructors: the emulator
      // must not outlive it.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      // Quiet stderr; a large max body so that PUT /_emulator/state takes a
      // whole tenant.
      int devnull = ::open("/dev/null", O_WRONLY);
      if (devnull >= 0) dup2(devnull, STDERR_FILENO);
      execl(IDAAS_EMULATOR_BIN, IDAAS_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--seed", "1",
            "--max-body-bytes", "4000000000", static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    close(out[1]);
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') address_.push_back(c);
    close(out[0]);
    if (address_.empty()) Die("the emulator did not start");
  }
  ~Emulator() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  const std::string& address() const { return address_; }

  // Requests logged so far: the next sequence number. Asking for entries
  // after a sequence far ahead returns none, so this stays cheap.
  int64_t RequestCount() const {
    auto r = Http(address_, http::verb::get, "/_emulator/requests?since=999999999999");
    if (r.status != 200) Die("GET /_emulator/requests: " + std::to_string(r.status));
    return boost::json::parse(r.body).at("nextSince").to_number<int64_t>();
  }

  // The emulator's CPU time so far, from /proc (it is a long-lived child, so
  // wait4 cannot report it per flow).
  double CpuSeconds() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; rest >> field && i <= 15; ++i) {
      if (i == 14 || i == 15) ticks += std::atof(field.c_str());  // utime, stime
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  std::string State() const {
    auto r = Http(address_, http::verb::get, "/_emulator/state");
    if (r.status != 200) Die("GET /_emulator/state: " + std::to_string(r.status));
    return std::move(r.body);
  }
  void SetState(std::string state) const {
    auto r = Http(address_, http::verb::put, "/_emulator/state", std::move(state));
    if (r.status != 200) Die("PUT /_emulator/state: " + std::to_string(r.status) + " " + r.body);
  }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

// ------------------------------------------------------------- measurement

struct Figures {
  double wall = 0, cpu = 0, rss_mib = 0, emu_cpu = 0, report_s = -1;
  int64_t api_calls = 0, operations = -1, api_writes = -1, bytes = -1;
  int exit_code = -1;
};

// Runs `idsync ARGS -c CONFIG` in DIR with stdout and stderr to files and
// measures it (wall, and the child's own rusage from wait4).
Figures RunIdsync(const std::string& dir, const std::string& name,
                  const std::vector<std::string>& args, const std::string& config,
                  const Emulator& emulator) {
  const int64_t calls0 = emulator.RequestCount();
  const double emu0 = emulator.CpuSeconds();
  const std::string out = dir + "/" + name + ".out", log = dir + "/" + name + ".log";
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) std::_Exit(127);
    if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(log.c_str(), "w", stderr)) {
      std::_Exit(127);
    }
    setenv("IDSYNC_BENCH_SECRET", "emulator-secret", 1);
    std::vector<std::string> all = {IDSYNC_BIN};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), {"-c", config});
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::_Exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  Figures f;
  f.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  f.rss_mib = static_cast<double>(ru.ru_maxrss) / 1024;
  f.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  f.api_calls = emulator.RequestCount() - calls0;
  f.emu_cpu = emulator.CpuSeconds() - emu0;
  // The text report's "  total   N (M API writes)" line.
  std::ifstream text(out);
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind("  total ", 0) == 0) {
      std::istringstream words(line.substr(8));
      std::string writes;
      words >> f.operations >> writes;
      f.api_writes = std::atoll(writes.c_str() + 1);
    }
  }
  // The debug log's "cycle timings: … report=0.123s" (plan with --log-level debug).
  std::ifstream err(log);
  while (std::getline(err, line)) {
    size_t at = line.find("cycle timings: ");
    if (at == std::string::npos) continue;
    size_t r = line.find(" report=", at);
    if (r != std::string::npos) f.report_s = std::atof(line.c_str() + r + 8);
  }
  return f;
}

void Expect(const Figures& f, int exit_code, const std::string& what, const std::string& dir) {
  if (f.exit_code != exit_code) {
    Die(what + " exited " + std::to_string(f.exit_code) + " (" + std::to_string(exit_code) +
        " expected); see " + dir);
  }
}

struct Line {
  std::string flow;
  Figures f;
};

std::string Format(const std::string& flow, int n, const std::string& run, const Figures& f) {
  char buf[512];
  std::string s = "flow=" + flow + " n=" + std::to_string(n) + " run=" + run;
  std::snprintf(buf, sizeof buf, " wall_s=%.2f cpu_s=%.2f rss_mib=%.0f api_calls=%lld", f.wall,
                f.cpu, f.rss_mib, static_cast<long long>(f.api_calls));
  s += buf;
  if (f.operations >= 0) {
    std::snprintf(buf, sizeof buf, " operations=%lld api_writes=%lld ops_per_s=%.0f",
                  static_cast<long long>(f.operations), static_cast<long long>(f.api_writes),
                  f.wall > 0 ? static_cast<double>(f.operations) / f.wall : 0.0);
    s += buf;
  }
  if (f.report_s >= 0) {
    std::snprintf(buf, sizeof buf, " report_s=%.3f", f.report_s);
    s += buf;
  }
  if (f.bytes >= 0) s += " report_bytes=" + std::to_string(f.bytes);
  std::snprintf(buf, sizeof buf, " emu_cpu_s=%.2f exit=%d", f.emu_cpu, f.exit_code);
  return s + buf;
}

// One run of the selected flows in a fresh DIR; returns the timed lines.
std::vector<Line> RunOnce(const std::string& dir, int n, const std::set<std::string>& flows,
                          int run) {
  auto want = [&](const char* f) { return flows.count(f) > 0; };
  std::vector<Line> lines;
  auto emit = [&](const std::string& flow, const Figures& f) {
    std::cout << Format(flow, n, std::to_string(run), f) << std::endl;
    lines.push_back({flow, f});
  };
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto t0 = std::chrono::steady_clock::now();
  WriteCsv(dir + "/people.csv", n, false);
  WriteCsv(dir + "/people-drift.csv", n, true);
  std::cerr << "e2e_bench: run " << run << ": " << n << " people, " << Teams(n) << " teams, "
            << Groups(n) + 10 << " groups, CSVs written in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s\n";

  if (want("first_sync") || want("refresh") || want("quiet") || want("drift") ||
      want("adopt_apply")) {
    Emulator tenant;
    const std::string cfg = dir + "/idsync.yaml";
    {
      std::ofstream(cfg) << Config(tenant.address(), "people.csv", "state/idsync.db");
    }
    Figures f = RunIdsync(dir, "first_sync", {"apply", "--yes"}, cfg, tenant);
    Expect(f, 0, "first sync", dir);
    if (want("first_sync")) emit("first_sync", f);
    // The tenant as the first sync left it, for the adoption flow.
    std::string state = want("adopt_apply") ? tenant.State() : std::string();

    if (want("refresh")) {
      f = RunIdsync(dir, "refresh", {"refresh"}, cfg, tenant);
      Expect(f, 0, "refresh", dir);
      emit("refresh", f);
    }
    if (want("quiet")) {
      f = RunIdsync(dir, "quiet", {"apply", "--yes"}, cfg, tenant);
      Expect(f, 0, "quiet apply", dir);
      emit("quiet", f);
    }
    if (want("drift")) {
      const std::string drift_cfg = dir + "/idsync-drift.yaml";
      std::ofstream(drift_cfg) << Config(tenant.address(), "people-drift.csv", "state/idsync.db");
      f = RunIdsync(dir, "drift", {"apply", "--yes"}, drift_cfg, tenant);
      Expect(f, 0, "drift apply", dir);
      emit("drift", f);
    }
    if (want("adopt_apply")) {
      Emulator adopted;
      adopted.SetState(std::move(state));
      const std::string adopt_cfg = dir + "/idsync-adopt.yaml";
      std::ofstream(adopt_cfg) << Config(adopted.address(), "people.csv", "adopt/idsync.db");
      f = RunIdsync(dir, "adopt_refresh", {"refresh"}, adopt_cfg, adopted);
      Expect(f, 0, "refresh before adoption", dir);
      std::cerr << "e2e_bench: " << Format("adopt_refresh", n, std::to_string(run), f) << "\n";
      f = RunIdsync(dir, "adopt_apply", {"apply", "--yes"}, adopt_cfg, adopted);
      Expect(f, 0, "apply after adoption", dir);
      emit("adopt_apply", f);
    }
  }

  if (want("report")) {
    // The first sync's plan: an empty tenant, so everything is a create.
    Emulator empty;
    const std::string cfg = dir + "/idsync-report.yaml";
    std::ofstream(cfg) << Config(empty.address(), "people.csv", "report/idsync.db");
    for (const char* format : {"html", "json", "csv"}) {
      const std::string file = std::string("plan.") + format;
      Figures f = RunIdsync(dir, std::string("report_") + format,
                            {"plan", "--format", format, "-o", file, "--log-level", "debug"}, cfg,
                            empty);
      Expect(f, 2, std::string("plan --format ") + format, dir);
      std::error_code ec;
      f.bytes = static_cast<int64_t>(fs::file_size(dir + "/" + file, ec));
      emit(std::string("report_") + format, f);
    }
  }
  return lines;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int people = 20000, runs = 1;
  std::string keep;
  std::set<std::string> flows = {"first_sync", "refresh", "quiet", "drift", "adopt_apply",
                                 "report"};
  const std::set<std::string> known = flows;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) {
      Die("usage: e2e_bench [--people N] [--flows first_sync,refresh,quiet,drift,adopt_apply,"
          "report] [--runs R] [--keep DIR]");
    }
    if (a == "--people") {
      people = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--runs") {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--keep") {
      keep = argv[++i];
    } else if (a == "--flows") {
      flows.clear();
      std::stringstream list(argv[++i]);
      std::string f;
      while (std::getline(list, f, ',')) {
        if (!known.count(f)) Die("unknown flow " + f);
        flows.insert(f);
      }
    } else {
      Die("unknown option " + a);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  // --keep: the last run's files stay in DIR (CSVs, configs, state DBs,
  // reports, each command's stdout and log); otherwise a temporary DIR goes.
  const std::string dir =
      keep.empty() ? (fs::temp_directory_path() / ("idsync-e2e-bench-" + std::to_string(getpid())))
                         .string()
                   : fs::absolute(keep).string();
  std::vector<Line> all;
  for (int r = 1; r <= runs; ++r) {
    auto lines = RunOnce(dir, people, flows, r);
    all.insert(all.end(), lines.begin(), lines.end());
  }
  if (runs > 1) {
    std::vector<std::string> order;
    for (const auto& l : all) {
      if (std::find(order.begin(), order.end(), l.flow) == order.end()) order.push_back(l.flow);
    }
    for (const auto& flow : order) {
      std::vector<Figures> fs_;
      for (const auto& l : all) {
        if (l.flow == flow) fs_.push_back(l.f);
      }
      auto med = [&](auto field) {
        std::vector<double> v;
        for (const auto& f : fs_) v.push_back(static_cast<double>(field(f)));
        return Median(v);
      };
      Figures m = fs_.front();
      m.wall = med([](const Figures& f) { return f.wall; });
      m.cpu = med([](const Figures& f) { return f.cpu; });
      m.rss_mib = med([](const Figures& f) { return f.rss_mib; });
      m.emu_cpu = med([](const Figures& f) { return f.emu_cpu; });
      m.report_s = med([](const Figures& f) { return f.report_s; });
      m.api_calls = static_cast<int64_t>(med([](const Figures& f) { return f.api_calls; }));
      m.bytes = static_cast<int64_t>(med([](const Figures& f) { return f.bytes; }));
      std::cout << Format(flow, people, "median", m) << std::endl;
    }
  }
  if (keep.empty()) fs::remove_all(dir);
  return 0;
}
