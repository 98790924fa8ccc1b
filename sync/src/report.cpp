// The parts every report format shares; each format renders in its own file
// (report_text.cpp, report_json.cpp, report_csv.cpp, report_html.cpp).
#include "idsync/sync/report.h"

#include "report_internal.h"

namespace idsync::sync {

const char* OpResultStatusName(OpResult::Status s) {
  switch (s) {
    case OpResult::Status::kDone: return "done";
    case OpResult::Status::kFailed: return "failed";
    case OpResult::Status::kNotRun: return "not_run";
  }
  return "unknown";
}

namespace report_internal {

const OpResult* ResultOf(const ReportInput& in, const Operation& op) {
  auto it = in.results.find(op.id);
  return it == in.results.end() ? nullptr : &it->second;
}

std::string OuLabel(const Plan& plan, const ObjectRef& ou) {
  if (ou.key.empty() && ou.id.empty()) return "";
  auto name = plan.ou_names.find(ou.key.empty() ? ou.id : ou.key);
  if (name == plan.ou_names.end() && !ou.id.empty()) name = plan.ou_names.find(ou.id);
  std::string label = name != plan.ou_names.end() ? name->second : (ou.key.empty() ? ou.id : ou.key);
  return label;
}

int64_t CountFailed(const ReportInput& in) {
  int64_t n = 0;
  for (const auto& [id, r] : in.results) n += r.status == OpResult::Status::kFailed;
  return n;
}

int64_t CountNotRun(const ReportInput& in) {
  int64_t n = 0;
  for (const auto& op : in.plan->operations) {
    const OpResult* r = ResultOf(in, op);
    n += r == nullptr || r->status == OpResult::Status::kNotRun;
  }
  return n;
}

// The report's context without results, for skipped operations (they never
// ran). Built once per render: copying the results per skipped operation
// made a large report quadratic.
ReportInput Unapplied(const ReportInput& in) {
  return ReportInput{in.plan, false, {}, in.generated_at, in.version,
                     in.source, in.config_file, in.exit_code};
}

std::string ChangesText(const Operation& op) {
  std::string out;
  for (const auto& c : op.changes) {
    if (!out.empty()) out += ", ";
    if (c.old_value.empty()) {
      out += c.field + "=" + c.new_value;
    } else {
      out += c.field + " \"" + c.old_value + "\" -> \"" + c.new_value + "\"";
    }
  }
  if (!op.refs.empty()) {
    if (!out.empty()) out += ", ";
    out += std::to_string(op.refs.size()) + (op.entity == EntityType::kGroup ? " member(s)" : " OU(s)");
  }
  return out;
}

}  // namespace report_internal

std::string ReportStatus(const ReportInput& in) {
  using report_internal::CountFailed;
  using report_internal::CountNotRun;
  const Plan& p = *in.plan;
  if (in.applied) {
    if (CountFailed(in) > 0 || CountNotRun(in) > 0) return "partial";
    if (p.AnyGuardTripped()) return "blocked";
    return "converged";
  }
  if (p.AnyGuardTripped()) return "blocked";
  return p.operations.empty() ? "in_sync" : "changes_pending";
}

std::string Render(const std::string& format, const ReportInput& in) {
  if (format == "json") return RenderJson(in);
  if (format == "csv") return RenderCsv(in);
  if (format == "html") return RenderHtml(in);
  return RenderText(in);
}

}  // namespace idsync::sync
