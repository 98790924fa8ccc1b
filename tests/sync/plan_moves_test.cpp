// Department moves (Policy::allow_ou_moves), the max_moves guard and the
// account quota guard: examples. The properties over generated trees are in
// plan_moves_property_test.cpp.
#include <gtest/gtest.h>

#include "idsync/sync/plan.h"
#include "plan_world.h"

namespace idsync::sync {
namespace {

using V = std::vector<std::string>;

// IDaaS: root > Engineering (D1), root > Sales (D2), all linked and in sync.
World TwoDepartments() {
  World w;
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  w.Ou("D2", "Sales");
  w.CachedOu("ou_d2", "Sales", kRoot, "D2");
  return w;
}

const Skipped* SkippedOp(const Plan& p, OpKind kind, const std::string& key) {
  for (const auto& s : p.skipped) {
    if (s.op.kind == kind && s.op.target.key == key) return &s;
  }
  return nullptr;
}

TEST(OuMoveTest, WithoutAdminCredentialsAChangedParentStaysAConflict) {
  World w = TwoDepartments();
  w.source.ous[1].parent_key = "D1";
  Plan p = w.Compute();
  EXPECT_TRUE(Ops(p).empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kOuReparent);
  EXPECT_NE(p.conflicts[0].message.find("cannot move an OU"), std::string::npos);
  EXPECT_EQ(Guard(p, "max_moves").value, 0);
}

TEST(OuMoveTest, AChangedParentIsMovedWhenMovesAreAllowed) {
  World w = TwoDepartments();
  w.policy.allow_ou_moves = true;
  w.source.ous[1].parent_key = "D1";
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (V{"ou.move D2"}));
  const Operation& move = p.operations[0];
  EXPECT_EQ(move.phase, Phase::kOuMove);
  EXPECT_EQ(move.wave, 1);
  EXPECT_EQ(move.target, (ObjectRef{"D2", "ou_d2"}));
  EXPECT_EQ(move.ou, (ObjectRef{"D1", "ou_d1"}));
  EXPECT_EQ(move.changes, (std::vector<FieldChange>{{"parent", kRoot, "ou_d1"}}));
  EXPECT_TRUE(IsApiWrite(move.kind));
  EXPECT_TRUE(p.conflicts.empty());
  EXPECT_FALSE(p.AnyGuardTripped());
  EXPECT_EQ(Guard(p, "max_moves").value, 1);
}

// The new parent is created in this run: its create (ou-create phase) comes
// before the move, which refers to it by key.
TEST(OuMoveTest, AMoveUnderANewDepartmentFollowsItsCreate) {
  World w = TwoDepartments();
  w.policy.allow_ou_moves = true;
  w.Ou("D3", "Field sales", "D1");
  w.source.ous[1].parent_key = "D3";
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (V{"ou.create D3", "ou.move D2"}));
  EXPECT_EQ(p.operations[1].ou, (ObjectRef{"D3", ""}));
  EXPECT_EQ(p.operations[1].changes[0].new_value, "D3");
}

// IDaaS has D1 > D2; the source turned it round (D2 > D1). Moving D1 first
// would put it inside its own child: D2 goes up first, then D1 under it.
TEST(OuMoveTest, AnInvertedPairIsOrderedSoThatNoMoveCycles) {
  World w;
  w.policy.allow_ou_moves = true;
  w.policy.max_moves_percent = 100;
  w.Ou("D1", "Engineering", "D2");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  w.Ou("D2", "Platform");
  w.CachedOu("ou_d2", "Platform", "ou_d1", "D2");
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (V{"ou.move D2", "ou.move D1"}));
  EXPECT_EQ(p.operations[0].wave, 1);
  EXPECT_EQ(p.operations[0].ou, (ObjectRef{"", kRoot}));
  EXPECT_EQ(p.operations[1].wave, 2);
  EXPECT_EQ(p.operations[1].ou, (ObjectRef{"D2", "ou_d2"}));
  EXPECT_TRUE(p.conflicts.empty());
}

// target.root_ou sits inside a managed department in IDaaS, and the source
// puts that department under the root: no order can do it.
TEST(OuMoveTest, AMoveIntoItsOwnSubtreeIsAConflictThatSaysSo) {
  World w;
  w.policy.allow_ou_moves = true;
  w.cached.ous.clear();
  w.cached.ous.push_back({"ou_base", "Base", "", "", "", "build_in", "idaas_x"});
  w.CachedOu("ou_top", "Top", "ou_base", "T");
  w.cached.ous.push_back({kRoot, "Root", "ou_top", "", "", "build_in", "idaas_x"});
  w.cached.scope.ou_ids = {"ou_base"};
  w.Ou("T", "Top");
  Plan p = w.Compute();
  EXPECT_TRUE(Ops(p).empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kOuReparent);
  EXPECT_NE(p.conflicts[0].message.find("inside its own subtree"), std::string::npos);
}

