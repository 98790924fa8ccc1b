#include "guards.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <tuple>

namespace idsync::sync {
namespace {

std::string FormatPercent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", p);
  return buf;
}

bool IsRemoval(const Operation& op) {
  return op.kind == OpKind::kGroupRemoveMembers || op.kind == OpKind::kUserRemoveOus;
}

// Disables and deletes: the objects an entity type loses.
bool IsLoss(const Operation& op) {
  return op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete ||
         op.kind == OpKind::kGroupDelete || op.kind == OpKind::kOuDelete;
}

// The bound max_deletes sets over `managed` objects: the smaller of the
// count and the percentage, and at least 1 so that a small directory can
// still lose one.
int64_t Bound(int64_t count, double percent, int64_t managed) {
  int64_t by_percent =
      std::max<int64_t>(1, static_cast<int64_t>(std::floor(percent * managed / 100.0)));
  return std::min(count, by_percent);
}
int64_t DeleteLimit(const Policy& p, int64_t managed) {
  return Bound(p.max_deletes_count, p.max_deletes_percent, managed);
}

// Splits the refs `which` selects out of a membership chunk: the part
// returned (its id suffixed, so that it stays unique) is withheld, `op`
// keeps the rest.
template <class Pred>
std::optional<Operation> SplitOffRefs(Operation* op, const std::string& suffix, Pred which) {
  Operation held = *op;
  held.refs.clear();
  std::vector<ObjectRef> rest;
  for (auto& r : op->refs) (which(r) ? held.refs : rest).push_back(std::move(r));
  op->refs = std::move(rest);
  if (held.refs.empty()) return std::nullopt;
  held.id += suffix;
  return held;
}

int64_t Removals(const Operation& op) { return static_cast<int64_t>(op.refs.size()); }

}  // namespace

bool IsDestructive(const Operation& op) {
  switch (op.kind) {
    case OpKind::kUserDisable:
    case OpKind::kUserDelete:
    case OpKind::kGroupDelete:
    case OpKind::kOuDelete:
    case OpKind::kGroupRemoveMembers:
    case OpKind::kUserRemoveOus:
      return true;
    case OpKind::kUserMarkMissing:
      // Starting a delete timer is as destructive as the delete it leads to.
      return !op.changes.empty() && op.changes[0].new_value != "0";
    default:
      return false;
  }
}

template <class Pred>
void Guards::Block(const std::string& guard, std::vector<Operation>* ops, Pred which) {
  std::vector<Operation> keep;
  keep.reserve(ops->size());
  for (auto& op : *ops) {
    if (which(op)) {
      Withhold(std::move(op), guard);
    } else {
      keep.push_back(std::move(op));
    }
  }
  *ops = std::move(keep);
}

void Guards::Withhold(Operation op, const std::string& guard) {
  plan_->skipped.push_back(Skipped{std::move(op), "blocked by guard " + guard, guard});
}

void Guards::CheckDraft(std::vector<Operation>* ops) {
  CheckSourceTrust(*ops);
  // A distrusted source is the root cause: its guard withholds first.
  ApplySourceTrust(ops);
  CheckUnkeyedRejects(ops, false);
  CheckMaxDeletes(EntityType::kUser, ops);
  CheckMaxDeletes(EntityType::kGroup, ops);
  TieRemovalsToLosses(ops);
  CheckMemberships(ops);
  CheckProtected(ops);
}

void Guards::CheckOuDeletes(std::vector<Operation>* ops) {
  CheckUnkeyedRejects(ops, true);
  CheckMaxDeletes(EntityType::kOu, ops);
  ApplySourceTrust(ops);
  CheckMoves(ops);
  CheckQuota(ops);
}

