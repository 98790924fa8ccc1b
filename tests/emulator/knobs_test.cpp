// Test knobs and run modes of idaas-emulator: throttling, latency, faults,
// request log, state dump/load/reset, the --state file, HTTPS and IPv6.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include "emulator_fixture.h"

namespace idsync::emulator_test {
namespace {

using Knobs = EmulatorTest;
using Clock = std::chrono::steady_clock;

json::array Requests(const HttpResponse& log) {
  return log.json.at("requests").as_array();
}

TEST_F(Knobs, ThrottlingSends429WithRetryHeaders) {
  Start({"--qps", "5"});
  int ok = 0, throttled = 0;
  HttpResponse last;
  for (int i = 0; i < 20; ++i) {
    HttpResponse response = Api("GET", "/provisioningScope");
    if (response.status == 200) ++ok;
    if (response.status == 429) {
      ++throttled;
      last = response;
    }
  }
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 7);  // one second of burst, plus refill during the loop
  ASSERT_GT(throttled, 0);
  ExpectApiError(last, 429, "Throttling.User");
  EXPECT_TRUE(std::regex_match(last.Header("retry-after"), std::regex(R"([1-9]\d*)")))
      << last.Header("retry-after");
  std::smatch match;
  const std::string rate = last.Header("x-ratelimit-user-api");
  ASSERT_TRUE(std::regex_search(rate, match,
                                std::regex(R"(^Limit:5,TimeLeft:(\d+),Remain:0$)")))
      << rate;
  const int time_left = std::stoi(match[1]);
  EXPECT_GT(time_left, 0);
  EXPECT_LE(time_left, 200);
  // After waiting TimeLeft the next call passes.
  std::this_thread::sleep_for(std::chrono::milliseconds(time_left + 20));
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
  // The log marks throttled requests.
  int logged = 0;
  for (const auto& entry : Requests(Admin("GET", "/requests"))) {
    if (Str(entry, "fault") == "throttled") {
      ++logged;
      EXPECT_EQ(entry.at("status").as_int64(), 429);
    }
  }
  EXPECT_EQ(logged, throttled);
}

TEST_F(Knobs, LatencyDelaysResponses) {
  Start({"--latency", "150ms"});
  Token();  // the token endpoint is delayed too
  auto start = Clock::now();
  EXPECT_EQ(Api("GET", "/users").status, 200);
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(140));
  // Changed at run time; admin calls are never delayed.
  ASSERT_EQ(Admin("POST", "/config", R"({"latency":"0"})").status, 200);
  start = Clock::now();
  EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(140));
}

TEST_F(Knobs, LatencyRangeIsHonouredWithConcurrentConnections) {
  Start({"--latency", "100ms-200ms"});
  token_ = Token();
  // A delayed response must not block other connections.
  HttpClient other(address_);
  auto start = Clock::now();
  EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_EQ(other.Send("GET", "/_emulator/config")->status, 200);
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(95));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
}

TEST_F(Knobs, ServerErrorFaultAppliesNothing) {
  token_ = Token();
  ASSERT_EQ(Admin("POST", "/config", R"({"faults":"5xx=1"})").status, 200);
  for (int i = 0; i < 6; ++i) {
    HttpResponse response =
        Api("POST", "/users",
            json::value{{"username", "u" + std::to_string(i)},
                        {"primaryOrganizationalUnitId", kRoot}});
    ASSERT_TRUE(response.status == 500 || response.status == 503) << response.body;
    ExpectApiError(response, response.status,
                   response.status == 500 ? "InternalError" : "ServiceUnavailable");
  }
  ASSERT_EQ(Admin("POST", "/config", R"({"faults":""})").status, 200);
  EXPECT_EQ(Api("GET", "/users").json.at("totalCount").as_int64(), 0);
}

TEST_F(Knobs, ResetFaultClosesWithoutResponse) {
  Start({"--faults", "reset=1"});
  token_ = Token();  // the token endpoint is exempt
  ASSERT_FALSE(token_.empty());
  EXPECT_FALSE(http_->Send("GET", std::string(kPrefix) + "/users", "",
                           {{"Authorization", "Bearer " + token_}})
                   .has_value());
  json::array log = Requests(Admin("GET", "/requests"));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(Str(log[1], "fault"), "reset");
  EXPECT_EQ(log[1].at("status").as_int64(), 0);
}

