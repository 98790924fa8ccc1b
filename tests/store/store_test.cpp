#include "idsync/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "process.h"
#include "store_test_util.h"

namespace idsync::store {
namespace {

using idsync::testing::Process;
using idsync::testing::ReadFile;
using idsync::testing::TempDir;
using namespace idsync::store::testing;

std::unique_ptr<Store> OpenOk(const std::string& path, OpenOptions o = {}) {
  auto s = Store::Open(path, o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

MirrorUpdate LinkUpdate(const sync::Link& link) {
  MirrorUpdate up;
  up.upsert_links.push_back(link);
  return up;
}

std::string Pragma(const std::string& path, const std::string& pragma) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, ("PRAGMA " + pragma).c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// ------------------------------------------------------------------ open --

TEST(StoreOpen, CreatesWalDatabaseAtLatestVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    auto store = OpenOk(path);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->SchemaVersion(), Store::LatestSchemaVersion());
    EXPECT_GE(Store::LatestSchemaVersion(), 2);
  }
  EXPECT_EQ(Pragma(path, "journal_mode"), "wal");
  EXPECT_EQ(Pragma(path, "user_version"), std::to_string(Store::LatestSchemaVersion()));
  // Re-open: nothing to migrate, same version.
  auto again = OpenOk(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->SchemaVersion(), Store::LatestSchemaVersion());
}

TEST(StoreOpen, MissingFolderIsAnIoError) {
  TempDir dir;
  auto s = Store::Open(dir.path() + "/no/such/dir/state.db");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kIo) << s.error().message;
}

TEST(StoreOpen, NotADatabaseIsRefusedAndUntouched) {
  TempDir dir;
  const std::string content = "user,email\nalice,alice@example.com\n" + std::string(5000, 'x');
  const std::string path = dir.Write("state.db", content);
  auto s = Store::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kInvalid);
  EXPECT_NE(s.error().message.find("not a SQLite database"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(ReadFile(path), content);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(StoreOpen, ForeignSqliteDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.path() + "/other.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  const std::string before = ReadFile(path);
  auto s = Store::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kInvalid);
  EXPECT_NE(s.error().message.find("not an idsync state database"), std::string::npos);
  EXPECT_EQ(ReadFile(path), before);
}

TEST(StoreOpen, NewerSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  { ASSERT_TRUE(OpenOk(path)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const int newer = Store::LatestSchemaVersion() + 1;
  sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(newer)).c_str(), nullptr,
               nullptr, nullptr);
  sqlite3_close(db);
  auto s = Store::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kSchema);
  EXPECT_NE(s.error().message.find("newer than this idsync supports"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(Pragma(path, "user_version"), std::to_string(newer));
}

// Overwrites a page in the middle of the database file with garbage.
void DamageMiddlePage(const std::string& path) {
  const auto size = std::filesystem::file_size(path);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>((size / 4096 / 2) * 4096));
  std::string junk(4096, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919) & 0xff);
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
}

TEST(StoreOpen, CorruptionIsDetectedAndTheFileIsUntouched) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    auto store = OpenOk(path);
    ASSERT_TRUE(store);
    ASSERT_STORE_OK(store->ReplaceMirror(MakeMirror(3000), 1));
  }
  ASSERT_FALSE(std::filesystem::exists(path + "-wal") &&
               std::filesystem::file_size(path + "-wal") > 0);
  ASSERT_GT(std::filesystem::file_size(path), 40u * 4096);
  DamageMiddlePage(path);
  const std::string before = ReadFile(path);
  auto s = Store::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kCorrupt) << s.error().message;
  EXPECT_NE(s.error().message.find("quick_check"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("restore from backup"), std::string::npos);
  EXPECT_EQ(ReadFile(path), before);
  // Read-only opens check too.
  auto ro = Store::Open(path, {.read_only = true});
  ASSERT_FALSE(ro.has_value());
  EXPECT_EQ(ro.error().code, Error::Code::kCorrupt);
  EXPECT_EQ(ReadFile(path), before);
}

