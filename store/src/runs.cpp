// The runs table: one row per command run, its outcome and counts.
#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;
using detail::NotFound;
using detail::ReadTx;

Result<int64_t> Store::BeginRun(const std::string& command, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  Db& db = impl_->db;
  if (auto r = db.RunSql("INSERT INTO runs (command, started_ms) VALUES (?, ?)", "begin run",
                         command, now_ms);
      !r) {
    return r.error();
  }
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db.raw()));
}

Result<void> Store::FinishRun(int64_t run_id, const RunSummary& summary,
                              int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Db& db = impl_->db;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r;
  const int64_t finished_ms = summary.finished_ms != 0 ? summary.finished_ms : now_ms;
  if (auto r = db.RunSql("UPDATE runs SET finished_ms = ?, outcome = ?, guards = ?, "
                         "report_path = ? WHERE id = ?",
                         "finish run", finished_ms, summary.outcome, summary.guards,
                         summary.report_path, run_id);
      !r) {
    return r;
  }
  if (sqlite3_changes(db.raw()) == 0) {
    return NotFound(impl_->path, "no run " + std::to_string(run_id));
  }
  if (auto r = db.RunSql("DELETE FROM run_counts WHERE run_id = ?", "replace run counts", run_id);
      !r) {
    return r;
  }
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

}  // namespace idsync::store
