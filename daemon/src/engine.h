// One sync cycle, shared by `idsync plan`, `idsync apply` and the daemon:
// read the source, resolve what an earlier run left in flight, fetch the
// provisioning scope, refresh the cache when it is stale, plan, check the
// guards, apply (unless planning only), report, and record the run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "idsync/base/clock.h"
#include "idsync/config/config.h"
#include "idsync/daemon/cli.h"
#include "idsync/store/refresh.h"
#include "idsync/sync/executor.h"
#include "idsync/sync/plan.h"
#include "idsync/sync/report.h"

namespace idsync::store {
class Store;
}
namespace idsync::idaas {
class AdminClient;
class Client;
}

namespace idsync::daemon {

// What a cycle holds: the I/O context and the IDaaS client (kept across the
// daemon's cycles, so connections and the token are reused) and the store,
// whose writer lock is held only while a cycle runs so that `idsync plan`
// works between the daemon's cycles.
class Session {
 public:
  // Creates the client; the store is opened by each cycle.
  static std::unique_ptr<Session> Create(const config::Config& cfg, std::string* error);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool OpenStore(const config::Config& cfg, std::string* error);
  void CloseStore() { store_.reset(); }
  store::Store* store() { return store_.get(); }
  idaas::Client& client() { return *client_; }
  // With an `admin:` section: the admin API client and the department mover
  // built on it; nullptr without one.
  idaas::AdminClient* admin() { return admin_.get(); }
  sync::OuMover* ou_mover() { return ou_mover_.get(); }
  boost::asio::io_context& io() { return io_; }

 private:
  Session() = default;
  boost::asio::io_context io_;
  std::unique_ptr<idaas::Client> client_;
  std::unique_ptr<idaas::AdminClient> admin_;
  std::unique_ptr<sync::OuMover> ou_mover_;
  std::unique_ptr<store::Store> store_;
};

struct CycleOptions {
  bool apply = false;
  int64_t allow_deletes = -1;   // --allow-deletes N
  bool force_refresh = false;   // re-read the whole scope first
  std::string command = "plan"; // recorded in the run history
  const std::atomic<bool>* stop = nullptr;
  // Asked before applying a non-empty plan; false cancels (exit 1).
  std::function<bool(const sync::Plan&)> confirm;
  std::function<void(int64_t done, int64_t total)> on_progress;
  // The admin API's part in a cycle: moves departments, and reports the
  // account quota. Without a mover the plan allows no move, so an ou.move is
  // never planned that cannot be sent. When these are unset and the
  // configuration has an `admin:` section, the session's admin client
  // provides both (the quota read each cycle).
  sync::OuMover* ou_mover = nullptr;
  std::optional<sync::Policy::AccountQuota> account_quota;
  // "Now" for the run history, the refresh age and the plan; tests drive it.
  const base::Clock* clock = &base::Clock::System();
};

// Operations by (kind, result), e.g. ("user.create", "done").
using ResultTally = std::map<std::pair<std::string, std::string>, int64_t>;

struct CycleResult {
  ExitCode exit_code = kError;
  std::string error;  // set when exit_code is 1
  sync::Plan plan;
  sync::ApplyOutcome applied;
  bool did_apply = false;
  bool refreshed = false;
  int64_t refresh_api_calls = 0;  // when refreshed
  int64_t run_id = 0;
  // What the source held (set once it was read).
  bool source_read = false;
  int64_t source_users = 0, source_ous = 0, source_groups = 0, source_rejected = 0;
  // Journal entries by state after the cycle (empty if the store was not open).
  std::map<std::string, int64_t> journal;
  // Wall seconds per step, for `-v` logs and bench/plan (P1). Steps that run
  // side by side each count their own time.
  struct Timings {
    double source = 0, open = 0, recover = 0, scope = 0, cache = 0, index = 0, plan = 0;
  };
  Timings timings;
  // Rendered by Report().
  sync::ReportInput ReportInputFor(const config::Config& cfg, int64_t now_ms) const;
  // Each planned operation's result once applied (kNotRun when it had none);
  // empty when the cycle did not apply.
  ResultTally TallyResults() const;
};

// The outcome recorded in the run history and counted by the daemon's
// metrics: "ok", "changes", "blocked", "failed" or "error".
std::string OutcomeName(ExitCode code);

// Runs one cycle. Never throws for operational failures: they become
// exit_code 1 with `error` saying what failed. With a session (the daemon),
// its client is reused and its store is opened for the cycle and closed after.
CycleResult RunCycle(const config::Config& cfg, const CycleOptions& options,
                     Session* session = nullptr);

// `idsync refresh`: re-reads the whole scope into the cache, with a
// progress line on `err` when `show_progress` (a terminal).
ExitCode RunRefresh(const config::Config& cfg, std::ostream& out, std::ostream& err,
                    bool show_progress = false);

// What a refresh needs to read for this configuration.
store::RefreshOptions RefreshOptionsFor(const config::Config& cfg);
// "refresh: users: 12000 users read, 240 calls (950/s), 12 s, ~30 s left".
std::string RefreshProgressLine(const char* phase, const store::RefreshStats& stats,
                                double seconds);
// The guard a cycle trips when the source cannot be read as configured
// (base::Error::Code::kUnusable): besides the planner's guards.
inline constexpr char kUnusableSourceGuard[] = "unusable_source";
// Store meta: "1" when the mirror was read with custom fields.
inline constexpr char kMirrorCustomFieldsMeta[] = "mirror_custom_fields";

// `idsync status`: last runs, cache counts, journal, guard state.
ExitCode RunStatus(const config::Config& cfg, const std::string& format, std::ostream& out,
                   std::ostream& err);

// check-config --connect: reads the source, gets a token and the scope, and
// checks that target.root_ou is inside it. Appends findings to `out`.
bool CheckConnection(const config::Config& cfg, std::ostream& out, std::ostream& err);

sync::Policy PolicyFromConfig(const config::Config& cfg, int64_t allow_deletes);
std::string Rfc3339(int64_t ms);

}  // namespace idsync::daemon
