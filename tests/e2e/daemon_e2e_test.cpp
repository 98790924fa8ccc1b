// End-to-end tests of `idsync run`: the real daemon against the real
// emulator over loopback. Start and first convergence, source edits picked up
// by inotify, SIGHUP with valid and invalid configs, SIGTERM during an apply
// and restart, metrics and status, the admin token, systemd notifications
// over a real notify socket, and the single-instance lock.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "e2e_fixture.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers
using namespace std::chrono_literals;

constexpr char kSecret[] = "emulator-secret";
constexpr char kAdminToken[] = "s3cret-admin-token-for-tests";

// A running `idsync run` and a client for its admin endpoint.
class DaemonProcess {
 public:
  DaemonProcess(const std::string& config, std::map<std::string, std::string> env = {}) {
    env.emplace("IDSYNC_E2E_SECRET", kSecret);
    env.emplace("IDSYNC_ADMIN_TOKEN", kAdminToken);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{IDSYNC_BIN, "run", "-c", config}, env);
  }

  // Waits for the "admin endpoint listening on http://HOST:PORT" log line.
  bool WaitForAdmin() {
    static const std::regex kListening("admin endpoint listening on http://([^\\s]+)");
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < deadline;) {
      std::smatch m;
      std::string err = process_->Stderr();
      if (std::regex_search(err, m, kListening)) {
        address_ = m[1];
        admin_ = std::make_unique<HttpClient>(address_);
        return true;
      }
      if (!process_->Running()) return false;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::optional<emulator_test::HttpResponse> Get(const std::string& target,
                                                 bool with_token = true) {
    return admin_->Send("GET", target, "", Headers(with_token));
  }
  std::optional<emulator_test::HttpResponse> Post(const std::string& target,
                                                  bool with_token = true) {
    return admin_->Send("POST", target, "", Headers(with_token));
  }
  std::optional<emulator_test::HttpResponse> Send(const std::string& method,
                                                  const std::string& target,
                                                  std::map<std::string, std::string> headers) {
    return admin_->Send(method, target, "", headers);
  }
  const std::string& address() const { return address_; }
  std::optional<emulator_test::HttpResponse> GetWithAuthorization(const std::string& target,
                                                                  const std::string& value) {
    return admin_->Send("GET", target, "", {{"authorization", value}});
  }
  json::object Status() {
    auto r = Get("/v1/status");
    if (!r || r->status != 200 || !r->json.is_object()) return {};
    return r->json.as_object();
  }
  std::string Metrics() {
    auto r = Get("/metrics");
    return r ? r->body : "";
  }

  // Waits until the last finished cycle has run id >= `run_id`; returns it.
  json::object WaitForCycle(int64_t run_id, std::chrono::milliseconds timeout = 60s) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < deadline;) {
      auto status = Status();
      if (auto* last = status.if_contains("last_cycle"); last && last->is_object()) {
        if (last->as_object().at("run_id").as_int64() >= run_id) return last->as_object();
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no cycle #" << run_id << " within the timeout; stderr:\n" << Stderr();
    return {};
  }

  Process& process() { return *process_; }
  std::string Stderr() const { return process_->Stderr(); }

 private:
  std::map<std::string, std::string> Headers(bool with_token) const {
    if (!with_token) return {};
    return {{"authorization", std::string("Bearer ") + kAdminToken}};
  }

  std::unique_ptr<Process> process_;
  std::string address_;
  std::unique_ptr<HttpClient> admin_;
};

// The value of one sample in a Prometheus text exposition, or -1.
double Sample(const std::string& metrics, const std::string& series) {
  size_t at = 0;
  while ((at = metrics.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') {
      return std::stod(metrics.substr(at + series.size() + 1));
    }
    at += series.size();
  }
  return -1;
}

class DaemonE2eTest : public SyncE2eTest {
 protected:
  // The daemon section every test starts from: a long interval, so that
  // only the triggers under test start cycles.
  void WriteDaemonConfig(const std::string& extra_daemon = "", const std::string& more = "") {
    WriteConfig("daemon:\n  interval: 1h\n  admin_listen: 127.0.0.1:0\n  watch_debounce: 200ms\n"
                "  shutdown_grace: 10s\n  admin_token: env:IDSYNC_ADMIN_TOKEN\n" +
                extra_daemon + more);
  }

