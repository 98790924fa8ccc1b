// sync::Journal: the write-ahead journal and mirror as the executor uses
// them. Every operation is added before anything is sent, marked in flight
// (committed) before its request goes out, and closed together with its
// mirror update; recovery reads what a previous run left unfinished.
//
// Abstract so that sync does not depend on the store (the
// idsync::executor_adapters target adapts store::Store to it) and so that
// the executor is unit-tested with a fake (tests/sync/executor_test.cpp).
// Every call is one durable transaction: on error nothing of it is applied.
// Used from the executor's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "idsync/base/error.h"
#include "idsync/sync/journal_batch.h"
#include "idsync/sync/state.h"

namespace idsync::sync {

// One planned operation as journaled before the run sends anything.
struct NewJournalEntry {
  std::string op_id;
  std::string kind;  // e.g. "user.create"
  EntityType entity = EntityType::kUser;
  std::string target;   // "source_key|idaas_id"
  std::string payload;  // the operation as JSON: what recovery needs
  std::string payload_hash;
  int64_t created_ms = 0;
  int64_t run_id = 0;
};

// An entry a previous run left unfinished.
struct UnfinishedEntry {
  int64_t id = 0;
  std::string op_id;
  bool in_flight = false;  // false: pending, never sent
  std::string payload;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // Adds the entries as pending; returns their ids, in order.
  virtual base::Result<std::vector<int64_t>> Add(const std::vector<NewJournalEntry>& entries) = 0;
  virtual base::Result<JournalCommitResult> Commit(const JournalBatch& batch, int64_t now_ms) = 0;
  // A mirror update outside any entry (what part of a failed operation did).
  virtual base::Result<void> ApplyUpdate(const MirrorUpdate& update) = 0;
  // Pending and in-flight entries, oldest first.
  virtual base::Result<std::vector<UnfinishedEntry>> Unfinished() = 0;
};

}  // namespace idsync::sync