// The source itself looks wrong: too many rejected records (corrupt), or
// empty or near-empty (truncated).
void Guards::CheckSourceTrust(const std::vector<Operation>& ops) {
  GuardVerdict invalid{"invalid_records", false, 0, 0, ""};
  // records_read counts user records; OU and group problems are reported in
  // `rejected` too but are not rejected users.
  int64_t read = source_.records_read;
  int64_t bad = std::count_if(source_.rejected.begin(), source_.rejected.end(),
                              [](const Diagnostic& d) { return d.entity == EntityType::kUser; });
  invalid.value = bad;
  invalid.limit = static_cast<int64_t>(std::floor(policy_.max_invalid_percent * read / 100.0));
  if (read > 0 && bad * 100.0 > policy_.max_invalid_percent * read) {
    invalid.tripped = true;
    invalid.message = std::to_string(bad) + " of " + std::to_string(read) +
                      " source records were rejected, above max_invalid_percent " +
                      FormatPercent(policy_.max_invalid_percent) +
                      ": the source looks corrupt, so nothing is written";
    distrust_all_ = true;
  } else {
    invalid.message = std::to_string(bad) + " of " + std::to_string(read) + " records rejected";
  }
  plan_->guards.push_back(invalid);

  const int64_t source_users = static_cast<int64_t>(source_.users.size());
  const int64_t managed = facts_.managed_users;
  GuardVerdict empty{"empty_source", false, source_users, 0, ""};
  if (source_.users.empty() && managed > 0) {
    if (policy_.allow_empty_source) {
      empty.message = "the source is empty; allowed by empty_source: allow";
    } else {
      empty.tripped = true;
      empty.message = "the source has no users but idsync manages " + std::to_string(managed) +
                      "; nothing is disabled or deleted (set policy.empty_source: allow "
                      "if this is intended)";
      distrust_destructive_ = true;
    }
  } else {
    empty.message = "the source has " + std::to_string(source_users) + " users";
  }
  plan_->guards.push_back(empty);

  GuardVerdict near{"near_empty_source", false, source_users, 0, ""};
  near.limit = static_cast<int64_t>(std::ceil(policy_.min_source_percent * managed / 100.0));
  if (!source_.users.empty() && managed > 0 &&
      source_users * 100.0 < policy_.min_source_percent * managed) {
    int64_t destructive = std::count_if(ops.begin(), ops.end(), [](const Operation& op) {
      return op.entity == EntityType::kUser && IsLoss(op);
    });
    if (policy_.allow_deletes >= 0 && destructive <= policy_.allow_deletes) {
      near.message = "the source shrank below min_source_percent; allowed by --allow-deletes " +
                     std::to_string(policy_.allow_deletes);
    } else {
      near.tripped = true;
      near.message = "the source has " + std::to_string(source_users) +
                     " users, fewer than min_source_percent " +
                     FormatPercent(policy_.min_source_percent) + " of the " +
                     std::to_string(managed) +
                     " managed; it looks truncated, so nothing is disabled, deleted or removed "
                     "from a group or OU (override with --allow-deletes N)";
      distrust_destructive_ = true;
    }
  } else {
    near.message = "ok";
  }
  plan_->guards.push_back(near);
}

void Guards::ApplySourceTrust(std::vector<Operation>* ops) {
  if (distrust_all_) {
    Block("invalid_records", ops, [](const Operation&) { return true; });
  } else if (distrust_destructive_) {
    std::string guard = source_.users.empty() ? "empty_source" : "near_empty_source";
    Block(guard, ops, [](const Operation& op) { return IsDestructive(op); });
  }
}