  // Polls until `check` holds (or the deadline passes); returns how long it took.
  template <class Check>
  std::optional<std::chrono::milliseconds> WaitUntil(Check check,
                                                     std::chrono::milliseconds timeout = 30s) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < timeout) {
      if (check()) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
      }
      std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
  }

  std::string DisplayName(const std::string& external_id) {
    auto users = UsersByExternalId();
    auto it = users.find(external_id);
    return it == users.end() ? "" : std::string(it->second.at("displayName").as_string());
  }
};

TEST_F(DaemonE2eTest, FirstCycleConvergesAndSourceEditsAreAppliedWithinSeconds) {
  auto people = People(25);
  WriteSource(people);
  WriteDaemonConfig();
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();

  auto first = daemon.WaitForCycle(1);
  EXPECT_EQ(first.at("trigger").as_string(), "start");
  EXPECT_EQ(first.at("outcome").as_string(), "ok") << daemon.Stderr();
  ExpectConverged(people);
  EXPECT_EQ(daemon.Get("/healthz", false)->status, 200);
  EXPECT_EQ(daemon.Get("/readyz", false)->status, 200);

  // An edit written in place.
  people[3].last = "Edited";
  WriteSource(people);
  auto took = WaitUntil([&] { return DisplayName(people[3].id) == "First3 Edited"; });
  ASSERT_TRUE(took.has_value()) << daemon.Stderr();
  EXPECT_LT(*took, 10s);
  auto second = daemon.WaitForCycle(2);
  EXPECT_EQ(second.at("trigger").as_string(), "source_change");

  // A new version renamed into place, as careful exporters write it.
  people[4].last = "Renamed";
  dir_.Write("people.csv.tmp", Csv(people));
  std::filesystem::rename(dir_.path() + "/people.csv.tmp", dir_.path() + "/people.csv");
  took = WaitUntil([&] { return DisplayName(people[4].id) == "First4 Renamed"; });
  ASSERT_TRUE(took.has_value()) << daemon.Stderr();
  EXPECT_LT(*took, 10s);

  // Status and metrics say what happened: three cycles, one create wave,
  // two patches, nothing failed.
  auto third = daemon.WaitForCycle(3);
  EXPECT_EQ(third.at("outcome").as_string(), "ok");
  std::string metrics = daemon.Metrics();
  EXPECT_EQ(Sample(metrics, "idsync_cycles_total{outcome=\"ok\"}"), 3) << metrics;
  EXPECT_EQ(Sample(metrics, "idsync_triggers_total{trigger=\"source_change\"}"), 2) << metrics;
  EXPECT_EQ(Sample(metrics, "idsync_operations_total{kind=\"user.create\",result=\"done\"}"), 25);
  EXPECT_EQ(Sample(metrics, "idsync_operations_total{kind=\"user.patch\",result=\"done\"}"), 2);
  EXPECT_EQ(Sample(metrics, "idsync_source_records{entity=\"user\"}"), 25);
  EXPECT_EQ(Sample(metrics, "idsync_ready"), 1);
  EXPECT_EQ(Sample(metrics, "idsync_guard_tripped{guard=\"max_deletes.user\"}"), 0);
  EXPECT_GE(Sample(metrics, "idsync_api_request_duration_seconds_count{action=\"CreateUser\"}"), 25);
  EXPECT_GT(Sample(metrics, "idsync_last_success_timestamp_seconds"), 1.7e9);
  auto status = daemon.Status();
  EXPECT_EQ(status.at("state").as_string(), "idle");
  EXPECT_FALSE(status.at("next_cycle").is_null());

  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0) << daemon.Stderr();
}

TEST_F(DaemonE2eTest, StartsBeforeItsSourceFileExistsAndSyncsWhenItAppears) {
  // A sidecar's producer may write the export after idsync starts.
  WriteDaemonConfig();
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
  auto first = daemon.WaitForCycle(1);
  EXPECT_EQ(first.at("outcome").as_string(), "error");
  EXPECT_NE(first.at("error").as_string().find("people.csv"), std::string::npos)
      << first.at("error").as_string();
  auto ready = daemon.Get("/readyz", false);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("people.csv"), std::string::npos) << ready->body;
  EXPECT_EQ(daemon.Get("/healthz", false)->status, 200);

  auto people = People(8);
  WriteSource(people);
  auto second = daemon.WaitForCycle(2);
  EXPECT_EQ(second.at("trigger").as_string(), "source_change");
  EXPECT_EQ(second.at("outcome").as_string(), "ok") << daemon.Stderr();
  ExpectConverged(people);
  EXPECT_EQ(daemon.Get("/readyz", false)->status, 200);
  EXPECT_EQ(daemon.Status().at("consecutive_failures").as_int64(), 0);
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0);
}

