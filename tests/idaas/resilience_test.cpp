// Throttling in every form, transient and persistent faults, ambiguous
// creates, inconsistent listings, timeouts, limits and stale keep-alive
// connections: against the emulator where it can produce the behaviour, and
// a scripted loopback server where it cannot.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <set>
#include <thread>

#include "helpers.h"

namespace idsync::idaas::testing {
namespace {

using asio::awaitable;
using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;

int64_t Ms(const json::value& entry) { return entry.at("timeMs").as_int64(); }

// No request reaches the server while a throttled response's wait is on.
// `wait_ms` is what the emulator asked for (Retry-After, whole seconds);
// `in_flight_ms` tolerates requests the client had sent before it saw the 429.
void ExpectNoRequestDuringWait(const json::array& log, int64_t wait_ms,
                               int64_t in_flight_ms) {
  int throttled = 0;
  for (const auto& t : log) {
    if (t.at("fault").as_string() != "throttled") continue;
    ++throttled;
    for (const auto& e : log) {
      int64_t d = Ms(e) - Ms(t);
      if (d > in_flight_ms && d < wait_ms) {
        ADD_FAILURE() << "request " << json::serialize(e) << " came " << d
                      << " ms after a throttled response that asked for "
                      << wait_ms << " ms";
      }
    }
  }
  EXPECT_GT(throttled, 0);
}

TEST(Throttling, EmulatorRetryAfterPausesEveryRequestOneConnection) {
  Emulator emu({"--qps", "20"});
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.connections = 1;
  o.qps = 0;  // unlimited: the server's throttling has to teach it
  o.max_attempts = 6;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  int ok = 0;
  RunCoro(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 50; ++i) {
      auto r = co_await client->GetApplicationProvisioningScope();
      if (r) ++ok;
      else ADD_FAILURE() << ApiErrorOf(r.error()).message;
    }
  });
  EXPECT_EQ(ok, 50);
  auto stats = client->stats();
  EXPECT_GT(stats.throttled, 0u);
  EXPECT_GT(stats.current_qps, 0);  // adaptive: now limited
  EXPECT_LE(stats.current_qps, 20);
  // The emulator sends Retry-After: 1 (and TimeLeft in ms): 1000 ms.
  ExpectNoRequestDuringWait(emu.Requests(), 1000, 0);
}

TEST(Throttling, EmulatorRetryAfterPausesEveryRequestFourConnections) {
  Emulator emu({"--qps", "25"});
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.connections = 4;
  o.qps = 0;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  int ok = 0;
  RunWorkers(io, 4, [&](int) -> awaitable<void> {
    for (int i = 0; i < 15; ++i) {
      auto r = co_await client->GetApplicationProvisioningScope();
      if (r) ++ok;
      else ADD_FAILURE() << ApiErrorOf(r.error()).message;
    }
  });
  EXPECT_EQ(ok, 60);
  // Requests already on the wire when the 429 arrived may land just after it.
  ExpectNoRequestDuringWait(emu.Requests(), 1000, 50);
}

TEST(Throttling, ConfiguredQpsBelowServerLimitIsNeverThrottled) {
  Emulator emu({"--qps", "50"});
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.qps = 40;
  o.burst = 5;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  auto start = Clock::now();
  RunWorkers(io, 4, [&](int) -> awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      auto r = co_await client->GetApplicationProvisioningScope();
      CO_REQUIRE(r);
    }
  });
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_EQ(client->stats().throttled, 0u);
  EXPECT_GT(s, (80 - 5) / 40.0 * 0.95);  // paced, not bursted
}

// A scripted server that throttles the first `n` API calls in a given form,
// and checks itself that no request arrives before the wait it announced.
struct ThrottleScript {
  using Decorate = std::function<void(ScriptedServer::Response&,
                                      SysClock::time_point* until)>;
  ThrottleScript(int count, Decorate d) : n(count), decorate(std::move(d)) {}
  int n;
  Decorate decorate;
  int status = 429;
  std::string body = R"({"code":"Throttling.User","message":"slow down","requestId":"r1"})";

  std::mutex mu;
  int throttled = 0;
  int violations = 0;
  SysClock::time_point not_before{};

