// The edges of the real API, client side: throttling hints past the cap,
// token expiry under clock skew, lookups that answer 200 without an id, the
// spellings of Alibaba's not-found/already-exists codes, and 5xx answers to
// creates that may have committed. Against the emulator's knobs where it has
// them, a scripted server where a status/code pair is all that matters.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "helpers.h"

namespace idsync::idaas::testing {
namespace {

using asio::awaitable;
using Clock = std::chrono::steady_clock;
using Kind = ApiError::Kind;

int CountOperation(const json::array& log, std::string_view operation) {
  int n = 0;
  for (const auto& e : log) n += e.at("operation").as_string() == operation;
  return n;
}

// ---- throttling hints past the cap -----------------------------------------

// Each form of "wait longer than max_server_wait" fails the call at once as
// throttled, instead of parking every request for days.
TEST(ServerWaitCap, HugeHintsFailPromptlyAsThrottled) {
  Emulator emu;
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.max_attempts = 5;
  o.adaptive = false;  // so that the timing below is the wait alone
  auto client = std::move(*Client::Create(io.get_executor(), o));
  ASSERT_TRUE(RunSync(io, client->GetApplicationProvisioningScope()));  // token
  const std::vector<std::string> hints = {
      R"("retryAfter":"99999999999999999999")",            // overflows int64
      R"("retryAfter":"3600")",                            // an hour
      R"("retryAfter":"Fri, 31 Dec 9999 23:59:59 GMT")",   // a date far ahead
      R"("retryAfter":"soon","timeLeft":"999999999999")",  // only TimeLeft, ms
  };
  uint64_t over_cap = 0;
  for (const auto& hint : hints) {
    SCOPED_TRACE(hint);
    emu.Config(R"({"faults":"throttle=1",)" + hint + "}");
    auto start = Clock::now();
    auto r = RunSync(io, client->GetApplicationProvisioningScope());
    auto elapsed = Clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(ApiErrorOf(r.error()).kind, Kind::kThrottled) << ApiErrorOf(r.error()).message;
    EXPECT_FALSE(ApiErrorOf(r.error()).retryable);
    EXPECT_EQ(ApiErrorOf(r.error()).attempts, 1);
    EXPECT_NE(ApiErrorOf(r.error()).message.find("max_server_wait"), std::string::npos)
        << ApiErrorOf(r.error()).message;
    EXPECT_LT(elapsed, 2s);
    EXPECT_EQ(client->stats().server_wait_over_cap, ++over_cap);
  }
  // The limiter was not paused for the refused wait: the next call goes now.
  emu.Config(R"({"faults":"","retryAfter":"","timeLeft":""})");
  auto start = Clock::now();
  EXPECT_TRUE(RunSync(io, client->GetApplicationProvisioningScope()));
  EXPECT_LT(Clock::now() - start, 2s);
}

// Negative and garbage hints are no hints: plain backoff retries, and the
// call ends retryable when the attempts run out.
TEST(ServerWaitCap, NegativeOrGarbageHintsAreIgnored) {
  Emulator emu;
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.max_attempts = 3;
  o.retry_budget_percent = 100;
  o.adaptive = false;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  emu.Config(R"({"faults":"throttle=1","retryAfter":"-5","timeLeft":"x"})");
  auto start = Clock::now();
  auto r = RunSync(io, client->GetApplicationProvisioningScope());
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).kind, Kind::kThrottled);
  EXPECT_TRUE(ApiErrorOf(r.error()).retryable);
  EXPECT_EQ(ApiErrorOf(r.error()).attempts, 3);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(client->stats().server_wait_over_cap, 0u);
}

// A configured cap below the server's wait applies the same way.
TEST(ServerWaitCap, CapIsAnOption) {
  Emulator emu;
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.max_server_wait = 500ms;
  o.adaptive = false;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  emu.Config(R"({"faults":"throttle=1","retryAfter":"1"})");
  auto r = RunSync(io, client->GetApplicationProvisioningScope());
  ASSERT_FALSE(r);
  EXPECT_FALSE(ApiErrorOf(r.error()).retryable);
  EXPECT_EQ(ApiErrorOf(r.error()).attempts, 1);
}

