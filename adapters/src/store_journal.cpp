#include "idsync/adapters/store_journal.h"

#include <utility>

namespace idsync::adapters {

base::Result<std::vector<int64_t>> StoreJournal::Add(
    const std::vector<sync::NewJournalEntry>& entries) {
  return store_.JournalAdd(entries);
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
