// Properties of department moves and of the quota guard over generated
// worlds (RapidCheck): random IDaaS trees (some departments above
// target.root_ou or beside it, out of scope), random source trees over the
// same keys plus new ones, moves allowed or not, small and large max_moves.
// The planner's order is replayed on a model of the tree, independently of
// the planner's own bookkeeping.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "idsync/sync/plan.h"
#include "plan_world.h"

namespace idsync::sync {
namespace {

struct TreeWorld {
  World w;
  std::set<std::string> in_scope;  // OU ids in the provisioning scope, by the test's own walk
};

// Departments K0..Kn exist in IDaaS (linked); the source places them and
// new ones N0..Nm in a random tree. IDaaS parents are chosen among earlier
// OUs so that the mirror is a tree; sometimes root_ou itself hangs below a
// managed department, and some departments sit beside the root, out of
// scope.
TreeWorld GenTreeWorld() {
  TreeWorld g;
  World& w = g.w;
  const int n_old = *rc::gen::inRange(1, 7);
  const int n_new = *rc::gen::inRange(0, 3);
  std::vector<std::string> ids;  // in IDaaS, earlier first
  const bool root_below = *rc::gen::weightedElement<bool>({{1, true}, {5, false}});
  const int root_after = root_below ? *rc::gen::inRange(0, n_old) : -1;
  std::vector<IdaasOu> cached;
  std::vector<Link> links;
  std::string top = kRoot;  // the scope's root
  if (root_below) {
    w.cached.ous.clear();
    top = "ou_base";
    w.cached.ous.push_back({"ou_base", "Base", "", "", "", "build_in", "idaas_x"});
    ids.push_back("ou_base");
  } else {
    ids.push_back(kRoot);
  }
  for (int i = 0; i < n_old; ++i) {
    const std::string key = "K" + std::to_string(i);
    std::string parent = *rc::gen::weightedElement<bool>({{1, true}, {6, false}})
                             ? ""  // beside everything: out of scope
                             : *rc::gen::elementOf(ids);
    w.CachedOu("ou_" + key, "Dept " + key, parent, key);
    ids.push_back("ou_" + key);
    if (i == root_after) {
      w.cached.ous.push_back({kRoot, "Root", *rc::gen::elementOf(ids), "", "", "build_in",
                              "idaas_x"});
      ids.push_back(kRoot);
    }
  }
  if (root_below && root_after < 0) {
    w.cached.ous.push_back({kRoot, "Root", "ou_base", "", "", "build_in", "idaas_x"});
  }
  w.cached.scope.ou_ids = {top};
  // The scope, walked here from the parent pointers.
  g.in_scope.insert(top);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& ou : w.cached.ous) {
      if (g.in_scope.count(ou.parent_id) && g.in_scope.insert(ou.id).second) grew = true;
    }
  }
  // The source: a random order, each department under an earlier one or at
  // the top (under target.root_ou).
  std::vector<std::string> keys;
  for (int i = 0; i < n_old; ++i) keys.push_back("K" + std::to_string(i));
  for (int i = 0; i < n_new; ++i) keys.push_back("N" + std::to_string(i));
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[*rc::gen::inRange<size_t>(0, i)]);
  }
  std::vector<std::string> placed;
  for (size_t i : order) {
    const bool top = placed.empty() || *rc::gen::weightedElement<bool>({{1, true}, {2, false}});
    std::string parent = top ? "" : *rc::gen::elementOf(placed);
    w.Ou(keys[i], "Dept " + keys[i], parent);
    placed.push_back(keys[i]);
  }
  w.policy.allow_ou_moves = *rc::gen::weightedElement<bool>({{3, true}, {1, false}});
  w.policy.max_moves_count = *rc::gen::inRange<int64_t>(0, 8);
  w.policy.max_moves_percent = *rc::gen::element(10.0, 50.0, 100.0, 100.0);
  return g;
}