// A record rejected before its key could be read may be anyone's: while one
// exists, nothing of its entity type is taken away from anyone.
void Guards::CheckUnkeyedRejects(std::vector<Operation>* ops, bool ou_deletes) {
  const std::string name = "rejected_without_key";
  if (!ou_deletes) {
    for (const auto& d : source_.rejected) {
      if (!d.key.empty()) continue;
      unkeyed_[static_cast<int>(d.entity)] = true;
      if (unkeyed_count_++ == 0) unkeyed_first_ = d.origin.ToString() + ": " + d.reason;
    }
    GuardVerdict v{name, false, unkeyed_count_, 0, ""};
    v.message = unkeyed_count_ == 0
                    ? "every rejected record's key is known"
                    : std::to_string(unkeyed_count_) +
                          " rejected record(s) whose key could not be read; nothing destructive "
                          "was planned for their kind (first: " + unkeyed_first_ + ")";
    unkeyed_verdict_ = plan_->guards.size();
    plan_->guards.push_back(v);
  }
  const bool users = unkeyed_[static_cast<int>(EntityType::kUser)];
  const bool ous = unkeyed_[static_cast<int>(EntityType::kOu)];
  const bool groups = unkeyed_[static_cast<int>(EntityType::kGroup)];
  if (!users && !ous && !groups) return;
  auto which = [&](const Operation& op) {
    if (!IsDestructive(op)) return false;
    switch (op.kind) {
      case OpKind::kOuDelete: return ous;
      case OpKind::kGroupDelete: return groups;
      case OpKind::kUserRemoveOus: return users || ous;
      case OpKind::kGroupRemoveMembers: return users;
      default: return op.entity == EntityType::kUser && users;
    }
  };
  const size_t before = plan_->skipped.size();
  Block(name, ops, which);
  if (plan_->skipped.size() == before) return;
  GuardVerdict& v = plan_->guards[unkeyed_verdict_];
  v.tripped = true;
  v.message = std::to_string(unkeyed_count_) +
              " rejected record(s) whose key could not be read: any of them may be a person "
              "or object idsync manages, so nothing of their kind is disabled, deleted or "
              "removed from a group or OU until they are fixed (first: " + unkeyed_first_ + ")";
}

void Guards::CheckMaxDeletes(EntityType type, std::vector<Operation>* ops) {
  int64_t managed = type == EntityType::kUser  ? facts_.managed_users
                    : type == EntityType::kOu  ? facts_.managed_ous
                                               : facts_.managed_groups;
  int64_t count = std::count_if(ops->begin(), ops->end(), [type](const Operation& op) {
    return op.entity == type && IsLoss(op);
  });
  int64_t limit = DeleteLimit(policy_, managed);
  GuardVerdict v{std::string("max_deletes.") + EntityTypeName(type), false, count, limit, ""};
  if (count <= limit) {
    v.message = std::to_string(count) + " of at most " + std::to_string(limit);
  } else if (policy_.allow_deletes >= count) {
    v.message = std::to_string(count) + " deletes/disables exceed the limit of " +
                std::to_string(limit) + "; allowed by --allow-deletes " +
                std::to_string(policy_.allow_deletes);
  } else {
    v.tripped = true;
    v.message = std::to_string(count) + " " + EntityTypeName(type) +
                " deletes/disables exceed max_deletes (" +
                std::to_string(policy_.max_deletes_count) + " or " +
                FormatPercent(policy_.max_deletes_percent) + " of " + std::to_string(managed) +
                " managed = " + std::to_string(limit) +
                "); none is done. Check the source, then rerun with --allow-deletes " +
                std::to_string(count) + " or raise policy.max_deletes";
    Block(v.name, ops, [type](const Operation& op) {
      return op.entity == type &&
             (IsLoss(op) || (op.kind == OpKind::kUserMarkMissing && IsDestructive(op)));
    });
  }
  plan_->guards.push_back(v);
}

