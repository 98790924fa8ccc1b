// The store as the executor's journal (sync::Journal): each call is the
// store's one transaction of the same name.
#pragma once

#include "idsync/store/store.h"
#include "idsync/sync/journal.h"

namespace idsync::adapters {

class StoreJournal final : public sync::Journal {
 public:
  explicit StoreJournal(store::Store& store) : store_(store) {}

  sync::JournalResult<std::vector<int64_t>> Add(
      const std::vector<sync::NewJournalEntry>& entries) override;
  sync::JournalResult<sync::JournalCommitResult> Commit(const sync::JournalBatch& batch,
                                                        int64_t now_ms) override;
  sync::JournalResult<void> ApplyUpdate(const sync::MirrorUpdate& update) override;
  sync::JournalResult<std::vector<sync::UnfinishedEntry>> Unfinished() override;

 private:
  store::Store& store_;
};

}  // namespace idsync::adapters
