#include "idsync/store/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "file_mode.h"
#include "lock.h"
#include "migrations.h"
#include "pack.h"
#include "sqlite.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;

const char* CodeName(Error::Code code) {
  switch (code) {
    case Error::Code::kBusy: return "busy";
    case Error::Code::kLocked: return "locked";
    case Error::Code::kCorrupt: return "corrupt";
    case Error::Code::kIo: return "io";
    case Error::Code::kSchema: return "schema";
    case Error::Code::kNotFound: return "not_found";
    case Error::Code::kInvalid: return "invalid";
    case Error::Code::kRemote: return "remote";
  }
  return "unknown";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(CodeName(e.code)) + ": " + e.message);
}

const char* StateName(JournalEntry::State s) {
  switch (s) {
    case JournalEntry::State::kPending: return "pending";
    case JournalEntry::State::kInFlight: return "in_flight";
    case JournalEntry::State::kDone: return "done";
    case JournalEntry::State::kFailed: return "failed";
  }
  return "unknown";
}

bool MirrorUpdate::empty() const {
  return upsert_users.empty() && delete_user_ids.empty() && upsert_ous.empty() &&
         delete_ou_ids.empty() && upsert_groups.empty() &&
         delete_group_ids.empty() && add_members.empty() &&
         remove_members.empty() && upsert_links.empty() &&
         delete_links.empty() && set_link_flags.empty();
}

namespace {

constexpr const char* kMetaLastRefresh = "last_full_refresh_ms";
// When the last `PRAGMA quick_check` passed (ms since the epoch).
constexpr const char* kMetaIntegrityCheckedMs = "integrity_checked_ms";
constexpr const char* kMetaUserCount = "mirror.user_count";
constexpr const char* kMetaUserBytes = "mirror.user_bytes";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<sync::EntityType> ParseEntity(std::string_view s) {
  if (s == "user") return sync::EntityType::kUser;
  if (s == "ou") return sync::EntityType::kOu;
  if (s == "group") return sync::EntityType::kGroup;
  return std::nullopt;
}

std::optional<JournalEntry::State> ParseState(std::string_view s) {
  if (s == "pending") return JournalEntry::State::kPending;
  if (s == "in_flight") return JournalEntry::State::kInFlight;
  if (s == "done") return JournalEntry::State::kDone;
  if (s == "failed") return JournalEntry::State::kFailed;
  return std::nullopt;
}

Error Invalid(const std::string& path, const std::string& what) {
  return Error{Error::Code::kInvalid, "state database " + path + ": " + what};
}

Error NotFound(const std::string& path, const std::string& what) {
  return Error{Error::Code::kNotFound, "state database " + path + ": " + what};
}

// The user fields that go to the UserTable arena, for its reserve().
size_t UserBytes(const sync::IdaasUser& u) {
  size_t n = u.id.size() + u.username.size() + u.display_name.size() +
             u.email.size() + u.phone_number.size() + u.description.size() +
             u.external_id.size();
  for (const auto& [k, v] : u.custom_fields) n += v.size();
  return n;
}

}  // namespace

// ---------------------------------------------------------------- Impl --

class Store::Impl {
 public:
  Db db;
  detail::Packer packer{db};
  detail::WriterLock lock;
  std::string path;
  int version = 0;
  bool read_only = false;

  Result<void> OpenDb(const OpenOptions& options);
  Result<void> ApplyUpdateLocked(const MirrorUpdate& update);
  Result<void> ApplyRows(const MirrorUpdate& update);
  Result<void> EnsurePacks();
  Result<void> UpsertUser(const sync::IdaasUser& u);
  Result<void> UpsertGroup(const sync::IdaasGroup& g);
  Result<void> UpsertOu(const sync::IdaasOu& o);
  Result<std::optional<int64_t>> GroupRid(const std::string& id);
  Result<std::optional<std::string>> GetMetaLocked(const char* key);
  bool IntegrityCheckDue(const OpenOptions& options);
  Result<void> SetMetaLocked(const char* key, const std::string& value);
  Result<std::vector<sync::Link>> OrphanedLinks();
  Result<void> CheckWritable() const {
    if (read_only) return Invalid(path, "opened read-only");
    return {};
  }
  // After a failed UPDATE ... WHERE id = ? AND state IN (unfinished).
  Error JournalStateError(int64_t id);
  // One try of Store::JournalCommit; `isolate` puts each close under a
  // savepoint. Without it, an entry's own failure sets *rejected and fails
  // the call (nothing committed).
  Result<JournalCommitResult> JournalCommitOnce(const JournalBatch& batch, int64_t now_ms,
                                                bool isolate, bool* rejected);
};

namespace {

// Reads the first 16 bytes; an existing non-empty file must carry SQLite's
// magic header or we refuse to touch it.
Result<bool> CheckExistingFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Error{Error::Code::kIo, "state database " + path +
                                       ": cannot stat: " + std::strerror(errno)};
  }
  if (!S_ISREG(st.st_mode)) {
    return Invalid(path, "not a regular file");
  }
  if (st.st_size == 0) return true;  // SQLite treats it as a new database
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  in.read(header, sizeof header);
  if (!in || std::memcmp(header, "SQLite format 3", 16) != 0) {
    return Invalid(path, "not a SQLite database (bad file header); refusing to "
                         "open or overwrite it");
  }
  return true;
}

}  // namespace