// A person leaving the source is disabled (or deleted) and removed from
// their groups and OUs: one loss, counted once, by max_deletes.user. So the
// removals follow the fate of the disable: withheld with it by whichever
// guard withheld it, and left out of the membership count when it goes
// ahead.
void Guards::TieRemovalsToLosses(std::vector<Operation>* ops) {
  leaving_.clear();
  std::map<std::string, std::string> held;  // user key -> the guard that withheld its loss
  auto loss = [](const Operation& op) {
    return op.entity == EntityType::kUser &&
           (op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete ||
            (op.kind == OpKind::kUserMarkMissing && IsDestructive(op)));
  };
  for (const auto& op : *ops) {
    if (loss(op)) leaving_.insert(op.target.key);
  }
  for (const auto& s : plan_->skipped) {
    if (!s.guard.empty() && loss(s.op)) held.emplace(s.op.target.key, s.guard);
  }
  if (held.empty()) return;
  std::vector<Operation> keep;
  keep.reserve(ops->size());
  for (auto& op : *ops) {
    if (op.kind == OpKind::kUserRemoveOus && held.count(op.target.key)) {
      Withhold(std::move(op), held[op.target.key]);
      continue;
    }
    if (op.kind == OpKind::kGroupRemoveMembers) {
      std::map<std::string, Operation> by_guard;
      std::vector<ObjectRef> rest;
      for (auto& r : op.refs) {
        auto h = held.find(r.key);
        if (h == held.end()) {
          rest.push_back(std::move(r));
          continue;
        }
        auto [it, fresh] = by_guard.try_emplace(h->second, op);
        if (fresh) it->second.refs.clear();
        it->second.refs.push_back(std::move(r));
      }
      for (auto& [guard, part] : by_guard) {
        part.id += ":held:" + guard;
        Withhold(std::move(part), guard);
      }
      op.refs = std::move(rest);
      if (op.refs.empty()) continue;
    }
    keep.push_back(std::move(op));
  }
  *ops = std::move(keep);
}

// Removals from groups and secondary OUs take access away as surely as a
// disable: bounded over all managed memberships, and per group over its
// managed members (a group that reads as empty loses them all).
void Guards::CheckMemberships(std::vector<Operation>* ops) {
  int64_t total = 0;
  std::map<std::string, int64_t> per_group;
  // Removals of people who leave in this run are counted with their loss.
  auto counted = [&](const Operation& op) {
    if (op.kind == OpKind::kUserRemoveOus) return leaving_.count(op.target.key) ? 0 : Removals(op);
    return static_cast<int64_t>(std::count_if(op.refs.begin(), op.refs.end(), [&](const ObjectRef& r) {
      return !leaving_.count(r.key);
    }));
  };
  for (const auto& op : *ops) {
    if (!IsRemoval(op)) continue;
    total += counted(op);
    if (op.kind == OpKind::kGroupRemoveMembers) per_group[op.target.key] += counted(op);
  }
  const int64_t limit = DeleteLimit(policy_, facts_.managed_memberships);
  GuardVerdict all{"max_deletes.membership", false, total, limit, ""};
  if (total <= limit) {
    all.message = std::to_string(total) + " of at most " + std::to_string(limit);
  } else if (policy_.allow_deletes >= total) {
    all.message = std::to_string(total) + " membership removals exceed the limit of " +
                  std::to_string(limit) + "; allowed by --allow-deletes " +
                  std::to_string(policy_.allow_deletes);
  } else {
    all.tripped = true;
    all.message = std::to_string(total) +
                  " removals from groups and OUs exceed max_deletes (" +
                  std::to_string(policy_.max_deletes_count) + " or " +
                  FormatPercent(policy_.max_deletes_percent) + " of " +
                  std::to_string(facts_.managed_memberships) +
                  " managed memberships = " + std::to_string(limit) +
                  "); none is done. Check the source, then rerun with --allow-deletes " +
                  std::to_string(total) + " or raise policy.max_deletes";
    Block(all.name, ops, [&](const Operation& op) { return IsRemoval(op) && counted(op) > 0; });
  }
  plan_->guards.push_back(all);

  GuardVerdict each{"max_deletes.group_members", false, 0, 0, ""};
  std::set<std::string> over;
  std::string worst;
  for (const auto& [key, removals] : per_group) {
    auto m = facts_.group_managed_members.find(key);
    int64_t managed = m == facts_.group_managed_members.end() ? 0 : m->second;
    int64_t group_limit = DeleteLimit(policy_, managed);
    if (removals <= group_limit || policy_.allow_deletes >= removals) continue;
    over.insert(key);
    if (removals > each.value) {
      each.value = removals;
      each.limit = group_limit;
      worst = "group '" + key + "' would lose " + std::to_string(removals) + " of its " +
              std::to_string(managed) + " managed members (limit " +
              std::to_string(group_limit) + ")";
    }
  }
  if (over.empty()) {
    each.message = "no group loses more than max_deletes of its managed members";
  } else {
    each.tripped = true;
    each.message = std::to_string(over.size()) +
                   " group(s) would lose more than max_deletes of their managed members; "
                   "their removals are withheld. Largest: " +
                   worst + ". Check the source (a group read as empty?), then rerun with "
                   "--allow-deletes N";
    Block(each.name, ops, [&](const Operation& op) {
      return op.kind == OpKind::kGroupRemoveMembers && over.count(op.target.key) &&
             counted(op) > 0;
    });
  }
  plan_->guards.push_back(each);
}

