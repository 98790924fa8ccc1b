// Planner tests: every operation kind, every guard, scope, ownership,
// correlation conflicts, lifecycle with a fixed clock, deterministic order.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "idsync/sync/plan.h"
#include "plan_world.h"

namespace idsync::sync {
namespace {

using V = std::vector<std::string>;

TEST(PlanTest, FirstRunCreatesInPhaseOrder) {
  World w;
  w.Ou("D1", "Engineering");
  w.Ou("D2", "Platform", "D1");
  w.User("E2", "bob", "D2");
  w.User("E1", "alice", "D1");
  w.Group("G1", "Admins", {"E1", "E2"});
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"ou.create D1", "ou.create D2", "user.create E1", "user.create E2",
                       "group.create G1", "group.members.add G1"}));
  EXPECT_FALSE(p.AnyGuardTripped());
  EXPECT_TRUE(p.conflicts.empty());
  const Operation* d2 = Find(p, OpKind::kOuCreate, "D2");
  ASSERT_NE(d2, nullptr);
  EXPECT_EQ(d2->wave, 1);  // a child waits for its parent
  EXPECT_EQ(d2->ou, (ObjectRef{"D1", ""}));
  const Operation* d1 = Find(p, OpKind::kOuCreate, "D1");
  EXPECT_EQ(d1->ou, (ObjectRef{"", kRoot}));
  const Operation* e1 = Find(p, OpKind::kUserCreate, "E1");
  ASSERT_NE(e1, nullptr);
  EXPECT_EQ(e1->ou, (ObjectRef{"D1", ""}));
  EXPECT_EQ(e1->changes, (std::vector<FieldChange>{{"username", "", "alice"},
                                                   {"display_name", "", "Name alice"},
                                                   {"email", "", "alice@example.com"},
                                                   {"primary_ou", "", "D1"}}));
  const Operation* add = Find(p, OpKind::kGroupAddMembers, "G1");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->refs, (std::vector<ObjectRef>{{"E1", ""}, {"E2", ""}}));
}

// Builds a world where IDaaS already matches the source exactly.
World InSync() {
  World w;
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  w.User("E1", "alice");
  w.CachedUser("user_a", "alice", "ou_d1", "E1");
  w.User("E2", "bob");
  w.CachedUser("user_b", "bob", "ou_d1", "E2");
  w.Group("G1", "Admins", {"E1"});
  w.CachedGroup("group_1", "Admins", {"user_a"}, "G1");
  return w;
}

TEST(PlanTest, InSyncMeansNoOperations) {
  World w = InSync();
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  EXPECT_TRUE(p.skipped.empty());
  EXPECT_TRUE(p.conflicts.empty());
  EXPECT_EQ(p.ApiWrites(), 0);
  EXPECT_EQ(p.managed_users, 2);
}

// Every guard leaves a verdict, in the order status and metrics list them.
TEST(GuardTest, EveryGuardLeavesAVerdictInTheDocumentedOrder) {
  Plan p = InSync().Compute();
  std::vector<std::string> names;
  for (const auto& g : p.guards) names.push_back(g.name);
  EXPECT_EQ(names, std::vector<std::string>(std::begin(kGuardNames), std::end(kGuardNames)));
}

TEST(PlanTest, PatchCarriesOnlyMappedFieldsThatDiffer) {
  World w = InSync();
  w.source.users[0].display_name = "Alice Liddell";
  w.users[1].phone_number = "13800000000";  // phone is not mapped: left alone
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (V{"user.patch E1"}));
  EXPECT_EQ(p.operations[0].changes,
            (std::vector<FieldChange>{{"display_name", "Name alice", "Alice Liddell"}}));
  EXPECT_EQ(p.operations[0].target.id, "user_a");
}

// The daemon builds the cached state's index ahead, while the source is
// read (CachedIndex): planned with it, the plan is the one ComputePlan makes
// alone; an index of another state is never used.
TEST(PlanTest, AnIndexBuiltAheadPlansAsWithoutAndOneOfAnotherStateIsIgnored) {
  World w = InSync();
  w.source.users[0].display_name = "Alice Liddell";
  const CachedState state = w.State();
  const Plan alone = ComputePlan(w.source, state, w.cached.scope, w.policy, kNow);
  ASSERT_EQ(Ops(alone), (V{"user.patch E1"}));

  const CachedIndex index(state);
  const Plan ahead = ComputePlan(w.source, state, w.cached.scope, w.policy, kNow, &index);
  EXPECT_EQ(Ops(ahead), Ops(alone));
  EXPECT_EQ(ahead.operations[0].changes, alone.operations[0].changes);
  EXPECT_EQ(ahead.managed_users, alone.managed_users);

  const CachedState empty;
  const CachedIndex other(empty);  // as if built before a refresh
  const Plan ignored = ComputePlan(w.source, state, w.cached.scope, w.policy, kNow, &other);
  EXPECT_EQ(Ops(ignored), Ops(alone));
  EXPECT_EQ(ignored.managed_users, alone.managed_users);
}

