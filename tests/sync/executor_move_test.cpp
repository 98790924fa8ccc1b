// The executor's ou.move path: journaled, sent through the OuMover, recorded
// in the mirror, read back when its answer is lost, refused when it would
// cycle, and recovered after a crash by reading the OU with the Developer
// API. Against the real emulator (the Developer API) and a real store; the
// admin API is a fake OuMover that moves the OU in the emulator's state, as
// UpdateOrganizationalUnitParentId would.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "helpers.h"
#include "idsync/adapters/client_directory.h"
#include "idsync/adapters/store_journal.h"
#include "idsync/store/store.h"
#include "idsync/sync/executor.h"
#include "idsync/sync/ou_mover.h"
#include "idsync/sync/report.h"
#include "process.h"

namespace idsync::sync {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using idaas::testing::Emulator;
using idaas::testing::kInstance;
using idaas::testing::kRootOu;

// The admin API as the executor sees it: moves the OU in the emulator's
// state; optionally loses the answer (after moving) or fails (without).
class FakeMover : public OuMover {
 public:
  enum class Mode { kMove, kMoveThenLoseAnswer, kFail };
  explicit FakeMover(const Emulator& emu) : emu_(emu) {}
  Mode mode = Mode::kMove;
  std::vector<std::pair<std::string, std::string>> calls;

  asio::awaitable<base::Status> Move(std::string ou_id, std::string new_parent_id) override {
    calls.emplace_back(ou_id, new_parent_id);
    if (mode != Mode::kFail) MoveInEmulator(emu_, ou_id, new_parent_id);
    if (mode == Mode::kMove) co_return base::Status();
    co_return RemoteFailure(base::Error::Code::kRemote,
                            "UpdateOrganizationalUnitParentId: network (connection reset by peer)",
                            /*ambiguous=*/false, /*attempts=*/1);
  }

  // What the admin API does to the shared state.
  static void MoveInEmulator(const Emulator& emu, const std::string& ou_id,
                             const std::string& parent) {
    json::value state = emu.State();
    for (auto& ou : state.at("organizationalUnits").as_array()) {
      if (ou.at("organizationalUnitId").as_string() == ou_id) ou.as_object()["parentId"] = parent;
    }
    auto r = emu.Admin(http::verb::put, "/_emulator/state", json::serialize(state));
    ASSERT_EQ(r.status, 200) << r.body;
  }