Result<void> Store::Impl::OpenDb(const OpenOptions& options) {
  read_only = options.read_only;
  auto exists = CheckExistingFile(path);
  if (!exists) return exists.error();
  if (!*exists && read_only) return NotFound(path, "no such file");
  if (!read_only) {
    if (auto r = detail::MakeDbFilesPrivate(path, *exists); !r) return r.error();
  }
  if (auto r = db.Open(path, read_only, /*create=*/!*exists); !r) return r.error();

  // quick_check before anything writes (journal_mode=WAL would).
  const bool check = IntegrityCheckDue(options);
  if (check) {
    auto st = db.PrepareOnce("PRAGMA quick_check(5)");
    if (!st) {
      Error e = st.error();
      if (e.code == Error::Code::kCorrupt || e.code == Error::Code::kIo) {
        e.message = "state database " + path + " is unreadable: " +
                    sqlite3_errmsg(db.raw()) + " - restore from backup (docs/store.md)";
      }
      return e;
    }
    std::string first;
    int rows = 0;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      if (rows++ == 0) first = std::string(st->Text(0));
    }
    if (rc != SQLITE_DONE) {
      Error e = db.Fail(rc, "quick_check");
      if (e.code == Error::Code::kCorrupt) {
        e.message = "state database " + path + " is corrupt: quick_check: " +
                    sqlite3_errmsg(db.raw()) + " - restore from backup (docs/store.md)";
      }
      return e;
    }
    if (rows != 1 || first != "ok") {
      return Error{Error::Code::kCorrupt,
                   "state database " + path + " is corrupt: quick_check: " + first +
                       " - restore from backup (docs/store.md)"};
    }
  }

  auto version_r = db.QueryInt("PRAGMA user_version");
  if (!version_r) return version_r.error();
  auto app_id = db.QueryInt("PRAGMA application_id");
  if (!app_id) return app_id.error();
  const int latest = detail::LatestVersion();
  if (*version_r > latest) {
    return Error{Error::Code::kSchema,
                 "state database " + path + " has schema version " +
                     std::to_string(*version_r) + ", newer than this idsync supports (" +
                     std::to_string(latest) + "); upgrade idsync or restore a backup"};
  }
  if (*version_r == 0) {
    auto objects = db.QueryInt("SELECT count(*) FROM sqlite_master");
    if (!objects) return objects.error();
    if (*objects > 0) {
      return Invalid(path, "not an idsync state database (it has tables but no "
                           "idsync schema version); refusing to modify it");
    }
  } else if (*app_id != detail::kApplicationId) {
    return Invalid(path, "not an idsync state database (application_id " +
                             std::to_string(*app_id) + ")");
  }

  if (read_only) {
    if (*version_r < latest) {
      return Error{Error::Code::kSchema,
                   "state database " + path + " has schema version " +
                       std::to_string(*version_r) + " and needs migration to " +
                       std::to_string(latest) +
                       "; open it once with write access (e.g. idsync refresh)"};
    }
    version = static_cast<int>(*version_r);
    return {};
  }

  {
    auto st = db.PrepareOnce("PRAGMA journal_mode = WAL");
    if (!st) return st.error();
    int rc = st->Step();
    if (rc != SQLITE_ROW) return db.Fail(rc, "set WAL mode");
    if (st->Text(0) != "wal") {
      return Error{Error::Code::kIo, "state database " + path +
                                         ": cannot switch to WAL mode (journal_mode is " +
                                         std::string(st->Text(0)) + ")"};
    }
  }
  if (auto r = db.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"); !r) {
    return r.error();
  }
  if (auto r = detail::MigrateTo(db, latest, WallMs()); !r) return r.error();
  auto v = db.QueryInt("PRAGMA user_version");
  if (!v) return v.error();
  version = static_cast<int>(*v);
  if (auto r = EnsurePacks(); !r) return r;
  if (check) return SetMetaLocked(kMetaIntegrityCheckedMs, std::to_string(WallMs()));
  return {};
}

// Due when asked for on every open, when no check has passed yet (or the
// record cannot be read: a damaged file must not skip its check), when the
// last one is too old, or when the clock went back past it.
bool Store::Impl::IntegrityCheckDue(const OpenOptions& options) {
  if (options.integrity_check_max_age_ms <= 0) return true;
  auto table = db.QueryInt(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!table || *table == 0) return true;
  auto last = GetMetaLocked(kMetaIntegrityCheckedMs);
  if (!last || !*last) return true;
  int64_t checked = 0;
  auto [end, ec] = std::from_chars((*last)->data(), (*last)->data() + (*last)->size(), checked);
  if (ec != std::errc() || end != (*last)->data() + (*last)->size()) return true;
  const int64_t now = WallMs();
  return checked > now || now - checked >= options.integrity_check_max_age_ms;
}

// After migration to v3, or when this build packs differently: the packs
// are rebuilt from the rows once, in one transaction.
Result<void> Store::Impl::EnsurePacks() {
  auto format = GetMetaLocked(detail::kMetaPackFormat);
  if (!format) return format.error();
  if (*format == std::to_string(detail::kPackFormat)) return {};
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r;
  if (auto r = packer.RebuildAll(); !r) return r;
  if (auto r = SetMetaLocked(detail::kMetaPackFormat, std::to_string(detail::kPackFormat)); !r) {
    return r;
  }
  return tx.Commit();
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                           OpenOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (!options.read_only) {
    if (auto r = impl->lock.Acquire(path); !r) return r.error();
  }
  if (auto r = impl->OpenDb(options); !r) return r.error();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const { return impl_->path; }
int Store::SchemaVersion() const { return impl_->version; }
int Store::LatestSchemaVersion() { return detail::LatestVersion(); }

// ---------------------------------------------------------------- meta --

Result<std::optional<std::string>> Store::Impl::GetMetaLocked(const char* key) {
  auto st = db.Prepare("SELECT value FROM meta WHERE key = ?");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, key);
  int rc = s.Step();
  if (rc == SQLITE_ROW) {
    std::string v(s.Text(0));
    s.Reset();
    return std::optional<std::string>(std::move(v));
  }
  s.Reset();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return db.Fail(rc, "read meta");
}

Result<void> Store::Impl::SetMetaLocked(const char* key, const std::string& value) {
  auto st = db.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  if (!st) return st.error();
  (*st)->Bind(1, key).Bind(2, value);
  return db.Run(**st, "write meta");
}

Result<std::optional<std::string>> Store::GetMeta(const std::string& key) {
  return impl_->GetMetaLocked(key.c_str());
}