// ---- token expiry under clock skew ------------------------------------------

struct SkewCase {
  const char* config;
  int64_t expect_skew_s;
  uint64_t expect_untrusted;
  bool expect_warning;  // "check the clock" in the log
};

void ExpectOneTokenRequest(const SkewCase& c) {
  SCOPED_TRACE(c.config);
  LogCapture capture;  // before the client, which takes the logger
  Emulator emu;
  emu.Config(c.config);
  asio::io_context io;
  auto client =
      std::move(*Client::Create(io.get_executor(), emu.ClientOptions()));
  RunCoro(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      auto r = co_await client->GetApplicationProvisioningScope();
      CO_REQUIRE(r);
    }
  });
  auto log = emu.Requests();
  EXPECT_EQ(CountOperation(log, "GenerateToken"), 1);
  EXPECT_EQ(CountOperation(log, "GetApplicationProvisioningScope"), 20);
  auto stats = client->stats();
  EXPECT_EQ(stats.token_refreshes, 1u);
  EXPECT_NEAR(static_cast<double>(stats.token_clock_skew_s),
              static_cast<double>(c.expect_skew_s), 3.0);
  EXPECT_EQ(stats.token_expiry_untrusted, c.expect_untrusted);
  EXPECT_EQ(capture.text().find("check the clock") != std::string::npos,
            c.expect_warning)
      << capture.text();
}

TEST(TokenSkew, PastExpiresAtWithExpiresInUsesExpiresIn) {
  // The server's clock is two hours behind: expires_at is already past.
  ExpectOneTokenRequest({R"({"tokenExpiresAtSkew":-7200})", -7200, 0, true});
}

TEST(TokenSkew, PastExpiresAtAloneGetsTheDefaultLifetime) {
  ExpectOneTokenRequest(
      {R"({"tokenExpiresAtSkew":-7200,"tokenExpiresIn":false})", 0, 1, true});
}

TEST(TokenSkew, FarFutureExpiresAtAloneIsNotTrustedEither) {
  ExpectOneTokenRequest(
      {R"({"tokenExpiresAtSkew":864000,"tokenExpiresIn":false})", 0, 1, true});
}

TEST(TokenSkew, PlausibleExpiresAtAloneIsUsed) {
  ExpectOneTokenRequest({R"({"tokenExpiresIn":false})", 0, 0, false});
}

// ---- lookups answering 200 without an id ------------------------------------

TEST(Lookups, OkWithoutAnIdIsNotFound) {
  Emulator emu;
  emu.Config(R"({"lookupMiss":"200"})");
  asio::io_context io;
  auto client =
      std::move(*Client::Create(io.get_executor(), emu.ClientOptions()));
  RunCoro(io, [&]() -> awaitable<void> {
    std::vector<Result<std::string>> misses;
    misses.push_back(co_await client->GetUserIdByUserExternalId("nope"));
    misses.push_back(co_await client->GetUserIdByUsername("nope"));
    misses.push_back(co_await client->GetUserIdByEmail("nope@example.com"));
    misses.push_back(
        co_await client->GetOrganizationalUnitIdByExternalId("nope"));
    for (const auto& r : misses) {
      EXPECT_FALSE(r);
      if (r) continue;
      EXPECT_EQ(ApiErrorOf(r.error()).kind, Kind::kNotFound) << ApiErrorOf(r.error()).message;
      EXPECT_EQ(ApiErrorOf(r.error()).http_status, 200);
      EXPECT_FALSE(ApiErrorOf(r.error()).retryable);
    }
    // A hit still returns the id.
    auto id = co_await client->CreateUser(UserReq("grace", kRootOu, "G-1"));
    CO_REQUIRE(id);
    auto hit = co_await client->GetUserIdByUserExternalId("G-1");
    CO_REQUIRE(hit);
    EXPECT_EQ(*hit, *id);
  });
}

