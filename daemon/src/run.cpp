#include "run.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/url/parse_query.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "admin_server.h"
#include "engine.h"
#include "private_file.h"
#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"
#include "idsync/daemon/logging.h"
#include "idsync/idaas/client.h"
#include "idsync/version.h"
#include "source_watcher.h"
#include "status.h"

namespace idsync::daemon {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::string Seconds(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// One daemon per state database, for the daemon's whole life; the store's
// own lock is taken only while a cycle runs, so that `idsync plan` and
// `idsync status` work between cycles.
class InstanceLock {
 public:
  ~InstanceLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool Acquire(const std::string& db_path, std::string* error) {
    path_ = db_path + ".daemon.lock";
    std::error_code ec;
    auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      *error = "cannot open " + path_ + ": " + std::strerror(errno);
      return false;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      *error = "another idsync daemon (pid " + holder + ") runs on " + db_path;
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // The pid is only for the message above; the lock is what counts.
    }
    return true;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void Notify(const std::string& state) { sd_notify(0, state.c_str()); }

// Keeps the newest `keep` cycle reports in `dir`.
void PruneReports(const std::string& dir, size_t keep) {
  std::vector<std::filesystem::path> reports;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.starts_with("cycle-") && name.ends_with(".json")) reports.push_back(e.path());
  }
  if (reports.size() <= keep) return;
  // Names carry a zero-padded run id, so name order is age order.
  std::sort(reports.begin(), reports.end());
  for (size_t i = 0; i + keep < reports.size(); ++i) std::filesystem::remove(reports[i], ec);
}

constexpr size_t kReportsKept = 200;

class Daemon {
 public:
  explicit Daemon(RunOptions options)
      : options_(std::move(options)),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        cycle_timer_(io_),
        watchdog_timer_(io_),
        grace_timer_(io_),
        rng_(std::random_device{}()) {}

  ExitCode Run();

 private:
  // ---- start-up and configuration ----
  std::shared_ptr<config::Config> LoadConfig(std::vector<std::string>* problems);
  void ApplyLogLevel(const config::Config& cfg);
  void WatchSource();
  void Reload();

  // ---- cycles ----
  void Trigger(const std::string& trigger, int64_t allow_deletes = -1);
  void StartCycle();
  void CycleDone(CycleResult result, std::string trigger, int64_t started_ms,
                 std::string report_file, std::string report_error);
  void ScheduleNext();

  // ---- signals, watchdog, shutdown ----
  void WaitForSignals();
  void BeginStop(int signal);
  void Finish();
  void PingWatchdog();
  void SetStatusLine();

  // ---- admin endpoint ----
  AdminResponse HandleAdmin(const AdminRequest& request);
  idaas::ClientStats ApiStats() const;

  RunOptions options_;
  const base::Clock& clock_ = base::Clock::System();
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer cycle_timer_, watchdog_timer_, grace_timer_;
  asio::thread_pool worker_{1};  // cycles, one at a time
  std::mt19937_64 rng_;

  std::shared_ptr<const config::Config> cfg_;
  std::unique_ptr<Session> session_;  // used by the worker only while a cycle runs
  bool session_outdated_ = false;     // the config changed: recreate before the next cycle
  idaas::ClientStats retired_stats_;  // counters of replaced clients
  std::unique_ptr<AdminServer> admin_;
  std::vector<std::unique_ptr<SourceWatcher>> watchers_;
  InstanceLock lock_;