TEST_F(DaemonE2eTest, SighupReloadsAValidConfigAndKeepsTheOldOneOnAnInvalidOne) {
  auto people = People(10);
  WriteSource(people);
  WriteDaemonConfig();
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
  daemon.WaitForCycle(1);

  // An invalid config: the daemon says why and keeps running the old one.
  std::string valid = testing::ReadFile(config_);
  dir_.Write("idsync.yaml", valid + "  interval_typo: 5m\n");
  daemon.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] {
    auto s = daemon.Status();
    return s.contains("config_reloads") &&
           s.at("config_reloads").as_object().at("failed").as_int64() == 1;
  }));
  auto status = daemon.Status();
  std::string error(status.at("config_reloads").as_object().at("last_error").as_string());
  EXPECT_NE(error.find("idsync.yaml:"), std::string::npos) << error;
  EXPECT_NE(error.find("interval_typo"), std::string::npos) << error;
  EXPECT_NE(daemon.Stderr().find("still running with the previous one"), std::string::npos);
  EXPECT_TRUE(daemon.process().Running());
  EXPECT_EQ(daemon.Get("/healthz", false)->status, 200);
  EXPECT_EQ(Sample(daemon.Metrics(), "idsync_config_reloads_total{result=\"failed\"}"), 1);
  // Still working on the old config: a source edit is applied.
  people[1].last = "StillSyncing";
  WriteSource(people);
  ASSERT_TRUE(WaitUntil([&] { return DisplayName(people[1].id) == "First1 StillSyncing"; }))
      << daemon.Stderr();

  // A valid new config with another display-name mapping: reloaded, and the
  // reload runs a cycle that applies it.
  std::string renamed = std::regex_replace(valid, std::regex("display_name: \"[^\"]*\""),
                                           "display_name: \"{last_name}, {first_name}\"");
  ASSERT_NE(renamed, valid);
  dir_.Write("idsync.yaml", renamed);
  daemon.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return DisplayName(people[2].id) == "Last2, First2"; }))
      << daemon.Stderr();
  status = daemon.Status();
  EXPECT_EQ(status.at("config_reloads").as_object().at("ok").as_int64(), 1);
  EXPECT_EQ(status.at("config_reloads").as_object().at("last_error").as_string(), "");
  EXPECT_EQ(status.at("triggers").as_object().at("reload").as_int64(), 2);

  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0) << daemon.Stderr();
}

TEST_F(DaemonE2eTest, SigtermDuringAnApplyStopsCleanlyAndARestartConvergesWithoutDuplicates) {
  // Slow responses keep the first apply running long enough to interrupt.
  StartEmulator({"--latency", "40ms"});
  auto people = People(120);
  WriteSource(people);
  WriteDaemonConfig();
  {
    DaemonProcess daemon(config_);
    ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
    ASSERT_TRUE(WaitUntil([&] { return UsersByExternalId().size() >= 10; })) << daemon.Stderr();
    daemon.process().Signal(SIGTERM);
    auto code = daemon.process().Wait(20s);
    ASSERT_TRUE(code.has_value()) << daemon.Stderr();
    EXPECT_EQ(*code, 0) << daemon.Stderr();
    EXPECT_NE(daemon.Stderr().find("no new operations"), std::string::npos) << daemon.Stderr();
    size_t created = UsersByExternalId().size();
    EXPECT_LT(created, people.size()) << "the apply finished before SIGTERM; nothing was tested";
  }
  {
    DaemonProcess daemon(config_);
    ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
    auto cycle = daemon.WaitForCycle(2);
    EXPECT_EQ(cycle.at("outcome").as_string(), "ok") << daemon.Stderr();
    ExpectConverged(people);  // also fails on a duplicate account
    daemon.process().Signal(SIGTERM);
    EXPECT_EQ(daemon.process().Wait(20s), 0);
  }
}