// quick_check reads the whole file, so with a maximum age it runs only when
// the last check that passed is older (or in the future), and records when it passed.
TEST(StoreOpen, TheIntegrityCheckRunsWhenItsLastPassIsTooOld) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  const OpenOptions hourly{.integrity_check_max_age_ms = 3600 * 1000};
  auto checked_ms = [&] {
    auto store = Store::Open(path, hourly);
    EXPECT_TRUE(store.has_value());
    auto v = (*store)->GetMeta("integrity_checked_ms");
    EXPECT_TRUE(v && *v);
    return v && *v ? std::stoll(**v) : int64_t{-1};
  };
  const int64_t first = checked_ms();
  ASSERT_GT(first, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(checked_ms(), first);  // fresh: not checked again
  for (int64_t stale : {first - 2 * 3600 * 1000, first + 48 * 3600 * 1000}) {
    {
      auto store = OpenOk(path);
      ASSERT_STORE_OK(store->SetMeta("integrity_checked_ms", std::to_string(stale)));
    }
    const int64_t again = checked_ms();
    EXPECT_NE(again, stale);
    EXPECT_GE(again, first);
  }
  {
    auto store = OpenOk(path);
    ASSERT_STORE_OK(store->SetMeta("integrity_checked_ms", "garbage"));
  }
  EXPECT_GE(checked_ms(), first);

  // A damaged file whose last check is old is refused, as on every open.
  {
    auto store = OpenOk(path);
    ASSERT_STORE_OK(store->ReplaceMirror(MakeMirror(3000), 1));
    ASSERT_STORE_OK(store->SetMeta("integrity_checked_ms", std::to_string(first - 7200 * 1000)));
  }
  DamageMiddlePage(path);
  auto damaged = Store::Open(path, hourly);
  ASSERT_FALSE(damaged.has_value());
  EXPECT_EQ(damaged.error().code, Error::Code::kCorrupt) << damaged.error().message;
}

TEST(StoreOpen, TruncatedDatabaseIsDetected) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  {
    auto store = OpenOk(path);
    ASSERT_TRUE(store);
    ASSERT_STORE_OK(store->ReplaceMirror(MakeMirror(2000), 1));
  }
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  auto s = Store::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kCorrupt) << s.error().message;
  EXPECT_EQ(std::filesystem::file_size(path), size / 2);
}

// ------------------------------------------------------------------ lock --

TEST(StoreLock, SecondWriterInTheSameProcessIsRefused) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto first = OpenOk(path);
  ASSERT_TRUE(first);
  auto second = Store::Open(path);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Error::Code::kLocked);
  EXPECT_NE(second.error().message.find("in use by idsync pid " + std::to_string(::getpid())),
            std::string::npos)
      << second.error().message;
  first.reset();
  EXPECT_TRUE(OpenOk(path));
}

TEST(StoreLock, AnotherProcessHoldingTheLockIsNamedAndKill9ReleasesIt) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  Process holder({STORE_LOCK_HELPER_BIN, path, "60"});
  auto line = holder.ReadLine();
  ASSERT_TRUE(line.has_value()) << holder.Stderr();
  ASSERT_EQ(*line, "locked");
  auto s = Store::Open(path);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kLocked);
  EXPECT_NE(s.error().message.find("pid " + std::to_string(holder.pid())), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find(path), std::string::npos);

  // Readers need no lock.
  auto reader = Store::Open(path, {.read_only = true});
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_TRUE((*reader)->LoadState().has_value());

  holder.Signal(SIGKILL);
  holder.Wait();
  auto after = Store::Open(path);
  ASSERT_TRUE(after.has_value()) << after.error().message;
  // And now the helper is refused with our pid.
  auto r = idsync::testing::Run({STORE_LOCK_HELPER_BIN, path, "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("pid " + std::to_string(::getpid())), std::string::npos) << r.out;
}

TEST(StoreOpen, ReadOnlyMissingFileIsNotFoundAndNotCreated) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto s = Store::Open(path, {.read_only = true});
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Error::Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(StoreOpen, ReadOnlyRefusesWrites) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  { ASSERT_TRUE(OpenOk(path)); }
  auto ro = OpenOk(path, {.read_only = true});
  ASSERT_TRUE(ro);
  EXPECT_FALSE(ro->SetMeta("k", "v").has_value());
  EXPECT_FALSE(ro->BeginRun("plan", 1).has_value());
  EXPECT_TRUE(ro->Counts().has_value());
}

// --------------------------------------------------------------- mirror --