TEST_F(Knobs, DropAfterCommitAppliesWritesOnly) {
  Start({"--faults", "drop_after_commit=1"});
  token_ = Token();
  // Reads are answered.
  EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_EQ(Api("POST", "/users/_/actions/getUserIdByUsername",
                json::value{{"username", "zed"}})
                .status,
            404);
  // The write is applied but its response never arrives.
  EXPECT_FALSE(http_->Send("POST", std::string(kPrefix) + "/users",
                           json::serialize(json::value{
                               {"username", "zed"},
                               {"primaryOrganizationalUnitId", kRoot}}),
                           {{"Authorization", "Bearer " + token_}})
                   .has_value());
  HttpResponse found = Api("POST", "/users/_/actions/getUserIdByUsername",
                           json::value{{"username", "zed"}});
  EXPECT_EQ(found.status, 200) << found.body;
  // A refused write is answered normally (nothing was committed).
  ExpectApiError(Api("POST", "/users",
                     json::value{{"username", "zed"},
                                 {"primaryOrganizationalUnitId", kRoot}}),
                 409, "EntityAlreadyExists.User.Username");
  bool logged = false;
  for (const auto& entry : Requests(Admin("GET", "/requests"))) {
    if (Str(entry, "fault") == "drop_after_commit") {
      logged = true;
      EXPECT_EQ(Str(entry, "operation"), "CreateUser");
      EXPECT_EQ(entry.at("status").as_int64(), 200);
    }
  }
  EXPECT_TRUE(logged);
}

TEST_F(Knobs, FaultRatesAreRoughlyHonoured) {
  Start({"--faults", "5xx=0.3", "--seed", "42"});
  int errors = 0;
  for (int i = 0; i < 200; ++i) {
    if (Api("GET", "/provisioningScope").status >= 500) ++errors;
  }
  EXPECT_GT(errors, 30);
  EXPECT_LT(errors, 95);
}

TEST_F(Knobs, RequestLogRecordsAndPages) {
  Send("POST",
       std::string(kPrefix) +
           "/oauth2/token?grant_type=client_credentials&client_id=app_emulator&"
           "client_secret=emulator-secret",
       "", {{"x-acs-action", "GenerateToken"}});
  token_ = Token();
  Send("GET", std::string(kPrefix) + "/users?pageSize=5", "",
       {{"Authorization", "Bearer " + token_}, {"x-acs-action", "ListUsers"}});
  HttpResponse log = Admin("GET", "/requests");
  ASSERT_EQ(log.status, 200);
  json::array entries = Requests(log);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(log.json.at("nextSince").as_int64(), 3);
  const json::value& first = entries[0];
  EXPECT_EQ(Str(first, "action"), "GenerateToken");
  EXPECT_EQ(Str(first, "operation"), "GenerateToken");
  // Secrets never reach the log.
  EXPECT_EQ(Str(first, "query").find("emulator-secret"), std::string::npos);
  EXPECT_NE(Str(first, "query").find("client_secret=***"), std::string::npos);
  const json::value& list = entries[2];
  EXPECT_EQ(Str(list, "method"), "GET");
  EXPECT_EQ(Str(list, "path"), std::string(kPrefix) + "/users");
  EXPECT_EQ(Str(list, "query"), "pageSize=5");
  EXPECT_EQ(Str(list, "action"), "ListUsers");
  EXPECT_EQ(list.at("status").as_int64(), 200);
  EXPECT_EQ(Str(list, "clientId"), "app_emulator");
  EXPECT_FALSE(Str(list, "requestId").empty());
  EXPECT_TRUE(list.at("timeMs").is_int64());
  EXPECT_EQ(Requests(Admin("GET", "/requests?since=2")).size(), 1u);
  EXPECT_EQ(Admin("DELETE", "/requests").status, 200);
  EXPECT_EQ(Requests(Admin("GET", "/requests")).size(), 0u);
  // Sequence numbers keep counting after a clear.
  EXPECT_EQ(Admin("GET", "/requests").json.at("nextSince").as_int64(), 3);
}

