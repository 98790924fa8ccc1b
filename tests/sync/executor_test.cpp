// sync::Executor against a fake journal and a fake remote directory (as
// ninja's Builder is tested with FakeCommandRunner): what it promises about
// the order of journal writes and requests, ambiguous creates, restart
// recovery, failures, waves and group commits. Every fake call suspends once,
// so operations of a wave really interleave as they do over the network.
#include "idsync/sync/executor.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "idsync/sync/journal.h"
#include "idsync/sync/remote_directory.h"
#include "idsync/sync/report.h"

namespace idsync::sync {
namespace {

namespace asio = boost::asio;

constexpr const char* kRoot = "ou_root";

// The journal in memory: every entry's state, every commit as it was made,
// and the mirror updates that became durable (closes done, ApplyUpdate).
// With a journal thread it is called from that thread: `mu` guards what
// the fake remote reads, and `overlaps` counts calls that ran while
// another was running (the executor promises one at a time).
class FakeJournal final : public Journal {
 public:
  mutable std::mutex mu;
  std::atomic<int> active{0};
  std::atomic<int> overlaps{0};
  std::set<std::thread::id> threads;  // that called Commit or ApplyUpdate

  struct Call {
    explicit Call(FakeJournal& journal) : j(journal) {
      if (j.active.fetch_add(1) != 0) ++j.overlaps;
      lock = std::unique_lock<std::mutex>(j.mu);
    }
    ~Call() {
      lock.unlock();
      --j.active;
    }
    FakeJournal& j;
    std::unique_lock<std::mutex> lock;
  };

  enum class State { kPending, kInFlight, kDone, kFailed };
  struct Entry {
    NewJournalEntry planned;
    State state = State::kPending;
    std::string error;
  };
  std::map<int64_t, Entry> entries;
  std::vector<JournalBatch> commits;
  std::vector<MirrorUpdate> durable;  // what reached the mirror, in order
  std::multimap<std::string, int64_t> by_key;  // the first entry of a key or id
  int throw_on_commit = 0;              // the Nth Commit throws (0: none)
  int refused = 0;                      // commits that closed or marked a closed entry
  int commits_seen = 0;
  // Called (outside the lock, on the caller's thread) before a commit
  // that has closes but no marks.
  std::function<void()> before_close_only_commit;
  int64_t next_id = 1;

  base::Result<std::vector<int64_t>> Add(const std::vector<NewJournalEntry>& add) override {
    Call call(*this);
    std::vector<int64_t> ids;
    for (const auto& e : add) {
      const auto bar = e.target.find('|');
      by_key.emplace(e.target.substr(0, bar), next_id);
      by_key.emplace(e.target.substr(bar + 1), next_id);
      entries[next_id] = Entry{e, State::kPending, ""};
      ids.push_back(next_id++);
    }
    return ids;
  }

  base::Result<JournalCommitResult> Commit(const JournalBatch& batch, int64_t) override {
    if (before_close_only_commit && batch.mark_in_flight.empty() && !batch.close.empty()) {
      before_close_only_commit();
    }
    Call call(*this);
    threads.insert(std::this_thread::get_id());
    if (++commits_seen == throw_on_commit) throw std::runtime_error("disk on fire");
    // As the store: an entry is closed or marked only while unfinished, and
    // a commit that breaks that applies nothing.
    std::map<int64_t, State> after;
    auto unfinished = [&](int64_t id) {
      auto it = after.find(id);
      const State st = it != after.end() ? it->second : entries.at(id).state;
      return st == State::kPending || st == State::kInFlight;
    };
    for (const auto& c : batch.close) {
      if (!unfinished(c.id)) {
        ++refused;
        return base::Error{base::Error::Code::kInvalid,
                           "journal entry " + std::to_string(c.id) + " is already closed"};
      }
      after[c.id] = c.done ? State::kDone : State::kFailed;
    }
    for (int64_t id : batch.mark_in_flight) {
      if (!unfinished(id)) {
        ++refused;
        return base::Error{base::Error::Code::kInvalid,
                           "journal entry " + std::to_string(id) + " is already closed"};
      }
      after[id] = State::kInFlight;
    }
    commits.push_back(batch);
    for (const auto& c : batch.close) {
      Entry& e = entries.at(c.id);
      e.state = c.done ? State::kDone : State::kFailed;
      e.error = c.error;
      if (c.done) durable.push_back(c.update);
    }
    for (int64_t id : batch.mark_in_flight) entries.at(id).state = State::kInFlight;
    return JournalCommitResult{};
  }