Result<void> Store::SetMeta(const std::string& key, const std::string& value) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  return impl_->SetMetaLocked(key.c_str(), value);
}

// ----------------------------------------------------------- LoadState --

namespace {

int64_t ParseInt(const std::optional<std::string>& s) {
  if (!s) return 0;
  try {
    return std::stoll(*s);
  } catch (...) {
    return 0;
  }
}

// A read transaction: one consistent snapshot across several statements.
class ReadTx {
 public:
  explicit ReadTx(Db& db) : db_(db) {}
  ~ReadTx() {
    if (open_) sqlite3_exec(db_.raw(), "COMMIT", nullptr, nullptr, nullptr);
  }
  Result<void> Begin() {
    if (sqlite3_get_autocommit(db_.raw()) == 0) return {};  // already in one
    auto r = db_.Exec("BEGIN");
    if (r) open_ = true;
    return r;
  }

 private:
  Db& db_;
  bool open_ = false;
};

}  // namespace

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

sync::Ownership ParseOwnership(std::string_view s) {
  return s == "adopted" ? sync::Ownership::kAdopted : sync::Ownership::kCreated;
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
      state->links.Add(sync::LinkView{*type, st->Text(1), st->Text(2),
                                      ParseOwnership(st->Text(3)), st->Int(4),
                                      st->Int(5) != 0});
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

// -------------------------------------------------------- ReplaceMirror --

Result<std::vector<sync::Link>> Store::Impl::OrphanedLinks() {
  auto st = db.PrepareOnce(
      "SELECT type, source_key, idaas_id, ownership, missing_since_ms, disabled_by_idsync "
      "FROM links l WHERE "
      "(type = 'user' AND NOT EXISTS (SELECT 1 FROM users WHERE id = l.idaas_id)) OR "
      "(type = 'ou' AND NOT EXISTS (SELECT 1 FROM ous WHERE id = l.idaas_id)) OR "
      "(type = 'group' AND NOT EXISTS (SELECT 1 FROM groups WHERE id = l.idaas_id)) "
      "ORDER BY type, source_key");
  if (!st) return st.error();
  std::vector<sync::Link> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    sync::Link l;
    l.type = ParseEntity(st->Text(0)).value_or(sync::EntityType::kUser);
    l.source_key = st->Text(1);
    l.idaas_id = st->Text(2);
    l.ownership = st->Text(3) == "adopted" ? sync::Ownership::kAdopted
                                           : sync::Ownership::kCreated;
    l.missing_since_ms = st->Int(4);
    l.disabled_by_idsync = st->Int(5) != 0;
    out.push_back(std::move(l));
  }
  if (rc != SQLITE_DONE) return db.Fail(rc, "find orphaned links");
  return out;
}