TEST_F(Knobs, StateDumpLoadAndReset) {
  std::string ou = CreateOu("Dept");
  std::string user = CreateUser("hank", ou, {{"email", "h@example.com"}});
  std::string group = CreateGroup("g");
  Api("POST", "/groups/" + group + "/actions/addUsersToGroup",
      json::value{{"userIds", json::array{user}}});
  HttpResponse dump = Admin("GET", "/state");
  ASSERT_EQ(dump.status, 200);
  const json::object& state = dump.json.as_object();
  EXPECT_EQ(Str(dump.json, "format"), "idaas-emulator-state/1");
  EXPECT_EQ(Str(dump.json, "instanceId"), "idaas_emulator");
  const json::value& client = state.at("clients").as_array().at(0);
  EXPECT_EQ(Str(client, "clientId"), "app_emulator");
  EXPECT_EQ(Str(client, "clientSecret"), "emulator-secret");
  EXPECT_EQ(Str(client, "applicationId"), "app_emulator");
  EXPECT_EQ(client.at("permissions").as_array().size(), 4u);
  EXPECT_EQ(state.at("organizationalUnits").as_array().size(), 2u);
  EXPECT_EQ(state.at("users").as_array().size(), 1u);
  EXPECT_EQ(json::serialize(state.at("groups").as_array().at(0).at("userIds")),
            "[\"" + user + "\"]");

  EXPECT_EQ(Admin("POST", "/reset").status, 200);
  token_.clear();
  ExpectApiError(Api("GET", "/users/" + user), 404, "EntityNotExists.User");
  EXPECT_EQ(Admin("GET", "/state").json.at("organizationalUnits").as_array().size(), 1u);

  EXPECT_EQ(Admin("PUT", "/state", dump.body).status, 200);
  token_.clear();
  json::value restored = Api("GET", "/users/" + user).json;
  EXPECT_EQ(Str(restored, "email"), "h@example.com");
  EXPECT_EQ(Str(restored, "primaryOrganizationalUnitId"), ou);
  EXPECT_EQ(Str(restored.at("groups").as_array().at(0), "groupId"), group);

  HttpResponse bad = Admin("PUT", "/state", R"({"instanceId":"i","users":[{"userId":"u"}]})");
  ExpectApiError(bad, 400, "InvalidParameter.State");
  HttpResponse dangling = Admin(
      "PUT", "/state",
      R"({"instanceId":"i","users":[{"userId":"u","username":"x","primaryOrganizationalUnitId":"ou_nope"}]})");
  ExpectApiError(dangling, 400, "InvalidParameter.State");
  // A failed load changes nothing.
  EXPECT_EQ(Api("GET", "/users/" + user).status, 200);
}

