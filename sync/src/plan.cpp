#include "idsync/sync/plan.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

namespace idsync::sync {

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kOuCreate: return "ou-create";
    case Phase::kUserCreate: return "user-create";
    case Phase::kUserUpdate: return "user-update";
    case Phase::kUserEnable: return "user-enable";
    case Phase::kGroupUpsert: return "group-upsert";
    case Phase::kMembershipAdd: return "membership-add";
    case Phase::kMembershipRemove: return "membership-remove";
    case Phase::kUserDisable: return "user-disable";
    case Phase::kUserDelete: return "user-delete";
    case Phase::kGroupDelete: return "group-delete";
    case Phase::kOuDelete: return "ou-delete";
  }
  return "unknown";
}

const char* OpKindName(OpKind k) {
  switch (k) {
    case OpKind::kOuCreate: return "ou.create";
    case OpKind::kOuPatch: return "ou.patch";
    case OpKind::kOuDelete: return "ou.delete";
    case OpKind::kUserCreate: return "user.create";
    case OpKind::kUserPatch: return "user.patch";
    case OpKind::kUserSetPrimaryOu: return "user.set_primary_ou";
    case OpKind::kUserAddOus: return "user.add_ous";
    case OpKind::kUserRemoveOus: return "user.remove_ous";
    case OpKind::kUserEnable: return "user.enable";
    case OpKind::kUserDisable: return "user.disable";
    case OpKind::kUserDelete: return "user.delete";
    case OpKind::kAdopt: return "adopt";
    case OpKind::kUserMarkMissing: return "user.mark_missing";
    case OpKind::kGroupCreate: return "group.create";
    case OpKind::kGroupPatch: return "group.patch";
    case OpKind::kGroupDelete: return "group.delete";
    case OpKind::kGroupAddMembers: return "group.members.add";
    case OpKind::kGroupRemoveMembers: return "group.members.remove";
  }
  return "unknown";
}

bool IsApiWrite(OpKind k) {
  return k != OpKind::kAdopt && k != OpKind::kUserMarkMissing;
}

const char* ConflictKindName(Conflict::Kind k) {
  switch (k) {
    case Conflict::Kind::kAmbiguousMatch: return "ambiguous_match";
    case Conflict::Kind::kDuplicateSource: return "duplicate_source";
    case Conflict::Kind::kTakenByUnmanaged: return "taken_by_unmanaged";
    case Conflict::Kind::kTakenByManaged: return "taken_by_managed";
    case Conflict::Kind::kOuReparent: return "ou_reparent";
    case Conflict::Kind::kLinkedElsewhere: return "linked_elsewhere";
  }
  return "unknown";
}

bool Plan::AnyGuardTripped() const {
  return std::any_of(guards.begin(), guards.end(),
                     [](const GuardVerdict& g) { return g.tripped; });
}

int64_t Plan::ApiWrites() const {
  return std::count_if(operations.begin(), operations.end(),
                       [](const Operation& op) { return IsApiWrite(op.kind); });
}

std::map<std::string, int64_t> Plan::CountsByKind() const {
  std::map<std::string, int64_t> out;
  for (const auto& op : operations) ++out[OpKindName(op.kind)];
  return out;
}

namespace {

using Rows = std::vector<size_t>;

// The planner's indexes hold views into its inputs (the snapshot and the
// cached tables), which outlive it: no key is copied. Open addressing keeps a
// million-entry index in one allocation.
template <class V>
using ViewMap = boost::unordered_flat_map<std::string_view, V>;
using ViewSet = boost::unordered_flat_set<std::string_view>;

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Hash and equality under Lower(), so that lookups need no lowered copy.
struct AsciiCaseHash {
  size_t operator()(std::string_view s) const {
    uint64_t h = 14695981039346656037ULL;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<unsigned char>(AsciiLower(c))) * 1099511628211ULL;
    return static_cast<size_t>(h);
  }
};
struct AsciiCaseEqual {
  bool operator()(std::string_view a, std::string_view b) const {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
  }
};

// Cached user rows by the value of one field (rows with an empty value are
// left out). Values are nearly unique, so a value maps to its first row and
// each row links to the next row with the same value, in row order.
template <class Hash = boost::hash<std::string_view>, class Equal = std::equal_to<std::string_view>>
class RowIndex {
 public:
  template <class ValueOf>
  void Build(size_t rows, ValueOf value_of) {
    next_.assign(rows, kNone);
    first_.reserve(rows);
    // Backwards, so that each chain ends up in ascending row order.
    for (size_t r = rows; r-- > 0;) {
      std::string_view v = value_of(r);
      if (v.empty()) continue;
      auto [it, inserted] = first_.try_emplace(v, static_cast<uint32_t>(r));
      if (!inserted) {
        next_[r] = it->second;
        it->second = static_cast<uint32_t>(r);
      }
    }
    built_ = true;
  }
  bool built() const { return built_; }
  // Rows holding `value` in row order; none for "".
  Rows Find(std::string_view value) const {
    Rows out;
    if (value.empty()) return out;
    auto it = first_.find(value);
    if (it == first_.end()) return out;
    for (uint32_t r = it->second; r != kNone; r = next_[r]) out.push_back(r);
    return out;
  }

 private:
  static constexpr uint32_t kNone = 0xffffffff;
  boost::unordered_flat_map<std::string_view, uint32_t, Hash, Equal> first_;
  std::vector<uint32_t> next_;
  bool built_ = false;
};
using CaseRowIndex = RowIndex<AsciiCaseHash, AsciiCaseEqual>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// IDaaS defaults an unset external id to the object's own id, so such an
// account carries no anchor from any source.
bool HasNoAnchor(std::string_view external_id, std::string_view id) {
  return external_id.empty() || external_id == id;
}

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

std::string FormatDays(int64_t ms) {
  int64_t days = ms / (24LL * 3600 * 1000);
  return std::to_string(days) + "d";
}

class Planner {
 public:
  Planner(const SourceSnapshot& source, const CachedState& cached,
          const ProvisioningScope& scope, const Policy& policy, int64_t now_ms)
      : source_(source), cached_(cached), scope_(scope), policy_(policy),
        now_ms_(now_ms) {
    for (UserField f : source.mapped_fields) mapped_.insert(f);
  }

  Plan Run() {
    plan_.invalid = source_.rejected;
    plan_.source_users = static_cast<int64_t>(source_.users.size());
    plan_.source_ous = static_cast<int64_t>(source_.ous.size());
    plan_.source_groups = static_cast<int64_t>(source_.groups.size());
    for (const auto& d : source_.rejected) {
      if (!d.key.empty()) rejected_keys_.insert(d.key);
    }
    desired_index_.reserve(source_.users.size());
    for (size_t i = 0; i < source_.users.size(); ++i) {
      desired_index_[source_.users[i].key] = static_cast<uint32_t>(i);
    }
    ref_row_.assign(source_.users.size(), kNoRef);
    IndexCached();
    ComputeScope();
    PlanOus();
    PlanUsers();
    PlanGroups();
    GuardSourceTrust();
    // A distrusted source is the root cause: its guard withholds first, and
    // again after OU deletes are planned.
    ApplySourceTrustBlocks();
    GuardMaxDeletes(EntityType::kUser);
    GuardMaxDeletes(EntityType::kGroup);
    GuardProtected();
    PlanOuDeletes();
    GuardMaxDeletes(EntityType::kOu);
    ApplySourceTrustBlocks();
    ListUnmanaged();
    for (const auto& ou : cached_.ous) plan_.ou_names[ou.id] = ou.name;
    for (const auto& ou : source_.ous) plan_.ou_names[ou.key] = ou.name;
    Finish();
    return std::move(plan_);
  }