// Protected means the account, whatever the source now calls it: no
// disable, delete, delete timer, rename, move, OU or group removal, and no
// adoption.
void Guards::CheckProtected(std::vector<Operation>* ops) {
  const auto& ids = facts_.protected_ids;
  GuardVerdict v{"protected_users", false, 0,
                 static_cast<int64_t>(policy_.protected_users.size()), ""};
  auto is_protected = [&](const std::string& id) { return !id.empty() && ids.count(id); };
  auto renames = [](const Operation& op) {
    return std::any_of(op.changes.begin(), op.changes.end(),
                       [](const FieldChange& c) { return c.field == "username"; });
  };
  std::set<std::string> unadopted;  // protected accounts whose adoption is withheld
  for (const auto& op : *ops) {
    if (op.kind == OpKind::kAdopt && op.entity == EntityType::kUser &&
        is_protected(op.target.id)) {
      unadopted.insert(op.target.id);
    }
  }
  auto withheld = [&](const Operation& op) {
    if (op.entity != EntityType::kUser || !is_protected(op.target.id)) return false;
    if (unadopted.count(op.target.id)) return true;
    switch (op.kind) {
      case OpKind::kUserDisable:
      case OpKind::kUserDelete:
      case OpKind::kUserSetPrimaryOu:
      case OpKind::kUserRemoveOus:
        return true;
      case OpKind::kUserMarkMissing:
        return IsDestructive(op);
      case OpKind::kUserPatch:
        return renames(op);
      default:
        return false;
    }
  };
  std::vector<Operation> keep;
  keep.reserve(ops->size());
  for (auto& op : *ops) {
    if (withheld(op)) {
      ++v.value;
      Withhold(std::move(op), v.name);
      continue;
    }
    if (op.kind == OpKind::kGroupRemoveMembers) {
      // Split the protected members out of the chunk; the rest go ahead.
      auto held = SplitOffRefs(&op, ":protected",
                               [&](const ObjectRef& r) { return is_protected(r.id); });
      if (held) {
        v.value += static_cast<int64_t>(held->refs.size());
        Withhold(std::move(*held), v.name);
      }
      if (op.refs.empty()) continue;
    }
    keep.push_back(std::move(op));
  }
  *ops = std::move(keep);
  if (v.value > 0) {
    v.tripped = true;
    v.message = std::to_string(v.value) +
                " change(s) that would disable, delete, rename, move, adopt or remove from a "
                "group or OU a protected account were withheld";
  } else {
    v.message = "no protected account affected";
  }
  plan_->guards.push_back(v);
}

