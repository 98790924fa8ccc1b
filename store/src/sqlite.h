// Thin RAII over the SQLite C API, private to the store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "idsync/store/store.h"

namespace idsync::store::detail {

// Maps a SQLite result code to the store's error codes.
Error::Code CodeFor(int rc);
Error MakeError(sqlite3* db, int rc, std::string_view what,
                const std::string& path);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() { if (stmt_ != nullptr) sqlite3_finalize(stmt_); }
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      if (stmt_ != nullptr) sqlite3_finalize(stmt_);
      db_ = o.db_;
      stmt_ = o.stmt_;
      o.stmt_ = nullptr;
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  sqlite3_stmt* get() const { return stmt_; }

  // Binding: index from 1. Text is copied (SQLITE_TRANSIENT) only when the
  // statement outlives the view; here we bind views that live until Step.
  Stmt& Bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()),
                      SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(int i, const std::string& s) { return Bind(i, std::string_view(s)); }
  Stmt& Bind(int i, const char* s) { return Bind(i, std::string_view(s)); }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, bool v) { return Bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::string_view Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (p == nullptr) return {};
    return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// One connection plus a cache of prepared statements keyed by SQL text.
class Db {
 public:
  Db() = default;
  ~Db() { Close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens without creating when create is false.
  Result<void> Open(const std::string& path, bool read_only, bool create);
  void Close();
  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements without results.
  Result<void> Exec(const char* sql);
  // A cached statement, reset and with bindings cleared, ready to bind.
  Result<Stmt*> Prepare(const char* sql);
  // A fresh statement (not cached).
  Result<Stmt> PrepareOnce(const char* sql);
  // Steps a statement expecting SQLITE_DONE.
  Result<void> Run(Stmt& stmt, std::string_view what);
  // The cached statement `sql` with `args` bound to ?1, ?2, ..., stepped
  // expecting SQLITE_DONE. The arguments live until it returns, as Bind needs.
  template <class... Args>
  Result<void> RunSql(const char* sql, std::string_view what, const Args&... args) {
    auto st = Prepare(sql);
    if (!st) return st.error();
    int i = 0;
    ((*st)->Bind(++i, args), ...);
    return Run(**st, what);
  }
  // The first column of the first row as an integer (0 if no row).
  Result<int64_t> QueryInt(const char* sql);

  Error Fail(int rc, std::string_view what) const {
    return MakeError(db_, rc, what, path_);
  }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Result<void> Begin();
  Result<void> Commit();

 private:
  Db& db_;
  bool open_ = false;
};

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

}  // namespace idsync::store::detail
