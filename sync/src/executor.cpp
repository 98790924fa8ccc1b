// A run: every operation journaled first, then the phases and waves in order, the operations
// of a wave concurrently, and the journal writes grouped into few transactions (Commit).
#include "idsync/sync/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/throw_exception.hpp>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "executor_impl.h"
#include "idsync/base/clock.h"

namespace idsync::sync {
namespace {

namespace asio = boost::asio;

std::string Fnv1aHex(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

int64_t SystemNowMs() { return base::Clock::System().NowMs(); }

Executor::Impl::Impl(Journal& journal, RemoteDirectory& remote, const CachedState& cached,
                     ExecutorOptions options)
    : journal_(journal), remote_(remote), cached_(cached), options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = SystemNowMs;
  if (options_.concurrency < 1) options_.concurrency = 1;
  if (options_.close_batch < 1) options_.close_batch = 1;
  if (options_.journal_thread) journal_thread_ = std::make_unique<asio::thread_pool>(1);
  for (size_t i = 0; i < cached_.users.size(); ++i) user_row_.emplace(cached_.users.id(i), i);
  for (const auto& ou : cached_.ous) ous_.emplace(ou.id, ou);
  for (size_t g = 0; g < cached_.groups.size(); ++g) {
    IdaasGroup group = cached_.Group(g);
    // ApplyToCurrent merges into sorted member lists.
    if (!std::is_sorted(group.member_ids.begin(), group.member_ids.end())) {
      std::sort(group.member_ids.begin(), group.member_ids.end());
    }
    groups_.emplace(group.id, std::move(group));
  }
}

asio::awaitable<ApplyOutcome> Executor::Impl::Apply(const Plan& plan, int64_t run_id) {
  ApplyOutcome outcome;
  io_ = co_await asio::this_coro::executor;
  total_ = static_cast<int64_t>(plan.operations.size());
  if (plan.operations.empty()) co_return outcome;
  // Seed key -> id from everything the plan already knows.
  for (const auto& op : plan.operations) {
    Remember(op.entity, op.target);
    if (op.kind == OpKind::kOuCreate || op.kind == OpKind::kOuMove ||
        op.kind == OpKind::kUserCreate || op.kind == OpKind::kUserSetPrimaryOu) {
      Remember(EntityType::kOu, op.ou);
    }
    for (const auto& r : op.refs) {
      Remember(op.entity == EntityType::kGroup ? EntityType::kUser : EntityType::kOu, r);
    }
  }

  // Journal first: every operation is on disk before anything is sent.
  std::vector<NewJournalEntry> entries;
  entries.reserve(plan.operations.size());
  int64_t now = options_.now_ms();
  for (const auto& op : plan.operations) {
    NewJournalEntry e;
    e.op_id = op.id;
    e.kind = OpKindName(op.kind);
    e.entity = op.entity;
    e.target = op.target.key + "|" + op.target.id;
    e.payload = OperationJson(op);  // what recovery needs, as the report shows it
    e.payload_hash = Fnv1aHex(e.payload);
    e.created_ms = now;
    e.run_id = run_id;
    entries.push_back(std::move(e));
  }
  auto ids = journal_.Add(entries);
  if (!ids) {
    outcome.first_error = "cannot journal the plan: " + ids.error().message;
    for (const auto& op : plan.operations) {
      outcome.results[op.id] = OpResult{OpResult::Status::kNotRun, outcome.first_error, 0, ""};
    }
    outcome.not_run = total_;
    fatal_ = true;
    co_return outcome;
  }

  // Phases, then waves, in order; operations of one wave run concurrently.
  started_ = last_commit_ = std::chrono::steady_clock::now();
  std::exception_ptr failure;
  try {
    co_await RunWaves(plan, *ids, outcome);
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    // A commit may still run behind, on this Impl and `outcome`: wait for
    // it before the exception leaves (co_await is not allowed in a catch).
    co_await AcquireJournal();
    ReleaseJournal();
    std::rethrow_exception(failure);
  }
  co_await FinalFlush(outcome);
  for (const auto& [id, r] : outcome.results) {
    outcome.done += r.status == OpResult::Status::kDone;
    outcome.failed += r.status == OpResult::Status::kFailed;
    outcome.not_run += r.status == OpResult::Status::kNotRun;
  }
  outcome.stopped = stopped_;
  outcome.budget_exhausted = budget_exhausted_;
  co_return outcome;
}

asio::awaitable<void> Executor::Impl::RunWaves(const Plan& plan, const std::vector<int64_t>& ids,
                                               ApplyOutcome& outcome) {
  size_t i = 0;
  while (i < plan.operations.size()) {
    size_t j = i;
    const Operation& first = plan.operations[i];
    while (j < plan.operations.size() && plan.operations[j].phase == first.phase &&
           plan.operations[j].wave == first.wave) {
      ++j;
    }
    if (first.phase != current_phase_) {
      current_phase_ = first.phase;
      phase_failures_ = 0;
    }
    Wave wave;
    for (size_t k = i; k < j; ++k) wave.emplace_back(&plan.operations[k], ids[k]);
    co_await RunWave(wave, outcome);
    i = j;
  }
}

bool Executor::Impl::ShouldStop() {
  if (options_.stop != nullptr && options_.stop->load()) stopped_ = true;
  return stopped_ || budget_exhausted_ || fatal_;
}

// ---- group commit -----------------------------------------------------
//
// Journal writes are grouped (docs/store.md, "Group commit"): the
// operations of a wave are marked in flight a batch at a time, in one
// transaction, before any of them is sent; each finished operation's close
// (done with its mirror update, or failed) is queued and committed with the
// next batch's marks, or on its own after kCloseInterval or close_batch of
// them (behind the requests, with a journal thread), at the end of each
// wave and at the end of the run. An operation whose close
// is not committed yet is still in flight on disk, so a crash leaves it to
// recovery, which looks it up: the same as a crash just after the request.

// Store-only operations write nothing to IDaaS: they need no in-flight
// mark, their close alone records them.
bool Executor::Impl::StoreOnly(const Operation& op) {
  return op.kind == OpKind::kAdopt || op.kind == OpKind::kUserMarkMissing;
}

// Operations to mark per transaction: about kMarkAhead of the rate seen so
// far, at least two per connection and at most kMaxMarks. A crash costs
// recovery one lookup per marked operation not yet sent, so a slow
// (rate-limited) run marks few at a time, a fast one many.
size_t Executor::Impl::MarkBatchSize() const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const size_t floor = static_cast<size_t>(std::max(8, 2 * options_.concurrency));
  if (elapsed < 0.02) return floor;
  const auto by_rate = static_cast<size_t>(static_cast<double>(finished_) / elapsed * kMarkAhead);
  return std::clamp(by_rate, floor, kMaxMarks);
}

// ---- the journal slot ----------------------------------------------------
//
// One journal transaction at a time: a store connection is not to be used
// by two threads at once, and the order of commits is what recovery reads.
// Whoever holds the slot runs its transaction, on the journal thread when
// there is one; everyone else waits for journal_changed_.

asio::awaitable<void> Executor::Impl::WaitForJournalChange() {
  if (!journal_changed_) {
    journal_changed_ = std::make_unique<asio::steady_timer>(
        co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  }
  co_await journal_changed_->async_wait(asio::as_tuple(asio::use_awaitable));
}

void Executor::Impl::MarkingDone() {
  marking_ = false;
  if (journal_changed_) journal_changed_->cancel();
}

asio::awaitable<void> Executor::Impl::AcquireJournal() {
  while (journal_busy_) co_await WaitForJournalChange();
  journal_busy_ = true;
}

void Executor::Impl::ReleaseJournal() {
  journal_busy_ = false;
  if (journal_changed_) journal_changed_->cancel();
}

namespace {

// Runs `f` however the frame ends: an exception must not leave the slot
// taken (every later transaction would wait for ever) or marking_ set.
template <class F>
class OnExit {
 public:
  explicit OnExit(F f) : f_(std::move(f)) {}
  ~OnExit() { f_(); }
  OnExit(const OnExit&) = delete;
  OnExit& operator=(const OnExit&) = delete;

 private:
  F f_;
};

}  // namespace

// Runs `call` on the journal thread (or here, without one) and resumes on
// the executor's thread. The caller holds the slot.
template <class R>
asio::awaitable<R> Executor::Impl::OnJournalThread(const std::function<R()>& call) {
  if (!journal_thread_) co_return call();
  co_return co_await asio::co_spawn(
      journal_thread_->get_executor(),
      [&call]() -> asio::awaitable<R> { co_return call(); }, asio::use_awaitable);
}

// One group commit: the queued closes, then `marks` in flight. false when
// it failed: nothing of it is on disk, the closes are queued again for the
// final flush, and the run stops (fatal_). The caller holds the slot.
//
// Coroutine parameters here are pointers and references, never temporaries
// moved in: GCC 12 destroys a temporary passed by value to a co_awaited
// coroutine while the callee still uses it.
asio::awaitable<bool> Executor::Impl::CommitHeld(std::vector<int64_t>* marks,
                                                 ApplyOutcome& outcome) {
  auto log = spdlog::get("sync");
  std::vector<PendingClose> taken = std::move(closes_);
  closes_.clear();
  JournalBatch batch;
  batch.close.reserve(taken.size());
  for (auto& c : taken) batch.close.push_back(std::move(c.close));
  if (marks != nullptr) batch.mark_in_flight = std::move(*marks);
  const int64_t now_ms = options_.now_ms();
  // Named, not a temporary of the co_await: GCC 12 destroys those twice.
  std::function<base::Result<JournalCommitResult>()> commit = [this, &batch, now_ms] {
    return journal_.Commit(batch, now_ms);
  };
  base::Result<JournalCommitResult> r = base::Error::Io("journal commit did not run");
  try {
    r = co_await OnJournalThread<base::Result<JournalCommitResult>>(commit);
  } catch (const std::exception& e) {
    // As a failed commit: the closes are queued again, the run stops.
    r = base::Error::Io(std::string("journal commit failed: ") + e.what());
  }
  last_commit_ = std::chrono::steady_clock::now();
  if (!r) {
    // Kept for the final flush, before anything queued since.
    for (size_t k = 0; k < taken.size(); ++k) taken[k].close = std::move(batch.close[k]);
    closes_.insert(closes_.begin(), std::make_move_iterator(taken.begin()),
                   std::make_move_iterator(taken.end()));
    fatal_ = true;
    if (outcome.first_error.empty()) {
      outcome.first_error = "cannot write the journal: " + r.error().message;
    }
    if (log) log->error("cannot write the journal: {}", r.error().message);
    co_return false;
  }
  for (const auto& [index, error] : r->rejected) {
    const PendingClose& c = taken[index];
    // IDaaS has the change but the store could not record it: stop, and
    // let recovery at the next start resolve the in-flight entry.
    fatal_ = true;
    if (!c.close.done) continue;  // its failure stands; the entry stays in flight
    if (log) log->error("{}: applied but not recorded: {}", c.op->id, error.message);
    Unrecorded(*c.op, error.message, outcome);
  }
  co_return true;
}

asio::awaitable<bool> Executor::Impl::Commit(std::vector<int64_t>* marks, ApplyOutcome& outcome) {
  co_await AcquireJournal();
  OnExit slot([this] { ReleaseJournal(); });
  co_return co_await CommitHeld(marks, outcome);
}

// With a journal thread: commits the queued closes there while the workers
// go on sending, unless a transaction is running (the next one takes them).
void Executor::Impl::CommitBehind(ApplyOutcome& outcome) {
  if (journal_busy_ || closes_.empty()) return;
  journal_busy_ = true;
  asio::co_spawn(
      io_,
      [this, &outcome]() -> asio::awaitable<void> {
        OnExit slot([this] { ReleaseJournal(); });
        (void)co_await CommitHeld(nullptr, outcome);
      },
      [this](std::exception_ptr e) {
        if (e) fatal_ = true;  // the slot is released by then
      });
}

// A mirror update outside any entry; best effort (its failure is reported
// with the operation's).
asio::awaitable<void> Executor::Impl::ApplyUpdateNow(const MirrorUpdate& update) {
  co_await AcquireJournal();
  OnExit slot([this] { ReleaseJournal(); });
  std::function<base::Result<void>()> apply = [this, &update] {
    return journal_.ApplyUpdate(update);
  };
  try {
    (void)co_await OnJournalThread<base::Result<void>>(apply);
  } catch (const std::exception&) {
    // Best effort, as a failed update.
  }
}

// A done operation whose close could not be committed is reported failed.
void Executor::Impl::Unrecorded(const Operation& op, const std::string& why,
                                ApplyOutcome& outcome) {
  OpResult& r = outcome.results[op.id];
  r.status = OpResult::Status::kFailed;
  r.error = "applied in IDaaS but not recorded: " + why;
  if (outcome.first_error.empty()) outcome.first_error = op.id + ": " + r.error;
}

// The last commit of the run: what is still queued, after any commit still
// running behind. If it fails, the operations it held stay in flight on
// disk (recovery looks them up) and those that were done are reported
// failed.
asio::awaitable<void> Executor::Impl::FinalFlush(ApplyOutcome& outcome) {
  bool ok = true;  // plain if: GCC 12 mis-compiles co_await inside ||
  {
    co_await AcquireJournal();
    OnExit slot([this] { ReleaseJournal(); });
    if (!closes_.empty()) ok = co_await CommitHeld(nullptr, outcome);
  }
  if (ok) co_return;
  for (const auto& c : closes_) {
    if (c.close.done) Unrecorded(*c.op, "the journal could not be written", outcome);
  }
  closes_.clear();
}

// Queues the close of a finished operation; commits when enough are
// queued or the last commit is old: behind the requests with a journal
// thread, else here, by the caller (true: commit now).
bool Executor::Impl::QueueClose(const Operation& op, JournalClose close, ApplyOutcome& outcome) {
  closes_.push_back(PendingClose{&op, std::move(close)});
  const bool old = std::chrono::steady_clock::now() - last_commit_ >= kCloseInterval;
  const bool due = closes_.size() >= options_.close_batch || old;
  if (journal_thread_) {
    if (due) CommitBehind(outcome);
    return false;
  }
  return due;
}

// Makes sure wave[next_] may be sent: its in-flight mark is committed.
// Marks the next batch once no more than a batch is marked ahead, so the
// workers rarely find the window empty; while one worker commits the next
// marks, the others go on with what is marked. false when a commit failed
// or the run is stopping. The caller checks next_ again: other workers ran
// meanwhile.
asio::awaitable<bool> Executor::Impl::EnsureMarked(const Wave& wave, ApplyOutcome& outcome) {
  for (;;) {
    if (next_ >= wave.size()) co_return true;
    const size_t batch = MarkBatchSize();
    if (marked_ > next_ && (marked_ - next_ > batch || marked_ == wave.size() || marking_)) {
      co_return true;
    }
    if (fatal_) co_return marked_ > next_;
    if (marking_) {  // nothing is marked ahead: wait for the worker marking
      co_await WaitForJournalChange();
      continue;
    }
    const size_t end = std::min(wave.size(), marked_ + batch);
    std::vector<int64_t> marks;
    for (size_t k = marked_; k < end; ++k) {
      if (!StoreOnly(*wave[k].first)) marks.push_back(wave[k].second);
    }
    // Store-only operations need no transaction before they run.
    if (!marks.empty()) {
      marking_ = true;
      OnExit marking([this] { MarkingDone(); });
      co_await AcquireJournal();
      OnExit slot([this] { ReleaseJournal(); });
      // A stop while this worker waited for the journal: the workers that
      // saw it close the rest of the wave as not run, those marks included;
      // marking them now would be a mark after their close.
      if (ShouldStop()) co_return false;
      if (!co_await CommitHeld(&marks, outcome)) co_return false;
    }
    marked_ = end;
  }
}

asio::awaitable<void> Executor::Impl::RunWave(const Wave& wave, ApplyOutcome& outcome) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
  next_ = 0;
  marked_ = 0;
  int active = std::min<int>(options_.concurrency, static_cast<int>(wave.size()));
  const int workers = active;
  for (int w = 0; w < workers; ++w) {
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          while (next_ < wave.size()) {
            if (!ShouldStop()) {
              const bool marked = co_await EnsureMarked(wave, outcome);
              if (next_ >= wave.size()) break;
              if (!marked) continue;  // now fatal_: the rest close as not run
            }
            auto [op, journal_id] = wave[next_++];
            co_await RunOne(*op, journal_id, outcome);
          }
        },
        [&](std::exception_ptr e) {
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              spdlog::get("sync")->error("executor worker failed: {}", ex.what());
            }
            fatal_ = true;
          }
          if (--active == 0) all_done.cancel();
        });
  }
  co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
  // The next wave may depend on this one (created ids): its closes go to
  // disk before anything of the next is marked (the slot keeps the order).
  if (!closes_.empty()) (void)co_await Commit(nullptr, outcome);
}