TEST(PlanTest, CustomFieldsArePatchedWhenMapped) {
  World w = InSync();
  w.source.mapped_fields.push_back(UserField::kCustomFields);
  w.source.users[0].custom_fields = {{"cost_center", "CC1"}};
  w.source.users[1].custom_fields = {{"cost_center", "CC2"}};
  w.users[1].custom_fields = {{"cost_center", "CC2"}};
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (V{"user.patch E1"}));
  EXPECT_EQ(p.operations[0].changes,
            (std::vector<FieldChange>{{"custom.cost_center", "", "CC1"}}));
}

TEST(PlanTest, PrimaryOuMoveAndSecondaryOus) {
  World w = InSync();
  w.Ou("D2", "Sales");
  w.CachedOu("ou_d2", "Sales", kRoot, "D2");
  w.CachedOu("ou_hand", "Hand made");  // not managed: memberships there stay
  w.source.users[0].primary_ou_key = "D2";
  w.source.users[0].extra_ou_keys = {"D1"};
  w.users[1].ou_ids = {"ou_d1", "ou_d2", "ou_hand"};
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"user.set_primary_ou E1", "user.add_ous E1", "user.remove_ous E2"}));
  EXPECT_EQ(p.operations[0].wave, 1);
  EXPECT_EQ(p.operations[1].wave, 2);
  const Operation* move = Find(p, OpKind::kUserSetPrimaryOu, "E1");
  EXPECT_EQ(move->ou, (ObjectRef{"D2", "ou_d2"}));
  // The API drops the old primary when moving, so D1 is re-added as secondary.
  EXPECT_EQ(Find(p, OpKind::kUserAddOus, "E1")->refs, (std::vector<ObjectRef>{{"D1", "ou_d1"}}));
  EXPECT_EQ(Find(p, OpKind::kUserRemoveOus, "E2")->refs,
            (std::vector<ObjectRef>{{"D2", "ou_d2"}}));
}

TEST(PlanTest, SourceStatusDrivesEnableAndDisable) {
  World w = InSync();
  w.source.users[0].enabled = false;
  w.users[1].enabled = false;
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"user.enable E2", "user.disable E1"}));
  EXPECT_EQ(Find(p, OpKind::kUserDisable, "E1")->reason, "disabled in the source");
}

TEST(PlanTest, DisabledSourceRecordIsNotCreated) {
  World w = InSync();
  w.User("E3", "carol").enabled = false;
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty());
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].reason, "disabled in the source: not created");
}

struct LifecycleCase {
  const char* name;
  Policy::OnMissing on_missing;
  bool enabled;
  int64_t missing_since;
  V expected;
};

TEST(PlanTest, LifecycleOfAMissingUser) {
  const LifecycleCase cases[] = {
      {"disable first", Policy::OnMissing::kDisable, true, 0, {"user.disable E2"}},
      {"mark an already disabled account", Policy::OnMissing::kDisable, false, 0,
       {"user.mark_missing E2"}},
      {"wait for delete_after", Policy::OnMissing::kDisable, false, kNow - 29 * kDay, {}},
      {"delete after delete_after", Policy::OnMissing::kDisable, false, kNow - 30 * kDay,
       {"user.delete E2"}},
      {"delete at once", Policy::OnMissing::kDelete, true, 0, {"user.delete E2"}},
      {"ignore", Policy::OnMissing::kIgnore, true, 0, {}},
  };
  for (const auto& c : cases) {
    World w = InSync();
    // Many managed users so that one disable stays under max_deletes.
    for (int i = 0; i < 40; ++i) {
      std::string k = "K" + std::to_string(100 + i);
      w.User(k, "u" + k);
      w.CachedUser("user_" + k, "u" + k, "ou_d1", k);
    }
    w.source.users.erase(w.source.users.begin() + 1);  // E2 leaves
    w.policy.on_missing = c.on_missing;
    w.users[1].enabled = c.enabled;
    w.LinkOf("E2").missing_since_ms = c.missing_since;
    Plan p = w.Compute();
    EXPECT_EQ(Ops(p), c.expected) << c.name;
    EXPECT_FALSE(p.AnyGuardTripped()) << c.name;
  }
}

TEST(PlanTest, DisableForMissingRecordsWhenItStarted) {
  World w = InSync();
  for (int i = 0; i < 40; ++i) {
    std::string k = "K" + std::to_string(100 + i);
    w.User(k, "u" + k);
    w.CachedUser("user_" + k, "u" + k, "ou_d1", k);
  }
  w.source.users.erase(w.source.users.begin() + 1);
  Plan p = w.Compute();
  const Operation* op = Find(p, OpKind::kUserDisable, "E2");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->reason, "missing from the source");
  EXPECT_EQ(op->changes, (std::vector<FieldChange>{{"enabled", "true", "false"},
                                                   {"missing_since", "0", std::to_string(kNow)}}));
}

TEST(PlanTest, ReturningUserIsEnabledAndUnmarked) {
  World w = InSync();
  w.users[1].enabled = false;
  w.LinkOf("E2").missing_since_ms = kNow - 3 * kDay;
  w.LinkOf("E2").disabled_by_idsync = true;
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"user.mark_missing E2", "user.enable E2"}));
  EXPECT_EQ(Find(p, OpKind::kUserEnable, "E2")->reason, "back in the source");
}