// A department goes only where the application may write: both ends of a
// move must be in the provisioning scope.
TEST(OuMoveTest, AMoveOutOfTheScopeIsAConflict) {
  World w = TwoDepartments();
  w.policy.allow_ou_moves = true;
  w.CachedOu("ou_x", "Elsewhere", "", "X");  // beside the root, not in scope
  w.Ou("X", "Elsewhere");
  w.source.ous[1].parent_key = "X";
  Plan p = w.Compute();
  EXPECT_EQ(Find(p, OpKind::kOuMove, "D2"), nullptr);
  bool refused = false;
  for (const auto& c : p.conflicts) {
    if (c.key == "D2" && c.kind == Conflict::Kind::kOuReparent) {
      refused = c.message.find("provisioning scope") != std::string::npos;
    }
  }
  EXPECT_TRUE(refused) << ::testing::PrintToString(p.conflicts.size());
}

TEST(OuMoveTest, MaxMovesWithholdsTheMovesBeyondTheLimitInPlanOrder) {
  World w = TwoDepartments();
  w.policy.allow_ou_moves = true;
  w.policy.max_moves_count = 2;
  w.policy.max_moves_percent = 100;
  w.Ou("D0", "Hub");
  w.CachedOu("ou_d0", "Hub", kRoot, "D0");
  w.Ou("D3", "Legal");
  w.CachedOu("ou_d3", "Legal", kRoot, "D3");
  for (auto& ou : w.source.ous) {
    if (ou.key != "D0") ou.parent_key = "D0";
  }
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"ou.move D1", "ou.move D2"}));
  const GuardVerdict& g = Guard(p, "max_moves");
  EXPECT_TRUE(g.tripped);
  EXPECT_EQ(g.value, 3);
  EXPECT_EQ(g.limit, 2);
  const Skipped* held = SkippedOp(p, OpKind::kOuMove, "D3");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->guard, "max_moves");
}

TEST(OuMoveTest, MaxMovesIsAlsoBoundedByThePercentOfManagedOus) {
  World w = TwoDepartments();
  w.policy.allow_ou_moves = true;
  w.policy.max_moves_count = 100;
  w.policy.max_moves_percent = 10;  // of 2 managed OUs: at least 1
  w.Ou("D0", "Hub");
  w.source.ous[0].parent_key = "D0";
  w.source.ous[1].parent_key = "D0";
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"ou.create D0", "ou.move D1"}));
  EXPECT_EQ(Guard(p, "max_moves").limit, 1);
  EXPECT_TRUE(Guard(p, "max_moves").tripped);
}

// ---- quota ---------------------------------------------------------------

World ThreeNewPeople() {
  World w;
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  w.User("E3", "cy");
  w.User("E1", "ann");
  w.User("E2", "bob");
  w.Group("G1", "Admins", {"E1", "E2", "E3"});
  return w;
}

TEST(QuotaTest, UnknownQuotaWithholdsNothing) {
  Plan p = ThreeNewPeople().Compute();
  const GuardVerdict& g = Guard(p, "quota");
  EXPECT_FALSE(g.tripped);
  EXPECT_EQ(g.value, 3);
  EXPECT_NE(g.message.find("unknown"), std::string::npos);
}

// Within the quota, or with no maximum reported (0 is not a full tenant),
// every create goes ahead.
TEST(QuotaTest, CreatesWithinTheQuotaOrWithNoReportedMaximumGoAhead) {
  for (auto quota : {Policy::AccountQuota{7, 10}, Policy::AccountQuota{5, 0}}) {
    World w = ThreeNewPeople();
    w.policy.account_quota = quota;
    Plan p = w.Compute();
    EXPECT_FALSE(Guard(p, "quota").tripped) << quota.max;
    EXPECT_EQ(p.CountsByKind()["user.create"], 3) << quota.max;
  }
}

// Beyond the quota, the first creates by source key go ahead and the rest
// are withheld with what needs them (their group memberships).
TEST(QuotaTest, CreatesBeyondTheQuotaAreWithheldByKeyWithTheirMemberships) {
  World w = ThreeNewPeople();
  w.policy.account_quota = Policy::AccountQuota{9, 10};
  Plan p = w.Compute();
  const GuardVerdict& g = Guard(p, "quota");
  EXPECT_TRUE(g.tripped);
  EXPECT_EQ(g.value, 3);
  EXPECT_EQ(g.limit, 1);
  EXPECT_EQ(Ops(p), (V{"user.create E1", "group.create G1", "group.members.add G1"}));
  const Operation* add = Find(p, OpKind::kGroupAddMembers, "G1");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->refs, (std::vector<ObjectRef>{{"E1", ""}}));
  std::vector<std::string> held;
  for (const auto& s : p.skipped) {
    EXPECT_EQ(s.guard, "quota");
    held.push_back(s.op.id);
  }
  EXPECT_EQ(held, (V{"user.create:E2", "user.create:E3", "group.members.add:G1:0:quota"}));
  const Skipped* members = SkippedOp(p, OpKind::kGroupAddMembers, "G1");
  ASSERT_NE(members, nullptr);
  EXPECT_EQ(members->op.refs, (std::vector<ObjectRef>{{"E2", ""}, {"E3", ""}}));
}

TEST(QuotaTest, AFullQuotaWithholdsEveryCreate) {
  World w = ThreeNewPeople();
  w.policy.account_quota = Policy::AccountQuota{12, 10};  // over already
  Plan p = w.Compute();
  EXPECT_EQ(Guard(p, "quota").limit, 0);
  EXPECT_EQ(p.CountsByKind()["user.create"], 0);
}

}  // namespace
}  // namespace idsync::sync
