// The safety guards: a pure pass over the planner's draft operations that
// measures what the plan would take away and withholds it when a bound is
// crossed (docs/sync-semantics.md "Guards"). Every guard leaves a
// verdict in the plan, tripped or not. Internal to sync/.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "idsync/sync/plan.h"

namespace idsync::sync {

// What the guards need to know about the cached state, gathered by the
// planner (the guards read no index of their own).
struct GuardFacts {
  int64_t managed_users = 0, managed_ous = 0, managed_groups = 0;
  // Members idsync manages in each group today, by the group's source key:
  // the base of the per-group bound on removals.
  std::map<std::string, int64_t> group_managed_members;
  // Memberships idsync manages: group members plus secondary OU
  // memberships of managed users in managed OUs.
  int64_t managed_memberships = 0;
  // Accounts under policy.protected_users, by IDaaS id: resolved by the
  // planner from each entry as a current username, an id or a source key.
  std::set<std::string> protected_ids;
};

// Whether an operation takes something away from someone: a disable, a
// delete, a removal from a group or an OU, or starting a delete timer.
bool IsDestructive(const Operation& op);

class Guards {
 public:
  Guards(const SourceSnapshot& source, const Policy& policy, const GuardFacts& facts, Plan* plan)
      : source_(source), policy_(policy), facts_(facts), plan_(plan) {}

  // Every guard except max_deletes.ou, on the draft without OU deletes:
  // which users and groups stay decides which OUs can go.
  void CheckDraft(std::vector<Operation>* ops);
  // After OU deletes are planned: max_deletes.ou, and the source-trust and
  // unreadable-record guards again over the OU deletes; then max_moves and
  // quota, which take nothing away and depend on no other guard.
  void CheckOuDeletes(std::vector<Operation>* ops);

 private:
  void CheckSourceTrust(const std::vector<Operation>& ops);
  void ApplySourceTrust(std::vector<Operation>* ops);
  void CheckUnkeyedRejects(std::vector<Operation>* ops, bool ou_deletes);
  void CheckMaxDeletes(EntityType type, std::vector<Operation>* ops);
  void TieRemovalsToLosses(std::vector<Operation>* ops);
  void CheckMemberships(std::vector<Operation>* ops);
  void CheckProtected(std::vector<Operation>* ops);
  void CheckMoves(std::vector<Operation>* ops);
  void CheckQuota(std::vector<Operation>* ops);
  // Moves the operations `which` selects to plan.skipped under `guard`.
  template <class Pred>
  void Block(const std::string& guard, std::vector<Operation>* ops, Pred which);
  void Withhold(Operation op, const std::string& guard);

  const SourceSnapshot& source_;
  const Policy& policy_;
  const GuardFacts& facts_;
  Plan* plan_;
  bool distrust_all_ = false, distrust_destructive_ = false;
  std::set<std::string> leaving_;  // keys of users disabled or deleted in this run
  bool unkeyed_[3] = {false, false, false};  // by EntityType
  size_t unkeyed_verdict_ = 0;
  int64_t unkeyed_count_ = 0;
  std::string unkeyed_first_;  // where the first one is, and why
};

}  // namespace idsync::sync
