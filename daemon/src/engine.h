// One sync cycle, shared by `idsync plan`, `idsync apply` and the daemon:
// read the source, resolve what an earlier run left in flight, fetch the
// provisioning scope, refresh the cache when it is stale, plan, check the
// guards, apply (unless planning only), report, and record the run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "idsync/config/config.h"
#include "idsync/sync/executor.h"
#include "idsync/sync/plan.h"
#include "idsync/sync/report.h"

namespace idsync::daemon {

struct CycleOptions {
  bool apply = false;
  int64_t allow_deletes = -1;   // --allow-deletes N
  bool force_refresh = false;   // re-read the whole scope first
  std::string command = "plan"; // recorded in the run history
  const std::atomic<bool>* stop = nullptr;
  // Asked before applying a non-empty plan; false cancels (exit 1).
  std::function<bool(const sync::Plan&)> confirm;
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct CycleResult {
  int exit_code = 1;
  std::string error;  // set when exit_code is 1
  sync::Plan plan;
  sync::ApplyOutcome applied;
  bool did_apply = false;
  bool refreshed = false;
  int64_t run_id = 0;
  // Rendered by Report().
  sync::ReportInput ReportInputFor(const config::Config& cfg) const;
};

// Runs one cycle. Never throws for operational failures: they become
// exit_code 1 with `error` saying what failed.
CycleResult RunCycle(const config::Config& cfg, const CycleOptions& options);

// `idsync refresh`: re-reads the whole scope into the cache.
int RunRefresh(const config::Config& cfg, std::ostream& out, std::ostream& err);

// `idsync status`: last runs, cache counts, journal, guard state.
int RunStatus(const config::Config& cfg, const std::string& format, std::ostream& out,
              std::ostream& err);

// check-config --connect: reads the source, gets a token and the scope, and
// checks that target.root_ou is inside it. Appends findings to `out`.
bool CheckConnection(const config::Config& cfg, std::ostream& out, std::ostream& err);

sync::Policy PolicyFromConfig(const config::Config& cfg, int64_t allow_deletes);
std::string Rfc3339(int64_t ms);

}  // namespace idsync::daemon