TEST(StoreMirror, LoadStateRoundTripsEveryField) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(50);
  auto stats = store->ReplaceMirror(m, 1234567);
  ASSERT_STORE_OK(stats);
  EXPECT_EQ(stats->users, 50);
  EXPECT_EQ(stats->groups, 2);
  EXPECT_EQ(stats->memberships, 25);
  MirrorUpdate links;
  links.upsert_links.push_back({sync::EntityType::kUser, "E0", m.users[0].id,
                                sync::Ownership::kAdopted, 0, false});
  links.upsert_links.push_back({sync::EntityType::kUser, "k1", m.users[1].id,
                                sync::Ownership::kCreated, 99, true});
  links.upsert_links.push_back({sync::EntityType::kOu, "dept", "ou_extra",
                                sync::Ownership::kCreated, 0, false});
  links.upsert_links.push_back({sync::EntityType::kGroup, "ga", "group_a",
                                sync::Ownership::kAdopted, 0, false});
  ASSERT_STORE_OK(store->ApplyUpdate(links));

  auto state = store->LoadState();
  ASSERT_STORE_OK(state);
  EXPECT_EQ(AllUsers(*state), m.users);
  auto ous = state->ous;
  std::sort(ous.begin(), ous.end(), [](auto& a, auto& b) { return a.id < b.id; });
  auto want_ous = m.ous;
  std::sort(want_ous.begin(), want_ous.end(), [](auto& a, auto& b) { return a.id < b.id; });
  EXPECT_EQ(ous, want_ous);
  EXPECT_EQ(AllGroups(*state), m.groups);
  EXPECT_EQ(state->scope, m.scope);
  EXPECT_EQ(state->last_full_refresh_ms, 1234567);
  auto got_links = AllLinks(*state);
  auto want_links = links.upsert_links;
  auto by_key = [](const sync::Link& a, const sync::Link& b) {
    return std::tie(a.type, a.source_key) < std::tie(b.type, b.source_key);
  };
  std::sort(got_links.begin(), got_links.end(), by_key);
  std::sort(want_links.begin(), want_links.end(), by_key);
  EXPECT_EQ(got_links, want_links);

  auto counts = store->Counts();
  ASSERT_STORE_OK(counts);
  EXPECT_EQ(counts->users, 50);
  EXPECT_EQ(counts->ous, 2);
  EXPECT_EQ(counts->groups, 2);
  EXPECT_EQ(counts->memberships, 25);
  EXPECT_EQ(counts->links["user.adopted"], 1);
  EXPECT_EQ(counts->links["user.created"], 1);
  EXPECT_EQ(counts->links["ou.created"], 1);
  EXPECT_EQ(counts->links["group.adopted"], 1);
  EXPECT_EQ(counts->last_full_refresh_ms, 1234567);
}

TEST(StoreMirror, ReplaceKeepsLinksAndReportsOrphans) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(10);
  ASSERT_STORE_OK(store->ReplaceMirror(m, 1));
  MirrorUpdate links;
  links.upsert_links.push_back({sync::EntityType::kUser, "k0", m.users[0].id,
                                sync::Ownership::kCreated, 0, false});
  links.upsert_links.push_back({sync::EntityType::kUser, "k1", m.users[1].id,
                                sync::Ownership::kCreated, 0, false});
  ASSERT_STORE_OK(store->ApplyUpdate(links));
  Mirror fresh = MakeMirror(10);
  fresh.users.erase(fresh.users.begin() + 1);  // user 1 deleted by someone else
  fresh.users.push_back(MakeUser(77));
  auto stats = store->ReplaceMirror(fresh, 2);
  ASSERT_STORE_OK(stats);
  ASSERT_EQ(stats->orphaned_links.size(), 1u);
  EXPECT_EQ(stats->orphaned_links[0].source_key, "k1");
  auto state = store->LoadState();
  ASSERT_STORE_OK(state);
  EXPECT_EQ(AllUsers(*state), fresh.users);
  EXPECT_EQ(state->links.size(), 2u);
  EXPECT_EQ(state->last_full_refresh_ms, 2);
}

TEST(StoreMirror, FailedReplaceKeepsTheOldMirror) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(20);
  ASSERT_STORE_OK(store->ReplaceMirror(m, 1));
  Mirror bad = MakeMirror(30);
  bad.users.push_back(bad.users[3]);  // duplicate id: inconsistent listing
  auto r = store->ReplaceMirror(bad, 2);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kInvalid) << r.error().message;
  auto state = store->LoadState();
  ASSERT_STORE_OK(state);
  EXPECT_EQ(AllUsers(*state), m.users);
  EXPECT_EQ(state->last_full_refresh_ms, 1);
}

