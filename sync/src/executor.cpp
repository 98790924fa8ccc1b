#include "idsync/sync/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <unordered_map>

namespace idsync::sync {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using idaas::ApiError;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

std::optional<std::string> ChangeOf(const Operation& op, const std::string& field) {
  for (const auto& c : op.changes) {
    if (c.field == field) return c.new_value;
  }
  return std::nullopt;
}

bool IsMissing(const ApiError& e) { return e.kind == ApiError::Kind::kNotFound; }

IdaasUser FromApi(const idaas::User& u) {
  IdaasUser out;
  out.id = u.user_id;
  out.username = u.username;
  out.display_name = u.display_name;
  out.email = u.email;
  out.phone_number = u.phone_number;
  out.phone_region = u.phone_region;
  out.description = u.description;
  out.external_id = u.user_external_id;
  out.source_type = u.user_source_type;
  out.source_id = u.user_source_id;
  out.primary_ou_id = u.primary_organizational_unit_id;
  for (const auto& ou : u.organizational_units) out.ou_ids.push_back(ou.organizational_unit_id);
  std::sort(out.ou_ids.begin(), out.ou_ids.end());
  out.enabled = u.status != "disabled";
  for (const auto& f : u.custom_fields) out.custom_fields[f.field_name] = f.field_value;
  out.update_time_ms = u.update_time;
  return out;
}

IdaasOu FromApi(const idaas::OrganizationalUnit& o) {
  return IdaasOu{o.organizational_unit_id, o.organizational_unit_name, o.parent_id,
                 o.description, o.organizational_unit_external_id,
                 o.organizational_unit_source_type, o.organizational_unit_source_id};
}

IdaasGroup FromApi(const idaas::Group& g, std::vector<std::string> members) {
  std::sort(members.begin(), members.end());
  return IdaasGroup{g.group_id, g.group_name, g.description, g.group_external_id,
                    g.group_source_type, g.group_source_id, std::move(members)};
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Finds a group by its external id; groups have no lookup call, so list the
// groups with the same name prefix.
asio::awaitable<idaas::Result<std::string>> FindGroupByExternalId(idaas::Client& client,
                                                                  std::string name,
                                                                  std::string key) {
  std::string token;
  for (int page = 0; page < 10000; ++page) {
    auto r = co_await client.ListGroups(token, 100, name);
    if (!r) co_return r.error();
    for (const auto& g : r->groups) {
      if (g.group_external_id == key) co_return g.group_id;
    }
    if (r->next_token.empty()) break;
    token = r->next_token;
  }
  ApiError e;
  e.kind = ApiError::Kind::kNotFound;
  e.message = "no group with external id " + key;
  co_return e;
}

// An account this record created earlier: by external id, else by username
// when that account carries the record's key. kNotFound when neither.
asio::awaitable<idaas::Result<std::string>> FindCreatedUser(idaas::Client& client,
                                                            std::string key,
                                                            std::string username) {
  auto by_key = co_await client.GetUserIdByUserExternalId(key);
  if (by_key || !IsMissing(by_key.error()) || username.empty()) co_return by_key;
  auto by_name = co_await client.GetUserIdByUsername(username);
  if (!by_name) co_return by_name;
  auto user = co_await client.GetUser(*by_name);
  if (!user) co_return user.error();
  if (user->user_external_id == key) co_return *by_name;
  ApiError e;
  e.kind = ApiError::Kind::kNotFound;
  e.message = "username " + username + " belongs to account " + *by_name +
              " with another external id";
  co_return e;
}

// Removes a deleted object from the mirror.
void RecordGone(EntityType type, const std::string& id, store::MirrorUpdate* update) {
  switch (type) {
    case EntityType::kUser: update->delete_user_ids.push_back(id); break;
    case EntityType::kOu: update->delete_ou_ids.push_back(id); break;
    case EntityType::kGroup: update->delete_group_ids.push_back(id); break;
  }
}

// The result of executing one operation against IDaaS.
struct Outcome {
  bool ok = false;
  std::string error;        // when !ok
  int attempts = 0;
  std::string created_id;   // for creates
  bool fatal = false;       // stop the whole apply (store failure)
  // A create that may have been applied (its answer was lost or a 5xx) and
  // could not be settled by a lookup: its journal entry stays in flight, so
  // the next cycle's recovery looks it up before anything is planned.
  bool in_doubt = false;
};

}  // namespace

class Executor::Impl {
 public:
  // Operations of one wave with their journal ids.
  using Wave = std::vector<std::pair<const Operation*, int64_t>>;