  ScriptedServer::Response operator()(const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    std::lock_guard lock(mu);
    auto now = SysClock::now();
    if (now < not_before) ++violations;
    if (throttled < n) {
      ++throttled;
      auto res = ScriptedServer::Json(status, body);
      SysClock::time_point until = now;
      decorate(res, &until);
      not_before = until;
      return res;
    }
    return ScriptedServer::Json(
        200, R"({"organizationalUnitIds":["ou_1"],"groupIds":[]})");
  }
};

void RunThrottleScript(ThrottleScript& script, int expect_min_ms) {
  ScriptedServer server([&](const auto& r) { return script(r); });
  asio::io_context io;
  auto o = ScriptedOptions(server.Url());
  o.max_attempts = 5;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  auto start = Clock::now();
  // The first call is throttled; the others start while its wait is on and
  // must be held back too.
  RunWorkers(io, 3, [&](int w) -> awaitable<void> {
    if (w > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, w * 60ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    auto r = co_await client->GetApplicationProvisioningScope();
    EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;
  });
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                Clock::now() - start)
                .count();
  EXPECT_GE(ms, expect_min_ms);
  EXPECT_EQ(script.violations, 0);
  EXPECT_EQ(client->stats().throttled, static_cast<uint64_t>(script.n));
}

TEST(Throttling, RetryAfterSeconds) {
  ThrottleScript s{1, [](auto& res, SysClock::time_point* until) {
                     res.set(http::field::retry_after, "1");
                     *until += 1s;
                   }};
  RunThrottleScript(s, 1000);
}

TEST(Throttling, RetryAfterHttpDate) {
  ThrottleScript s{1, [](auto& res, SysClock::time_point* until) {
                     auto t = SysClock::to_time_t(*until) + 2;
                     char buf[64];
                     std::tm tm{};
                     gmtime_r(&t, &tm);
                     std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
                     res.set(http::field::retry_after, buf);
                     *until = SysClock::from_time_t(t);
                   }};
  RunThrottleScript(s, 1000);
}

TEST(Throttling, NoHintStillRetriesWithBackoff) {
  ThrottleScript s{2, [](auto&, SysClock::time_point*) {}};
  RunThrottleScript(s, 0);
}

TEST(Throttling, ThrottlingCodeWithTimeLeftHeaderOn400) {
  ThrottleScript s{1, [](auto& res, SysClock::time_point* until) {
                     res.set("x-ratelimit-user-api",
                             "Limit:10,Remain:0,TimeLeft:400");
                     *until += 400ms;
                   }};
  s.status = 400;
  RunThrottleScript(s, 400);
}

// ---- transient faults --------------------------------------------------------