TEST(StoreMirror, ApplyUpdateCoversEveryEdit) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(6);
  ASSERT_STORE_OK(store->ReplaceMirror(m, 1));
  ASSERT_STORE_OK(store->ApplyUpdate(LinkUpdate({sync::EntityType::kUser, "k2", m.users[2].id,
                                                 sync::Ownership::kCreated, 0, false})));

  MirrorUpdate up;
  sync::IdaasUser changed = m.users[1];
  changed.display_name = "Renamed";
  changed.ou_ids = {"ou_extra", "ou_root"};
  changed.custom_fields = {{"title", "boss"}};
  changed.enabled = false;
  up.upsert_users = {changed, MakeUser(100)};
  up.delete_user_ids = {m.users[0].id};
  up.upsert_ous = {{"ou_new", "New", "ou_root", "", "N", "build_in", "idaas_test"}};
  up.delete_ou_ids = {"ou_extra"};
  up.upsert_groups = {{"group_b", "B", "", "GB", "build_in", "idaas_test", {m.users[1].id}}};
  up.delete_group_ids = {"group_empty"};
  up.add_members = {{"group_a", {m.users[1].id, MakeUser(100).id}}};
  up.remove_members = {{"group_a", {m.users[2].id}}, {"group_gone", {"user_x"}}};
  up.set_link_flags = {{sync::EntityType::kUser, "k2", 555, true}};
  up.upsert_links = {{sync::EntityType::kUser, "k100", MakeUser(100).id,
                      sync::Ownership::kCreated, 0, false}};
  ASSERT_STORE_OK(store->ApplyUpdate(up));

  auto state = store->LoadState();
  ASSERT_STORE_OK(state);
  auto users = AllUsers(*state);
  auto find = [&](const std::string& id) {
    return std::find_if(users.begin(), users.end(), [&](auto& u) { return u.id == id; });
  };
  EXPECT_EQ(find(m.users[0].id), users.end());
  ASSERT_NE(find(changed.id), users.end());
  EXPECT_EQ(*find(changed.id), changed);
  ASSERT_NE(find(MakeUser(100).id), users.end());
  EXPECT_EQ(users.size(), 6u);
  std::vector<std::string> ou_ids;
  for (auto& o : state->ous) ou_ids.push_back(o.id);
  std::sort(ou_ids.begin(), ou_ids.end());
  EXPECT_EQ(ou_ids, (std::vector<std::string>{"ou_new", "ou_root"}));
  ASSERT_EQ(state->groups.size(), 2u);
  const auto groups = AllGroups(*state);
  const auto& ga = groups[0].id == "group_a" ? groups[0] : groups[1];
  const auto& gb = groups[0].id == "group_b" ? groups[0] : groups[1];
  // group_a had users 0, 2, 4; 0 deleted, 2 removed, 1 and 100 added.
  std::vector<std::string> want = {m.users[1].id, m.users[4].id, MakeUser(100).id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ga.member_ids, want);
  EXPECT_EQ(gb.member_ids, std::vector<std::string>{m.users[1].id});
  ASSERT_EQ(state->links.size(), 2u);
  for (auto& l : AllLinks(*state)) {
    if (l.source_key == "k2") {
      EXPECT_EQ(l.missing_since_ms, 555);
      EXPECT_TRUE(l.disabled_by_idsync);
    }
  }
  // Flags can be cleared independently.
  {
    MirrorUpdate flags;
    flags.set_link_flags = {{sync::EntityType::kUser, "k2", 0, std::nullopt}};
    ASSERT_STORE_OK(store->ApplyUpdate(flags));
  }
  state = store->LoadState();
  for (auto& l : AllLinks(*state)) {
    if (l.source_key == "k2") {
      EXPECT_EQ(l.missing_since_ms, 0);
      EXPECT_TRUE(l.disabled_by_idsync);
    }
  }
  // Delete a link.
  {
    MirrorUpdate del;
    del.delete_links = {{sync::EntityType::kUser, "k2"}};
    ASSERT_STORE_OK(store->ApplyUpdate(del));
  }
  EXPECT_EQ(store->LoadState()->links.size(), 1u);
}

