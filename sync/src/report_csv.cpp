// The CSV report (RFC 4180): one row per operation, for spreadsheets.
#include <sstream>

#include "idsync/sync/report.h"
#include "report_internal.h"

namespace idsync::sync {
namespace {

using report_internal::ChangesText;
using report_internal::OuLabel;
using report_internal::ResultOf;

std::string Rfc4180(const std::string& s) {
  bool quote = s.find_first_of(",\"\r\n") != std::string::npos ||
               (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  // Cells starting with these are formulas to spreadsheet programs; TAB and
  // CR too, since spreadsheets trim them and then read the formula behind.
  bool formula = !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' ||
                                s[0] == '@' || s[0] == '\t' || s[0] == '\r');
  std::string v = formula ? "'" + s : s;
  if (!quote && !formula) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string RenderCsv(const ReportInput& in) {
  std::string out =
      "op_id,phase,kind,entity,source_key,idaas_id,name,ou,changes,reason,status,error\r\n";
  auto row = [&](const Operation& op, const std::string& status, const std::string& error) {
    const std::string cells[] = {op.id,
                                 PhaseName(op.phase),
                                 OpKindName(op.kind),
                                 EntityTypeName(op.entity),
                                 op.target.key,
                                 op.target.id,
                                 op.display,
                                 OuLabel(*in.plan, op.ou),
                                 ChangesText(op),
                                 op.reason,
                                 status,
                                 error};
    bool first = true;
    for (const auto& c : cells) {
      if (!first) out += ',';
      out += Rfc4180(c);
      first = false;
    }
    out += "\r\n";
  };
  for (const auto& op : in.plan->operations) {
    std::string status = "planned", error;
    if (in.applied) {
      const OpResult* r = ResultOf(in, op);
      status = OpResultStatusName(r ? r->status : OpResult::Status::kNotRun);
      if (r) error = r->error;
    }
    row(op, status, error);
  }
  for (const auto& s : in.plan->skipped) row(s.op, "skipped", s.reason);
  return out;
}

}  // namespace idsync::sync
