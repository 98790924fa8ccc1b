// The plan's vocabulary (names of phases, kinds, conflicts) and
// ComputePlan's entry point; the planning itself is in planner.h.
#include "idsync/sync/plan.h"

#include <algorithm>

#include "planner.h"

namespace idsync::sync {

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kOuCreate: return "ou-create";
    case Phase::kOuMove: return "ou-move";
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
    case OpKind::kOuMove: return "ou.move";
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
    case Conflict::Kind::kForeignSource: return "foreign_source";
    case Conflict::Kind::kRenameCycle: return "rename_cycle";
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

Plan ComputePlan(const SourceSnapshot& source, const CachedState& cached,
                 const ProvisioningScope& scope, const Policy& policy, int64_t now_ms,
                 const CachedIndex* index) {
  // An index of another state (say, one loaded before a refresh) would plan
  // against the wrong accounts: only one of `cached` itself is used.
  if (index != nullptr && &index->state() == &cached) {
    return Planner(source, *index, scope, policy, now_ms).Run();
  }
  const CachedIndex own(cached);
  return Planner(source, own, scope, policy, now_ms).Run();
}

}  // namespace idsync::sync
