// Store::LoadState: the planning input (the compact UserTable, members,
// links, OUs, scope) from the packs, or from the rows when a pack is stale.
#include <cstdint>
#include <vector>

#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;
using detail::Invalid;
using detail::kMetaLastRefresh;
using detail::kMetaUserBytes;
using detail::kMetaUserCount;
using detail::ParseEntity;
using detail::ParseInt;
using detail::ParseOwnership;
using detail::ReadTx;

namespace {

// Group rows in rid order (members come separately); their rids in `rids`.
Result<void> LoadGroups(Db& db, sync::CachedState* state, std::vector<int64_t>* rids) {
  auto st = db.PrepareOnce(
      "SELECT rid, id, name, description, external_id, source_type, source_id "
      "FROM groups ORDER BY rid");
  if (!st) return st.error();
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    sync::IdaasGroup g;
    g.id = st->Text(1);
    g.name = st->Text(2);
    g.description = st->Text(3);
    g.external_id = st->Text(4);
    g.source_type = st->Text(5);
    g.source_id = st->Text(6);
    rids->push_back(st->Int(0));
    state->groups.push_back(std::move(g));
  }
  if (rc != SQLITE_DONE) return db.Fail(rc, "read groups");
  return {};
}

// The planning input from the row tables: the slow path, for databases
// whose packs are missing or disagree with the rows.
Result<void> LoadFromRows(Db& db, const std::string& path, int64_t user_count,
                          int64_t user_bytes, sync::CachedState* state) {
  auto max_rid = db.QueryInt("SELECT coalesce(max(rid), 0) FROM users");
  if (!max_rid) return max_rid.error();
  {
    int64_t rows = *max_rid;
    int64_t arena = user_bytes;
    // Users added by incremental updates since: assume average size.
    if (user_count > 0 && rows > user_count) arena += arena / user_count * (rows - user_count);
    state->users.reserve(static_cast<size_t>(rows), static_cast<size_t>(arena + arena / 64));
  }
  auto users = detail::ReadUserRows(db, 0, INT64_MAX, [&](int64_t, const sync::UserView& v) {
    state->users.Add(v);
  });
  if (!users) return users;

  std::vector<int64_t> group_rids;
  if (auto r = LoadGroups(db, state, &group_rids); !r) return r;
  {
    auto members = db.PrepareOnce(
        "SELECT group_rid, user_id FROM group_members ORDER BY group_rid, user_id");
    if (!members) return members.error();
    int rc = members->Step();
    for (int64_t rid : group_rids) {
      state->members.StartGroup();
      while (rc == SQLITE_ROW && members->Int(0) <= rid) {
        if (members->Int(0) == rid) state->members.AddId(members->Text(1));
        rc = members->Step();
      }
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db.Fail(rc, "read members");
  }
  {
    auto st = db.PrepareOnce(
        "SELECT type, source_key, idaas_id, ownership, missing_since_ms, "
        "disabled_by_idsync FROM links ORDER BY type, source_key");
    if (!st) return st.error();
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      auto type = ParseEntity(st->Text(0));
      if (!type) return Invalid(path, "bad link type");
      state->links.Add(sync::LinkView{.source_key = st->Text(1),
                                      .idaas_id = st->Text(2),
                                      .missing_since_ms = st->Int(4),
                                      .type = *type,
                                      .ownership = ParseOwnership(st->Text(3)),
                                      .disabled_by_idsync = st->Int(5) != 0});
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "read links");
  }
  return {};
}

