// The client against the real emulator over loopback: every call, paging,
// errors by kind, tokens, secrets never logged.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <set>

#include "helpers.h"

namespace idsync::idaas::testing {
namespace {

using asio::awaitable;

// Fails the test and leaves the coroutine when a Result holds an error.
#define CO_REQUIRE(r)                                            \
  if (!(r)) {                                                    \
    ADD_FAILURE() << #r << ": " << (r).error().message;       \
    co_return;                                                   \
  }

TEST(ClientCreate, ValidatesOptions) {
  asio::io_context io;
  Options o;
  o.instance_id = kInstance;
  o.application_id = kApp;
  o.endpoint = "http://example.com";
  auto c = Client::Create(io.get_executor(), o);
  ASSERT_FALSE(c);
  EXPECT_EQ(ApiErrorOf(c.error()).kind, ApiError::Kind::kClient);
  EXPECT_NE(ApiErrorOf(c.error()).message.find("loopback"), std::string::npos);
  o.allow_insecure_http = true;
  EXPECT_TRUE(Client::Create(io.get_executor(), o));
  o.endpoint = "http://127.0.0.1:1";
  o.allow_insecure_http = false;
  EXPECT_TRUE(Client::Create(io.get_executor(), o));
  o.endpoint = "https://localhost:1";
  o.ca_file = "/nonexistent/ca.pem";
  auto bad = Client::Create(io.get_executor(), o);
  ASSERT_FALSE(bad);
  EXPECT_NE(ApiErrorOf(bad.error()).message.find("ca_file"), std::string::npos);
  o.ca_file.clear();
  o.instance_id.clear();
  EXPECT_FALSE(Client::Create(io.get_executor(), o));
}

TEST(ApiErrorTest, ToStringHasTheFacts) {
  ApiError e;
  e.action = "CreateUser";
  e.kind = ApiError::Kind::kConflict;
  e.http_status = 409;
  e.code = "EntityAlreadyExists.User.Username";
  e.message = "exists";
  e.request_id = "req-1";
  e.attempts = 2;
  EXPECT_EQ(e.ToString(),
            "CreateUser: conflict (HTTP 409 EntityAlreadyExists.User.Username: "
            "exists request_id=req-1) after 2 attempts");
}

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = std::make_unique<Emulator>();
    auto c = Client::Create(io_.get_executor(), emu_->ClientOptions());
    ASSERT_TRUE(c) << ApiErrorOf(c.error()).message;
    client_ = std::move(*c);
  }
  LogCapture logs_;  // before the client, which picks up the "idaas" logger
  asio::io_context io_;
  std::unique_ptr<Emulator> emu_;
  std::unique_ptr<Client> client_;
};

