// idsync's SQLite state: the cached mirror of the IDaaS provisioning scope,
// the links between source keys and IDaaS ids, the write-ahead journal of
// operations, run history and metadata. docs/store.md describes the schema,
// the journal states, the migration policy and the lock.
//
// Thread-safety: a Store is not thread-safe; use it from one thread (or
// serialise calls). Several processes may open the same database read-only
// while one writer holds it.
//
// Durability: WAL with synchronous=FULL, so every method that returns success
// has committed durably. Every method that changes state is one transaction:
// on error nothing of it is applied (JournalCommit's entries are each
// all-or-nothing within its one transaction).
#pragma once


#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "idsync/base/error.h"
#include "idsync/sync/journal.h"
#include "idsync/sync/journal_batch.h"
#include "idsync/sync/mirror_update.h"
#include "idsync/sync/state.h"

namespace idsync::store {

// The project's error vocabulary (base/error.h). The store's failures use
// kBusy (locked by another connection past busy_timeout), kLocked (another
// idsync process holds the single-writer lock), kCorrupt (quick_check failed,
// or SQLite reported corruption), kIo (I/O error, disk full, cannot open,
// read-only file system), kSchema (a schema version newer than supported, or
// not migrated when read-only), kNotFound (no such database when read-only,
// journal entry or run), kInvalid (not an idsync database, bad argument,
// constraint violation) and kRemote (the full refresh: an IDaaS read failed
// or was inconsistent). Messages name the database and the cause.
using base::CodeName;
using base::Error;
using base::Result;

struct OpenOptions {
  // Status readers: no lock, no migration, no writes. The database must exist
  // and be at the current schema version.
  bool read_only = false;
  // `PRAGMA quick_check` reads the whole file (seconds for a cache of a
  // million users), so it runs when the last check that passed is older than
  // this, not on every open: 0 checks on every open. Corruption met between
  // checks is still reported (SQLITE_CORRUPT -> Error::Code::kCorrupt).
  int64_t integrity_check_max_age_ms = 0;
};

// A whole fresh read of the provisioning scope, for ReplaceMirror.
struct Mirror {
  std::vector<sync::IdaasUser> users;
  std::vector<sync::IdaasOu> ous;
  std::vector<sync::IdaasGroup> groups;  // with member_ids
  sync::ProvisioningScope scope;
};

struct ReplaceStats {
  int64_t users = 0, ous = 0, groups = 0, memberships = 0;
  // Links kept whose IDaaS object is not in the fresh mirror (deleted or
  // moved out of scope by someone else). The planner decides what to do.
  std::vector<sync::Link> orphaned_links;
};

// The mirror edit and the journal's group commit are the executor's values
// (sync/mirror_update.h, sync/journal_batch.h): the store applies them as
// they are.
using MirrorUpdate = sync::MirrorUpdate;
using JournalClose = sync::JournalClose;
using JournalBatch = sync::JournalBatch;
using JournalCommitResult = sync::JournalCommitResult;


struct JournalEntry {
  enum class State { kPending, kInFlight, kDone, kFailed };
  int64_t id = 0;      // assigned by JournalAdd
  std::string op_id;   // stable id of the planned operation
  std::string kind;    // e.g. "user.create", "group.members.add"
  sync::EntityType entity = sync::EntityType::kUser;
  std::string target;        // source key and/or IDaaS id
  std::string payload;       // opaque JSON text written by the executor
  std::string payload_hash;
  State state = State::kPending;
  int attempts = 0;
  std::string last_error;
  int64_t created_ms = 0, updated_ms = 0;
  int64_t run_id = 0;  // 0: none
};
const char* StateName(JournalEntry::State s);  // "pending", "in_flight", ...

struct RunSummary {
  int64_t id = 0;
  std::string command;  // "apply", "plan", "refresh", "run" ...
  int64_t started_ms = 0, finished_ms = 0;  // finished 0: still running / crashed
  std::string outcome;  // ok | changes | blocked | failed | error
  std::map<std::string, int64_t> counts;  // e.g. "user.create.ok" -> 12
  std::string guards;       // JSON text
  std::string report_path;
};

struct StoreCounts {
  int64_t users = 0, ous = 0, groups = 0, memberships = 0;
  // "user.created", "user.adopted", "ou.created", ...
  std::map<std::string, int64_t> links;
  // "pending", "in_flight", "done", "failed"
  std::map<std::string, int64_t> journal;
  int64_t last_full_refresh_ms = 0;
};

class Store {
 public:
  // Opens (creating the file if absent, unless read_only) the database at
  // `path`, whose folder must exist. A writer first takes the single-writer
  // lock on `<path>.lock` (refused with kLocked naming the holder's pid),
  // then runs `quick_check`, sets WAL, synchronous=FULL, busy_timeout and
  // foreign keys, and migrates the schema forward. An existing file is never
  // recreated, truncated or overwritten: a file that is not an idsync
  // database, a corrupt one, or one from a newer idsync is an error.
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             OpenOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  int SchemaVersion() const;
  static int LatestSchemaVersion();

