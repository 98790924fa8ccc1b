// The executor's private parts, shared by the files that implement it:
// executor.cpp (journal first, phases and waves, group commit),
// apply_operation.cpp (one operation per entity and kind, key resolution for
// objects created in the run, the in-memory copies), create_or_find.cpp (a
// create whose answer was lost is looked up before being sent again) and
// recovery.cpp (restart recovery).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "idsync/sync/executor.h"
#include "idsync/sync/journal.h"
#include "idsync/sync/remote_directory.h"

namespace idsync::sync {

int64_t SystemNowMs();

// The new value of `field` in the operation's changes, if it changes.
std::optional<std::string> ChangeOf(const Operation& op, const std::string& field);

inline bool IsMissing(const base::Error& e) { return e.code == base::Error::Code::kNotFound; }

void SortUnique(std::vector<std::string>& v);

// Removes a deleted object from the mirror.
void RecordGone(EntityType type, const std::string& id, MirrorUpdate* update);

// The result of executing one operation against IDaaS.
struct Outcome {
  bool ok = false;
  std::string error;  // when !ok
  int attempts = 0;
  std::string created_id;  // for creates
  bool existed = false;    // a create found by look-up (a lost answer, an earlier run)
  // A create that may have been applied (its answer was lost or a 5xx) and
  // could not be settled by a lookup: its journal entry stays in flight, so
  // the next cycle's recovery looks it up before anything is planned.
  bool in_doubt = false;

  static Outcome Failed(const base::Error& e);
  static Outcome Failed(std::string why);
  static Outcome InDoubt(Outcome o);  // see in_doubt
  static Outcome Ok(int attempts = 1);
};

class Executor::Impl {
 public:
  // Operations of one wave with their journal ids.
  using Wave = std::vector<std::pair<const Operation*, int64_t>>;

  Impl(Journal& journal, RemoteDirectory& remote, const CachedState& cached,
       ExecutorOptions options);

  boost::asio::awaitable<ApplyOutcome> Apply(const Plan& plan, int64_t run_id);

 private:
  // ---- executor.cpp: the run, its waves and the group commit ------------
  bool ShouldStop();
  static bool StoreOnly(const Operation& op);
  size_t MarkBatchSize() const;
  boost::asio::awaitable<void> RunWaves(const Plan& plan, const std::vector<int64_t>& ids,
                                        ApplyOutcome& outcome);
  // The journal is used by one transaction at a time (the "slot"), on the
  // journal thread when there is one (ExecutorOptions::journal_thread).
  boost::asio::awaitable<void> AcquireJournal();
  void ReleaseJournal();
  void MarkingDone();
  boost::asio::awaitable<void> WaitForJournalChange();
  template <class R>
  boost::asio::awaitable<R> OnJournalThread(const std::function<R()>& call);
  boost::asio::awaitable<bool> CommitHeld(std::vector<int64_t>* marks, ApplyOutcome& outcome);
  boost::asio::awaitable<bool> Commit(std::vector<int64_t>* marks, ApplyOutcome& outcome);
  void CommitBehind(ApplyOutcome& outcome);
  boost::asio::awaitable<void> ApplyUpdateNow(const MirrorUpdate& update);
  void Unrecorded(const Operation& op, const std::string& why, ApplyOutcome& outcome);
  boost::asio::awaitable<void> FinalFlush(ApplyOutcome& outcome);
  bool QueueClose(const Operation& op, JournalClose close, ApplyOutcome& outcome);
  boost::asio::awaitable<bool> EnsureMarked(const Wave& wave, ApplyOutcome& outcome);
  boost::asio::awaitable<void> RunWave(const Wave& wave, ApplyOutcome& outcome);
  void Finish(const Operation& op, OpResult result, ApplyOutcome& outcome);
  boost::asio::awaitable<void> RunOne(const Operation& op, int64_t journal_id,
                                      ApplyOutcome& outcome);

  // ---- apply_operation.cpp: one operation -------------------------------
  void Remember(EntityType type, const ObjectRef& ref);
  // The IDaaS id of `ref`, or nullopt with *why set.
  std::optional<std::string> Resolve(EntityType type, const ObjectRef& ref, std::string* why);
  std::optional<IdaasUser> CurrentUser(const std::string& id);
  std::optional<IdaasOu> CurrentOu(const std::string& id);
  std::optional<IdaasGroup> CurrentGroup(const std::string& id);
  // Keeps the in-memory copies in step with what was committed.
  void ApplyToCurrent(const MirrorUpdate& u);
  bool IsAtOrBelow(std::string id, const std::string& ancestor);
  boost::asio::awaitable<Outcome> Execute(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> PatchOu(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> Delete(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> PatchUser(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> SetPrimaryOu(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> ChangeUserOus(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> EnableOrDisable(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> PatchGroup(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> ChangeMembers(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> CreateOu(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> MoveOu(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> CreateUser(const Operation& op, MirrorUpdate* update);
  boost::asio::awaitable<Outcome> CreateGroup(const Operation& op, MirrorUpdate* update);

  Journal& journal_;
  RemoteDirectory& remote_;
  const CachedState& cached_;
  ExecutorOptions options_;
  std::map<std::pair<EntityType, std::string>, std::string> ids_;
  std::set<std::pair<EntityType, std::string>> failed_keys_;
  std::unordered_map<std::string, size_t> user_row_;
  std::unordered_map<std::string, IdaasUser> users_;
  std::unordered_map<std::string, IdaasOu> ous_;
  std::unordered_map<std::string, IdaasGroup> groups_;
  // Group commit (see Commit).
  struct PendingClose {
    const Operation* op;
    JournalClose close;
  };
  static constexpr double kMarkAhead = 0.25;  // seconds of operations
  static constexpr size_t kMaxMarks = 4096;
  static constexpr std::chrono::milliseconds kCloseInterval{1000};
  std::vector<PendingClose> closes_;
  std::unique_ptr<boost::asio::thread_pool> journal_thread_;
  boost::asio::any_io_executor io_;  // the executor's thread, set by Apply
  std::unique_ptr<boost::asio::steady_timer> journal_changed_;  // cancelled on every change
  bool journal_busy_ = false;  // a transaction holds the slot
  bool marking_ = false;       // a worker is committing the next marks
  size_t next_ = 0;    // the wave's next operation to run
  size_t marked_ = 0;  // the wave's operations before this one may be sent
  std::chrono::steady_clock::time_point started_, last_commit_;
  Phase current_phase_ = Phase::kOuCreate;
  int phase_failures_ = 0;
  int64_t total_ = 0, finished_ = 0;
  bool stopped_ = false, budget_exhausted_ = false, fatal_ = false;
};

}  // namespace idsync::sync