TEST(StoreMirror, ApplyUpdateIsAllOrNothing) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(4);
  ASSERT_STORE_OK(store->ReplaceMirror(m, 1));
  MirrorUpdate up;
  up.upsert_users = {MakeUser(50)};
  up.delete_user_ids = {m.users[0].id};
  up.set_link_flags = {{sync::EntityType::kUser, "no-such-link", 1, std::nullopt}};
  auto r = store->ApplyUpdate(up);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kNotFound);
  auto state = store->LoadState();
  EXPECT_EQ(AllUsers(*state), m.users);
}

// -------------------------------------------------------------- journal --

JournalEntry Entry(const std::string& op, const std::string& kind) {
  JournalEntry e;
  e.op_id = op;
  e.kind = kind;
  e.entity = sync::EntityType::kUser;
  e.target = "E" + op;
  e.payload = R"({"username":")" + op + R"("})";
  e.payload_hash = "h" + op;
  e.created_ms = 100;
  e.run_id = 7;
  return e;
}

TEST(StoreJournal, Lifecycle) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto store = OpenOk(path);
  ASSERT_TRUE(store);
  auto ids = store->JournalAdd({Entry("a", "user.create"), Entry("b", "user.patch"),
                                Entry("c", "user.disable")});
  ASSERT_STORE_OK(ids);
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_LT((*ids)[0], (*ids)[1]);

  auto unfinished = store->JournalUnfinished();
  ASSERT_STORE_OK(unfinished);
  ASSERT_EQ(unfinished->size(), 3u);
  const JournalEntry& a = (*unfinished)[0];
  EXPECT_EQ(a.id, (*ids)[0]);
  EXPECT_EQ(a.op_id, "a");
  EXPECT_EQ(a.kind, "user.create");
  EXPECT_EQ(a.target, "Ea");
  EXPECT_EQ(a.payload, R"({"username":"a"})");
  EXPECT_EQ(a.payload_hash, "ha");
  EXPECT_EQ(a.state, JournalEntry::State::kPending);
  EXPECT_EQ(a.attempts, 0);
  EXPECT_EQ(a.created_ms, 100);
  EXPECT_EQ(a.updated_ms, 100);
  EXPECT_EQ(a.run_id, 7);

  ASSERT_STORE_OK(store->JournalMarkInFlight((*ids)[0], 200));
  ASSERT_STORE_OK(store->JournalFail((*ids)[0], "503 ServiceUnavailable", false, 210));
  auto e = store->JournalGet((*ids)[0]);
  ASSERT_STORE_OK(e);
  EXPECT_EQ(e->state, JournalEntry::State::kPending);
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(e->last_error, "503 ServiceUnavailable");
  EXPECT_EQ(e->updated_ms, 210);
  ASSERT_STORE_OK(store->JournalMarkInFlight((*ids)[0], 300));
  EXPECT_EQ(store->JournalGet((*ids)[0])->attempts, 2);
  EXPECT_EQ(store->JournalGet((*ids)[0])->state, JournalEntry::State::kInFlight);

  MirrorUpdate up;
  up.upsert_users = {MakeUser(1)};
  up.upsert_links = {{sync::EntityType::kUser, "Ea", MakeUser(1).id,
                      sync::Ownership::kCreated, 0, false}};
  ASSERT_STORE_OK(store->JournalComplete((*ids)[0], up, 310));
  EXPECT_EQ(store->JournalGet((*ids)[0])->state, JournalEntry::State::kDone);
  EXPECT_EQ(store->JournalGet((*ids)[0])->last_error, "");

  // A done entry can be neither restarted nor completed again.
  auto again = store->JournalComplete((*ids)[0], {}, 320);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Error::Code::kInvalid);
  EXPECT_FALSE(store->JournalMarkInFlight((*ids)[0], 320).has_value());
  auto missing = store->JournalMarkInFlight(999999, 1);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Error::Code::kNotFound);

  ASSERT_STORE_OK(store->JournalMarkInFlight((*ids)[1], 400));
  ASSERT_STORE_OK(store->JournalFail((*ids)[1], "400 InvalidParameter", true, 410));
  EXPECT_EQ(store->JournalGet((*ids)[1])->state, JournalEntry::State::kFailed);

  // The crash-restart view survives a reopen: c pending.
  store.reset();
  store = OpenOk(path);
  unfinished = store->JournalUnfinished();
  ASSERT_STORE_OK(unfinished);
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].op_id, "c");
  auto state = store->LoadState();
  ASSERT_EQ(state->users.size(), 1u);
  EXPECT_EQ(state->users.Get(0), MakeUser(1));
  auto counts = store->Counts();
  EXPECT_EQ(counts->journal["done"], 1);
  EXPECT_EQ(counts->journal["failed"], 1);
  EXPECT_EQ(counts->journal["pending"], 1);

  auto pruned = store->JournalPrune(1000);
  ASSERT_STORE_OK(pruned);
  EXPECT_EQ(*pruned, 2);
  EXPECT_EQ(store->JournalUnfinished()->size(), 1u);
}