  base::Result<void> ApplyUpdate(const MirrorUpdate& update) override {
    Call call(*this);
    threads.insert(std::this_thread::get_id());
    durable.push_back(update);
    return {};
  }

  base::Result<std::vector<UnfinishedEntry>> Unfinished() override {
    Call call(*this);
    std::vector<UnfinishedEntry> out;
    for (const auto& [id, e] : entries) {
      if (e.state == State::kPending || e.state == State::kInFlight) {
        out.push_back({id, e.planned.op_id, e.state == State::kInFlight, e.planned.payload});
      }
    }
    return out;
  }

  // The entry of the operation on `key_or_id` ("key|id" targets).
  const Entry* For(const std::string& key_or_id) const {
    auto it = by_key.find(key_or_id);
    return it == by_key.end() ? nullptr : &entries.at(it->second);
  }

  State StateOf(const std::string& op_id) const {
    for (const auto& [id, e] : entries) {
      if (e.planned.op_id == op_id) return e.state;
    }
    return State::kPending;
  }

  // Users the mirror received, by id.
  std::set<std::string> MirroredUserIds() const {
    std::set<std::string> ids;
    for (const auto& u : durable) {
      for (const auto& user : u.upsert_users) ids.insert(user.id);
    }
    return ids;
  }
};

base::Error Error(base::Error::Code code, std::string message, bool ambiguous = false) {
  return RemoteFailure(code, std::move(message), ambiguous, /*attempts=*/1);
}

// IDaaS in memory. Records every write in order; can refuse a call on one
// object (`fail`) or apply a create and lose its answer (`lose_create_answer`).
// Every write first checks that its journal entry is in flight on disk.
class FakeRemote final : public RemoteDirectory {
 public:
  template <class T>
  using Call = asio::awaitable<base::Result<T>>;
  using Status = asio::awaitable<base::Status>;

  explicit FakeRemote(const FakeJournal& journal) : journal_(journal) {}

  std::map<std::string, IdaasUser> users;
  std::map<std::string, IdaasOu> ous;
  std::vector<std::string> writes;              // e.g. "CreateUser:E1"
  std::vector<std::string> sent_before_marked;  // writes whose entry was not in flight
  std::map<std::string, base::Error> fail;      // by "Call:key_or_id"
  std::set<std::string> lose_create_answer;     // external ids
  std::function<void(size_t writes)> on_write;  // after each write is recorded
  std::string hold_id;                          // PatchUser of it waits for `gate`
  bool gate_open = false;  // set (on the io thread) when the test lets it go
  std::chrono::microseconds write_delay{0};     // PatchUser's latency
  std::unique_ptr<asio::steady_timer> gate;
  int next_id = 1;