  std::atomic<bool> stop_{false};
  bool cycle_running_ = false;
  bool cycle_queued_ = false;
  std::string queued_trigger_;
  int64_t queued_allow_deletes_ = -1;
  milliseconds watchdog_interval_{0};
  std::atomic<int64_t> progress_done_{0}, progress_total_{0};
  DaemonStatus status_;
  std::shared_ptr<spdlog::logger> log_;
};

std::shared_ptr<config::Config> Daemon::LoadConfig(std::vector<std::string>* problems) {
  config::Diagnostics diags;
  auto cfg = std::make_shared<config::Config>(config::Load(options_.config_path, &diags));
  connectors::ValidateOptions source_checks;
  source_checks.files_must_exist = false;
  if (diags.empty()) connectors::ValidateConfig(*cfg, &diags, source_checks);
  if (diags.empty()) return cfg;
  for (const auto& p : diags.Sorted()) problems->push_back(p.ToString());
  return nullptr;
}

void Daemon::ApplyLogLevel(const config::Config& cfg) {
  std::string level = options_.log_level.empty() ? cfg.log.level : options_.log_level;
  auto lvl = spdlog::level::from_str(level);
  spdlog::apply_all([lvl](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
}

void Daemon::WatchSource() {
  watchers_.clear();
  if (!cfg_->daemon.watch_source) return;
  for (const auto& file : connectors::SourceFiles(*cfg_)) {
    std::string error;
    auto watcher = SourceWatcher::Start(
        io_.get_executor(), file,
        std::chrono::duration_cast<milliseconds>(cfg_->daemon.watch_debounce),
        [this, file] {
          log_->info("source file {} changed", file);
          Trigger("source_change");
        },
        &error);
    if (!watcher) {
      log_->warn("not watching the source file: {}; cycles run on the interval only", error);
      continue;
    }
    log_->debug("watching {} for changes", file);
    watchers_.push_back(std::move(watcher));
  }
}

ExitCode Daemon::Run() {
  std::vector<std::string> problems;
  cfg_ = LoadConfig(&problems);
  if (!cfg_) {
    for (const auto& p : problems) std::cerr << p << "\n";
    std::cerr << options_.config_path << ": invalid configuration (" << problems.size()
              << (problems.size() == 1 ? " problem" : " problems") << "); run idsync check-config\n";
    return kError;
  }
  SetUpLogging(options_.log_level.empty() ? cfg_->log.level : options_.log_level,
               options_.log_format.empty() ? cfg_->log.format : options_.log_format);
  log_ = spdlog::get("idsync");

  status_.version = IDSYNC_VERSION;
  status_.config_file = cfg_->file;
  status_.started_ms = clock_.NowMs();

  // Start-up checks: each failure stops the daemon with the reason, before
  // systemd is told it is ready.
  std::string error;
  if (!lock_.Acquire(cfg_->store.path, &error)) {
    log_->critical("{}", error);
    return kError;
  }
  session_ = Session::Create(*cfg_, &error);
  if (!session_) {
    log_->critical("{}", error);
    return kError;
  }
  // The database must open (lock, schema, integrity) before we say ready.
  if (!session_->OpenStore(*cfg_, &error)) {
    log_->critical("state database {}: {}", cfg_->store.path, error);
    return kError;
  }
  session_->CloseStore();
  if (!cfg_->daemon.admin_listen.empty()) {
    admin_ = AdminServer::Start(
        io_.get_executor(), cfg_->daemon.admin_listen, cfg_->daemon.admin_token.Reveal(),
        [this](const AdminRequest& r) { return HandleAdmin(r); }, &error);
    if (!admin_) {
      log_->critical("admin endpoint: {}", error);
      return kError;
    }
    auto ep = admin_->local_endpoint();
    std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                            : ep.address().to_string();
    log_->info("admin endpoint listening on http://{}:{}", host, ep.port());
  }
  WatchSource();
  WaitForSignals();

  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
    watchdog_interval_ = milliseconds(watchdog_usec / 2000);
    PingWatchdog();
  }
  status_.ready = true;
  status_.not_ready_reason.clear();
  status_.state = "idle";
  log_->info("idsync {} started: config {}, state database {}, every {} (±{}%)", IDSYNC_VERSION,
             cfg_->file, cfg_->store.path, Seconds(cfg_->daemon.interval), cfg_->daemon.jitter_percent);
  Notify("READY=1\nSTATUS=starting the first cycle");
  Trigger("start");

  io_.run();
  worker_.join();
  log_->info("stopped");
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  return kOk;
}

void Daemon::WaitForSignals() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      Reload();
    } else {
      BeginStop(signal);
    }
    WaitForSignals();
  });
}