TEST(PlanTest, RejectedRecordIsNotTreatedAsMissing) {
  World w = InSync();
  w.source.users.erase(w.source.users.begin() + 1);
  w.source.rejected.push_back({{"src.csv", 3}, "E2", "email", "invalid email"});
  w.policy.max_invalid_percent = 100;
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  EXPECT_EQ(p.invalid.size(), 1u);
}

TEST(PlanTest, AdoptsByExternalIdThenBySoftMatch) {
  World w;
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot);  // adopted by name under the root
  w.User("E1", "alice");
  w.CachedUser("user_a", "alice-old", "ou_d1").external_id = "E1";
  w.User("E2", "bob");
  w.CachedUser("user_b", "bob", "ou_d1");  // no anchor: soft match by username
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"adopt D1", "adopt E1", "user.patch E1", "adopt E2"}));
  EXPECT_EQ(Find(p, OpKind::kAdopt, "E1")->reason, "matched by external id");
  EXPECT_EQ(Find(p, OpKind::kAdopt, "E2")->reason, "matched by username");
  EXPECT_EQ(Find(p, OpKind::kAdopt, "D1")->reason, "matched by name under the same parent");
  EXPECT_TRUE(p.unmanaged.empty());
}

TEST(PlanTest, AmbiguousSoftMatchIsAConflictNeverAWrite) {
  World w = InSync();
  w.User("E3", "carol").email = "shared@example.com";
  w.CachedUser("user_c1", "carol", "ou_d1");
  w.CachedUser("user_c2", "carol2", "ou_d1").email = "shared@example.com";
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kAmbiguousMatch);
  EXPECT_EQ(p.conflicts[0].ids, (V{"user_c1", "user_c2"}));
}

TEST(PlanTest, UsernameTakenByUnmanagedAccount) {
  World w = InSync();
  w.User("E3", "carol");
  // Anchored by another source: never soft-matched, and it keeps the name.
  w.CachedUser("user_c", "carol", "ou_d1").external_id = "dingtalk-77";
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kTakenByUnmanaged);
  EXPECT_NE(p.conflicts[0].message.find("username 'carol' is already used"), std::string::npos);
  ASSERT_EQ(p.unmanaged.size(), 1u);
  EXPECT_EQ(p.unmanaged[0].id, "user_c");
}

// Sent together, the second rename would race the first and get 409: it
// waits one cycle, when the name is free.
TEST(PlanTest, ARenameTakingANameGivenUpInTheSameRunWaitsForTheNextCycle) {
  World w = InSync();
  w.source.mapped_fields = {UserField::kUsername};
  w.source.users[0].username = "bob2";
  w.source.users[1].username = "alice";  // bob takes alice's old name
  Plan p = w.Compute();
  EXPECT_TRUE(p.conflicts.empty()) << p.conflicts[0].message;
  EXPECT_EQ(Ops(p), (V{"user.patch E1"}));
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].op.target.key, "E2");
  EXPECT_NE(p.skipped[0].reason.find("waits for account user_a to give up username 'alice'"),
            std::string::npos)
      << p.skipped[0].reason;
}

// A swap can never succeed as two patches: it is a conflict, every cycle,
// until a person breaks it.
TEST(PlanTest, SwappingTwoUsernamesIsAConflictNotTwoFailingPatches) {
  World w = InSync();
  w.source.mapped_fields = {UserField::kUsername};
  w.source.users[0].username = "bob";
  w.source.users[1].username = "alice";
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 2u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kRenameCycle);
  EXPECT_EQ(p.conflicts[1].kind, Conflict::Kind::kRenameCycle);
  EXPECT_NE(p.conflicts[0].message.find("temporary value"), std::string::npos);
}

// E-mails and phone numbers are unique too: swapping either is the same
// conflict.
TEST(PlanTest, SwappingTwoEmailsOrPhoneNumbersIsAConflictToo) {
  for (const UserField f : {UserField::kEmail, UserField::kPhoneNumber}) {
    SCOPED_TRACE(std::string(UserFieldName(f)));
    World w = InSync();
    w.source.mapped_fields = {UserField::kUsername, f};
    if (f == UserField::kEmail) {
      w.source.users[0].email = "bob@example.com";
      w.source.users[1].email = "alice@example.com";
    } else {
      w.users[0].phone_number = "13800000001";
      w.users[1].phone_number = "13800000002";
      w.source.users[0].phone_number = "13800000002";
      w.source.users[1].phone_number = "13800000001";
    }
    Plan p = w.Compute();
    EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
    ASSERT_EQ(p.conflicts.size(), 2u);
    EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kRenameCycle);
    EXPECT_EQ(p.conflicts[1].kind, Conflict::Kind::kRenameCycle);
  }
}

// A new account taking a name that an existing one gives up in this run
// would be created (user-create phase) before the rename (user-update): it
// waits for the next cycle.
TEST(PlanTest, ACreateTakingANameGivenUpInTheSameRunWaitsForTheNextCycle) {
  World w = InSync();
  w.source.users[0].username = "alice.old";
  w.source.users[0].email = "alice.old@example.com";
  w.User("E3", "alice");
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"user.patch E1"}));
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].op.kind, OpKind::kUserCreate);
}