// Moving a department moves everyone in it and under it: a reorganisation
// larger than max_moves is for a person to confirm. The moves kept are the
// first in plan order (rounds, then keys), so that a kept move never waits
// for a withheld one (plan_moves.cpp).
void Guards::CheckMoves(std::vector<Operation>* ops) {
  std::vector<const Operation*> moves;
  for (const auto& op : *ops) {
    if (op.kind == OpKind::kOuMove) moves.push_back(&op);
  }
  const int64_t count = static_cast<int64_t>(moves.size());
  const int64_t limit = Bound(policy_.max_moves_count, policy_.max_moves_percent,
                              facts_.managed_ous);
  GuardVerdict v{"max_moves", false, count, limit, ""};
  if (count <= limit) {
    v.message = std::to_string(count) + " of at most " + std::to_string(limit);
    plan_->guards.push_back(v);
    return;
  }
  std::sort(moves.begin(), moves.end(), [](const Operation* a, const Operation* b) {
    return std::tie(a->wave, a->target.key) < std::tie(b->wave, b->target.key);
  });
  std::set<std::string> over;  // op ids beyond the limit
  for (size_t i = static_cast<size_t>(limit); i < moves.size(); ++i) over.insert(moves[i]->id);
  v.tripped = true;
  v.message = std::to_string(count) + " department moves exceed max_moves (" +
              std::to_string(policy_.max_moves_count) + " or " +
              FormatPercent(policy_.max_moves_percent) + " of " +
              std::to_string(facts_.managed_ous) + " managed OUs = " + std::to_string(limit) +
              "); the first " + std::to_string(limit) + " go ahead, " +
              std::to_string(count - limit) + " wait. Check the source, then raise "
              "policy.max_moves, or let the next cycles move the rest";
  Block(v.name, ops, [&](const Operation& op) {
    return op.kind == OpKind::kOuMove && over.count(op.id) > 0;
  });
  plan_->guards.push_back(v);
}

// The application may hold only so many accounts: creates beyond what is
// left would fail halfway through the phase. The creates kept are the first
// by source key; a withheld create takes with it everything that needs the
// new account (its secondary OUs, its group memberships).
void Guards::CheckQuota(std::vector<Operation>* ops) {
  std::vector<std::string> creates;
  for (const auto& op : *ops) {
    if (op.kind == OpKind::kUserCreate) creates.push_back(op.target.key);
  }
  const int64_t count = static_cast<int64_t>(creates.size());
  GuardVerdict v{"quota", false, count, 0, ""};
  // A maximum of 0 is no maximum the service reported, not a full tenant.
  if (!policy_.account_quota || policy_.account_quota->max <= 0) {
    v.message = policy_.account_quota ? "the admin API reports no maximum account quota"
                                      : "account quota unknown (no admin credentials)";
    plan_->guards.push_back(v);
    return;
  }
  const auto& q = *policy_.account_quota;
  v.limit = std::max<int64_t>(0, q.max - q.used);
  if (count <= v.limit) {
    v.message = std::to_string(count) + " account creates, " + std::to_string(v.limit) +
                " left of the quota (" + std::to_string(q.used) + " of " +
                std::to_string(q.max) + " used)";
    plan_->guards.push_back(v);
    return;
  }
  std::sort(creates.begin(), creates.end());
  std::set<std::string> over(creates.begin() + v.limit, creates.end());
  v.tripped = true;
  v.message = std::to_string(count) + " account creates exceed what is left of the account "
              "quota (" + std::to_string(q.used) + " of " + std::to_string(q.max) +
              " used, " + std::to_string(v.limit) + " left); " +
              std::to_string(count - v.limit) + " withheld (from '" + *over.begin() +
              "' on, by source key). Raise the application's quota in IDaaS, or free accounts";
  // An account this plan would create: referred to by key, with no id yet.
  auto uncreated = [&](const ObjectRef& r) { return r.id.empty() && over.count(r.key) > 0; };
  std::vector<Operation> keep;
  keep.reserve(ops->size());
  for (auto& op : *ops) {
    if (op.entity == EntityType::kUser && uncreated(op.target)) {
      Withhold(std::move(op), v.name);
      continue;
    }
    if (op.kind == OpKind::kGroupAddMembers) {
      if (auto held = SplitOffRefs(&op, ":quota", uncreated)) Withhold(std::move(*held), v.name);
      if (op.refs.empty()) continue;
    }
    keep.push_back(std::move(op));
  }
  *ops = std::move(keep);
  plan_->guards.push_back(v);
}

}  // namespace idsync::sync