void Daemon::Reload() {
  ++status_.triggers["reload"];
  status_.last_reload_ms = clock_.NowMs();
  Notify("RELOADING=1");
  std::vector<std::string> problems;
  auto cfg = LoadConfig(&problems);
  if (!cfg) {
    ++status_.reloads_failed;
    status_.last_reload_error.clear();
    for (const auto& p : problems) {
      log_->error("{}", p);
      status_.last_reload_error += (status_.last_reload_error.empty() ? "" : "; ") + p;
    }
    log_->error("the new configuration has {} problem(s); still running with the previous one",
                problems.size());
    Notify("READY=1");
    SetStatusLine();
    return;
  }
  // What only a restart can change is kept, and said.
  if (cfg->store.path != cfg_->store.path) {
    // The instance lock is held on the old path.
    log_->warn("store.path changed: takes effect at the next restart");
    cfg->store.path = cfg_->store.path;
  }
  if (cfg->daemon.admin_listen != cfg_->daemon.admin_listen) {
    log_->warn("daemon.admin_listen changed: takes effect at the next restart");
  }
  if ((options_.log_format.empty() ? cfg->log.format : options_.log_format) !=
      (options_.log_format.empty() ? cfg_->log.format : options_.log_format)) {
    log_->warn("log.format changed: takes effect at the next restart");
  }
  cfg_ = std::move(cfg);
  ++status_.reloads_ok;
  status_.last_reload_error.clear();
  status_.config_file = cfg_->file;
  session_outdated_ = true;
  ApplyLogLevel(*cfg_);
  if (admin_) admin_->set_token(cfg_->daemon.admin_token.Reveal());
  WatchSource();
  log_->info("configuration reloaded from {}", cfg_->file);
  Notify("READY=1");
  Trigger("reload");
}

void Daemon::Trigger(const std::string& trigger, int64_t allow_deletes) {
  if (stop_) return;
  if (trigger != "reload") ++status_.triggers[trigger];
  if (cycle_running_) {
    // Coalesced: one more cycle after this one covers every trigger that
    // arrived meanwhile.
    if (!cycle_queued_) queued_trigger_ = trigger;
    cycle_queued_ = true;
    if (allow_deletes >= 0) queued_allow_deletes_ = allow_deletes;
    return;
  }
  cycle_timer_.cancel();
  queued_trigger_ = trigger;
  if (allow_deletes >= 0) queued_allow_deletes_ = allow_deletes;
  StartCycle();
}

void Daemon::StartCycle() {
  std::string trigger = std::move(queued_trigger_);
  int64_t allow_deletes = queued_allow_deletes_;
  queued_allow_deletes_ = -1;
  cycle_queued_ = false;
  cycle_running_ = true;
  status_.state = "running";
  status_.running_trigger = trigger;
  status_.running_since_ms = clock_.NowMs();
  status_.next_cycle_ms = 0;
  progress_done_ = 0;
  progress_total_ = 0;

  if (session_outdated_ || !session_) {
    if (session_) AccumulateStats(&retired_stats_, session_->client().stats());
    session_.reset();
    std::string error;
    session_ = Session::Create(*cfg_, &error);
    session_outdated_ = false;
    if (!session_) {
      CycleResult failed;
      failed.exit_code = kError;
      failed.error = error;
      CycleDone(std::move(failed), trigger, clock_.NowMs(), "", "");
      return;
    }
  }
  SetStatusLine();
  log_->info("cycle started ({})", trigger);

  CycleOptions options;
  options.apply = true;
  options.command = "run";
  options.allow_deletes = allow_deletes;
  options.stop = &stop_;
  options.clock = &clock_;
  options.on_progress = [this](int64_t done, int64_t total) {
    progress_done_ = done;
    progress_total_ = total;
  };
  asio::post(worker_, [this, cfg = cfg_, options, trigger, session = session_.get()] {
    int64_t started = clock_.NowMs();
    CycleResult result;
    try {
      result = RunCycle(*cfg, options, session);
    } catch (const std::exception& e) {
      // RunCycle reports operational failures as values; this is a bug or
      // resource exhaustion, and the daemon outlives it as a failed cycle.
      result = CycleResult();
      result.error = std::string("internal error: ") + e.what();
    }
    std::string report_file, report_error;
    if (!cfg->daemon.report_dir.empty() &&
        (result.exit_code != kError || !result.plan.guards.empty())) {
      std::error_code ec;
      std::filesystem::create_directories(cfg->daemon.report_dir, ec);
      char name[64];
      std::snprintf(name, sizeof name, "cycle-%010lld.json", static_cast<long long>(result.run_id));
      report_file = (std::filesystem::path(cfg->daemon.report_dir) / name).string();
      std::string report = sync::Render("json", result.ReportInputFor(*cfg, clock_.NowMs()));
      if (WritePrivateFileAtomically(report_file, report, &report_error)) {
        PruneReports(cfg->daemon.report_dir, kReportsKept);
      } else {
        report_file.clear();
      }
    }
    asio::post(io_, [this, result = std::move(result), trigger, started, report_file,
                     report_error]() mutable {
      CycleDone(std::move(result), trigger, started, report_file, report_error);
    });
  });
}

