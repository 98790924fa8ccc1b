// R4/R5 of the test plan through the product: `idsync apply` of a few
// thousand operations while the emulator throttles, fails, resets and loses
// responses after committing. Repeated applies converge with no duplicate
// user, OU or group; no operation is tried more often than the retry cap;
// after a throttled answer nothing new is sent until the server's wait is
// over.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <string>

#include <regex>

#include "e2e_fixture.h"

namespace idsync {
namespace {

using namespace e2e;  // NOLINT: the fixture's helpers

constexpr int kMaxAttempts = 6;  // the fixture's retry.max_attempts
constexpr int kInFlight = 4;     // the fixture's connections (pipelining off)

// Write calls whose path names their target (creates and membership chunks
// do not): each is one operation, tried at most kMaxAttempts times a run.
bool TargetedWrite(const json::object& r) {
  std::string method(r.at("method").as_string());
  std::string path(r.at("path").as_string());
  if (path.find("/_/actions/") != std::string::npos) return false;  // lookups
  if (path.find("Users") != std::string::npos && path.find("/groups/") != std::string::npos) {
    return false;  // addUsersToGroup / removeUsersFromGroup chunks share a path
  }
  return method == "PATCH" || method == "DELETE" ||
         (method == "POST" && (path.ends_with("/actions/enable") ||
                               path.ends_with("/actions/disable")));
}

class FaultsE2eTest : public SyncE2eTest {
 protected:
  // Applies until a run exits 0 (at most `runs`), checking each run's
  // request log; returns the number of runs.
  int ApplyUntilConverged(int runs) {
    for (int run = 1; run <= runs; ++run) {
      ClearRequests();
      auto r = Idsync({"apply", "--yes"});
      CheckLog(Requests());
      if (r.exit_code == 0) return run;
      EXPECT_EQ(r.exit_code, 4) << r.out << r.err;  // some operations failed: run again
    }
    ADD_FAILURE() << "no convergence in " << runs << " runs";
    return runs;
  }

  void CheckLog(const std::vector<json::object>& log) {
    std::map<std::string, int> attempts;
    for (const auto& r : log) {
      if (TargetedWrite(r)) {
        ++attempts[std::string(r.at("method").as_string()) + " " +
                   std::string(r.at("path").as_string())];
      }
    }
    for (const auto& [call, n] : attempts) EXPECT_LE(n, kMaxAttempts) << call;
    // After a 429 the client pauses every request for the server's wait
    // (1 s here): only the requests already in flight may arrive within it.
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i].at("fault").as_string() == "hold_after_commit") ++held_;
      if (log[i].at("fault").as_string() != "throttled") continue;
      ++throttled_;
      const int64_t t = log[i].at("timeMs").as_int64();
      int within = 0;
      for (size_t j = i + 1; j < log.size(); ++j) {
        const int64_t tj = log[j].at("timeMs").as_int64();
        if (tj >= t + 1000) break;
        if (std::string(log[j].at("path").as_string()).find("/oauth2/") == std::string::npos) {
          ++within;
        }
      }
      EXPECT_LE(within, kInFlight) << "requests sent during the server's wait after #"
                                   << log[i].at("sequence").as_int64();
    }
  }

  int throttled_ = 0;
  int held_ = 0;  // writes committed and never answered
};

TEST_F(FaultsE2eTest, ApplyConvergesUnderEveryFaultWithoutDuplicates) {
  StartEmulator({"--faults",
                 "5xx=0.1,reset=0.04,drop_after_commit=0.04,5xx_after_commit=0.04,throttle=0.003"});
  auto people = People(1500);
  WriteSource(people);
  const int first_runs = ApplyUntilConverged(8);
  ASSERT_NO_FATAL_FAILURE(ExpectNoDuplicates());
  ExpectConverged(people);

  // A change for a third of the people: renames and leavers, i.e. patches
  // and disables, whose paths name their targets.
  WriteConfig("policy: {max_deletes: {count: 1000, percent: 100}}\n");
  for (size_t i = 0; i < people.size(); i += 3) {
    if (i % 2) {
      people[i].last += "-renamed";
    } else {
      people[i].status = "terminated";
    }
  }
  WriteSource(people);
  const int second_runs = ApplyUntilConverged(8);
  ASSERT_NO_FATAL_FAILURE(ExpectNoDuplicates());
  std::cerr << "converged in " << first_runs << " + " << second_runs << " runs, "
            << throttled_ << " throttled answers\n";
  EXPECT_GT(throttled_, 0);  // else the wait check above checked nothing

  Admin("POST", "/_emulator/config", R"({"faults":""})");
  auto users = UsersByExternalId();
  ASSERT_EQ(users.size(), people.size());
  for (const auto& p : people) {
    const auto& u = users.at(p.id);
    EXPECT_EQ(u.at("status").as_string(), p.status == "terminated" ? "disabled" : "enabled") << p.id;
    EXPECT_EQ(u.at("displayName").as_string(), p.first + " " + p.last) << p.id;
  }
  ClearRequests();
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);
}

// R5's timeouts through `idsync apply`: the emulator commits some writes and
// never answers (`hold_after_commit`), so idsync's request timeout (1 s
// here) fires on a write that did happen; the executor must look it up
// before any resend, and repeated applies converge with no duplicate.
TEST_F(FaultsE2eTest, ApplyConvergesWhenCommittedWritesTimeOut) {
  StartEmulator({"--faults", "hold_after_commit=0.05"});
  config_ = dir_.Write("idsync.yaml", std::regex_replace(testing::ReadFile(config_),
                                                         std::regex("timeout: 5s"), "timeout: 1s"));
  auto people = People(200);
  WriteSource(people);
  const int runs = ApplyUntilConverged(8);
  std::cerr << "converged in " << runs << " runs, " << held_ << " answers held\n";
  EXPECT_GT(held_, 0);  // else no request timed out
  ASSERT_NO_FATAL_FAILURE(ExpectNoDuplicates());
  Admin("POST", "/_emulator/config", R"({"faults":""})");
  ExpectConverged(people);
  ClearRequests();
  ASSERT_EQ(Idsync({"apply", "--yes"}).exit_code, 0);
  EXPECT_EQ(CountWrites(Requests()), 0);
}

}  // namespace
}  // namespace idsync
