// What the daemon knows about itself, and its two renderings: the Prometheus
// text exposition served on /metrics and the JSON document on /v1/status.
// Owned by the daemon's control thread; rendering is pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "idsync/daemon/cli.h"
#include "idsync/idaas/client.h"
#include "idsync/sync/plan.h"

namespace idsync::daemon {

struct CycleSummary {
  int64_t run_id = 0;
  std::string trigger;  // start | interval | source_change | reload | admin
  int64_t started_ms = 0, finished_ms = 0;
  std::string outcome;  // ok | changes | blocked | failed | error
  ExitCode exit_code = kOk;
  std::string error;
  bool refreshed = false;
  int64_t refresh_api_calls = 0;  // calls the cycle's full refresh made
  std::map<std::string, int64_t> planned;                   // by operation kind
  std::map<std::pair<std::string, std::string>, int64_t> results;  // (kind, result)
  std::string report_file;
};

struct DaemonStatus {
  std::string version;
  std::string config_file;
  std::string state = "starting";  // starting | idle | running | stopping
  bool ready = false;
  std::string not_ready_reason = "starting up";
  int64_t started_ms = 0;

  // The cycle running now, if any.
  std::string running_trigger;
  int64_t running_since_ms = 0;
  int64_t progress_done = 0, progress_total = 0;
  int64_t next_cycle_ms = 0;  // 0: none scheduled (running or stopping)

  std::map<std::string, int64_t> cycles_by_outcome;
  std::map<std::pair<std::string, std::string>, int64_t> operations;  // (kind, result)
  std::map<std::string, int64_t> triggers;
  int64_t reloads_ok = 0, reloads_failed = 0;
  std::string last_reload_error;
  int64_t last_reload_ms = 0;
  int consecutive_failures = 0;
  int64_t last_success_ms = 0;
  bool has_last_cycle = false;
  CycleSummary last_cycle;
  std::vector<sync::GuardVerdict> guards;  // the last plan's verdicts

  bool source_read = false;
  int64_t source_users = 0, source_ous = 0, source_groups = 0, source_rejected = 0;
  std::map<std::string, int64_t> journal;  // entries by state
};

// Prometheus text exposition format 0.0.4. `api` is the IDaaS client's
// counters, accumulated over the daemon's lifetime.
std::string RenderMetrics(const DaemonStatus& status, const idaas::ClientStats& api);

// The /v1/status document (see docs/operations.md).
std::string RenderStatusJson(const DaemonStatus& status, int64_t now_ms,
                             const idaas::ClientStats& api = {});

// Adds the counters of `from` to `into` (a client replaced after a reload).
void AccumulateStats(idaas::ClientStats* into, const idaas::ClientStats& from);

// How long to wait before the next scheduled cycle: the interval, doubled
// per consecutive failed cycle up to max(backoff_max, interval), then spread
// by ±jitter_percent; `unit_random` in [0, 1) picks the spread. Never less
// than 100 ms.
std::chrono::milliseconds NextCycleWait(std::chrono::milliseconds interval, double jitter_percent,
                                        int consecutive_failures,
                                        std::chrono::milliseconds backoff_max, double unit_random);

// The systemd STATUS= line for the last cycle.
std::string StatusLine(const DaemonStatus& status, int64_t now_ms);

}  // namespace idsync::daemon
