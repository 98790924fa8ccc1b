// The schema migrations: forward only, numbered from 1, each applied in its
// own transaction together with `PRAGMA user_version` and a row in
// `schema_migrations`. Never edit a released migration: add a new one.
#pragma once

#include <span>

#include "sqlite.h"

namespace idsync::store::detail {

// Written to the database header by migration 1 ("idsy").
inline constexpr int kApplicationId = 0x69647379;

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

std::span<const Migration> Migrations();
inline int LatestVersion() { return static_cast<int>(Migrations().size()); }

// Applies migrations (current, target]; `now_ms` is recorded per migration.
// REQUIRES: no transaction open; target <= LatestVersion().
Result<void> MigrateTo(Db& db, int target, int64_t now_ms);

}  // namespace idsync::store::detail