TEST_F(DaemonE2eTest, GracePeriodOverLeavesInFlightWritesToTheJournal) {
  // Each call takes 1.5 s; the grace period is 300 ms: the daemon exits with
  // writes in flight, and the next start resolves them without duplicates.
  auto people = People(6);
  WriteSource(people);
  WriteDaemonConfig("", "");
  std::string yaml = std::regex_replace(testing::ReadFile(config_), std::regex("shutdown_grace: 10s"),
                                        "shutdown_grace: 300ms");
  dir_.Write("idsync.yaml", yaml);
  // A plan fills the cache (run #1) while the emulator is fast.
  ASSERT_EQ(testing::Run({IDSYNC_BIN, "plan", "-c", config_}, 60s,
                         {{"IDSYNC_E2E_SECRET", kSecret}, {"IDSYNC_ADMIN_TOKEN", kAdminToken}})
                .exit_code,
            2);
  Admin("POST", "/_emulator/config", R"({"latency": "1500ms"})");
  {
    DaemonProcess daemon(config_);
    ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
    ASSERT_TRUE(WaitUntil([&] {
      auto s = daemon.Status();
      auto* running = s.if_contains("running");
      return running && running->is_object() &&
             running->as_object().at("total").as_int64() > 0;
    }, 60s)) << daemon.Stderr();
    std::this_thread::sleep_for(500ms);  // writes are on the wire
    auto stopped_at = std::chrono::steady_clock::now();
    daemon.process().Signal(SIGTERM);
    auto code = daemon.process().Wait(20s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 2s);
    EXPECT_NE(daemon.Stderr().find("stay in the journal"), std::string::npos) << daemon.Stderr();
  }
  Admin("POST", "/_emulator/config", R"({"latency": "0ms"})");
  {
    DaemonProcess daemon(config_);
    ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
    auto cycle = daemon.WaitForCycle(3);
    EXPECT_EQ(cycle.at("outcome").as_string(), "ok") << daemon.Stderr();
    ExpectConverged(people);
    EXPECT_NE(daemon.Stderr().find("recovered the journal"), std::string::npos) << daemon.Stderr();
    daemon.process().Signal(SIGTERM);
    EXPECT_EQ(daemon.process().Wait(20s), 0);
  }
}

TEST_F(DaemonE2eTest, ATrippedGuardKeepsTheDaemonRunningUntilAnAdminOverride) {
  auto people = People(40);
  WriteSource(people);
  WriteDaemonConfig("", "policy:\n  on_missing: disable\n  max_deletes: {count: 5, percent: 50}\n");
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
  daemon.WaitForCycle(1);

  // Ten people leave at once: more than max_deletes.count allows.
  std::vector<Person> fewer(people.begin(), people.begin() + 30);
  WriteSource(fewer);
  auto blocked = daemon.WaitForCycle(2);
  EXPECT_EQ(blocked.at("outcome").as_string(), "blocked");
  EXPECT_TRUE(daemon.process().Running());
  std::string metrics = daemon.Metrics();
  EXPECT_EQ(Sample(metrics, "idsync_guard_tripped{guard=\"max_deletes.user\"}"), 1) << metrics;
  EXPECT_EQ(Sample(metrics, "idsync_cycles_total{outcome=\"blocked\"}"), 1);
  auto status = daemon.Status();
  bool tripped = false;
  for (const auto& g : status.at("guards").as_array()) {
    tripped |= g.at("name").as_string() == "max_deletes.user" && g.at("tripped").as_bool();
  }
  EXPECT_TRUE(tripped);
  for (const auto& [ext, u] : UsersByExternalId()) {
    EXPECT_EQ(u.at("status").as_string(), "enabled") << ext;
  }

  // An interval cycle would block again; an operator's override lets the
  // next cycle through, once.
  auto r = daemon.Post("/v1/sync?allow_deletes=10");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 202) << r->body;
  auto allowed = daemon.WaitForCycle(3);
  EXPECT_EQ(allowed.at("trigger").as_string(), "admin");
  EXPECT_EQ(allowed.at("outcome").as_string(), "ok") << daemon.Stderr();
  int disabled = 0;
  for (const auto& [ext, u] : UsersByExternalId()) disabled += u.at("status").as_string() == "disabled";
  EXPECT_EQ(disabled, 10);
  EXPECT_EQ(Sample(daemon.Metrics(), "idsync_guard_tripped{guard=\"max_deletes.user\"}"), 0);

  EXPECT_EQ(daemon.Post("/v1/sync?allow_deletes=x")->status, 400);
  EXPECT_EQ(daemon.Post("/v1/sync?other=1")->status, 400);
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0);
}

