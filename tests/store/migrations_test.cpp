// Every migration path: a database created at each earlier version (by
// applying migrations 1..k), holding data, opens and migrates forward to the
// latest version with its data intact and the same schema as a fresh one.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "idsync/store/store.h"
#include "migrations.h"
#include "process.h"
#include "store_test_util.h"

namespace idsync::store {
namespace {

using idsync::testing::TempDir;
using namespace idsync::store::testing;

// The schema as text: every table/index definition plus user_version.
std::string SchemaOf(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::string out;
  sqlite3_prepare_v2(db,
                     "SELECT type, name, coalesce(sql, '') FROM sqlite_master "
                     "ORDER BY type, name",
                     -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int c = 0; c < 3; ++c) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(st, c));
      out += '|';
    }
    out += '\n';
  }
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  if (sqlite3_step(st) == SQLITE_ROW) out += "v" + std::to_string(sqlite3_column_int(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Creates a database at `version` and puts one of everything the version
// supports into it (raw SQL, as an older idsync would have written it).
void CreateAtVersion(const std::string& path, int version) {
  detail::Db db;
  ASSERT_TRUE(db.Open(path, false, true).has_value());
  auto r = detail::MigrateTo(db, version, 42);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  if (version >= 1) {
    const char* seed = R"sql(
      INSERT INTO ous (id, name) VALUES ('ou_root', 'Root');
      INSERT INTO users (rid, id, username, primary_ou_id) VALUES (1, 'user_1', 'alice', 'ou_root');
      INSERT INTO user_ous VALUES (1, 'ou_root');
      INSERT INTO user_custom_fields VALUES (1, 'title', 'eng');
      INSERT INTO groups (rid, id, name) VALUES (1, 'group_1', 'G');
      INSERT INTO group_members VALUES (1, 'user_1');
      INSERT INTO scope VALUES ('ou', 'ou_root');
      INSERT INTO links (type, source_key, idaas_id, ownership) VALUES ('user', 'alice', 'user_1', 'created');
      INSERT INTO journal (op_id, kind, entity, target, payload, payload_hash, state, created_ms, updated_ms)
        VALUES ('op1', 'user.patch', 'user', 'alice', '{}', 'h', 'in_flight', 1, 1);
      INSERT INTO runs (command, started_ms) VALUES ('apply', 1);
      INSERT INTO meta VALUES ('last_full_refresh_ms', '77');
    )sql";
    auto s = db.Exec(seed);
    ASSERT_TRUE(s.has_value()) << s.error().message;
  }
}

TEST(StoreMigrations, MigrationsAreNumberedFromOne) {
  auto ms = detail::Migrations();
  ASSERT_FALSE(ms.empty());
  for (size_t i = 0; i < ms.size(); ++i) EXPECT_EQ(ms[i].version, static_cast<int>(i + 1));
  EXPECT_EQ(Store::LatestSchemaVersion(), static_cast<int>(ms.size()));
}

class FromEveryVersion : public ::testing::TestWithParam<int> {};

TEST_P(FromEveryVersion, MigratesForwardKeepingData) {
  const int from = GetParam();
  TempDir dir;
  const std::string fresh_path = dir.path() + "/fresh.db";
  { ASSERT_TRUE(Store::Open(fresh_path).has_value()); }
  const std::string path = dir.path() + "/old.db";
  ASSERT_NO_FATAL_FAILURE(CreateAtVersion(path, from));

  auto store = Store::Open(path);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_EQ((*store)->SchemaVersion(), Store::LatestSchemaVersion());
  auto state = (*store)->LoadState();
  ASSERT_STORE_OK(state);
  if (from >= 1) {
    ASSERT_EQ(state->users.size(), 1u);
    auto u = state->users.Get(0);
    EXPECT_EQ(u.id, "user_1");
    EXPECT_EQ(u.username, "alice");
    EXPECT_EQ(u.ou_ids, std::vector<std::string>{"ou_root"});
    EXPECT_EQ(u.custom_fields.at("title"), "eng");
    ASSERT_EQ(state->groups.size(), 1u);
    EXPECT_EQ(state->Group(0).member_ids, std::vector<std::string>{"user_1"});
    ASSERT_EQ(state->links.size(), 1u);
    EXPECT_EQ(state->scope.ou_ids, std::vector<std::string>{"ou_root"});
    EXPECT_EQ(state->last_full_refresh_ms, 77);
    auto unfinished = (*store)->JournalUnfinished();
    ASSERT_STORE_OK(unfinished);
    ASSERT_EQ(unfinished->size(), 1u);
    EXPECT_EQ((*unfinished)[0].op_id, "op1");
    EXPECT_EQ((*store)->RecentRuns(5)->size(), 1u);
    // The packed mirror (v3) was built from the rows when the writer opened.
    EXPECT_EQ((*store)->GetMeta("mirror.pack_format")->value_or(""), "1");
  } else {
    EXPECT_EQ(state->users.size(), 0u);
  }
  store->reset();
  // A migrated database has exactly the schema of a fresh one.
  EXPECT_EQ(SchemaOf(path), SchemaOf(fresh_path));
}

std::vector<int> EarlierVersions() {
  std::vector<int> v;
  for (int k = 0; k < Store::LatestSchemaVersion(); ++k) v.push_back(k);
  return v;
}

INSTANTIATE_TEST_SUITE_P(AllEarlier, FromEveryVersion, ::testing::ValuesIn(EarlierVersions()),
                         [](const auto& info) { return "v" + std::to_string(info.param); });

TEST(StoreMigrations, ReadOnlyOpenOfAnOldDatabaseAsksForMigration) {
  TempDir dir;
  const std::string path = dir.path() + "/old.db";
  ASSERT_NO_FATAL_FAILURE(CreateAtVersion(path, 1));
  auto ro = Store::Open(path, {.read_only = true});
  ASSERT_FALSE(ro.has_value());
  EXPECT_EQ(ro.error().code, Error::Code::kSchema) << ro.error().message;
  EXPECT_EQ(SchemaOf(path).back(), '1');
}

}  // namespace
}  // namespace idsync::store