TEST_F(Knobs, RuntimeConfigChangesPermissionsAndTtl) {
  HttpResponse config = Admin("GET", "/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.json.at("tokenTtlMs").as_int64(), 1200000);
  ASSERT_EQ(Admin("POST", "/config",
                  json::serialize(json::value{
                      {"tokenTtl", "2s"},
                      {"client", {{"clientId", "app_emulator"},
                                  {"permissions", json::array{kUserRead}}}}}))
                .status,
            200);
  HttpResponse token = Send("POST", std::string(kPrefix) +
                                        "/oauth2/token?grant_type=client_"
                                        "credentials&client_id=app_emulator&"
                                        "client_secret=emulator-secret");
  EXPECT_EQ(token.json.at("expires_in").as_int64(), 2);
  token_ = Str(token.json, "access_token");
  EXPECT_EQ(Api("GET", "/users").status, 200);
  ExpectApiError(Api("POST", "/groups", json::value{{"groupName", "g"}}), 403,
                 "Forbidden.Permission");
  ExpectApiError(Admin("POST", "/config", R"({"faults":"bogus=1"})"), 400,
                 "InvalidParameter.Config");
  ExpectApiError(Admin("POST", "/config", R"({"client":{"clientId":"nope"}})"),
                 400, "InvalidParameter.Config");
  ExpectApiError(Admin("GET", "/nothing"), 404, "InvalidAction.NotFound");
}

TEST_F(Knobs, StateFileRoundTripAndFlagOverrides) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/state.json";
  Start({"--state", file});
  std::string ou = CreateOu("Persisted");
  std::string user = CreateUser("ivy", ou);
  process_->Signal(SIGTERM);
  ASSERT_EQ(process_->Wait(), std::optional<int>(0)) << process_->Stderr();
  ASSERT_TRUE(std::filesystem::exists(file));

  Start({"--state", file, "--client-secret", "rotated"});
  HttpResponse old_secret = Send(
      "POST", std::string(kPrefix) +
                  "/oauth2/token?grant_type=client_credentials&client_id="
                  "app_emulator&client_secret=emulator-secret");
  EXPECT_EQ(old_secret.status, 401);
  HttpResponse token = Send(
      "POST", std::string(kPrefix) +
                  "/oauth2/token?grant_type=client_credentials&client_id="
                  "app_emulator&client_secret=rotated");
  ASSERT_EQ(token.status, 200);
  token_ = Str(token.json, "access_token");
  json::value restored = Api("GET", "/users/" + user).json;
  EXPECT_EQ(Str(restored, "username"), "ivy");
  EXPECT_EQ(Str(restored, "primaryOrganizationalUnitId"), ou);
  process_->Signal(SIGINT);
  EXPECT_EQ(process_->Wait(), std::optional<int>(0));
}

TEST_F(Knobs, InvalidStartupInputExitsNonZero) {
  testing::TempDir dir;
  const std::string file = dir.Write("bad.json", "{not json");
  auto result = testing::Run({IDAAS_EMULATOR_BIN, "--listen", "127.0.0.1:0",
                              "--state", file},
                             std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("state"), std::string::npos);
  result = testing::Run({IDAAS_EMULATOR_BIN, "--faults", "5xx=2"},
                        std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2);
  result = testing::Run({IDAAS_EMULATOR_BIN, "--latency", "fast"},
                        std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 2);
}

TEST_F(Knobs, CustomIdentityFlags) {
  Start({"--instance-id", "idaas_custom", "--application-id", "app_custom",
         "--client-secret", "s3"});
  HttpResponse token = Send("POST",
                            "/v2/idaas_custom/app_custom/oauth2/token?grant_type="
                            "client_credentials&client_id=app_custom&client_"
                            "secret=s3");
  ASSERT_EQ(token.status, 200) << token.body;
  HttpResponse scope =
      Send("GET", "/v2/idaas_custom/app_custom/provisioningScope", "",
           {{"Authorization", "Bearer " + Str(token.json, "access_token")}});
  EXPECT_EQ(scope.status, 200);
}

TEST_F(Knobs, ServesHttps) {
  const std::string pki = IDSYNC_TEST_PKI_DIR;
  Start({"--tls-cert", pki + "/server.pem", "--tls-key", pki + "/server.key"},
        pki + "/ca.pem");
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
  EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_EQ(http_->connections_opened(), 1);
  // A plain-HTTP client gets no answer from the TLS port.
  HttpClient plain(address_);
  EXPECT_FALSE(plain.Send("GET", "/_emulator/config").has_value());
  // A client that does not trust the CA fails the handshake.
  HttpClient untrusted(address_, pki + "/untrusted-ca.pem");
  EXPECT_FALSE(untrusted.Send("GET", "/_emulator/config").has_value());
}

TEST_F(Knobs, ListensOnIpv6Loopback) {
  process_.reset();
  http_.reset();
  process_ = std::make_unique<testing::Process>(
      std::vector<std::string>{IDAAS_EMULATOR_BIN, "--listen", "[::1]:0"});
  auto line = process_->ReadLine();
  if (!line) GTEST_SKIP() << "no IPv6 loopback: " << process_->Stderr();
  EXPECT_TRUE(std::regex_match(*line, std::regex(R"(\[::1\]:\d+)"))) << *line;
  HttpClient client(*line);
  auto response = client.Send("GET", "/_emulator/config");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

}  // namespace
}  // namespace idsync::emulator_test