TEST(PlanTest, DuplicateUsernameInSourceWritesNeither) {
  World w = InSync();
  w.User("E3", "dup");
  w.User("E4", "DUP");
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty());
  ASSERT_EQ(p.conflicts.size(), 2u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kDuplicateSource);
}

// Linked records too: the one that would take the other's username is not
// patched, and neither account is otherwise written or left as missing.
TEST(PlanTest, DuplicateUsernameAmongLinkedRecordsWritesNeither) {
  World w = InSync();
  w.source.users[1].username = "ALICE";       // E2, linked to bob's account
  w.source.users[0].display_name = "changed";  // E1 would be patched alone
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 2u);
  for (const Conflict& c : p.conflicts) {
    EXPECT_EQ(c.kind, Conflict::Kind::kDuplicateSource);
  }
  EXPECT_EQ(p.conflicts[0].key, "E1");
  EXPECT_EQ(p.conflicts[1].key, "E2");
}

TEST(PlanTest, WritesOutsideTheScopeAreSkipped) {
  World w = InSync();
  w.CachedOu("ou_outside", "Elsewhere", "ou_other_root", "D9");
  w.Ou("D9", "Elsewhere");
  w.source.users[1].display_name = "changed";
  w.users[1].primary_ou_id = "ou_outside";
  w.users[1].ou_ids = {"ou_outside"};
  w.source.users[1].primary_ou_key = "D9";
  w.CachedGroup("group_x", "Ext", {}, "G9");
  w.LinkOf("G9").ownership = Ownership::kAdopted;  // not created by idsync
  w.Group("G9", "Ext renamed", {});
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.skipped.size(), 3u);
  for (const auto& s : p.skipped) {
    EXPECT_TRUE(s.reason.starts_with("out of scope")) << s.reason;
  }
}

TEST(PlanTest, GroupsCreatedByIdsyncStayInScope) {
  World w = InSync();
  w.source.groups[0].name = "Admins2";
  Plan p = w.Compute();  // group_1 is not in scope.group_ids but idsync created it
  EXPECT_EQ(Ops(p), (V{"group.patch G1"}));
}

TEST(PlanTest, RootOutsideTheScopeSkipsEveryCreate) {
  World w;
  w.cached.scope.ou_ids = {"ou_elsewhere"};
  w.Ou("D1", "Engineering");
  w.User("E1", "alice");
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty());
  ASSERT_EQ(p.skipped.size(), 2u);
  EXPECT_TRUE(p.skipped[0].reason.starts_with("out of scope: target.root_ou"));
  EXPECT_EQ(p.skipped[1].reason, "primary OU 'D1' is not available");
}

TEST(PlanTest, OuRenameAndReparent) {
  World w = InSync();
  w.Ou("D2", "Sales");
  w.CachedOu("ou_d2", "Sales", kRoot, "D2");
  w.source.ous[0].name = "R&D";        // renamed
  w.source.ous[1].parent_key = "D1";   // moved under D1
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"ou.patch D1"}));
  EXPECT_EQ(p.operations[0].changes,
            (std::vector<FieldChange>{{"name", "Engineering", "R&D"}}));
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kOuReparent);
  EXPECT_NE(p.conflicts[0].message.find("cannot move an OU"), std::string::npos);
}

TEST(PlanTest, OuDeletesGoChildrenFirstAndWaitForMembers) {
  World w = InSync();
  w.CachedOu("ou_p", "Parent", kRoot, "P");
  w.CachedOu("ou_c", "Child", "ou_p", "C");
  w.CachedOu("ou_full", "Full", kRoot, "F");
  w.CachedUser("user_hand", "hand", "ou_full");  // an unmanaged member
  w.policy.max_deletes_percent = 100;
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"ou.delete C", "ou.delete P"}));
  EXPECT_LT(Find(p, OpKind::kOuDelete, "C")->wave, Find(p, OpKind::kOuDelete, "P")->wave);
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].op.target.key, "F");
  EXPECT_NE(p.skipped[0].reason.find("still has 1 member(s)"), std::string::npos);
}

TEST(PlanTest, MembershipChangesComeInChunksOfAHundred) {
  World w = InSync();
  std::vector<std::string> members;
  for (int i = 0; i < 250; ++i) {
    std::string k = "M" + std::to_string(1000 + i);
    w.User(k, "m" + k);
    w.CachedUser("user_" + k, "m" + k, "ou_d1", k);
    members.push_back(k);
  }
  w.source.groups[0].member_keys = members;  // E1 leaves the group
  Plan p = w.Compute();
  V expected = {"group.members.add G1", "group.members.add G1", "group.members.add G1",
                "group.members.remove G1"};
  EXPECT_EQ(Ops(p), expected);
  EXPECT_EQ(p.operations[0].refs.size(), 100u);
  EXPECT_EQ(p.operations[1].refs.size(), 100u);
  EXPECT_EQ(p.operations[2].refs.size(), 50u);
  EXPECT_EQ(p.operations[2].id, "group.members.add:G1:2");
  EXPECT_EQ(p.operations[3].refs, (std::vector<ObjectRef>{{"E1", "user_a"}}));
}

