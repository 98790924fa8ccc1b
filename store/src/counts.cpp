// Counts for status and metrics: mirror sizes, links by type and
// ownership, journal entries by state, the last full refresh.
#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::kMetaLastRefresh;
using detail::ParseInt;
using detail::ReadTx;

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
