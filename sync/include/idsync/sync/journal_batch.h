// One group commit of the journal as a value: what finished since the last
// commit, with its mirror updates, and the entries about to be sent. The
// executor builds it; store::Store::JournalCommit writes it (store's
// JournalClose and JournalBatch are these types).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace idsync::sync