 private:
  // ---- indexes over the cached state ----------------------------------
  void IndexCached() {
    const UserTable& users = cached_.users;
    user_by_id_.reserve(users.size());
    for (size_t i = 0; i < users.size(); ++i) user_by_id_.emplace(users.id(i), i);
    desired_of_row_.assign(users.size(), nullptr);
    live_user_rows_.assign(users.size(), false);
    for (const auto& ou : cached_.ous) {
      ou_by_id_.emplace(ou.id, &ou);
      children_[ou.parent_id].push_back(&ou);
    }
    for (const auto& g : cached_.groups) group_by_id_.emplace(g.id, &g);
    // Views of the links: their strings stay in the state's table.
    links_.reserve(cached_.links.size());
    for (LinkView link : cached_.links) links_.push_back(link);
    user_link_by_key_.reserve(links_.size());
    user_link_by_id_.reserve(links_.size());
    for (const auto& link : links_) {
      switch (link.type) {
        case EntityType::kUser:
          user_link_by_key_[link.source_key] = &link;
          user_link_by_id_[link.idaas_id] = &link;
          ++plan_.managed_users;
          break;
        case EntityType::kOu:
          ou_link_by_key_[link.source_key] = &link;
          ou_link_by_id_[link.idaas_id] = &link;
          ++plan_.managed_ous;
          break;
        case EntityType::kGroup:
          group_link_by_key_[link.source_key] = &link;
          group_link_by_id_[link.idaas_id] = &link;
          ++plan_.managed_groups;
          break;
      }
    }
  }

  // The soft-match and uniqueness indexes, built when first needed: a cycle
  // in which every record is linked and no unique field changes needs none.
  const RowIndex<>& ByExternalId() const {
    if (!user_by_external_.built()) {
      const UserTable& t = cached_.users;
      user_by_external_.Build(t.size(), [&](size_t r) {
        return HasNoAnchor(t.external_id(r), t.id(r)) ? std::string_view() : t.external_id(r);
      });
    }
    return user_by_external_;
  }
  const CaseRowIndex& ByUsername() const {
    if (!user_by_username_.built()) {
      const UserTable& t = cached_.users;
      user_by_username_.Build(t.size(), [&](size_t r) { return t.username(r); });
    }
    return user_by_username_;
  }
  const CaseRowIndex& ByEmail() const {
    if (!user_by_email_.built()) {
      const UserTable& t = cached_.users;
      user_by_email_.Build(t.size(), [&](size_t r) { return t.email(r); });
    }
    return user_by_email_;
  }
  const RowIndex<>& ByPhone() const {
    if (!user_by_phone_.built()) {
      const UserTable& t = cached_.users;
      user_by_phone_.Build(t.size(), [&](size_t r) { return t.phone_number(r); });
    }
    return user_by_phone_;
  }

  void ComputeScope() {
    std::vector<std::string_view> stack(scope_.ou_ids.begin(), scope_.ou_ids.end());
    while (!stack.empty()) {
      std::string_view id = stack.back();
      stack.pop_back();
      if (!ou_in_scope_.insert(id).second) continue;
      auto it = children_.find(id);
      if (it == children_.end()) continue;
      for (const IdaasOu* child : it->second) stack.push_back(child->id);
    }
    scope_groups_.insert(scope_.group_ids.begin(), scope_.group_ids.end());
    root_in_scope_ = ou_in_scope_.contains(policy_.root_ou_id);
  }

  bool OuInScope(std::string_view id) const { return ou_in_scope_.contains(id); }

  // ---- plumbing ---------------------------------------------------------
  void Emit(Operation op) { ops_.push_back(std::move(op)); }

  void Skip(Operation op, std::string reason, std::string guard = "") {
    plan_.skipped.push_back(Skipped{std::move(op), std::move(reason), std::move(guard)});
  }

  void AddConflict(Conflict::Kind kind, EntityType entity, std::string key,
                   std::vector<std::string> ids, std::string message,
                   Origin origin) {
    plan_.conflicts.push_back(Conflict{kind, entity, std::move(key), std::move(ids),
                                       std::move(message), std::move(origin)});
  }

  static Operation MakeOp(OpKind kind, Phase phase, EntityType entity,
                          ObjectRef target, std::string display) {
    Operation op;
    op.kind = kind;
    op.phase = phase;
    op.entity = entity;
    op.target = std::move(target);
    op.display = std::move(display);
    op.id = std::string(OpKindName(kind)) + ":" +
            (op.target.key.empty() ? op.target.id : op.target.key);
    return op;
  }