TEST(Faults, ThirtyPercentInjectedEveryOperationCompletesExactlyOnce) {
  Emulator emu({"--faults", "5xx=0.15,reset=0.10,drop_after_commit=0.05"});
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.max_attempts = 10;
  o.retry_budget_percent = 100;
  o.base_delay = 2ms;
  o.max_delay = 20ms;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  auto& c = *client;
  const int kUsers = 60;
  std::string group;
  int lookups = 0;
  RunCoro(io, [&]() -> awaitable<void> {
    // A group, exactly once, by the same look-up-first rule (by listing).
    for (;;) {
      auto g = co_await c.CreateGroup(GroupReq("faulty"));
      if (g) {
        group = *g;
        break;
      }
      if (!ApiErrorOf(g.error()).ambiguous) {
        ADD_FAILURE() << ApiErrorOf(g.error()).message;
        co_return;
      }
      auto all = co_await c.ListAllGroups();
      CO_REQUIRE(all);
      if (!all->empty()) {
        group = (*all)[0].group_id;
        break;
      }
    }
  });
  ASSERT_FALSE(group.empty());
  std::map<int, std::string> ids;
  RunWorkers(io, 4, [&](int w) -> awaitable<void> {
    for (int i = w; i < kUsers; i += 4) {
      auto id = co_await CreateUserExactlyOnce(
          c, UserReq("user" + std::to_string(i), kRootOu, "x" + std::to_string(i)),
          &lookups);
      CO_REQUIRE(id);
      ids[i] = *id;
      auto p = co_await c.PatchUser(*id, UserPatchName("User " + std::to_string(i)));
      CO_REQUIRE(p);
      auto a = co_await c.AddUsersToGroup(group, Ids(*id));
      CO_REQUIRE(a);
      auto d = co_await c.DisableUser(*id);
      CO_REQUIRE(d);
      auto u = co_await c.GetUser(*id);
      CO_REQUIRE(u);
      EXPECT_EQ(u->display_name, "User " + std::to_string(i));
      EXPECT_EQ(u->status, "disabled");
      if (i % 2 == 0) {
        auto del = co_await c.DeleteUser(*id);
        CO_REQUIRE(del);
      }
    }
  });
  ASSERT_EQ(ids.size(), static_cast<size_t>(kUsers));
  RunCoro(io, [&]() -> awaitable<void> {
    auto users = co_await c.ListAllUsers();
    CO_REQUIRE(users);
    EXPECT_EQ(users->size(), static_cast<size_t>(kUsers / 2));
    std::set<std::string> names;
    for (const auto& u : *users) names.insert(u.username);
    EXPECT_EQ(names.size(), users->size());  // no duplicates
    auto members = co_await c.ListAllUsersForGroup(group);
    CO_REQUIRE(members);
    EXPECT_EQ(members->size(), static_cast<size_t>(kUsers / 2));
  });
  // The emulator applied each create exactly once.
  auto state = emu.State();
  std::map<std::string, int> per_username;
  for (const auto& u : state.at("users").as_array())
    ++per_username[std::string(u.at("username").as_string())];
  for (const auto& [name, n] : per_username) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(per_username.size(), static_cast<size_t>(kUsers / 2));

  auto stats = c.stats();
  EXPECT_GT(stats.retries, 20u);  // the faults did happen
  EXPECT_GT(stats.ambiguous_writes, 0u);
  EXPECT_GT(lookups, 0);
  for (const auto& [action, a] : stats.actions) {
    uint64_t requests = a.status_2xx + a.status_4xx + a.status_5xx + a.no_response;
    // Attempts per call stay within the cap (plus one 401 replay and one
    // transparent reconnect each, which are not retries).
    EXPECT_LE(requests, a.calls * 12) << action;
  }
  // Request log: every CreateUser the emulator committed and then dropped was
  // followed by a lookup by external id before another CreateUser was sent
  // for it (R6). The log has no bodies, so check it per worker sequence.
  int drops = 0;
  for (const auto& e : emu.Requests())
    drops += e.at("operation").as_string() == "CreateUser" &&
             e.at("fault").as_string() == "drop_after_commit";
  EXPECT_LE(drops, lookups);
}

TEST(Faults, AmbiguousCreateIsLookedUpBeforeAnyResend) {
  Emulator emu;
  asio::io_context io;
  auto client = std::move(*Client::Create(io.get_executor(), emu.ClientOptions()));
  RunCoro(io, [&]() -> awaitable<void> {
    auto t = co_await client->GetApplicationProvisioningScope();  // token first
    CO_REQUIRE(t);
  });
  emu.Config(R"({"faults":"drop_after_commit=1"})");
  std::string id;
  int lookups = 0;
  RunCoro(io, [&]() -> awaitable<void> {
    auto r = co_await client->CreateUser(UserReq("amb", kRootOu, "amb-1"));
    EXPECT_FALSE(r);
    if (r) co_return;
    EXPECT_TRUE(ApiErrorOf(r.error()).ambiguous) << ApiErrorOf(r.error()).message;
    EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kNetwork);
    EXPECT_EQ(ApiErrorOf(r.error()).attempts, 1);  // never blindly resent
  });
  emu.Config(R"({"faults":""})");
  // The executor's rule: look up by external id before any resend.
  RunCoro(io, [&]() -> awaitable<void> {
    auto found = co_await client->GetUserIdByUserExternalId("amb-1");
    CO_REQUIRE(found);
    id = *found;
  });
  EXPECT_FALSE(id.empty());
  std::vector<std::string> ops;
  for (const auto& e : emu.Requests())
    ops.emplace_back(e.at("operation").as_string());
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "CreateUser"), 1);
  auto create = std::find(ops.begin(), ops.end(), "CreateUser");
  auto lookup = std::find(ops.begin(), ops.end(), "GetUserIdByUserExternalId");
  EXPECT_LT(create, lookup);
  int users = 0;
  auto state = emu.State();
  for (const auto& u : state.at("users").as_array())
    users += u.at("username").as_string() == "amb";
  EXPECT_EQ(users, 1);
  (void)lookups;
}