Result<ReplaceStats> Store::ReplaceMirror(const Mirror& fresh, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  Db& db = impl_->db;
  const std::string& path = impl_->path;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  // Children first, so the foreign-key checks on the parents find nothing.
  if (auto r = db.Exec(
          "DELETE FROM group_members; DELETE FROM groups; DELETE FROM user_custom_fields;"
          "DELETE FROM user_ous; DELETE FROM users; DELETE FROM ous; DELETE FROM scope;");
      !r) {
    return r.error();
  }
  ReplaceStats stats;
  size_t user_bytes = 0;
  {
    auto ins = db.Prepare(
        "INSERT INTO users (rid, id, username, display_name, email, phone_number, "
        "phone_region, description, external_id, source_type, source_id, primary_ou_id, "
        "enabled, update_time_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!ins) return ins.error();
    Stmt& u_st = **ins;
    auto ou_ins = db.Prepare("INSERT OR IGNORE INTO user_ous (user_rid, ou_id) VALUES (?, ?)");
    if (!ou_ins) return ou_ins.error();
    Stmt& o_st = **ou_ins;
    auto cf_ins = db.Prepare(
        "INSERT OR REPLACE INTO user_custom_fields (user_rid, name, value) VALUES (?, ?, ?)");
    if (!cf_ins) return cf_ins.error();
    Stmt& c_st = **cf_ins;
    int64_t rid = 0;
    for (const sync::IdaasUser& u : fresh.users) {
      ++rid;
      u_st.Bind(1, rid).Bind(2, u.id).Bind(3, u.username).Bind(4, u.display_name)
          .Bind(5, u.email).Bind(6, u.phone_number).Bind(7, u.phone_region)
          .Bind(8, u.description).Bind(9, u.external_id).Bind(10, u.source_type)
          .Bind(11, u.source_id).Bind(12, u.primary_ou_id).Bind(13, u.enabled)
          .Bind(14, u.update_time_ms);
      if (auto r = db.Run(u_st, "insert user"); !r) return r.error();
      for (const std::string& ou : u.ou_ids) {
        o_st.Bind(1, rid).Bind(2, ou);
        if (auto r = db.Run(o_st, "insert user OU"); !r) return r.error();
      }
      for (const auto& [k, v] : u.custom_fields) {
        c_st.Bind(1, rid).Bind(2, k).Bind(3, v);
        if (auto r = db.Run(c_st, "insert custom field"); !r) return r.error();
      }
      user_bytes += UserBytes(u);
    }
    stats.users = rid;
  }
  for (const sync::IdaasOu& o : fresh.ous) {
    if (auto r = impl_->UpsertOu(o); !r) return r.error();
  }
  stats.ous = static_cast<int64_t>(fresh.ous.size());
  {
    auto g_ins = db.Prepare(
        "INSERT INTO groups (rid, id, name, description, external_id, source_type, "
        "source_id) VALUES (?,?,?,?,?,?,?)");
    if (!g_ins) return g_ins.error();
    Stmt& g_st = **g_ins;
    auto m_ins = db.Prepare("INSERT OR IGNORE INTO group_members (group_rid, user_id) VALUES (?, ?)");
    if (!m_ins) return m_ins.error();
    Stmt& m_st = **m_ins;
    int64_t rid = 0;
    for (const sync::IdaasGroup& g : fresh.groups) {
      ++rid;
      g_st.Bind(1, rid).Bind(2, g.id).Bind(3, g.name).Bind(4, g.description)
          .Bind(5, g.external_id).Bind(6, g.source_type).Bind(7, g.source_id);
      if (auto r = db.Run(g_st, "insert group"); !r) return r.error();
      for (const std::string& m : g.member_ids) {
        m_st.Bind(1, rid).Bind(2, m);
        if (auto r = db.Run(m_st, "insert member"); !r) return r.error();
        ++stats.memberships;
      }
    }
    stats.groups = rid;
  }
  {
    auto s_ins = db.Prepare("INSERT OR IGNORE INTO scope (type, id) VALUES (?, ?)");
    if (!s_ins) return s_ins.error();
    for (const auto& id : fresh.scope.ou_ids) {
      (*s_ins)->Bind(1, "ou").Bind(2, id);
      if (auto r = db.Run(**s_ins, "insert scope"); !r) return r.error();
    }
    for (const auto& id : fresh.scope.group_ids) {
      (*s_ins)->Bind(1, "group").Bind(2, id);
      if (auto r = db.Run(**s_ins, "insert scope"); !r) return r.error();
    }
  }
  if (auto r = impl_->SetMetaLocked(kMetaLastRefresh, std::to_string(now_ms)); !r) {
    return r.error();
  }
  if (auto r = impl_->SetMetaLocked(kMetaUserCount, std::to_string(stats.users)); !r) {
    return r.error();
  }
  if (auto r = impl_->SetMetaLocked(kMetaUserBytes, std::to_string(user_bytes)); !r) {
    return r.error();
  }
  // Links are kept as they are; their packs stay valid.
  if (auto r = impl_->packer.RebuildAll(/*links=*/false); !r) return r.error();
  auto orphans = impl_->OrphanedLinks();
  if (!orphans) return orphans.error();
  stats.orphaned_links = std::move(*orphans);
  if (auto r = tx.Commit(); !r) {
    return Error{r.error().code, "replacing the mirror of " + path +
                                     " failed (the previous mirror is kept): " +
                                     r.error().message};
  }
  return stats;
}

// ------------------------------------------------------------ updates --

Result<void> Store::Impl::UpsertOu(const sync::IdaasOu& o) {
  auto st = db.Prepare(
      "INSERT INTO ous (id, name, parent_id, description, external_id, source_type, "
      "source_id) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
      "name = excluded.name, parent_id = excluded.parent_id, "
      "description = excluded.description, external_id = excluded.external_id, "
      "source_type = excluded.source_type, source_id = excluded.source_id");
  if (!st) return st.error();
  (*st)->Bind(1, o.id).Bind(2, o.name).Bind(3, o.parent_id).Bind(4, o.description)
      .Bind(5, o.external_id).Bind(6, o.source_type).Bind(7, o.source_id);
  return db.Run(**st, "upsert OU " + o.id);
}

Result<void> Store::Impl::UpsertUser(const sync::IdaasUser& u) {
  auto st = db.Prepare(
      "INSERT INTO users (id, username, display_name, email, phone_number, "
      "phone_region, description, external_id, source_type, source_id, primary_ou_id, "
      "enabled, update_time_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT (id) DO UPDATE SET username = excluded.username, "
      "display_name = excluded.display_name, email = excluded.email, "
      "phone_number = excluded.phone_number, phone_region = excluded.phone_region, "
      "description = excluded.description, external_id = excluded.external_id, "
      "source_type = excluded.source_type, source_id = excluded.source_id, "
      "primary_ou_id = excluded.primary_ou_id, enabled = excluded.enabled, "
      "update_time_ms = excluded.update_time_ms RETURNING rid");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, u.id).Bind(2, u.username).Bind(3, u.display_name).Bind(4, u.email)
      .Bind(5, u.phone_number).Bind(6, u.phone_region).Bind(7, u.description)
      .Bind(8, u.external_id).Bind(9, u.source_type).Bind(10, u.source_id)
      .Bind(11, u.primary_ou_id).Bind(12, u.enabled).Bind(13, u.update_time_ms);
  int rc = s.Step();
  if (rc != SQLITE_ROW) {
    Error e = db.Fail(rc, "upsert user " + u.id);
    s.Reset();
    return e;
  }
  const int64_t rid = s.Int(0);
  rc = s.Step();  // finish the statement
  s.Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, "upsert user " + u.id);
  packer.TouchUser(rid);

  auto del_ous = db.Prepare("DELETE FROM user_ous WHERE user_rid = ?");
  if (!del_ous) return del_ous.error();
  (*del_ous)->Bind(1, rid);
  if (auto r = db.Run(**del_ous, "update user OUs"); !r) return r;
  auto del_cf = db.Prepare("DELETE FROM user_custom_fields WHERE user_rid = ?");
  if (!del_cf) return del_cf.error();
  (*del_cf)->Bind(1, rid);
  if (auto r = db.Run(**del_cf, "update custom fields"); !r) return r;
  auto ins_ou = db.Prepare("INSERT OR IGNORE INTO user_ous (user_rid, ou_id) VALUES (?, ?)");
  if (!ins_ou) return ins_ou.error();
  for (const std::string& ou : u.ou_ids) {
    (*ins_ou)->Bind(1, rid).Bind(2, ou);
    if (auto r = db.Run(**ins_ou, "insert user OU"); !r) return r;
  }
  auto ins_cf = db.Prepare(
      "INSERT OR REPLACE INTO user_custom_fields (user_rid, name, value) VALUES (?, ?, ?)");
  if (!ins_cf) return ins_cf.error();
  for (const auto& [k, v] : u.custom_fields) {
    (*ins_cf)->Bind(1, rid).Bind(2, k).Bind(3, v);
    if (auto r = db.Run(**ins_cf, "insert custom field"); !r) return r;
  }
  return {};
}