// An update of `m` (k0 linked to its first user) that creates a user, changes
// a group, deletes a user and then links a second source key to an
// already-linked IDaaS id: a constraint violation at the end of the
// transaction, after everything else was written.
MirrorUpdate FailingAtTheEnd(const Mirror& m) {
  MirrorUpdate up;
  up.upsert_users = {MakeUser(9)};
  up.add_members = {{"group_a", {MakeUser(9).id}}};
  up.delete_user_ids = {m.users[2].id};
  up.upsert_links = {
      {sync::EntityType::kUser, "k9", MakeUser(9).id, sync::Ownership::kCreated, 0, false},
      {sync::EntityType::kUser, "other", m.users[0].id, sync::Ownership::kAdopted, 0, false}};
  return up;
}

TEST(StoreJournal, CompleteIsAtomicWithItsMirrorUpdate) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto store = OpenOk(path);
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(3);
  ASSERT_STORE_OK(store->ReplaceMirror(m, 1));
  ASSERT_STORE_OK(store->ApplyUpdate(LinkUpdate({sync::EntityType::kUser, "k0", m.users[0].id,
                                                 sync::Ownership::kCreated, 0, false})));
  auto ids = store->JournalAdd({Entry("x", "user.create")});
  ASSERT_STORE_OK(ids);
  ASSERT_STORE_OK(store->JournalMarkInFlight((*ids)[0], 2));

  MirrorUpdate up = FailingAtTheEnd(m);
  auto r = store->JournalComplete((*ids)[0], up, 3);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kInvalid) << r.error().message;

  auto check = [&](Store& s) {
    auto e = s.JournalGet((*ids)[0]);
    ASSERT_STORE_OK(e);
    EXPECT_EQ(e->state, JournalEntry::State::kInFlight);
    auto state = s.LoadState();
    ASSERT_STORE_OK(state);
    EXPECT_EQ(AllUsers(*state), m.users);
    EXPECT_EQ(AllGroups(*state), m.groups);
    ASSERT_EQ(state->links.size(), 1u);
    EXPECT_EQ(state->links[0].source_key, "k0");
  };
  check(*store);
  store.reset();
  auto reopened = OpenOk(path);
  ASSERT_TRUE(reopened);
  check(*reopened);
  // The same entry can still be completed with a valid update.
  up.upsert_links.pop_back();
  ASSERT_STORE_OK(reopened->JournalComplete((*ids)[0], up, 4));
  auto state = reopened->LoadState();
  EXPECT_EQ(state->users.size(), 3u);
  EXPECT_EQ(state->links.size(), 2u);
}

