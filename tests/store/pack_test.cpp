// The packed mirror (schema v3): LoadState from the packs must equal
// LoadState from the rows after any sequence of edits, chunks split and
// empty as rows come and go, and a damaged pack falls back to the rows.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "idsync/store/store.h"
#include "pack.h"
#include "process.h"
#include "store_test_util.h"

namespace idsync::store {
namespace {

using idsync::testing::TempDir;
using namespace idsync::store::testing;

struct Loaded {
  std::vector<sync::IdaasUser> users;
  std::vector<sync::IdaasGroup> groups;
  std::vector<sync::Link> links;
  friend bool operator==(const Loaded&, const Loaded&) = default;
};

Loaded Load(Store& store) {
  auto state = store.LoadState();
  EXPECT_TRUE(state.has_value()) << (state ? "" : state.error().message);
  if (!state) return {};
  return {AllUsers(*state), AllGroups(*state), AllLinks(*state)};
}

// The same database read through the row tables: the packs declared stale.
Loaded LoadFromRows(Store& store) {
  auto format = store.GetMeta(detail::kMetaPackFormat);
  EXPECT_TRUE(format.has_value());
  EXPECT_TRUE(store.SetMeta(detail::kMetaPackFormat, "0").has_value());
  Loaded rows = Load(store);
  EXPECT_TRUE(store.SetMeta(detail::kMetaPackFormat, **format).has_value());
  return rows;
}

int64_t CountRows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

void Exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_close(db);
}

TEST(StorePack, EveryFieldRoundTripsThroughThePacks) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto store = Store::Open(path);
  ASSERT_STORE_OK(store);
  Mirror m = MakeMirror(600);  // three user chunks
  // A member outside the mirror stays an id.
  m.groups[0].member_ids.push_back("user_outside");
  std::sort(m.groups[0].member_ids.begin(), m.groups[0].member_ids.end());
  ASSERT_STORE_OK((*store)->ReplaceMirror(m, 5));
  MirrorUpdate links;
  links.upsert_links = {{sync::EntityType::kUser, "E0", m.users[0].id, sync::Ownership::kAdopted,
                         -7, true},
                        {sync::EntityType::kOu, "dept", "ou_extra", sync::Ownership::kCreated,
                         1700000000000, false},
                        {sync::EntityType::kGroup, "ga", m.groups[0].id,
                         sync::Ownership::kCreated, 0, false}};
  ASSERT_STORE_OK((*store)->ApplyUpdate(links));
  EXPECT_EQ(CountRows(path, "SELECT count(*) FROM user_pack"), 3);

  Loaded packed = Load(**store);
  EXPECT_EQ(packed.users, m.users);
  EXPECT_EQ(packed.groups, m.groups);
  EXPECT_EQ(packed.links, (std::vector<sync::Link>{links.upsert_links[2], links.upsert_links[1],
                                                    links.upsert_links[0]}));
  EXPECT_EQ(packed, LoadFromRows(**store));
}