Result<std::optional<int64_t>> Store::Impl::GroupRid(const std::string& id) {
  auto st = db.Prepare("SELECT rid FROM groups WHERE id = ?");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, id);
  int rc = s.Step();
  std::optional<int64_t> rid;
  if (rc == SQLITE_ROW) rid = s.Int(0);
  s.Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.Fail(rc, "find group");
  return rid;
}

Result<void> Store::Impl::UpsertGroup(const sync::IdaasGroup& g) {
  auto st = db.Prepare(
      "INSERT INTO groups (id, name, description, external_id, source_type, source_id) "
      "VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
      "description = excluded.description, external_id = excluded.external_id, "
      "source_type = excluded.source_type, source_id = excluded.source_id RETURNING rid");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, g.id).Bind(2, g.name).Bind(3, g.description).Bind(4, g.external_id)
      .Bind(5, g.source_type).Bind(6, g.source_id);
  int rc = s.Step();
  if (rc != SQLITE_ROW) {
    Error e = db.Fail(rc, "upsert group " + g.id);
    s.Reset();
    return e;
  }
  const int64_t rid = s.Int(0);
  rc = s.Step();
  s.Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, "upsert group " + g.id);
  packer.TouchGroup(rid);
  auto del = db.Prepare("DELETE FROM group_members WHERE group_rid = ?");
  if (!del) return del.error();
  (*del)->Bind(1, rid);
  if (auto r = db.Run(**del, "replace members"); !r) return r;
  auto ins = db.Prepare("INSERT OR IGNORE INTO group_members (group_rid, user_id) VALUES (?, ?)");
  if (!ins) return ins.error();
  for (const std::string& m : g.member_ids) {
    (*ins)->Bind(1, rid).Bind(2, m);
    if (auto r = db.Run(**ins, "insert member"); !r) return r;
  }
  return {};
}

// The row changes, then the packs of what changed, in the caller's
// transaction; on error the caller rolls back and nothing is kept.
Result<void> Store::Impl::ApplyUpdateLocked(const MirrorUpdate& up) {
  auto r = ApplyRows(up);
  if (r) r = packer.Flush();
  if (!r) packer.Clear();
  return r;
}

namespace {

// Steps a DELETE ... RETURNING <integer> statement, collecting the values.
Result<void> RunReturning(Db& db, Stmt& st, std::string_view what, std::vector<int64_t>* out) {
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out->push_back(st.Int(0));
  st.Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, what);
  return {};
}

}  // namespace

Result<void> Store::Impl::ApplyRows(const MirrorUpdate& up) {
  // Deletes first.
  std::vector<int64_t> rids;
  for (const std::string& id : up.delete_user_ids) {
    auto m = db.Prepare("DELETE FROM group_members WHERE user_id = ? RETURNING group_rid");
    if (!m) return m.error();
    (*m)->Bind(1, id);
    rids.clear();
    if (auto r = RunReturning(db, **m, "delete memberships of " + id, &rids); !r) return r;
    for (int64_t g : rids) packer.TouchMember(g, id);
    auto st = db.Prepare("DELETE FROM users WHERE id = ? RETURNING rid");
    if (!st) return st.error();
    (*st)->Bind(1, id);
    rids.clear();
    if (auto r = RunReturning(db, **st, "delete user " + id, &rids); !r) return r;
    for (int64_t rid : rids) packer.TouchUser(rid);
  }
  for (const std::string& id : up.delete_group_ids) {
    auto st = db.Prepare("DELETE FROM groups WHERE id = ?");
    if (!st) return st.error();
    (*st)->Bind(1, id);
    if (auto r = db.Run(**st, "delete group " + id); !r) return r;
  }
  for (const std::string& id : up.delete_ou_ids) {
    auto st = db.Prepare("DELETE FROM ous WHERE id = ?");
    if (!st) return st.error();
    (*st)->Bind(1, id);
    if (auto r = db.Run(**st, "delete OU " + id); !r) return r;
  }
  for (const auto& o : up.upsert_ous) {
    if (auto r = UpsertOu(o); !r) return r;
  }
  for (const auto& u : up.upsert_users) {
    if (auto r = UpsertUser(u); !r) return r;
  }
  for (const auto& g : up.upsert_groups) {
    if (auto r = UpsertGroup(g); !r) return r;
  }
  for (const auto& m : up.add_members) {
    auto rid = GroupRid(m.group_id);
    if (!rid) return rid.error();
    if (!*rid) return NotFound(path, "add members: no group " + m.group_id + " in the mirror");
    auto st = db.Prepare("INSERT OR IGNORE INTO group_members (group_rid, user_id) VALUES (?, ?)");
    if (!st) return st.error();
    for (const auto& uid : m.user_ids) {
      (*st)->Bind(1, **rid).Bind(2, uid);
      if (auto r = db.Run(**st, "add member"); !r) return r;
      packer.TouchMember(**rid, uid);
    }
  }
  for (const auto& m : up.remove_members) {
    auto rid = GroupRid(m.group_id);
    if (!rid) return rid.error();
    if (!*rid) continue;
    auto st = db.Prepare("DELETE FROM group_members WHERE group_rid = ? AND user_id = ?");
    if (!st) return st.error();
    for (const auto& uid : m.user_ids) {
      (*st)->Bind(1, **rid).Bind(2, uid);
      if (auto r = db.Run(**st, "remove member"); !r) return r;
      packer.TouchMember(**rid, uid);
    }
  }
  for (const auto& k : up.delete_links) {
    auto st = db.Prepare("DELETE FROM links WHERE type = ? AND source_key = ?");
    if (!st) return st.error();
    (*st)->Bind(1, sync::EntityTypeName(k.type)).Bind(2, k.source_key);
    if (auto r = db.Run(**st, "delete link"); !r) return r;
    packer.TouchLink(sync::EntityTypeName(k.type), k.source_key);
  }
  for (const auto& l : up.upsert_links) {
    auto st = db.Prepare(
        "INSERT INTO links (type, source_key, idaas_id, ownership, missing_since_ms, "
        "disabled_by_idsync) VALUES (?,?,?,?,?,?) ON CONFLICT (type, source_key) DO UPDATE "
        "SET idaas_id = excluded.idaas_id, ownership = excluded.ownership, "
        "missing_since_ms = excluded.missing_since_ms, "
        "disabled_by_idsync = excluded.disabled_by_idsync");
    if (!st) return st.error();
    (*st)->Bind(1, sync::EntityTypeName(l.type)).Bind(2, l.source_key)
        .Bind(3, l.idaas_id).Bind(4, sync::OwnershipName(l.ownership))
        .Bind(5, l.missing_since_ms).Bind(6, l.disabled_by_idsync);
    if (auto r = db.Run(**st, "link " + l.source_key + " -> " + l.idaas_id); !r) return r;
    packer.TouchLink(sync::EntityTypeName(l.type), l.source_key);
  }
  for (const auto& f : up.set_link_flags) {
    auto st = db.Prepare(
        "UPDATE links SET missing_since_ms = coalesce(?, missing_since_ms), "
        "disabled_by_idsync = coalesce(?, disabled_by_idsync) "
        "WHERE type = ? AND source_key = ?");
    if (!st) return st.error();
    Stmt& s = **st;
    if (f.missing_since_ms) s.Bind(1, *f.missing_since_ms); else s.BindNull(1);
    if (f.disabled_by_idsync) s.Bind(2, *f.disabled_by_idsync); else s.BindNull(2);
    s.Bind(3, sync::EntityTypeName(f.type)).Bind(4, f.source_key);
    if (auto r = db.Run(s, "set link flags"); !r) return r;
    if (sqlite3_changes(db.raw()) == 0) {
      return NotFound(path, std::string("set link flags: no ") +
                                sync::EntityTypeName(f.type) + " link for source key " +
                                f.source_key);
    }
    packer.TouchLink(sync::EntityTypeName(f.type), f.source_key);
  }
  return {};
}

