// sync::Executor applies a Plan through a RemoteDirectory (IDaaS), journaling
// every write in a Journal (the store) before it is sent and committing its
// result together with the mirror update, so that a crash at any point loses
// nothing and duplicates nothing (docs/reliability.md).
//
// Thread-safety: runs on one single-threaded asio executor (the client's);
// the journal is used from that thread only.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "idsync/sync/journal.h"
#include "idsync/sync/ou_mover.h"
#include "idsync/sync/plan.h"
#include "idsync/sync/remote_directory.h"
#include "idsync/sync/report.h"
#include "idsync/sync/state.h"

namespace idsync::sync {

struct ExecutorOptions {
  // Operations in flight at once within a wave (normally the client's
  // connection count).
  int concurrency = 4;
  // A phase stops starting operations once more than this many have failed
  // in it, and every later phase is skipped: failures that many in a row
  // mean something is wrong that retrying will not fix.
  int max_failures_per_phase = 10;
  // IDaaS instance id: the userSourceId of objects created through the API.
  std::string instance_id;
  // Milliseconds since the epoch; injectable for tests.
  std::function<int64_t()> now_ms;
  // Called after each finished operation (done, failed or not run).
  std::function<void(int64_t finished, int64_t total)> on_progress;
  // Set (e.g. by SIGTERM) to stop starting operations; those in flight finish.
  const std::atomic<bool>* stop = nullptr;
  // Moves departments (ou.move); not owned. nullptr: no admin credentials,
  // so the plan must have been computed without Policy::allow_ou_moves (an
  // ou.move then fails without being sent).
  OuMover* ou_mover = nullptr;
  // Runs the journal's transactions on a thread of their own, so that the
  // SQLite work of one group commit overlaps the requests of the next
  // operations. The order of transactions and what each holds do not
  // change: one at a time, marks committed before their requests go out.
  // The journal must then tolerate calls from that thread (one at a time,
  // never concurrent with the executor's thread).
  bool journal_thread = false;
  // Closes are committed once this many are queued (or a second after the
  // last commit), at each wave's end and at the run's end: a crash leaves
  // at most this many answered operations for recovery to look up.
  size_t close_batch = 2048;
};

struct ApplyOutcome {
  std::map<std::string, OpResult> results;  // by Operation::id
  int64_t done = 0, failed = 0, not_run = 0;
  bool stopped = false;          // by the stop flag
  bool budget_exhausted = false; // by max_failures_per_phase
  std::string first_error;
};

struct RecoveryOutcome {
  int64_t resolved_done = 0;    // in-flight entries found applied
  int64_t resolved_absent = 0;  // in-flight entries found not applied
  int64_t abandoned = 0;        // pending entries never sent
  int64_t unresolved = 0;       // lookups failed; left for the next run
  std::string first_error;
};

class Executor {
 public:
  // `cached` is the state the plan was computed from; the executor reads the
  // objects it changes from it and records their new state in the journal.
  // `journal` and `remote` are not owned and must outlive the executor.
  Executor(Journal& journal, RemoteDirectory& remote, const CachedState& cached,
           ExecutorOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  boost::asio::awaitable<ApplyOutcome> Apply(const Plan& plan, int64_t run_id);

  // Resolves journal entries a previous run left unfinished, before anything
  // is planned: pending entries were never sent and are closed; in-flight
  // ones are looked up in IDaaS (a create by its external id, then by
  // username; any other write, an ou.move included, by reading its target)
  // and the mirror is updated with what is really there.
  static boost::asio::awaitable<RecoveryOutcome> Recover(Journal& journal,
                                                         RemoteDirectory& remote,
                                                         ExecutorOptions options);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace idsync::sync
