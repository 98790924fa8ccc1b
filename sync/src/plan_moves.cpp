// Planning department moves (Policy::allow_ou_moves): a linked OU whose
// parent changed in the source is moved instead of reported, when it, its
// current parent and its new parent are all in the provisioning scope.
//
// Order. Moves run in rounds (Operation::wave). A move is placed in the
// first round at which its new parent is *settled*: every OU on the new
// parent's chain up to the top of the tree, the new parent included, already
// sits under its final parent once the earlier rounds are applied. Then
//  - the moved OU is not on that chain (it does not sit under its final
//    parent yet), so the move cannot put an OU inside its own subtree;
//  - no move of the same round changes that chain (its OUs are final), so
//    the moves of one round may run in any order, concurrently;
//  - a new parent created or moved in this run comes first (creates run in
//    the ou-create phase, before every move).
// Since the source tree has no cycle, every move settles in the round of its
// depth, except where the final tree would have one: a department that sits
// above target.root_ou, or under a department whose own move was refused.
// Those moves are ou_reparent conflicts that say so. Guards that withhold
// moves keep a prefix of this order (max_moves), which keeps it valid.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "planner.h"

namespace idsync::sync {
namespace {

// OUs created in this run have no id yet: a node name no id can take.
std::string NodeOf(const ObjectRef& ref) {
  return ref.id.empty() ? std::string("\x01") + ref.key : ref.id;
}

}  // namespace

void Planner::RefuseMove(const MoveCandidate& m, const std::string& why) {
  AddConflict(Conflict::Kind::kOuReparent, EntityType::kOu, m.ou->key, {m.existing->id},
              "department '" + m.ou->name + "' moved in the source: IDaaS has it under " +
                  m.existing->parent_id + ", the source under " +
                  (m.to.id.empty() ? "the new OU '" + m.to.key + "'" : m.to.id) + ". " + why,
              m.ou->origin);
}

void Planner::PlanOuMoves() {
  if (move_candidates_.empty()) return;
  std::sort(move_candidates_.begin(), move_candidates_.end(),
            [](const MoveCandidate& a, const MoveCandidate& b) { return a.ou->key < b.ou->key; });
  // The tree as it stands when the moves start: IDaaS, plus the OUs this
  // plan creates (in the ou-create phase, before any move).
  std::map<std::string, std::string> now;  // node -> parent node ("" at the top)
  for (const auto& ou : cached_.ous) now[ou.id] = ou.parent_id;
  for (const auto& op : ops_) {
    if (op.kind == OpKind::kOuCreate) now[NodeOf(op.target)] = NodeOf(op.ou);
  }
  std::vector<const MoveCandidate*> pending;
  for (const auto& m : move_candidates_) {
    const bool to_in_scope = m.to.id.empty() || OuInScope(m.to.id);
    if (!to_in_scope || !OuInScope(m.existing->parent_id)) {
      RefuseMove(m, std::string("idsync moves a department only within the provisioning "
                                "scope, and the ") +
                        (to_in_scope ? "current" : "new") +
                        " parent is outside it: move it in the IDaaS console, or widen the "
                        "scope, then run idsync again");
      continue;
    }
    pending.push_back(&m);
  }
  std::map<std::string, std::string> final_parent = now;
  for (const MoveCandidate* m : pending) final_parent[m->existing->id] = NodeOf(m->to);
  auto settled = [&](const std::string& node) {
    std::string cur = node;
    for (size_t steps = 0; steps <= now.size(); ++steps) {
      auto it = now.find(cur);
      if (it == now.end()) return true;  // above the mirrored tree
      if (final_parent[cur] != it->second) return false;
      if (it->second.empty()) return true;
      cur = it->second;
    }
    return false;  // a cycle in the mirror itself
  };
  for (int round = 1; !pending.empty(); ++round) {
    std::vector<const MoveCandidate*> ready, later;
    for (const MoveCandidate* m : pending) {
      (settled(NodeOf(m->to)) ? ready : later).push_back(m);
    }
    if (ready.empty()) break;
    for (const MoveCandidate* m : ready) {
      now[m->existing->id] = NodeOf(m->to);
      Operation op = MakeOp(OpKind::kOuMove, Phase::kOuMove, EntityType::kOu,
                            {m->ou->key, m->existing->id}, m->ou->name);
      op.wave = round;
      op.ou = m->to;
      op.origin = m->ou->origin;
      op.changes.push_back({"parent", m->existing->parent_id,
                            m->to.id.empty() ? m->to.key : m->to.id});
      op.reason = "its parent changed in the source";
      Emit(std::move(op));
    }
    pending = std::move(later);
  }
  for (const MoveCandidate* m : pending) {
    RefuseMove(*m, "Moving it there would put it inside its own subtree (the new parent sits "
                   "below it in IDaaS, and nothing in this plan takes it out): move it in the "
                   "IDaaS console, then run idsync again");
  }
}

}  // namespace idsync::sync