// The planning input from the packs. false (and a partly filled state)
// when a pack does not match the rows it was made from.
Result<bool> LoadFromPacks(Db& db, sync::CachedState* state) {
  // users.rid -> row in the UserTable, for the members.
  std::vector<uint32_t> row_of_rid;
  constexpr uint32_t kNoRow = 0xffffffff;
  {
    auto sizes = db.PrepareOnce(
        "SELECT coalesce(sum(users), 0), coalesce(sum(length(data)), 0), "
        "coalesce(max(chunk), -1) FROM user_pack");
    if (!sizes) return sizes.error();
    int rc = sizes->Step();
    if (rc != SQLITE_ROW) return db.Fail(rc, "read user packs");
    state->users.reserve(static_cast<size_t>(sizes->Int(0)), static_cast<size_t>(sizes->Int(1)));
    row_of_rid.assign(static_cast<size_t>(sizes->Int(2) + 1) << detail::kUserChunkShift, kNoRow);
  }
  {
    auto st = db.PrepareOnce("SELECT chunk, users, data FROM user_pack ORDER BY chunk");
    if (!st) return st.error();
    sync::UserView v;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      const int64_t chunk = st->Int(0);
      int64_t n = 0;
      detail::PackReader r(sqlite3_column_blob(st->get(), 2),
                           static_cast<size_t>(sqlite3_column_bytes(st->get(), 2)));
      while (!r.done()) {
        int64_t rid = 0;
        if (!detail::DecodeUser(r, &rid, &v) || (rid >> detail::kUserChunkShift) != chunk) {
          return false;
        }
        row_of_rid[static_cast<size_t>(rid)] = static_cast<uint32_t>(state->users.size());
        state->users.Add(v);
        ++n;
      }
      if (n != st->Int(1)) return false;
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "read user packs");
  }

  std::vector<int64_t> group_rids;
  if (auto r = LoadGroups(db, state, &group_rids); !r) return r.error();
  {
    auto st = db.PrepareOnce("SELECT group_rid, members, data FROM member_pack ORDER BY group_rid, lo");
    if (!st) return st.error();
    int rc = st->Step();
    for (int64_t rid : group_rids) {
      state->members.StartGroup();
      for (; rc == SQLITE_ROW && st->Int(0) <= rid; rc = st->Step()) {
        if (st->Int(0) != rid) continue;
        int64_t n = 0;
        detail::PackReader r(sqlite3_column_blob(st->get(), 2),
                             static_cast<size_t>(sqlite3_column_bytes(st->get(), 2)));
        while (!r.done()) {
          const uint64_t user_rid = r.Varint();
          if (user_rid == 0) {
            std::string_view id = r.String();
            if (!r.ok() || id.empty()) return false;
            state->members.AddId(id);
          } else {
            if (!r.ok() || user_rid >= row_of_rid.size() || row_of_rid[user_rid] == kNoRow) {
              return false;
            }
            state->members.AddRow(row_of_rid[user_rid]);
          }
          ++n;
        }
        if (n != st->Int(1)) return false;
      }
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db.Fail(rc, "read member packs");
  }
  {
    auto sizes = db.PrepareOnce(
        "SELECT coalesce(sum(links), 0), coalesce(sum(length(data)), 0) FROM link_pack");
    if (!sizes) return sizes.error();
    int rc = sizes->Step();
    if (rc != SQLITE_ROW) return db.Fail(rc, "read link packs");
    state->links.reserve(static_cast<size_t>(sizes->Int(0)), static_cast<size_t>(sizes->Int(1)));
  }
  {
    auto st = db.PrepareOnce("SELECT type, links, data FROM link_pack ORDER BY type, lo");
    if (!st) return st.error();
    sync::LinkView l;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      auto type = ParseEntity(st->Text(0));
      if (!type) return false;
      int64_t n = 0;
      detail::PackReader r(sqlite3_column_blob(st->get(), 2),
                           static_cast<size_t>(sqlite3_column_bytes(st->get(), 2)));
      while (!r.done()) {
        if (!detail::DecodeLink(r, &l)) return false;
        l.type = *type;
        state->links.Add(l);
        ++n;
      }
      if (n != st->Int(1)) return false;
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "read link packs");
  }
  return true;
}

}  // namespace

Result<sync::CachedState> Store::LoadState() {
  Db& db = impl_->db;
  // Every page of the mirror went through SQLite's page cache (32 MiB)
  // just to be copied into the state: hand that memory back once read, for
  // the planner to reuse, instead of keeping it beside the copy. Whatever
  // the cycle reads next, it reads from the OS's file cache.
  struct ReleaseCache {
    Db& db;
    ~ReleaseCache() { (void)sqlite3_db_release_memory(db.raw()); }
  } release{db};
  ReadTx tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  sync::CachedState state;

  auto format = impl_->GetMetaLocked(detail::kMetaPackFormat);
  if (!format) return format.error();
  bool loaded = false;
  if (ParseInt(*format) == detail::kPackFormat) {
    auto packed = LoadFromPacks(db, &state);
    if (!packed) return packed.error();
    loaded = *packed;
    if (!loaded) state = sync::CachedState();
  }
  if (!loaded) {
    auto bytes = impl_->GetMetaLocked(kMetaUserBytes);
    if (!bytes) return bytes.error();
    auto count = impl_->GetMetaLocked(kMetaUserCount);
    if (!count) return count.error();
    if (auto r = LoadFromRows(db, impl_->path, ParseInt(*count), ParseInt(*bytes), &state); !r) {
      return r.error();
    }
  }

  {
    auto st = db.PrepareOnce(
        "SELECT id, name, parent_id, description, external_id, source_type, source_id "
        "FROM ous ORDER BY id");
    if (!st) return st.error();
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      sync::IdaasOu o;
      o.id = st->Text(0);
      o.name = st->Text(1);
      o.parent_id = st->Text(2);
      o.description = st->Text(3);
      o.external_id = st->Text(4);
      o.source_type = st->Text(5);
      o.source_id = st->Text(6);
      state.ous.push_back(std::move(o));
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "read OUs");
  }

  {
    auto st = db.PrepareOnce("SELECT type, id FROM scope ORDER BY type, id");
    if (!st) return st.error();
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      if (st->Text(0) == "ou") {
        state.scope.ou_ids.emplace_back(st->Text(1));
      } else {
        state.scope.group_ids.emplace_back(st->Text(1));
      }
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "read scope");
  }

  auto last = impl_->GetMetaLocked(kMetaLastRefresh);
  if (!last) return last.error();
  state.last_full_refresh_ms = ParseInt(*last);
  return state;
}

}  // namespace idsync::store