void Daemon::CycleDone(CycleResult result, std::string trigger, int64_t started_ms,
                       std::string report_file, std::string report_error) {
  cycle_running_ = false;
  CycleSummary c;
  c.run_id = result.run_id;
  c.trigger = std::move(trigger);
  c.started_ms = started_ms;
  c.finished_ms = clock_.NowMs();
  c.exit_code = result.exit_code;
  c.outcome = OutcomeName(result.exit_code);
  c.error = result.error;
  c.refreshed = result.refreshed;
  c.refresh_api_calls = result.refresh_api_calls;
  c.planned = result.plan.CountsByKind();
  c.results = result.TallyResults();
  for (const auto& [key, n] : c.results) status_.operations[key] += n;
  c.report_file = std::move(report_file);
  if (!report_error.empty()) log_->warn("cycle report not written: {}", report_error);
  ++status_.cycles_by_outcome[c.outcome];
  status_.guards = result.plan.guards;
  if (result.source_read) {
    status_.source_read = true;
    status_.source_users = result.source_users;
    status_.source_ous = result.source_ous;
    status_.source_groups = result.source_groups;
    status_.source_rejected = result.source_rejected;
  }
  if (result.run_id != 0) status_.journal = result.journal;

  const bool failed = result.exit_code == kError || result.exit_code == kSomeFailed;
  if (failed) {
    ++status_.consecutive_failures;
  } else {
    status_.consecutive_failures = 0;
    status_.last_success_ms = c.finished_ms;
  }
  status_.ready = result.exit_code != kError;
  status_.not_ready_reason = status_.ready ? "" : "the last cycle failed: " + result.error;

  int64_t done = 0, not_done = 0;
  for (const auto& [key, n] : c.results) (key.second == "done" ? done : not_done) += n;
  std::string guards;
  for (const auto& g : result.plan.guards) {
    if (g.tripped) guards += (guards.empty() ? "" : ", ") + g.name;
  }
  auto took = milliseconds(c.finished_ms - c.started_ms);
  if (result.exit_code == kError) {
    log_->error("cycle #{} ({}) failed after {}: {}", c.run_id, c.trigger, Seconds(took), c.error);
  } else {
    log_->info("cycle #{} ({}) {}: {} operation(s) done, {} not done, in {}{}{}", c.run_id,
               c.trigger, c.outcome, done, not_done, Seconds(took),
               guards.empty() ? "" : "; guards tripped, their writes withheld: ",
               guards);
  }
  status_.last_cycle = std::move(c);
  status_.has_last_cycle = true;

  if (stop_) {
    Finish();
    return;
  }
  if (cycle_queued_) {
    status_.state = "running";
    StartCycle();
    return;
  }
  status_.state = "idle";
  ScheduleNext();
}

void Daemon::ScheduleNext() {
  const auto& d = cfg_->daemon;
  auto wait = NextCycleWait(std::chrono::duration_cast<milliseconds>(d.interval), d.jitter_percent,
                            status_.consecutive_failures,
                            std::chrono::duration_cast<milliseconds>(d.failure_backoff_max),
                            std::uniform_real_distribution<double>(0, 1)(rng_));
  status_.next_cycle_ms = clock_.NowMs() + wait.count();
  SetStatusLine();
  cycle_timer_.expires_after(wait);
  cycle_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    Trigger("interval");
  });
}

void Daemon::BeginStop(int signal) {
  if (stop_) {
    log_->warn("second signal {}: exiting now; operations in flight stay in the journal", signal);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    std::_Exit(0);
  }
  stop_ = true;
  status_.state = "stopping";
  status_.ready = false;
  status_.not_ready_reason = "stopping";
  Notify("STOPPING=1\nSTATUS=stopping");
  cycle_timer_.cancel();
  if (!cycle_running_) {
    log_->info("signal {}: stopping", signal);
    Finish();
    return;
  }
  auto grace = std::chrono::duration_cast<milliseconds>(cfg_->daemon.shutdown_grace);
  log_->info("signal {}: no new operations; waiting up to {} for those in flight", signal,
             Seconds(grace));
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    // Every operation is journaled before it is sent, so what is still in
    // flight is resolved against IDaaS at the next start: nothing is lost.
    log_->warn("shutdown grace period over: operations still in flight stay in the journal and "
               "are resolved at the next start");
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    std::_Exit(0);
  });
}

void Daemon::Finish() {
  grace_timer_.cancel();
  watchdog_timer_.cancel();
  cycle_timer_.cancel();
  watchers_.clear();
  if (admin_) admin_->Stop();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  session_.reset();
  io_.stop();
}