TEST_F(EmulatorTest, EveryCall) {
  auto& logs = logs_;
  std::string token_value;
  RunCoro(io_, [&]() -> awaitable<void> {
    auto& c = *client_;
    auto token = co_await c.GenerateToken();
    CO_REQUIRE(token);
    EXPECT_FALSE(token->access_token.empty());
    token_value = token->access_token;
    EXPECT_EQ(token->token_type, "Bearer");
    EXPECT_GT(token->expires_in, 0);
    EXPECT_GT(token->expires_at, 0);

    auto scope = co_await c.GetApplicationProvisioningScope();
    CO_REQUIRE(scope);
    EXPECT_EQ(scope->organizational_unit_ids,
              std::vector<std::string>{kRootOu});

    // OUs.
    auto ou1 = co_await c.CreateOrganizationalUnit(
        OuReq("Sales", kRootOu, "sales dept", "ext-sales"));
    CO_REQUIRE(ou1);
    auto ou2 = co_await c.CreateOrganizationalUnit(OuReq("EMEA", *ou1));
    CO_REQUIRE(ou2);
    auto got_ou = co_await c.GetOrganizationalUnit(*ou1);
    CO_REQUIRE(got_ou);
    EXPECT_EQ(got_ou->organizational_unit_name, "Sales");
    EXPECT_EQ(got_ou->description, "sales dept");
    EXPECT_EQ(got_ou->parent_id, kRootOu);
    EXPECT_EQ(got_ou->organizational_unit_external_id, "ext-sales");
    {
      auto _r6 = co_await c.PatchOrganizationalUnit(
        *ou1, OuPatch("Sales & Marketing"));
      CO_REQUIRE(_r6);
    }
    got_ou = co_await c.GetOrganizationalUnit(*ou1);
    CO_REQUIRE(got_ou);
    EXPECT_EQ(got_ou->organizational_unit_name, "Sales & Marketing");
    EXPECT_EQ(got_ou->description, "sales dept");  // PATCH keeps the rest
    auto children = co_await c.ListAllOrganizationalUnits(kRootOu);
    CO_REQUIRE(children);
    EXPECT_EQ(children->size(), 1u);
    if (!children->empty()) {
      EXPECT_EQ((*children)[0].organizational_unit_id, *ou1);
    }
    auto page = co_await c.ListOrganizationalUnits(*ou1, 1, 10);
    CO_REQUIRE(page);
    EXPECT_EQ(page->total_count, 1);
    auto parents = co_await c.ListOrganizationalUnitParentIds(*ou2);
    CO_REQUIRE(parents);
    EXPECT_EQ(*parents, (std::vector<std::string>{kRootOu, *ou1}));
    auto by_ext = co_await c.GetOrganizationalUnitIdByExternalId("ext-sales");
    CO_REQUIRE(by_ext);
    EXPECT_EQ(*by_ext, *ou1);

    // Users.
    CreateUserRequest alice = UserReq("alice", *ou1, "emp-1");
    alice.display_name = "Alice A";
    alice.email = "alice@example.com";
    alice.email_verified = true;
    alice.phone_number = "13800000000";
    alice.phone_number_verified = true;
    alice.phone_region = "86";
    alice.password = "S3cret-Passw0rd!";
    auto uid = co_await c.CreateUser(alice);
    CO_REQUIRE(uid);
    auto user = co_await c.GetUser(*uid);
    CO_REQUIRE(user);
    EXPECT_EQ(user->username, "alice");
    EXPECT_EQ(user->display_name, "Alice A");
    EXPECT_EQ(user->email, "alice@example.com");
    EXPECT_TRUE(user->email_verified);
    EXPECT_EQ(user->phone_number, "13800000000");
    EXPECT_EQ(user->user_external_id, "emp-1");
    EXPECT_EQ(user->user_source_type, "build_in");
    EXPECT_EQ(user->user_source_id, kInstance);
    EXPECT_EQ(user->primary_organizational_unit_id, *ou1);
    EXPECT_EQ(user->status, "enabled");
    EXPECT_GT(user->create_time, 1'000'000'000'000);  // milliseconds

    {
      auto _r14 = co_await c.PatchUser(*uid, UserPatchName("Alice B"));
      CO_REQUIRE(_r14);
    }
    {
      auto _r15 = co_await c.DisableUser(*uid);
      CO_REQUIRE(_r15);
    }
    user = co_await c.GetUser(*uid);
    CO_REQUIRE(user);
    EXPECT_EQ(user->display_name, "Alice B");
    EXPECT_EQ(user->email, "alice@example.com");
    EXPECT_EQ(user->status, "disabled");
    {
      auto _r17 = co_await c.EnableUser(*uid);
      CO_REQUIRE(_r17);
    }
    user = co_await c.GetUser(*uid);
    CO_REQUIRE(user);
    EXPECT_EQ(user->status, "enabled");

    {
      auto _r19 = co_await c.GetUserIdByUserExternalId("emp-1");
      CO_REQUIRE(_r19);
      EXPECT_EQ(*_r19, *uid);
    }
    {
      auto _r20 = co_await c.GetUserIdByUsername("alice");
      CO_REQUIRE(_r20);
      EXPECT_EQ(*_r20, *uid);
    }
    {
      auto _r21 = co_await c.GetUserIdByEmail("alice@example.com");
      CO_REQUIRE(_r21);
      EXPECT_EQ(*_r21, *uid);
    }
    auto missing = co_await c.GetUserIdByUsername("nobody");
    EXPECT_FALSE(missing);
    if (!missing) {
      EXPECT_EQ(ApiErrorOf(missing.error()).kind, ApiError::Kind::kNotFound);
    }

    {
      auto _r22 = co_await c.AddUserToOrganizationalUnits(*uid, Ids(*ou2));
      CO_REQUIRE(_r22);
    }
    user = co_await c.GetUser(*uid);
    CO_REQUIRE(user);
    EXPECT_EQ(user->organizational_units.size(), 2u);
    {
      auto _r24 = co_await c.SetUserPrimaryOrganizationalUnit(*uid, *ou2);
      CO_REQUIRE(_r24);
    }
    user = co_await c.GetUser(*uid);
    CO_REQUIRE(user);
    EXPECT_EQ(user->primary_organizational_unit_id, *ou2);
    auto in_ou2 = co_await c.ListAllUsers(*ou2);
    CO_REQUIRE(in_ou2);
    EXPECT_EQ(in_ou2->size(), 1u);
    auto upage = co_await c.ListUsers(std::nullopt, 1, 20);
    CO_REQUIRE(upage);
    EXPECT_EQ(upage->total_count, 1);
    // The old primary may or may not stay a membership; removing it if it is
    // there must work.
    bool in_ou1 = false;
    for (const auto& m : user->organizational_units)
      in_ou1 |= m.organizational_unit_id == *ou1;
    if (in_ou1)
      {
        auto _r28 = co_await c.RemoveUserFromOrganizationalUnits(*uid, Ids(*ou1));
        CO_REQUIRE(_r28);
      }
    auto primary_removal =
        co_await c.RemoveUserFromOrganizationalUnits(*uid, Ids(*ou2));
    EXPECT_FALSE(primary_removal);  // the primary OU cannot be removed

    // Groups.
    auto gid = co_await c.CreateGroup(GroupReq("admins", "g-ext-1"));
    CO_REQUIRE(gid);
    auto group = co_await c.GetGroup(*gid);
    CO_REQUIRE(group);
    EXPECT_EQ(group->group_name, "admins");
    EXPECT_EQ(group->group_external_id, "g-ext-1");
    {
      auto _r31 = co_await c.PatchGroup(*gid, GroupPatch("administrators"));
      CO_REQUIRE(_r31);
    }
    group = co_await c.GetGroup(*gid);
    CO_REQUIRE(group);
    EXPECT_EQ(group->group_name, "administrators");
    auto groups = co_await c.ListAllGroups();
    CO_REQUIRE(groups);
    EXPECT_EQ(groups->size(), 1u);
    auto gpage = co_await c.ListGroups("", 10, "admin");
    CO_REQUIRE(gpage);
    EXPECT_EQ(gpage->groups.size(), 1u);
    {
      auto _r35 = co_await c.AddUsersToGroup(*gid, Ids(*uid));
      CO_REQUIRE(_r35);
    }
    {
      auto _r36 = co_await c.AddUsersToGroup(*gid, Ids(*uid));
      CO_REQUIRE(_r36);
    }  // idempotent
    auto members = co_await c.ListAllUsersForGroup(*gid);
    CO_REQUIRE(members);
    EXPECT_EQ(*members, std::vector<std::string>{*uid});
    auto mpage = co_await c.ListUsersForGroup(*gid, "", 10);
    CO_REQUIRE(mpage);
    EXPECT_EQ(mpage->user_ids.size(), 1u);
    {
      auto _r39 = co_await c.RemoveUsersFromGroup(*gid, Ids(*uid));
      CO_REQUIRE(_r39);
    }
    {
      auto _r40 = co_await c.RemoveUsersFromGroup(*gid, Ids(*uid));
      CO_REQUIRE(_r40);
    }  // non-member ok
    members = co_await c.ListAllUsersForGroup(*gid);
    CO_REQUIRE(members);
    EXPECT_TRUE(members->empty());

    // Errors by kind; validation errors are final (one attempt).
    auto dup = co_await c.CreateUser(UserReq("alice", *ou1));
    EXPECT_FALSE(dup);
    if (!dup) {
      EXPECT_EQ(ApiErrorOf(dup.error()).kind, ApiError::Kind::kConflict) << dup.error().message;
      EXPECT_EQ(ApiErrorOf(dup.error()).http_status, 409);
      EXPECT_FALSE(ApiErrorOf(dup.error()).request_id.empty());
      EXPECT_EQ(ApiErrorOf(dup.error()).attempts, 1);
      EXPECT_FALSE(ApiErrorOf(dup.error()).retryable);
    }
    auto invalid = co_await c.CreateUser(UserReq("bad name!", *ou1));
    EXPECT_FALSE(invalid);
    if (!invalid) {
      EXPECT_EQ(ApiErrorOf(invalid.error()).kind, ApiError::Kind::kClient);
      EXPECT_EQ(ApiErrorOf(invalid.error()).http_status, 400);
      EXPECT_EQ(ApiErrorOf(invalid.error()).attempts, 1);
    }
    auto nf = co_await c.GetUser("user_doesnotexist");
    EXPECT_FALSE(nf);
    if (!nf) {
      EXPECT_EQ(ApiErrorOf(nf.error()).kind, ApiError::Kind::kNotFound);
      EXPECT_FALSE(ApiErrorOf(nf.error()).code.empty());
    }

    // Deletes.
    {
      auto _r42 = co_await c.DeleteGroup(*gid);
      CO_REQUIRE(_r42);
    }
    {
      auto _r43 = co_await c.DeleteUser(*uid);
      CO_REQUIRE(_r43);
    }
    auto gone = co_await c.DeleteUser(*uid);  // first attempt 404: an error
    EXPECT_FALSE(gone);
    if (!gone) {
      EXPECT_EQ(ApiErrorOf(gone.error()).kind, ApiError::Kind::kNotFound);
    }
    {
      auto _r44 = co_await c.DeleteOrganizationalUnit(*ou2);
      CO_REQUIRE(_r44);
    }
    {
      auto _r45 = co_await c.DeleteOrganizationalUnit(*ou1);
      CO_REQUIRE(_r45);
    }
  });

  auto stats = client_->stats();
  EXPECT_GT(stats.requests, 40u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_LE(stats.connections_opened, 4u);
  EXPECT_GE(stats.token_refreshes, 1u);
  EXPECT_EQ(stats.actions["GetUser"].status_2xx, 5u);
  EXPECT_EQ(stats.actions["GetUser"].status_4xx, 1u);
  uint64_t buckets = 0;
  for (auto b : stats.actions["GetUser"].latency_buckets) buckets += b;
  EXPECT_EQ(buckets, stats.actions["GetUser"].calls);

  // Secrets never reach the log, though the log has a line per request.
  auto text = logs.text();
  EXPECT_NE(text.find("GetUser"), std::string::npos);
  EXPECT_EQ(text.find(kSecret), std::string::npos);
  EXPECT_EQ(text.find(token_value), std::string::npos);
  EXPECT_EQ(text.find("Bearer"), std::string::npos);
  EXPECT_EQ(text.find("S3cret-Passw0rd!"), std::string::npos);

  // Headers as the SDKs send them: the emulator saw x-acs-action.
  auto log = emu_->Requests();
  ASSERT_FALSE(log.empty());
  for (const auto& e : log) {
    EXPECT_EQ(e.at("action").as_string(), e.at("operation").as_string())
        << json::serialize(e);
    EXPECT_EQ(json::serialize(e).find(kSecret), std::string::npos);
  }
}

TEST_F(EmulatorTest, PaginationAcrossManyPages) {
  RunCoro(io_, [&]() -> awaitable<void> {
    auto& c = *client_;
    auto ou = co_await c.CreateOrganizationalUnit(OuReq("big", kRootOu));
    CO_REQUIRE(ou);
    // 230 users, 120 child OUs, 130 groups, created 8 at a time.
    const int kUsers = 230, kOus = 120, kGroups = 130;
    int pending = 0;
    std::vector<std::string> user_ids;
    std::string group_id;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    auto spawn = [&](auto fn) {
      ++pending;
      asio::co_spawn(ex, fn, [&](std::exception_ptr) {
        if (--pending == 0) done.cancel();
      });
    };
    for (int w = 0; w < 8; ++w) {
      spawn([&, w]() -> awaitable<void> {
        for (int i = w; i < kUsers; i += 8) {
          auto r = co_await c.CreateUser(
              UserReq("u" + std::to_string(i), *ou, "e" + std::to_string(i)));
          EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;
          if (r) user_ids.push_back(*r);
        }
        for (int i = w; i < kOus; i += 8) {
          auto r = co_await c.CreateOrganizationalUnit(
              OuReq("child" + std::to_string(i), *ou));
          EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;
        }
        for (int i = w; i < kGroups; i += 8) {
          auto r = co_await c.CreateGroup(GroupReq("g" + std::to_string(i)));
          EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;
        }
      });
    }
    co_await done.async_wait(asio::as_tuple(asio::use_awaitable));

    auto users = co_await c.ListAllUsers(*ou);
    CO_REQUIRE(users);
    EXPECT_EQ(users->size(), static_cast<size_t>(kUsers));
    std::set<std::string> ids;
    for (const auto& u : *users) ids.insert(u.user_id);
    EXPECT_EQ(ids.size(), static_cast<size_t>(kUsers));
    auto all_users = co_await c.ListAllUsers();
    CO_REQUIRE(all_users);
    EXPECT_EQ(all_users->size(), static_cast<size_t>(kUsers));
    int pages = 0;
    auto st = co_await c.StreamUsers(*ou, [&](std::vector<User>&& p) {
      ++pages;
      EXPECT_LE(p.size(), 100u);
    });
    EXPECT_TRUE(st);
    EXPECT_EQ(pages, 3);

    auto ous = co_await c.ListAllOrganizationalUnits(*ou);
    CO_REQUIRE(ous);
    EXPECT_EQ(ous->size(), static_cast<size_t>(kOus));
    auto groups = co_await c.ListAllGroups();
    CO_REQUIRE(groups);
    EXPECT_EQ(groups->size(), static_cast<size_t>(kGroups));
    if (groups->empty()) co_return;
    group_id = (*groups)[0].group_id;
    // Add in chunks, then list the members across pages.
    for (size_t i = 0; i < user_ids.size(); i += 50) {
      std::vector<std::string> chunk(
          user_ids.begin() + i,
          user_ids.begin() + std::min(user_ids.size(), i + 50));
      {
        auto _r51 = co_await c.AddUsersToGroup(group_id, chunk);
        CO_REQUIRE(_r51);
      }
    }
    auto members = co_await c.ListAllUsersForGroup(group_id);
    CO_REQUIRE(members);
    EXPECT_EQ(members->size(), user_ids.size());
  });
}

TEST_F(EmulatorTest, TokenExpiryMidRunRefreshesOnceEach) {
  emu_->Config(R"({"tokenTtl":"2s"})");
  RunCoro(io_, [&]() -> awaitable<void> {
    auto& c = *client_;
    auto ex = co_await asio::this_coro::executor;
    // ~3.5 s of calls: the 2 s token is refreshed before it expires.
    auto end = std::chrono::steady_clock::now() + 3500ms;
    int calls = 0;
    while (std::chrono::steady_clock::now() < end) {
      {
        auto _r53 = co_await c.GetApplicationProvisioningScope();
        CO_REQUIRE(_r53);
      }
      ++calls;
      asio::steady_timer t(ex, 20ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    EXPECT_GT(calls, 50);
  });
  auto stats = client_->stats();
  EXPECT_GE(stats.token_refreshes, 2u);
  EXPECT_LE(stats.token_refreshes, 3u);
  // Refreshed before expiry: the server never answered 401.
  EXPECT_EQ(stats.actions["GetApplicationProvisioningScope"].status_4xx, 0u);
}

TEST_F(EmulatorTest, RevokedTokenOneSharedRefreshAndReplay) {
  RunCoro(io_, [&]() -> awaitable<void> {
    {
      auto _r54 = co_await client_->GetApplicationProvisioningScope();
      CO_REQUIRE(_r54);
    }
  });
  ASSERT_EQ(client_->stats().token_refreshes, 1u);
  // Every token expires on the server: the next calls get 401, share one
  // refresh, and replay once.
  EXPECT_EQ(emu_->Admin(http::verb::post, "/_emulator/tokens/expire").status, 200);
  RunCoro(io_, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    int pending = 8;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < 8; ++i) {
      asio::co_spawn(ex, [&]() -> awaitable<void> {
        auto r = co_await client_->GetApplicationProvisioningScope();
        EXPECT_TRUE(r) << ApiErrorOf(r.error()).message;
      }, [&](std::exception_ptr) { if (--pending == 0) done.cancel(); });
    }
    co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  });
  auto stats = client_->stats();
  EXPECT_EQ(stats.token_refreshes, 2u);
  EXPECT_EQ(stats.retries, 8u);  // each call replayed once after its 401
  int token_requests = 0;
  for (const auto& e : emu_->Requests())
    token_requests += e.at("operation").as_string() == "GenerateToken";
  EXPECT_EQ(token_requests, 2);
}

TEST(EmulatorAuth, BadCredentialsFailFastWithoutHotLoop) {
  Emulator emu;
  asio::io_context io;
  LogCapture logs;
  auto o = emu.ClientOptions();
  o.client_secret = "wrong-secret-value";
  auto client = std::move(*Client::Create(io.get_executor(), o));
  RunCoro(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      auto r = co_await client->GetApplicationProvisioningScope();
      EXPECT_FALSE(r);
      if (!r) {
        EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kAuth) << r.error().message;
        EXPECT_FALSE(ApiErrorOf(r.error()).code.empty());  // the OAuth "error" value
      }
    }
  });
  int token_requests = 0;
  for (const auto& e : emu.Requests())
    token_requests += e.at("operation").as_string() == "GenerateToken";
  EXPECT_EQ(token_requests, 1);  // backing off, not asking 20 times
  EXPECT_EQ(logs.text().find("wrong-secret-value"), std::string::npos);
}