TEST_F(DaemonE2eTest, TheAdminTokenIsEnforcedExceptOnTheProbes) {
  WriteSource(People(5));
  WriteDaemonConfig();
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
  daemon.WaitForCycle(1);

  for (const char* path : {"/metrics", "/v1/status"}) {
    auto r = daemon.Get(path, false);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->Header("www-authenticate").rfind("Bearer", 0), 0u) << path;
    EXPECT_EQ(r->body.find("idsync_"), std::string::npos);
  }
  auto unauthorized_sync = daemon.Post("/v1/sync", false);
  EXPECT_EQ(unauthorized_sync->status, 401);
  EXPECT_EQ(daemon.Get("/healthz", false)->status, 200);
  EXPECT_EQ(daemon.Get("/readyz", false)->status, 200);
  EXPECT_EQ(daemon.Get("/metrics")->status, 200);
  EXPECT_EQ(daemon.Get("/v1/sync")->status, 405);
  EXPECT_EQ(daemon.Get("/nope")->status, 404);

  // A wrong token of the right length, another scheme, or a prefix: refused.
  std::string wrong(kAdminToken);
  wrong.back() = wrong.back() == 'x' ? 'y' : 'x';
  for (const std::string& value : {"Bearer " + wrong, std::string("Basic ") + kAdminToken,
                                   std::string("Bearer ") + kAdminToken + "x",
                                   std::string(kAdminToken)}) {
    EXPECT_EQ(daemon.GetWithAuthorization("/metrics", value)->status, 401) << value;
  }
  EXPECT_EQ(daemon.GetWithAuthorization("/metrics", std::string("bearer ") + kAdminToken)->status,
            200);
  // The refused POST started no cycle.
  std::this_thread::sleep_for(300ms);
  auto status = daemon.Status();
  EXPECT_EQ(status.at("last_cycle").as_object().at("run_id").as_int64(), 1);
  EXPECT_FALSE(status.at("triggers").as_object().contains("admin"));
  // The token never reaches the logs.
  EXPECT_EQ(daemon.Stderr().find(kAdminToken), std::string::npos);
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0);
}

// Without daemon.admin_token, anyone who reaches the port (any local user,
// any container sharing the pod's loopback, a web page in the operator's
// browser) could otherwise lift max_deletes for the next cycle.
TEST_F(DaemonE2eTest, WithoutATokenNoGuardOverrideAndNoBrowserOrRebindingTrigger) {
  WriteSource(People(5));
  WriteConfig("daemon:\n  interval: 1h\n  admin_listen: 127.0.0.1:0\n  shutdown_grace: 10s\n");
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
  daemon.WaitForCycle(1);
  std::string port = daemon.address().substr(daemon.address().rfind(':') + 1);

  auto override = daemon.Post("/v1/sync?allow_deletes=5", false);
  ASSERT_TRUE(override.has_value());
  EXPECT_EQ(override->status, 403);
  EXPECT_NE(override->body.find("daemon.admin_token"), std::string::npos) << override->body;
  // A token the daemon does not have proves nothing either.
  EXPECT_EQ(daemon.Post("/v1/sync?allow_deletes=5")->status, 403);
  // A plain form POST from a page, and a request through a rebound DNS name.
  auto form = daemon.Send("POST", "/v1/sync", {{"origin", "http://evil.example"},
                                               {"content-type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form->status, 403) << form->body;
  auto rebound = daemon.Send("POST", "/v1/sync", {{"host", "rebind.evil.example:" + port}});
  EXPECT_EQ(rebound->status, 403) << rebound->body;
  EXPECT_EQ(daemon.Send("GET", "/v1/status", {{"host", "rebind.evil.example:" + port}})->status,
            403);
  std::this_thread::sleep_for(300ms);
  auto status = daemon.Status();
  EXPECT_EQ(status.at("last_cycle").as_object().at("run_id").as_int64(), 1);
  EXPECT_FALSE(status.at("triggers").as_object().contains("admin"));
  EXPECT_NE(daemon.Stderr().find("allow_deletes=5 without the admin token"), std::string::npos);

  // Probes and a local Prometheus need nothing, under any name.
  EXPECT_EQ(daemon.Send("GET", "/healthz", {{"host", "anything:1"}})->status, 200);
  EXPECT_EQ(daemon.Send("GET", "/readyz", {})->status, 200);
  EXPECT_EQ(daemon.Send("GET", "/metrics", {{"host", "idsync.monitoring.svc:9464"}})->status, 200);
  // A plain trigger from a local client still works, by either loopback name.
  auto trigger = daemon.Send("POST", "/v1/sync", {{"host", "localhost:" + port}});
  EXPECT_EQ(trigger->status, 202) << trigger->body;
  EXPECT_EQ(daemon.WaitForCycle(2).at("trigger").as_string(), "admin");
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0);
}

// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << path;
    timeval tv{0, 100 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() { ::close(fd_); }
  // Collects messages until one contains `needle` or the deadline passes.
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout = 20s) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout;
         std::chrono::steady_clock::now() < deadline;) {
      if (all_.find(needle) != std::string::npos) return true;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) all_ += std::string(buf, static_cast<size_t>(n)) + "\n";
    }
    return all_.find(needle) != std::string::npos;
  }
  const std::string& all() const { return all_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string all_;
};