TEST(PlanTest, HandAddedGroupMembersStay) {
  World w = InSync();
  w.CachedUser("user_hand", "hand", "ou_d1");
  w.cached.groups[0].member_ids = {"user_a", "user_hand"};
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
}

TEST(PlanTest, GroupMissingFromSourceIsDeleted) {
  World w = InSync();
  w.source.groups.clear();
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"group.delete G1"}));
}

TEST(PlanTest, StaleLinkRecreates) {
  World w = InSync();
  w.users.erase(w.users.begin());  // user_a was deleted by someone in IDaaS
  w.cached.groups[0].member_ids.clear();
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"user.create E1", "group.members.add G1"}));
  EXPECT_NE(p.operations[0].reason.find("no longer exists"), std::string::npos);
}

// ---- guards ---------------------------------------------------------------

World ManagedPopulation(int n) {
  World w;
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  for (int i = 0; i < n; ++i) {
    std::string k = "E" + std::to_string(1000 + i);
    w.User(k, "u" + k);
    w.CachedUser("user_" + k, "u" + k, "ou_d1", k);
  }
  return w;
}

int64_t CountKind(const Plan& p, OpKind k) {
  return std::count_if(p.operations.begin(), p.operations.end(),
                       [k](const Operation& op) { return op.kind == k; });
}

TEST(GuardTest, EmptySourceDisablesNobody) {
  World w = ManagedPopulation(50);
  w.source.users.clear();
  w.source.records_read = 0;
  Plan p = w.Compute();
  EXPECT_TRUE(Guard(p, "empty_source").tripped);
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0);
  EXPECT_EQ(CountKind(p, OpKind::kUserDelete), 0);
  EXPECT_EQ(p.skipped.size(), 50u);
  EXPECT_EQ(p.skipped[0].guard, "empty_source");

  w.policy.allow_empty_source = true;
  w.policy.max_deletes_count = 1000;
  w.policy.max_deletes_percent = 100;
  p = w.Compute();
  EXPECT_FALSE(Guard(p, "empty_source").tripped);
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 50);
}

TEST(GuardTest, TruncatedSourceTripsNearEmptyAndMaxDeletes) {
  World w = ManagedPopulation(50);
  w.source.users.resize(20);  // cut to 40 %
  w.source.records_read = 20;
  Plan p = w.Compute();
  EXPECT_TRUE(Guard(p, "near_empty_source").tripped);
  EXPECT_EQ(Guard(p, "near_empty_source").value, 20);
  EXPECT_EQ(Guard(p, "near_empty_source").limit, 25);  // 50 % of 50
  EXPECT_EQ(p.skipped.size(), 30u);
  EXPECT_EQ(p.skipped[0].guard, "near_empty_source");
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0);
  EXPECT_EQ(CountKind(p, OpKind::kUserMarkMissing), 0);
  EXPECT_TRUE(p.AnyGuardTripped());

  // The override lets exactly this run through.
  w.policy.allow_deletes = 30;
  p = w.Compute();
  EXPECT_FALSE(p.AnyGuardTripped());
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 30);
  w.policy.allow_deletes = 29;
  p = w.Compute();
  EXPECT_TRUE(p.AnyGuardTripped());
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0);

  // Without the near-empty guard, max_deletes alone still stops it.
  w.policy.allow_deletes = -1;
  w.policy.min_source_percent = 0;
  p = w.Compute();
  EXPECT_FALSE(Guard(p, "near_empty_source").tripped);
  EXPECT_TRUE(Guard(p, "max_deletes.user").tripped);
  EXPECT_EQ(Guard(p, "max_deletes.user").value, 30);
  EXPECT_EQ(Guard(p, "max_deletes.user").limit, 2);  // 5 % of 50
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0);
}

TEST(GuardTest, MaxDeletesCountAndPercent) {
  struct Case {
    int managed;
    int leaving;
    int64_t count;
    double percent;
    bool tripped;
  };
  const Case cases[] = {
      {100, 5, 500, 5, false},   // exactly 5 %
      {100, 6, 500, 5, true},    // above 5 %
      {100, 6, 5, 100, true},    // above the count
      {10, 1, 500, 5, false},    // one departure is always allowed
      {10, 2, 500, 5, true},
  };
  for (const auto& c : cases) {
    World w = ManagedPopulation(c.managed);
    w.source.users.resize(static_cast<size_t>(c.managed - c.leaving));
    w.policy.max_deletes_count = c.count;
    w.policy.max_deletes_percent = c.percent;
    w.policy.min_source_percent = 0;
    Plan p = w.Compute();
    EXPECT_EQ(Guard(p, "max_deletes.user").tripped, c.tripped)
        << c.managed << "/" << c.leaving << ": " << Guard(p, "max_deletes.user").message;
    EXPECT_EQ(CountKind(p, OpKind::kUserDisable), c.tripped ? 0 : c.leaving);
  }
}

TEST(GuardTest, GuardBlocksOnlyItsKind) {
  World w = ManagedPopulation(20);
  w.source.users.resize(10);
  w.policy.min_source_percent = 0;
  w.User("NEW", "newcomer");
  Plan p = w.Compute();
  EXPECT_TRUE(Guard(p, "max_deletes.user").tripped);
  EXPECT_EQ(Ops(p), (V{"user.create NEW"}));
}

