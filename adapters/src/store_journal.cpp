#include "idsync/adapters/store_journal.h"

#include <utility>

namespace idsync::adapters {

base::Result<std::vector<int64_t>> StoreJournal::Add(
    const std::vector<sync::NewJournalEntry>& entries) {
  std::vector<store::JournalEntry> rows;
  rows.reserve(entries.size());
  for (const auto& e : entries) {
    store::JournalEntry row;
    row.op_id = e.op_id;
    row.kind = e.kind;
    row.entity = e.entity;
    row.target = e.target;
    row.payload = e.payload;
    row.payload_hash = e.payload_hash;
    row.created_ms = e.created_ms;
    row.run_id = e.run_id;
    rows.push_back(std::move(row));
  }
  auto ids = store_.JournalAdd(rows);
  if (!ids) return ids.error();
  return std::move(*ids);
}

base::Result<sync::JournalCommitResult> StoreJournal::Commit(const sync::JournalBatch& batch,
                                                            int64_t now_ms) {
  return store_.JournalCommit(batch, now_ms);
}

base::Result<void> StoreJournal::ApplyUpdate(const sync::MirrorUpdate& update) {
  return store_.ApplyUpdate(update);
}

base::Result<std::vector<sync::UnfinishedEntry>> StoreJournal::Unfinished() {
  auto rows = store_.JournalUnfinished();
  if (!rows) return rows.error();
  std::vector<sync::UnfinishedEntry> out;
  out.reserve(rows->size());
  for (auto& row : *rows) {
    out.push_back(sync::UnfinishedEntry{row.id, std::move(row.op_id),
                                        row.state == store::JournalEntry::State::kInFlight,
                                        std::move(row.payload)});
  }
  return out;
}

}  // namespace idsync::adapters