// The mirror's tree plus the plan's creates and moves, replayed in plan
// order. Created OUs are named by key, as the plan refers to them.
struct TreeModel {
  std::map<std::string, std::string> parent;
  static std::string Node(const ObjectRef& r) { return r.id.empty() ? "new:" + r.key : r.id; }
  bool Exists(const std::string& node) const { return parent.count(node) > 0; }
  // Whether `ancestor` is `node` or above it.
  bool AtOrAbove(const std::string& ancestor, std::string node) const {
    for (size_t steps = 0; steps <= parent.size(); ++steps) {
      if (node == ancestor) return true;
      auto it = parent.find(node);
      if (node.empty() || it == parent.end()) return false;
      node = it->second;
    }
    return true;  // a cycle: as bad
  }
  std::vector<std::string> Chain(std::string node) const {
    std::vector<std::string> out;
    for (size_t steps = 0; steps <= parent.size() && !node.empty(); ++steps) {
      out.push_back(node);
      auto it = parent.find(node);
      if (it == parent.end()) break;
      node = it->second;
    }
    return out;
  }
};

TreeModel MirrorOf(const World& w) {
  TreeModel m;
  for (const auto& ou : w.cached.ous) m.parent[ou.id] = ou.parent_id;
  return m;
}

// Moves applied in plan order never put a department inside its own
// subtree; each move's new parent exists when the move runs (created or
// moved earlier in the order); moves of one wave never change the chain
// above another move's new parent, so they may run concurrently.
RC_GTEST_PROP(OuMoveProperty, MovesAppliedInPlanOrderNeverCycle, ()) {
  TreeWorld g = GenTreeWorld();
  Plan p = g.w.Compute();
  // How many worlds exercise what (printed by RapidCheck).
  const auto moves = p.CountsByKind()["ou.move"];
  const bool later_round = std::any_of(p.operations.begin(), p.operations.end(),
                                       [](const Operation& op) {
                                         return op.kind == OpKind::kOuMove && op.wave > 1;
                                       });
  const bool refused = std::any_of(p.conflicts.begin(), p.conflicts.end(), [](const Conflict& c) {
    return c.message.find("own subtree") != std::string::npos;
  });
  RC_CLASSIFY(moves > 0, "moves");
  RC_CLASSIFY(later_round, "a second round");
  RC_CLASSIFY(refused, "a move refused as a cycle");
  TreeModel tree = MirrorOf(g.w);
  std::map<int, std::set<std::string>> moved_in_wave;
  std::map<std::string, int> wave_of_move;  // by OU id
  for (const auto& op : p.operations) {
    if (op.kind != OpKind::kOuMove) continue;
    moved_in_wave[op.wave].insert(op.target.id);
    wave_of_move[op.target.id] = op.wave;
  }
  // Parents first: a move under a department that is moved too comes in a
  // later wave than that department's move.
  for (const auto& op : p.operations) {
    if (op.kind != OpKind::kOuMove || !wave_of_move.count(op.ou.id)) continue;
    RC_ASSERT(op.wave > wave_of_move[op.ou.id]);
  }
  int wave = -1;
  TreeModel before_wave = tree;
  for (const auto& op : p.operations) {
    if (op.kind == OpKind::kOuCreate) {
      RC_ASSERT(tree.Exists(TreeModel::Node(op.ou)));
      tree.parent[TreeModel::Node(op.target)] = TreeModel::Node(op.ou);
      continue;
    }
    if (op.kind != OpKind::kOuMove) continue;
    if (op.wave != wave) {
      RC_ASSERT(op.wave > wave);
      wave = op.wave;
      before_wave = tree;
    }
    const std::string to = TreeModel::Node(op.ou);
    RC_ASSERT(tree.Exists(to));
    RC_ASSERT(tree.Exists(op.target.id));
    RC_ASSERT(!tree.AtOrAbove(op.target.id, to));
    for (const auto& node : before_wave.Chain(to)) {
      RC_ASSERT(moved_in_wave[wave].count(node) == 0u);
    }
    tree.parent[op.target.id] = to;
  }
}

