#include "idsync/sync/report.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <sstream>
#include <string_view>
#include <unordered_map>

namespace idsync::sync {

const char* OpResultStatusName(OpResult::Status s) {
  switch (s) {
    case OpResult::Status::kDone: return "done";
    case OpResult::Status::kFailed: return "failed";
    case OpResult::Status::kNotRun: return "not_run";
  }
  return "unknown";
}

namespace {

namespace json = boost::json;

json::array GuardsArray(const std::vector<GuardVerdict>& guards) {
  json::array out;
  for (const auto& g : guards) {
    json::object o;
    o["name"] = g.name;
    o["tripped"] = g.tripped;
    o["value"] = g.value;
    o["limit"] = g.limit;
    o["message"] = g.message;
    out.push_back(std::move(o));
  }
  return out;
}

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

// Planned operations an apply did not run (stopped, a failed phase, or the
// journal could not be written): not a success either.
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

json::object RefJson(const ObjectRef& r) {
  json::object o;
  o["key"] = r.key;
  o["id"] = r.id;
  return o;
}

json::object OriginJson(const Origin& o) {
  json::object j;
  j["file"] = o.file;
  j["line"] = o.line;
  return j;
}

json::object OpJson(const ReportInput& in, const Operation& op) {
  json::object o;
  o["id"] = op.id;
  o["phase"] = PhaseName(op.phase);
  o["wave"] = op.wave;
  o["kind"] = OpKindName(op.kind);
  o["entity"] = EntityTypeName(op.entity);
  o["source_key"] = op.target.key;
  o["idaas_id"] = op.target.id;
  o["name"] = op.display;
  o["api_write"] = IsApiWrite(op.kind);
  if (!op.ou.key.empty() || !op.ou.id.empty()) {
    json::object ou = RefJson(op.ou);
    ou["name"] = OuLabel(*in.plan, op.ou);
    o["ou"] = std::move(ou);
  }
  json::array changes;
  for (const auto& c : op.changes) {
    json::object ch;
    ch["field"] = c.field;
    ch["old"] = c.old_value;
    ch["new"] = c.new_value;
    changes.push_back(std::move(ch));
  }
  o["changes"] = std::move(changes);
  json::array refs;
  for (const auto& r : op.refs) refs.push_back(RefJson(r));
  o["refs"] = std::move(refs);
  o["reason"] = op.reason;
  if (!op.origin.file.empty()) o["origin"] = OriginJson(op.origin);
  if (in.applied) {
    const OpResult* r = ResultOf(in, op);
    json::object res;
    res["status"] = OpResultStatusName(r ? r->status : OpResult::Status::kNotRun);
    res["error"] = r ? r->error : "";
    res["attempts"] = r ? r->attempts : 0;
    if (r && !r->idaas_id.empty()) res["idaas_id"] = r->idaas_id;
    o["result"] = std::move(res);
  }
  return o;
}

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

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
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
  line += " " + Pad(OpKindName(op.kind), 22) + op.display;
  std::string key = op.target.key.empty() ? op.target.id : op.target.key;
  if (!key.empty() && key != op.display) line += " (" + key + ")";
  std::string ou = OuLabel(*in.plan, op.ou);
  if (!ou.empty() && (op.kind == OpKind::kUserCreate || op.kind == OpKind::kOuCreate ||
                      op.kind == OpKind::kUserSetPrimaryOu)) {
    line += op.kind == OpKind::kOuCreate ? " under " + ou : " in " + ou;
  }
  if (op.kind == OpKind::kOuMove && !op.changes.empty()) {
    // Names for people; the change that follows keeps the ids.
    line += " from " + OuLabel(*in.plan, ObjectRef{"", op.changes[0].old_value}) + " to " + ou;
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

std::string ReportStatus(const ReportInput& in) {
  const Plan& p = *in.plan;
  if (in.applied) {
    if (CountFailed(in) > 0 || CountNotRun(in) > 0) return "partial";
    if (p.AnyGuardTripped()) return "blocked";
    return "converged";
  }
  if (p.AnyGuardTripped()) return "blocked";
  return p.operations.empty() ? "in_sync" : "changes_pending";
}

std::string OperationJson(const Operation& op) {
  static const Plan kNoPlan;
  ReportInput in;
  in.plan = &kNoPlan;
  return json::serialize(OpJson(in, op));
}

std::string RenderJson(const ReportInput& in) {
  const Plan& p = *in.plan;
  json::object root;
  root["schema"] = kReportSchema;
  root["kind"] = in.applied ? "apply" : "plan";
  root["generated_at"] = in.generated_at;
  root["idsync_version"] = in.version;
  root["config_file"] = in.config_file;
  root["exit_code"] = in.exit_code;

  json::object source;
  source["description"] = in.source;
  source["users"] = p.source_users;
  source["ous"] = p.source_ous;
  source["groups"] = p.source_groups;
  source["invalid_records"] = static_cast<int64_t>(p.invalid.size());
  root["source"] = std::move(source);

  json::object summary;
  summary["status"] = ReportStatus(in);
  json::object ops;
  ops["total"] = static_cast<int64_t>(p.operations.size());
  ops["api_writes"] = p.ApiWrites();
  json::object by_kind;
  for (const auto& [k, n] : p.CountsByKind()) by_kind[k] = n;
  ops["by_kind"] = std::move(by_kind);
  std::map<std::string, std::map<std::string, int64_t>> by_entity;
  for (const auto& op : p.operations) ++by_entity[EntityTypeName(op.entity)][OpKindName(op.kind)];
  json::object be;
  for (const auto& [e, m] : by_entity) {
    json::object inner;
    for (const auto& [k, n] : m) inner[k] = n;
    be[e] = std::move(inner);
  }
  ops["by_entity"] = std::move(be);
  summary["operations"] = std::move(ops);
  if (in.applied) {
    json::object res;
    int64_t done = 0, failed = 0, not_run = 0;
    for (const auto& op : p.operations) {
      const OpResult* r = ResultOf(in, op);
      auto s = r ? r->status : OpResult::Status::kNotRun;
      done += s == OpResult::Status::kDone;
      failed += s == OpResult::Status::kFailed;
      not_run += s == OpResult::Status::kNotRun;
    }
    res["done"] = done;
    res["failed"] = failed;
    res["not_run"] = not_run;
    summary["results"] = std::move(res);
  }
  int64_t out_of_scope = std::count_if(p.skipped.begin(), p.skipped.end(), [](const Skipped& s) {
    return s.reason.starts_with("out of scope");
  });
  summary["skipped"] = static_cast<int64_t>(p.skipped.size());
  summary["out_of_scope"] = out_of_scope;
  summary["conflicts"] = static_cast<int64_t>(p.conflicts.size());
  summary["invalid_records"] = static_cast<int64_t>(p.invalid.size());
  summary["unmanaged"] = static_cast<int64_t>(p.unmanaged.size());
  json::object managed;
  managed["users"] = p.managed_users;
  managed["ous"] = p.managed_ous;
  managed["groups"] = p.managed_groups;
  summary["managed"] = std::move(managed);
  json::array tripped;
  for (const auto& g : p.guards) {
    if (g.tripped) tripped.push_back(json::string(g.name));
  }
  summary["guards_tripped"] = std::move(tripped);
  root["summary"] = std::move(summary);

  root["guards"] = GuardsArray(p.guards);

  json::array operations;
  for (const auto& op : p.operations) operations.push_back(OpJson(in, op));
  root["operations"] = std::move(operations);

  json::array skipped;
  const ReportInput plain = Unapplied(in);
  for (const auto& s : p.skipped) {
    json::object o = OpJson(plain, s.op);
    o["skip_reason"] = s.reason;
    o["guard"] = s.guard;
    skipped.push_back(std::move(o));
  }
  root["skipped"] = std::move(skipped);

  json::array conflicts;
  for (const auto& c : p.conflicts) {
    json::object o;
    o["kind"] = ConflictKindName(c.kind);
    o["entity"] = EntityTypeName(c.entity);
    o["source_key"] = c.key;
    json::array ids;
    for (const auto& id : c.ids) ids.push_back(json::string(id));
    o["idaas_ids"] = std::move(ids);
    o["message"] = c.message;
    if (!c.origin.file.empty()) o["origin"] = OriginJson(c.origin);
    conflicts.push_back(std::move(o));
  }
  root["conflicts"] = std::move(conflicts);

  json::array invalid;
  for (const auto& d : p.invalid) {
    json::object o;
    o["file"] = d.origin.file;
    o["line"] = d.origin.line;
    o["source_key"] = d.key;
    o["field"] = d.field;
    o["reason"] = d.reason;
    invalid.push_back(std::move(o));
  }
  root["invalid_records"] = std::move(invalid);

  json::array unmanaged;
  for (const auto& u : p.unmanaged) {
    json::object o;
    o["entity"] = EntityTypeName(u.entity);
    o["idaas_id"] = u.id;
    o["name"] = u.name;
    unmanaged.push_back(std::move(o));
  }
  root["unmanaged"] = std::move(unmanaged);
  return json::serialize(root) + "\n";
}

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

namespace {

// The HTML report must stay usable for plans of a million operations: a
// browser chokes on a table of 10^6 rows long before the file is written.
// So the page embeds a bounded sample as JSON and pages and filters it with
// a little inline script; the CSV and JSON reports carry every operation.
constexpr size_t kHtmlMaxEmbedded = 50'000;      // changes + skipped in the page
constexpr size_t kHtmlFirstPage = 100;           // rows also rendered as HTML
constexpr size_t kHtmlMaxDiagnosticRows = 5'000; // conflicts, invalid records each

// Appends s as a JSON string literal that is also safe inside <script>:
// '<', '>' and '&' are \u-escaped so that no "</script>" or "<!--" can
// appear in the data, whatever the source holds.
void AppendScriptJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// "field: old → new; field: new; 3 member(s)", the changes cell.
std::string HtmlChangesCell(const Operation& op) {
  std::string out;
  for (const auto& c : op.changes) {
    if (!out.empty()) out += "; ";
    out += c.field + ": ";
    if (!c.old_value.empty()) out += c.old_value + " \u2192 ";
    out += c.new_value;
  }
  if (!op.refs.empty()) {
    if (!out.empty()) out += "; ";
    out += std::to_string(op.refs.size()) +
           (op.entity == EntityType::kGroup ? " member(s)" : " OU(s)");
  }
  return out;
}

// One operation as the page shows it: planned, skipped, or its apply result.
struct HtmlRow {
  const Operation* op = nullptr;
  const std::string* skip_reason = nullptr;  // set for skipped operations
};

std::string HtmlRowStatus(const ReportInput& in, const HtmlRow& row, bool* alarming) {
  if (row.skip_reason != nullptr) {
    *alarming = true;
    return "skipped: " + *row.skip_reason;
  }
  *alarming = false;
  if (!in.applied) return "planned";
  const OpResult* r = ResultOf(in, *row.op);
  auto s = r ? r->status : OpResult::Status::kNotRun;
  *alarming = s == OpResult::Status::kFailed;
  std::string text = s == OpResult::Status::kNotRun ? "not run" : OpResultStatusName(s);
  if (r && !r->error.empty()) text += ": " + r->error;
  return text;
}

// Which rows the page embeds, at most `budget`, in report order (changes,
// then skipped). Rows are grouped by (failed, skipped, kind); failed groups
// are filled first, then every other group gets an equal share of what is
// left, a group needing less than its share leaving the rest to the others
// (water-filling). So a page that cannot list 900,000 creates still lists
// every disable and every failure. Linear in the plan.
std::vector<HtmlRow> HtmlSample(const ReportInput& in, size_t budget) {
  const Plan& p = *in.plan;
  auto group_of = [&](const Operation& op, bool skipped) {
    bool failed = false;
    if (in.applied && !skipped) {
      const OpResult* r = ResultOf(in, op);
      failed = r && r->status == OpResult::Status::kFailed;
    }
    return (failed ? 0 : 512) + (skipped ? 256 : 0) + static_cast<int>(op.kind);
  };
  constexpr int kGroups = 1024;
  std::vector<size_t> count(kGroups, 0), quota(kGroups, 0);
  std::vector<int> group(p.operations.size() + p.skipped.size());
  size_t i = 0;
  for (const auto& op : p.operations) ++count[group[i++] = group_of(op, false)];
  for (const auto& s : p.skipped) ++count[group[i++] = group_of(s.op, true)];

  auto fill = [&](int first, int last) {  // groups [first, last)
    std::vector<int> ids;
    for (int g = first; g < last; ++g) {
      if (count[g] > 0) ids.push_back(g);
    }
    std::sort(ids.begin(), ids.end(), [&](int a, int b) { return count[a] < count[b]; });
    for (size_t k = 0; k < ids.size(); ++k) {
      size_t share = budget / (ids.size() - k);
      quota[ids[k]] = std::min(count[ids[k]], share);
      budget -= quota[ids[k]];
    }
  };
  fill(0, 512);  // failed operations first
  fill(512, kGroups);

  std::vector<HtmlRow> rows;
  i = 0;
  for (const auto& op : p.operations) {
    int g = group[i++];
    if (quota[g] > 0) {
      --quota[g];
      rows.push_back({&op, nullptr});
    }
  }
  for (const auto& s : p.skipped) {
    int g = group[i++];
    if (quota[g] > 0) {
      --quota[g];
      rows.push_back({&s.op, &s.reason});
    }
  }
  return rows;
}

// The paging and filtering of the operations table: vanilla JS over the
// embedded JSON, building cells with textContent (never innerHTML), so the
// data cannot inject markup.
constexpr char kHtmlOpsScript[] = R"JS(<script>
(function () {
  var d = JSON.parse(document.getElementById('ops-data').textContent);
  var rows = d.rows, kinds = d.kinds;
  function $(id) { return document.getElementById(id); }
  var sec = $('f-section'), kind = $('f-kind'), text = $('f-text'), size = $('f-size');
  var prev = $('f-prev'), next = $('f-next'), info = $('f-info');
  var body = document.querySelector('#ops tbody');
  var match = null, page = 0, hay = null;
  function filter() {
    var s = sec.value, k = kind.value, t = text.value.trim().toLowerCase();
    if (t && !hay) {
      hay = rows.map(function (r) { return r.slice(2, 9).join('\n').toLowerCase(); });
    }
    match = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (s !== '' && r[0] !== +s) continue;
      if (k !== '' && r[1] !== +k) continue;
      if (t && hay[i].indexOf(t) < 0) continue;
      match.push(i);
    }
    page = 0;
    draw();
  }
  function cell(tr, v, cls) {
    var td = document.createElement('td');
    td.textContent = v;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function draw() {
    var n = +size.value, from = page * n, to = Math.min(match.length, from + n);
    var frag = document.createDocumentFragment();
    for (var j = from; j < to; j++) {
      var r = rows[match[j]], tr = document.createElement('tr');
      cell(tr, String(match[j] + 1), 'num');
      cell(tr, kinds[r[1]]);
      for (var c = 2; c < 8; c++) cell(tr, r[c], c === 6 ? 'chg' : '');
      cell(tr, r[8], r[9] ? 'tripped' : 'ok');
      frag.appendChild(tr);
    }
    body.textContent = '';
    body.appendChild(frag);
    info.textContent = match.length === 0 ? 'no matching rows' :
        'rows ' + (from + 1) + '\u2013' + to + ' of ' + match.length +
        (match.length < rows.length ? ' matching' : '');
    prev.disabled = page === 0;
    next.disabled = to >= match.length;
  }
  var timer = null;
  text.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(filter, 150);
  });
  sec.addEventListener('change', filter);
  kind.addEventListener('change', filter);
  size.addEventListener('change', function () { page = 0; draw(); });
  prev.addEventListener('click', function () { page--; draw(); });
  next.addEventListener('click', function () { page++; draw(); });
  $('ops-controls').hidden = false;
  filter();
})();
</script>
)JS";

}  // namespace