void Daemon::PingWatchdog() {
  // The control loop pings; the cycle cannot hang it, because every API
  // call and every wait in a cycle has its own timeout.
  Notify("WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    PingWatchdog();
  });
}

void Daemon::SetStatusLine() {
  status_.progress_done = progress_done_;
  status_.progress_total = progress_total_;
  Notify("STATUS=" + StatusLine(status_, clock_.NowMs()));
}

idaas::ClientStats Daemon::ApiStats() const {
  idaas::ClientStats total = retired_stats_;
  if (session_) AccumulateStats(&total, session_->client().stats());
  return total;
}

AdminResponse Daemon::HandleAdmin(const AdminRequest& request) {
  AdminResponse r;
  auto only = [&](const char* method) {
    if (request.method == method || (std::string_view(method) == "GET" && request.method == "HEAD")) {
      return true;
    }
    r.status = 405;
    r.headers.emplace_back("Allow", method);
    r.body = std::string("use ") + method + "\n";
    return false;
  };
  status_.progress_done = progress_done_;
  status_.progress_total = progress_total_;
  if (request.path == "/healthz") {
    if (only("GET")) r.body = "ok\n";
    return r;
  }
  if (request.path == "/readyz") {
    if (!only("GET")) return r;
    if (status_.ready) {
      r.body = "ready\n";
    } else {
      r.status = 503;
      r.body = "not ready: " + status_.not_ready_reason + "\n";
    }
    return r;
  }
  if (request.path == "/metrics") {
    if (!only("GET")) return r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = RenderMetrics(status_, ApiStats());
    return r;
  }
  if (request.path == "/v1/status") {
    if (!only("GET")) return r;
    r.content_type = "application/json";
    r.body = RenderStatusJson(status_, clock_.NowMs(), ApiStats());
    return r;
  }
  if (request.path == "/v1/sync") {
    if (!only("POST")) return r;
    r.content_type = "application/json";
    if (stop_) {
      r.status = 409;
      r.body = "{\"error\":\"stopping\"}\n";
      return r;
    }
    int64_t allow_deletes = -1;
    auto params = boost::urls::parse_query(request.query);
    if (!params) {
      r.status = 400;
      r.body = "{\"error\":\"malformed query string\"}\n";
      return r;
    }
    {
      for (auto p : *params) {
        std::string key = p.key.decode();
        if (key != "allow_deletes") {
          r.status = 400;
          r.body = "{\"error\":\"unknown parameter; the only one is allow_deletes\"}\n";
          return r;
        }
        std::string v = p.value.decode();
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), allow_deletes);
        if (ec != std::errc() || end != v.data() + v.size() || allow_deletes < 0) {
          r.status = 400;
          r.body = "{\"error\":\"allow_deletes must be a number >= 0\"}\n";
          return r;
        }
      }
    }
    // Overriding a guard is the one request that can make a cycle delete what
    // the guards protect: it needs proof of the operator, so without a
    // configured token nobody (any local user, any container sharing the
    // pod's loopback) may ask for it.
    if (allow_deletes >= 0 && !request.authenticated) {
      r.status = 403;
      r.body =
          "{\"error\":\"allow_deletes overrides a guard and needs the admin token: set "
          "daemon.admin_token and send Authorization: Bearer <token>; or stop the daemon "
          "and run idsync apply --allow-deletes N\"}\n";
      log_->warn("admin request refused: allow_deletes={} without the admin token",
                 allow_deletes);
      return r;
    }
    bool queued_behind = cycle_running_;
    if (allow_deletes >= 0) {
      log_->warn("admin request: next cycle may delete or disable up to {} object(s) per type "
                 "despite max_deletes",
                 allow_deletes);
    }
    Trigger("admin", allow_deletes);
    r.status = 202;
    r.body = std::string("{\"accepted\":true,\"queued_behind_running_cycle\":") +
             (queued_behind ? "true" : "false") + "}\n";
    return r;
  }
  r.status = 404;
  r.body = "not found; try /healthz, /readyz, /metrics, /v1/status or POST /v1/sync\n";
  return r;
}

}  // namespace

ExitCode RunDaemon(const RunOptions& options) {
  // Main() set the umask to 077 already; this keeps it for callers that
  // start the daemon without Main (the daemon's unit tests).
  ::umask(077);
  Daemon daemon(options);
  return daemon.Run();
}

}  // namespace idsync::daemon