 private:
  const Emulator& emu_;
};

class ExecutorMoveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = idaas::Client::Create(io_.get_executor(), emu_.ClientOptions());
    ASSERT_TRUE(c) << c.error().message;
    client_ = std::move(*c);
    auto s = store::Store::Open(dir_.path() + "/state.db");
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    // IDaaS: root > Engineering (A), root > Sales (B); linked.
    a_ = CreateOu("Engineering", kRootOu, "A");
    b_ = CreateOu("Sales", kRootOu, "B");
    ASSERT_FALSE(a_.empty());
    ASSERT_FALSE(b_.empty());
    Refresh();
    store::MirrorUpdate links;
    links.upsert_links.push_back({EntityType::kOu, "A", a_, Ownership::kCreated, 0, false});
    links.upsert_links.push_back({EntityType::kOu, "B", b_, Ownership::kCreated, 0, false});
    ASSERT_TRUE(store_->ApplyUpdate(links));
  }

  std::string CreateOu(const std::string& name, const std::string& parent,
                       const std::string& key) {
    idaas::CreateOrganizationalUnitRequest req;
    req.organizational_unit_name = name;
    req.parent_id = parent;
    req.organizational_unit_external_id = key;
    auto id = idaas::RunSync(io_, client_->CreateOrganizationalUnit(req));
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : "";
  }

  // The mirror as IDaaS has it (what a full refresh would read).
  void Refresh() {
    store::Mirror m;
    for (const std::string& id : {std::string(kRootOu), a_, b_}) {
      auto ou = idaas::RunSync(io_, client_->GetOrganizationalUnit(id));
      ASSERT_TRUE(ou) << ou.error().message;
      m.ous.push_back({ou->organizational_unit_id, ou->organizational_unit_name, ou->parent_id,
                       ou->description, ou->organizational_unit_external_id,
                       ou->organizational_unit_source_type, ou->organizational_unit_source_id});
    }
    m.scope.ou_ids = {kRootOu};
    ASSERT_TRUE(store_->ReplaceMirror(m, 1));
  }

  CachedState State() {
    auto s = store_->LoadState();
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : CachedState{};
  }

  std::string MirroredParent(const std::string& id) {
    for (const auto& ou : State().ous) {
      if (ou.id == id) return ou.parent_id;
    }
    return "(absent)";
  }

  std::string ParentInIdaas(const std::string& id) {
    auto ou = idaas::RunSync(io_, client_->GetOrganizationalUnit(id));
    return ou ? ou->parent_id : "(error)";
  }

  // The plan for a source that puts Sales under Engineering, with moves on.
  Plan SalesUnderEngineering(const CachedState& state) {
    SourceSnapshot source;
    source.ous.push_back({"A", "Engineering", "", "", {}});
    source.ous.push_back({"B", "Sales", "A", "", {}});
    Policy policy;
    policy.root_ou_id = kRootOu;
    policy.allow_ou_moves = true;
    policy.max_moves_percent = 100;
    return ComputePlan(source, state, state.scope, policy, 1);
  }

  ApplyOutcome Apply(const CachedState& state, const Plan& plan, OuMover* mover) {
    ExecutorOptions options;
    options.instance_id = kInstance;
    options.ou_mover = mover;
    adapters::StoreJournal journal(*store_);
    adapters::ClientDirectory remote(*client_);
    Executor executor(journal, remote, state, options);
    auto run = store_->BeginRun("apply", 1);
    EXPECT_TRUE(run);
    return idaas::RunSync(io_, executor.Apply(plan, run ? *run : 0));
  }

  // Plans Sales under Engineering from the store and applies it.
  ApplyOutcome MoveSales(OuMover* mover) {
    CachedState state = State();
    return Apply(state, SalesUnderEngineering(state), mover);
  }

  Emulator emu_;
  idsync::testing::TempDir dir_;
  asio::io_context io_;
  std::unique_ptr<idaas::Client> client_;
  std::unique_ptr<store::Store> store_;
  std::string a_, b_;
};

TEST_F(ExecutorMoveTest, AMoveGoesThroughTheMoverAndIsRecorded) {
  CachedState state = State();
  Plan plan = SalesUnderEngineering(state);
  ASSERT_EQ(plan.operations.size(), 1u);
  ASSERT_EQ(plan.operations[0].kind, OpKind::kOuMove);
  FakeMover mover(emu_);
  ApplyOutcome out = Apply(state, plan, &mover);
  EXPECT_EQ(out.done, 1) << out.first_error;
  EXPECT_EQ(mover.calls, (std::vector<std::pair<std::string, std::string>>{{b_, a_}}));
  EXPECT_EQ(ParentInIdaas(b_), a_);
  EXPECT_EQ(MirroredParent(b_), a_);
  auto open = store_->JournalUnfinished();
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->empty());
  // Converged: the next plan has nothing to do.
  EXPECT_TRUE(SalesUnderEngineering(State()).operations.empty());
}

TEST_F(ExecutorMoveTest, WithoutAMoverTheMoveFailsUnsent) {
  ApplyOutcome out = MoveSales(nullptr);
  EXPECT_EQ(out.failed, 1);
  EXPECT_NE(out.first_error.find("admin API"), std::string::npos) << out.first_error;
  EXPECT_EQ(ParentInIdaas(b_), kRootOu);
  EXPECT_EQ(MirroredParent(b_), kRootOu);
}