  Call<std::string> CreateUser(NewUser u) override {
    co_await Yield();
    if (auto e = Write("CreateUser", u.external_id)) co_return *e;
    IdaasUser user;
    user.id = "user_" + std::to_string(next_id++);
    user.username = u.username;
    user.external_id = u.external_id;
    user.primary_ou_id = u.primary_ou_id;
    user.ou_ids = {u.primary_ou_id};
    users[user.id] = user;
    if (lose_create_answer.count(u.external_id)) {
      co_return Error(base::Error::Code::kRemote, "CreateUser: timeout after send", true);
    }
    co_return user.id;
  }
  Status PatchUser(std::string id, UserPatch patch) override {
    co_await Yield();
    if (write_delay.count() > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, write_delay);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    // In flight until the test opens the gate; a call that reaches it after
    // it was opened goes on (else a release that came first would hold it
    // for ever).
    if (id == hold_id && !gate_open) {
      gate = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                  asio::steady_timer::time_point::max());
      co_await gate->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (auto e = Write("PatchUser", id)) co_return *e;
    if (patch.display_name) users[id].display_name = *patch.display_name;
    co_return base::Status();
  }
  Status DeleteUser(std::string id) override { return Simple("DeleteUser", id); }
  Status EnableUser(std::string id) override { return Simple("EnableUser", id); }
  Status DisableUser(std::string id) override { return Simple("DisableUser", id); }
  Status SetUserPrimaryOu(std::string id, std::string) override {
    return Simple("SetUserPrimaryOu", id);
  }
  Status AddUserToOus(std::string id, std::vector<std::string>) override {
    return Simple("AddUserToOus", id);
  }
  Status RemoveUserFromOus(std::string id, std::vector<std::string>) override {
    return Simple("RemoveUserFromOus", id);
  }
  Call<IdaasUser> GetUser(std::string id) override {
    co_await Yield();
    if (!users.count(id)) co_return Error(base::Error::Code::kNotFound, "no user " + id);
    co_return users[id];
  }
  Call<std::string> FindUserIdByExternalId(std::string key) override {
    co_await Yield();
    ++lookups;
    for (const auto& [id, u] : users) {
      if (u.external_id == key) co_return id;
    }
    co_return Error(base::Error::Code::kNotFound, "no user with external id " + key);
  }
  Call<std::string> FindUserIdByUsername(std::string name) override {
    co_await Yield();
    for (const auto& [id, u] : users) {
      if (u.username == name) co_return id;
    }
    co_return Error(base::Error::Code::kNotFound, "no user named " + name);
  }

  Call<std::string> CreateOu(NewOu o) override {
    co_await Yield();
    if (auto e = Write("CreateOu", o.external_id)) co_return *e;
    if (!ous.count(o.parent_id)) co_return Error(base::Error::Code::kRemote, "no parent");
    IdaasOu ou{
        "ou_" + std::to_string(next_id++), o.name, o.parent_id, "", o.external_id, "build_in", ""};
    ous[ou.id] = ou;
    co_return ou.id;
  }
  Status PatchOu(std::string id, OuPatch) override { return Simple("PatchOu", id); }
  Status DeleteOu(std::string id) override { return Simple("DeleteOu", id); }
  Call<IdaasOu> GetOu(std::string id) override {
    co_await Yield();
    if (!ous.count(id)) co_return Error(base::Error::Code::kNotFound, "no OU " + id);
    co_return ous[id];
  }
  Call<std::string> FindOuIdByExternalId(std::string key) override {
    co_await Yield();
    for (const auto& [id, ou] : ous) {
      if (ou.external_id == key) co_return id;
    }
    co_return Error(base::Error::Code::kNotFound, "no OU with external id " + key);
  }

  Call<std::string> CreateGroup(NewGroup g) override {
    co_await Yield();
    if (auto e = Write("CreateGroup", g.external_id)) co_return *e;
    co_return "group_" + std::to_string(next_id++);
  }
  Status PatchGroup(std::string id, std::optional<std::string>) override {
    return Simple("PatchGroup", id);
  }
  Status DeleteGroup(std::string id) override { return Simple("DeleteGroup", id); }
  Call<IdaasGroup> GetGroup(std::string id) override {
    co_await Yield();
    co_return Error(base::Error::Code::kNotFound, "no group " + id);
  }
  Call<std::string> FindGroupIdByExternalId(std::string, std::string key) override {
    co_await Yield();
    co_return Error(base::Error::Code::kNotFound, "no group with external id " + key);
  }
  Status AddUsersToGroup(std::string id, std::vector<std::string>) override {
    return Simple("AddUsersToGroup", id);
  }
  Status RemoveUsersFromGroup(std::string id, std::vector<std::string>) override {
    return Simple("RemoveUsersFromGroup", id);
  }

  int lookups = 0;

 private:
  static asio::awaitable<void> Yield() {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }

  // Records a write; the error it is to fail with, if any.
  std::optional<base::Error> Write(const std::string& call, const std::string& key_or_id) {
    writes.push_back(call + ":" + key_or_id);
    if (on_write) on_write(writes.size());
    std::lock_guard<std::mutex> lock(journal_.mu);
    const FakeJournal::Entry* e = journal_.For(key_or_id);
    if (e == nullptr || e->state != FakeJournal::State::kInFlight) {
      sent_before_marked.push_back(call + ":" + key_or_id);
    }
    if (auto it = fail.find(call + ":" + key_or_id); it != fail.end()) return it->second;
    return std::nullopt;
  }

  Status Simple(std::string call, std::string id) {
    co_await Yield();
    if (auto e = Write(call, id)) co_return *e;
    co_return base::Status();
  }

  const FakeJournal& journal_;
};

Operation Op(OpKind kind, Phase phase, int wave, EntityType entity, ObjectRef target,
             ObjectRef ou = {}) {
  Operation op;
  op.kind = kind;
  op.phase = phase;
  op.wave = wave;
  op.entity = entity;
  op.target = std::move(target);
  op.ou = std::move(ou);
  op.display = op.target.key;
  op.id =
      std::string(OpKindName(kind)) + ":" + (op.target.key.empty() ? op.target.id : op.target.key);
  return op;
}

Operation UserCreate(const std::string& key, ObjectRef ou) {
  Operation op =
      Op(OpKind::kUserCreate, Phase::kUserCreate, 0, EntityType::kUser, {key, ""}, std::move(ou));
  op.changes.push_back({"username", "", key});
  return op;
}

Operation UserPatch(const std::string& key, const std::string& id) {
  Operation op = Op(OpKind::kUserPatch, Phase::kUserUpdate, 0, EntityType::kUser, {key, id});
  op.changes.push_back({"display_name", "old", "new " + key});
  return op;
}

// Every test runs with the journal on the executor's thread and on a
// thread of its own (ExecutorOptions::journal_thread).
class ExecutorTest : public ::testing::TestWithParam<bool> {
 protected:
  ExecutorTest() : remote_(journal_) {
    remote_.ous[kRoot] = IdaasOu{kRoot, "root", "", "", "", "", ""};
    state_.ous.push_back(remote_.ous[kRoot]);
  }

  // A plan of `n` display-name patches of accounts both sides have
  // (keys E0, E1, …; ids user_e0, user_e1, …).
  Plan Patches(int n) {
    Plan plan;
    for (int i = 0; i < n; ++i) {
      const std::string key = "E" + std::to_string(i);
      AddUser(key, "user_e" + std::to_string(i));
      plan.operations.push_back(UserPatch(key, "user_e" + std::to_string(i)));
    }
    return plan;
  }

  // An account both IDaaS and the cached state have.
  void AddUser(const std::string& key, const std::string& id) {
    IdaasUser u;
    u.id = id;
    u.username = key;
    u.external_id = key;
    u.primary_ou_id = kRoot;
    u.ou_ids = {kRoot};
    remote_.users[id] = u;
    state_.users.Add(u);
  }

  // Fails the test (instead of hanging it) if the call does not finish.
  template <class T>
  T Run(asio::awaitable<T> call) {
    auto f = asio::co_spawn(io_, std::move(call), asio::use_future);
    io_.run_for(std::chrono::seconds(60));
    io_.restart();
    if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ADD_FAILURE() << "the executor did not finish within 60 s";
      std::abort();  // its frames still reference this fixture
    }
    return f.get();
  }

  ApplyOutcome Apply(const Plan& plan, int concurrency = 4, ExecutorOptions options = {}) {
    options.concurrency = concurrency;
    options.now_ms = [] { return int64_t{1}; };
    options.journal_thread = GetParam();
    Executor executor(journal_, remote_, state_, options);
    ApplyOutcome out = Run(executor.Apply(plan, 7));
    EXPECT_EQ(journal_.overlaps.load(), 0) << "journal calls overlapped";
    EXPECT_EQ(journal_.refused, 0) << "a commit marked or closed an entry already closed";
    if (GetParam() && !journal_.threads.empty()) {
      EXPECT_EQ(journal_.threads.count(std::this_thread::get_id()), 0u)
          << "a commit ran on the executor's thread";
    }
    return out;
  }

