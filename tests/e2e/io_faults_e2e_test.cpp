// R9 of the test plan: the state database under a full disk and failing
// fsyncs, injected under the real binary by an LD_PRELOAD shim
// (tests/support/io_fault_shim.c). A run that meets the fault fails with a
// clear error; afterwards the database opens, `PRAGMA integrity_check` is
// ok, and the next run converges with no duplicate — every transaction was
// wholly there or wholly absent. The daemon pauses on the fault and resumes
// once it clears, without a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "e2e_fixture.h"
#include "state_db.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers
using namespace std::chrono_literals;

class IoFaultsE2eTest : public SyncE2eTest {
 protected:
  // The environment that arms the shim for the state folder.
  std::map<std::string, std::string> Fault(const std::string& kind, int after,
                                           const std::string& switch_file = "") {
    return WithShim({{"IDSYNC_FAULT", kind},
                     {"IDSYNC_FAULT_PATH", dir_.path() + "/state/"},
                     {"IDSYNC_FAULT_AFTER", std::to_string(after)},
                     {"IDSYNC_FAULT_SWITCH", switch_file}});
  }
  std::string Db() const { return dir_.path() + "/state/idsync.db"; }
};

TEST_F(IoFaultsE2eTest, AFullDiskOrAFailingFsyncLeavesEveryTransactionWholeOrAbsent) {
  auto people = People(60);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  int failed_runs = 0;
  // The fault strikes at different points of the run: the journal's first
  // transaction, the middle of the completions, the run record at the end.
  for (const auto& [kind, after] : std::vector<std::pair<std::string, int>>{
           {"enospc", 0}, {"enospc", 4}, {"enospc", 25}, {"enospc", 80},
           {"eio_fsync", 0}, {"eio_fsync", 3}, {"eio_fsync", 12}}) {
    SCOPED_TRACE(kind + " after " + std::to_string(after));
    for (size_t i = 0; i < people.size(); i += 7) people[i].last += "x";
    WriteSource(people);
    auto r = Idsync({"apply", "--yes"}, Fault(kind, after));
    if (r.exit_code != 0) {
      ++failed_runs;
      // A clear error, not a crash.
      EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 4) << r.exit_code << r.err;
      // SQLite's words ("database or disk is full", "disk I/O error") or
      // the system's ("No space left on device").
      EXPECT_TRUE(r.err.find("disk") != std::string::npos ||
                  r.err.find("No space left") != std::string::npos)
          << r.exit_code << "\n" << r.err;
    }
    EXPECT_EQ(IntegrityCheck(Db()), "ok");
    auto clean = Idsync({"apply", "--yes"});
    ASSERT_EQ(clean.exit_code, 0) << clean.out << clean.err;
    ExpectConverged(people);  // also fails on a duplicate account
    ClearRequests();
    ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
    EXPECT_EQ(CountWrites(Requests()), 0);  // the mirror is right, not just the tenant
  }
  EXPECT_GE(failed_runs, 4) << "the shim did not strike";
}

TEST_F(IoFaultsE2eTest, TheDaemonPausesOnAFullDiskAndResumesWhenItClears) {
  auto people = People(20);
  WriteSource(people);
  const std::string switch_file = dir_.path() + "/disk-full";
  WriteConfig(
      "daemon:\n  interval: 1s\n  failure_backoff_max: 2s\n  jitter: 0\n"
      "  admin_listen: 127.0.0.1:0\n  watch_debounce: 200ms\n");
  testing::Process daemon({IDSYNC_BIN, "run", "-c", config_}, Fault("enospc", 0, switch_file));
  auto converged = [&] {
    auto users = UsersByExternalId();
    return users.size() == people.size();
  };
  for (int i = 0; i < 200 && !converged(); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(converged()) << daemon.Stderr();

  dir_.Write("disk-full", "");  // the disk fills up
  people[1].last = "WhileFull";
  WriteSource(people);
  bool said = false;
  for (int i = 0; i < 100 && !said; ++i) {
    std::this_thread::sleep_for(100ms);
    std::string err = daemon.Stderr();
    // The first write that meets the fault says it: SQLite's words, or the
    // system's when it is the lock file.
    said = err.find("database or disk is full") != std::string::npos ||
           err.find("No space left on device") != std::string::npos;
  }
  EXPECT_TRUE(said) << daemon.Stderr();
  EXPECT_TRUE(daemon.Running());

  std::filesystem::remove(switch_file);  // space is freed
  bool applied = false;
  for (int i = 0; i < 200 && !applied; ++i) {
    std::this_thread::sleep_for(100ms);
    auto users = UsersByExternalId();
    applied = users.count(people[1].id) &&
              users.at(people[1].id).at("displayName").as_string() == "First1 WhileFull";
  }
  EXPECT_TRUE(applied) << daemon.Stderr();
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(20s), 0);
  EXPECT_EQ(IntegrityCheck(Db()), "ok");
}

}  // namespace
}  // namespace idsync