// A department is moved only within the provisioning scope: it, its current
// parent and its new parent (existing, or created in this run) are in it.
// Every move brings the department under the parent the source names.
RC_GTEST_PROP(OuMoveProperty, MovesStayInScopeAndFollowTheSource, ()) {
  TreeWorld g = GenTreeWorld();
  Plan p = g.w.Compute();
  std::map<std::string, std::string> source_parent;
  for (const auto& ou : g.w.source.ous) source_parent[ou.key] = ou.parent_key;
  std::vector<const Operation*> moves;
  for (const auto& op : p.operations) moves.push_back(&op);
  for (const auto& s : p.skipped) moves.push_back(&s.op);
  for (const Operation* op : moves) {
    if (op->kind != OpKind::kOuMove) continue;
    RC_ASSERT(g.in_scope.count(op->target.id) == 1u);
    RC_ASSERT(!op->changes.empty());
    RC_ASSERT(g.in_scope.count(op->changes[0].old_value) == 1u);
    if (!op->ou.id.empty()) RC_ASSERT(g.in_scope.count(op->ou.id) == 1u);
    RC_ASSERT(op->ou.key == source_parent[op->target.key]);
  }
}

// Without the flag there is no move, and the flag changes nothing but moves
// and ou_reparent conflicts: the rest of the plan is the same.
RC_GTEST_PROP(OuMoveProperty, TheFlagChangesOnlyMoves, ()) {
  TreeWorld g = GenTreeWorld();
  g.w.policy.allow_ou_moves = false;
  Plan off = g.w.Compute();
  for (const auto& op : off.operations) RC_ASSERT(op.kind != OpKind::kOuMove);
  for (const auto& s : off.skipped) RC_ASSERT(s.op.kind != OpKind::kOuMove);
  RC_ASSERT(Guard(off, "max_moves").value == 0);
  g.w.policy.allow_ou_moves = true;
  Plan on = g.w.Compute();
  auto strip = [](Plan p) {
    std::erase_if(p.operations, [](const Operation& op) { return op.kind == OpKind::kOuMove; });
    std::erase_if(p.skipped, [](const Skipped& s) { return s.op.kind == OpKind::kOuMove; });
    std::erase_if(p.conflicts,
                  [](const Conflict& c) { return c.kind == Conflict::Kind::kOuReparent; });
    std::erase_if(p.guards, [](const GuardVerdict& v) { return v.name == "max_moves"; });
    return p;
  };
  Plan a = strip(off), b = strip(on);
  RC_ASSERT(a.operations == b.operations);
  RC_ASSERT(a.skipped == b.skipped);
  RC_ASSERT(a.conflicts == b.conflicts);
  RC_ASSERT(a.guards == b.guards);
  // Every department that is a conflict without the flag is moved (or
  // withheld by max_moves), or still a conflict with it.
  std::set<std::string> reparent_off, handled_on;
  for (const auto& c : off.conflicts) {
    if (c.kind == Conflict::Kind::kOuReparent) reparent_off.insert(c.key);
  }
  for (const auto& c : on.conflicts) {
    if (c.kind == Conflict::Kind::kOuReparent) RC_ASSERT(handled_on.insert(c.key).second);
  }
  for (const auto& op : on.operations) {
    if (op.kind == OpKind::kOuMove) RC_ASSERT(handled_on.insert(op.target.key).second);
  }
  for (const auto& s : on.skipped) {
    if (s.op.kind == OpKind::kOuMove) RC_ASSERT(handled_on.insert(s.op.target.key).second);
  }
  RC_ASSERT(reparent_off == handled_on);
}

