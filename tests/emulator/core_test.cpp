// Unit tests of the pure handler with a fake clock: deterministic token
// expiry and throttling arithmetic, without sockets or sleeps.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {
namespace {

namespace json = boost::json;

class CoreTest : public ::testing::Test {
 protected:
  void Make(Options options) {
    options.seed = 1;
    emulator_ = std::make_unique<Emulator>(options, [this] { return now_us_; });
  }

  Response Call(const std::string& method, const std::string& path,
                const std::string& body = {}) {
    Request request;
    request.method = method;
    request.target = "/v2/idaas_emulator/app_emulator" + path;
    request.body = body;
    if (!token_.empty()) request.authorization = "Bearer " + token_;
    return emulator_->Handle(request);
  }

  std::string IssueToken() {
    Request request;
    request.method = "POST";
    request.target =
        "/v2/idaas_emulator/app_emulator/oauth2/token?grant_type=client_"
        "credentials&client_id=app_emulator&client_secret=emulator-secret";
    Response response = emulator_->Handle(request);
    EXPECT_EQ(response.status, 200);
    return std::string(
        json::parse(response.body).at("access_token").as_string());
  }

  static std::string Header(const Response& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return {};
  }

  int64_t now_us_ = 1'700'000'000'000'000;
  std::unique_ptr<Emulator> emulator_;
  std::string token_;
};

TEST_F(CoreTest, TokenExpiresExactlyAtTtl) {
  Options options;
  options.token_ttl = std::chrono::seconds(60);
  Make(options);
  token_ = IssueToken();
  now_us_ += 59'999'000;
  EXPECT_EQ(Call("GET", "/provisioningScope").status, 200);
  now_us_ += 1'000;
  Response expired = Call("GET", "/provisioningScope");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(json::parse(expired.body).at("code").as_string(), "InvalidToken");
}

TEST_F(CoreTest, TokenBucketRefillsAtQps) {
  Options options;
  options.qps = 10;
  Make(options);
  token_ = IssueToken();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Call("GET", "/provisioningScope").status, 200) << i;
  }
  Response throttled = Call("GET", "/provisioningScope");
  ASSERT_EQ(throttled.status, 429);
  EXPECT_EQ(Header(throttled, "Retry-After"), "1");
  EXPECT_EQ(Header(throttled, "x-ratelimit-user-api"),
            "Limit:10,TimeLeft:100,Remain:0");
  now_us_ += 40'000;
  EXPECT_EQ(Header(Call("GET", "/provisioningScope"), "x-ratelimit-user-api"),
            "Limit:10,TimeLeft:60,Remain:0");
  now_us_ += 60'000;
  EXPECT_EQ(Call("GET", "/provisioningScope").status, 200);
  EXPECT_EQ(Call("GET", "/provisioningScope").status, 429);
}

TEST_F(CoreTest, SlowRateRoundsRetryAfterUp) {
  Options options;
  options.qps = 0.4;  // one request every 2.5 s
  Make(options);
  token_ = IssueToken();
  EXPECT_EQ(Call("GET", "/provisioningScope").status, 200);
  Response throttled = Call("GET", "/provisioningScope");
  ASSERT_EQ(throttled.status, 429);
  EXPECT_EQ(Header(throttled, "Retry-After"), "3");
  EXPECT_EQ(Header(throttled, "x-ratelimit-user-api"),
            "Limit:0.4,TimeLeft:2500,Remain:0");
}

TEST_F(CoreTest, LatencyIsReportedNotSlept) {
  Options options;
  options.latency = {std::chrono::milliseconds(10), std::chrono::milliseconds(20)};
  Make(options);
  token_ = IssueToken();
  for (int i = 0; i < 50; ++i) {
    Response response = Call("GET", "/users");
    EXPECT_GE(response.delay, std::chrono::milliseconds(10));
    EXPECT_LE(response.delay, std::chrono::milliseconds(20));
  }
}

TEST_F(CoreTest, CreatedTimestampsUseTheClockInMilliseconds) {
  Make({});
  token_ = IssueToken();
  Response created = Call(
      "POST", "/users",
      R"({"username":"a","primaryOrganizationalUnitId":"ou_emulatorroot00000000000000"})");
  ASSERT_EQ(created.status, 200) << created.body;
  std::string id(json::parse(created.body).at("userId").as_string());
  json::value user = json::parse(Call("GET", "/users/" + id).body);
  EXPECT_EQ(user.at("createTime").as_int64(), now_us_ / 1000);
}

TEST_F(CoreTest, DumpThenLoadIsIdentity) {
  Make({});
  token_ = IssueToken();
  Call("POST", "/organizationalUnits",
       R"({"organizationalUnitName":"x","parentId":"ou_emulatorroot00000000000000"})");
  Call("POST", "/groups", R"({"groupName":"g"})");
  std::string dump = emulator_->DumpState();
  ASSERT_FALSE(emulator_->LoadState(dump).has_value());
  EXPECT_EQ(emulator_->DumpState(), dump);
  EXPECT_TRUE(emulator_->LoadState("[]").has_value());
  EXPECT_EQ(emulator_->DumpState(), dump);
}

// "_" in the id position is the collection actions' for the method that has
// them (POST /users/_/actions/getUserIdBy…): with POST it names no user, so a
// user action there is no operation; with another method it is an id.
TEST_F(CoreTest, UnderscoreNamesNoUserWhereCollectionActionsAre) {
  Make(Options());
  token_ = IssueToken();
  Response post = Call("POST", "/users/_/actions/enable");
  EXPECT_EQ(post.status, 404);
  EXPECT_EQ(json::parse(post.body).at("code").as_string(), "InvalidAction.NotFound");
  Response get = Call("GET", "/users/_/actions/listGroupsForUser");
  EXPECT_EQ(get.status, 404);
  EXPECT_EQ(json::parse(get.body).at("code").as_string(), "EntityNotExists.User");
  Response patch = Call("PATCH", "/users/_", "{}");
  EXPECT_EQ(json::parse(patch.body).at("code").as_string(), "EntityNotExists.User");
  Response lookup = Call("POST", "/users/_/actions/getUserIdByUsername", R"({"username":"x"})");
  EXPECT_EQ(json::parse(lookup.body).at("code").as_string(), "EntityNotExists.User");
}

}  // namespace
}  // namespace idsync::emulator