TEST(GuardTest, CorruptSourceWritesNothing) {
  World w = ManagedPopulation(10);
  w.User("NEW", "newcomer");
  for (int i = 0; i < 3; ++i) {
    w.source.rejected.push_back({{"src.csv", 20 + i}, "", "", "bad quoting"});
    ++w.source.records_read;
  }
  Plan p = w.Compute();
  EXPECT_TRUE(Guard(p, "invalid_records").tripped);
  EXPECT_TRUE(p.operations.empty());
  EXPECT_EQ(p.skipped[0].guard, "invalid_records");
}

TEST(GuardTest, ProtectedUsersAreNeverDisabled) {
  World w = InSync();
  w.policy.protected_users = {"Alice"};
  w.source.users[0].enabled = false;
  Plan p = w.Compute();
  EXPECT_TRUE(Guard(p, "protected_users").tripped);
  EXPECT_TRUE(p.operations.empty());
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].guard, "protected_users");
}

TEST(PlanTest, UsersCanBePlacedInTheRootOu) {
  World w;
  w.User("E1", "alice", kRootOuKey);
  Plan p = w.Compute();
  ASSERT_EQ(Ops(p), (V{"user.create E1"}));
  EXPECT_EQ(p.operations[0].ou, (ObjectRef{"", kRoot}));
}

TEST(GuardTest, OuAndGroupProblemsAreNotRejectedUsers) {
  World w = ManagedPopulation(10);
  for (int i = 0; i < 5; ++i) {
    w.source.rejected.push_back({{"src.csv", 30 + i}, "X", i % 2 ? "ou" : "group", "bad",
                                 i % 2 ? EntityType::kOu : EntityType::kGroup});
  }
  Plan p = w.Compute();
  EXPECT_FALSE(Guard(p, "invalid_records").tripped) << Guard(p, "invalid_records").message;
  EXPECT_EQ(p.invalid.size(), 5u);  // still reported
}

TEST(PlanTest, DeterministicWhateverTheInputOrder) {
  World w = ManagedPopulation(30);
  w.Ou("D2", "Sub", "D1");
  w.Ou("D3", "Sub2", "D2");
  for (int i = 0; i < 30; ++i) {
    w.User("N" + std::to_string(i), "new" + std::to_string(i), i % 2 ? "D2" : "D3");
  }
  w.Group("G1", "All", {"N1", "N2", "E1001"});
  w.source.users.erase(w.source.users.begin());  // one leaves
  Plan first = w.Compute();
  std::mt19937 rng(42);
  for (int round = 0; round < 5; ++round) {
    World shuffled = w;
    std::shuffle(shuffled.source.users.begin(), shuffled.source.users.end(), rng);
    std::shuffle(shuffled.source.ous.begin(), shuffled.source.ous.end(), rng);
    std::shuffle(shuffled.users.begin(), shuffled.users.end(), rng);
    std::shuffle(shuffled.cached.links.begin(), shuffled.cached.links.end(), rng);
    Plan again = shuffled.Compute();
    EXPECT_EQ(again.operations, first.operations);
    EXPECT_EQ(again.skipped, first.skipped);
    EXPECT_EQ(again.guards, first.guards);
  }
}

TEST(UserTableTest, RoundTripsEveryField) {
  IdaasUser u;
  u.id = "user_abcdefghijklmnopqrstuvwxyz";
  u.username = "alice";
  u.display_name = "Alice";
  u.email = "alice@example.com";
  u.phone_number = "13800000000";
  u.phone_region = "86";
  u.description = "d";
  u.external_id = "E1";
  u.source_type = "build_in";
  u.source_id = "idaas_x";
  u.primary_ou_id = "ou_1";
  u.ou_ids = {"ou_1", "ou_2"};
  u.enabled = false;
  u.custom_fields = {{"a", "1"}, {"b", "2"}};
  u.update_time_ms = 42;
  UserTable t;
  t.Add(u);
  IdaasUser v = u;
  v.id = "user_2";
  v.ou_ids = {"ou_1"};
  t.Add(v);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Get(0), u);
  EXPECT_EQ(t.Get(1), v);
  EXPECT_EQ(t.primary_ou_id(1), "ou_1");
}

