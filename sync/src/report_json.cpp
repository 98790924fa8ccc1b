// The JSON report (docs/report-format.md): every operation, conflict,
// skipped write and guard, for machines.
#include <boost/json.hpp>

#include "idsync/sync/report.h"
#include "report_internal.h"

namespace idsync::sync {
namespace {

namespace json = boost::json;
using report_internal::OuLabel;
using report_internal::ResultOf;
using report_internal::Unapplied;

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

json::object RefJson(const ObjectRef& r) {
  json::object o;
  o["key"] = r.key;
  o["id"] = r.id;
  return o;
}

json::object OriginJson(const Origin& o) {
  json::object j;
  j["file"] = o.file.str();
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

}  // namespace

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
    o["file"] = d.origin.file.str();
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

std::string GuardsJson(const std::vector<GuardVerdict>& guards) {
  return json::serialize(GuardsArray(guards));
}

}  // namespace idsync::sync