  asio::io_context io_;
  FakeJournal journal_;
  FakeRemote remote_;
  CachedState state_;
};

TEST_P(ExecutorTest, EveryRequestIsSentOnlyAfterItsEntryIsInFlightOnDisk) {
  Plan plan;
  plan.operations.push_back(
      Op(OpKind::kOuCreate, Phase::kOuCreate, 0, EntityType::kOu, {"D1", ""}, {"", kRoot}));
  for (int i = 0; i < 20; ++i) {
    AddUser("E" + std::to_string(i), "user_e" + std::to_string(i));
    plan.operations.push_back(UserPatch("E" + std::to_string(i), "user_e" + std::to_string(i)));
  }
  plan.operations.push_back(UserCreate("N1", {"D1", ""}));
  std::stable_sort(plan.operations.begin(), plan.operations.end(),
                   [](const Operation& a, const Operation& b) { return a.phase < b.phase; });
  ApplyOutcome out = Apply(plan);
  EXPECT_EQ(out.done, 22) << out.first_error;
  EXPECT_EQ(remote_.writes.size(), 22u);
  EXPECT_TRUE(remote_.sent_before_marked.empty())
      << remote_.sent_before_marked.size() << " sent before being marked, e.g. "
      << remote_.sent_before_marked.front();
}

TEST_P(ExecutorTest, AnAmbiguousCreateThatLandedIsLookedUpNotSentAgain) {
  Plan plan;
  plan.operations.push_back(UserCreate("E1", {"", kRoot}));
  remote_.lose_create_answer.insert("E1");
  ApplyOutcome out = Apply(plan);
  EXPECT_EQ(out.done, 1) << out.first_error;
  EXPECT_EQ(remote_.writes, std::vector<std::string>{"CreateUser:E1"});
  ASSERT_EQ(remote_.users.size(), 1u);
  const std::string id = remote_.users.begin()->first;
  EXPECT_EQ(out.results["user.create:E1"].idaas_id, id);
  // The link to the account that exists is what the mirror records.
  ASSERT_FALSE(journal_.durable.empty());
  ASSERT_EQ(journal_.durable.back().upsert_links.size(), 1u);
  EXPECT_EQ(journal_.durable.back().upsert_links[0].idaas_id, id);
}

TEST_P(ExecutorTest, AnAmbiguousCreateThatDidNotLandIsSentOnceMore) {
  Plan plan;
  plan.operations.push_back(UserCreate("E1", {"", kRoot}));
  remote_.fail["CreateUser:E1"] =
      Error(base::Error::Code::kRemote, "CreateUser: connection reset after send", true);
  ApplyOutcome out = Apply(plan);
  // The look-up found nothing, so it was resent; refused again, ambiguously,
  // it stays in flight for recovery rather than being closed as failed.
  EXPECT_EQ(remote_.writes, (std::vector<std::string>{"CreateUser:E1", "CreateUser:E1"}));
  EXPECT_EQ(remote_.lookups, 1);
  EXPECT_EQ(out.failed, 1);
  EXPECT_EQ(journal_.StateOf("user.create:E1"), FakeJournal::State::kInFlight);
}

TEST_P(ExecutorTest, RecoveryResolvesAnInFlightCreateByLookingItUp) {
  // A previous run journaled two creates, marked them in flight and died:
  // one reached IDaaS, the other did not.
  std::vector<NewJournalEntry> entries;
  for (const char* key : {"E1", "E2"}) {
    Operation op = UserCreate(key, {"", kRoot});
    entries.push_back({op.id, OpKindName(op.kind), op.entity, std::string(key) + "|",
                       OperationJson(op), "", 1, 1});
  }
  auto ids = journal_.Add(entries);
  ASSERT_TRUE(ids);
  ASSERT_TRUE(journal_.Commit(JournalBatch{{}, *ids}, 2));
  AddUser("E1", "user_landed");

  ExecutorOptions options;
  options.now_ms = [] { return int64_t{3}; };
  RecoveryOutcome r = Run(Executor::Recover(journal_, remote_, options));
  EXPECT_EQ(r.resolved_done, 1) << r.first_error;
  EXPECT_EQ(r.resolved_absent, 1);
  EXPECT_EQ(r.unresolved, 0);
  EXPECT_TRUE(remote_.writes.empty()) << "recovery must not send anything";
  EXPECT_EQ(journal_.StateOf("user.create:E1"), FakeJournal::State::kDone);
  EXPECT_EQ(journal_.StateOf("user.create:E2"), FakeJournal::State::kFailed);
  ASSERT_EQ(journal_.durable.size(), 1u);
  ASSERT_EQ(journal_.durable[0].upsert_links.size(), 1u);
  EXPECT_EQ(journal_.durable[0].upsert_links[0].idaas_id, "user_landed");
  EXPECT_EQ(journal_.MirroredUserIds(), std::set<std::string>{"user_landed"});
}

TEST_P(ExecutorTest, AFailedOperationIsClosedFailedAndLeavesTheMirrorAlone) {
  AddUser("E1", "user_1");
  Plan plan;
  plan.operations.push_back(UserPatch("E1", "user_1"));
  remote_.fail["PatchUser:user_1"] = Error(base::Error::Code::kRemote, "PatchUser: 400 invalid");
  ApplyOutcome out = Apply(plan);
  EXPECT_EQ(out.failed, 1);
  EXPECT_EQ(journal_.StateOf("user.patch:E1"), FakeJournal::State::kFailed);
  EXPECT_TRUE(journal_.MirroredUserIds().empty());
}

TEST_P(ExecutorTest, AParentOuIsCreatedBeforeTheUsersInIt) {
  Plan plan;
  // Wave 0 the parent, wave 1 its child; then users in the child.
  plan.operations.push_back(
      Op(OpKind::kOuCreate, Phase::kOuCreate, 0, EntityType::kOu, {"D1", ""}, {"", kRoot}));
  plan.operations.push_back(
      Op(OpKind::kOuCreate, Phase::kOuCreate, 1, EntityType::kOu, {"D2", ""}, {"D1", ""}));
  for (const char* key : {"E1", "E2", "E3"}) plan.operations.push_back(UserCreate(key, {"D2", ""}));
  ApplyOutcome out = Apply(plan);
  EXPECT_EQ(out.done, 5) << out.first_error;
  ASSERT_EQ(remote_.writes.size(), 5u);
  EXPECT_EQ(remote_.writes[0], "CreateOu:D1");
  EXPECT_EQ(remote_.writes[1], "CreateOu:D2");
  const std::string d2 = out.results["ou.create:D2"].idaas_id;
  ASSERT_FALSE(d2.empty());
  EXPECT_EQ(remote_.ous.at(d2).parent_id, out.results["ou.create:D1"].idaas_id);
  for (const auto& [id, u] : remote_.users) EXPECT_EQ(u.primary_ou_id, d2) << id;
}

TEST_P(ExecutorTest, MarksAreCommittedABatchAtATimeAndEveryEntryIsClosedOnce) {
  Plan plan = Patches(40);
  ApplyOutcome out = Apply(plan, 2);
  EXPECT_EQ(out.done, 40) << out.first_error;
  std::map<int64_t, int> marked, closed;
  size_t mark_commits = 0;
  for (const auto& c : journal_.commits) {
    mark_commits += !c.mark_in_flight.empty();
    for (int64_t id : c.mark_in_flight) ++marked[id];
    for (const auto& close : c.close) ++closed[close.id];
  }
  EXPECT_EQ(marked.size(), 40u);
  EXPECT_EQ(closed.size(), 40u);
  for (const auto& [id, n] : marked) EXPECT_EQ(n, 1) << "entry " << id << " marked twice";
  for (const auto& [id, n] : closed) EXPECT_EQ(n, 1) << "entry " << id << " closed twice";
  // A transaction per operation would be 40: at least 8 (2 per worker) go
  // together.
  EXPECT_GE(mark_commits, 2u);
  EXPECT_LE(mark_commits, 40u / 8 * 2);
}

TEST_P(ExecutorTest, AWaveIsOnDiskBeforeTheNextWaveSendsAnything) {
  Plan plan;
  plan.operations.push_back(
      Op(OpKind::kOuCreate, Phase::kOuCreate, 0, EntityType::kOu, {"D1", ""}, {"", kRoot}));
  plan.operations.push_back(UserCreate("E1", {"D1", ""}));
  ApplyOutcome out = Apply(plan);
  ASSERT_EQ(out.done, 2) << out.first_error;
  // The commit that marks the user's create is not before the one that
  // closes the OU's (in one, the closes are applied first).
  int close_ou = -1, mark_user = -1;
  for (size_t k = 0; k < journal_.commits.size(); ++k) {
    for (const auto& c : journal_.commits[k].close) {
      if (journal_.entries.at(c.id).planned.op_id == "ou.create:D1" && close_ou < 0) {
        close_ou = static_cast<int>(k);
      }
    }
    for (int64_t id : journal_.commits[k].mark_in_flight) {
      if (journal_.entries.at(id).planned.op_id == "user.create:E1" && mark_user < 0) {
        mark_user = static_cast<int>(k);
      }
    }
  }
  ASSERT_GE(close_ou, 0);
  ASSERT_GE(mark_user, 0);
  EXPECT_LE(close_ou, mark_user);
}

TEST_P(ExecutorTest, AClientErrorOnOneOperationDoesNotStopIndependentOnes) {
  Plan plan = Patches(6);
  remote_.fail["PatchUser:user_e2"] = Error(base::Error::Code::kRemote, "PatchUser: 400 invalid");
  ApplyOutcome out = Apply(plan, 1);
  EXPECT_EQ(out.failed, 1);
  EXPECT_EQ(out.done, 5) << out.first_error;
  EXPECT_EQ(out.not_run, 0);
  EXPECT_EQ(remote_.writes.size(), 6u);
  EXPECT_EQ(journal_.MirroredUserIds().size(), 5u);
}

TEST_P(ExecutorTest, ManyOperationsAreEachMarkedBeforeSentAndClosedOnceInBigCommits) {
  // Enough operations for closes to be committed while requests go on
  // (behind them, with a journal thread) and for several mark batches.
  constexpr int kOps = 6000;
  Plan plan = Patches(kOps);
  ApplyOutcome out = Apply(plan);
  EXPECT_EQ(out.done, kOps) << out.first_error;
  EXPECT_TRUE(remote_.sent_before_marked.empty()) << remote_.sent_before_marked.front();
  std::map<int64_t, int> marked, closed;
  size_t close_only_commits = 0;
  for (const auto& c : journal_.commits) {
    for (int64_t id : c.mark_in_flight) ++marked[id];
    for (const auto& close : c.close) ++closed[close.id];
    close_only_commits += c.mark_in_flight.empty() && !c.close.empty();
  }
  EXPECT_EQ(marked.size(), static_cast<size_t>(kOps));
  EXPECT_EQ(closed.size(), static_cast<size_t>(kOps));
  for (const auto& [id, n] : marked) ASSERT_EQ(n, 1) << "entry " << id << " marked twice";
  for (const auto& [id, n] : closed) ASSERT_EQ(n, 1) << "entry " << id << " closed twice";
  for (const auto& [id, e] : journal_.entries) {
    ASSERT_EQ(e.state, FakeJournal::State::kDone) << e.planned.op_id;
  }
  // Group commit: far fewer transactions than operations.
  EXPECT_LT(journal_.commits.size(), static_cast<size_t>(kOps / 100));
  EXPECT_GE(close_only_commits, 1u);
  EXPECT_EQ(journal_.MirroredUserIds().size(), static_cast<size_t>(kOps));
}

TEST_P(ExecutorTest, ClosesAreCommittedInBatchesWhileTheWaveRuns) {
  // Adoptions need no in-flight mark, so only the close batch commits them
  // before the wave ends: 5,000 closes, batches of 1,000. The first batch
  // is committed as soon as it is full (behind the wave with a journal
  // thread, by the worker without one), not with the rest at the end.
  constexpr int kOps = 5000;
  Plan plan;
  for (int i = 0; i < kOps; ++i) {
    const std::string key = "E" + std::to_string(i);
    AddUser(key, "user_" + key);
    plan.operations.push_back(
        Op(OpKind::kAdopt, Phase::kUserUpdate, 0, EntityType::kUser, {key, "user_" + key}));
  }
  ExecutorOptions options;
  options.close_batch = 1000;
  ApplyOutcome out = Apply(plan, 4, options);
  EXPECT_EQ(out.done, kOps) << out.first_error;
  ASSERT_GE(journal_.commits.size(), 2u);
  EXPECT_EQ(journal_.commits.front().close.size(), 1000u);
  EXPECT_TRUE(journal_.commits.front().mark_in_flight.empty());
  std::map<int64_t, int> closed;
  for (const auto& c : journal_.commits) {
    for (const auto& close : c.close) ++closed[close.id];
  }
  EXPECT_EQ(closed.size(), static_cast<size_t>(kOps));
  for (const auto& [id, n] : closed) ASSERT_EQ(n, 1) << "entry " << id << " closed twice";
}

TEST_P(ExecutorTest, AJournalThatThrowsStopsTheRunWithoutHanging) {
  Plan plan = Patches(200);
  journal_.throw_on_commit = 3;
  ApplyOutcome out = Apply(plan);
  EXPECT_NE(out.first_error.find("cannot write the journal"), std::string::npos)
      << out.first_error;
  EXPECT_GT(out.not_run + out.failed, 0);
  EXPECT_TRUE(remote_.sent_before_marked.empty()) << remote_.sent_before_marked.front();
}

TEST_P(ExecutorTest, AStopWhileMarksWaitForTheJournalNeverMarksAClosedEntry) {
  // Slow close commits hold the journal while a worker waits to mark the
  // next batch; meanwhile the stop makes the other workers close the rest
  // of the wave as not run. Those entries must not be marked afterwards
  // (the fake, like the store, fails such a commit).
  constexpr int kOps = 4000;
  Plan plan = Patches(kOps);
  std::atomic<bool> stop{false};
  std::atomic<size_t> writes{0};
  remote_.on_write = [&writes](size_t n) { writes = n; };
  // One operation stays in flight; a slow close commit after 2,000 writes
  // holds the journal while the other workers run out of marked operations
  // and one of them waits to mark the next batch. Then the stop comes, and
  // the held operation finishes: its worker closes the rest of the wave as
  // not run while the journal is still busy.
  // A millisecond a call keeps the rate, and so the mark batches, small.
  remote_.write_delay = std::chrono::milliseconds(1);
  remote_.hold_id = "user_e2100";
  std::atomic<bool> held_released{false};
  journal_.before_close_only_commit = [&] {
    if (writes < 2000 || held_released) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
    held_released = true;
    asio::post(io_, [this] {
      remote_.gate_open = true;
      if (remote_.gate) remote_.gate->cancel();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  ExecutorOptions options;
  options.stop = &stop;
  options.close_batch = 100;
  ApplyOutcome out = Apply(plan, 4, options);
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(journal_.refused, 0) << "a commit marked or closed an entry already closed";
  EXPECT_EQ(out.done + out.not_run + out.failed, kOps);
  for (const auto& [id, e] : journal_.entries) {
    ASSERT_TRUE(e.state == FakeJournal::State::kDone || e.state == FakeJournal::State::kFailed)
        << e.planned.op_id << " left unfinished";
  }
  EXPECT_TRUE(remote_.sent_before_marked.empty()) << remote_.sent_before_marked.front();
}

INSTANTIATE_TEST_SUITE_P(JournalInlineAndOnItsThread, ExecutorTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("JournalThread")
                                             : std::string("Inline");
                         });

}  // namespace
}  // namespace idsync::sync
