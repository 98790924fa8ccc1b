// The state database (names, e-mail addresses, phone numbers), its -wal and
// -shm files and the reports are the owner's only after every command, even
// under a umask of 000 and over files that were left world-readable.
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>

#include "e2e_fixture.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers

unsigned Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0xffff;  // absent: never 0600
  return st.st_mode & 07777;
}

// Runs the test body under umask 000, as a careless shell or init system
// might leave it, and restores the runner's umask afterwards.
class FileModesE2eTest : public SyncE2eTest {
 protected:
  void SetUp() override {
    SyncE2eTest::SetUp();
    old_umask_ = ::umask(0);
  }
  void TearDown() override { ::umask(old_umask_); }
  mode_t old_umask_ = 022;
};

TEST_F(FileModesE2eTest, EveryCommandWritesOwnerOnlyFiles) {
  WriteSource(People(6));
  std::string db = dir_.path() + "/state/idsync.db";

  auto apply = Idsync({"apply", "--yes"});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_EQ(Mode(db), 0600u);
  EXPECT_EQ(Mode(dir_.path() + "/state"), 0700u);  // the folder apply created

  // plan -o: a new report, and one over a world-readable older report.
  std::string csv = dir_.path() + "/plan.csv";
  std::string json = dir_.path() + "/plan.json";
  dir_.Write("plan.json", "old", 0644);
  ASSERT_EQ(Idsync({"plan", "--format", "csv", "-o", csv}).exit_code, 0);
  ASSERT_EQ(Idsync({"plan", "--format", "json", "-o", json}).exit_code, 0);
  EXPECT_EQ(Mode(csv), 0600u);
  EXPECT_EQ(Mode(json), 0600u);
  EXPECT_NE(testing::ReadFile(json).find("\"schema\""), std::string::npos);

  // A connection held open keeps the -wal and -shm files after refresh
  // exits (the last connection to close removes them), so that they can be
  // checked; they and the database are made world-readable first.
  sqlite3* reader = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2(db.c_str(), &reader, SQLITE_OPEN_READWRITE, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "SELECT count(*) FROM sqlite_master", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    ASSERT_EQ(::chmod((db + suffix).c_str(), 0644), 0) << suffix;
  }
  auto refresh = Idsync({"refresh"});
  EXPECT_EQ(refresh.exit_code, 0) << refresh.err;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(Mode(db + suffix), 0600u) << suffix;
  }
  // Tightening is said, naming the file and both modes.
  EXPECT_NE(refresh.err.find(db + " had mode 0644"), std::string::npos)
      << refresh.err;
  EXPECT_NE(refresh.err.find("set to 0600"), std::string::npos) << refresh.err;
  sqlite3_close(reader);

  // Nothing else idsync left under the test folder is readable by others.
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(dir_.path())) {
    std::string path = e.path().string();
    if (path.ends_with(".csv") && path != csv)
      continue;  // the test's own source
    if (path.ends_with(".yaml")) continue;
    EXPECT_EQ(Mode(path) & 077, 0u) << path;
  }
}

}  // namespace
}  // namespace idsync