TEST(Lookups, CreateAnsweringWithoutAnIdIsAmbiguous) {
  ScriptedServer server([](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    return ScriptedServer::Json(200, R"({"requestId":"r1"})");
  });
  asio::io_context io;
  auto client = std::move(
      *Client::Create(io.get_executor(), ScriptedOptions(server.Url())));
  auto r = RunSync(io, client->CreateGroup(GroupReq("g", "G-1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).kind, Kind::kProtocol);
  EXPECT_TRUE(ApiErrorOf(r.error()).ambiguous);  // it probably exists: look it up
}

// ---- Alibaba's code spellings -----------------------------------------------

TEST(ErrorCodes, EntityNotExistAndAlreadyExistInEverySpelling) {
  struct Case {
    int status;
    const char* code;
    Kind kind;
  };
  const std::vector<Case> cases = {
      {400, "EntityAlreadyExist.User", Kind::kConflict},
      {400, "EntityAlreadyExist.User.Username", Kind::kConflict},
      {400, "EntityAlreadyExists.User.Username", Kind::kConflict},
      {409, "Conflict", Kind::kConflict},
      {404, "EntityNotExist.User", Kind::kNotFound},
      {400, "EntityNotExist.User", Kind::kNotFound},
      {400, "EntityNotExists.OrganizationalUnit", Kind::kNotFound},
      {404, "Whatever", Kind::kNotFound},
      {400, "InvalidParameter.Username", Kind::kClient},
      {400, "EntityExists", Kind::kClient},
      {403, "EntityNotExist.User", Kind::kPermission},  // status first for 403
  };
  std::atomic<size_t> next = 0;
  ScriptedServer server([&](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    const Case& c = cases[next.load()];
    return ScriptedServer::Json(c.status,
                                std::string(R"({"code":")") + c.code +
                                    R"(","message":"m","requestId":"r"})");
  });
  asio::io_context io;
  auto client = std::move(
      *Client::Create(io.get_executor(), ScriptedOptions(server.Url())));
  for (size_t i = 0; i < cases.size(); ++i) {
    next = i;
    const Case& c = cases[i];
    SCOPED_TRACE(std::to_string(c.status) + " " + c.code);
    auto r = RunSync(io, client->GetUser("user_1"));
    ASSERT_FALSE(r);
    EXPECT_EQ(ApiErrorOf(r.error()).kind, c.kind) << ApiErrorOf(r.error()).message;
    EXPECT_EQ(ApiErrorOf(r.error()).code, c.code);
    EXPECT_EQ(ApiErrorOf(r.error()).attempts, 1);  // final, not retried
  }
}

// A DELETE whose retry finds the object gone under the 400 spelling is done.
TEST(ErrorCodes, RetriedDeleteFindingEntityNotExistIsDone) {
  int deletes = 0;
  ScriptedServer server([&](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    if (++deletes == 1)
      return ScriptedServer::Json(503, R"({"code":"ServiceUnavailable"})");
    return ScriptedServer::Json(400, R"({"code":"EntityNotExist.User"})");
  });
  asio::io_context io;
  auto client = std::move(
      *Client::Create(io.get_executor(), ScriptedOptions(server.Url())));
  EXPECT_TRUE(RunSync(io, client->DeleteUser("user_1")));
}

// ---- 5xx answers to creates
// ---------------------------------------------------

TEST(CreateServerError, IsAmbiguousAndNeverResent) {
  Emulator emu;
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.max_attempts = 5;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  ASSERT_TRUE(RunSync(io, client->GetApplicationProvisioningScope()));  // token
  emu.Config(R"({"faults":"5xx=1"})");
  RunCoro(io, [&]() -> awaitable<void> {
    auto u = co_await client->CreateUser(UserReq("amb", kRootOu, "U-1"));
    auto ou = co_await client->CreateOrganizationalUnit(
        OuReq("Amb", kRootOu, "", "O-1"));
    auto g = co_await client->CreateGroup(GroupReq("amb", "G-1"));
    auto check = [](const auto& r) {
      ASSERT_FALSE(r);
      const ApiError e = ApiErrorOf(r.error());
      EXPECT_EQ(e.kind, Kind::kServer) << e.ToString();
      EXPECT_TRUE(e.ambiguous);
      EXPECT_FALSE(e.retryable);
      EXPECT_EQ(e.attempts, 1);
    };
    check(u);
    check(ou);
    check(g);
    // Idempotent writes still retry through 5xx.
    auto p = co_await client->PatchGroup("group_x", GroupPatch("n"));
    EXPECT_FALSE(p);
    if (!p) {
      EXPECT_GT(ApiErrorOf(p.error()).attempts, 1);
    }
  });
  auto log = emu.Requests();
  EXPECT_EQ(CountOperation(log, "CreateUser"), 1);
  EXPECT_EQ(CountOperation(log, "CreateOrganizationalUnit"), 1);
  EXPECT_EQ(CountOperation(log, "CreateGroup"), 1);
  EXPECT_EQ(client->stats().ambiguous_writes, 3u);
}

// The executor's rule (look up by external id, resend only when absent) under
// a gateway that commits and then answers 502/503/504 half the time: every
// user, OU and group exists exactly once.
TEST(CreateServerError, AfterCommitLeavesNoDuplicates) {
  Emulator emu({"--faults", "5xx_after_commit=0.5"});
  asio::io_context io;
  auto client =
      std::move(*Client::Create(io.get_executor(), emu.ClientOptions()));
  auto& c = *client;
  constexpr int kEach = 12;
  int lookups = 0;
  // Creates `create()` exactly once, using `find()` after an ambiguous error.
  auto exactly_once = [&](auto create,
                          auto find) -> awaitable<Result<std::string>> {
    for (int round = 0; round < 20; ++round) {
      auto r = co_await create();
      if (r || !ApiErrorOf(r.error()).ambiguous) co_return r;
      ++lookups;
      auto found = co_await find();
      if (found || ApiErrorOf(found.error()).kind != Kind::kNotFound) co_return found;
    }
    co_return ApiError{};
  };
  RunWorkers(io, 3, [&](int w) -> awaitable<void> {
    for (int i = 0; i < kEach; ++i) {
      std::string key = std::to_string(w) + "-" + std::to_string(i);
      Result<std::string> r;
      if (w == 0) {
        r = co_await exactly_once(
            [&]() {
              return c.CreateUser(UserReq("u" + key, kRootOu, "U" + key));
            },
            [&]() { return c.GetUserIdByUserExternalId("U" + key); });
      } else if (w == 1) {
        r = co_await exactly_once(
            [&]() {
              return c.CreateOrganizationalUnit(
                  OuReq("O" + key, kRootOu, "", "O" + key));
            },
            [&]() { return c.GetOrganizationalUnitIdByExternalId("O" + key); });
      } else {
        // Groups have no lookup call: list by name prefix, match the external
        // id.
        auto find = [&]() -> awaitable<Result<std::string>> {
          auto all = co_await c.ListAllGroups();
          if (!all) co_return all.error();
          for (const auto& g : *all)
            if (g.group_external_id == "G" + key) co_return g.group_id;
          ApiError e;
          e.kind = Kind::kNotFound;
          co_return e;
        };
        r = co_await exactly_once(
            [&]() { return c.CreateGroup(GroupReq("g" + key, "G" + key)); },
            find);
      }
      CO_REQUIRE(r);
    }
  });
  auto state = emu.State();
  auto count = [&](const char* array, const char* field) {
    std::map<std::string, int> n;
    for (const auto& e : state.at(array).as_array())
      ++n[std::string(e.at(field).as_string())];
    return n;
  };
  auto users = count("users", "userExternalId");
  auto ous = count("organizationalUnits", "organizationalUnitExternalId");
  auto groups = count("groups", "groupExternalId");
  EXPECT_EQ(users.size(), static_cast<size_t>(kEach));
  EXPECT_EQ(ous.size(), static_cast<size_t>(kEach) + 1);  // + the root
  EXPECT_EQ(groups.size(), static_cast<size_t>(kEach));
  for (const auto* m : {&users, &ous, &groups})
    for (const auto& [key, n] : *m) EXPECT_EQ(n, 1) << key;
  EXPECT_GT(lookups, 0);  // the fault did hit creates
  int faulted = 0;
  for (const auto& e : emu.Requests())
    faulted += e.at("fault").as_string() == "5xx_after_commit";
  EXPECT_EQ(faulted, lookups);
}

}  // namespace
}  // namespace idsync::idaas::testing
