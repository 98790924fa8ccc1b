// Renders a Plan, or the result of applying one, as text (for a terminal),
// JSON (a versioned, documented schema: docs/report-format.md), CSV (one row
// per operation) or a self-contained HTML page. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "idsync/sync/plan.h"

namespace idsync::sync {

inline constexpr const char* kReportSchema = "idsync.report/v1";

// What happened to one operation during apply.
struct OpResult {
  enum class Status : uint8_t { kDone, kFailed, kNotRun };
  Status status = Status::kNotRun;
  std::string error;    // for kFailed: code and message, never a secret
  int attempts = 0;
  std::string idaas_id; // for creates: the new object's id
};
const char* OpResultStatusName(OpResult::Status s);  // done, failed, not_run

struct ReportInput {
  const Plan* plan = nullptr;
  bool applied = false;                     // false: a plan (dry run)
  std::map<std::string, OpResult> results;  // by Operation::id, when applied
  std::string generated_at;                 // RFC 3339 UTC, from the caller
  std::string version;                      // idsync version
  std::string source;                       // e.g. "csv:/var/lib/idsync/people.csv"
  std::string config_file;
  int exit_code = 0;                        // what the command exits with
};

std::string RenderText(const ReportInput& in);
std::string RenderJson(const ReportInput& in);
std::string RenderCsv(const ReportInput& in);
std::string RenderHtml(const ReportInput& in);
// Dispatch by name: text | json | csv | html. Unknown names render text.
std::string Render(const std::string& format, const ReportInput& in);

// One operation as the JSON report shows it (no result). The executor keeps
// this as the operation's journal payload.
std::string OperationJson(const Operation& op);

// The guard verdicts as the JSON report writes them: an array of
// {name, tripped, value, limit, message}. Also used by run history and the
// daemon's status.
std::string GuardsJson(const std::vector<GuardVerdict>& guards);

// "in_sync", "changes_pending", "blocked" for a plan; "converged",
// "partial" (some failed), "blocked" for an applied one.
std::string ReportStatus(const ReportInput& in);

}  // namespace idsync::sync