// max_moves counts every move and keeps no more than its limit; what it
// withholds comes after everything it keeps, in plan order.
RC_GTEST_PROP(OuMoveProperty, MaxMovesCountsAndKeepsAPrefix, ()) {
  TreeWorld g = GenTreeWorld();
  Plan p = g.w.Compute();
  const GuardVerdict& v = Guard(p, "max_moves");
  int64_t kept = 0, held = 0;
  int last_kept_wave = 0;
  for (const auto& op : p.operations) {
    if (op.kind != OpKind::kOuMove) continue;
    ++kept;
    last_kept_wave = std::max(last_kept_wave, op.wave);
  }
  for (const auto& s : p.skipped) {
    if (s.guard == "max_moves") {
      RC_ASSERT(s.op.kind == OpKind::kOuMove);
      RC_ASSERT(s.op.wave >= last_kept_wave);
      ++held;
    }
  }
  RC_ASSERT(v.value == kept + held);
  RC_ASSERT(kept <= v.limit);
  RC_ASSERT(v.tripped == (held > 0));
  RC_ASSERT(v.limit == std::min<int64_t>(g.w.policy.max_moves_count,
                                         std::max<int64_t>(1, static_cast<int64_t>(
                                             g.w.policy.max_moves_percent *
                                             static_cast<double>(p.managed_ous) / 100.0))));
}

// The quota guard keeps at most what is left of the quota, the first
// creates by key, and nothing kept refers to an account it withheld.
RC_GTEST_PROP(QuotaProperty, CreatesStayWithinTheQuotaAndNothingKeptNeedsAWithheldOne, ()) {
  World w;
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  const int n = *rc::gen::inRange(0, 12);
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) {
    const std::string key = "E" + std::to_string(*rc::gen::inRange(0, 100));
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    keys.push_back(key);
    const bool in_root = *rc::gen::arbitrary<bool>();
    DesiredUser& u = w.User(key, "user" + key, in_root ? kRootOuKey : "D1");
    if (in_root && *rc::gen::arbitrary<bool>()) u.extra_ou_keys = {"D1"};
  }
  for (int gi = 0; gi < 2; ++gi) {
    std::vector<std::string> members;
    for (const auto& k : keys) {
      if (*rc::gen::arbitrary<bool>()) members.push_back(k);
    }
    w.Group("G" + std::to_string(gi), "Group " + std::to_string(gi), members);
  }
  const int64_t max = *rc::gen::inRange<int64_t>(1, 20);
  const int64_t used = *rc::gen::inRange<int64_t>(0, 20);
  w.policy.account_quota = Policy::AccountQuota{used, max};
  Plan p = w.Compute();
  std::vector<std::string> created, withheld;
  for (const auto& op : p.operations) {
    if (op.kind == OpKind::kUserCreate) created.push_back(op.target.key);
  }
  for (const auto& s : p.skipped) {
    if (s.op.kind == OpKind::kUserCreate && s.guard == "quota") withheld.push_back(s.op.target.key);
  }
  const int64_t left = std::max<int64_t>(0, max - used);
  const GuardVerdict& v = Guard(p, "quota");
  RC_ASSERT(static_cast<int64_t>(created.size()) <= left);
  RC_ASSERT(v.value == static_cast<int64_t>(created.size() + withheld.size()));
  RC_ASSERT(v.limit == left);
  RC_ASSERT(v.tripped == !withheld.empty());
  std::sort(created.begin(), created.end());
  // (RC_ASSERT does not short-circuit ||.)
  for (const auto& k : withheld) {
    if (!created.empty()) RC_ASSERT(k > created.back());
  }
  std::set<std::string> gone(withheld.begin(), withheld.end());
  for (const auto& op : p.operations) {
    const bool uncreated_user = op.entity == EntityType::kUser && op.target.id.empty();
    RC_ASSERT(!(uncreated_user && gone.count(op.target.key)));
    for (const auto& r : op.refs) {
      RC_ASSERT(!(op.entity == EntityType::kGroup && r.id.empty() && gone.count(r.key)));
    }
  }
}

}  // namespace
}  // namespace idsync::sync
