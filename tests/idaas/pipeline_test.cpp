// HTTP/1.1 pipelining (`pipeline_depth` > 1) against the emulator: latency
// is hidden, responses are matched to their requests, a connection lost or
// closed by the server mid-pipeline loses nothing and duplicates nothing.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "helpers.h"

namespace idsync::idaas::testing {
namespace {

using asio::awaitable;
using Clock = std::chrono::steady_clock;

std::unique_ptr<Client> PipelinedClient(asio::io_context& io,
                                        const Emulator& emu, int connections,
                                        int depth) {
  auto o = emu.ClientOptions();
  o.connections = connections;
  o.pipeline_depth = depth;
  o.max_attempts = 10;
  o.retry_budget_percent = 100;
  o.base_delay = 2ms;
  o.max_delay = 20ms;
  auto created = Client::Create(io.get_executor(), o);
  EXPECT_TRUE(created) << ApiErrorOf(created.error()).message;
  return std::move(*created);
}

std::map<std::string, int> UsernamesInState(const Emulator& emu) {
  std::map<std::string, int> out;
  auto state = emu.State();
  for (const auto& u : state.at("users").as_array())
    ++out[std::string(u.at("username").as_string())];
  return out;
}

TEST(Pipelining, HidesLatencyOnFewConnections) {
  // 300 ms per response; 16 reads on 2 connections. One request per
  // connection at a time needs 8 x 300 ms = 2.4 s; four in flight on each
  // need about 2 x 300 ms.
  Emulator emu({"--latency", "300ms"});
  asio::io_context io;
  auto client = PipelinedClient(io, emu, 2, 4);
  std::string id;
  RunCoro(io, [&]() -> awaitable<void> {
    auto r = co_await client->CreateUser(UserReq("seed", kRootOu));
    CO_REQUIRE(r);
    id = *r;
  });
  auto before = client->stats();
  auto start = Clock::now();
  int ok = 0;
  RunWorkers(io, 16, [&](int) -> awaitable<void> {
    auto u = co_await client->GetUser(id);
    CO_REQUIRE(u);
    EXPECT_EQ(u->username, "seed");
    ++ok;
  });
  auto elapsed = Clock::now() - start;
  EXPECT_EQ(ok, 16);
  EXPECT_LT(elapsed, 1800ms) << "latency was not overlapped";
  auto after = client->stats();
  EXPECT_GE(after.pipelined - before.pipelined, 8u);
  EXPECT_LE(after.connections_opened, 2u);
  EXPECT_EQ(after.retries, 0u);
}

TEST(Pipelining, EveryResponseReachesItsOwnRequest) {
  // Mixed calls, eight in flight per connection: a response handed to the
  // wrong caller would show as a wrong id, name or status.
  Emulator emu({"--latency", "0ms-3ms"});
  asio::io_context io;
  auto client = PipelinedClient(io, emu, 2, 8);
  auto& c = *client;
  const int kUsers = 120;
  std::map<int, std::string> ids;
  RunWorkers(io, 16, [&](int w) -> awaitable<void> {
    for (int i = w; i < kUsers; i += 16) {
      std::string n = std::to_string(i);
      auto id = co_await c.CreateUser(UserReq("p" + n, kRootOu, "px" + n));
      CO_REQUIRE(id);
      ids[i] = *id;
      auto by_ext = co_await c.GetUserIdByUserExternalId("px" + n);
      CO_REQUIRE(by_ext);
      EXPECT_EQ(*by_ext, *id) << i;
      auto p = co_await c.PatchUser(*id, UserPatchName("P " + n));
      CO_REQUIRE(p);
      if (i % 3 == 0) {
        auto d = co_await c.DisableUser(*id);
        CO_REQUIRE(d);
      }
      auto u = co_await c.GetUser(*id);
      CO_REQUIRE(u);
      EXPECT_EQ(u->user_id, *id);
      EXPECT_EQ(u->username, "p" + n);
      EXPECT_EQ(u->display_name, "P " + n);
      EXPECT_EQ(u->status, i % 3 == 0 ? "disabled" : "enabled") << i;
      // A 404 among successes: errors are matched too.
      auto gone = co_await c.GetUser("user_doesnotexist" + n);
      EXPECT_FALSE(gone);
      if (!gone) {
        EXPECT_EQ(ApiErrorOf(gone.error()).kind, ApiError::Kind::kNotFound);
      }
    }
  });
  EXPECT_EQ(ids.size(), static_cast<size_t>(kUsers));
  auto stats = c.stats();
  EXPECT_GT(stats.pipelined, 0u);
  EXPECT_LE(stats.connections_opened, 2u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(stats.ambiguous_writes, 0u);
}

TEST(Pipelining, ServerClosingAfterEachFewRequestsLosesNothing) {
  // The emulator answers every 5th request on a connection with
  // "Connection: close"; requests pipelined behind it were never processed
  // and are resent on a new connection, creates included, without being
  // counted as ambiguous.
  Emulator emu({"--keepalive-requests", "5", "--latency", "2ms"});
  asio::io_context io;
  auto client = PipelinedClient(io, emu, 2, 4);
  const int kUsers = 100;
  int created = 0;
  RunWorkers(io, 8, [&](int w) -> awaitable<void> {
    for (int i = w; i < kUsers; i += 8) {
      std::string n = std::to_string(i);
      auto id = co_await client->CreateUser(UserReq("k" + n, kRootOu, "kx" + n));
      CO_REQUIRE(id);
      ++created;
    }
  });
  EXPECT_EQ(created, kUsers);
  auto names = UsernamesInState(emu);
  EXPECT_EQ(names.size(), static_cast<size_t>(kUsers));
  for (const auto& [name, n] : names) EXPECT_EQ(n, 1) << name;
  auto stats = client->stats();
  EXPECT_EQ(stats.ambiguous_writes, 0u);
  EXPECT_GE(stats.connections_opened, static_cast<uint64_t>(kUsers / 5));
  EXPECT_GT(stats.pipelined, 0u);
}

TEST(Pipelining, InjectedFaultsEveryOperationCompletesExactlyOnce) {
  // Resets and dropped responses break connections with other requests
  // pipelined behind the failing one. Idempotent calls are resent; creates
  // come back ambiguous and are looked up before any resend.
  Emulator emu({"--faults", "5xx=0.10,reset=0.10,drop_after_commit=0.05",
                "--latency", "0ms-2ms"});
  asio::io_context io;
  auto client = PipelinedClient(io, emu, 2, 4);
  auto& c = *client;
  const int kUsers = 60;
  int lookups = 0;
  std::map<int, std::string> ids;
  RunWorkers(io, 8, [&](int w) -> awaitable<void> {
    for (int i = w; i < kUsers; i += 8) {
      std::string n = std::to_string(i);
      auto id = co_await CreateUserExactlyOnce(
          c, UserReq("f" + n, kRootOu, "fx" + n), &lookups);
      CO_REQUIRE(id);
      ids[i] = *id;
      auto p = co_await c.PatchUser(*id, UserPatchName("F " + n));
      CO_REQUIRE(p);
      auto u = co_await c.GetUser(*id);
      CO_REQUIRE(u);
      EXPECT_EQ(u->display_name, "F " + n);
      if (i % 2 == 0) {
        auto del = co_await c.DeleteUser(*id);
        CO_REQUIRE(del);
      }
    }
  });
  ASSERT_EQ(ids.size(), static_cast<size_t>(kUsers));
  auto names = UsernamesInState(emu);
  EXPECT_EQ(names.size(), static_cast<size_t>(kUsers / 2));
  for (const auto& [name, n] : names) EXPECT_EQ(n, 1) << name;
  auto stats = c.stats();
  EXPECT_GT(stats.retries, 10u);  // the faults did happen
  EXPECT_GT(stats.pipelined, 0u);
  EXPECT_GT(lookups, 0);
}

TEST(Pipelining, DepthOneNeverPipelines) {
  Emulator emu;
  asio::io_context io;
  auto client = PipelinedClient(io, emu, 2, 1);
  std::string id;
  RunCoro(io, [&]() -> awaitable<void> {
    auto r = co_await client->CreateUser(UserReq("one", kRootOu));
    CO_REQUIRE(r);
    id = *r;
  });
  RunWorkers(io, 16, [&](int) -> awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      auto u = co_await client->GetUser(id);
      CO_REQUIRE(u);
    }
  });
  EXPECT_EQ(client->stats().pipelined, 0u);
  EXPECT_LE(client->stats().connections_opened, 2u);
}

}  // namespace
}  // namespace idsync::idaas::testing
