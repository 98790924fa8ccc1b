// Properties of the pure planner over generated worlds (RapidCheck): the
// safety invariants of docs/sync-semantics.md hold for every input, not only
// for the hand-picked examples of plan_test.cpp.
//
// Each world mixes what dirty input looks like: records rejected with and
// without a recoverable key, usernames shared by two records, renames and
// swaps, accounts of another source carrying our keys, protected accounts,
// group memberships, small and large max_deletes. A failure prints the
// world's summary and RapidCheck's seed; rerun it with
//   RC_PARAMS="replay=<string it prints>" build-asan/tests/sync/sync_property_test
// and run longer with RC_PARAMS="max_success=20000".
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "idsync/sync/plan.h"
#include "plan_world.h"

namespace idsync::sync {
namespace {

const std::string kInstance = "idaas_x";

std::string LowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

enum class Presence { kValid, kRejected, kAbsent };
enum class Account { kNone, kLinked, kOwnByExternalId, kOwnUnanchored, kForeign };

// A generated world and what the test knows about it, independently of the
// planner.
struct Generated {
  World w;
  std::map<std::string, Presence> user_presence;  // by source key
  std::map<std::string, Presence> group_presence;
  std::map<std::string, Presence> ou_presence;
  std::set<std::string> foreign_ids;  // objects of another source
  bool unkeyed_user = false, unkeyed_ou = false, unkeyed_group = false;
};

// Draws a world. Small pools of names make collisions likely.
Generated GenWorld() {
  Generated g;
  World& w = g.w;
  w.policy.instance_id = kInstance;
  w.cached.ous[0].source_id = kInstance;
  // Departments: D0..Dn, some linked to cached OUs, some rejected or gone.
  const int n_ous = *rc::gen::inRange(1, 4);
  std::vector<std::string> source_ou_keys, cached_ou_ids;
  for (int i = 0; i < n_ous; ++i) {
    std::string key = "D" + std::to_string(i);
    auto presence = *rc::gen::element(Presence::kValid, Presence::kValid, Presence::kRejected,
                                      Presence::kAbsent);
    g.ou_presence[key] = presence;
    std::string parent = i > 0 && *rc::gen::arbitrary<bool>() ? "D0" : "";
    if (presence == Presence::kValid && (parent.empty() || g.ou_presence["D0"] == Presence::kValid)) {
      w.Ou(key, "Dept " + key, parent);
      source_ou_keys.push_back(key);
    } else if (presence != Presence::kAbsent) {
      g.ou_presence[key] = Presence::kRejected;
      w.source.rejected.push_back({{"ous.csv", i + 2}, key, "ou", "bad department", EntityType::kOu});
    }
    if (*rc::gen::arbitrary<bool>()) {
      std::string id = "ou_" + key;
      w.CachedOu(id, "Dept " + key, kRoot, key);
      w.cached.ous.back().source_id = kInstance;
      cached_ou_ids.push_back(id);
    }
  }
  if (*rc::gen::weightedElement<bool>({{1, true}, {6, false}})) {
    g.unkeyed_ou = true;
    w.source.rejected.push_back({{"ous.csv", 99}, "", "", "malformed row", EntityType::kOu});
  }

  const std::vector<std::string> pool = {"ann", "bob", "Bob", "cy", "dee"};
  auto username = [&](int i) {
    return *rc::gen::weightedElement<bool>({{2, true}, {1, false}})
               ? *rc::gen::elementOf(pool)
               : "user" + std::to_string(i);
  };
  std::vector<std::string> cached_user_ids, user_keys;
  const int n_users = *rc::gen::inRange(0, 12);
  for (int i = 0; i < n_users; ++i) {
    std::string key = "E" + std::to_string(i);
    user_keys.push_back(key);
    auto presence = *rc::gen::weightedElement<Presence>(
        {{5, Presence::kValid}, {2, Presence::kRejected}, {3, Presence::kAbsent}});
    g.user_presence[key] = presence;
    auto account = *rc::gen::weightedElement<Account>({{2, Account::kNone},
                                                       {5, Account::kLinked},
                                                       {1, Account::kOwnByExternalId},
                                                       {1, Account::kOwnUnanchored},
                                                       {1, Account::kForeign}});
    if (account != Account::kNone) {
      std::string id = "user_" + std::to_string(i);
      std::string ou = cached_ou_ids.empty() || *rc::gen::arbitrary<bool>()
                           ? kRoot
                           : *rc::gen::elementOf(cached_ou_ids);
      IdaasUser& u = w.CachedUser(id, username(i), ou, account == Account::kLinked ? key : "");
      u.source_id = kInstance;
      u.enabled = *rc::gen::weightedElement<bool>({{4, true}, {1, false}});
      for (const auto& extra : cached_ou_ids) {
        if (extra != ou && *rc::gen::arbitrary<bool>()) u.ou_ids.push_back(extra);
      }
      std::sort(u.ou_ids.begin(), u.ou_ids.end());
      if (account == Account::kOwnByExternalId) u.external_id = key;
      if (account == Account::kOwnUnanchored) u.external_id = id;
      if (account == Account::kForeign) {
        u.external_id = key;
        u.source_type = "ding_talk";
        u.source_id = "corp_1";
        g.foreign_ids.insert(id);
      }
      if (account == Account::kLinked) {
        Link& l = w.LinkOf(key);
        l.missing_since_ms =
            *rc::gen::element<int64_t>(0, 0, kNow - 40 * kDay, kNow - kDay);
        l.disabled_by_idsync = l.missing_since_ms != 0 && !u.enabled;
      }
      cached_user_ids.push_back(id);
    }
    if (presence == Presence::kValid) {
      std::string ou_key = source_ou_keys.empty() || *rc::gen::arbitrary<bool>()
                               ? std::string(kRootOuKey)
                               : *rc::gen::elementOf(source_ou_keys);
      DesiredUser& d = w.User(key, username(i), ou_key);
      d.enabled = *rc::gen::weightedElement<bool>({{5, true}, {1, false}});
      for (const auto& k : source_ou_keys) {
        if (k != ou_key && *rc::gen::arbitrary<bool>()) d.extra_ou_keys.push_back(k);
      }
      // A rejected OU the record still names.
      for (const auto& [k, p] : g.ou_presence) {
        if (p == Presence::kRejected && *rc::gen::arbitrary<bool>()) d.extra_ou_keys.push_back(k);
      }
      std::sort(d.extra_ou_keys.begin(), d.extra_ou_keys.end());
    } else if (presence == Presence::kRejected) {
      ++w.source.records_read;
      w.source.rejected.push_back(
          {{"people.csv", 100 + i}, key, "email", "invalid e-mail", EntityType::kUser});
    }
  }
  if (*rc::gen::weightedElement<bool>({{1, true}, {4, false}})) {
    g.unkeyed_user = true;
    ++w.source.records_read;
    w.source.rejected.push_back({{"people.csv", 999}, "", "", "stray quote", EntityType::kUser});
  }

  const int n_groups = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n_groups; ++i) {
    std::string key = "G" + std::to_string(i);
    auto presence = *rc::gen::weightedElement<Presence>(
        {{5, Presence::kValid}, {1, Presence::kRejected}, {2, Presence::kAbsent}});
    g.group_presence[key] = presence;
    if (presence == Presence::kValid) {
      std::vector<std::string> members;
      for (const auto& k : user_keys) {
        if (*rc::gen::arbitrary<bool>()) members.push_back(k);
      }
      w.Group(key, "Group " + key, members);
    } else if (presence == Presence::kRejected) {
      w.source.rejected.push_back({{"groups.csv", i + 2}, key, "group", "bad group", EntityType::kGroup});
    }
    auto account = *rc::gen::weightedElement<Account>(
        {{1, Account::kNone}, {4, Account::kLinked}, {1, Account::kForeign}});
    if (account == Account::kNone) continue;
    std::vector<std::string> members;
    for (const auto& id : cached_user_ids) {
      if (*rc::gen::arbitrary<bool>()) members.push_back(id);
    }
    std::string id = "group_" + std::to_string(i);
    w.CachedGroup(id, "Group " + key, members, account == Account::kLinked ? key : "");
    w.cached.groups.back().source_id = kInstance;
    if (account == Account::kForeign) {
      w.cached.groups.back().external_id = key;
      w.cached.groups.back().source_type = "ding_talk";
      g.foreign_ids.insert(id);
    }
    if (*rc::gen::arbitrary<bool>()) w.cached.scope.group_ids.push_back(id);
  }
  if (*rc::gen::weightedElement<bool>({{1, true}, {8, false}})) {
    g.unkeyed_group = true;
    w.source.rejected.push_back({{"groups.csv", 99}, "", "group", "bad row", EntityType::kGroup});
  }