Result<void> Store::ApplyUpdate(const MirrorUpdate& update) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Transaction tx(impl_->db);
  if (auto r = tx.Begin(); !r) return r;
  if (auto r = impl_->ApplyUpdateLocked(update); !r) return r;
  return tx.Commit();
}

// ------------------------------------------------------------- journal --

namespace {

constexpr const char* kJournalColumns =
    "id, op_id, kind, entity, target, payload, payload_hash, state, attempts, "
    "last_error, created_ms, updated_ms, run_id";

JournalEntry ReadEntry(const Stmt& s) {
  JournalEntry e;
  e.id = s.Int(0);
  e.op_id = s.Text(1);
  e.kind = s.Text(2);
  e.entity = ParseEntity(s.Text(3)).value_or(sync::EntityType::kUser);
  e.target = s.Text(4);
  e.payload = s.Text(5);
  e.payload_hash = s.Text(6);
  e.state = ParseState(s.Text(7)).value_or(JournalEntry::State::kFailed);
  e.attempts = static_cast<int>(s.Int(8));
  e.last_error = s.Text(9);
  e.created_ms = s.Int(10);
  e.updated_ms = s.Int(11);
  e.run_id = s.Int(12);
  return e;
}

}  // namespace

Error Store::Impl::JournalStateError(int64_t id) {
  auto st = db.Prepare("SELECT state FROM journal WHERE id = ?");
  if (!st) return st.error();
  (*st)->Bind(1, id);
  int rc = (*st)->Step();
  std::string state = rc == SQLITE_ROW ? std::string((*st)->Text(0)) : "";
  (*st)->Reset();
  if (rc == SQLITE_DONE) {
    return NotFound(path, "no journal entry " + std::to_string(id));
  }
  if (rc != SQLITE_ROW) return db.Fail(rc, "read journal");
  return Invalid(path, "journal entry " + std::to_string(id) + " is already " + state);
}

Result<std::vector<int64_t>> Store::JournalAdd(const std::vector<JournalEntry>& entries) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  Db& db = impl_->db;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  auto st = db.Prepare(
      "INSERT INTO journal (op_id, kind, entity, target, payload, payload_hash, state, "
      "attempts, last_error, created_ms, updated_ms, run_id) "
      "VALUES (?,?,?,?,?,?,'pending',0,'',?,?,?)");
  if (!st) return st.error();
  std::vector<int64_t> ids;
  ids.reserve(entries.size());
  for (const JournalEntry& e : entries) {
    (*st)->Bind(1, e.op_id).Bind(2, e.kind).Bind(3, sync::EntityTypeName(e.entity))
        .Bind(4, e.target).Bind(5, e.payload).Bind(6, e.payload_hash)
        .Bind(7, e.created_ms).Bind(8, e.created_ms).Bind(9, e.run_id);
    if (auto r = db.Run(**st, "journal " + e.op_id); !r) return r.error();
    ids.push_back(sqlite3_last_insert_rowid(db.raw()));
  }
  if (auto r = tx.Commit(); !r) return r.error();
  return ids;
}

Result<void> Store::JournalMarkInFlight(int64_t id, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Db& db = impl_->db;
  auto st = db.Prepare(
      "UPDATE journal SET state = 'in_flight', attempts = attempts + 1, updated_ms = ? "
      "WHERE id = ? AND state IN ('pending', 'in_flight')");
  if (!st) return st.error();
  (*st)->Bind(1, now_ms).Bind(2, id);
  if (auto r = db.Run(**st, "mark in flight"); !r) return r;
  if (sqlite3_changes(db.raw()) == 0) return impl_->JournalStateError(id);
  return {};
}

Result<void> Store::JournalComplete(int64_t id, const MirrorUpdate& update,
                                    int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Db& db = impl_->db;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r;
  auto st = db.Prepare(
      "UPDATE journal SET state = 'done', updated_ms = ?, last_error = '' "
      "WHERE id = ? AND state IN ('pending', 'in_flight')");
  if (!st) return st.error();
  (*st)->Bind(1, now_ms).Bind(2, id);
  if (auto r = db.Run(**st, "complete journal entry"); !r) return r;
  if (sqlite3_changes(db.raw()) == 0) return impl_->JournalStateError(id);
  if (auto r = impl_->ApplyUpdateLocked(update); !r) {
    return Error{r.error().code, "journal entry " + std::to_string(id) +
                                     " not completed: " + r.error().message};
  }
  return tx.Commit();
}