TEST(Faults, PersistentServerErrorsAreBoundedAndRecover) {
  Emulator emu({"--faults", "5xx=1"});
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.max_attempts = 4;
  o.retry_budget_percent = 20;
  o.base_delay = 1ms;
  o.max_delay = 5ms;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  int failures = 0;
  RunCoro(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 30; ++i) {
      auto r = co_await client->GetApplicationProvisioningScope();
      EXPECT_FALSE(r);
      if (r) continue;
      ++failures;
      EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kServer);
      EXPECT_TRUE(ApiErrorOf(r.error()).retryable);
      EXPECT_LE(ApiErrorOf(r.error()).attempts, 4);
      EXPECT_GE(ApiErrorOf(r.error()).http_status, 500);
    }
  });
  EXPECT_EQ(failures, 30);
  auto stats = client->stats();
  // Retries bounded by the budget: 10 in reserve + 20 % of 31 first attempts.
  EXPECT_LE(stats.retries, 10u + 7u);
  EXPECT_GT(stats.retry_budget_exhausted, 0u);
  emu.Config(R"({"faults":""})");
  RunCoro(io, [&]() -> awaitable<void> {
    auto r = co_await client->GetApplicationProvisioningScope();
    EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;  // recovers without a restart
  });
}

// ---- listings that do not add up --------------------------------------------

std::string UsersPage(int total, std::vector<int> ids) {
  json::array data;
  for (int id : ids)
    data.push_back(json::object{{"userId", "user_" + std::to_string(id)},
                                {"username", "u" + std::to_string(id)}});
  return json::serialize(json::object{{"totalCount", total}, {"data", data}});
}

std::vector<int> Range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

int PageNumberOf(std::string_view target) {
  auto p = target.find("pageNumber=");
  return std::stoi(std::string(target.substr(p + 11)));
}

Status ListWith(std::function<std::string(int page)> pages) {
  ScriptedServer server([&](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    return ScriptedServer::Json(200, pages(PageNumberOf(req.target())));
  });
  asio::io_context io;
  auto client = std::move(*Client::Create(io.get_executor(),
                                          ScriptedOptions(server.Url())));
  return RunSync(io, [&]() -> awaitable<Status> {
    auto r = co_await client->ListAllUsers();
    if (!r) co_return r.error();
    EXPECT_EQ(r->size(), 250u);
    co_return Status{};
  }());
}

TEST(Listing, ConsistentPagesSucceed) {
  auto st = ListWith([](int page) {
    return UsersPage(250, Range((page - 1) * 100, std::min(250, page * 100)));
  });
  EXPECT_TRUE(st) << ApiErrorOf(st.error()).message;
}