// Shapes the compact encoding special-cases: no OUs, OUs without the
// primary, no custom fields then some, strings past one varint byte, empty
// strings, and enough distinct interned values to grow the dictionary.
TEST(UserTableTest, RoundTripsUnusualRows) {
  UserTable t;
  std::vector<IdaasUser> want;
  for (int i = 0; i < 3000; ++i) {
    IdaasUser u;
    u.id = "user_" + std::to_string(i);
    u.username = i % 7 == 0 ? "" : "name" + std::to_string(i);
    u.description = std::string(static_cast<size_t>(i % 300), 'd');
    u.source_type = i % 2 ? "build_in" : "ldap";
    u.source_id = "src_" + std::to_string(i % 5);
    u.phone_region = i % 3 ? "86" : "";
    u.primary_ou_id = i % 11 == 0 ? "" : "ou_" + std::to_string(i);
    if (i % 4 == 1) u.ou_ids = {u.primary_ou_id};
    if (i % 4 == 2) u.ou_ids = {"ou_other_" + std::to_string(i)};  // primary not listed
    if (i % 4 == 3) u.ou_ids = {"ou_a", "ou_b", "ou_c"};
    if (i % 3 == 0) u.custom_fields = {{"k" + std::to_string(i % 4), "v"}, {"z", ""}};
    u.enabled = i % 2 == 0;
    u.update_time_ms = i % 2 ? -i : int64_t{1} << 50;
    t.Add(u);
    want.push_back(u);
  }
  ASSERT_EQ(t.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(t.Get(i), want[i]) << i;
  EXPECT_GT(t.MemoryBytes(), 0u);
}

TEST(LinkTableTest, RoundTripsEveryField) {
  LinkTable t;
  std::vector<Link> want = {
      {EntityType::kUser, "E1", "user_1", Ownership::kCreated, 0, false},
      {EntityType::kOu, std::string(200, 'k'), "ou_1", Ownership::kAdopted, 1700000000000, true},
      {EntityType::kGroup, "G", "group_1", Ownership::kAdopted, -5, false},
  };
  for (const auto& l : want) t.Add(l);
  ASSERT_EQ(t.size(), 3u);
  std::vector<Link> got;
  for (LinkView v : t) {
    got.push_back({v.type, std::string(v.source_key), std::string(v.idaas_id), v.ownership,
                   v.missing_since_ms, v.disabled_by_idsync});
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(t.Get(1), want[1]);
}

TEST(CachedStateTest, GroupsKeepTheirMembers) {
  CachedState s;
  IdaasUser u;
  u.id = "user_a";
  s.users.Add(u);
  u.id = "user_b";
  s.users.Add(u);
  s.AddGroup({"group_1", "One", "", "", "", "", {"user_a", "user_b", "user_x"}});
  s.AddGroup({"group_2", "Two", "", "", "", "", {}});
  // Members as rows of the user table, as the store loads them.
  s.groups.push_back({"group_3", "Three", "", "", "", "", {}});
  s.members.StartGroup();
  s.members.AddRow(1);
  s.members.AddId("user_y");
  ASSERT_EQ(s.groups.size(), 3u);
  EXPECT_TRUE(s.groups[0].member_ids.empty());
  EXPECT_EQ(s.Group(0).member_ids, (std::vector<std::string>{"user_a", "user_b", "user_x"}));
  EXPECT_TRUE(s.Group(1).member_ids.empty());
  EXPECT_EQ(s.Group(2).member_ids, (std::vector<std::string>{"user_b", "user_y"}));
  EXPECT_EQ(s.GroupMembers(2), (std::vector<std::string_view>{"user_b", "user_y"}));
}

}  // namespace
}  // namespace idsync::sync

namespace idsync::sync {
namespace {

// ---- the safety invariants by example (properties: plan_property_test.cpp)

TEST(PresenceTest, ARejectedRecordKeepsItsAccountAndItsGroups) {
  World w = InSync();  // alice (E1) is in group G1
  w.source.users.erase(w.source.users.begin());  // E1 rejected, with its key
  w.source.rejected.push_back({{"src.csv", 2}, "E1", "email", "bad e-mail", EntityType::kUser});
  w.source.groups[0].member_keys.clear();  // the group was built from her row
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
}

TEST(PresenceTest, AConflictedRecordStaysInTheGroupsItsGroupNames) {
  World w = InSync();
  w.User("E3", "alice");  // shares alice's username: both records conflict
  Plan p = w.Compute();
  EXPECT_EQ(CountKind(p, OpKind::kGroupRemoveMembers), 0) << ::testing::PrintToString(Ops(p));
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0);
}

TEST(PresenceTest, ARecordRejectedWithoutAKeyWithholdsEveryDisable) {
  World w = ManagedPopulation(30);
  w.source.users.pop_back();  // gone, or the unreadable row: nobody can tell
  w.source.rejected.push_back({{"src.csv", 31}, "", "", "unterminated quote", EntityType::kUser});
  Plan p = w.Compute();
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0);
  EXPECT_TRUE(Guard(p, "rejected_without_key").tripped);
  EXPECT_NE(Guard(p, "rejected_without_key").message.find("src.csv:31"), std::string::npos);
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_EQ(p.skipped[0].guard, "rejected_without_key");
}

TEST(PresenceTest, AnUnkeyedRejectionOfAnotherKindWithholdsNothingOfUsers) {
  World w = ManagedPopulation(30);
  w.source.users.pop_back();
  w.source.rejected.push_back({{"groups.csv", 3}, "", "group", "bad row", EntityType::kGroup});
  Plan p = w.Compute();
  EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 1);
  EXPECT_FALSE(Guard(p, "rejected_without_key").tripped);
}