TEST(EmulatorReuse, TenThousandCallsOnAtMostPoolSizeConnections) {
  Emulator emu;
  asio::io_context io;
  auto o = emu.ClientOptions();
  o.connections = 4;
  auto client = std::move(*Client::Create(io.get_executor(), o));
  std::string uid;
  RunCoro(io, [&]() -> awaitable<void> {
    {
      auto _r55 = co_await client->CreateUser(UserReq("reuse", kRootOu));
      CO_REQUIRE(_r55);
      uid = *_r55;
    }
  });
  int ok = 0;
  RunCoro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    int pending = 16;
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    for (int w = 0; w < 16; ++w) {
      asio::co_spawn(ex, [&, w]() -> awaitable<void> {
        for (int i = w; i < 10000; i += 16) {
          auto r = co_await client->GetUser(uid);
          if (r) ++ok;
          else {
            ADD_FAILURE() << ApiErrorOf(r.error()).message;
          }
        }
      }, [&](std::exception_ptr) { if (--pending == 0) done.cancel(); });
    }
    co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  });
  EXPECT_EQ(ok, 10000);
  auto stats = client->stats();
  EXPECT_LE(stats.connections_opened, 4u);
  EXPECT_EQ(stats.actions["GetUser"].calls, 10000u);
}

}  // namespace
}  // namespace idsync::idaas::testing