// Random edits through ApplyUpdate; after each batch the packs and the rows
// give the same state. Enough links and members to split chunks.
TEST(StorePack, IncrementalEditsKeepThePacksEqualToTheRows) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto opened = Store::Open(path);
  ASSERT_STORE_OK(opened);
  Store& store = **opened;
  ASSERT_STORE_OK(store.ReplaceMirror(MakeMirror(300), 5));
  std::mt19937 rng(7);
  int next_user = 1000;
  std::vector<std::string> user_ids;
  for (int i = 0; i < 300; ++i) user_ids.push_back(MakeUser(i).id);
  for (int round = 0; round < 12; ++round) {
    MirrorUpdate up;
    for (int k = 0; k < 150; ++k) {
      const int i = next_user++;
      up.upsert_users.push_back(MakeUser(i, i % 3 ? "ou_root" : "ou_extra"));
      user_ids.push_back(up.upsert_users.back().id);
      up.upsert_links.push_back({sync::EntityType::kUser, "K" + std::to_string(rng() % 100000),
                                 user_ids.back(), sync::Ownership::kCreated,
                                 static_cast<int64_t>(rng() % 3), rng() % 2 == 0});
    }
    // Changed users, deleted users (and with them their memberships).
    sync::IdaasUser changed = MakeUser(static_cast<int>(rng() % 300));
    changed.display_name = "changed " + std::to_string(round);
    changed.custom_fields["new"] = "x";
    up.upsert_users.push_back(changed);
    up.delete_user_ids.push_back(user_ids[rng() % user_ids.size()]);
    std::vector<std::string> add, remove;
    for (int k = 0; k < 300; ++k) add.push_back(user_ids[rng() % user_ids.size()]);
    add.push_back("user_not_cached_" + std::to_string(round));
    for (int k = 0; k < 40; ++k) remove.push_back(user_ids[rng() % user_ids.size()]);
    up.add_members.push_back({"group_a", add});
    up.remove_members.push_back({"group_empty", remove});
    up.add_members.push_back({"group_empty", std::vector<std::string>(add.begin(), add.begin() + 20)});
    if (round % 4 == 3) {
      up.upsert_groups.push_back({"group_new" + std::to_string(round), "N", "", "", "build_in",
                                  "idaas_test", {user_ids[0], user_ids[1], "user_zzz"}});
    }
    if (round == 9) up.delete_group_ids.push_back("group_new3");
    ASSERT_STORE_OK(store.ApplyUpdate(up));
    MirrorUpdate drop;
    for (int k = 0; k < 30; ++k) {
      drop.delete_links.push_back({sync::EntityType::kUser, "K" + std::to_string(rng() % 100000)});
    }
    drop.set_link_flags.push_back({sync::EntityType::kUser, up.upsert_links[0].source_key,
                                   12345, false});
    ASSERT_STORE_OK(store.ApplyUpdate(drop));
    Loaded packed = Load(store);
    ASSERT_EQ(packed, LoadFromRows(store)) << "round " << round;
  }
  // Chunks were split: no chunk holds more than twice the target.
  EXPECT_GT(CountRows(path, "SELECT count(*) FROM link_pack"), 1);
  EXPECT_GT(CountRows(path, "SELECT count(*) FROM member_pack"), 2);
  EXPECT_LE(CountRows(path, "SELECT max(links) FROM link_pack"),
            static_cast<int64_t>(2 * detail::kRangeChunk));
  EXPECT_LE(CountRows(path, "SELECT max(members) FROM member_pack"),
            static_cast<int64_t>(2 * detail::kRangeChunk));
  // Deleting everything leaves no packs behind.
  MirrorUpdate all;
  auto state = store.LoadState();
  ASSERT_STORE_OK(state);
  for (size_t i = 0; i < state->users.size(); ++i) {
    all.delete_user_ids.emplace_back(state->users.id(i));
  }
  for (size_t i = 0; i < state->links.size(); ++i) {
    all.delete_links.push_back({state->links[i].type, std::string(state->links[i].source_key)});
  }
  for (const auto& g : state->groups) all.delete_group_ids.push_back(g.id);
  ASSERT_STORE_OK(store.ApplyUpdate(all));
  EXPECT_EQ(CountRows(path, "SELECT count(*) FROM user_pack"), 0);
  EXPECT_EQ(CountRows(path, "SELECT count(*) FROM link_pack"), 0);
  EXPECT_EQ(CountRows(path, "SELECT count(*) FROM member_pack"), 0);
  EXPECT_EQ(Load(store), Loaded{});
}

