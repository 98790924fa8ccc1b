#include "migrations.h"

#include <array>
#include <string>

namespace idsync::store::detail {
namespace {

// v1: the initial schema.
constexpr const char* kV1 = R"sql(
PRAGMA application_id = 1768190841;

CREATE TABLE schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_ms INTEGER NOT NULL
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- The IDaaS mirror ------------------------------------------------------
CREATE TABLE ous (
  id          TEXT PRIMARY KEY CHECK (id <> ''),
  name        TEXT NOT NULL DEFAULT '',
  parent_id   TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  external_id TEXT NOT NULL DEFAULT '',
  source_type TEXT NOT NULL DEFAULT '',
  source_id   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE users (
  rid            INTEGER PRIMARY KEY,
  id             TEXT NOT NULL UNIQUE CHECK (id <> ''),
  username       TEXT NOT NULL DEFAULT '',
  display_name   TEXT NOT NULL DEFAULT '',
  email          TEXT NOT NULL DEFAULT '',
  phone_number   TEXT NOT NULL DEFAULT '',
  phone_region   TEXT NOT NULL DEFAULT '',
  description    TEXT NOT NULL DEFAULT '',
  external_id    TEXT NOT NULL DEFAULT '',
  source_type    TEXT NOT NULL DEFAULT '',
  source_id      TEXT NOT NULL DEFAULT '',
  primary_ou_id  TEXT NOT NULL DEFAULT '',
  enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  update_time_ms INTEGER NOT NULL DEFAULT 0
);

-- Every OU membership of a user, primary included. OU ids are not foreign
-- keys: a user may belong to OUs outside the scope.
CREATE TABLE user_ous (
  user_rid INTEGER NOT NULL REFERENCES users (rid) ON DELETE CASCADE,
  ou_id    TEXT NOT NULL CHECK (ou_id <> ''),
  PRIMARY KEY (user_rid, ou_id)
) WITHOUT ROWID;

CREATE TABLE user_custom_fields (
  user_rid INTEGER NOT NULL REFERENCES users (rid) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (user_rid, name)
) WITHOUT ROWID;

CREATE TABLE groups (
  rid         INTEGER PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE CHECK (id <> ''),
  name        TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  external_id TEXT NOT NULL DEFAULT '',
  source_type TEXT NOT NULL DEFAULT '',
  source_id   TEXT NOT NULL DEFAULT ''
);

-- Members are user ids, not foreign keys: a member may be outside the scope.
CREATE TABLE group_members (
  group_rid INTEGER NOT NULL REFERENCES groups (rid) ON DELETE CASCADE,
  user_id   TEXT NOT NULL CHECK (user_id <> ''),
  PRIMARY KEY (group_rid, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id);

-- The provisioning scope seen last.
CREATE TABLE scope (
  type TEXT NOT NULL CHECK (type IN ('ou', 'group')),
  id   TEXT NOT NULL CHECK (id <> ''),
  PRIMARY KEY (type, id)
) WITHOUT ROWID;

-- Source key <-> IDaaS id. Objects in the mirror without a link are
-- unmanaged.
CREATE TABLE links (
  type               TEXT NOT NULL CHECK (type IN ('ou', 'user', 'group')),
  source_key         TEXT NOT NULL CHECK (source_key <> ''),
  idaas_id           TEXT NOT NULL CHECK (idaas_id <> ''),
  ownership          TEXT NOT NULL CHECK (ownership IN ('created', 'adopted')),
  missing_since_ms   INTEGER NOT NULL DEFAULT 0,
  disabled_by_idsync INTEGER NOT NULL DEFAULT 0 CHECK (disabled_by_idsync IN (0, 1)),
  PRIMARY KEY (type, source_key),
  UNIQUE (type, idaas_id)
) WITHOUT ROWID;

-- The write-ahead journal.
CREATE TABLE journal (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  op_id        TEXT NOT NULL,
  kind         TEXT NOT NULL,
  entity       TEXT NOT NULL CHECK (entity IN ('ou', 'user', 'group')),
  target       TEXT NOT NULL,
  payload      TEXT NOT NULL,
  payload_hash TEXT NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'done', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT NOT NULL DEFAULT '',
  created_ms   INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL,
  run_id       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX journal_unfinished ON journal (id) WHERE state IN ('pending', 'in_flight');

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  command     TEXT NOT NULL,
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL DEFAULT 0,
  outcome     TEXT NOT NULL DEFAULT '',
  guards      TEXT NOT NULL DEFAULT '',
  report_path TEXT NOT NULL DEFAULT ''
);

CREATE TABLE run_counts (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key    TEXT NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
)sql";

// v2: lookups the executor and `idsync status` make: journal entries by the
// planned operation (to find an earlier attempt of the same op) and by run;
// journal pruning by age.
constexpr const char* kV2 = R"sql(
CREATE INDEX journal_op ON journal (op_id);
CREATE INDEX journal_run ON journal (run_id);
CREATE INDEX journal_closed ON journal (updated_ms) WHERE state IN ('done', 'failed');
)sql";

// v3: the packed mirror (store/src/pack.h, docs/store.md "Packed mirror"):
// users, links and memberships also as chunked BLOBs, derived from the rows
// in the same transaction as every change, so that LoadState reads a few
// thousand rows instead of millions. Created empty; the writer fills them
// from the rows when it opens a database whose packs are missing or of an
// older format (meta mirror.pack_format).
constexpr const char* kV3 = R"sql(
CREATE TABLE user_pack (
  chunk INTEGER PRIMARY KEY,  -- users.rid >> 8
  users INTEGER NOT NULL,
  data  BLOB NOT NULL
);

-- A chunk holds the links of one type with lo <= source_key < the next lo.
CREATE TABLE link_pack (
  id    INTEGER PRIMARY KEY,
  type  TEXT NOT NULL CHECK (type IN ('ou', 'user', 'group')),
  lo    TEXT NOT NULL,
  links INTEGER NOT NULL,
  data  BLOB NOT NULL,
  UNIQUE (type, lo)
);

-- A chunk holds the members of one group with lo <= user_id < the next lo.
CREATE TABLE member_pack (
  id        INTEGER PRIMARY KEY,
  group_rid INTEGER NOT NULL REFERENCES groups (rid) ON DELETE CASCADE,
  lo        TEXT NOT NULL,
  members   INTEGER NOT NULL,
  data      BLOB NOT NULL,
  UNIQUE (group_rid, lo)
);
)sql";

constexpr std::array<Migration, 3> kMigrations = {{
    {1, "initial schema", kV1},
    {2, "journal indexes", kV2},
    {3, "packed mirror", kV3},
}};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Result<void> MigrateTo(Db& db, int target, int64_t now_ms) {
  auto current = db.QueryInt("PRAGMA user_version");
  if (!current) return current.error();
  for (const Migration& m : kMigrations) {
    if (m.version <= *current || m.version > target) continue;
    Transaction tx(db);
    if (auto r = tx.Begin(); !r) return r.error();
    // Re-read inside the write transaction: another process may have
    // migrated in between (only possible without the lock, e.g. tests).
    auto again = db.QueryInt("PRAGMA user_version");
    if (!again) return again.error();
    if (*again >= m.version) continue;
    if (auto r = db.Exec(m.sql); !r) {
      return Error{r.error().code, "migration " + std::to_string(m.version) +
                                       " (" + m.name + ") failed: " +
                                       r.error().message};
    }
    auto ins = db.PrepareOnce(
        "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)");
    if (!ins) return ins.error();
    ins->Bind(1, m.version).Bind(2, m.name).Bind(3, now_ms);
    if (auto r = db.Run(*ins, "record migration"); !r) return r.error();
    std::string pragma = "PRAGMA user_version = " + std::to_string(m.version);
    if (auto r = db.Exec(pragma.c_str()); !r) return r.error();
    if (auto r = tx.Commit(); !r) return r.error();
  }
  return {};
}

}  // namespace idsync::store::detail