  w.source.mapped_fields = {UserField::kUsername, UserField::kDisplayName, UserField::kEmail,
                            UserField::kPrimaryOu};
  if (*rc::gen::arbitrary<bool>()) w.source.mapped_fields.push_back(UserField::kEnabled);
  if (*rc::gen::arbitrary<bool>()) w.source.mapped_fields.push_back(UserField::kExtraOus);
  w.policy.on_missing = *rc::gen::element(Policy::OnMissing::kDisable, Policy::OnMissing::kDisable,
                                          Policy::OnMissing::kDelete);
  w.policy.delete_after_ms = 30 * kDay;
  w.policy.max_deletes_count = *rc::gen::element<int64_t>(1, 2, 500);
  w.policy.max_deletes_percent = *rc::gen::element(5.0, 50.0, 100.0);
  w.policy.max_invalid_percent = 100;  // the trust guard is tested on its own
  w.policy.min_source_percent = *rc::gen::element(0.0, 50.0);
  w.policy.allow_deletes = *rc::gen::element<int64_t>(-1, -1, 0, 2);
  // Protected accounts: by current username, by id, by source key.
  for (const auto& u : w.users) {
    if (*rc::gen::weightedElement<bool>({{1, true}, {4, false}})) {
      w.policy.protected_users.push_back(
          *rc::gen::element(u.username, u.id, u.external_id, LowerAscii(u.username)));
    }
  }
  return g;
}

Presence PresenceOf(const std::map<std::string, Presence>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? Presence::kAbsent : it->second;
}

bool Destructive(const Operation& op) {
  switch (op.kind) {
    case OpKind::kUserDisable:
    case OpKind::kUserDelete:
    case OpKind::kGroupDelete:
    case OpKind::kOuDelete:
    case OpKind::kGroupRemoveMembers:
    case OpKind::kUserRemoveOus:
      return true;
    case OpKind::kUserMarkMissing:
      return !op.changes.empty() && op.changes[0].new_value != "0";
    default:
      return false;
  }
}

const DesiredUser* SourceUser(const World& w, const std::string& key) {
  for (const DesiredUser& u : w.source.users) {
    if (u.key == key) return &u;
  }
  return nullptr;
}
const DesiredGroup* SourceGroup(const World& w, const std::string& key) {
  for (const auto& g : w.source.groups) {
    if (g.key == key) return &g;
  }
  return nullptr;
}
bool Mapped(const World& w, UserField f) {
  return std::count(w.source.mapped_fields.begin(), w.source.mapped_fields.end(), f) > 0;
}

// The source key an account id is linked to, or "".
std::string LinkedKey(const World& w, EntityType type, const std::string& id) {
  for (const auto& l : w.cached.links) {
    if (l.type == type && l.idaas_id == id) return l.source_key;
  }
  return "";
}

std::string Summary(const Generated& g, const Plan& p) {
  std::string s = "users:";
  for (const auto& [k, pr] : g.user_presence) s += " " + k + "=" + std::to_string(int(pr));
  s += g.unkeyed_user ? " +unkeyed" : "";
  s += "\noperations:";
  for (const auto& op : p.operations) s += "\n  " + op.id + " " + op.target.id + " " + op.reason;
  s += "\nguards:";
  for (const auto& v : p.guards) {
    s += "\n  " + v.name + (v.tripped ? " TRIPPED " : " ok ") + std::to_string(v.value) + "/" +
         std::to_string(v.limit);
  }
  return s;
}

// 1. Presence is sticky: a person whose record is in the source — valid or
// rejected — loses nothing because of this read. A valid record may still
// say so itself: disabled in the source, or not in a group's or its own OU
// list. A record rejected without a key may be anyone's: then nothing of
// its entity type is taken away.
RC_GTEST_PROP(PlanProperties, PresenceIsSticky, ()) {
  Generated g = GenWorld();
  const World& w = g.w;
  Plan p = g.w.Compute();
  RC_LOG() << Summary(g, p);
  for (const auto& op : p.operations) {
    if (!Destructive(op)) continue;
    if (op.kind == OpKind::kGroupRemoveMembers) {
      RC_ASSERT(!g.unkeyed_user);
      const DesiredGroup* group = SourceGroup(w, op.target.key);
      RC_ASSERT(group);  // only a group the source names loses members
      for (const auto& ref : op.refs) {
        const std::string& key = ref.key;
        RC_ASSERT(PresenceOf(g.user_presence, key) != Presence::kRejected);
        RC_ASSERT(std::count(group->member_keys.begin(), group->member_keys.end(), key) == 0);
      }
      continue;
    }
    switch (op.entity) {
      case EntityType::kUser: {
        RC_ASSERT(!g.unkeyed_user);
        const std::string& key = op.target.key;
        const Presence presence = PresenceOf(g.user_presence, key);
        RC_ASSERT(presence != Presence::kRejected);
        if (presence == Presence::kAbsent) break;
        const DesiredUser* u = SourceUser(w, key);
        RC_ASSERT(u);
        if (op.kind == OpKind::kUserDisable) {
          RC_ASSERT(Mapped(w, UserField::kEnabled) && !u->enabled);
        } else if (op.kind == OpKind::kUserRemoveOus) {
          RC_ASSERT(!g.unkeyed_ou);
          for (const auto& ref : op.refs) {
            const std::string ou_key = LinkedKey(w, EntityType::kOu, ref.id);
            RC_ASSERT(ou_key != u->primary_ou_key);
            RC_ASSERT(std::count(u->extra_ou_keys.begin(), u->extra_ou_keys.end(), ou_key) == 0);
          }
        } else {
          RC_FAIL("a present record's account is deleted or put on a delete timer: " + op.id);
        }
        break;
      }
      case EntityType::kGroup:
        RC_ASSERT(!g.unkeyed_group);
        RC_ASSERT(PresenceOf(g.group_presence, op.target.key) == Presence::kAbsent);
        break;
      case EntityType::kOu:
        RC_ASSERT(!g.unkeyed_ou);
        RC_ASSERT(PresenceOf(g.ou_presence, op.target.key) == Presence::kAbsent);
        break;
    }
  }
}

// 2. Every destructive change is counted: what the plan keeps of each kind
// stays within max_deletes (or the --allow-deletes override), measured here
// from the cached state, not from the planner's own counts.
RC_GTEST_PROP(PlanProperties, DestructiveChangesStayWithinMaxDeletes, ()) {
  Generated g = GenWorld();
  const World& w = g.w;
  Plan p = g.w.Compute();
  RC_LOG() << Summary(g, p);
  auto limit = [&](int64_t managed) {
    int64_t by_percent = std::max<int64_t>(
        1, static_cast<int64_t>(std::floor(w.policy.max_deletes_percent * managed / 100.0)));
    return std::min(w.policy.max_deletes_count, by_percent);
  };
  auto allowed = [&](int64_t count, int64_t bound) {
    return count <= bound || w.policy.allow_deletes >= count;
  };
  std::map<EntityType, int64_t> managed, losses;
  for (const auto& l : w.cached.links) ++managed[l.type];
  // A person who leaves is disabled and removed from their groups: one loss,
  // counted by max_deletes.user; their removals go or stay with the disable.
  auto is_loss = [](const Operation& op) {
    return op.entity == EntityType::kUser &&
           (op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete ||
            (op.kind == OpKind::kUserMarkMissing && Destructive(op)));
  };
  std::set<std::string> leaving, held;
  for (const auto& op : p.operations) {
    if (is_loss(op)) leaving.insert(op.target.key);
  }
  for (const auto& s : p.skipped) {
    if (!s.guard.empty() && is_loss(s.op)) held.insert(s.op.target.key);
  }
  std::map<std::string, int64_t> removed;  // per group id
  for (const auto& op : p.operations) {
    if (op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete ||
        op.kind == OpKind::kGroupDelete || op.kind == OpKind::kOuDelete) {
      ++losses[op.entity];
    }
    if (op.kind == OpKind::kUserRemoveOus) RC_ASSERT(held.count(op.target.key) == 0u);
    if (op.kind == OpKind::kGroupRemoveMembers) {
      for (const auto& r : op.refs) {
        RC_ASSERT(held.count(r.key) == 0u);
        if (!leaving.count(r.key)) ++removed[op.target.id];
      }
    }
  }
  for (EntityType t : {EntityType::kUser, EntityType::kOu, EntityType::kGroup}) {
    RC_ASSERT(allowed(losses[t], limit(managed[t])));
  }
  for (const auto& [id, count] : removed) {
    int64_t managed_members = 0;
    for (const auto& cg : w.cached.groups) {
      if (cg.id != id) continue;
      for (const auto& member : cg.member_ids) {
        if (!LinkedKey(w, EntityType::kUser, member).empty()) ++managed_members;
      }
    }
    RC_ASSERT(allowed(count, limit(managed_members)));
  }
  // A tripped guard withheld at least what it counted, and names itself on
  // each withheld operation.
  for (const auto& s : p.skipped) {
    if (s.guard.empty()) continue;
    auto v = std::find_if(p.guards.begin(), p.guards.end(),
                          [&](const GuardVerdict& x) { return x.name == s.guard; });
    RC_ASSERT(v != p.guards.end());
    RC_ASSERT(v->tripped);
  }
}

// 3. Protected means the account: whatever the source now calls it, an
// account named in protected_users (by current username, id or key) is never
// disabled, deleted, timed for deletion, renamed, moved, removed from an OU
// or group, or adopted.
RC_GTEST_PROP(PlanProperties, ProtectedAccountsAreUntouched, ()) {
  Generated g = GenWorld();
  const World& w = g.w;
  Plan p = g.w.Compute();
  RC_LOG() << Summary(g, p);
  std::set<std::string> ids;
  for (const auto& entry : w.policy.protected_users) {
    for (const auto& u : w.users) {
      if (LowerAscii(u.username) == LowerAscii(entry) || u.id == entry ||
          LinkedKey(w, EntityType::kUser, u.id) == entry) {
        ids.insert(u.id);
      }
    }
  }
  for (const auto& op : p.operations) {
    if (op.kind == OpKind::kGroupRemoveMembers) {
      for (const auto& r : op.refs) RC_ASSERT(ids.count(r.id) == 0u);
      continue;
    }
    if (op.entity != EntityType::kUser || !ids.count(op.target.id)) continue;
    bool renames = std::any_of(op.changes.begin(), op.changes.end(),
                               [](const FieldChange& c) { return c.field == "username"; });
    RC_ASSERT(!Destructive(op));
    RC_ASSERT(op.kind != OpKind::kAdopt);
    RC_ASSERT(op.kind != OpKind::kUserSetPrimaryOu);
    RC_ASSERT(!(op.kind == OpKind::kUserPatch && renames));
  }
}

// 4. Adoption only of our own kind: no operation writes, adopts or links an
// object of another source, whatever external id it carries.
RC_GTEST_PROP(PlanProperties, ForeignObjectsAreNeverWritten, ()) {
  Generated g = GenWorld();
  Plan p = g.w.Compute();
  RC_LOG() << Summary(g, p);
  for (const auto& op : p.operations) {
    RC_ASSERT(g.foreign_ids.count(op.target.id) == 0u);
    for (const auto& r : op.refs) RC_ASSERT(g.foreign_ids.count(r.id) == 0u);
  }
}

// 6. Operation ids are unique; no write takes a username, e-mail or phone
// number that another account holds when the plan starts (a rename waiting
// for a value given up in the same run goes in the next cycle, a swap is a
// conflict); the same input gives the same plan.
RC_GTEST_PROP(PlanProperties, IdsUniqueNoCollidingWritesDeterministic, ()) {
  Generated g = GenWorld();
  const World& w = g.w;
  Plan p = g.w.Compute();
  RC_LOG() << Summary(g, p);
  std::set<std::string> seen;
  for (const auto& op : p.operations) RC_ASSERT(seen.insert(op.id).second);
  for (const auto& op : p.operations) {
    if (op.kind != OpKind::kUserPatch && op.kind != OpKind::kUserCreate) continue;
    for (const auto& c : op.changes) {
      if (c.field != "username" && c.field != "email") continue;
      for (const auto& u : w.users) {
        if (u.id == op.target.id) continue;
        const std::string& held = c.field == "username" ? u.username : u.email;
        RC_ASSERT(LowerAscii(held) != LowerAscii(c.new_value));
      }
    }
  }
  Plan again = g.w.Compute();
  RC_ASSERT(again.operations == p.operations);
  RC_ASSERT(again.skipped == p.skipped);
  RC_ASSERT(again.conflicts == p.conflicts);
  RC_ASSERT(again.guards == p.guards);
}

// 6. Memberships move toward the source and no further. An added member is
// one the group's record names and the group lacks; a removed member is one
// the group has, that idsync manages, whose key the record does not name
// and whose own record was not rejected. Every such member is removed (or
// its removal withheld, and said so), each at most once, in id order.
RC_GTEST_PROP(PlanProperties, MembershipsMoveTowardTheSourceAndNoFurther, ()) {
  Generated g = GenWorld();
  const World& w = g.w;
  Plan p = g.w.Compute();
  RC_LOG() << Summary(g, p);
  auto cached_group = [&](const std::string& id) -> const IdaasGroup* {
    for (const auto& cg : w.cached.groups) {
      if (cg.id == id) return &cg;
    }
    return nullptr;
  };
  std::vector<const Operation*> ops;
  for (const auto& op : p.operations) ops.push_back(&op);
  for (const auto& s : p.skipped) ops.push_back(&s.op);
  std::set<std::pair<std::string, std::string>> added, removed;  // (group key, member)
  for (const Operation* op : ops) {
    if (op->kind != OpKind::kGroupAddMembers && op->kind != OpKind::kGroupRemoveMembers) continue;
    const DesiredGroup* group = SourceGroup(w, op->target.key);
    RC_ASSERT(group);
    const IdaasGroup* current = op->target.id.empty() ? nullptr : cached_group(op->target.id);
    auto is_member = [&](const std::string& id) {
      return current != nullptr &&
             std::count(current->member_ids.begin(), current->member_ids.end(), id) > 0;
    };
    auto named = [&](const std::string& key) {
      return std::count(group->member_keys.begin(), group->member_keys.end(), key) > 0;
    };
    for (size_t i = 0; i < op->refs.size(); ++i) {
      const ObjectRef& ref = op->refs[i];
      if (op->kind == OpKind::kGroupAddMembers) {
        RC_ASSERT(named(ref.key));
        RC_ASSERT(ref.id.empty() || !is_member(ref.id));
        RC_ASSERT(added.insert({group->key, ref.key}).second);
      } else {
        RC_ASSERT(is_member(ref.id));
        RC_ASSERT(LinkedKey(w, EntityType::kUser, ref.id) == ref.key);
        RC_ASSERT(!named(ref.key));
        RC_ASSERT(PresenceOf(g.user_presence, ref.key) != Presence::kRejected);
        RC_ASSERT(removed.insert({group->key, ref.id}).second);
        if (i > 0) RC_ASSERT(op->refs[i - 1].id < ref.id);
      }
    }
  }
  // Completeness of removals, for each group whose record and linked group
  // both exist (and may be written: in scope, or made by idsync).
  if (g.unkeyed_user) return;
  for (const auto& group : w.source.groups) {
    std::string id;
    for (const auto& l : w.cached.links) {
      if (l.type == EntityType::kGroup && l.source_key == group.key) id = l.idaas_id;
    }
    const IdaasGroup* current = id.empty() ? nullptr : cached_group(id);
    if (current == nullptr) continue;
    for (const auto& member : current->member_ids) {
      const std::string key = LinkedKey(w, EntityType::kUser, member);
      if (key.empty() || PresenceOf(g.user_presence, key) == Presence::kRejected) continue;
      if (std::count(group.member_keys.begin(), group.member_keys.end(), key) > 0) continue;
      RC_ASSERT(removed.count({group.key, member}) == 1);
    }
  }
}

}  // namespace
}  // namespace idsync::sync