std::string RenderHtml(const ReportInput& in) {
  const Plan& p = *in.plan;
  const std::vector<HtmlRow> sample = HtmlSample(in, kHtmlMaxEmbedded);
  const size_t all_rows = p.operations.size() + p.skipped.size();
  const size_t left_out = all_rows - sample.size();
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>idsync "
    << (in.applied ? "apply" : "plan") << " report</title><style>"
       "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2328}"
       "h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de}"
       "table{border-collapse:collapse;width:100%;margin:.5rem 0}"
       "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
       "th{background:#f6f8fa}.tripped{color:#cf222e;font-weight:600}.ok{color:#1a7f37}"
       ".cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;"
       "border-radius:6px;padding:.6rem 1rem;min-width:8rem}.card b{display:block;font-size:1.4rem}"
       ".bar{fill:#0969da}.bar.del{fill:#cf222e}.bar.add{fill:#1a7f37}svg text{font-size:12px}"
       ".charts{display:flex;gap:2rem;flex-wrap:wrap}"
       ".note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem 1rem}"
       ".controls{display:flex;gap:1rem;flex-wrap:wrap;align-items:center;margin:.5rem 0}"
       "td.num{color:#656d76;text-align:right}td.chg{word-break:break-word;max-width:40rem}"
       "code{background:#f6f8fa;padding:0 3px}</style></head><body>\n";
  h << "<h1>idsync " << (in.applied ? "apply" : "plan") << " report</h1>\n<p>"
    << HtmlEscape(in.generated_at) << " &middot; source <code>" << HtmlEscape(in.source)
    << "</code> &middot; status <b>" << HtmlEscape(ReportStatus(in)) << "</b> (exit "
    << in.exit_code << ")</p>\n";
  h << "<div class=\"cards\">";
  auto card = [&](const std::string& label, int64_t n) {
    h << "<div class=\"card\"><b>" << n << "</b>" << HtmlEscape(label) << "</div>";
  };
  card("operations", static_cast<int64_t>(p.operations.size()));
  card("API writes", p.ApiWrites());
  if (in.applied) card("failed", CountFailed(in));
  card("skipped", static_cast<int64_t>(p.skipped.size()));
  card("conflicts", static_cast<int64_t>(p.conflicts.size()));
  card("invalid records", static_cast<int64_t>(p.invalid.size()));
  card("source users", p.source_users);
  card("managed users", p.managed_users);
  h << "</div>\n";
  if (left_out > 0) {
    h << "<p class=\"note\" id=\"left-out\" data-left-out=\"" << left_out << "\">This page lists "
      << sample.size() << " of " << all_rows << " operations (changes and skipped); <b>"
      << left_out << " operations are left out</b> to keep it small enough for a browser. "
         "Every kind keeps a share of the rows (failures first). The complete list is in the "
         "CSV and JSON reports of the same plan: <code>idsync "
      << (in.applied ? "apply" : "plan") << " --format csv -o report.csv</code> or <code>--format "
         "json</code>.</p>\n";
  }

  // Bar charts as inline SVG: no external assets.
  auto chart = [&](const std::string& title, const std::vector<std::pair<std::string, int64_t>>& rows,
                   bool color_by_kind) {
    h << "<div><h2>" << HtmlEscape(title) << "</h2>\n";
    if (rows.empty()) {
      h << "<p>Nothing.</p></div>\n";
      return;
    }
    int64_t max = 1;
    for (const auto& r : rows) max = std::max(max, r.second);
    // Compact, so that two charts fit side by side in a 1400 px window and
    // the operations table is not pushed far below the fold.
    const int bar_h = 14, gap = 4, label_w = 200, width = 300;
    int height = static_cast<int>(rows.size()) * (bar_h + gap);
    h << "<svg role=\"img\" width=\"" << width + label_w + 70 << "\" height=\"" << height
      << "\" xmlns=\"http://www.w3.org/2000/svg\">";
    int y = 0;
    for (const auto& row : rows) {
      // Not a structured binding: lambdas below capture it (C++20 allows
      // that, clang 14 of the fuzz build does not).
      const auto& label = row.first;
      const auto& n = row.second;
      int w = static_cast<int>(static_cast<double>(n) / static_cast<double>(max) * width);
      std::string cls = "bar";
      if (color_by_kind) {
        auto has = [&](const char* word) { return label.find(word) != std::string::npos; };
        if (has("delete") || has("disable") || has("remove") || has("failed") || has("skipped")) {
          cls += " del";
        } else if (has("create") || has("add") || label == "done") {
          cls += " add";
        }
      }
      h << "<text x=\"0\" y=\"" << y + 11 << "\">" << HtmlEscape(label) << "</text><rect class=\""
        << cls << "\" x=\"" << label_w << "\" y=\"" << y << "\" width=\"" << std::max(w, 1)
        << "\" height=\"" << bar_h << "\"/><text x=\"" << label_w + std::max(w, 1) + 6
        << "\" y=\"" << y + 11 << "\">" << n << "</text>";
      y += bar_h + gap;
    }
    h << "</svg></div>\n";
  };
  h << "<div class=\"charts\">\n";
  std::vector<std::pair<std::string, int64_t>> by_kind;
  for (const auto& [k, n] : p.CountsByKind()) by_kind.emplace_back(k, n);
  chart("Operations by kind", by_kind, true);
  // Counted per OU reference (key, else id), not per name: departments of
  // the same name under different parents ("Team1" in every division) are
  // different OUs. Names are looked up once per OU, not per operation.
  struct OuCount {
    const ObjectRef* ref = nullptr;
    int64_t n = 0;
  };
  std::unordered_map<std::string_view, OuCount> by_ref;
  int64_t group_ops = 0;
  for (const auto& op : p.operations) {
    if (op.entity == EntityType::kGroup) {
      ++group_ops;
      continue;
    }
    const ObjectRef& ref = op.entity == EntityType::kOu ? op.target : op.ou;
    OuCount& c = by_ref[ref.key.empty() ? std::string_view(ref.id) : std::string_view(ref.key)];
    if (c.ref == nullptr) c.ref = &ref;
    ++c.n;
  }
  std::vector<std::pair<std::string, int64_t>> by_ou;
  std::unordered_map<std::string, int> name_uses;
  for (const auto& [key, c] : by_ref) {
    std::string name = key.empty() ? "(no OU)" : OuLabel(p, *c.ref);
    ++name_uses[name];
    by_ou.emplace_back(std::move(name), c.n);
  }
  size_t i = 0;
  for (const auto& [key, c] : by_ref) {  // the same order as above
    std::string& label = by_ou[i++].first;
    if (name_uses[label] > 1 && !key.empty() && key != label) {
      label += " (" + std::string(key) + ")";
    }
  }
  if (group_ops > 0) by_ou.emplace_back("(groups)", group_ops);
  std::sort(by_ou.begin(), by_ou.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (by_ou.size() > 25) by_ou.resize(25);
  chart("Operations by OU (top 25)", by_ou, false);
  if (in.applied) {
    int64_t done = 0, failed = 0;
    for (const auto& [id, r] : in.results) {
      done += r.status == OpResult::Status::kDone;
      failed += r.status == OpResult::Status::kFailed;
    }
    const int64_t not_run = static_cast<int64_t>(p.operations.size()) - done - failed;
    chart("Results",
          {{"done", done},
           {"failed", failed},
           {"not run", std::max<int64_t>(not_run, 0)},
           {"skipped", static_cast<int64_t>(p.skipped.size())}},
          true);
  }
  h << "</div>\n";

  h << "<h2>Guards</h2>\n<table><tr><th>guard</th><th>verdict</th><th>value</th><th>limit</th>"
       "<th>detail</th></tr>\n";
  for (const auto& g : p.guards) {
    h << "<tr><td>" << HtmlEscape(g.name) << "</td><td class=\"" << (g.tripped ? "tripped" : "ok")
      << "\">" << (g.tripped ? "TRIPPED" : "ok") << "</td><td>" << g.value << "</td><td>" << g.limit
      << "</td><td>" << HtmlEscape(g.message) << "</td></tr>\n";
  }
  h << "</table>\n";

  // The operations: one table over changes and skipped operations. The
  // first page is plain HTML (readable without scripts and in print); the
  // script replaces it with pages of the embedded rows.
  h << "<h2>Operations (" << p.operations.size() << " changes, " << p.skipped.size()
    << " skipped";
  if (left_out > 0) h << "; " << sample.size() << " in this page";
  h << ")</h2>\n";
  if (sample.empty()) {
    h << "<p>None.</p>\n";
  } else {
    // Kinds present, with counts in the plan and in the page, for the filter.
    std::vector<int64_t> in_plan(256, 0), in_page(256, 0);
    for (const auto& op : p.operations) ++in_plan[static_cast<int>(op.kind)];
    for (const auto& s : p.skipped) ++in_plan[static_cast<int>(s.op.kind)];
    for (const auto& r : sample) ++in_page[static_cast<int>(r.op->kind)];
    h << "<div class=\"controls\" id=\"ops-controls\" hidden>"
         "<label>Show <select id=\"f-section\"><option value=\"\">changes and skipped</option>"
         "<option value=\"0\">changes</option><option value=\"1\">skipped</option></select></label>"
         "<label>Kind <select id=\"f-kind\"><option value=\"\">all kinds</option>";
    for (int k = 0; k < 256; ++k) {
      if (in_plan[k] == 0) continue;
      h << "<option value=\"" << k << "\">" << OpKindName(static_cast<OpKind>(k)) << " ("
        << in_page[k];
      if (in_page[k] != in_plan[k]) h << " of " << in_plan[k];
      h << ")</option>";
    }
    h << "</select></label><label>Search <input id=\"f-text\" type=\"search\" size=\"28\" "
         "placeholder=\"name, key, id, OU, change, error\"></label>"
         "<label>Rows <select id=\"f-size\"><option>50</option><option selected>100</option>"
         "<option>500</option></select></label>"
         "<button id=\"f-prev\">&larr; previous</button><span id=\"f-info\"></span>"
         "<button id=\"f-next\">next &rarr;</button></div>\n";
    h << "<table id=\"ops\"><thead><tr><th>#</th><th>operation</th><th>name</th><th>source key</th>"
         "<th>IDaaS id</th><th>OU</th><th>changes</th><th>reason</th><th>status</th></tr></thead>"
         "<tbody>\n";
    // Rows as JSON arrays: [skipped, kind, name, key, id, OU, changes,
    // reason, status, alarming]. Built once; the first page reuses the cells.
    std::string data = "{\"kinds\":[";
    for (int k = 0; k < 256; ++k) {
      if (k > 0) data += ',';
      if (in_plan[k] == 0) {
        data += "\"\"";
      } else {
        AppendScriptJsonString(&data, OpKindName(static_cast<OpKind>(k)));
      }
    }
    data += "],\"rows\":[";
    data.reserve(data.size() + sample.size() * 200);
    for (size_t i = 0; i < sample.size(); ++i) {
      const HtmlRow& row = sample[i];
      const Operation& op = *row.op;
      bool alarming = false;
      const std::string cells[] = {op.display,        op.target.key,
                                   op.target.id,      OuLabel(p, op.ou),
                                   HtmlChangesCell(op), op.reason,
                                   HtmlRowStatus(in, row, &alarming)};
      if (i > 0) data += ',';
      data += row.skip_reason ? "[1," : "[0,";
      data += std::to_string(static_cast<int>(op.kind));
      for (const auto& c : cells) {
        data += ',';
        AppendScriptJsonString(&data, c);
      }
      data += alarming ? ",1]" : ",0]";
      if (i < kHtmlFirstPage) {
        h << "<tr><td class=\"num\">" << i + 1 << "</td><td>" << OpKindName(op.kind) << "</td>";
        for (size_t c = 0; c < 6; ++c) {
          h << "<td" << (c == 4 ? " class=\"chg\"" : "") << ">" << HtmlEscape(cells[c]) << "</td>";
        }
        h << "<td class=\"" << (alarming ? "tripped" : "ok") << "\">" << HtmlEscape(cells[6])
          << "</td></tr>\n";
      }
    }
    data += "]}";
    h << "</tbody></table>\n";
    if (sample.size() > kHtmlFirstPage) {
      h << "<noscript><p>Without JavaScript only the first " << kHtmlFirstPage
        << " rows are shown; the CSV and JSON reports list every operation.</p></noscript>\n";
    }
    h << "<script type=\"application/json\" id=\"ops-data\">" << data << "</script>\n"
      << kHtmlOpsScript;
  }

  h << "<h2>Conflicts (" << p.conflicts.size() << ")</h2>\n";
  if (p.conflicts.empty()) {
    h << "<p>None.</p>\n";
  } else {
    h << "<table><tr><th>kind</th><th>source key</th><th>where</th><th>IDaaS ids</th>"
         "<th>what to do</th></tr>\n";
    const size_t shown = std::min(p.conflicts.size(), kHtmlMaxDiagnosticRows);
    for (size_t i = 0; i < shown; ++i) {
      const Conflict& c = p.conflicts[i];
      std::string ids;
      for (const auto& id : c.ids) ids += (ids.empty() ? "" : ", ") + id;
      h << "<tr><td>" << ConflictKindName(c.kind) << "</td><td>" << HtmlEscape(c.key) << "</td><td>"
        << HtmlEscape(c.origin.ToString()) << "</td><td>" << HtmlEscape(ids) << "</td><td>"
        << HtmlEscape(c.message) << "</td></tr>\n";
    }
    h << "</table>\n";
    if (shown < p.conflicts.size()) {
      h << "<p class=\"note\">" << p.conflicts.size() - shown
        << " more conflicts are left out of this page; the JSON and text reports list them "
           "all.</p>\n";
    }
  }
  h << "<h2>Invalid records (" << p.invalid.size() << ")</h2>\n";
  if (p.invalid.empty()) {
    h << "<p>None.</p>\n";
  } else {
    h << "<table><tr><th>where</th><th>source key</th><th>field</th><th>reason</th></tr>\n";
    const size_t shown = std::min(p.invalid.size(), kHtmlMaxDiagnosticRows);
    for (size_t i = 0; i < shown; ++i) {
      const auto& d = p.invalid[i];
      h << "<tr><td>" << HtmlEscape(d.origin.ToString()) << "</td><td>" << HtmlEscape(d.key)
        << "</td><td>" << HtmlEscape(d.field) << "</td><td>" << HtmlEscape(d.reason) << "</td></tr>\n";
    }
    h << "</table>\n";
    if (shown < p.invalid.size()) {
      h << "<p class=\"note\">" << p.invalid.size() - shown
        << " more invalid records are left out of this page; the JSON and text reports list "
           "them all.</p>\n";
    }
  }
  h << "<p>idsync " << HtmlEscape(in.version) << " &middot; schema " << kReportSchema
    << "</p>\n</body></html>\n";
  return h.str();
}

std::string Render(const std::string& format, const ReportInput& in) {
  if (format == "json") return RenderJson(in);
  if (format == "csv") return RenderCsv(in);
  if (format == "html") return RenderHtml(in);
  return RenderText(in);
}

std::string GuardsJson(const std::vector<GuardVerdict>& guards) {
  return json::serialize(GuardsArray(guards));
}

}  // namespace idsync::sync