// Group commit: closes and marks of many entries in one transaction.
TEST(StoreJournal, CommitClosesAndMarksManyEntriesInOneTransaction) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto store = OpenOk(path);
  ASSERT_TRUE(store);
  ASSERT_STORE_OK(store->ReplaceMirror(MakeMirror(2), 1));
  auto ids = store->JournalAdd({Entry("a", "user.create"), Entry("b", "user.create"),
                                Entry("c", "user.patch"), Entry("d", "adopt"),
                                Entry("e", "user.create"), Entry("f", "user.create")});
  ASSERT_STORE_OK(ids);
  const auto id = [&](size_t k) { return (*ids)[k]; };

  JournalBatch marks;
  marks.mark_in_flight = {id(0), id(1), id(2)};
  auto r = store->JournalCommit(marks, 10);
  ASSERT_STORE_OK(r);
  EXPECT_TRUE(r->rejected.empty());
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(store->JournalGet(id(k))->state, JournalEntry::State::kInFlight);
    EXPECT_EQ(store->JournalGet(id(k))->attempts, 1);
  }

  // a done with its user and link, b failed, d (store-only, never marked)
  // done from pending; e and f marked in the same transaction.
  JournalBatch batch;
  MirrorUpdate a;
  a.upsert_users = {MakeUser(7)};
  a.upsert_links = {{sync::EntityType::kUser, "Ea", MakeUser(7).id, sync::Ownership::kCreated,
                     0, false}};
  batch.close.push_back({id(0), true, a, ""});
  batch.close.push_back({id(1), false, {}, "409 username taken"});
  MirrorUpdate d;
  d.upsert_links = {{sync::EntityType::kUser, "Ed", MakeUser(0).id, sync::Ownership::kAdopted,
                     0, false}};
  batch.close.push_back({id(3), true, d, ""});
  batch.mark_in_flight = {id(4), id(5)};
  r = store->JournalCommit(batch, 20);
  ASSERT_STORE_OK(r);
  EXPECT_TRUE(r->rejected.empty());

  store.reset();
  store = OpenOk(path);  // what is on disk
  ASSERT_TRUE(store);
  EXPECT_EQ(store->JournalGet(id(0))->state, JournalEntry::State::kDone);
  EXPECT_EQ(store->JournalGet(id(1))->state, JournalEntry::State::kFailed);
  EXPECT_EQ(store->JournalGet(id(1))->last_error, "409 username taken");
  EXPECT_EQ(store->JournalGet(id(2))->state, JournalEntry::State::kInFlight);
  EXPECT_EQ(store->JournalGet(id(3))->state, JournalEntry::State::kDone);
  EXPECT_EQ(store->JournalGet(id(3))->attempts, 0);
  EXPECT_EQ(store->JournalGet(id(4))->state, JournalEntry::State::kInFlight);
  EXPECT_EQ(store->JournalGet(id(5))->state, JournalEntry::State::kInFlight);
  auto state = store->LoadState();
  ASSERT_STORE_OK(state);
  EXPECT_EQ(state->users.size(), 3u);
  EXPECT_EQ(AllLinks(*state),
            (std::vector<sync::Link>{a.upsert_links[0], d.upsert_links[0]}));
}

TEST(StoreJournal, CommitRejectsOnlyTheEntryWhoseUpdateFails) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto store = OpenOk(path);
  ASSERT_TRUE(store);
  Mirror m = MakeMirror(3);
  ASSERT_STORE_OK(store->ReplaceMirror(m, 1));
  ASSERT_STORE_OK(store->ApplyUpdate(LinkUpdate({sync::EntityType::kUser, "k0", m.users[0].id,
                                                 sync::Ownership::kCreated, 0, false})));
  auto ids = store->JournalAdd({Entry("x", "user.create"), Entry("y", "user.create"),
                                Entry("z", "user.create")});
  ASSERT_STORE_OK(ids);
  JournalBatch marks;
  marks.mark_in_flight = *ids;
  ASSERT_STORE_OK(store->JournalCommit(marks, 2));

  MirrorUpdate x;  // fine
  x.upsert_users = {MakeUser(8)};
  x.upsert_links = {{sync::EntityType::kUser, "k8", MakeUser(8).id, sync::Ownership::kCreated,
                     0, false}};
  const MirrorUpdate y = FailingAtTheEnd(m);
  MirrorUpdate z;  // fine, after the failing one
  z.upsert_links = {{sync::EntityType::kUser, "k1", m.users[1].id, sync::Ownership::kAdopted,
                     0, false}};
  JournalBatch batch;
  batch.close = {{(*ids)[0], true, x, ""}, {(*ids)[1], true, y, ""}, {(*ids)[2], true, z, ""}};
  auto r = store->JournalCommit(batch, 3);
  ASSERT_STORE_OK(r);
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].first, 1u);
  EXPECT_EQ(r->rejected[0].second.code, Error::Code::kInvalid) << r->rejected[0].second.message;

  store.reset();
  store = OpenOk(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->JournalGet((*ids)[0])->state, JournalEntry::State::kDone);
  EXPECT_EQ(store->JournalGet((*ids)[1])->state, JournalEntry::State::kInFlight);
  EXPECT_EQ(store->JournalGet((*ids)[2])->state, JournalEntry::State::kDone);
  auto state = store->LoadState();
  ASSERT_STORE_OK(state);
  // m's three users and x's; nothing of y (user 2 is still there, user 9 not).
  std::vector<sync::IdaasUser> want = m.users;
  want.push_back(MakeUser(8));
  EXPECT_EQ(AllUsers(*state), want);
  EXPECT_EQ(AllGroups(*state), m.groups);
  std::vector<std::string> keys;
  for (const auto& l : AllLinks(*state)) keys.push_back(l.source_key);
  EXPECT_EQ(keys, (std::vector<std::string>{"k0", "k1", "k8"}));
}

