// The store as the executor's journal (sync::Journal): each call is the
// store's one transaction of the same name.
#pragma once

#include "idsync/store/store.h"
#include "idsync/sync/journal.h"

namespace idsync::adapters {

class StoreJournal final : public sync::Journal {
 public:
  explicit StoreJournal(store::Store& store) : store_(store) {}

  base::Result<std::vector<int64_t>> Add(
      const std::vector<sync::NewJournalEntry>& entries) override;
  base::Result<sync::JournalCommitResult> Commit(const sync::JournalBatch& batch,
                                                 int64_t now_ms) override;
  base::Result<void> ApplyUpdate(const sync::MirrorUpdate& update) override;
  base::Result<std::vector<sync::UnfinishedEntry>> Unfinished() override;

 private:
  store::Store& store_;
};

}  // namespace idsync::adapters
