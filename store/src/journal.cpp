// The operation journal: entries added, marked in flight, completed with
// their mirror update, failed, committed in batches, read back and pruned.
#include <string>
#include <vector>

#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;
using detail::Invalid;
using detail::NotFound;
using detail::ParseEntity;

const char* StateName(JournalEntry::State s) {
  switch (s) {
    case JournalEntry::State::kPending: return "pending";
    case JournalEntry::State::kInFlight: return "in_flight";
    case JournalEntry::State::kDone: return "done";
    case JournalEntry::State::kFailed: return "failed";
  }
  return "unknown";
}

namespace {

std::optional<JournalEntry::State> ParseState(std::string_view s) {
  if (s == "pending") return JournalEntry::State::kPending;
  if (s == "in_flight") return JournalEntry::State::kInFlight;
  if (s == "done") return JournalEntry::State::kDone;
  if (s == "failed") return JournalEntry::State::kFailed;
  return std::nullopt;
}

// State changes of an unfinished entry; each binds updated_ms, then the id.
constexpr const char* kMarkInFlightSql =
    "UPDATE journal SET state = 'in_flight', attempts = attempts + 1, updated_ms = ? "
    "WHERE id = ? AND state IN ('pending', 'in_flight')";
constexpr const char* kCompleteSql =
    "UPDATE journal SET state = 'done', updated_ms = ?, last_error = '' "
    "WHERE id = ? AND state IN ('pending', 'in_flight')";

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

Result<void> Store::Impl::UpdatedUnfinished(int64_t id) {
  if (sqlite3_changes(db.raw()) == 0) return JournalStateError(id);
  return {};
}

namespace {

// New entries as pending, in one transaction. Both entry types (the store's
// row and the executor's sync::NewJournalEntry) carry the fields this reads
// under the same names, so the executor's entries need no copy.
template <class Entry>
Result<std::vector<int64_t>> AddPending(Db& db, const std::vector<Entry>& entries) {
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  auto st = db.Prepare(
      "INSERT INTO journal (op_id, kind, entity, target, payload, payload_hash, state, "
      "attempts, last_error, created_ms, updated_ms, run_id) "
      "VALUES (?,?,?,?,?,?,'pending',0,'',?,?,?)");
  if (!st) return st.error();
  std::vector<int64_t> ids;
  ids.reserve(entries.size());
  for (const Entry& e : entries) {
    (*st)->Bind(1, e.op_id).Bind(2, e.kind).Bind(3, sync::EntityTypeName(e.entity))
        .Bind(4, e.target).Bind(5, e.payload).Bind(6, e.payload_hash)
        .Bind(7, e.created_ms).Bind(8, e.created_ms).Bind(9, e.run_id);
    if (auto r = db.Run(**st, "journal " + e.op_id); !r) return r.error();
    ids.push_back(sqlite3_last_insert_rowid(db.raw()));
  }
  if (auto r = tx.Commit(); !r) return r.error();
  return ids;
}

}  // namespace

Result<std::vector<int64_t>> Store::JournalAdd(const std::vector<JournalEntry>& entries) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  return AddPending(impl_->db, entries);
}

Result<std::vector<int64_t>> Store::JournalAdd(
    const std::vector<sync::NewJournalEntry>& entries) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  return AddPending(impl_->db, entries);
}

Result<void> Store::JournalMarkInFlight(int64_t id, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  if (auto r = impl_->db.RunSql(kMarkInFlightSql, "mark in flight", now_ms, id); !r) return r;
  return impl_->UpdatedUnfinished(id);
}

Result<void> Store::JournalComplete(int64_t id, const MirrorUpdate& update,
                                    int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Db& db = impl_->db;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r;
  if (auto r = db.RunSql(kCompleteSql, "complete journal entry", now_ms, id); !r) return r;
  if (auto r = impl_->UpdatedUnfinished(id); !r) return r;
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
  auto done = db.Prepare(kCompleteSql);
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
    if (r) r = UpdatedUnfinished(c.id);
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

  for (int64_t id : batch.mark_in_flight) {
    if (auto r = db.RunSql(kMarkInFlightSql, "mark in flight", now_ms, id); !r) return r.error();
    if (auto r = UpdatedUnfinished(id); !r) return r.error();
  }
  if (auto r = packer.Flush(); !r) return r.error();
  if (auto r = tx.Commit(); !r) return r.error();
  return out;
}

Result<void> Store::JournalFail(int64_t id, const std::string& error, bool final,
                                int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  if (auto r = impl_->db.RunSql("UPDATE journal SET state = ?, last_error = ?, updated_ms = ? "
                                "WHERE id = ? AND state IN ('pending', 'in_flight')",
                                "fail journal entry", final ? "failed" : "pending", error, now_ms,
                                id);
      !r) {
    return r;
  }
  return impl_->UpdatedUnfinished(id);
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
  if (auto r = db.RunSql(
          "DELETE FROM journal WHERE state IN ('done', 'failed') AND updated_ms < ?",
          "prune journal", before_ms);
      !r) {
    return r.error();
  }
  return static_cast<int64_t>(sqlite3_changes(db.raw()));
}

}  // namespace idsync::store
