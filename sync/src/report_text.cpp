// The text report: a summary and one line per operation, for people.
#include <cstdio>
#include <sstream>

#include "idsync/sync/report.h"
#include "report_internal.h"

namespace idsync::sync {
namespace {

using report_internal::ChangesText;
using report_internal::CountFailed;
using report_internal::CountNotRun;
using report_internal::OuLabel;
using report_internal::ResultOf;
using report_internal::Unapplied;

char Sign(OpKind k) {
  switch (k) {
    case OpKind::kOuCreate:
    case OpKind::kUserCreate:
    case OpKind::kGroupCreate:
    case OpKind::kGroupAddMembers:
    case OpKind::kUserAddOus:
    case OpKind::kUserEnable:
      return '+';
    case OpKind::kOuDelete:
    case OpKind::kUserDelete:
    case OpKind::kGroupDelete:
    case OpKind::kGroupRemoveMembers:
    case OpKind::kUserRemoveOus:
    case OpKind::kUserDisable:
      return '-';
    default:
      return '~';
  }
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string OpLine(const ReportInput& in, const Operation& op) {
  std::string line = "  ";
  line += Sign(op.kind);
  // Appends, not `" " + Pad(...)`: GCC 12 at -O3 warns (-Wrestrict, a known false positive) on
  // operator+(const char*, string&&), and the Release build treats warnings as errors.
  line += ' ';
  line += Pad(OpKindName(op.kind), 22);
  line += op.display;
  std::string key = op.target.key.empty() ? op.target.id : op.target.key;
  if (!key.empty() && key != op.display) line += " (" + key + ")";
  std::string ou = OuLabel(*in.plan, op.ou);
  if (!ou.empty() && (op.kind == OpKind::kUserCreate || op.kind == OpKind::kOuCreate ||
                      op.kind == OpKind::kUserSetPrimaryOu)) {
    line += op.kind == OpKind::kOuCreate ? " under " + ou : " in " + ou;
  }
  if (op.kind == OpKind::kOuMove && !op.changes.empty()) {
    // Names for people; the change that follows keeps the ids.
    line += " from ";
    line += OuLabel(*in.plan, ObjectRef{"", op.changes[0].old_value});
    line += " to " + ou;
  }
  std::string changes = ChangesText(op);
  if (!changes.empty()) line += ": " + changes;
  if (!op.reason.empty()) line += " [" + op.reason + "]";
  if (in.applied) {
    const OpResult* r = ResultOf(in, op);
    if (r && r->status == OpResult::Status::kFailed) line += "  FAILED: " + r->error;
    else if (r && r->status == OpResult::Status::kNotRun && !r->error.empty()) {
      line += "  (not run: " + r->error + ")";
    } else if (!r || r->status == OpResult::Status::kNotRun) {
      line += "  (not run)";
    }
  }
  return line + "\n";
}

}  // namespace

std::string RenderText(const ReportInput& in) {
  const Plan& p = *in.plan;
  std::ostringstream out;
  out << "idsync " << (in.applied ? "apply" : "plan") << " report";
  if (!in.generated_at.empty()) out << " — " << in.generated_at;
  out << "\n";
  if (!in.source.empty()) {
    out << "source: " << in.source << " (" << p.source_users << " users, " << p.source_ous
        << " OUs, " << p.source_groups << " groups, " << p.invalid.size() << " rejected)\n";
  }
  out << "managed in IDaaS: " << p.managed_users << " users, " << p.managed_ous << " OUs, "
      << p.managed_groups << " groups; " << p.unmanaged.size() << " unmanaged objects left alone\n\n";

  auto counts = p.CountsByKind();
  std::map<std::string, std::pair<int64_t, int64_t>> outcome;  // kind -> done, failed
  if (in.applied) {
    for (const auto& op : p.operations) {
      const OpResult* r = ResultOf(in, op);
      if (!r) continue;
      if (r->status == OpResult::Status::kDone) ++outcome[OpKindName(op.kind)].first;
      if (r->status == OpResult::Status::kFailed) ++outcome[OpKindName(op.kind)].second;
    }
  }
  out << "Summary\n";
  out << "  " << Pad("operation", 24) << Pad("count", 8);
  if (in.applied) out << Pad("done", 8) << "failed";
  out << "\n";
  for (const auto& [kind, n] : counts) {
    char num[32];
    std::snprintf(num, sizeof num, "%lld", static_cast<long long>(n));
    out << "  " << Pad(kind, 24) << Pad(num, 8);
    if (in.applied) {
      out << Pad(std::to_string(outcome[kind].first), 8) << outcome[kind].second;
    }
    out << "\n";
  }
  out << "  " << Pad("total", 24) << p.operations.size() << " (" << p.ApiWrites()
      << " API writes)\n";
  out << "  " << Pad("skipped", 24) << p.skipped.size() << "\n";
  out << "  " << Pad("conflicts", 24) << p.conflicts.size() << "\n";
  out << "  " << Pad("invalid records", 24) << p.invalid.size() << "\n\n";

  out << "Guards\n";
  for (const auto& g : p.guards) {
    out << "  " << Pad(g.tripped ? "TRIPPED" : "ok", 9) << Pad(g.name, 20) << g.message << "\n";
  }
  if (!p.operations.empty()) {
    out << "\nChanges (" << p.operations.size() << ")\n";
    for (const auto& op : p.operations) out << OpLine(in, op);
  }
  if (!p.skipped.empty()) {
    out << "\nSkipped (" << p.skipped.size() << ")\n";
    const ReportInput plain = Unapplied(in);
    for (const auto& s : p.skipped) {
      std::string line = OpLine(plain, s.op);
      line.pop_back();
      out << line << "  -- " << s.reason << "\n";
    }
  }
  if (!p.conflicts.empty()) {
    out << "\nConflicts (" << p.conflicts.size() << ")\n";
    for (const auto& c : p.conflicts) {
      out << "  ! " << Pad(ConflictKindName(c.kind), 20) << c.key;
      if (!c.origin.file.empty()) out << " (" << c.origin.ToString() << ")";
      out << ": " << c.message << "\n";
    }
  }
  if (!p.invalid.empty()) {
    out << "\nInvalid records (" << p.invalid.size() << ")\n";
    for (const auto& d : p.invalid) {
      out << "  " << d.origin.ToString();
      if (!d.key.empty()) out << " " << d.key;
      if (!d.field.empty()) out << " " << d.field << ":";
      out << " " << d.reason << "\n";
    }
  }
  std::string status = ReportStatus(in);
  out << "\nResult: ";
  if (status == "in_sync") out << "in sync, nothing to do";
  else if (status == "changes_pending") out << p.operations.size() << " change(s) pending";
  else if (status == "blocked") out << "blocked by a safety guard (see Guards)";
  else if (status == "converged") out << "applied " << p.operations.size() << " change(s)";
  else if (status == "partial") {
    out << CountFailed(in) << " operation(s) failed, " << CountNotRun(in) << " not run";
  }
  out << " (exit " << in.exit_code << ")\n";
  return out.str();
}

}  // namespace idsync::sync