TEST(MembershipGuardTest, AGroupReadAsEmptyLosesNobody) {
  World w = ManagedPopulation(40);
  std::vector<std::string> keys, ids;
  for (int i = 0; i < 40; ++i) {
    keys.push_back("E" + std::to_string(1000 + i));
    ids.push_back("user_E" + std::to_string(1000 + i));
  }
  w.Group("G1", "Everyone", {});  // an LDAP group whose members did not come through
  w.CachedGroup("group_1", "Everyone", ids, "G1");
  Plan p = w.Compute();
  EXPECT_EQ(CountKind(p, OpKind::kGroupRemoveMembers), 0);
  EXPECT_TRUE(Guard(p, "max_deletes.group_members").tripped);
  EXPECT_TRUE(Guard(p, "max_deletes.membership").tripped);
  EXPECT_EQ(Guard(p, "max_deletes.membership").value, 40);
  w.policy.allow_deletes = 40;
  EXPECT_EQ(CountKind(w.Compute(), OpKind::kGroupRemoveMembers), 1);  // one chunk of 40
}

// The guard's base counts every managed user's memberships in managed OUs,
// however the users are shared out while they are planned.
TEST(MembershipGuardTest, EveryUsersManagedOuMembershipsCount) {
  World w = ManagedPopulation(40);
  w.Ou("D2", "Guild");
  w.CachedOu("ou_d2", "Guild", kRoot, "D2");
  for (size_t i = 0; i < w.users.size(); ++i) {
    w.users[i].ou_ids = {"ou_d1", "ou_d2"};
    w.source.users[i].extra_ou_keys = {"D2"};
  }
  w.policy.max_deletes_percent = 50;
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  EXPECT_EQ(Guard(p, "max_deletes.membership").limit, 20);  // 50 % of 40
}

TEST(ProtectedTest, MatchedByIdAndByKeyAsWellAsByUsername) {
  for (std::string entry : {"user_a", "E1", "ALICE"}) {
    World w = InSync();
    w.policy.protected_users = {entry};
    w.source.users.erase(w.source.users.begin());  // alice leaves
    w.source.groups[0].member_keys.clear();
    Plan p = w.Compute();
    EXPECT_EQ(CountKind(p, OpKind::kUserDisable), 0) << entry;
    EXPECT_EQ(CountKind(p, OpKind::kGroupRemoveMembers), 0) << entry;
    EXPECT_TRUE(Guard(p, "protected_users").tripped) << entry;
  }
}

TEST(ProtectedTest, ARenameOrAMoveOfAProtectedAccountIsWithheld) {
  World w = InSync();
  w.Ou("D2", "Sales");
  w.CachedOu("ou_d2", "Sales", kRoot, "D2");
  w.policy.protected_users = {"alice"};
  w.source.users[0].username = "alice2";  // renamed and moved in the source
  w.source.users[0].primary_ou_key = "D2";
  Plan p = w.Compute();
  EXPECT_EQ(CountKind(p, OpKind::kUserSetPrimaryOu), 0) << ::testing::PrintToString(Ops(p));
  EXPECT_EQ(CountKind(p, OpKind::kUserPatch), 0);
  EXPECT_EQ(Guard(p, "protected_users").value, 2);
}

TEST(OwnKindTest, AnotherSourcesAccountWithOurKeyIsAConflictNotAnAdoption) {
  World w;
  w.policy.instance_id = "idaas_x";
  w.Ou("D1", "Engineering");
  w.CachedOu("ou_d1", "Engineering", kRoot, "D1");
  w.cached.ous.back().source_id = "idaas_x";
  w.cached.ous[0].source_id = "idaas_x";
  w.User("E1", "alice");
  IdaasUser& ding = w.CachedUser("user_ding", "alice.ding", "ou_d1");
  ding.external_id = "E1";
  ding.source_type = "ding_talk";
  ding.source_id = "corp_1";
  Plan p = w.Compute();
  EXPECT_TRUE(p.operations.empty()) << ::testing::PrintToString(Ops(p));
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].kind, Conflict::Kind::kForeignSource);
  EXPECT_NE(p.conflicts[0].message.find("ding_talk/corp_1"), std::string::npos);
}

TEST(OwnKindTest, AnotherInstancesDepartmentIsNotAdoptedByName) {
  World w;
  w.policy.instance_id = "idaas_x";
  w.cached.ous[0].source_id = "idaas_x";
  w.Ou("D1", "Engineering");
  w.cached.ous.push_back({"ou_other", "Engineering", kRoot, "", "ou_other", "build_in", "idaas_y"});
  Plan p = w.Compute();
  EXPECT_EQ(Ops(p), (V{"ou.create D1"}));
}

TEST(PlanTest, OperationIdsAreUniqueAcrossEntityTypes) {
  World w;
  w.Ou("1", "Engineering");
  w.cached.ous.push_back({"ou_e", "Engineering", kRoot, "", "ou_e", "build_in", ""});
  w.User("1", "alice", "1");
  w.CachedUser("user_a", "alice", "ou_e");
  Plan p = w.Compute();
  std::set<std::string> ids;
  for (const auto& op : p.operations) EXPECT_TRUE(ids.insert(op.id).second) << op.id;
  EXPECT_TRUE(ids.count("adopt.ou:1"));
  EXPECT_TRUE(ids.count("adopt.user:1"));
}

}  // namespace
}  // namespace idsync::sync
