// Read-only looks into idsync's state database from a test, also right after
// a killed writer (SQLite reads the WAL it left).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

namespace idsync::e2e {

// `PRAGMA integrity_check`'s answer: "ok", the problems it found, or
// "cannot open".
inline std::string IntegrityCheck(const std::string& db) {
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(conn);
    return "cannot open";
  }
  std::string result;
  sqlite3_exec(
      conn, "PRAGMA integrity_check",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0] ? values[0] : "";
        return 0;
      },
      &result, nullptr);
  sqlite3_close(conn);
  return result;
}

// One integer from the database; -1 when it cannot be read.
inline int64_t QueryDb(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  int64_t out = -1;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return out;
}

// The first column of every row; empty when the database cannot be read.
inline std::vector<std::string> QueryDbColumn(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(stmt, 0);
        out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return out;
}

}  // namespace idsync::e2e
