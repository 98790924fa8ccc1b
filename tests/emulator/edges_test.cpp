// The edges of the real service the emulator reproduces: strict request
// bodies (an undocumented field is refused, so a client cannot come to rely
// on one), the 64-character name limits, and the knobs for wire behaviour a
// real gateway or clock produces (5xx after commit, huge throttling hints,
// skewed token expiry, lookups that answer 200 without an id).
#include <ctime>
#include <map>
#include <set>

#include "emulator_fixture.h"

namespace idsync::emulator_test {
namespace {

using Edges = EmulatorTest;

std::string Repeat(const std::string& unit, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += unit;
  return out;
}

// Every operation that takes body fields, with a body that would succeed,
// gets the same body plus one undocumented field: 400 naming the field, and
// nothing applied.
TEST_F(Edges, EveryBodyOperationRefusesAnUndocumentedField) {
  std::string ou = CreateOu("Eng");
  std::string user = CreateUser("alice", kRoot, {{"userExternalId", "A-1"}});
  std::string group = CreateGroup("admins");
  ASSERT_FALSE(ou.empty() || user.empty() || group.empty());
  const std::string state_before = Admin("GET", "/state").body;

  struct Case {
    std::string method, path;
    json::object body;
  };
  const std::string u = "/users/" + user;
  const std::vector<Case> cases = {
      {"POST",
       "/users",
       {{"username", "bob"}, {"primaryOrganizationalUnitId", kRoot}}},
      {"PATCH", u, {{"displayName", "A"}}},
      {"POST", u + "/actions/updateUserPassword", {{"password", "S3cret!x"}}},
      {"POST",
       "/users/_/actions/getUserIdByExternalId",
       {{"userExternalId", "A-1"},
        {"userSourceType", "build_in"},
        {"userSourceId", "idaas_emulator"}}},
      {"POST", "/users/_/actions/getUserIdByUsername", {{"username", "alice"}}},
      {"POST",
       "/users/_/actions/getUserIdByEmail",
       {{"email", "a@example.com"}}},
      {"POST",
       "/users/_/actions/getUserIdByPhoneNumber",
       {{"phoneNumber", "13800000000"}}},
      {"POST",
       u + "/actions/addUserToOrganizationalUnits",
       {{"organizationalUnitIds", json::array{ou}}}},
      {"POST",
       u + "/actions/removeUserFromOrganizationalUnits",
       {{"organizationalUnitIds", json::array{ou}}}},
      {"POST",
       u + "/actions/setUserPrimaryOrganizationalUnit",
       {{"organizationalUnitId", ou}}},
      {"POST",
       "/organizationalUnits",
       {{"organizationalUnitName", "Sales"}, {"parentId", kRoot}}},
      {"PATCH",
       "/organizationalUnits/" + ou,
       {{"organizationalUnitName", "E"}}},
      {"POST",
       "/organizationalUnits/_/actions/getOrganizationalUnitIdByExternalId",
       {{"organizationalUnitExternalId", ou},
        {"organizationalUnitSourceType", "build_in"},
        {"organizationalUnitSourceId", "idaas_emulator"}}},
      {"POST", "/groups", {{"groupName", "ops"}}},
      {"PATCH", "/groups/" + group, {{"groupName", "ops"}}},
      {"POST",
       "/groups/" + group + "/actions/addUsersToGroup",
       {{"userIds", json::array{user}}}},
      {"POST",
       "/groups/" + group + "/actions/removeUsersFromGroup",
       {{"userIds", json::array{user}}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    json::object body = c.body;
    body["nickname"] = "x";
    HttpResponse response = Api(c.method, c.path, json::value(body));
    ExpectApiError(response, 400, "InvalidParameter.Nickname");
    EXPECT_NE(Str(response.json, "message").find("nickname"), std::string::npos)
        << response.body;
    // null is still a field the operation does not have.
    body["nickname"] = nullptr;
    ExpectApiError(Api(c.method, c.path, json::value(body)), 400,
                   "InvalidParameter.Nickname");
  }
  EXPECT_EQ(Admin("GET", "/state").body, state_before);
}

TEST_F(Edges, GroupWritesHaveNoDescription) {
  ExpectApiError(Api("POST", "/groups",
                     json::value{{"groupName", "g"}, {"description", "d"}}),
                 400, "InvalidParameter.Description");
  std::string group = CreateGroup("g");
  ExpectApiError(
      Api("PATCH", "/groups/" + group, json::value{{"description", "d"}}), 400,
      "InvalidParameter.Description");
  // Reads still carry it (always empty for groups made through the API).
  EXPECT_EQ(Str(Api("GET", "/groups/" + group).json, "description"), "");
}

TEST_F(Edges, NestedObjectsAreStrictToo) {
  const json::value base = {{"username", "bob"},
                            {"primaryOrganizationalUnitId", kRoot}};
  json::object custom = base.as_object();
  custom["customFields"] = json::array{
      {{"fieldName", "dept"}, {"fieldValue", "R&D"}, {"operation", "add"}}};
  ExpectApiError(
      Api("POST", "/users", json::value(custom)), 400,
      "InvalidParameter.Operation");  // PatchUser's, not CreateUser's
  json::object init = base.as_object();
  init["passwordInitializationConfig"] = {
      {"passwordInitializationType", "random"}, {"length", 12}};
  ExpectApiError(Api("POST", "/users", json::value(init)), 400,
                 "InvalidParameter.Length");
  std::string user = CreateUser("carol");
  ExpectApiError(
      Api("PATCH", "/users/" + user,
          json::value{{"customFields",
                       json::array{{{"fieldName", "dept"}, {"x", "1"}}}}}),
      400, "InvalidParameter.X");
  ExpectApiError(
      Api("PATCH", "/users/" + user, json::value{{"description", "d"}}), 400,
      "InvalidParameter.Description");
}

TEST_F(Edges, NamesAreAtMost64CodePoints) {
  EXPECT_FALSE(CreateUser(std::string(64, 'a')).empty());
  ExpectApiError(Api("POST", "/users",
                     json::value{{"username", std::string(65, 'b')},
                                 {"primaryOrganizationalUnitId", kRoot}}),
                 400, "InvalidParameter.Username");
  // 64 two-byte characters are 128 bytes and still fit; 65 do not.
  const std::string e64 = Repeat("\xC3\xA9", 64);
  std::string user = CreateUser("dave", kRoot, {{"displayName", e64}});
  ASSERT_FALSE(user.empty());
  EXPECT_EQ(Str(Api("GET", "/users/" + user).json, "displayName"), e64);
  HttpResponse long_name =
      Api("POST", "/users",
          json::value{{"username", "erin"},
                      {"displayName", e64 + "\xC3\xA9"},
                      {"primaryOrganizationalUnitId", kRoot}});
  ExpectApiError(long_name, 400, "InvalidParameter.DisplayName");
  EXPECT_NE(Str(long_name.json, "message").find("longer than 64 characters"),
            std::string::npos);
  ExpectApiError(Api("PATCH", "/users/" + user,
                     json::value{{"displayName", Repeat("\xE4\xB8\xAD", 65)}}),
                 400, "InvalidParameter.DisplayName");
  ExpectApiError(Api("PATCH", "/users/" + user,
                     json::value{{"username", std::string(65, 'c')}}),
                 400, "InvalidParameter.Username");
  EXPECT_EQ(Api("PATCH", "/users/" + user,
                json::value{{"displayName", Repeat("\xE4\xB8\xAD", 64)}})
                .status,
            200);
}

TEST_F(Edges, ServerErrorAfterCommitAppliesTheWrite) {
  token_ = Token();
  ASSERT_EQ(
      Admin("POST", "/config", R"({"faults":"5xx_after_commit=1"})").status,
      200);
  std::set<int> statuses;
  for (int i = 0; i < 12; ++i) {
    HttpResponse response =
        Api("POST", "/groups",
            json::value{{"groupName", "g"},
                        {"groupExternalId", "G-" + std::to_string(i)}});
    statuses.insert(response.status);
    ASSERT_TRUE(response.status == 502 || response.status == 503 ||
                response.status == 504)
        << response.body;
  }
  EXPECT_GT(statuses.size(), 1u);  // not always the same gateway answer
  // Reads are not writes: answered normally.
  EXPECT_EQ(Api("GET", "/groups").status, 200);
  // A refused write is answered as such.
  ExpectApiError(Api("POST", "/groups", json::value{{"groupName", ""}}), 400,
                 "MissingParameter.GroupName");
  ASSERT_EQ(Admin("POST", "/config", R"({"faults":""})").status, 200);
  EXPECT_EQ(
      Api("GET", "/groups?maxResults=100").json.at("totalCount").as_int64(),
      12);
  int faulted = 0;
  const HttpResponse log = Admin("GET", "/requests");
  for (const auto& entry : log.json.at("requests").as_array())
    faulted += entry.at("fault").as_string() == "5xx_after_commit";
  EXPECT_EQ(faulted, 12);
}

TEST_F(Edges, FaultsCanTargetOperations) {
  token_ = Token();
  ASSERT_EQ(Admin("POST", "/config",
                  R"({"faults":"5xx=1","faultOperations":["CreateGroup"]})")
                .status,
            200);
  EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_FALSE(CreateOu("Eng").empty());
  HttpResponse group = Api("POST", "/groups", json::value{{"groupName", "g"}});
  EXPECT_TRUE(group.status == 500 || group.status == 503) << group.body;
  EXPECT_EQ(
      Admin("GET", "/config").json.at("faultOperations").as_array().size(), 1u);
  ASSERT_EQ(Admin("POST", "/config", R"({"faultOperations":[]})").status, 200);
  EXPECT_GE(Api("GET", "/users").status, 500);  // every operation again
  ExpectApiError(
      Admin("POST", "/config", R"({"faultOperations":"CreateGroup"})"), 400,
      "InvalidParameter.Config");
}

TEST_F(Edges, ThrottleFaultCarriesTheConfiguredHints) {
  token_ = Token();
  ASSERT_EQ(
      Admin("POST", "/config",
            R"({"faults":"throttle=1","retryAfter":"99999999999999999999",)"
            R"("timeLeft":"-5"})")
          .status,
      200);
  HttpResponse response = Api("GET", "/users");
  ExpectApiError(response, 429, "Throttling.User");
  EXPECT_EQ(response.headers.at("retry-after"), "99999999999999999999");
  EXPECT_NE(response.headers.at("x-ratelimit-user-api").find("TimeLeft:-5,"),
            std::string::npos);
  HttpResponse config = Admin("GET", "/config");
  EXPECT_EQ(Str(config.json, "retryAfter"), "99999999999999999999");
  EXPECT_EQ(Str(config.json, "timeLeft"), "-5");
  // Reset restores the computed hints and no faults.
  ASSERT_EQ(Admin("POST", "/reset").status, 200);
  EXPECT_EQ(Str(Admin("GET", "/config").json, "retryAfter"), "");
}

TEST_F(Edges, TokenExpiryKnobs) {
  ASSERT_EQ(Admin("POST", "/config",
                  R"({"tokenExpiresAtSkew":-7200,"tokenExpiresIn":false})")
                .status,
            200);
  HttpResponse token =
      Send("POST", std::string(kPrefix) +
                       "/oauth2/token?grant_type=client_credentials&"
                       "client_id=app_emulator&client_secret=emulator-secret");
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_FALSE(token.json.as_object().contains("expires_in"));
  const int64_t now_s = static_cast<int64_t>(std::time(nullptr));
  EXPECT_NEAR(static_cast<double>(token.json.at("expires_at").as_int64()),
              static_cast<double>(now_s + 1200 - 7200), 5.0);
  // The token itself still lives its real TTL.
  token_ = Str(token.json, "access_token");
  EXPECT_EQ(Api("GET", "/users").status, 200);
  ExpectApiError(Admin("POST", "/config", R"({"tokenExpiresAtSkew":"1h"})"),
                 400, "InvalidParameter.Config");
}

TEST_F(Edges, LookupMissCanAnswer200WithoutAnId) {
  ASSERT_EQ(Admin("POST", "/config", R"({"lookupMiss":"200"})").status, 200);
  HttpResponse user = Api("POST", "/users/_/actions/getUserIdByUsername",
                          json::value{{"username", "nobody"}});
  EXPECT_EQ(user.status, 200);
  EXPECT_EQ(user.body, "{}");
  HttpResponse ou =
      Api("POST",
          "/organizationalUnits/_/actions/getOrganizationalUnitIdByExternalId",
          json::value{{"organizationalUnitExternalId", "nope"},
                      {"organizationalUnitSourceType", "build_in"},
                      {"organizationalUnitSourceId", "idaas_emulator"}});
  EXPECT_EQ(ou.status, 200);
  EXPECT_EQ(ou.body, "{}");
  // A match still answers with the id.
  std::string id = CreateUser("frank");
  EXPECT_EQ(Str(Api("POST", "/users/_/actions/getUserIdByUsername",
                    json::value{{"username", "frank"}})
                    .json,
                "userId"),
            id);
  ASSERT_EQ(Admin("POST", "/config", R"({"lookupMiss":"404"})").status, 200);
  ExpectApiError(Api("POST", "/users/_/actions/getUserIdByUsername",
                     json::value{{"username", "nobody"}}),
                 404, "EntityNotExists.User");
  ExpectApiError(Admin("POST", "/config", R"({"lookupMiss":"maybe"})"), 400,
                 "InvalidParameter.Config");
}

}  // namespace
}  // namespace idsync::emulator_test