// Group commit re-packs once per batch, after every close of the batch, and
// a rejected close (rolled back to its savepoint after it touched chunks)
// leaves no trace in the packs.
TEST(StorePack, JournalCommitBatchesKeepThePacksEqualToTheRows) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto opened = Store::Open(path);
  ASSERT_STORE_OK(opened);
  Store& store = **opened;
  ASSERT_STORE_OK(store.ReplaceMirror(MakeMirror(50), 5));
  std::mt19937 rng(11);
  int next_user = 1000;
  for (int round = 0; round < 6; ++round) {
    std::vector<JournalEntry> entries(700);
    for (size_t k = 0; k < entries.size(); ++k) {
      entries[k].op_id = "op" + std::to_string(round) + "." + std::to_string(k);
      entries[k].kind = "user.create";
    }
    auto ids = store.JournalAdd(entries);
    ASSERT_STORE_OK(ids);
    JournalBatch batch;
    std::set<size_t> bad;
    for (size_t k = 0; k < ids->size(); ++k) {
      const int i = next_user++;
      MirrorUpdate up;
      up.upsert_users.push_back(MakeUser(i, i % 3 ? "ou_root" : "ou_extra"));
      up.upsert_links.push_back({sync::EntityType::kUser, "K" + std::to_string(rng() % 100000),
                                 up.upsert_users.back().id, sync::Ownership::kCreated, 0, false});
      up.add_members.push_back({"group_a", {up.upsert_users.back().id}});
      if (rng() % 50 == 0) {  // a second key for user 0's id: rejected
        up.upsert_links.push_back({sync::EntityType::kUser, "dup" + std::to_string(k),
                                   MakeUser(0).id, sync::Ownership::kAdopted, 0, false});
        bad.insert(k);
      }
      batch.close.push_back({(*ids)[k], true, std::move(up), ""});
    }
    // MakeUser(0) needs a link for the duplicate to be one.
    if (round == 0) {
      MirrorUpdate link0;
      link0.upsert_links.push_back({sync::EntityType::kUser, "zero", MakeUser(0).id,
                                    sync::Ownership::kAdopted, 0, false});
      ASSERT_STORE_OK(store.ApplyUpdate(link0));
    }
    auto r = store.JournalCommit(batch, 10);
    ASSERT_STORE_OK(r);
    std::set<size_t> rejected;
    for (const auto& [index, error] : r->rejected) rejected.insert(index);
    EXPECT_EQ(rejected, bad) << "round " << round;
    ASSERT_EQ(Load(store), LoadFromRows(store)) << "round " << round;
  }
  EXPECT_GT(CountRows(path, "SELECT count(*) FROM link_pack"), 1);
  EXPECT_LE(CountRows(path, "SELECT max(links) FROM link_pack"),
            static_cast<int64_t>(2 * detail::kRangeChunk));
}

// A failed update leaves rows and packs as they were.
TEST(StorePack, AFailedUpdateLeavesThePacksAlone) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto opened = Store::Open(path);
  ASSERT_STORE_OK(opened);
  Store& store = **opened;
  Mirror m = MakeMirror(10);
  ASSERT_STORE_OK(store.ReplaceMirror(m, 5));
  Loaded before = Load(store);
  MirrorUpdate up;
  up.upsert_users.push_back(MakeUser(77));
  up.add_members.push_back({"group_missing", {MakeUser(77).id}});  // not found: all fails
  EXPECT_FALSE(store.ApplyUpdate(up).has_value());
  EXPECT_EQ(Load(store), before);
  EXPECT_EQ(LoadFromRows(store), before);
  // The next update packs only what it touches, correctly.
  MirrorUpdate ok;
  ok.upsert_users.push_back(MakeUser(78));
  ASSERT_STORE_OK(store.ApplyUpdate(ok));
  EXPECT_EQ(Load(store), LoadFromRows(store));
  EXPECT_EQ(Load(store).users.size(), 11u);
}

// Packs that disagree with the rows (a damaged BLOB, a member rid that no
// longer exists) are not trusted: LoadState reads the rows.
TEST(StorePack, DamagedPacksFallBackToTheRows) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  Loaded want;
  {
    auto store = Store::Open(path);
    ASSERT_STORE_OK(store);
    ASSERT_STORE_OK((*store)->ReplaceMirror(MakeMirror(40), 5));
    want = Load(**store);
  }
  {
    auto store = Store::Open(path);
    ASSERT_STORE_OK(store);
    ASSERT_NO_FATAL_FAILURE(Exec(path, "UPDATE user_pack SET data = x'05ff'"));
    EXPECT_EQ(Load(**store), want);
  }
  {
    // A writer open rebuilds packs of an older format.
    ASSERT_NO_FATAL_FAILURE(Exec(path, "UPDATE meta SET value = '0' WHERE key = 'mirror.pack_format'"));
    auto store = Store::Open(path);
    ASSERT_STORE_OK(store);
    EXPECT_EQ(Load(**store), want);
    EXPECT_EQ(LoadFromRows(**store), want);
    ASSERT_NO_FATAL_FAILURE(Exec(path, "UPDATE member_pack SET data = x'e807'"));  // rid 1000
    EXPECT_EQ(Load(**store), want);
  }
}

}  // namespace
}  // namespace idsync::store