// The answer is lost after IDaaS moved the OU: the executor reads it back
// and records the move as done.
TEST_F(ExecutorMoveTest, ALostAnswerIsSettledByReadingTheOuBack) {
  FakeMover mover(emu_);
  mover.mode = FakeMover::Mode::kMoveThenLoseAnswer;
  ApplyOutcome out = MoveSales(&mover);
  EXPECT_EQ(out.done, 1) << out.first_error;
  EXPECT_EQ(MirroredParent(b_), a_);
}

TEST_F(ExecutorMoveTest, AFailedMoveIsAFailureAndChangesNothing) {
  FakeMover mover(emu_);
  mover.mode = FakeMover::Mode::kFail;
  ApplyOutcome out = MoveSales(&mover);
  EXPECT_EQ(out.failed, 1);
  EXPECT_NE(out.first_error.find("UpdateOrganizationalUnitParentId"), std::string::npos)
      << out.first_error;
  EXPECT_EQ(MirroredParent(b_), kRootOu);
  auto open = store_->JournalUnfinished();
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->empty());  // read back: known not moved, so closed as failed
}

// The planner ordered A under B after B's move out of A; that move did not
// happen, so A's move would put A inside its own subtree: not sent.
TEST_F(ExecutorMoveTest, AMoveThatWouldCycleNowIsNotSent) {
  FakeMover::MoveInEmulator(emu_, b_, a_);  // IDaaS: root > A > B
  Refresh();
  CachedState state = State();
  Operation op;
  op.id = "ou.move:A";
  op.phase = Phase::kOuMove;
  op.wave = 2;
  op.kind = OpKind::kOuMove;
  op.entity = EntityType::kOu;
  op.target = {"A", a_};
  op.ou = {"B", b_};
  op.changes = {{"parent", kRootOu, b_}};
  Plan plan;
  plan.operations = {op};
  FakeMover mover(emu_);
  ApplyOutcome out = Apply(state, plan, &mover);
  EXPECT_EQ(out.failed, 1);
  EXPECT_NE(out.first_error.find("cycle"), std::string::npos) << out.first_error;
  EXPECT_TRUE(mover.calls.empty());
}

// A crash left the move in flight: recovery reads the OU with the Developer
// API and records where IDaaS has it, moved or not.
TEST_F(ExecutorMoveTest, RecoveryRecordsWhereAnInFlightMoveLeftTheOu) {
  for (bool reached_idaas : {true, false}) {
    SCOPED_TRACE(reached_idaas ? "the move reached IDaaS" : "the move never left");
    CachedState state = State();
    Plan plan = SalesUnderEngineering(state);
    ASSERT_EQ(plan.operations.size(), 1u);
    const Operation& op = plan.operations[0];
    store::JournalEntry e;
    e.op_id = op.id;
    e.kind = OpKindName(op.kind);
    e.entity = op.entity;
    e.target = op.target.key + "|" + op.target.id;
    e.payload = OperationJson(op);  // as the executor journals it
    e.created_ms = 1;
    auto ids = store_->JournalAdd({e});
    ASSERT_TRUE(ids);
    ASSERT_TRUE(store_->JournalCommit(store::JournalBatch{{}, {(*ids)[0]}}, 2));
    if (reached_idaas) FakeMover::MoveInEmulator(emu_, b_, a_);

    ExecutorOptions options;
    adapters::StoreJournal journal(*store_);
    adapters::ClientDirectory remote(*client_);
    RecoveryOutcome r = idaas::RunSync(io_, Executor::Recover(journal, remote, options));
    EXPECT_EQ(r.resolved_done, 1) << r.first_error;
    EXPECT_EQ(r.unresolved, 0);
    EXPECT_EQ(MirroredParent(b_), reached_idaas ? a_ : kRootOu);
    auto open = store_->JournalUnfinished();
    ASSERT_TRUE(open);
    EXPECT_TRUE(open->empty());
    // Put it back for the second round.
    FakeMover::MoveInEmulator(emu_, b_, kRootOu);
    Refresh();
  }
}

}  // namespace
}  // namespace idsync::sync
