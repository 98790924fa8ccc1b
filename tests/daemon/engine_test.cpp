// The cycle engine's own bookkeeping (daemon/src/engine.cpp): the outcome
// names the run history and the metrics share, the per-operation tally, and
// the clock seam a cycle takes its times from.
#include "engine.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "idsync/base/clock.h"
#include "idsync/config/config.h"
#include "idsync/store/store.h"
#include "process.h"

namespace idsync::daemon {
namespace {

using testing::TempDir;

TEST(EngineTest, EveryExitCodeHasTheOutcomeNameTheMetricsCount) {
  EXPECT_EQ(OutcomeName(kOk), "ok");
  EXPECT_EQ(OutcomeName(kChangesPending), "changes");
  EXPECT_EQ(OutcomeName(kGuardBlocked), "blocked");
  EXPECT_EQ(OutcomeName(kSomeFailed), "failed");
  EXPECT_EQ(OutcomeName(kError), "error");
}

sync::Operation Op(std::string id, sync::OpKind kind) {
  sync::Operation op;
  op.id = std::move(id);
  op.kind = kind;
  return op;
}

TEST(EngineTest, TheTallyCountsEachPlannedOperationOnceByKindAndResult) {
  CycleResult r;
  r.plan.operations = {Op("a", sync::OpKind::kUserCreate), Op("b", sync::OpKind::kUserCreate),
                       Op("c", sync::OpKind::kUserCreate), Op("d", sync::OpKind::kOuCreate)};
  EXPECT_TRUE(r.TallyResults().empty()) << "a plan that was not applied has no results";

  r.did_apply = true;
  r.applied.results["a"].status = sync::OpResult::Status::kDone;
  r.applied.results["b"].status = sync::OpResult::Status::kFailed;
  r.applied.results["d"].status = sync::OpResult::Status::kDone;
  // "c" has no result: it did not run.
  const std::string user = sync::OpKindName(sync::OpKind::kUserCreate);
  const std::string ou = sync::OpKindName(sync::OpKind::kOuCreate);
  ResultTally want = {{{user, "done"}, 1}, {{user, "failed"}, 1}, {{user, "not_run"}, 1},
                      {{ou, "done"}, 1}};
  EXPECT_EQ(r.TallyResults(), want);
}

// A cycle stamps its run in the history with the clock it is given, not the
// system's: the seam a test drives instead of waiting.
TEST(EngineTest, ACycleRecordsItsRunWithTheGivenClock) {
  TempDir dir;
  ::setenv("IDSYNC_ENGINE_TEST_SECRET", "s3cr3t", 1);
  config::Diagnostics diags;
  config::Config cfg = config::LoadFromString(R"(idaas:
  endpoint: http://127.0.0.1:9
  instance_id: i
  application_id: a
  client_secret: env:IDSYNC_ENGINE_TEST_SECRET
source:
  type: csv
  path: missing.csv
  users: {key: id}
mapping:
  username: "{id}"
target:
  root_ou: ou_root
store:
  path: )" + dir.path() + R"(/state.db
)",
                                              dir.path() + "/idsync.yaml", &diags);
  ASSERT_TRUE(diags.empty()) << diags.Sorted().front().ToString();

  base::ManualClock clock(1'600'000'000'000);
  CycleOptions options;
  options.clock = &clock;
  CycleResult result = RunCycle(cfg, options);
  ASSERT_NE(result.run_id, 0) << result.error;
  EXPECT_NE(result.exit_code, kOk) << "the source file does not exist";

  auto store = store::Store::Open(cfg.store.path);
  ASSERT_TRUE(store) << store.error().message;
  auto runs = (*store)->RecentRuns(1);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().started_ms, 1'600'000'000'000);
  EXPECT_EQ(runs->front().finished_ms, 1'600'000'000'000);
  EXPECT_EQ(runs->front().outcome, OutcomeName(result.exit_code));
}

}  // namespace
}  // namespace idsync::daemon