  // ---- OUs ----------------------------------------------------------------
  void PlanOus() {
    // Users may be placed directly in target.root_ou.
    ou_ref_[kRootOuKey] = ObjectRef{"", policy_.root_ou_id};
    for (const auto& ou : source_.ous) desired_ou_[ou.key] = &ou;
    // Depth of each desired OU; a parent missing from the source or a cycle
    // makes the OU (and its subtree) unavailable.
    std::vector<std::pair<int, const DesiredOu*>> order;
    for (const auto& ou : source_.ous) {
      int depth = 0;
      const DesiredOu* cur = &ou;
      std::set<std::string> seen;
      bool broken = false;
      while (!cur->parent_key.empty()) {
        if (!seen.insert(cur->key).second) {
          broken = true;
          break;
        }
        auto it = desired_ou_.find(cur->parent_key);
        if (it == desired_ou_.end()) {
          broken = true;
          break;
        }
        cur = it->second;
        ++depth;
      }
      if (broken) {
        ou_unavailable_.insert(ou.key);
        Operation op = MakeOp(OpKind::kOuCreate, Phase::kOuCreate, EntityType::kOu,
                              {ou.key, ""}, ou.name);
        op.origin = ou.origin;
        Skip(std::move(op), "parent OU '" + ou.parent_key +
                                "' is not in the source tree, or the tree has a cycle");
        continue;
      }
      order.emplace_back(depth, &ou);
      ou_depth_[ou.key] = depth;
    }
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first, a.second->key) < std::tie(b.first, b.second->key);
    });

    std::set<std::string> claimed;  // cached OU ids taken by a source OU
    for (const auto& [depth, ou] : order) {
      // The parent as IDaaS will have it: root_ou, an existing OU, or one
      // this plan creates.
      ObjectRef parent{"", policy_.root_ou_id};
      if (!ou->parent_key.empty()) {
        if (ou_unavailable_.count(ou->parent_key)) {
          ou_unavailable_.insert(ou->key);
          Operation op = MakeOp(OpKind::kOuCreate, Phase::kOuCreate, EntityType::kOu,
                                {ou->key, ""}, ou->name);
          op.origin = ou->origin;
          Skip(std::move(op), "parent OU '" + ou->parent_key + "' is not available");
          continue;
        }
        parent = ou_ref_.at(ou->parent_key);
      }

      const IdaasOu* existing = nullptr;
      bool adopted = false;
      std::string stale_reason;
      if (auto link = ou_link_by_key_.find(ou->key); link != ou_link_by_key_.end()) {
        auto it = ou_by_id_.find(link->second->idaas_id);
        if (it != ou_by_id_.end()) {
          existing = it->second;
        } else {
          stale_reason = "the linked OU " + std::string(link->second->idaas_id) +
                         " no longer exists in IDaaS";
        }
      }
      if (existing == nullptr) {
        std::vector<const IdaasOu*> candidates;
        for (const auto& c : cached_.ous) {
          if (c.external_id == ou->key && !HasNoAnchor(c.external_id, c.id)) {
            candidates.push_back(&c);
          }
        }
        if (candidates.empty() && !parent.id.empty()) {
          // Adopt a hand-made department with the same name under the same
          // parent, as long as nothing anchors it elsewhere.
          auto it = children_.find(parent.id);
          if (it != children_.end()) {
            for (const IdaasOu* c : it->second) {
              if (c->name == ou->name && HasNoAnchor(c->external_id, c->id) &&
                  !ou_link_by_id_.count(c->id)) {
                candidates.push_back(c);
              }
            }
          }
        }
        if (candidates.size() > 1) {
          std::vector<std::string> ids;
          for (auto* c : candidates) ids.push_back(c->id);
          AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kOu, ou->key, ids,
                      "department '" + ou->name + "' matches " +
                          std::to_string(ids.size()) +
                          " existing OUs; rename or remove the extra ones in IDaaS",
                      ou->origin);
          ou_unavailable_.insert(ou->key);
          continue;
        }
        if (candidates.size() == 1) {
          const IdaasOu* c = candidates[0];
          if (auto l = ou_link_by_id_.find(c->id);
              l != ou_link_by_id_.end() && l->second->source_key != ou->key) {
            AddConflict(Conflict::Kind::kLinkedElsewhere, EntityType::kOu, ou->key,
                        {c->id},
                        "OU " + c->id + " is already linked to source key '" +
                            std::string(l->second->source_key) + "'",
                        ou->origin);
            ou_unavailable_.insert(ou->key);
            continue;
          }
          if (!claimed.insert(c->id).second) {
            AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kOu, ou->key,
                        {c->id}, "OU " + c->id + " matches two source departments",
                        ou->origin);
            ou_unavailable_.insert(ou->key);
            continue;
          }
          existing = c;
          adopted = true;
        }
      }

      if (existing == nullptr) {
        Operation op = MakeOp(OpKind::kOuCreate, Phase::kOuCreate, EntityType::kOu,
                              {ou->key, ""}, ou->name);
        op.wave = depth;
        op.ou = parent;
        op.origin = ou->origin;
        op.reason = stale_reason;
        op.changes.push_back({"name", "", ou->name});
        if (!ou->description.empty()) op.changes.push_back({"description", "", ou->description});
        if (!root_in_scope_) {
          ou_unavailable_.insert(ou->key);
          Skip(std::move(op), "out of scope: target.root_ou " + policy_.root_ou_id +
                                  " is not in the provisioning scope");
          continue;
        }
        ou_ref_[ou->key] = ObjectRef{ou->key, ""};
        Emit(std::move(op));
        continue;
      }

      ou_ref_[ou->key] = ObjectRef{ou->key, existing->id};
      live_ou_keys_.insert(ou->key);
      if (!OuInScope(existing->id)) {
        Operation op = MakeOp(OpKind::kOuPatch, Phase::kOuCreate, EntityType::kOu,
                              {ou->key, existing->id}, ou->name);
        op.origin = ou->origin;
        Skip(std::move(op), "out of scope: OU " + existing->id +
                                " is outside the provisioning scope");
        continue;
      }
      if (adopted) {
        Operation op = MakeOp(OpKind::kAdopt, Phase::kOuCreate, EntityType::kOu,
                              {ou->key, existing->id}, ou->name);
        op.origin = ou->origin;
        op.reason = existing->external_id == ou->key ? "matched by external id"
                                                     : "matched by name under the same parent";
        Emit(std::move(op));
      }
      // The API cannot move an OU: a changed parent is for a person to fix.
      if (existing->parent_id != parent.id) {
        std::string want = parent.id.empty() ? "the new OU '" + parent.key + "'" : parent.id;
        AddConflict(Conflict::Kind::kOuReparent, EntityType::kOu, ou->key,
                    {existing->id},
                    "department '" + ou->name + "' moved in the source: IDaaS has it under " +
                        existing->parent_id + ", the source under " + want +
                        ". The Developer API cannot move an OU: move it in the IDaaS "
                        "console (or delete it there), then run idsync again",
                    ou->origin);
      }
      Operation patch = MakeOp(OpKind::kOuPatch, Phase::kOuCreate, EntityType::kOu,
                               {ou->key, existing->id}, ou->name);
      patch.origin = ou->origin;
      if (existing->name != ou->name) patch.changes.push_back({"name", existing->name, ou->name});
      if (!ou->description.empty() && existing->description != ou->description) {
        patch.changes.push_back({"description", existing->description, ou->description});
      }
      if (!patch.changes.empty()) Emit(std::move(patch));
    }
  }

  // ---- users --------------------------------------------------------------
  ObjectRef CurrentOu(size_t row) const {
    std::string_view id = cached_.users.primary_ou_id(row);
    auto l = ou_link_by_id_.find(id);
    return ObjectRef{l == ou_link_by_id_.end() ? "" : std::string(l->second->source_key),
                     std::string(id)};
  }

  static std::string_view DesiredField(const DesiredUser& u, UserField f) {
    switch (f) {
      case UserField::kUsername: return u.username;
      case UserField::kDisplayName: return u.display_name;
      case UserField::kEmail: return u.email;
      case UserField::kPhoneNumber: return u.phone_number;
      case UserField::kPhoneRegion: return u.phone_region;
      case UserField::kDescription: return u.description;
      default: return {};
    }
  }

  std::string_view CachedField(size_t row, UserField f) const {
    const UserTable& t = cached_.users;
    switch (f) {
      case UserField::kUsername: return t.username(row);
      case UserField::kDisplayName: return t.display_name(row);
      case UserField::kEmail: return t.email(row);
      case UserField::kPhoneNumber: return t.phone_number(row);
      case UserField::kPhoneRegion: return t.phone_region(row);
      case UserField::kDescription: return t.description(row);
      default: return {};
    }
  }

  // Cached rows whose unique field `f` equals `value` (ignoring ASCII case
  // for usernames and e-mails).
  Rows RowsWith(UserField f, std::string_view value) const {
    if (f == UserField::kUsername) return ByUsername().Find(value);
    if (f == UserField::kEmail) return ByEmail().Find(value);
    if (f == UserField::kPhoneNumber) return ByPhone().Find(value);
    return {};
  }

  // Soft-match candidates: unanchored accounts matching any configured key.
  std::vector<size_t> SoftCandidates(const DesiredUser& u) const {
    std::set<size_t> out;
    const UserTable& t = cached_.users;
    for (const auto& key : policy_.match) {
      Rows rows;
      if (key == "username") rows = RowsWith(UserField::kUsername, u.username);
      else if (key == "email") rows = RowsWith(UserField::kEmail, u.email);
      else if (key == "phone_number") rows = RowsWith(UserField::kPhoneNumber, u.phone_number);
      for (size_t r : rows) {
        if (HasNoAnchor(t.external_id(r), t.id(r))) out.insert(r);
      }
    }
    return {out.begin(), out.end()};
  }

  // One per source user, so kept small: the rare reasons live in reasons_.
  struct UserMatch {
    static constexpr uint32_t kNone = 0xffffffff;
    const DesiredUser* desired = nullptr;
    uint32_t row = kNone;
    uint32_t adopt_reason = kNone;  // index into reasons_
    uint32_t stale_reason = kNone;
    bool adopted = false;
    bool conflicted = false;
    bool has_row() const { return row != kNone; }
  };
  uint32_t AddReason(std::string reason) {
    reasons_.push_back(std::move(reason));
    return static_cast<uint32_t>(reasons_.size() - 1);
  }
  const std::string& Reason(uint32_t i) const {
    static const std::string kEmpty;
    return i == UserMatch::kNone ? kEmpty : reasons_[i];
  }

  void PlanUsers() {
    std::vector<const DesiredUser*> users;
    users.reserve(source_.users.size());
    for (const auto& u : source_.users) users.push_back(&u);
    auto by_key = [](const DesiredUser* a, const DesiredUser* b) { return a->key < b->key; };
    // Connectors hand users over sorted by key; checking costs less than sorting.
    if (!std::is_sorted(users.begin(), users.end(), by_key)) {
      std::sort(users.begin(), users.end(), by_key);
    }

    // The same username from two source records: neither is written.
    boost::unordered_flat_map<std::string_view, std::vector<const DesiredUser*>, AsciiCaseHash,
                              AsciiCaseEqual>
        shared_usernames;
    {
      boost::unordered_flat_map<std::string_view, uint32_t, AsciiCaseHash, AsciiCaseEqual> count;
      count.reserve(users.size());
      for (const DesiredUser* u : users) ++count[u->username];
      for (const DesiredUser* u : users) {
        if (count[u->username] > 1) shared_usernames[u->username].push_back(u);
      }
    }

    std::vector<UserMatch> matches;
    matches.reserve(users.size());
    std::vector<uint8_t> claims(cached_.users.size(), 0);  // matches per row, up to 2
    for (const DesiredUser* u : users) {
      UserMatch m;
      m.desired = u;
      if (auto same = shared_usernames.find(u->username); same != shared_usernames.end()) {
        std::string others;
        for (auto* o : same->second) {
          if (o != u) others += (others.empty() ? "" : ", ") + o->key + " (" + o->origin.ToString() + ")";
        }
        AddConflict(Conflict::Kind::kDuplicateSource, EntityType::kUser, u->key, {},
                    "username '" + u->username + "' is also used by source record " + others,
                    u->origin);
        m.conflicted = true;
        matches.push_back(m);
        continue;
      }
      if (auto link = user_link_by_key_.find(u->key); link != user_link_by_key_.end()) {
        auto it = user_by_id_.find(link->second->idaas_id);
        if (it != user_by_id_.end()) {
          m.row = static_cast<uint32_t>(it->second);
        } else {
          m.stale_reason = AddReason("the linked account " + std::string(link->second->idaas_id) +
                                     " no longer exists in IDaaS");
        }
      }
      if (!m.has_row()) {
        std::vector<size_t> candidates = ByExternalId().Find(u->key);
        bool by_external = !candidates.empty();
        if (!by_external) candidates = SoftCandidates(*u);
        // Accounts already linked to another record are not candidates.
        std::vector<size_t> free;
        for (size_t r : candidates) {
          auto l = user_link_by_id_.find(cached_.users.id(r));
          if (l == user_link_by_id_.end() || l->second->source_key == u->key) {
            free.push_back(r);
          } else if (by_external) {
            AddConflict(Conflict::Kind::kLinkedElsewhere, EntityType::kUser, u->key,
                        {std::string(cached_.users.id(r))},
                        "account " + std::string(cached_.users.id(r)) +
                            " carries this record's external id but is linked to source key '" +
                            std::string(l->second->source_key) + "'",
                        u->origin);
            m.conflicted = true;
          }
        }
        if (m.conflicted) {
          matches.push_back(m);
          continue;
        }
        if (free.size() > 1) {
          std::vector<std::string> ids;
          for (size_t r : free) ids.emplace_back(cached_.users.id(r));
          AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kUser, u->key, ids,
                      "source record matches " + std::to_string(ids.size()) +
                          " existing accounts; give the right one this record's key as "
                          "external id, or make the others differ",
                      u->origin);
          m.conflicted = true;
        } else if (free.size() == 1) {
          m.row = static_cast<uint32_t>(free[0]);
          m.adopted = true;
          m.adopt_reason = AddReason(by_external ? "matched by external id"
                                                 : "matched by " + MatchedBy(*u, free[0]));
        }
      }
      if (m.has_row() && claims[m.row] < 2) ++claims[m.row];
      matches.push_back(m);
    }
    // One account adopted by two records is ambiguous for both.
    for (auto& m : matches) {
      if (!m.has_row() || claims[m.row] < 2 || !m.adopted) continue;
      m.conflicted = true;
      const std::string id(cached_.users.id(m.row));
      AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kUser, m.desired->key, {id},
                  "account " + id + " matches several source records", m.desired->origin);
    }

    // Final unique values per account, to catch collisions before the API does.
    for (const auto& m : matches) {
      if (m.conflicted || !m.has_row()) continue;
      desired_of_row_[m.row] = m.desired;
    }
    for (const auto& m : matches) {
      if (m.conflicted) continue;
      PlanUser(m);
    }
    PlanMissingUsers();
  }

  std::string MatchedBy(const DesiredUser& u, size_t row) const {
    const UserTable& t = cached_.users;
    for (const auto& key : policy_.match) {
      if (key == "username" && !u.username.empty() && Lower(t.username(row)) == Lower(u.username)) return "username";
      if (key == "email" && !u.email.empty() && Lower(t.email(row)) == Lower(u.email)) return "email";
      if (key == "phone_number" && !u.phone_number.empty() && t.phone_number(row) == u.phone_number) return "phone number";
    }
    return "soft match";
  }

  // Whether `value` of unique field `f` is held by an account other than
  // `own_row` that will keep it. Returns the holder's row.
  std::optional<size_t> TakenBy(UserField f, std::string_view value,
                                std::optional<size_t> own_row) const {
    if (value.empty()) return std::nullopt;
    for (size_t r : RowsWith(f, value)) {
      if (own_row && r == *own_row) continue;
      // A managed account whose source record changes this field gives the
      // value up in this same run.
      if (const DesiredUser* owner = desired_of_row_[r]; owner != nullptr && mapped_.count(f)) {
        std::string_view next = DesiredField(*owner, f);
        bool same = f == UserField::kPhoneNumber ? next == value : AsciiCaseEqual()(next, value);
        if (!same) continue;
      }
      return r;
    }
    return std::nullopt;
  }

  bool CheckUnique(const DesiredUser& u, std::optional<size_t> own_row,
                   const std::vector<UserField>& fields) {
    for (UserField f : fields) {
      std::string_view value = DesiredField(u, f);
      auto holder = TakenBy(f, value, own_row);
      if (!holder) continue;
      std::string id(cached_.users.id(*holder));
      bool managed = user_link_by_id_.contains(id) || desired_of_row_[*holder] != nullptr;
      AddConflict(managed ? Conflict::Kind::kTakenByManaged : Conflict::Kind::kTakenByUnmanaged,
                  EntityType::kUser, u.key, {id},
                  std::string(UserFieldName(f)) + " '" + std::string(value) +
                      "' is already used by " + (managed ? "managed" : "unmanaged") +
                      " account " + id + " (" + std::string(cached_.users.username(*holder)) +
                      ")",
                  u.origin);
      return false;
    }
    return true;
  }

  void PlanUser(const UserMatch& m) {
    const DesiredUser& u = *m.desired;
    const size_t index = static_cast<size_t>(&u - source_.users.data());
    // Resolve the primary OU.
    auto primary = ou_ref_.find(u.primary_ou_key);
    bool primary_ok = primary != ou_ref_.end();
    std::string primary_problem;
    if (!primary_ok) {
      primary_problem = ou_unavailable_.count(u.primary_ou_key)
                            ? "primary OU '" + u.primary_ou_key + "' is not available"
                            : "primary OU '" + u.primary_ou_key + "' is not in the source tree";
    }

    if (!m.has_row()) {
      Operation op = MakeOp(OpKind::kUserCreate, Phase::kUserCreate, EntityType::kUser,
                            {u.key, ""}, u.username);
      op.origin = u.origin;
      op.reason = Reason(m.stale_reason);
      if (!u.enabled) {
        Skip(std::move(op), "disabled in the source: not created");
        return;
      }
      if (!primary_ok) {
        Skip(std::move(op), primary_problem);
        return;
      }
      op.ou = primary->second;
      if (!op.ou.id.empty() && !OuInScope(op.ou.id)) {
        Skip(std::move(op), "out of scope: primary OU " + op.ou.id +
                                " is outside the provisioning scope");
        return;
      }
      if (!CheckUnique(u, std::nullopt,
                       {UserField::kUsername, UserField::kEmail, UserField::kPhoneNumber})) {
        return;
      }
      for (UserField f : {UserField::kUsername, UserField::kDisplayName, UserField::kEmail,
                          UserField::kPhoneNumber, UserField::kPhoneRegion,
                          UserField::kDescription}) {
        std::string_view v = DesiredField(u, f);
        if (!v.empty() && (f == UserField::kUsername || mapped_.count(f))) {
          op.changes.push_back({UserFieldName(f), "", std::string(v)});
        }
      }
      if (mapped_.count(UserField::kCustomFields)) {
        for (const auto& [k, v] : u.custom_fields) {
          if (!v.empty()) op.changes.push_back({"custom." + k, "", v});
        }
      }
      op.changes.push_back({"primary_ou", "", u.primary_ou_key});
      ref_row_[index] = kCreatedRef;
      Emit(std::move(op));
      if (mapped_.count(UserField::kExtraOus)) {
        Operation add = MakeOp(OpKind::kUserAddOus, Phase::kUserUpdate, EntityType::kUser,
                               {u.key, ""}, u.username);
        add.origin = u.origin;
        for (const auto& key : u.extra_ou_keys) {
          if (key == u.primary_ou_key) continue;
          auto ou = ou_ref_.find(key);
          if (ou != ou_ref_.end()) add.refs.push_back(ou->second);
        }
        if (!add.refs.empty()) Emit(std::move(add));
      }
      return;
    }

    // An existing (linked or adopted) account. Most are unchanged, so an
    // operation is only built once something differs.
    const size_t row = m.row;
    const UserTable& t = cached_.users;
    const std::string_view id = t.id(row);
    auto make = [&](OpKind kind, Phase phase) {
      Operation op = MakeOp(kind, phase, EntityType::kUser, {u.key, std::string(id)}, u.username);
      op.origin = u.origin;
      return op;
    };
    ref_row_[index] = static_cast<uint32_t>(row);
    live_user_rows_[row] = true;
    if (!OuInScope(t.primary_ou_id(row))) {
      Skip(make(OpKind::kUserPatch, Phase::kUserUpdate),
           "out of scope: the account's primary OU " + std::string(t.primary_ou_id(row)) +
               " is outside the provisioning scope");
      return;
    }
    if (m.adopted) {
      Operation op = make(OpKind::kAdopt, Phase::kUserUpdate);
      op.reason = Reason(m.adopt_reason);
      Emit(std::move(op));
    }
    const LinkView* link = nullptr;
    if (auto l = user_link_by_key_.find(u.key); l != user_link_by_key_.end()) link = l->second;

    std::vector<FieldChange> changes;
    std::vector<UserField> unique_changed;
    for (UserField f : {UserField::kUsername, UserField::kDisplayName, UserField::kEmail,
                        UserField::kPhoneNumber, UserField::kPhoneRegion}) {
      if (f != UserField::kUsername && !mapped_.count(f)) continue;
      std::string_view want = DesiredField(u, f);
      std::string_view have = CachedField(row, f);
      if (want != have) {
        changes.push_back({UserFieldName(f), std::string(have), std::string(want)});
        if (f == UserField::kUsername || f == UserField::kEmail || f == UserField::kPhoneNumber) {
          unique_changed.push_back(f);
        }
      }
    }
    if (mapped_.count(UserField::kCustomFields)) {
      for (const auto& [k, v] : u.custom_fields) {
        std::string_view old = t.custom_field(row, k);
        if (old != v) changes.push_back({"custom." + k, std::string(old), v});
      }
    }
    if (!changes.empty() && CheckUnique(u, row, unique_changed)) {
      Operation patch = make(OpKind::kUserPatch, Phase::kUserUpdate);
      patch.ou = CurrentOu(row);
      patch.changes = std::move(changes);
      Emit(std::move(patch));
    }

    // OU placement.
    const std::string_view current_primary = t.primary_ou_id(row);
    bool moved = false;
    std::string new_primary;
    if (primary_ok) {
      const ObjectRef& want = primary->second;
      if (want.id != current_primary) {
        Operation move = make(OpKind::kUserSetPrimaryOu, Phase::kUserUpdate);
        move.wave = 1;  // after patches, before secondary OU changes
        move.ou = want;
        move.changes.push_back(
            {"primary_ou", std::string(current_primary), want.id.empty() ? want.key : want.id});
        moved = true;
        new_primary = want.id.empty() ? "key:" + want.key : want.id;
        Emit(std::move(move));
      }
    } else {
      Skip(make(OpKind::kUserSetPrimaryOu, Phase::kUserUpdate),
           primary_problem + "; the account stays in its current OU");
    }
    if (mapped_.count(UserField::kExtraOus)) {
      std::set<std::string> members;
      for (auto ou : t.ou_ids(row)) members.emplace(ou);
      // The API drops the old primary membership when it moves the user.
      if (moved) members.erase(std::string(current_primary));
      members.erase(moved ? new_primary : std::string(current_primary));
      std::set<std::string> want_ids;  // ids, or "key:<key>" for new OUs
      Operation add = make(OpKind::kUserAddOus, Phase::kUserUpdate);
      add.wave = 2;  // the primary move drops the old primary; re-add after it
      for (const auto& key : u.extra_ou_keys) {
        if (key == u.primary_ou_key) continue;
        auto ou = ou_ref_.find(key);
        if (ou == ou_ref_.end()) continue;
        std::string ident = ou->second.id.empty() ? "key:" + key : ou->second.id;
        want_ids.insert(ident);
        if (!members.count(ident)) add.refs.push_back(ou->second);
      }
      Operation remove = make(OpKind::kUserRemoveOus, Phase::kUserUpdate);
      remove.wave = 2;
      remove.reason = "not in the source's OU list";
      for (const auto& ou_id : members) {
        // Only memberships in OUs idsync manages are idsync's to remove.
        auto l = ou_link_by_id_.find(ou_id);
        if (l == ou_link_by_id_.end() || want_ids.count(ou_id)) continue;
        remove.refs.push_back(ObjectRef{std::string(l->second->source_key), ou_id});
      }
      if (!add.refs.empty()) Emit(std::move(add));
      if (!remove.refs.empty()) Emit(std::move(remove));
    }

    // Status.
    bool returning = link != nullptr && link->missing_since_ms != 0;
    bool enabled = t.enabled(row);
    bool want_enabled = mapped_.count(UserField::kEnabled)
                            ? u.enabled
                            : (enabled || (link != nullptr && link->disabled_by_idsync));
    if (want_enabled && !enabled) {
      Operation op = make(OpKind::kUserEnable, Phase::kUserEnable);
      op.ou = CurrentOu(row);
      op.reason = returning ? "back in the source" : "enabled in the source";
      op.changes.push_back({"enabled", "false", "true"});
      Emit(std::move(op));
    } else if (!want_enabled && enabled) {
      Operation op = make(OpKind::kUserDisable, Phase::kUserDisable);
      op.ou = CurrentOu(row);
      op.reason = "disabled in the source";
      op.changes.push_back({"enabled", "true", "false"});
      Emit(std::move(op));
    }
    if (returning) {
      Operation op = MakeOp(OpKind::kUserMarkMissing, Phase::kUserUpdate, EntityType::kUser,
                            {u.key, std::string(id)}, u.username);
      op.reason = "back in the source";
      op.changes.push_back({"missing_since", std::to_string(link->missing_since_ms), "0"});
      Emit(std::move(op));
    }
  }

  void PlanMissingUsers() {
    std::vector<const LinkView*> missing;
    for (const auto& link : links_) {
      if (link.type != EntityType::kUser) continue;
      if (desired_index_.contains(link.source_key)) continue;
      // A record that is present but was rejected is not missing: its
      // account is left alone until the record is fixed.
      if (rejected_keys_.count(std::string(link.source_key))) continue;
      missing.push_back(&link);
    }
    std::sort(missing.begin(), missing.end(),
              [](const LinkView* a, const LinkView* b) { return a->source_key < b->source_key; });
    const UserTable& t = cached_.users;
    for (const LinkView* link : missing) {
      auto it = user_by_id_.find(link->idaas_id);
      if (it == user_by_id_.end()) continue;  // already gone from IDaaS
      size_t row = it->second;
      if (live_user_rows_[row]) continue;  // re-keyed and matched again
      std::string username(t.username(row));
      auto make = [&](OpKind kind, Phase phase) {
        Operation op = MakeOp(kind, phase, EntityType::kUser,
                              {std::string(link->source_key), std::string(link->idaas_id)},
                              username);
        op.ou = CurrentOu(row);
        return op;
      };
      if (policy_.on_missing == Policy::OnMissing::kIgnore) continue;
      if (!OuInScope(t.primary_ou_id(row))) {
        Skip(make(OpKind::kUserDisable, Phase::kUserDisable),
             "out of scope: the account's primary OU " + std::string(t.primary_ou_id(row)) +
                 " is outside the provisioning scope");
        continue;
      }
      if (policy_.on_missing == Policy::OnMissing::kDelete) {
        Operation op = make(OpKind::kUserDelete, Phase::kUserDelete);
        op.reason = "missing from the source";
        Emit(std::move(op));
        continue;
      }
      if (t.enabled(row)) {
        Operation op = make(OpKind::kUserDisable, Phase::kUserDisable);
        op.reason = "missing from the source";
        op.changes.push_back({"enabled", "true", "false"});
        op.changes.push_back({"missing_since", std::to_string(link->missing_since_ms),
                              std::to_string(link->missing_since_ms ? link->missing_since_ms : now_ms_)});
        Emit(std::move(op));
      } else if (link->missing_since_ms == 0) {
        Operation op = make(OpKind::kUserMarkMissing, Phase::kUserUpdate);
        op.reason = "missing from the source (already disabled)";
        op.changes.push_back({"missing_since", "0", std::to_string(now_ms_)});
        Emit(std::move(op));
      } else if (now_ms_ - link->missing_since_ms >= policy_.delete_after_ms) {
        Operation op = make(OpKind::kUserDelete, Phase::kUserDelete);
        op.reason = "missing from the source for " +
                    FormatDays(now_ms_ - link->missing_since_ms) + " (delete_after " +
                    FormatDays(policy_.delete_after_ms) + ")";
        Emit(std::move(op));
      }
    }
  }

  // ---- groups -------------------------------------------------------------
  void PlanGroups() {
    std::vector<const DesiredGroup*> groups;
    for (const auto& g : source_.groups) groups.push_back(&g);
    std::sort(groups.begin(), groups.end(),
              [](const DesiredGroup* a, const DesiredGroup* b) { return a->key < b->key; });
    std::set<std::string, std::less<>> desired_keys;
    std::set<std::string> claimed;
    for (const DesiredGroup* g : groups) {
      desired_keys.insert(g->key);
      const IdaasGroup* existing = nullptr;
      bool adopted = false;
      std::string stale_reason;
      const LinkView* link = nullptr;
      if (auto l = group_link_by_key_.find(g->key); l != group_link_by_key_.end()) {
        link = l->second;
        auto it = group_by_id_.find(link->idaas_id);
        if (it != group_by_id_.end()) existing = it->second;
        else stale_reason = "the linked group " + std::string(link->idaas_id) + " no longer exists in IDaaS";
      }
      if (existing == nullptr) {
        std::vector<const IdaasGroup*> candidates;
        for (const auto& c : cached_.groups) {
          if (c.external_id == g->key && !HasNoAnchor(c.external_id, c.id)) candidates.push_back(&c);
        }
        if (candidates.empty()) {
          for (const auto& c : cached_.groups) {
            if (c.name == g->name && HasNoAnchor(c.external_id, c.id) &&
                !group_link_by_id_.count(c.id)) {
              candidates.push_back(&c);
            }
          }
        }
        if (candidates.size() > 1 ||
            (candidates.size() == 1 && !claimed.insert(candidates[0]->id).second)) {
          std::vector<std::string> ids;
          for (auto* c : candidates) ids.push_back(c->id);
          AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kGroup, g->key, ids,
                      "group '" + g->name + "' matches more than one existing group, or one "
                      "group matches several source groups",
                      g->origin);
          continue;
        }
        if (candidates.size() == 1) {
          auto l = group_link_by_id_.find(candidates[0]->id);
          if (l != group_link_by_id_.end() && l->second->source_key != g->key) {
            AddConflict(Conflict::Kind::kLinkedElsewhere, EntityType::kGroup, g->key,
                        {candidates[0]->id},
                        "group " + candidates[0]->id + " is already linked to source key '" +
                            std::string(l->second->source_key) + "'",
                        g->origin);
            continue;
          }
          existing = candidates[0];
          adopted = true;
        }
      }

      ObjectRef ref{g->key, existing ? existing->id : ""};
      if (existing == nullptr) {
        Operation op = MakeOp(OpKind::kGroupCreate, Phase::kGroupUpsert, EntityType::kGroup,
                              ref, g->name);
        op.origin = g->origin;
        op.reason = stale_reason;
        op.changes.push_back({"name", "", g->name});
        Emit(std::move(op));
      } else {
        bool owned = link != nullptr && link->ownership == Ownership::kCreated;
        if (!scope_groups_.count(existing->id) && !owned) {
          Operation op = MakeOp(OpKind::kGroupPatch, Phase::kGroupUpsert, EntityType::kGroup,
                                ref, g->name);
          op.origin = g->origin;
          Skip(std::move(op), "out of scope: group " + existing->id +
                                  " is not in the provisioning scope");
          continue;
        }
        live_group_ids_.insert(existing->id);
        if (adopted) {
          Operation op = MakeOp(OpKind::kAdopt, Phase::kGroupUpsert, EntityType::kGroup, ref,
                                g->name);
          op.origin = g->origin;
          op.reason = existing->external_id == g->key ? "matched by external id"
                                                      : "matched by name";
          Emit(std::move(op));
        }
        if (existing->name != g->name) {
          Operation op = MakeOp(OpKind::kGroupPatch, Phase::kGroupUpsert, EntityType::kGroup,
                                ref, g->name);
          op.origin = g->origin;
          op.changes.push_back({"name", existing->name, g->name});
          Emit(std::move(op));
        }
      }
      PlanMembers(*g, ref, existing);
    }

    // Groups gone from the source.
    std::vector<const LinkView*> missing;
    for (const auto& link : links_) {
      if (link.type == EntityType::kGroup && !desired_keys.count(link.source_key) &&
          !rejected_keys_.count(std::string(link.source_key))) {
        missing.push_back(&link);
      }
    }
    std::sort(missing.begin(), missing.end(),
              [](const LinkView* a, const LinkView* b) { return a->source_key < b->source_key; });
    for (const LinkView* link : missing) {
      auto it = group_by_id_.find(link->idaas_id);
      if (it == group_by_id_.end() || live_group_ids_.count(link->idaas_id)) continue;
      const std::string id(link->idaas_id);
      Operation op = MakeOp(OpKind::kGroupDelete, Phase::kGroupDelete, EntityType::kGroup,
                            {std::string(link->source_key), id}, it->second->name);
      op.reason = "missing from the source";
      if (!scope_groups_.count(link->idaas_id) && link->ownership != Ownership::kCreated) {
        Skip(std::move(op), "out of scope: group " + id +
                                " is not in the provisioning scope");
        continue;
      }
      Emit(std::move(op));
    }
  }

  template <class Views>
  static void SortUnique(Views* v) {
    if (!std::is_sorted(v->begin(), v->end())) std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }

  void PlanMembers(const DesiredGroup& g, const ObjectRef& group, const IdaasGroup* existing) {
    std::vector<std::string_view> current;  // member ids, sorted
    if (existing) {
      current = cached_.GroupMembers(static_cast<size_t>(existing - cached_.groups.data()));
      SortUnique(&current);
    }
    auto is_current = [&](std::string_view id) {
      return std::binary_search(current.begin(), current.end(), id);
    };
    std::vector<ObjectRef> add;
    ViewSet wanted_ids;
    std::vector<std::string_view> keys(g.member_keys.begin(), g.member_keys.end());
    SortUnique(&keys);
    for (std::string_view key : keys) {
      auto d = desired_index_.find(key);
      // Not written this run (conflict, skipped).
      if (d == desired_index_.end() || ref_row_[d->second] == kNoRef) continue;
      const uint32_t ref = ref_row_[d->second];
      if (ref == kCreatedRef) {
        add.push_back(ObjectRef{std::string(key), ""});
        continue;
      }
      std::string_view id = cached_.users.id(ref);
      wanted_ids.insert(id);
      if (!is_current(id)) add.push_back(ObjectRef{std::string(key), std::string(id)});
    }
    std::vector<ObjectRef> remove;
    for (std::string_view id : current) {
      if (wanted_ids.contains(id)) continue;
      // Members idsync does not manage were added by hand; leave them.
      auto l = user_link_by_id_.find(id);
      if (l == user_link_by_id_.end()) continue;
      remove.push_back(ObjectRef{std::string(l->second->source_key), std::string(id)});
    }
    EmitChunks(OpKind::kGroupAddMembers, Phase::kMembershipAdd, g, group, add);
    EmitChunks(OpKind::kGroupRemoveMembers, Phase::kMembershipRemove, g, group, remove);
  }

  void EmitChunks(OpKind kind, Phase phase, const DesiredGroup& g, const ObjectRef& group,
                  const std::vector<ObjectRef>& refs) {
    for (size_t start = 0, n = 0; start < refs.size(); start += kMembershipChunk, ++n) {
      Operation op = MakeOp(kind, phase, EntityType::kGroup, group, g.name);
      op.id += ":" + std::to_string(n);
      op.origin = g.origin;
      if (kind == OpKind::kGroupRemoveMembers) op.reason = "not a member in the source";
      size_t end = std::min(refs.size(), start + kMembershipChunk);
      op.refs.assign(refs.begin() + static_cast<std::ptrdiff_t>(start),
                     refs.begin() + static_cast<std::ptrdiff_t>(end));
      Emit(std::move(op));
    }
  }

  // ---- OU deletes (after user and group guards, which decide who stays) --
  void PlanOuDeletes() {
    std::set<std::string, std::less<>> leaving_users;  // ids deleted by this plan
    for (const auto& op : ops_) {
      if (op.kind == OpKind::kUserDelete) leaving_users.insert(op.target.id);
    }
    std::vector<const LinkView*> missing;
    for (const auto& link : links_) {
      if (link.type == EntityType::kOu && !desired_ou_.count(std::string(link.source_key)) &&
          ou_by_id_.count(link.idaas_id)) {
        missing.push_back(&link);
      }
    }
    // The member count below walks every cached user: skip it when no OU
    // is going away, as in almost every cycle.
    if (missing.empty()) return;
    std::set<std::string, std::less<>> deleting;
    for (const LinkView* l : missing) deleting.emplace(l->idaas_id);
    // Depth in the cached tree, for children-first order.
    auto depth_of = [&](std::string_view id) {
      int d = 0;
      std::string cur(id);
      std::set<std::string> seen;
      while (true) {
        auto it = ou_by_id_.find(cur);
        if (it == ou_by_id_.end() || it->second->parent_id.empty() || !seen.insert(cur).second) break;
        cur = it->second->parent_id;
        ++d;
      }
      return d;
    };
    std::map<std::string, size_t, std::less<>> members;  // OU id -> members staying
    const UserTable& t = cached_.users;
    for (size_t r = 0; r < t.size(); ++r) {
      if (leaving_users.count(t.id(r))) continue;
      for (auto ou : t.ou_ids(r)) {
        if (deleting.count(ou)) ++members[std::string(ou)];
      }
    }
    // Users this plan moves into or out of OUs change the count; moves out
    // of a departing OU happen before deletes, so count them as gone.
    for (const auto& op : ops_) {
      if (op.kind == OpKind::kUserSetPrimaryOu) {
        auto it = user_by_id_.find(op.target.id);
        if (it != user_by_id_.end()) {
          std::string old(t.primary_ou_id(it->second));
          if (members.count(old) && members[old] > 0) --members[old];
        }
      } else if (op.kind == OpKind::kUserRemoveOus) {
        for (const auto& ref : op.refs) {
          if (members.count(ref.id) && members[ref.id] > 0) --members[ref.id];
        }
      }
    }
    int max_depth = 0;
    std::vector<std::pair<int, const LinkView*>> order;
    for (const LinkView* l : missing) {
      int d = depth_of(l->idaas_id);
      max_depth = std::max(max_depth, d);
      order.emplace_back(d, l);
    }
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return std::tie(b.first, a.second->source_key) < std::tie(a.first, b.second->source_key);
    });
    std::set<std::string, std::less<>> blocked;  // OUs kept, so their parents are kept too
    for (const auto& [d, link] : order) {
      const IdaasOu* ou = ou_by_id_.at(link->idaas_id);
      const std::string key(link->source_key), id(link->idaas_id);
      Operation op = MakeOp(OpKind::kOuDelete, Phase::kOuDelete, EntityType::kOu,
                            {key, id}, ou->name);
      op.wave = max_depth - d;
      op.reason = "missing from the source";
      if (!OuInScope(id)) {
        blocked.insert(id);
        Skip(std::move(op), "out of scope: OU " + id + " is outside the provisioning scope");
        continue;
      }
      size_t staying = members.count(id) ? members[id] : 0;
      size_t kids = 0;
      if (auto it = children_.find(id); it != children_.end()) {
        for (const IdaasOu* c : it->second) {
          if (!deleting.count(c->id) || blocked.count(c->id)) ++kids;
        }
      }
      if (staying > 0 || kids > 0) {
        blocked.insert(id);
        std::string why = "kept for now: the OU still has ";
        if (staying > 0) why += std::to_string(staying) + " member(s)";
        if (staying > 0 && kids > 0) why += " and ";
        if (kids > 0) why += std::to_string(kids) + " child OU(s)";
        Skip(std::move(op), why + "; it is deleted once they are gone");
        continue;
      }
      Emit(std::move(op));
    }
  }

  // ---- guards --------------------------------------------------------------
  void Block(const std::string& guard, const std::function<bool(const Operation&)>& which) {
    std::vector<Operation> keep;
    keep.reserve(ops_.size());
    for (auto& op : ops_) {
      if (which(op)) {
        Skip(std::move(op), "blocked by guard " + guard, guard);
      } else {
        keep.push_back(std::move(op));
      }
    }
    ops_ = std::move(keep);
  }

  int64_t CountDestructive(EntityType type) const {
    int64_t n = 0;
    for (const auto& op : ops_) {
      if (op.entity != type) continue;
      if (op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete ||
          op.kind == OpKind::kGroupDelete || op.kind == OpKind::kOuDelete) {
        ++n;
      }
    }
    return n;
  }

  // The source itself looks wrong: too many rejected records (corrupt), or
  // empty or near-empty (truncated). Verdicts now; blocking at the end, so
  // that it also covers OU deletes.
  void GuardSourceTrust() {
    GuardVerdict invalid{"invalid_records", false, 0, 0, ""};
    // records_read counts user records; OU and group problems are reported
    // in `rejected` too but are not rejected users.
    int64_t read = source_.records_read;
    int64_t bad = std::count_if(source_.rejected.begin(), source_.rejected.end(),
                                [](const Diagnostic& d) { return d.field != "ou" && d.field != "group"; });
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
    plan_.guards.push_back(invalid);

    GuardVerdict empty{"empty_source", false, plan_.source_users, 0, ""};
    if (source_.users.empty() && plan_.managed_users > 0) {
      if (policy_.allow_empty_source) {
        empty.message = "the source is empty; allowed by empty_source: allow";
      } else {
        empty.tripped = true;
        empty.message = "the source has no users but idsync manages " +
                        std::to_string(plan_.managed_users) +
                        "; nothing is disabled or deleted (set policy.empty_source: allow "
                        "if this is intended)";
        distrust_destructive_ = true;
      }
    } else {
      empty.message = "the source has " + std::to_string(plan_.source_users) + " users";
    }
    plan_.guards.push_back(empty);

    GuardVerdict near{"near_empty_source", false, plan_.source_users, 0, ""};
    near.limit = static_cast<int64_t>(
        std::ceil(policy_.min_source_percent * plan_.managed_users / 100.0));
    if (!source_.users.empty() && plan_.managed_users > 0 &&
        plan_.source_users * 100.0 < policy_.min_source_percent * plan_.managed_users) {
      int64_t destructive = CountDestructive(EntityType::kUser);
      if (policy_.allow_deletes >= 0 && destructive <= policy_.allow_deletes) {
        near.message = "the source shrank below min_source_percent; allowed by --allow-deletes " +
                       std::to_string(policy_.allow_deletes);
      } else {
        near.tripped = true;
        near.message = "the source has " + std::to_string(plan_.source_users) +
                       " users, fewer than min_source_percent " +
                       FormatPercent(policy_.min_source_percent) + " of the " +
                       std::to_string(plan_.managed_users) +
                       " managed; it looks truncated, so nothing is disabled or deleted "
                       "(override with --allow-deletes N)";
        distrust_destructive_ = true;
      }
    } else {
      near.message = "ok";
    }
    plan_.guards.push_back(near);
  }

  void ApplySourceTrustBlocks() {
    if (distrust_all_) {
      Block("invalid_records", [](const Operation&) { return true; });
    } else if (distrust_destructive_) {
      std::string guard = source_.users.empty() ? "empty_source" : "near_empty_source";
      Block(guard, [](const Operation& op) { return IsDestructive(op); });
    }
  }

  static std::string FormatPercent(double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g%%", p);
    return buf;
  }

  void GuardMaxDeletes(EntityType type) {
    int64_t managed = type == EntityType::kUser  ? plan_.managed_users
                      : type == EntityType::kOu  ? plan_.managed_ous
                                                 : plan_.managed_groups;
    int64_t count = CountDestructive(type);
    int64_t by_percent = std::max<int64_t>(
        1, static_cast<int64_t>(std::floor(policy_.max_deletes_percent * managed / 100.0)));
    int64_t limit = std::min(policy_.max_deletes_count, by_percent);
    GuardVerdict v{std::string("max_deletes.") + EntityTypeName(type), false, count, limit, ""};
    if (count > limit) {
      if (policy_.allow_deletes >= count) {
        v.message = std::to_string(count) + " deletes/disables exceed the limit of " +
                    std::to_string(limit) + "; allowed by --allow-deletes " +
                    std::to_string(policy_.allow_deletes);
      } else {
        v.tripped = true;
        v.message = std::to_string(count) + " " + EntityTypeName(type) +
                    " deletes/disables exceed max_deletes (" +
                    std::to_string(policy_.max_deletes_count) + " or " +
                    FormatPercent(policy_.max_deletes_percent) + " of " +
                    std::to_string(managed) + " managed = " + std::to_string(limit) +
                    "); none is done. Check the source, then rerun with --allow-deletes " +
                    std::to_string(count) + " or raise policy.max_deletes";
        Block(v.name, [type](const Operation& op) {
          return op.entity == type &&
                 (op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete ||
                  op.kind == OpKind::kGroupDelete || op.kind == OpKind::kOuDelete ||
                  (op.kind == OpKind::kUserMarkMissing && IsDestructive(op)));
        });
      }
    } else {
      v.message = std::to_string(count) + " of at most " + std::to_string(limit);
    }
    plan_.guards.push_back(v);
  }

  void GuardProtected() {
    GuardVerdict v{"protected_users", false, 0,
                   static_cast<int64_t>(policy_.protected_users.size()), ""};
    std::set<std::string> lower;
    for (const auto& u : policy_.protected_users) lower.insert(Lower(u));
    auto is_protected = [&](const Operation& op) {
      return op.entity == EntityType::kUser &&
             (op.kind == OpKind::kUserDisable || op.kind == OpKind::kUserDelete) &&
             lower.count(Lower(op.display));
    };
    for (const auto& op : ops_) {
      if (is_protected(op)) ++v.value;
    }
    if (v.value > 0) {
      v.tripped = true;
      v.message = std::to_string(v.value) +
                  " disable/delete operation(s) on protected accounts withheld";
      Block(v.name, is_protected);
    } else {
      v.message = "no protected account affected";
    }
    plan_.guards.push_back(v);
  }

  // ---- the rest ------------------------------------------------------------
  void ListUnmanaged() {
    const UserTable& t = cached_.users;
    for (size_t r = 0; r < t.size(); ++r) {
      std::string_view id = t.id(r);
      if (live_user_rows_[r] || user_link_by_id_.contains(id)) continue;
      plan_.unmanaged.push_back({EntityType::kUser, std::string(id), std::string(t.username(r))});
    }
    std::set<std::string> live_ous;
    for (const auto& [key, ref] : ou_ref_) {
      if (!ref.id.empty()) live_ous.insert(ref.id);
    }
    std::set<std::string> scope_roots(scope_.ou_ids.begin(), scope_.ou_ids.end());
    for (const auto& ou : cached_.ous) {
      if (ou_link_by_id_.count(ou.id) || live_ous.count(ou.id) ||
          ou.id == policy_.root_ou_id || scope_roots.count(ou.id)) {
        continue;
      }
      plan_.unmanaged.push_back({EntityType::kOu, ou.id, ou.name});
    }
    for (const auto& g : cached_.groups) {
      if (group_link_by_id_.count(g.id) || live_group_ids_.count(g.id)) continue;
      plan_.unmanaged.push_back({EntityType::kGroup, g.id, g.name});
    }
    std::sort(plan_.unmanaged.begin(), plan_.unmanaged.end(),
              [](const Unmanaged& a, const Unmanaged& b) {
                return std::tie(a.entity, a.id) < std::tie(b.entity, b.id);
              });
  }

  void Finish() {
    auto order = [](const Operation& a, const Operation& b) {
      return std::tie(a.phase, a.wave, a.target.key, a.target.id, a.id) <
             std::tie(b.phase, b.wave, b.target.key, b.target.id, b.id);
    };
    std::sort(ops_.begin(), ops_.end(), order);
    plan_.operations = std::move(ops_);
    std::stable_sort(plan_.skipped.begin(), plan_.skipped.end(),
                     [&](const Skipped& a, const Skipped& b) { return order(a.op, b.op); });
    std::stable_sort(plan_.conflicts.begin(), plan_.conflicts.end(),
                     [](const Conflict& a, const Conflict& b) {
                       return std::tie(a.entity, a.key, a.kind) < std::tie(b.entity, b.key, b.kind);
                     });
  }

  const SourceSnapshot& source_;
  const CachedState& cached_;
  const ProvisioningScope& scope_;
  const Policy& policy_;
  const int64_t now_ms_;
  std::set<UserField> mapped_;
  Plan plan_;
  std::vector<Operation> ops_;

  ViewMap<size_t> user_by_id_;
  mutable RowIndex<> user_by_external_, user_by_phone_;
  mutable CaseRowIndex user_by_username_, user_by_email_;
  ViewMap<const IdaasOu*> ou_by_id_;
  ViewMap<std::vector<const IdaasOu*>> children_;
  ViewMap<const IdaasGroup*> group_by_id_;
  std::vector<LinkView> links_;
  ViewMap<const LinkView*> user_link_by_key_, user_link_by_id_, ou_link_by_key_, ou_link_by_id_,
      group_link_by_key_, group_link_by_id_;
  ViewSet ou_in_scope_, scope_groups_;
  bool root_in_scope_ = false;

  std::unordered_map<std::string, const DesiredOu*> desired_ou_;
  std::unordered_map<std::string, int> ou_depth_;
  ViewMap<ObjectRef> ou_ref_;  // OU key (a view of the source's) -> ref
  std::unordered_set<std::string> ou_unavailable_, live_ou_keys_;
  std::unordered_set<std::string> rejected_keys_;
  ViewMap<uint32_t> desired_index_;  // source key -> index in source_.users
  // Per source user (by index): how this run refers to it, for group
  // members; kNoRef when it is not written this run.
  static constexpr uint32_t kNoRef = 0xffffffff, kCreatedRef = 0xfffffffe;
  std::vector<uint32_t> ref_row_;
  std::vector<const DesiredUser*> desired_of_row_;  // cached row -> its source record
  std::vector<bool> live_user_rows_;
  std::vector<std::string> reasons_;  // see UserMatch
  ViewSet live_group_ids_;
  bool distrust_all_ = false;
  bool distrust_destructive_ = false;
};

}  // namespace

Plan ComputePlan(const SourceSnapshot& source, const CachedState& cached,
                 const ProvisioningScope& scope, const Policy& policy, int64_t now_ms) {
  return Planner(source, cached, scope, policy, now_ms).Run();
}

}  // namespace idsync::sync
