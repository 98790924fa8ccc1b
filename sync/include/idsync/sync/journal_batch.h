// One group commit of the journal as a value: what finished since the last
// commit, with its mirror updates, and the entries about to be sent. The
// executor builds it; store::Store::JournalCommit writes it and answers with
// what it left as it was (store's JournalClose, JournalBatch and
// JournalCommitResult are these types).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "idsync/base/error.h"
#include "idsync/sync/mirror_update.h"

namespace idsync::sync {

// How one journal entry ends.
struct JournalClose {
  int64_t id = 0;
  // done: the update is applied with it. failed: closed for good with `error`
  // (the update is ignored).
  bool done = true;
  MirrorUpdate update;
  std::string error;
};

struct JournalBatch {
  std::vector<JournalClose> close;      // applied first, in order
  std::vector<int64_t> mark_in_flight;  // then marked, all or none
};

struct JournalCommitResult {
  // Entries of `close` that were left as they were, by index, with why (an
  // update that violates a constraint, or an entry that is not unfinished).
  std::vector<std::pair<size_t, base::Error>> rejected;
};

}  // namespace idsync::sync