TEST_F(DaemonE2eTest, TellsSystemdReadyStatusWatchdogAndStopping) {
  WriteSource(People(5));
  WriteDaemonConfig();
  NotifySocket notify(dir_.path() + "/notify.sock");
  DaemonProcess daemon(config_, {{"NOTIFY_SOCKET", dir_.path() + "/notify.sock"},
                                 {"WATCHDOG_USEC", "200000"}});
  EXPECT_TRUE(notify.WaitFor("READY=1")) << daemon.Stderr();
  EXPECT_TRUE(notify.WaitFor("STATUS=last cycle")) << notify.all();
  // Watchdog pings every half period (100 ms): several within a second.
  std::this_thread::sleep_for(1s);
  notify.WaitFor("never", 200ms);
  size_t pings = 0;
  for (size_t at = 0; (at = notify.all().find("WATCHDOG=1", at)) != std::string::npos; ++at) ++pings;
  EXPECT_GE(pings, 4u) << notify.all();
  daemon.process().Signal(SIGTERM);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1")) << notify.all();
  EXPECT_EQ(daemon.process().Wait(20s), 0);
}

TEST_F(DaemonE2eTest, ASecondDaemonOnTheSameDatabaseIsRefusedNamingTheFirst) {
  WriteSource(People(5));
  WriteDaemonConfig();
  DaemonProcess first(config_);
  ASSERT_TRUE(first.WaitForAdmin()) << first.Stderr();
  first.WaitForCycle(1);
  auto second = testing::Run({IDSYNC_BIN, "run", "-c", config_}, 20s,
                             {{"IDSYNC_E2E_SECRET", kSecret}, {"IDSYNC_ADMIN_TOKEN", kAdminToken}});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another idsync daemon (pid " + std::to_string(first.process().pid())),
            std::string::npos)
      << second.err;
  // Between cycles the store itself is free: plan works next to the daemon.
  // One-off commands need neither the lock nor the daemon's admin token.
  auto plan = Idsync({"plan"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  first.process().Signal(SIGTERM);
  EXPECT_EQ(first.process().Wait(20s), 0);
}

TEST_F(DaemonE2eTest, AnInvalidConfigAtStartFailsWithEveryProblem) {
  WriteSource(People(5));
  WriteDaemonConfig("  watch_debounce: soon\n");
  auto r = testing::Run({IDSYNC_BIN, "run", "-c", config_}, 20s,
                        {{"IDSYNC_E2E_SECRET", kSecret}, {"IDSYNC_ADMIN_TOKEN", kAdminToken}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("idsync.yaml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid configuration"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace idsync

namespace idsync {
namespace {

// R12 and R7 through `idsync run`: a server that answers every call with 500,
// then credentials revoked, for what stands in for hours (the failure
// backoff capped at 2 s instead of the default 1 h). The daemon keeps
// running, its calls stay bounded, status and metrics name the failure, the
// secret shows in no log line, and the first success recovers it without a
// restart.
TEST_F(DaemonE2eTest, PersistentFailuresAreBoundedNamedAndRecoverWithoutARestart) {
  auto people = People(10);
  WriteSource(people);
  WriteDaemonConfig("  failure_backoff_max: 2s\n  jitter: 0\n");
  // A 1 s interval: a healthy daemon would make a cycle a second.
  std::string yaml = testing::ReadFile(config_);
  yaml.replace(yaml.find("interval: 1h"), 12, "interval: 1s");
  config_ = dir_.Write("idsync.yaml", yaml);
  DaemonProcess daemon(config_);
  ASSERT_TRUE(daemon.WaitForAdmin()) << daemon.Stderr();
  EXPECT_EQ(daemon.WaitForCycle(1).at("outcome").as_string(), "ok") << daemon.Stderr();

  // Every call fails with a server error.
  Admin("POST", "/_emulator/config", R"({"faults":"5xx=1"})");
  ClearRequests();
  const auto failing_since = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(8s);
  auto log = Requests();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - failing_since).count();
  auto status = daemon.Status();
  ASSERT_TRUE(status.contains("last_cycle")) << daemon.Stderr();
  EXPECT_EQ(status.at("last_cycle").at("outcome").as_string(), "error");
  std::string error(status.at("last_cycle").at("error").as_string());
  EXPECT_NE(error.find("500"), std::string::npos) << error;
  std::string metrics = daemon.Metrics();
  EXPECT_GE(Sample(metrics, "idsync_consecutive_failed_cycles"), 2) << metrics;
  EXPECT_GE(status.at("token").at("refreshes").to_number<int64_t>(), 1);
  // Cycles every 2 s at most once the backoff is capped, each at most
  // retry.max_attempts (6) calls: bounded, never a hot loop.
  const double cycles = seconds / 1.0 + 1;  // at most one per interval while backing off
  EXPECT_LE(static_cast<double>(log.size()), cycles * 6) << log.size() << " calls in " << seconds
                                                        << " s";
  EXPECT_GE(log.size(), 2u);  // it did keep trying
  EXPECT_TRUE(daemon.process().Running());

  // The client's credentials are revoked: every token request is refused.
  Admin("POST", "/_emulator/config", R"({"faults":""})");
  json::object state = State();
  auto& client = state.at("clients").as_array()[0].as_object();
  const std::string secret(client.at("clientSecret").as_string());
  client["clientSecret"] = "rotated-by-an-administrator";
  Admin("PUT", "/_emulator/state", json::serialize(state));
  ClearRequests();
  std::this_thread::sleep_for(6s);
  log = Requests();
  int token_requests = 0;
  for (const auto& r : log) {
    token_requests += std::string(r.at("path").as_string()).find("/oauth2/") != std::string::npos;
  }
  EXPECT_GE(token_requests, 1);
  EXPECT_LE(token_requests, 6 * 2) << "a hot loop of token requests";
  status = daemon.Status();
  error = std::string(status.at("last_cycle").at("error").as_string());
  EXPECT_EQ(status.at("last_cycle").at("outcome").as_string(), "error");
  EXPECT_TRUE(error.find("401") != std::string::npos ||
              error.find("invalid_client") != std::string::npos ||
              error.find("credential") != std::string::npos)
      << error;

  // Restored: the next cycle succeeds, no restart.
  client["clientSecret"] = secret;
  Admin("PUT", "/_emulator/state", json::serialize(state));
  people[2].last = "Recovered";
  WriteSource(people);
  auto took = WaitUntil([&] { return DisplayName(people[2].id) == "First2 Recovered"; });
  EXPECT_TRUE(took.has_value()) << daemon.Stderr();
  // The cycle that wrote it finishes a moment after its write.
  EXPECT_TRUE(WaitUntil([&] {
    auto s = daemon.Status();
    auto* last = s.if_contains("last_cycle");
    return last && last->at("outcome").as_string() == "ok";
  }).has_value());
  EXPECT_EQ(daemon.Stderr().find(kSecret), std::string::npos) << "the secret is in a log line";
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(20s), 0);
}

}  // namespace
}  // namespace idsync
