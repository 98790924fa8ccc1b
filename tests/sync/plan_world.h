// A small world for planner tests: a source snapshot and a cached IDaaS
// state to plan between, with helpers to build both sides.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "idsync/sync/plan.h"

namespace idsync::sync {

inline constexpr int64_t kNow = 1'700'000'000'000;
inline constexpr int64_t kDay = 24LL * 3600 * 1000;
inline const std::string kRoot = "ou_root";

// A small world: a source snapshot and a cached IDaaS state to plan between.
// The cached side in plain vectors, easy to edit; Compute() builds the
// compact CachedState from it.
struct PlainCached {
  std::vector<IdaasOu> ous;
  std::vector<IdaasGroup> groups;  // with member_ids
  std::vector<Link> links;
  ProvisioningScope scope;
};

// A SourceSnapshot whose users are a plain vector, for tests to edit in
// place; it converts to the real (compact) snapshot where one is planned.
struct EditableSource {
  std::vector<DesiredUser> users;
  std::vector<DesiredOu> ous;
  std::vector<DesiredGroup> groups;
  std::vector<UserField> mapped_fields;
  std::vector<Diagnostic> rejected;
  int64_t records_read = 0;
  std::string description;

  operator SourceSnapshot() const {  // NOLINT(google-explicit-constructor): a test's shorthand
    SourceSnapshot s;
    s.users = DesiredUsers(users);
    s.ous = ous;
    s.groups = groups;
    s.mapped_fields = mapped_fields;
    s.rejected = rejected;
    s.records_read = records_read;
    s.description = description;
    return s;
  }
};

struct World {
  EditableSource source;
  PlainCached cached;
  std::vector<IdaasUser> users;  // added to cached.users by Plan()
  Policy policy;

  World() {
    policy.root_ou_id = kRoot;
    source.mapped_fields = {UserField::kUsername, UserField::kDisplayName,
                            UserField::kEmail,    UserField::kPrimaryOu,
                            UserField::kEnabled,  UserField::kExtraOus};
    cached.scope.ou_ids = {kRoot};
    cached.ous.push_back({kRoot, "Root", "", "", "", "build_in", "idaas_x"});
  }

  DesiredOu& Ou(const std::string& key, const std::string& name,
                const std::string& parent = "") {
    source.ous.push_back({key, name, parent, "", {"src.csv", 0}});
    return source.ous.back();
  }
  DesiredUser& User(const std::string& key, const std::string& username,
                    const std::string& ou = "D1") {
    DesiredUser u;
    u.key = key;
    u.username = username;
    u.display_name = "Name " + username;
    u.email = username + "@example.com";
    u.primary_ou_key = ou;
    u.origin = {"src.csv", static_cast<int64_t>(source.users.size() + 2)};
    source.users.push_back(u);
    ++source.records_read;
    return source.users.back();
  }
  DesiredGroup& Group(const std::string& key, const std::string& name,
                      std::vector<std::string> members) {
    source.groups.push_back({key, name, "", std::move(members), {"src.csv", 0}});
    return source.groups.back();
  }

  // The IDaaS side.
  void CachedOu(const std::string& id, const std::string& name,
                const std::string& parent = kRoot, const std::string& key = "") {
    cached.ous.push_back({id, name, parent, "", key.empty() ? id : key, "build_in", "idaas_x"});
    if (!key.empty()) cached.links.push_back({EntityType::kOu, key, id, Ownership::kCreated, 0, false});
  }
  IdaasUser& CachedUser(const std::string& id, const std::string& username,
                        const std::string& ou, const std::string& key = "") {
    IdaasUser u;
    u.id = id;
    u.username = username;
    u.display_name = "Name " + username;
    u.email = username + "@example.com";
    u.external_id = key.empty() ? id : key;
    u.source_type = "build_in";
    u.primary_ou_id = ou;
    u.ou_ids = {ou};
    users.push_back(u);
    if (!key.empty()) {
      cached.links.push_back({EntityType::kUser, key, id, Ownership::kCreated, 0, false});
    }
    return users.back();
  }
  void CachedGroup(const std::string& id, const std::string& name,
                   std::vector<std::string> members, const std::string& key = "") {
    cached.groups.push_back({id, name, "", key.empty() ? id : key, "build_in", "idaas_x",
                             std::move(members)});
    if (!key.empty()) {
      cached.links.push_back({EntityType::kGroup, key, id, Ownership::kCreated, 0, false});
    }
  }
  Link& LinkOf(const std::string& key) {
    for (auto& l : cached.links) {
      if (l.source_key == key) return l;
    }
    throw std::runtime_error("no link " + key);
  }

  CachedState State() const {
    CachedState state;
    state.ous = cached.ous;
    state.scope = cached.scope;
    for (const auto& u : users) state.users.Add(u);
    for (const auto& g : cached.groups) state.AddGroup(g);
    for (const auto& l : cached.links) state.links.Add(l);
    return state;
  }

  Plan Compute(int64_t now = kNow) {
    const CachedState state = State();
    const SourceSnapshot snapshot = source;
    return ComputePlan(snapshot, state, cached.scope, policy, now);
  }
};

// "kind target" for each operation, in plan order.
inline std::vector<std::string> Ops(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& op : p.operations) {
    out.push_back(std::string(OpKindName(op.kind)) + " " +
                  (op.target.key.empty() ? op.target.id : op.target.key));
  }
  return out;
}

inline const Operation* Find(const Plan& p, OpKind kind, const std::string& key) {
  for (const auto& op : p.operations) {
    if (op.kind == kind && op.target.key == key) return &op;
  }
  return nullptr;
}

inline const GuardVerdict& Guard(const Plan& p, const std::string& name) {
  for (const auto& g : p.guards) {
    if (g.name == name) return g;
  }
  static GuardVerdict none;
  ADD_FAILURE() << "no guard " << name;
  return none;
}

}  // namespace idsync::sync
