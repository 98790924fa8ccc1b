// End-to-end: the real idsync binary against the real idaas-emulator over
// loopback, with the state database on disk. Checks convergence, zero-write
// re-runs, single patches, guards, plan/apply parity, ambiguous creates and
// crash recovery under SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "e2e_fixture.h"
#include "state_db.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers

TEST_F(SyncE2eTest, ConvergesThenASecondRunMakesNoWriteCalls) {
  auto people = People(30);
  WriteSource(people);
  auto first = Idsync({"apply", "--yes"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  ExpectConverged(people);
  auto state = State();
  EXPECT_EQ(state.at("groups").as_array().size(), 2u);
  EXPECT_EQ(state.at("organizationalUnits").as_array().size(), 1u + 7u);  // root + 7 departments

  ClearRequests();
  auto second = Idsync({"apply", "--yes"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  auto log = Requests();
  EXPECT_EQ(CountWrites(log), 0);
  EXPECT_LE(log.size(), 2u);  // token and scope only
  auto plan = Idsync({"plan"});
  EXPECT_EQ(plan.exit_code, 0) << plan.out;
  EXPECT_NE(plan.out.find("in sync"), std::string::npos) << plan.out;
}

// The source is read on its own thread beside the cache load: a source that
// cannot be used still ends the cycle with its own verdict, before recovery,
// and nothing is written; a missing file is an operational error (exit 1).
TEST_F(SyncE2eTest, UnusableSourceFailsTheCycleWhileTheCacheLoadsBesideIt) {
  auto people = People(10);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  dir_.Write("people.csv", "id;name\n1;x\n");  // the wrong delimiter: no mapped column
  ClearRequests();
  auto plan = Idsync({"plan"});
  EXPECT_EQ(plan.exit_code, 3) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("unusable_source"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("is not in the header"), std::string::npos) << plan.out;
  EXPECT_EQ(CountWrites(Requests()), 0);
  std::filesystem::remove(dir_.path() + "/people.csv");
  auto missing = Idsync({"plan"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("file not found"), std::string::npos) << missing.err;
  WriteSource(people);
  auto again = Idsync({"plan"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

TEST_F(SyncE2eTest, ChangedAttributeGivesExactlyOnePatch) {
  auto people = People(20);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  people[7].last = "Renamed";
  WriteSource(people);
  ClearRequests();
  auto r = Idsync({"apply", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto log = Requests();
  EXPECT_EQ(CountWrites(log), 1);
  EXPECT_EQ(CountAction(log, "PatchUser"), 1);
  ExpectConverged(people);
}

TEST_F(SyncE2eTest, TruncatedSourceTripsTheGuardWithNoDeleteOrDisable) {
  auto people = People(50);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  people.resize(20);  // cut to 40 %
  WriteSource(people);
  ClearRequests();
  auto plan = Idsync({"plan", "--format", "json"});
  EXPECT_EQ(plan.exit_code, 3) << plan.err;
  auto report = json::parse(plan.out).as_object();
  EXPECT_EQ(report.at("summary").at("status").as_string(), "blocked");
  EXPECT_FALSE(report.at("summary").at("guards_tripped").as_array().empty());
  auto apply = Idsync({"apply", "--yes"});
  EXPECT_EQ(apply.exit_code, 3) << apply.out << apply.err;
  auto log = Requests();
  EXPECT_EQ(CountAction(log, "DisableUser"), 0);
  EXPECT_EQ(CountAction(log, "DeleteUser"), 0);
  EXPECT_EQ(CountAction(log, "RemoveUsersFromGroup"), 0);
  EXPECT_EQ(UsersByExternalId().size(), 50u);
  auto users = UsersByExternalId();
  for (const auto& [ext, u] : users) EXPECT_EQ(u.at("status").as_string(), "enabled");
}

TEST_F(SyncE2eTest, DeletesAUserAndAGroupGoneFromTheSource) {
  WriteConfig("policy: {on_missing: delete, max_deletes: {count: 10, percent: 100}}\n");
  auto people = People(12);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  people.pop_back();                        // one person leaves
  for (auto& p : people) p.groups = "staff";  // and the oncall group goes
  WriteSource(people);
  ClearRequests();
  auto r = Idsync({"apply", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto log = Requests();
  EXPECT_EQ(CountAction(log, "DeleteUser"), 1);
  EXPECT_EQ(CountAction(log, "DeleteGroup"), 1);
  ExpectConverged(people);
  auto state = State();
  ASSERT_EQ(state.at("groups").as_array().size(), 1u);
  EXPECT_EQ(state.at("groups").as_array()[0].at("groupName").as_string(), "staff");
  ClearRequests();
  EXPECT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);  // the mirror recorded both deletes
}

TEST_F(SyncE2eTest, StatusAndMembershipChangesSendExactlyTheRightCall) {
  auto people = People(12);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  auto status_of = [&](const std::string& key) {
    return std::string(UsersByExternalId().at(key).at("status").as_string());
  };

  people[4].status = "terminated";
  people[5].groups = "staff;oncall";  // joins oncall
  WriteSource(people);
  ClearRequests();
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  auto log = Requests();
  EXPECT_EQ(CountAction(log, "DisableUser"), 1);
  EXPECT_EQ(CountAction(log, "EnableUser"), 0);
  EXPECT_EQ(CountAction(log, "AddUsersToGroup"), 1);
  EXPECT_EQ(CountAction(log, "RemoveUsersFromGroup"), 0);
  EXPECT_EQ(status_of(people[4].id), "disabled");

  people[4].status = "active";
  people[5].groups = "staff";  // leaves oncall
  WriteSource(people);
  ClearRequests();
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  log = Requests();
  EXPECT_EQ(CountAction(log, "EnableUser"), 1);
  EXPECT_EQ(CountAction(log, "DisableUser"), 0);
  EXPECT_EQ(CountAction(log, "RemoveUsersFromGroup"), 1);
  EXPECT_EQ(CountAction(log, "AddUsersToGroup"), 0);
  EXPECT_EQ(status_of(people[4].id), "enabled");
  ClearRequests();
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);
}

TEST_F(SyncE2eTest, EmptySourceIsRefused) {
  auto people = People(10);
  WriteSource(people);
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  WriteSource({});
  ClearRequests();
  auto apply = Idsync({"apply", "--yes"});
  EXPECT_EQ(apply.exit_code, 3) << apply.out;
  EXPECT_NE(apply.out.find("TRIPPED  empty_source"), std::string::npos) << apply.out;
  EXPECT_EQ(CountWrites(Requests()), 0);
}

TEST_F(SyncE2eTest, PlanListsExactlyWhatApplyExecutes) {
  auto people = People(25);
  people[3].status = "terminated";
  WriteSource(people);
  ClearRequests();
  auto plan = Idsync({"plan", "--format", "json", "-o", dir_.path() + "/plan.json"});
  ASSERT_EQ(plan.exit_code, 2) << plan.err;
  EXPECT_EQ(CountWrites(Requests()), 0);  // plan sends no write
  auto apply = Idsync({"apply", "--yes", "--format", "json", "-o", dir_.path() + "/apply.json"});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  auto planned = json::parse(testing::ReadFile(dir_.path() + "/plan.json")).as_object();
  auto applied = json::parse(testing::ReadFile(dir_.path() + "/apply.json")).as_object();
  std::vector<std::string> a, b;
  for (const auto& op : planned.at("operations").as_array()) a.emplace_back(op.at("id").as_string());
  for (const auto& op : applied.at("operations").as_array()) {
    b.emplace_back(op.at("id").as_string());
    EXPECT_EQ(op.at("result").at("status").as_string(), "done") << op.at("id").as_string();
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(applied.at("schema").as_string(), "idsync.report/v1");
  EXPECT_EQ(applied.at("summary").at("results").at("done").as_int64(),
            static_cast<int64_t>(b.size()));
}

TEST_F(SyncE2eTest, LostCreateResponsesAreLookedUpNotResent) {
  StartEmulator({"--faults", "drop_after_commit=0.3"});
  auto people = People(30);
  WriteSource(people);
  // A few runs may be needed when drops hit non-create writes repeatedly.
  int code = -1;
  for (int i = 0; i < 5 && code != 0; ++i) code = Idsync({"apply", "--yes"}).exit_code;
  Admin("POST", "/_emulator/config", R"({"faults": ""})");
  auto final_run = Idsync({"apply", "--yes"});
  ASSERT_EQ(final_run.exit_code, 0) << final_run.out << final_run.err;
  ExpectConverged(people);
  // Every dropped CreateUser was followed by a lookup, never a blind resend.
  auto log = Requests();
  int dropped_creates = 0, lookups = 0;
  for (const auto& r : log) {
    if (r.at("action").as_string() == "CreateUser" && r.at("fault").as_string() == "drop_after_commit") {
      ++dropped_creates;
    }
    if (r.at("action").as_string() == "GetUserIdByUserExternalId") ++lookups;
  }
  EXPECT_GT(dropped_creates, 0);
  EXPECT_GE(lookups, dropped_creates);
  EXPECT_EQ(CountAction(log, "CreateUser"), static_cast<int>(people.size()));
}

// A gateway that commits and then answers 502/503/504: the executor treats
// the 5xx like a lost response and looks each create up by external id
// before any resend, so no user, OU or group exists twice.
TEST_F(SyncE2eTest, ServerErrorsAfterCommitLeaveNoDuplicates) {
  StartEmulator({"--faults", "5xx_after_commit=0.3"});
  auto people = People(30);
  WriteSource(people);
  int code = -1;
  for (int i = 0; i < 5 && code != 0; ++i) code = Idsync({"apply", "--yes"}).exit_code;
  Admin("POST", "/_emulator/config", R"({"faults": ""})");
  auto final_run = Idsync({"apply", "--yes"});
  ASSERT_EQ(final_run.exit_code, 0) << final_run.out << final_run.err;
  ExpectConverged(people);
  auto log = Requests();
  int faulted_creates = 0;
  for (const auto& r : log) {
    faulted_creates += std::string_view(r.at("action").as_string()).starts_with("Create") &&
                       r.at("fault").as_string() == "5xx_after_commit";
  }
  EXPECT_GT(faulted_creates, 0);
  auto state = State();
  std::map<std::string, size_t> objects;
  for (auto [array, field] : {std::pair{"users", "userExternalId"},
                              std::pair{"organizationalUnits", "organizationalUnitExternalId"},
                              std::pair{"groups", "groupExternalId"}}) {
    std::map<std::string, int> per_key;
    for (const auto& e : state.at(array).as_array()) ++per_key[std::string(e.at(field).as_string())];
    EXPECT_GT(per_key.size(), 1u) << array;
    for (const auto& [key, n] : per_key) EXPECT_EQ(n, 1) << array << " " << key;
    objects[array] = per_key.size();
  }
  // Every faulted create was looked up, never sent a second time (a resend
  // would have met a 409 here, but a duplicate at a service without
  // external-id uniqueness).
  EXPECT_EQ(CountAction(log, "CreateUser"), static_cast<int>(objects["users"]));
  EXPECT_EQ(CountAction(log, "CreateOrganizationalUnit"),
            static_cast<int>(objects["organizationalUnits"]) - 1);  // the root
  EXPECT_EQ(CountAction(log, "CreateGroup"), static_cast<int>(objects["groups"]));
}

// A create that fails ambiguously, is looked up (absent), resent and fails
// ambiguously again is in doubt: it stays in flight in the journal, and the
// next cycle's recovery looks it up before anything is planned, instead of
// the run closing it as failed and a later plan creating it blindly. The
// lookups answer misses with 200 {}, which both must take as "absent".
TEST_F(SyncE2eTest, CreatesStillInDoubtAreLeftForRecovery) {
  auto people = People(12);
  WriteSource(people);
  // Lookups answer a miss with 200 and no id, as some Alibaba services do:
  // the executor and recovery must read that as "not there", not an error.
  Admin("POST", "/_emulator/config",
        R"({"faults": "5xx=1", "faultOperations": ["CreateOrganizationalUnit"],
            "lookupMiss": "200"})");
  auto faulty = Idsync({"apply", "--yes"});
  EXPECT_NE(faulty.exit_code, 0) << faulty.out;
  auto journal = [&]() {
    auto status = Idsync({"status", "--format", "json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    auto st = json::parse(status.out).as_object();
    const auto& j = st.at("journal").as_object();
    return j.if_contains("in_flight") ? j.at("in_flight").as_int64() : 0;
  };
  auto log = Requests();
  const int sent = CountAction(log, "CreateOrganizationalUnit");
  EXPECT_GT(sent, 0);
  EXPECT_EQ(sent % 2, 0);  // each one: create, lookup, one resend
  EXPECT_EQ(CountAction(log, "GetOrganizationalUnitIdByExternalId"), sent / 2);
  EXPECT_EQ(journal(), sent / 2);

  Admin("POST", "/_emulator/config", R"({"faults": "", "faultOperations": []})");
  ClearRequests();
  auto final_run = Idsync({"apply", "--yes"});
  ASSERT_EQ(final_run.exit_code, 0) << final_run.out << final_run.err;
  ExpectConverged(people);
  EXPECT_EQ(journal(), 0);
  // Recovery looked each one up before the plan created it.
  log = Requests();
  EXPECT_GE(CountAction(log, "GetOrganizationalUnitIdByExternalId"), sent / 2);
  std::map<std::string, int> per_key;
  const json::object state = State();
  for (const auto& ou : state.at("organizationalUnits").as_array())
    ++per_key[std::string(ou.at("organizationalUnitExternalId").as_string())];
  for (const auto& [key, n] : per_key) EXPECT_EQ(n, 1) << key;
}

// A server asking to wait a day is not obeyed: the creates fail as throttled
// at once and the run reports them, instead of the process sleeping while
// it looks healthy.
TEST_F(SyncE2eTest, ThrottlingWaitPastTheCapFailsTheRunPromptly) {
  WriteSource(People(6));
  Admin("POST", "/_emulator/config",
        R"({"faults": "throttle=1", "faultOperations": ["CreateUser"],
            "retryAfter": "86400"})");
  auto start = std::chrono::steady_clock::now();
  auto run = Idsync({"apply", "--yes"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(30));
  EXPECT_NE(run.exit_code, 0) << run.out;
  EXPECT_NE((run.out + run.err).find("max_server_wait"), std::string::npos)
      << run.out << run.err;
  auto log = Requests();
  // Each create was tried once: no retry, no wait.
  EXPECT_EQ(CountAction(log, "CreateUser"), 6);
}

TEST_F(SyncE2eTest, KilledApplyConvergesOnRestartWithoutDuplicates) {
  // Latency widens the window in which a kill lands between "sent" and
  // "journal commit".
  StartEmulator({"--latency", "1ms-6ms"});
  auto a = People(40, "");
  auto b = People(40, " B");
  std::mt19937 rng(20261123);
  // Kill at a random point within the time a whole run takes here: the
  // window shrinks to the duration of any run that finished first, so the
  // kills land whatever the machine's speed.
  int window_ms = 400;
  const int iterations = 100;
  int killed = 0;
  for (int i = 0; i < iterations; ++i) {
    WriteSource(i % 2 ? b : a);
    std::vector<std::string> argv = {IDSYNC_BIN, "apply", "--yes", "-c", config_};
    auto started = std::chrono::steady_clock::now();
    Process p(argv, {{"IDSYNC_E2E_SECRET", "emulator-secret"}});
    int delay = std::uniform_int_distribution<int>(5, std::max(10, window_ms))(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (p.Running()) {
      p.Signal(SIGKILL);
      ++killed;
    } else {
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      window_ms = std::max(10, static_cast<int>(took.count() * 9 / 10));
    }
    auto status = p.Wait(std::chrono::seconds(60));
    ASSERT_TRUE(status.has_value());
    // A run that ends by itself must not report an error.
    if (*status >= 0) {
      ASSERT_TRUE(*status == 0 || *status == 4) << "exit " << *status << p.Stderr();
    }
  }
  EXPECT_GT(killed, iterations / 2);
  WriteSource(b);
  auto last = Idsync({"apply", "--yes"});
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  ExpectConverged(b);
  EXPECT_EQ(IntegrityCheck(dir_.path() + "/state/idsync.db"), "ok");
  auto status = Idsync({"status", "--format", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto st = json::parse(status.out).as_object();
  const auto& journal = st.at("journal").as_object();
  EXPECT_EQ(journal.if_contains("pending") ? journal.at("pending").as_int64() : 0, 0);
  EXPECT_EQ(journal.if_contains("in_flight") ? journal.at("in_flight").as_int64() : 0, 0);
  ClearRequests();
  EXPECT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);
}

// Group commit must not send ahead of the journal: whenever apply is killed,
// every CreateUser the emulator received belongs to a user.create entry of
// that run whose in-flight mark is on disk (not pending).
TEST_F(SyncE2eTest, KilledApplyNeverSentACreateThatWasNotMarkedInFlight) {
  StartEmulator({"--latency", "2ms-6ms"});
  const std::string db = dir_.path() + "/state/idsync.db";
  std::mt19937 rng(20261127);
  int checked = 0;
  const int iterations = 12;
  for (int i = 0; i < iterations; ++i) {
    // New people each time, so every run has creates to send.
    WriteSource(People(200 * (i + 1), ""));
    ClearRequests();
    Process p({IDSYNC_BIN, "apply", "--yes", "-c", config_},
              {{"IDSYNC_E2E_SECRET", "emulator-secret"}});
    // Recovery of the last kill comes first: wait for the first create, then
    // kill at a random point of the sending.
    for (int w = 0; w < 3000 && p.Running() && CountAction(Requests(), "CreateUser") == 0; ++w) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 150)(rng)));
    if (p.Running()) p.Signal(SIGKILL);
    ASSERT_TRUE(p.Wait(std::chrono::seconds(60)).has_value());
    const int sent = CountAction(Requests(), "CreateUser");
    if (sent == 0) continue;
    ++checked;
    const int64_t marked = QueryDb(
        db,
        "SELECT count(*) FROM journal WHERE kind = 'user.create' AND state != 'pending' "
        "AND run_id = (SELECT max(id) FROM runs)");
    EXPECT_LE(sent, marked) << "iteration " << i;
  }
  EXPECT_GT(checked, 3);
  // And it all converges with no duplicate.
  auto last = Idsync({"apply", "--yes"});
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  ExpectConverged(People(200 * iterations, ""));
}

TEST_F(SyncE2eTest, ReadOnlyPermissionsPlanWorksApplyFailsNamingThePermission) {
  Admin("POST", "/_emulator/config",
        R"({"client": {"permissions": ["urn:alibaba:idaas:scope:user:read_all",
                                         "urn:alibaba:idaas:scope:organizational_unit:read_all"]}})");
  WriteSource(People(5));
  auto plan = Idsync({"plan"});
  EXPECT_EQ(plan.exit_code, 2) << plan.err;
  auto apply = Idsync({"apply", "--yes"});
  EXPECT_EQ(apply.exit_code, 4) << apply.out;
  EXPECT_NE(apply.out.find("manager_all"), std::string::npos) << apply.out;
}

TEST_F(SyncE2eTest, SecretNeverReachesTheOutput) {
  WriteSource(People(3));
  auto r = Idsync({"apply", "--yes", "-vv"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("emulator-secret"), std::string::npos);
  EXPECT_EQ(r.err.find("emulator-secret"), std::string::npos);
  EXPECT_EQ(r.err.find("Bearer "), std::string::npos);
  for (size_t pos = r.err.find("AT"); pos != std::string::npos; pos = r.err.find("AT", pos + 1)) {
    // Emulator tokens are "AT" and 20+ letters/digits: no such word appears.
    size_t end = pos + 2;
    while (end < r.err.size() && std::isalnum(static_cast<unsigned char>(r.err[end]))) ++end;
    EXPECT_LT(end - pos, 20u) << r.err.substr(pos, 40);
  }
}

// ---- the shipped examples, one source type each -------------------------

struct ExampleSource {
  std::string name;
  std::string file;        // the source file in examples/<name>/
  std::string find, replace;  // one attribute change, for exactly one user
};

void PrintTo(const ExampleSource& e, std::ostream* os) { *os << e.name; }

class ExampleE2eTest : public SyncE2eTest, public ::testing::WithParamInterface<ExampleSource> {
 protected:
  // The source cut to 40 % of its people, in the source's own format.
  static std::string CutTo40Percent(const std::string& name, const std::string& text) {
    if (name == "csv") {
      std::vector<std::string> lines;
      size_t start = 0;
      for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        lines.push_back(text.substr(start, nl + 1 - start));
      }
      size_t keep = 1 + (lines.size() - 1) * 4 / 10;
      std::string out;
      for (size_t i = 0; i < keep; ++i) out += lines[i];
      return out;
    }
    if (name == "ldif") {
      std::vector<std::string> entries;
      std::string normalized = std::regex_replace(text, std::regex("\r\n"), "\n");
      size_t start = 0;
      for (size_t gap; (gap = normalized.find("\n\n", start)) != std::string::npos; start = gap + 2) {
        entries.push_back(normalized.substr(start, gap + 2 - start));
      }
      entries.push_back(normalized.substr(start));
      size_t people = 0, kept = 0;
      for (const auto& e : entries) people += e.find("inetOrgPerson") != std::string::npos;
      std::string out;
      for (const auto& e : entries) {
        bool person = e.find("inetOrgPerson") != std::string::npos;
        if (person && kept >= people * 4 / 10) continue;
        kept += person;
        out += e;
      }
      return out;
    }
    auto doc = json::parse(text).as_object();
    auto& records = doc.at("Report_Entry").as_array();
    records.resize(records.size() * 4 / 10);
    doc["Total"] = static_cast<int64_t>(records.size());
    return json::serialize(doc);
  }
};

TEST_P(ExampleE2eTest, ConvergesPatchesOnceAndGuardsATruncatedExport) {
  const ExampleSource& ex = GetParam();
  std::string folder = UseExample(ex.name);
  std::string source_path = folder + "/" + ex.file;
  std::string original = testing::ReadFile(source_path);

  auto first = Idsync({"apply", "--yes"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  size_t accounts = UsersByExternalId().size();
  EXPECT_GT(accounts, 40u);

  ClearRequests();
  auto second = Idsync({"apply", "--yes"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_EQ(CountWrites(Requests()), 0);
  EXPECT_LE(Requests().size(), 2u);

  // One changed attribute: exactly one patch.
  size_t at = original.find(ex.find);
  ASSERT_NE(at, std::string::npos) << ex.find;
  std::string changed = original;
  changed.replace(at, ex.find.size(), ex.replace);
  dir_.Write(ex.name + "/" + ex.file, changed);
  ClearRequests();
  auto patch = Idsync({"apply", "--yes"});
  ASSERT_EQ(patch.exit_code, 0) << patch.out << patch.err;
  auto log = Requests();
  EXPECT_EQ(CountWrites(log), 1) << patch.out;
  EXPECT_EQ(CountAction(log, "PatchUser"), 1);

  // The export cut to 40 %: the guard trips, nobody is disabled or deleted.
  dir_.Write(ex.name + "/" + ex.file, CutTo40Percent(ex.name, changed));
  ClearRequests();
  auto cut = Idsync({"apply", "--yes"});
  EXPECT_EQ(cut.exit_code, 3) << cut.out << cut.err;
  log = Requests();
  EXPECT_EQ(CountAction(log, "DisableUser"), 0);
  EXPECT_EQ(CountAction(log, "DeleteUser"), 0);
  EXPECT_EQ(CountAction(log, "DeleteGroup"), 0);
  EXPECT_EQ(CountAction(log, "RemoveUsersFromGroup"), 0);
  auto users = UsersByExternalId();
  EXPECT_EQ(users.size(), accounts);
  for (const auto& [ext, u] : users) EXPECT_EQ(u.at("status").as_string(), "enabled") << ext;
}

TEST_P(ExampleE2eTest, KilledAppliesConvergeWithoutDuplicates) {
  const ExampleSource& ex = GetParam();
  UseExample(ex.name);
  ClearRequests();
  auto plan = Idsync({"plan", "--format", "json", "-o", dir_.path() + "/plan.json"});
  ASSERT_EQ(plan.exit_code, 2) << plan.err;
  EXPECT_EQ(CountWrites(Requests()), 0);
  auto planned = json::parse(testing::ReadFile(dir_.path() + "/plan.json")).as_object();

  // Kill apply at random points, then let it finish.
  std::mt19937 rng(7);
  int window_ms = 300;
  for (int i = 0; i < 20; ++i) {
    auto started = std::chrono::steady_clock::now();
    Process p({IDSYNC_BIN, "apply", "--yes", "-c", config_},
              {{"IDSYNC_CLIENT_SECRET", "emulator-secret"}});
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(5, window_ms)(rng)));
    if (p.Running()) {
      p.Signal(SIGKILL);
    } else {
      window_ms = std::max(10, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::steady_clock::now() - started)
                                                    .count() *
                                                9 / 10));
    }
    ASSERT_TRUE(p.Wait(std::chrono::seconds(60)).has_value());
  }
  auto last = Idsync({"apply", "--yes"});
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  // Exactly one account per planned user create, and nothing else.
  size_t planned_creates = 0;
  for (const auto& op : planned.at("operations").as_array()) {
    planned_creates += op.at("kind").as_string() == "user.create";
  }
  EXPECT_EQ(UsersByExternalId().size(), planned_creates);
  ClearRequests();
  EXPECT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);
}

TEST_P(ExampleE2eTest, PlanListsWhatApplyExecutes) {
  const ExampleSource& ex = GetParam();
  UseExample(ex.name);
  auto plan = Idsync({"plan", "--format", "json", "-o", dir_.path() + "/plan.json"});
  ASSERT_EQ(plan.exit_code, 2) << plan.err;
  auto apply = Idsync({"apply", "--yes", "--format", "json", "-o", dir_.path() + "/apply.json"});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  auto ids = [](const json::object& report) {
    std::vector<std::string> out;
    for (const auto& op : report.at("operations").as_array()) out.emplace_back(op.at("id").as_string());
    return out;
  };
  EXPECT_EQ(ids(json::parse(testing::ReadFile(dir_.path() + "/plan.json")).as_object()),
            ids(json::parse(testing::ReadFile(dir_.path() + "/apply.json")).as_object()));
}

INSTANTIATE_TEST_SUITE_P(
    Examples, ExampleE2eTest,
    ::testing::Values(
        ExampleSource{"csv", "people.csv", ",Lovelace,", ",Lovelace-King,"},
        ExampleSource{"ldif", "directory.ldif", "cn: Ada Lovelace\n", "cn: Ada Lovelace-King\n"},
        ExampleSource{"hrfeed", "feed.json", "\"Last_Name\": \"Lovelace\"",
                      "\"Last_Name\": \"Lovelace-King\""}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace idsync