  Impl(store::Store& store, idaas::Client& client, const CachedState& cached,
       ExecutorOptions options)
      : store_(store), client_(client), cached_(cached), options_(std::move(options)) {
    if (!options_.now_ms) options_.now_ms = SystemNowMs;
    if (options_.concurrency < 1) options_.concurrency = 1;
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

  asio::awaitable<ApplyOutcome> Apply(const Plan& plan, int64_t run_id) {
    ApplyOutcome outcome;
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
    std::vector<store::JournalEntry> entries;
    entries.reserve(plan.operations.size());
    int64_t now = options_.now_ms();
    for (const auto& op : plan.operations) {
      store::JournalEntry e;
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
    auto ids = store_.JournalAdd(entries);
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
      for (size_t k = i; k < j; ++k) wave.emplace_back(&plan.operations[k], (*ids)[k]);
      co_await RunWave(wave, outcome);
      i = j;
    }
    FinalFlush(outcome);
    for (const auto& [id, r] : outcome.results) {
      outcome.done += r.status == OpResult::Status::kDone;
      outcome.failed += r.status == OpResult::Status::kFailed;
      outcome.not_run += r.status == OpResult::Status::kNotRun;
    }
    outcome.stopped = stopped_;
    outcome.budget_exhausted = budget_exhausted_;
    co_return outcome;
  }

 private:
  bool ShouldStop() {
    if (options_.stop != nullptr && options_.stop->load()) stopped_ = true;
    return stopped_ || budget_exhausted_ || fatal_;
  }

  // ---- group commit -----------------------------------------------------
  //
  // Journal writes are grouped (docs/store.md, "Group commit"): the
  // operations of a wave are marked in flight a batch at a time, in one
  // transaction, before any of them is sent; each finished operation's close
  // (done with its mirror update, or failed) is queued and committed with the
  // next batch's marks, or on its own after kCloseInterval or kMaxCloses, at
  // the end of each wave and at the end of the run. An operation whose close
  // is not committed yet is still in flight on disk, so a crash leaves it to
  // recovery, which looks it up: the same as a crash just after the request.

  // Store-only operations write nothing to IDaaS: they need no in-flight
  // mark, their close alone records them.
  static bool StoreOnly(const Operation& op) {
    return op.kind == OpKind::kAdopt || op.kind == OpKind::kUserMarkMissing;
  }

  // Operations to mark per transaction: about kMarkAhead of the rate seen so
  // far, at least two per connection and at most kMaxMarks. A crash costs
  // recovery one lookup per marked operation not yet sent, so a slow
  // (rate-limited) run marks few at a time, a fast one many.
  size_t MarkBatchSize() const {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const size_t floor = static_cast<size_t>(std::max(8, 2 * options_.concurrency));
    if (elapsed < 0.02) return floor;
    const auto by_rate = static_cast<size_t>(static_cast<double>(finished_) / elapsed * kMarkAhead);
    return std::clamp(by_rate, floor, kMaxMarks);
  }

  // One group commit: the queued closes, then `marks` in flight. false when
  // it failed: nothing of it is on disk, the closes stay queued for the final
  // flush, and the run stops (fatal_).
  bool Commit(std::vector<int64_t> marks, ApplyOutcome& outcome) {
    auto log = spdlog::get("sync");
    store::JournalBatch batch;
    batch.close.reserve(closes_.size());
    for (auto& c : closes_) batch.close.push_back(std::move(c.close));
    batch.mark_in_flight = std::move(marks);
    auto r = store_.JournalCommit(batch, options_.now_ms());
    last_commit_ = std::chrono::steady_clock::now();
    if (!r) {
      // Kept for the final flush.
      for (size_t k = 0; k < closes_.size(); ++k) closes_[k].close = std::move(batch.close[k]);
      fatal_ = true;
      if (outcome.first_error.empty()) {
        outcome.first_error = "cannot write the journal: " + r.error().message;
      }
      if (log) log->error("cannot write the journal: {}", r.error().message);
      return false;
    }
    for (const auto& [index, error] : r->rejected) {
      const PendingClose& c = closes_[index];
      // IDaaS has the change but the store could not record it: stop, and
      // let recovery at the next start resolve the in-flight entry.
      fatal_ = true;
      if (!c.close.done) continue;  // its failure stands; the entry stays in flight
      if (log) log->error("{}: applied but not recorded: {}", c.op->id, error.message);
      Unrecorded(*c.op, error.message, outcome);
    }
    closes_.clear();
    return true;
  }

  // A done operation whose close could not be committed is reported failed.
  void Unrecorded(const Operation& op, const std::string& why, ApplyOutcome& outcome) {
    OpResult& r = outcome.results[op.id];
    r.status = OpResult::Status::kFailed;
    r.error = "applied in IDaaS but not recorded: " + why;
    if (outcome.first_error.empty()) outcome.first_error = op.id + ": " + r.error;
  }

  // The last commit of the run: what is still queued. If it fails, the
  // operations it held stay in flight on disk (recovery looks them up) and
  // those that were done are reported failed.
  void FinalFlush(ApplyOutcome& outcome) {
    if (closes_.empty()) return;
    if (Commit({}, outcome)) return;
    for (const auto& c : closes_) {
      if (c.close.done) Unrecorded(*c.op, "the journal could not be written", outcome);
    }
    closes_.clear();
  }

  // Queues the close of a finished operation; commits when enough are
  // queued or the last commit is old.
  void QueueClose(const Operation& op, store::JournalClose close, ApplyOutcome& outcome) {
    closes_.push_back(PendingClose{&op, std::move(close)});
    if (closes_.size() >= kMaxCloses ||
        std::chrono::steady_clock::now() - last_commit_ >= kCloseInterval) {
      (void)Commit({}, outcome);
    }
  }

  // Makes sure wave[next_] may be sent: its in-flight mark is committed.
  // Marks the next batch once fewer than half a batch are marked ahead, so
  // the workers rarely find the window empty. false when a commit failed.
  bool EnsureMarked(const Wave& wave, ApplyOutcome& outcome) {
    const size_t batch = MarkBatchSize();
    if (marked_ > next_ && (marked_ - next_ > batch / 2 || marked_ == wave.size())) return true;
    size_t end = std::min(wave.size(), marked_ + batch);
    std::vector<int64_t> marks;
    for (size_t k = marked_; k < end; ++k) {
      if (!StoreOnly(*wave[k].first)) marks.push_back(wave[k].second);
    }
    // Store-only operations need no transaction before they run.
    if (!marks.empty() && !Commit(std::move(marks), outcome)) return marked_ > next_;
    marked_ = end;
    return true;
  }

  asio::awaitable<void> RunWave(const Wave& wave, ApplyOutcome& outcome) {
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
              if (!ShouldStop() && !EnsureMarked(wave, outcome)) continue;  // now fatal_
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
    // disk before anything of the next is marked.
    if (!closes_.empty()) (void)Commit({}, outcome);
  }

  void Finish(const Operation& op, OpResult result, ApplyOutcome& outcome) {
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
  asio::awaitable<void> RunOne(const Operation& op, int64_t journal_id, ApplyOutcome& outcome) {
    auto log = spdlog::get("sync");
    if (ShouldStop()) {
      std::string why = stopped_ ? "not run: stopping" : budget_exhausted_
                                                             ? "not run: too many failures in this phase"
                                                             : "not run: the state store failed";
      QueueClose(op, store::JournalClose{journal_id, false, {}, why}, outcome);
      Finish(op, OpResult{OpResult::Status::kNotRun, why, 0, ""}, outcome);
      co_return;
    }
    store::MirrorUpdate update;
    Outcome result = co_await Execute(op, &update);
    if (result.ok) {
      if (!result.created_id.empty()) ids_[{op.entity, op.target.key}] = result.created_id;
      // The in-memory copies move on now: later operations of this run build
      // on them. Should the close not commit, the run stops (fatal_).
      ApplyToCurrent(update);
      if (log) log->debug("{} done", op.id);
      Finish(op, OpResult{OpResult::Status::kDone, "", result.attempts, result.created_id},
             outcome);
      QueueClose(op, store::JournalClose{journal_id, true, std::move(update), ""}, outcome);
    } else {
      if (op.kind == OpKind::kOuCreate || op.kind == OpKind::kUserCreate ||
          op.kind == OpKind::kGroupCreate) {
        failed_keys_.insert({op.entity, op.target.key});
      }
      if (log) {
        log->warn("{} failed{}: {}", op.id,
                  result.in_doubt ? " (left for recovery to look up)" : "", result.error);
      }
      Finish(op, OpResult{OpResult::Status::kFailed, result.error, result.attempts, ""}, outcome);
      if (!result.in_doubt) {
        QueueClose(op, store::JournalClose{journal_id, false, {}, result.error}, outcome);
      }
    }
  }

  // ---- key/id resolution ------------------------------------------------
  void Remember(EntityType type, const ObjectRef& ref) {
    if (!ref.key.empty() && !ref.id.empty()) ids_.emplace(std::make_pair(type, ref.key), ref.id);
  }

  // The IDaaS id of `ref`, or nullopt with *why set.
  std::optional<std::string> Resolve(EntityType type, const ObjectRef& ref, std::string* why) {
    if (!ref.id.empty()) return ref.id;
    auto it = ids_.find({type, ref.key});
    if (it != ids_.end()) return it->second;
    *why = std::string("not sent: ") + EntityTypeName(type) + " '" + ref.key + "' " +
           (failed_keys_.count({type, ref.key}) ? "could not be created" : "does not exist yet");
    return std::nullopt;
  }

  // ---- current state of the objects this run touches -------------------
  std::optional<IdaasUser> CurrentUser(const std::string& id) {
    if (auto it = users_.find(id); it != users_.end()) return it->second;
    if (auto it = user_row_.find(id); it != user_row_.end()) return cached_.users.Get(it->second);
    return std::nullopt;
  }
  std::optional<IdaasOu> CurrentOu(const std::string& id) {
    if (auto it = ous_.find(id); it != ous_.end()) return it->second;
    return std::nullopt;
  }
  std::optional<IdaasGroup> CurrentGroup(const std::string& id) {
    if (auto it = groups_.find(id); it != groups_.end()) return it->second;
    return std::nullopt;
  }

  // Keeps the in-memory copies in step with what was committed.
  void ApplyToCurrent(const store::MirrorUpdate& u) {
    for (const auto& id : u.delete_user_ids) users_.erase(id);
    for (const auto& user : u.upsert_users) users_[user.id] = user;
    for (const auto& id : u.delete_ou_ids) ous_.erase(id);
    for (const auto& ou : u.upsert_ous) ous_[ou.id] = ou;
    for (const auto& id : u.delete_group_ids) groups_.erase(id);
    for (const auto& g : u.upsert_groups) groups_[g.id] = g;
    for (const auto& m : u.add_members) {
      auto it = groups_.find(m.group_id);
      if (it == groups_.end()) continue;
      // The list is kept sorted: merge rather than re-sort it, since a large
      // group grows by one chunk per operation.
      auto& ids = it->second.member_ids;
      std::vector<std::string> added = m.user_ids;
      SortUnique(added);
      const auto mid = static_cast<std::ptrdiff_t>(ids.size());
      ids.insert(ids.end(), std::make_move_iterator(added.begin()),
                 std::make_move_iterator(added.end()));
      std::inplace_merge(ids.begin(), ids.begin() + mid, ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    }
    for (const auto& m : u.remove_members) {
      auto it = groups_.find(m.group_id);
      if (it == groups_.end()) continue;
      auto& ids = it->second.member_ids;
      std::set<std::string> gone(m.user_ids.begin(), m.user_ids.end());
      ids.erase(std::remove_if(ids.begin(), ids.end(), [&](const std::string& s) { return gone.count(s) > 0; }),
                ids.end());
    }
  }

  static Outcome Failed(const ApiError& e) {
    Outcome o;
    o.error = e.ToString();
    o.attempts = e.attempts;
    return o;
  }
  static Outcome Failed(std::string why) {
    Outcome o;
    o.error = std::move(why);
    return o;
  }
  // A failure after an ambiguous create: see Outcome::in_doubt.
  static Outcome InDoubt(Outcome o) {
    o.in_doubt = true;
    return o;
  }
  static Outcome Ok(int attempts = 1) {
    Outcome o;
    o.ok = true;
    o.attempts = attempts;
    return o;
  }

  // ---- one operation ----------------------------------------------------
  asio::awaitable<Outcome> Execute(const Operation& op, store::MirrorUpdate* update) {
    std::string why;
    switch (op.kind) {
      case OpKind::kOuCreate: co_return co_await CreateOu(op, update);
      case OpKind::kOuMove: co_return co_await MoveOu(op, update);
      case OpKind::kUserCreate: co_return co_await CreateUser(op, update);
      case OpKind::kGroupCreate: co_return co_await CreateGroup(op, update);

      case OpKind::kOuPatch: {
        idaas::PatchOrganizationalUnitRequest req;
        req.organizational_unit_name = ChangeOf(op, "name");
        req.description = ChangeOf(op, "description");
        auto r = co_await client_.PatchOrganizationalUnit(op.target.id, req);
        if (!r) co_return Failed(r.error());
        if (auto ou = CurrentOu(op.target.id)) {
          if (req.organizational_unit_name) ou->name = *req.organizational_unit_name;
          if (req.description) ou->description = *req.description;
          update->upsert_ous.push_back(*ou);
        }
        co_return Ok();
      }
      case OpKind::kOuDelete:
      case OpKind::kUserDelete:
      case OpKind::kGroupDelete: {
        const std::string& id = op.target.id;
        // Plain if/else: GCC 12 evaluates both awaited arms of a nested ?:.
        idaas::Status r;
        if (op.kind == OpKind::kOuDelete) {
          r = co_await client_.DeleteOrganizationalUnit(id);
        } else if (op.kind == OpKind::kUserDelete) {
          r = co_await client_.DeleteUser(id);
        } else {
          r = co_await client_.DeleteGroup(id);
        }
        // Already gone counts as done: a delete is idempotent.
        if (!r && !IsMissing(r.error())) co_return Failed(r.error());
        RecordGone(op.entity, id, update);
        update->delete_links.push_back({op.entity, op.target.key});
        co_return Ok();
      }

      case OpKind::kUserPatch: {
        idaas::PatchUserRequest req;
        req.username = ChangeOf(op, "username");
        req.display_name = ChangeOf(op, "display_name");
        req.email = ChangeOf(op, "email");
        if (req.email && !req.email->empty()) req.email_verified = true;
        req.phone_number = ChangeOf(op, "phone_number");
        if (req.phone_number && !req.phone_number->empty()) req.phone_number_verified = true;
        req.phone_region = ChangeOf(op, "phone_region");
        for (const auto& c : op.changes) {
          if (!c.field.starts_with("custom.")) continue;
          std::string op_name = c.old_value.empty() ? "add" : c.new_value.empty() ? "remove" : "replace";
          req.custom_fields.push_back({c.field.substr(7), c.new_value, op_name});
        }
        auto r = co_await client_.PatchUser(op.target.id, req);
        if (!r) co_return Failed(r.error());
        if (auto u = CurrentUser(op.target.id)) {
          if (req.username) u->username = *req.username;
          if (req.display_name) u->display_name = *req.display_name;
          if (req.email) u->email = *req.email;
          if (req.phone_number) u->phone_number = *req.phone_number;
          if (req.phone_region) u->phone_region = *req.phone_region;
          for (const auto& f : req.custom_fields) {
            if (f.operation == "remove") u->custom_fields.erase(f.field_name);
            else u->custom_fields[f.field_name] = f.field_value;
          }
          update->upsert_users.push_back(*u);
        }
        co_return Ok();
      }
      case OpKind::kUserSetPrimaryOu: {
        auto user_id = Resolve(EntityType::kUser, op.target, &why);
        auto ou_id = Resolve(EntityType::kOu, op.ou, &why);
        if (!user_id || !ou_id) co_return Failed(why);
        auto r = co_await client_.SetUserPrimaryOrganizationalUnit(*user_id, *ou_id);
        if (!r) co_return Failed(r.error());
        if (auto u = CurrentUser(*user_id)) {
          // The API drops the old primary membership when it moves a user.
          std::erase(u->ou_ids, u->primary_ou_id);
          u->primary_ou_id = *ou_id;
          u->ou_ids.push_back(*ou_id);
          SortUnique(u->ou_ids);
          update->upsert_users.push_back(*u);
        }
        co_return Ok();
      }
      case OpKind::kUserAddOus:
      case OpKind::kUserRemoveOus: {
        auto user_id = Resolve(EntityType::kUser, op.target, &why);
        if (!user_id) co_return Failed(why);
        std::vector<std::string> ou_ids;
        for (const auto& ref : op.refs) {
          auto id = Resolve(EntityType::kOu, ref, &why);
          if (!id) co_return Failed(why);
          ou_ids.push_back(*id);
        }
        bool add = op.kind == OpKind::kUserAddOus;
        idaas::Status r;
        if (add) {
          r = co_await client_.AddUserToOrganizationalUnits(*user_id, ou_ids);
        } else {
          r = co_await client_.RemoveUserFromOrganizationalUnits(*user_id, ou_ids);
        }
        if (!r) co_return Failed(r.error());
        if (auto u = CurrentUser(*user_id)) {
          if (add) {
            u->ou_ids.insert(u->ou_ids.end(), ou_ids.begin(), ou_ids.end());
          } else {
            for (const auto& id : ou_ids) std::erase(u->ou_ids, id);
          }
          SortUnique(u->ou_ids);
          update->upsert_users.push_back(*u);
        }
        co_return Ok();
      }
      case OpKind::kUserEnable:
      case OpKind::kUserDisable: {
        bool enable = op.kind == OpKind::kUserEnable;
        idaas::Status r;
        if (enable) {
          r = co_await client_.EnableUser(op.target.id);
        } else {
          r = co_await client_.DisableUser(op.target.id);
        }
        if (!r) co_return Failed(r.error());
        if (auto u = CurrentUser(op.target.id)) {
          u->enabled = enable;
          update->upsert_users.push_back(*u);
        }
        store::MirrorUpdate::LinkFlags flags{EntityType::kUser, op.target.key, std::nullopt,
                                            std::nullopt};
        if (enable) {
          flags.disabled_by_idsync = false;
        } else if (auto since = ChangeOf(op, "missing_since")) {
          flags.missing_since_ms = std::stoll(*since);
          flags.disabled_by_idsync = true;
        }
        if (flags.missing_since_ms || flags.disabled_by_idsync) {
          update->set_link_flags.push_back(flags);
        }
        co_return Ok();
      }
      case OpKind::kAdopt: {
        update->upsert_links.push_back(
            Link{op.entity, op.target.key, op.target.id, Ownership::kAdopted, 0, false});
        co_return Ok(0);
      }
      case OpKind::kUserMarkMissing: {
        auto since = ChangeOf(op, "missing_since");
        store::MirrorUpdate::LinkFlags flags{EntityType::kUser, op.target.key,
                                            since ? std::stoll(*since) : 0, std::nullopt};
        update->set_link_flags.push_back(flags);
        co_return Ok(0);
      }
      case OpKind::kGroupPatch: {
        idaas::PatchGroupRequest req;
        req.group_name = ChangeOf(op, "name");
        auto r = co_await client_.PatchGroup(op.target.id, req);
        if (!r) co_return Failed(r.error());
        if (auto g = CurrentGroup(op.target.id)) {
          if (req.group_name) g->name = *req.group_name;
          update->upsert_groups.push_back(*g);
        }
        co_return Ok();
      }
      case OpKind::kGroupAddMembers:
      case OpKind::kGroupRemoveMembers: {
        auto group_id = Resolve(EntityType::kGroup, op.target, &why);
        if (!group_id) co_return Failed(why);
        std::vector<std::string> user_ids;
        std::vector<std::string> missing;
        for (const auto& ref : op.refs) {
          std::string unused;
          auto id = Resolve(EntityType::kUser, ref, &unused);
          if (id) user_ids.push_back(*id);
          else missing.push_back(ref.key);
        }
        bool add = op.kind == OpKind::kGroupAddMembers;
        if (!user_ids.empty()) {
          idaas::Status r;
          if (add) {
            r = co_await client_.AddUsersToGroup(*group_id, user_ids);
          } else {
            r = co_await client_.RemoveUsersFromGroup(*group_id, user_ids);
          }
          if (!r) co_return Failed(r.error());
          (add ? update->add_members : update->remove_members)
              .push_back({*group_id, user_ids});
        }
        if (!missing.empty()) {
          // What could be sent was; the report must still say it is incomplete.
          store_.ApplyUpdate(*update);  // best effort: recorded with the failure
          ApplyToCurrent(*update);
          *update = store::MirrorUpdate();
          co_return Failed(std::to_string(missing.size()) + " member(s) not " +
                           (add ? "added" : "removed") + ": account not created (" +
                           missing.front() + (missing.size() > 1 ? ", ..." : "") + ")");
        }
        co_return Ok();
      }
    }
    co_return Failed("unknown operation");
  }

  asio::awaitable<Outcome> CreateOu(const Operation& op, store::MirrorUpdate* update) {
    std::string why;
    auto parent = Resolve(EntityType::kOu, op.ou, &why);
    if (!parent) co_return Failed(why);
    idaas::CreateOrganizationalUnitRequest req;
    req.organizational_unit_name = ChangeOf(op, "name").value_or(op.display);
    req.parent_id = *parent;
    req.description = ChangeOf(op, "description");
    req.organizational_unit_external_id = op.target.key;
    auto r = co_await client_.CreateOrganizationalUnit(req);
    std::string id;
    int attempts = 1;
    if (r) {
      id = *r;
    } else {
      const ApiError& e = r.error();
      attempts = e.attempts;
      if (!e.ambiguous && e.kind != ApiError::Kind::kConflict) co_return Failed(e);
      // It may exist already (a lost response, or an earlier run): look first.
      auto found = co_await client_.GetOrganizationalUnitIdByExternalId(op.target.key);
      if (found) {
        id = *found;
      } else if (e.ambiguous && IsMissing(found.error())) {
        auto again = co_await client_.CreateOrganizationalUnit(req);
        if (!again && again.error().ambiguous) co_return InDoubt(Failed(again.error()));
        if (!again) co_return Failed(again.error());
        id = *again;
      } else if (e.ambiguous) {
        co_return InDoubt(Failed(found.error()));
      } else {
        co_return Failed(e);
      }
    }
    IdaasOu ou{id, req.organizational_unit_name, req.parent_id, req.description.value_or(""),
               op.target.key, "build_in", options_.instance_id};
    update->upsert_ous.push_back(ou);
    update->upsert_links.push_back(Link{EntityType::kOu, op.target.key, id, Ownership::kCreated, 0, false});
    Outcome o = Ok(attempts);
    o.created_id = id;
    co_return o;
  }

  // Whether `ancestor` is on the chain of `id`'s parents as this run has
  // them (the mirror plus what this run changed), `id` included.
  bool IsAtOrBelow(std::string id, const std::string& ancestor) {
    for (size_t steps = 0; steps <= ous_.size() && !id.empty(); ++steps) {
      if (id == ancestor) return true;
      auto ou = CurrentOu(id);
      if (!ou) return false;
      id = ou->parent_id;
    }
    return false;
  }

  asio::awaitable<Outcome> MoveOu(const Operation& op, store::MirrorUpdate* update) {
    std::string why;
    if (options_.ou_mover == nullptr) {
      co_return Failed("not sent: moving a department needs the admin API (no admin "
                       "credentials configured)");
    }
    auto parent = Resolve(EntityType::kOu, op.ou, &why);
    if (!parent) co_return Failed(why);
    const std::string& id = op.target.id;
    // The plan orders moves so that none can cycle; an earlier move that
    // failed can still leave the new parent inside this OU.
    if (IsAtOrBelow(*parent, id)) {
      co_return Failed("not sent: the new parent " + *parent + " is inside OU " + id +
                       " now (an earlier move did not happen), so the move would make a cycle");
    }
    auto r = co_await options_.ou_mover->Move(id, *parent);
    if (!r) {
      // The answer may have been lost after the move happened: IDaaS says
      // where the OU is. If it cannot be read either, the entry stays in
      // flight and recovery reads it before the next plan.
      auto now = co_await client_.GetOrganizationalUnit(id);
      if (!now) co_return InDoubt(Failed(r.error()));
      if (now->parent_id != *parent) co_return Failed(r.error());
      update->upsert_ous.push_back(FromApi(*now));
      co_return Ok(r.error().attempts + 1);
    }
    if (auto ou = CurrentOu(id)) {
      ou->parent_id = *parent;
      update->upsert_ous.push_back(*ou);
    }
    co_return Ok();
  }

  asio::awaitable<Outcome> CreateUser(const Operation& op, store::MirrorUpdate* update) {
    std::string why;
    auto primary = Resolve(EntityType::kOu, op.ou, &why);
    if (!primary) co_return Failed(why);
    idaas::CreateUserRequest req;
    req.username = ChangeOf(op, "username").value_or(op.display);
    req.primary_organizational_unit_id = *primary;
    req.display_name = ChangeOf(op, "display_name");
    req.description = ChangeOf(op, "description");
    req.email = ChangeOf(op, "email");
    if (req.email) req.email_verified = true;
    req.phone_number = ChangeOf(op, "phone_number");
    if (req.phone_number) {
      req.phone_number_verified = true;
      req.phone_region = ChangeOf(op, "phone_region").value_or("86");
    }
    req.user_external_id = op.target.key;
    for (const auto& c : op.changes) {
      if (c.field.starts_with("custom.")) req.custom_fields.push_back({c.field.substr(7), c.new_value});
    }
    auto r = co_await client_.CreateUser(req);
    int attempts = 1;
    if (!r) {
      const ApiError& e = r.error();
      attempts = e.attempts;
      if (!e.ambiguous && e.kind != ApiError::Kind::kConflict) co_return Failed(e);
      // The create may have happened (its response was lost) or an earlier
      // run made it: look it up by external id before anything is resent.
      auto found = co_await FindCreatedUser(client_, op.target.key, req.username);
      if (!found && !IsMissing(found.error())) {
        if (e.ambiguous) co_return InDoubt(Failed(found.error()));
        co_return Failed(found.error());
      }
      if (!found) {
        if (!e.ambiguous) co_return Failed(e);  // e.g. the username is taken
        auto again = co_await client_.CreateUser(req);
        if (!again && again.error().ambiguous) co_return InDoubt(Failed(again.error()));
        if (!again) co_return Failed(again.error());
        r = std::move(again);
      } else {
        auto user = co_await client_.GetUser(*found);
        if (!user) co_return Failed(user.error());
        update->upsert_users.push_back(FromApi(*user));
        update->upsert_links.push_back(
            Link{EntityType::kUser, op.target.key, *found, Ownership::kCreated, 0, false});
        Outcome o = Ok(attempts);
        o.created_id = *found;
        co_return o;
      }
    }
    IdaasUser u;
    u.id = *r;
    u.username = req.username;
    u.display_name = req.display_name.value_or("");
    u.email = req.email.value_or("");
    u.phone_number = req.phone_number.value_or("");
    u.phone_region = req.phone_region.value_or("");
    u.description = req.description.value_or("");
    u.external_id = op.target.key;
    u.source_type = "build_in";
    u.source_id = options_.instance_id;
    u.primary_ou_id = *primary;
    u.ou_ids = {*primary};
    u.enabled = true;
    for (const auto& f : req.custom_fields) u.custom_fields[f.field_name] = f.field_value;
    update->upsert_users.push_back(u);
    update->upsert_links.push_back(Link{EntityType::kUser, op.target.key, u.id, Ownership::kCreated, 0, false});
    Outcome o = Ok(attempts);
    o.created_id = u.id;
    co_return o;
  }

  asio::awaitable<Outcome> CreateGroup(const Operation& op, store::MirrorUpdate* update) {
    idaas::CreateGroupRequest req;
    req.group_name = ChangeOf(op, "name").value_or(op.display);
    req.group_external_id = op.target.key;
    auto r = co_await client_.CreateGroup(req);
    std::string id;
    int attempts = 1;
    if (r) {
      id = *r;
    } else {
      const ApiError& e = r.error();
      attempts = e.attempts;
      if (!e.ambiguous && e.kind != ApiError::Kind::kConflict) co_return Failed(e);
      auto found = co_await FindGroupByExternalId(client_, req.group_name, op.target.key);
      if (found) {
        id = *found;
      } else if (e.ambiguous && IsMissing(found.error())) {
        auto again = co_await client_.CreateGroup(req);
        if (!again && again.error().ambiguous) co_return InDoubt(Failed(again.error()));
        if (!again) co_return Failed(again.error());
        id = *again;
      } else if (e.ambiguous) {
        co_return InDoubt(Failed(found.error()));
      } else {
        co_return Failed(e);
      }
    }
    update->upsert_groups.push_back(
        IdaasGroup{id, req.group_name, "", op.target.key, "build_in", options_.instance_id, {}});
    update->upsert_links.push_back(Link{EntityType::kGroup, op.target.key, id, Ownership::kCreated, 0, false});
    Outcome o = Ok(attempts);
    o.created_id = id;
    co_return o;
  }

  store::Store& store_;
  idaas::Client& client_;
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
    store::JournalClose close;
  };
  static constexpr double kMarkAhead = 0.25;  // seconds of operations
  static constexpr size_t kMaxMarks = 1024;
  static constexpr size_t kMaxCloses = 4096;
  static constexpr std::chrono::milliseconds kCloseInterval{1000};
  std::vector<PendingClose> closes_;
  size_t next_ = 0;    // the wave's next operation to run
  size_t marked_ = 0;  // the wave's operations before this one may be sent
  std::chrono::steady_clock::time_point started_, last_commit_;
  Phase current_phase_ = Phase::kOuCreate;
  int phase_failures_ = 0;
  int64_t total_ = 0, finished_ = 0;
  bool stopped_ = false, budget_exhausted_ = false, fatal_ = false;
};

Executor::Executor(store::Store& store, idaas::Client& client, const CachedState& cached,
                   ExecutorOptions options)
    : impl_(std::make_unique<Impl>(store, client, cached, std::move(options))) {}
Executor::~Executor() = default;

asio::awaitable<ApplyOutcome> Executor::Apply(const Plan& plan, int64_t run_id) {
  co_return co_await impl_->Apply(plan, run_id);
}

namespace {

struct JournalTarget {
  std::string kind, entity, key, id, display;
  // A user.disable because the record went missing: when its delete timer
  // started (the "missing_since" change), so that recovery keeps it.
  std::optional<int64_t> missing_since_ms;
};

std::optional<JournalTarget> ParsePayload(const std::string& payload) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&](const json::object& obj, const char* k) -> std::string {
    auto* p = obj.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : "";
  };
  JournalTarget t;
  t.kind = str(o, "kind");
  t.entity = str(o, "entity");
  t.display = str(o, "name");
  t.key = str(o, "source_key");
  t.id = str(o, "idaas_id");
  if (auto* changes = o.if_contains("changes"); changes && changes->is_array()) {
    for (const auto& c : changes->as_array()) {
      if (!c.is_object() || str(c.as_object(), "field") != "missing_since") continue;
      const std::string since = str(c.as_object(), "new");
      char* end = nullptr;
      long long v = std::strtoll(since.c_str(), &end, 10);
      if (!since.empty() && end && *end == '\0') t.missing_since_ms = v;
    }
  }
  return t;
}

}  // namespace

namespace {

// An object created by the operation `t` (by its external id; users also by
// username), or kNotFound.
asio::awaitable<idaas::Result<std::string>> FindCreated(idaas::Client& client, EntityType type,
                                                        const JournalTarget& t) {
  switch (type) {
    case EntityType::kUser: co_return co_await FindCreatedUser(client, t.key, t.display);
    case EntityType::kOu: co_return co_await client.GetOrganizationalUnitIdByExternalId(t.key);
    case EntityType::kGroup: co_return co_await FindGroupByExternalId(client, t.display, t.key);
  }
  co_return ApiError{};
}

// Reads the object as IDaaS has it into `update`; kNotFound when it is gone.
asio::awaitable<idaas::Status> ReadInto(idaas::Client& client, EntityType type,
                                        const std::string& id, store::MirrorUpdate* update) {
  switch (type) {
    case EntityType::kUser: {
      auto user = co_await client.GetUser(id);
      if (!user) co_return user.error();
      update->upsert_users.push_back(FromApi(*user));
      co_return idaas::Status();
    }
    case EntityType::kOu: {
      auto ou = co_await client.GetOrganizationalUnit(id);
      if (!ou) co_return ou.error();
      update->upsert_ous.push_back(FromApi(*ou));
      co_return idaas::Status();
    }
    case EntityType::kGroup: {
      auto group = co_await client.GetGroup(id);
      if (!group) co_return group.error();
      auto members = co_await client.ListAllUsersForGroup(id);
      if (!members) co_return members.error();
      update->upsert_groups.push_back(FromApi(*group, *members));
      co_return idaas::Status();
    }
  }
  co_return idaas::Status();
}


std::optional<EntityType> ParseEntity(const std::string& name) {
  if (name == "user") return EntityType::kUser;
  if (name == "ou") return EntityType::kOu;
  if (name == "group") return EntityType::kGroup;
  return std::nullopt;
}

}  // namespace

asio::awaitable<RecoveryOutcome> Executor::Recover(store::Store& store, idaas::Client& client,
                                                   ExecutorOptions options) {
  RecoveryOutcome out;
  if (!options.now_ms) options.now_ms = SystemNowMs;
  auto log = spdlog::get("sync");
  auto entries = store.JournalUnfinished();
  if (!entries) {
    out.first_error = entries.error().message;
    ++out.unresolved;
    co_return out;
  }
  // The resolutions are committed in groups, like the executor's closes: a
  // crash during recovery leaves the uncommitted ones unfinished, and the
  // next recovery resolves them again (lookups are read-only).
  enum class Counted { kDone, kAbsent, kAbandoned };
  std::vector<store::JournalClose> closes;
  std::vector<Counted> counted;
  auto last_commit = std::chrono::steady_clock::now();
  auto flush = [&] {
    if (closes.empty()) return;
    auto r = store.JournalCommit(store::JournalBatch{std::move(closes), {}}, options.now_ms());
    last_commit = std::chrono::steady_clock::now();
    std::vector<bool> rejected(counted.size(), false);
    if (!r) {
      out.unresolved += static_cast<int64_t>(counted.size());
      if (out.first_error.empty()) out.first_error = r.error().message;
      rejected.assign(counted.size(), true);
    } else {
      for (const auto& [index, error] : r->rejected) {
        rejected[index] = true;
        ++out.unresolved;
        if (out.first_error.empty()) out.first_error = error.message;
      }
    }
    for (size_t k = 0; k < counted.size(); ++k) {
      if (rejected[k]) continue;
      switch (counted[k]) {
        case Counted::kDone: ++out.resolved_done; break;
        case Counted::kAbsent: ++out.resolved_absent; break;
        case Counted::kAbandoned: ++out.abandoned; break;
      }
    }
    closes.clear();
    counted.clear();
  };
  auto close = [&](store::JournalClose c, Counted what) {
    closes.push_back(std::move(c));
    counted.push_back(what);
    if (closes.size() >= 4096 ||
        std::chrono::steady_clock::now() - last_commit >= std::chrono::seconds(1)) {
      flush();
    }
  };
  for (const auto& e : *entries) {
    if (e.state == store::JournalEntry::State::kPending) {
      close({e.id, false, {}, "not sent: the run that planned it stopped first"},
            Counted::kAbandoned);
      continue;
    }
    auto t = ParsePayload(e.payload);
    auto type = t ? ParseEntity(t->entity) : std::nullopt;
    // Store-only operations (adopt, mark_missing) have nothing to look up:
    // the next plan decides again.
    if (!t || !type || t->kind == "adopt" || t->kind == "user.mark_missing") {
      close({e.id, false, {}, "interrupted; re-planned"}, Counted::kAbsent);
      continue;
    }
    auto unresolved = [&](const ApiError& err) {
      ++out.unresolved;
      if (out.first_error.empty()) out.first_error = e.op_id + ": " + err.ToString();
    };
    const bool is_create = t->kind.ends_with(".create");
    std::string id = t->id;
    if (is_create) {
      auto found = co_await FindCreated(client, *type, *t);
      if (found) {
        id = *found;
      } else if (!IsMissing(found.error())) {
        unresolved(found.error());
        continue;
      }
    }
    if (id.empty()) {
      close({e.id, false, {}, "not applied (nothing carries this record's key)"},
            Counted::kAbsent);
      continue;
    }
    store::MirrorUpdate update;
    auto read = co_await ReadInto(client, *type, id, &update);
    if (read) {
      if (is_create) {
        update.upsert_links.push_back(Link{*type, t->key, id, Ownership::kCreated, 0, false});
      }
      // A disable for a missing record that reached IDaaS keeps its delete
      // timer and its "idsync disabled it" mark, exactly as the completed
      // operation would have: else the account would never be deleted, nor
      // re-enabled when its record returns.
      if (t->kind == "user.disable" && t->missing_since_ms && !update.upsert_users.empty() &&
          !update.upsert_users.back().enabled) {
        update.set_link_flags.push_back(store::MirrorUpdate::LinkFlags{
            EntityType::kUser, t->key, *t->missing_since_ms, true});
      }
    } else if (IsMissing(read.error())) {
      RecordGone(*type, id, &update);
      if (t->kind.ends_with(".delete")) update.delete_links.push_back({*type, t->key});
    } else {
      unresolved(read.error());
      continue;
    }
    if (log) log->info("recovered {}: {} is {}", e.op_id, id, read ? "present" : "gone");
    close({e.id, true, std::move(update), ""}, Counted::kDone);
  }
  flush();
  co_return out;
}

}  // namespace idsync::sync
