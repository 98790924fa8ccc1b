#include "sqlite.h"

namespace idsync::store::detail {

Error::Code CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::Code::kBusy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::Code::kCorrupt;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
      return Error::Code::kIo;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return Error::Code::kInvalid;
    case SQLITE_SCHEMA:
      return Error::Code::kSchema;
    default:
      return Error::Code::kIo;
  }
}

Error MakeError(sqlite3* db, int rc, std::string_view what,
                const std::string& path) {
  std::string msg = "state database " + path + ": " + std::string(what) + ": ";
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += detail != nullptr ? detail : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    msg += " - restore from backup (docs/store.md)";
  }
  return Error{CodeFor(rc), std::move(msg)};
}

// SQLite counts every allocation under a global mutex unless told not to;
// idsync never reads those counters, and the journal's group commit makes
// tens of thousands of small allocations a second. Must run before SQLite
// initializes; if something else initialized it first, the call fails
// harmlessly and the counters stay on.
void DisableMemoryStatistics() {
  static const bool done = [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)done;
}

Result<void> Db::Open(const std::string& path, bool read_only, bool create) {
  DisableMemoryStatistics();
  path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  flags |= read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (!read_only && create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = MakeError(db_, rc, "cannot open", path_);
    Close();
    return e;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
  return {};
}

void Db::Close() {
  cache_.clear();
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Result<void> Db::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Error{CodeFor(rc), "state database " + path_ + ": " + what};
  }
  return {};
}

Result<Stmt*> Db::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw,
                              nullptr);
  if (rc != SQLITE_OK) return Fail(rc, "prepare");
  auto stmt = std::make_unique<Stmt>(db_, raw);
  Stmt* p = stmt.get();
  cache_.emplace(sql, std::move(stmt));
  return p;
}

Result<Stmt> Db::PrepareOnce(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
  if (rc != SQLITE_OK) return Fail(rc, "prepare");
  return Stmt(db_, raw);
}

Result<void> Db::Run(Stmt& stmt, std::string_view what) {
  int rc = stmt.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    Error e = Fail(rc, what);
    stmt.Reset();
    return e;
  }
  stmt.Reset();
  return {};
}

Result<int64_t> Db::QueryInt(const char* sql) {
  auto stmt = PrepareOnce(sql);
  if (!stmt) return stmt.error();
  int rc = stmt->Step();
  if (rc == SQLITE_ROW) return stmt->Int(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return Fail(rc, sql);
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<void> Transaction::Begin() {
  auto r = db_.Exec("BEGIN IMMEDIATE");
  if (r) open_ = true;
  return r;
}

Result<void> Transaction::Commit() {
  auto r = db_.Exec("COMMIT");
  if (r) {
    open_ = false;
  }
  // On a failed COMMIT the transaction may still be open; the destructor
  // rolls it back.
  else if (sqlite3_get_autocommit(db_.raw()) != 0) {
    open_ = false;
  }
  return r;
}

}  // namespace idsync::store::detail