TEST(Listing, TotalCountChangingIsAnError) {
  auto st = ListWith([](int page) {
    return UsersPage(page == 1 ? 250 : 251,
                     Range((page - 1) * 100, std::min(250, page * 100)));
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(ApiErrorOf(st.error()).kind, ApiError::Kind::kProtocol);
  EXPECT_EQ(ApiErrorOf(st.error()).code, "InconsistentListing");
  EXPECT_TRUE(ApiErrorOf(st.error()).retryable);
}

TEST(Listing, RepeatedPageIsAnError) {
  auto st = ListWith([](int page) {
    int p = page == 2 ? 1 : page;  // page 2 repeats page 1
    return UsersPage(250, Range((p - 1) * 100, std::min(250, p * 100)));
  });
  ASSERT_FALSE(st);
  EXPECT_NE(ApiErrorOf(st.error()).message.find("repeats"), std::string::npos);
}

TEST(Listing, MissingPageIsAnError) {
  auto st = ListWith([](int page) {
    if (page == 3) return UsersPage(250, {});  // the last 50 never come
    return UsersPage(250, Range((page - 1) * 100, page * 100));
  });
  ASSERT_FALSE(st);
  EXPECT_NE(ApiErrorOf(st.error()).message.find("incomplete"), std::string::npos);
}

TEST(Listing, ShortPageInTheMiddleIsAnError) {
  auto st = ListWith([](int page) {
    if (page == 2) return UsersPage(250, Range(100, 150));
    return UsersPage(250, Range((page - 1) * 100, std::min(250, page * 100)));
  });
  ASSERT_FALSE(st);
}

TEST(Listing, NextTokenLoopAndCountMismatchAreErrors) {
  for (int variant = 0; variant < 2; ++variant) {
    ScriptedServer server([&](const ScriptedServer::Request& req) {
      if (req.target().find("/oauth2/token") != std::string::npos)
        return ScriptedServer::Token();
      std::string t(req.target());
      bool second = t.find("nextToken=") != std::string::npos;
      json::object o;
      o["totalCount"] = variant == 0 ? 4 : 5;
      json::array data;
      data.push_back(json::object{{"groupId", second ? "g2" : "g1"}});
      data.push_back(json::object{{"groupId", second ? "g4" : "g3"}});
      o["data"] = data;
      // variant 0: the second page points back at itself forever.
      o["nextToken"] = second ? (variant == 0 ? "NT2" : "") : "NT2";
      return ScriptedServer::Json(200, json::serialize(o));
    });
    asio::io_context io;
    auto client = std::move(*Client::Create(io.get_executor(),
                                            ScriptedOptions(server.Url())));
    auto r = RunSync(io, client->ListAllGroups());
    ASSERT_FALSE(r) << variant;
    EXPECT_EQ(ApiErrorOf(r.error()).code, "InconsistentListing") << ApiErrorOf(r.error()).message;
  }
}

// ---- transport edges -------------------------------------------------------

TEST(Transport, StaleKeepAliveConnectionsReconnectTransparently) {
  ScriptedServer server([](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    return ScriptedServer::Json(200, R"({"userId":"user_1"})");
  });
  server.close_after_response = true;
  asio::io_context io;
  auto o = ScriptedOptions(server.Url());
  o.connections = 2;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  RunCoro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    // Waits until the server has really closed every socket it answered on:
    // a close racing the next write is an ambiguous write by nature, not
    // what this tests.
    auto all_closed = [&]() -> awaitable<bool> {
      for (int wait = 0; wait < 2000; ++wait) {
        if (server.closed() >= static_cast<int>(server.arrivals().size())) co_return true;
        asio::steady_timer t(ex, 1ms);
        co_await t.async_wait(asio::use_awaitable);
      }
      co_return false;
    };
    // The token first, so that no create follows its response on the same
    // socket before the server has closed it.
    auto token = co_await client->GenerateToken();
    EXPECT_TRUE(token) << ApiErrorOf(token.error()).message;
    for (int i = 0; i < 20; ++i) {
      bool closed = co_await all_closed();
      if (!closed) {
        ADD_FAILURE() << "the server never closed its connections (" << i << ")";
        co_return;
      }
      // Create is not idempotent: the stale socket must be noticed before
      // the request is written, never after.
      auto r = co_await client->CreateUser(UserReq("u", "ou"));
      EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;
    }
  });
  auto stats = client->stats();
  EXPECT_GE(stats.reconnects, 20u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(stats.ambiguous_writes, 0u);
}

TEST(Transport, ReadTimeoutIsRetriedThenReported) {
  std::atomic<int> calls{0};
  ScriptedServer server([&](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    ++calls;
    std::this_thread::sleep_for(300ms);
    return ScriptedServer::Json(200, "{}");
  });
  asio::io_context io;
  auto o = ScriptedOptions(server.Url());
  o.timeout = 100ms;
  o.max_attempts = 2;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  auto r = RunSync(io, client->GetUser("user_1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kTimeout) << ApiErrorOf(r.error()).message;
  EXPECT_EQ(ApiErrorOf(r.error()).attempts, 2);
}

TEST(Transport, BodyLimitAndNonJsonAreProtocolErrors) {
  ScriptedServer server([](const ScriptedServer::Request& req) {
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token();
    if (req.target().find("big") != std::string::npos)
      return ScriptedServer::Json(200, std::string(5000, ' ') + "{}");
    if (req.target().find("html") != std::string::npos)
      return ScriptedServer::Json(200, "<html>");
    return ScriptedServer::Json(502, "<html>bad gateway</html>");
  });
  asio::io_context io;
  auto o = ScriptedOptions(server.Url());
  o.body_limit = 1000;
  o.max_attempts = 2;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  auto big = RunSync(io, client->GetUser("big"));
  ASSERT_FALSE(big);
  EXPECT_EQ(ApiErrorOf(big.error()).kind, ApiError::Kind::kProtocol) << big.error().message;
  auto html = RunSync(io, client->GetUser("html"));
  ASSERT_FALSE(html);
  EXPECT_EQ(ApiErrorOf(html.error()).kind, ApiError::Kind::kProtocol);
  auto gw = RunSync(io, client->GetUser("gw"));
  ASSERT_FALSE(gw);
  EXPECT_EQ(ApiErrorOf(gw.error()).kind, ApiError::Kind::kServer);
  EXPECT_EQ(ApiErrorOf(gw.error()).http_status, 502);
  EXPECT_EQ(ApiErrorOf(gw.error()).attempts, 2);
}

TEST(Transport, OAuthErrorBodyIsParsed) {
  ScriptedServer server([](const ScriptedServer::Request&) {
    return ScriptedServer::Json(
        400, R"({"error":"invalid_client","error_description":"bad secret","request_id":"rq-9"})");
  });
  asio::io_context io;
  auto client = std::move(*Client::Create(io.get_executor(),
                                          ScriptedOptions(server.Url())));
  auto r = RunSync(io, client->GenerateToken());
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kAuth);
  EXPECT_EQ(ApiErrorOf(r.error()).code, "invalid_client");
  EXPECT_EQ(ApiErrorOf(r.error()).message, "bad secret");
  EXPECT_EQ(ApiErrorOf(r.error()).request_id, "rq-9");
  EXPECT_EQ(ApiErrorOf(r.error()).attempts, 1);
}

TEST(Transport, RequestsCarryTheSdkHeaders) {
  std::mutex mu;
  std::vector<ScriptedServer::Request> seen;
  ScriptedServer server([&](const ScriptedServer::Request& req) {
    {
      std::lock_guard lock(mu);
      seen.push_back(req);
    }
    if (req.target().find("/oauth2/token") != std::string::npos)
      return ScriptedServer::Token("AT_hdr");
    return ScriptedServer::Json(200, "{}");
  });
  asio::io_context io;
  auto client = std::move(*Client::Create(io.get_executor(),
                                          ScriptedOptions(server.Url())));
  ASSERT_TRUE(RunSync(io, client->EnableUser("user 1/x")));
  ASSERT_TRUE(RunSync(io, client->PatchUser("u2", UserPatchName("n"))));
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  const auto& token = seen[0];
  EXPECT_EQ(token.method(), http::verb::post);
  EXPECT_EQ(token.target(), "/v2/idaas_emulator/app_emulator/oauth2/token");
  EXPECT_EQ(token[http::field::content_type], "application/x-www-form-urlencoded");
  EXPECT_NE(token.body().find("grant_type=client_credentials"), std::string::npos);
  EXPECT_EQ(token.count(http::field::authorization), 0u);
  const auto& enable = seen[1];
  EXPECT_EQ(enable.target(),
            "/v2/idaas_emulator/app_emulator/users/user%201%2Fx/actions/enable");
  EXPECT_EQ(enable["x-acs-version"], "2022-02-25");
  EXPECT_EQ(enable["x-acs-action"], "EnableUser");
  EXPECT_EQ(enable[http::field::accept], "application/json");
  EXPECT_EQ(enable[http::field::authorization], "Bearer AT_hdr");
  EXPECT_TRUE(enable[http::field::user_agent].starts_with("idsync/"));
  EXPECT_EQ(enable.count(http::field::content_type), 0u);  // no body
  EXPECT_TRUE(enable.body().empty());
  const auto& patch = seen[2];
  EXPECT_EQ(patch.method(), http::verb::patch);
  EXPECT_EQ(patch[http::field::content_type], "application/json; charset=utf-8");
  EXPECT_EQ(patch.body(), R"({"displayName":"n"})");
}

}  // namespace
}  // namespace idsync::idaas::testing