void Executor::Impl::Finish(const Operation& op, OpResult result, ApplyOutcome& outcome) {
  if (result.status == OpResult::Status::kFailed) {
    ++phase_failures_;
    if (outcome.first_error.empty()) outcome.first_error = op.id + ": " + result.error;
    if (phase_failures_ > options_.max_failures_per_phase) budget_exhausted_ = true;
  } else if (result.status == OpResult::Status::kNotRun && outcome.first_error.empty()) {
    // Why nothing more ran (the store failed, a stop): the run's headline.
    outcome.first_error = op.id + ": " + result.error;
  }
  outcome.results[op.id] = std::move(result);
  ++finished_;
  if (options_.on_progress) options_.on_progress(finished_, total_);
}

// Runs one operation whose in-flight mark (unless it is store-only) is
// committed, or closes it as not run when the apply is stopping.
asio::awaitable<void> Executor::Impl::RunOne(const Operation& op, int64_t journal_id,
                                             ApplyOutcome& outcome) {
  auto log = spdlog::get("sync");
  if (ShouldStop()) {
    std::string why = stopped_            ? "not run: stopping"
                      : budget_exhausted_ ? "not run: too many failures in this phase"
                                          : "not run: the state store failed";
    if (QueueClose(op, JournalClose{journal_id, false, {}, why}, outcome)) {
      (void)co_await Commit(nullptr, outcome);
    }
    Finish(op, OpResult{OpResult::Status::kNotRun, why, 0, ""}, outcome);
    co_return;
  }
  MirrorUpdate update;
  Outcome result = co_await Execute(op, &update);
  if (result.ok) {
    if (!result.created_id.empty()) ids_[{op.entity, op.target.key}] = result.created_id;
    // The in-memory copies move on now: later operations of this run build
    // on them. Should the close not commit, the run stops (fatal_).
    ApplyToCurrent(update);
    if (log) log->debug("{} done", op.id);
    Finish(op, OpResult{OpResult::Status::kDone, "", result.attempts, result.created_id}, outcome);
    if (QueueClose(op, JournalClose{journal_id, true, std::move(update), ""}, outcome)) {
      (void)co_await Commit(nullptr, outcome);
    }
  } else {
    if (op.kind == OpKind::kOuCreate || op.kind == OpKind::kUserCreate ||
        op.kind == OpKind::kGroupCreate) {
      failed_keys_.insert({op.entity, op.target.key});
    }
    if (log) {
      log->warn("{} failed{}: {}", op.id, result.in_doubt ? " (left for recovery to look up)" : "",
                result.error);
    }
    Finish(op, OpResult{OpResult::Status::kFailed, result.error, result.attempts, ""}, outcome);
    if (!result.in_doubt) {
      if (QueueClose(op, JournalClose{journal_id, false, {}, result.error}, outcome)) {
        (void)co_await Commit(nullptr, outcome);
      }
    }
  }
}

Executor::Executor(Journal& journal, RemoteDirectory& remote, const CachedState& cached,
                   ExecutorOptions options)
    : impl_(std::make_unique<Impl>(journal, remote, cached, std::move(options))) {}
Executor::~Executor() = default;

asio::awaitable<ApplyOutcome> Executor::Apply(const Plan& plan, int64_t run_id) {
  co_return co_await impl_->Apply(plan, run_id);
}

}  // namespace idsync::sync