  // The planning input: mirror, links, scope and last refresh time, with
  // users in the compact UserTable.
  Result<sync::CachedState> LoadState();

  // Replaces users, OUs, groups, memberships and the scope in one
  // transaction and records `now_ms` as the last full refresh. Links are
  // kept; those whose object vanished are reported.
  Result<ReplaceStats> ReplaceMirror(const Mirror& fresh, int64_t now_ms);

  // ---- journal ----------------------------------------------------------
  // Adds entries as pending (one transaction; id, state, attempts and
  // last_error are ignored; updated_ms = created_ms); returns their ids in
  // order.
  Result<std::vector<int64_t>> JournalAdd(const std::vector<JournalEntry>& entries);
  // The same for the executor's entries (sync::Journal), without a copy.
  Result<std::vector<int64_t>> JournalAdd(const std::vector<sync::NewJournalEntry>& entries);
  // pending/in_flight -> in_flight, attempts + 1. kNotFound / kInvalid (done
  // or failed entries cannot be restarted).
  Result<void> JournalMarkInFlight(int64_t id, int64_t now_ms);
  // Closes an unfinished entry as done and applies `update` in the same
  // transaction: either both happen or neither.
  Result<void> JournalComplete(int64_t id, const MirrorUpdate& update,
                               int64_t now_ms);
  // Group commit: closes `batch.close` and marks `batch.mark_in_flight` in
  // flight (attempts + 1) in ONE transaction, so one fsync covers them all.
  // Each close is all-or-nothing on its own, under a savepoint: one that
  // fails (e.g. its update violates a constraint) is rolled back alone,
  // its entry stays as it was and it is listed in `rejected`; the others
  // commit. The marks are all or none: one that fails fails the call. The
  // packed mirror is re-packed once for the whole batch, before the commit.
  // An error (kBusy, kIo, a failed mark ...) means nothing was committed.
  Result<JournalCommitResult> JournalCommit(const JournalBatch& batch, int64_t now_ms);
  // Records the error; `final` closes the entry as failed, otherwise it goes
  // back to pending for a retry.
  Result<void> JournalFail(int64_t id, const std::string& error, bool final,
                           int64_t now_ms);
  // pending + in_flight entries, in id order.
  Result<std::vector<JournalEntry>> JournalUnfinished();
  Result<JournalEntry> JournalGet(int64_t id);
  // Deletes done/failed entries last updated before `before_ms`.
  Result<int64_t> JournalPrune(int64_t before_ms);

  // Applies a state edit outside the journal (recovery lookups, link
  // bookkeeping such as missing_since).
  Result<void> ApplyUpdate(const MirrorUpdate& update);

  // ---- runs ---------------------------------------------------------------
  Result<int64_t> BeginRun(const std::string& command, int64_t now_ms);
  // Sets finished time, outcome, counts, guards and report path (summary.id
  // and started_ms are ignored).
  Result<void> FinishRun(int64_t run_id, const RunSummary& summary,
                         int64_t now_ms);
  // Most recent first.
  Result<std::vector<RunSummary>> RecentRuns(int limit);

  // ---- metadata -------------------------------------------------------------
  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Result<void> SetMeta(const std::string& key, const std::string& value);
  Result<StoreCounts> Counts();
  // Only StoreCounts::journal: what every cycle reports, without counting the
  // mirror's tables (a tenth of a quiet cycle at 200,000 users).
  Result<std::map<std::string, int64_t>> JournalCounts();

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idsync::store