Result<JournalCommitResult> Store::JournalCommit(const JournalBatch& batch, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  if (batch.close.empty() && batch.mark_in_flight.empty()) return JournalCommitResult{};
  // Optimistically without savepoints: a SAVEPOINT per entry costs SQLite a
  // statement journal each, and an entry is rarely rejected. When one is,
  // the whole transaction is rolled back and done again entry by entry.
  bool rejected = false;
  auto r = impl_->JournalCommitOnce(batch, now_ms, /*isolate=*/false, &rejected);
  if (!r && rejected) r = impl_->JournalCommitOnce(batch, now_ms, /*isolate=*/true, &rejected);
  return r;
}

Result<JournalCommitResult> Store::Impl::JournalCommitOnce(const JournalBatch& batch,
                                                           int64_t now_ms, bool isolate,
                                                           bool* rejected) {
  JournalCommitResult out;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  // Whatever fails below, no touch of this batch must leak into the next
  // transaction's re-pack (it would be harmless, but costs a re-pack).
  struct ClearOnExit {
    detail::Packer& p;
    ~ClearOnExit() { p.Clear(); }
  } clear_on_exit{packer};
  auto done = db.Prepare(
      "UPDATE journal SET state = 'done', updated_ms = ?, last_error = '' "
      "WHERE id = ? AND state IN ('pending', 'in_flight')");
  if (!done) return done.error();
  auto failed = db.Prepare(
      "UPDATE journal SET state = 'failed', last_error = ?, updated_ms = ? "
      "WHERE id = ? AND state IN ('pending', 'in_flight')");
  if (!failed) return failed.error();
  auto savepoint = db.Prepare("SAVEPOINT journal_close");
  if (!savepoint) return savepoint.error();
  auto rollback = db.Prepare("ROLLBACK TO journal_close");
  if (!rollback) return rollback.error();
  auto release = db.Prepare("RELEASE journal_close");
  if (!release) return release.error();

  for (size_t i = 0; i < batch.close.size(); ++i) {
    const JournalClose& c = batch.close[i];
    if (isolate) {
      if (auto r = db.Run(**savepoint, "journal savepoint"); !r) return r.error();
    }
    Result<void> r;
    if (c.done) {
      (*done)->Bind(1, now_ms).Bind(2, c.id);
      r = db.Run(**done, "complete journal entry");
    } else {
      (*failed)->Bind(1, c.error).Bind(2, now_ms).Bind(3, c.id);
      r = db.Run(**failed, "fail journal entry");
    }
    if (r && sqlite3_changes(db.raw()) == 0) r = JournalStateError(c.id);
    // The rows only: the touched packs are re-packed once, below.
    if (r && c.done) r = ApplyRows(c.update);
    if (!r) {
      // A busy or I/O error is not the entry's fault: the whole batch fails.
      const Error::Code code = r.error().code;
      if (code == Error::Code::kBusy || code == Error::Code::kIo ||
          code == Error::Code::kCorrupt) {
        return r.error();
      }
      if (!isolate) {
        *rejected = true;  // the caller tries again, entry by entry
        return r.error();
      }
      // Only this entry is undone.
      if (auto rb = db.Run(**rollback, "journal rollback"); !rb) return rb.error();
      out.rejected.emplace_back(i, Error{code, "journal entry " + std::to_string(c.id) +
                                                   " not closed: " + r.error().message});
    }
    if (isolate) {
      if (auto rel = db.Run(**release, "journal release"); !rel) return rel.error();
    }
  }

  auto mark = db.Prepare(
      "UPDATE journal SET state = 'in_flight', attempts = attempts + 1, updated_ms = ? "
      "WHERE id = ? AND state IN ('pending', 'in_flight')");
  if (!mark) return mark.error();
  for (int64_t id : batch.mark_in_flight) {
    (*mark)->Bind(1, now_ms).Bind(2, id);
    if (auto r = db.Run(**mark, "mark in flight"); !r) return r.error();
    if (sqlite3_changes(db.raw()) == 0) return JournalStateError(id);
  }
  if (auto r = packer.Flush(); !r) return r.error();
  if (auto r = tx.Commit(); !r) return r.error();
  return out;
}

Result<void> Store::JournalFail(int64_t id, const std::string& error, bool final,
                                int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Db& db = impl_->db;
  auto st = db.Prepare(
      "UPDATE journal SET state = ?, last_error = ?, updated_ms = ? "
      "WHERE id = ? AND state IN ('pending', 'in_flight')");
  if (!st) return st.error();
  (*st)->Bind(1, final ? "failed" : "pending").Bind(2, error).Bind(3, now_ms).Bind(4, id);
  if (auto r = db.Run(**st, "fail journal entry"); !r) return r;
  if (sqlite3_changes(db.raw()) == 0) return impl_->JournalStateError(id);
  return {};
}

Result<std::vector<JournalEntry>> Store::JournalUnfinished() {
  Db& db = impl_->db;
  static const std::string sql = std::string("SELECT ") + kJournalColumns +
                                 " FROM journal WHERE state IN ('pending', 'in_flight') "
                                 "ORDER BY id";
  auto st = db.Prepare(sql.c_str());
  if (!st) return st.error();
  std::vector<JournalEntry> out;
  int rc;
  while ((rc = (*st)->Step()) == SQLITE_ROW) out.push_back(ReadEntry(**st));
  (*st)->Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, "read journal");
  return out;
}