TEST(StoreJournal, CommitWithAClosedEntryToMarkCommitsNothing) {
  TempDir dir;
  const std::string path = dir.path() + "/state.db";
  auto store = OpenOk(path);
  ASSERT_TRUE(store);
  ASSERT_STORE_OK(store->ReplaceMirror(MakeMirror(2), 1));
  auto ids = store->JournalAdd({Entry("a", "user.create"), Entry("b", "user.create"),
                                Entry("c", "user.create")});
  ASSERT_STORE_OK(ids);
  JournalBatch first;
  first.close = {{(*ids)[2], false, {}, "gone"}};
  ASSERT_STORE_OK(store->JournalCommit(first, 2));

  // Closing a and marking b and the closed c: the marks are all or none,
  // and a failed call leaves everything as it was, a's close included.
  JournalBatch batch;
  MirrorUpdate a;
  a.upsert_links = {{sync::EntityType::kUser, "ka", MakeUser(0).id, sync::Ownership::kAdopted,
                     0, false}};
  batch.close = {{(*ids)[0], true, a, ""}};
  batch.mark_in_flight = {(*ids)[1], (*ids)[2]};
  auto r = store->JournalCommit(batch, 3);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Error::Code::kInvalid);
  EXPECT_EQ(store->JournalGet((*ids)[0])->state, JournalEntry::State::kPending);
  EXPECT_EQ(store->JournalGet((*ids)[1])->state, JournalEntry::State::kPending);
  EXPECT_EQ(store->LoadState()->links.size(), 0u);
}

// ----------------------------------------------------------- runs, meta --

TEST(StoreRuns, BeginFinishRecent) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  auto r1 = store->BeginRun("apply", 1000);
  ASSERT_STORE_OK(r1);
  auto r2 = store->BeginRun("plan", 2000);
  ASSERT_STORE_OK(r2);
  RunSummary s;
  s.outcome = "changes";
  s.counts = {{"user.create.ok", 12}, {"user.create.failed", 1}};
  s.guards = R"({"max_deletes":"ok"})";
  s.report_path = "/var/lib/idsync/reports/1.json";
  ASSERT_STORE_OK(store->FinishRun(*r1, s, 1500));
  auto recent = store->RecentRuns(10);
  ASSERT_STORE_OK(recent);
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].id, *r2);
  EXPECT_EQ((*recent)[0].finished_ms, 0);
  EXPECT_EQ((*recent)[0].command, "plan");
  const RunSummary& got = (*recent)[1];
  EXPECT_EQ(got.command, "apply");
  EXPECT_EQ(got.started_ms, 1000);
  EXPECT_EQ(got.finished_ms, 1500);
  EXPECT_EQ(got.outcome, "changes");
  EXPECT_EQ(got.counts, s.counts);
  EXPECT_EQ(got.guards, s.guards);
  EXPECT_EQ(got.report_path, s.report_path);
  EXPECT_EQ(store->RecentRuns(1)->size(), 1u);
  auto missing = store->FinishRun(424242, s, 1);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Error::Code::kNotFound);
}

TEST(StoreMeta, GetSet) {
  TempDir dir;
  auto store = OpenOk(dir.path() + "/state.db");
  ASSERT_TRUE(store);
  auto v = store->GetMeta("guard.state");
  ASSERT_STORE_OK(v);
  EXPECT_FALSE(v->has_value());
  ASSERT_STORE_OK(store->SetMeta("guard.state", "blocked"));
  ASSERT_STORE_OK(store->SetMeta("guard.state", "ok"));
  EXPECT_EQ(store->GetMeta("guard.state")->value_or(""), "ok");
}

}  // namespace
}  // namespace idsync::store