Result<JournalEntry> Store::JournalGet(int64_t id) {
  Db& db = impl_->db;
  static const std::string sql =
      std::string("SELECT ") + kJournalColumns + " FROM journal WHERE id = ?";
  auto st = db.Prepare(sql.c_str());
  if (!st) return st.error();
  (*st)->Bind(1, id);
  int rc = (*st)->Step();
  if (rc == SQLITE_ROW) {
    JournalEntry e = ReadEntry(**st);
    (*st)->Reset();
    return e;
  }
  (*st)->Reset();
  if (rc == SQLITE_DONE) return NotFound(impl_->path, "no journal entry " + std::to_string(id));
  return db.Fail(rc, "read journal");
}

Result<int64_t> Store::JournalPrune(int64_t before_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  Db& db = impl_->db;
  auto st = db.Prepare(
      "DELETE FROM journal WHERE state IN ('done', 'failed') AND updated_ms < ?");
  if (!st) return st.error();
  (*st)->Bind(1, before_ms);
  if (auto r = db.Run(**st, "prune journal"); !r) return r.error();
  return static_cast<int64_t>(sqlite3_changes(db.raw()));
}

// ---------------------------------------------------------------- runs --

Result<int64_t> Store::BeginRun(const std::string& command, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  Db& db = impl_->db;
  auto st = db.Prepare("INSERT INTO runs (command, started_ms) VALUES (?, ?)");
  if (!st) return st.error();
  (*st)->Bind(1, command).Bind(2, now_ms);
  if (auto r = db.Run(**st, "begin run"); !r) return r.error();
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db.raw()));
}

Result<void> Store::FinishRun(int64_t run_id, const RunSummary& summary,
                              int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Db& db = impl_->db;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r;
  auto st = db.Prepare(
      "UPDATE runs SET finished_ms = ?, outcome = ?, guards = ?, report_path = ? "
      "WHERE id = ?");
  if (!st) return st.error();
  (*st)->Bind(1, summary.finished_ms != 0 ? summary.finished_ms : now_ms)
      .Bind(2, summary.outcome).Bind(3, summary.guards).Bind(4, summary.report_path)
      .Bind(5, run_id);
  if (auto r = db.Run(**st, "finish run"); !r) return r;
  if (sqlite3_changes(db.raw()) == 0) {
    return NotFound(impl_->path, "no run " + std::to_string(run_id));
  }
  auto del = db.Prepare("DELETE FROM run_counts WHERE run_id = ?");
  if (!del) return del.error();
  (*del)->Bind(1, run_id);
  if (auto r = db.Run(**del, "replace run counts"); !r) return r;
  auto ins = db.Prepare("INSERT INTO run_counts (run_id, key, value) VALUES (?, ?, ?)");
  if (!ins) return ins.error();
  for (const auto& [k, v] : summary.counts) {
    (*ins)->Bind(1, run_id).Bind(2, k).Bind(3, v);
    if (auto r = db.Run(**ins, "insert run count"); !r) return r;
  }
  return tx.Commit();
}

Result<std::vector<RunSummary>> Store::RecentRuns(int limit) {
  Db& db = impl_->db;
  ReadTx tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  auto st = db.Prepare(
      "SELECT id, command, started_ms, finished_ms, outcome, guards, report_path "
      "FROM runs ORDER BY id DESC LIMIT ?");
  if (!st) return st.error();
  (*st)->Bind(1, limit);
  std::vector<RunSummary> out;
  int rc;
  while ((rc = (*st)->Step()) == SQLITE_ROW) {
    Stmt& s = **st;
    RunSummary r;
    r.id = s.Int(0);
    r.command = s.Text(1);
    r.started_ms = s.Int(2);
    r.finished_ms = s.Int(3);
    r.outcome = s.Text(4);
    r.guards = s.Text(5);
    r.report_path = s.Text(6);
    out.push_back(std::move(r));
  }
  (*st)->Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, "read runs");
  auto counts = db.Prepare("SELECT key, value FROM run_counts WHERE run_id = ? ORDER BY key");
  if (!counts) return counts.error();
  for (RunSummary& r : out) {
    (*counts)->Reset();
    (*counts)->Bind(1, r.id);
    while ((rc = (*counts)->Step()) == SQLITE_ROW) {
      r.counts.emplace(std::string((*counts)->Text(0)), (*counts)->Int(1));
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "read run counts");
  }
  (*counts)->Reset();
  return out;
}

// -------------------------------------------------------------- counts --

Result<std::map<std::string, int64_t>> Store::JournalCounts() {
  Db& db = impl_->db;
  auto st = db.PrepareOnce("SELECT state, count(*) FROM journal GROUP BY state");
  if (!st) return st.error();
  std::map<std::string, int64_t> journal;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) journal[std::string(st->Text(0))] = st->Int(1);
  if (rc != SQLITE_DONE) return db.Fail(rc, "count journal");
  return journal;
}

Result<StoreCounts> Store::Counts() {
  Db& db = impl_->db;
  ReadTx tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  StoreCounts c;
  struct {
    const char* sql;
    int64_t* out;
  } simple[] = {
      {"SELECT count(*) FROM users", &c.users},
      {"SELECT count(*) FROM ous", &c.ous},
      {"SELECT count(*) FROM groups", &c.groups},
      {"SELECT count(*) FROM group_members", &c.memberships},
  };
  for (auto& q : simple) {
    auto v = db.QueryInt(q.sql);
    if (!v) return v.error();
    *q.out = *v;
  }
  {
    auto st = db.PrepareOnce(
        "SELECT type, ownership, count(*) FROM links GROUP BY type, ownership");
    if (!st) return st.error();
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      c.links[std::string(st->Text(0)) + "." + std::string(st->Text(1))] = st->Int(2);
    }
    if (rc != SQLITE_DONE) return db.Fail(rc, "count links");
  }
  auto journal = JournalCounts();
  if (!journal) return journal.error();
  c.journal = std::move(*journal);
  auto last = impl_->GetMetaLocked(kMetaLastRefresh);
  if (!last) return last.error();
  c.last_full_refresh_ms = ParseInt(*last);
  return c;
}

}  // namespace idsync::store
