// Wire conformance of idaas-emulator against idaas-developer-api.md: every
// operation's happy path, error classes, pagination edges, permission and
// scope refusals, uniqueness conflicts and token handling.
#include <chrono>
#include <set>
#include <regex>
#include <thread>

#include "emulator_fixture.h"

namespace idsync::emulator_test {
namespace {

using Conformance = EmulatorTest;

std::string Base64(const std::string& text) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int value = 0, bits = -6;
  for (unsigned char c : text) {
    value = (value << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kAlphabet[(value >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kAlphabet[((value << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ExpectTokenBody(const HttpResponse& response) {
  ASSERT_EQ(response.status, 200) << response.body;
  const json::object& body = response.json.as_object();
  ASSERT_TRUE(body.at("access_token").is_string());
  EXPECT_EQ(std::string(body.at("access_token").get_string()).substr(0, 2),
            "AT");
  EXPECT_EQ(body.at("token_type").get_string(), "Bearer");
  ASSERT_TRUE(body.at("expires_in").is_int64());
  EXPECT_EQ(body.at("expires_in").get_int64(), 1200);
  ASSERT_TRUE(body.at("expires_at").is_int64());
  // Seconds, not milliseconds.
  EXPECT_NEAR(static_cast<double>(body.at("expires_at").get_int64()),
              static_cast<double>(NowMs() / 1000 + 1200), 5.0);
}

void ExpectOAuthError(const HttpResponse& response, int status,
                      const std::string& error) {
  EXPECT_EQ(response.status, status) << response.body;
  ASSERT_TRUE(response.json.is_object()) << response.body;
  EXPECT_EQ(Str(response.json, "error"), error);
  EXPECT_TRUE(response.json.as_object().at("error_description").is_string());
  EXPECT_TRUE(response.json.as_object().at("request_id").is_string());
}

// ----------------------------------------------------------------- startup

TEST_F(Conformance, PrintsLoopbackAddressFirst) {
  EXPECT_TRUE(std::regex_match(address_, std::regex(R"(127\.0\.0\.1:\d+)")))
      << address_;
}

// ----------------------------------------------------------------- tokens

TEST_F(Conformance, TokenWithQueryCredentials) {
  ExpectTokenBody(Send("POST", std::string(kPrefix) +
                                   "/oauth2/token?grant_type=client_credentials"
                                   "&client_id=app_emulator&client_secret="
                                   "emulator-secret"));
}

TEST_F(Conformance, TokenWithFormBody) {
  ExpectTokenBody(Send(
      "POST", std::string(kPrefix) + "/oauth2/token",
      "grant_type=client_credentials&client_id=app_emulator&client_secret="
      "emulator-secret",
      {{"Content-Type", "application/x-www-form-urlencoded"}}));
}

TEST_F(Conformance, TokenWithBasicAuth) {
  ExpectTokenBody(Send(
      "POST", std::string(kPrefix) + "/oauth2/token",
      "grant_type=client_credentials",
      {{"Content-Type", "application/x-www-form-urlencoded"},
       {"Authorization", "Basic " + Base64("app_emulator:emulator-secret")}}));
}

TEST_F(Conformance, TokenErrorsUseOAuthBodies) {
  const std::string token = std::string(kPrefix) + "/oauth2/token";
  ExpectOAuthError(Send("POST", token +
                                    "?grant_type=client_credentials&client_id="
                                    "app_emulator&client_secret=wrong"),
                   401, "invalid_client");
  ExpectOAuthError(
      Send("POST", token + "?grant_type=client_credentials&client_id=nobody&"
                           "client_secret=emulator-secret"),
      401, "invalid_client");
  ExpectOAuthError(
      Send("POST", token + "?client_id=app_emulator&client_secret=x"), 400,
      "invalid_request");
  ExpectOAuthError(Send("POST", token +
                                    "?grant_type=password&client_id=app_"
                                    "emulator&client_secret=emulator-secret"),
                   400, "unsupported_grant_type");
  // The client exists but belongs to another application path.
  ExpectOAuthError(
      Send("POST",
           "/v2/idaas_emulator/app_other/oauth2/token?grant_type=client_"
           "credentials&client_id=app_emulator&client_secret=emulator-secret"),
      401, "invalid_client");
}

TEST_F(Conformance, RequestsWithoutValidTokenGet401) {
  const std::string scope = std::string(kPrefix) + "/provisioningScope";
  ExpectApiError(Send("GET", scope), 401, "InvalidToken");
  ExpectApiError(Send("GET", scope, "", {{"Authorization", "Bearer ATnope"}}),
                 401, "InvalidToken");
  ExpectApiError(Send("GET", scope, "", {{"Authorization", "Basic eDp5"}}),
                 401, "InvalidToken");
  const std::string token = Token();
  EXPECT_EQ(
      Send("GET", scope, "", {{"Authorization", "Bearer " + token}}).status,
      200);
}

TEST_F(Conformance, RevokeTokenInvalidatesIt) {
  const std::string token = Token();
  HttpResponse revoke = Send("POST", std::string(kPrefix) +
                                         "/oauth2/revoke?token=" + token +
                                         "&token_type_hint=access_token");
  EXPECT_EQ(revoke.status, 200);
  EXPECT_EQ(revoke.body, "{}");
  ExpectApiError(Send("GET", std::string(kPrefix) + "/provisioningScope", "",
                      {{"Authorization", "Bearer " + token}}),
                 401, "InvalidToken");
  ExpectOAuthError(Send("POST", std::string(kPrefix) + "/oauth2/revoke"), 400,
                   "invalid_request");
}

TEST_F(Conformance, TokensExpireAfterTtl) {
  Start({"--token-ttl", "1s"});
  HttpResponse token = Send("POST", std::string(kPrefix) +
                                        "/oauth2/token?grant_type=client_"
                                        "credentials&client_id=app_emulator&"
                                        "client_secret=emulator-secret");
  EXPECT_EQ(token.json.as_object().at("expires_in").as_int64(), 1);
  token_ = Str(token.json, "access_token");
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  ExpectApiError(Api("GET", "/provisioningScope"), 401, "InvalidToken");
}

TEST_F(Conformance, AdminExpiresAllTokens) {
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
  EXPECT_EQ(Admin("POST", "/tokens/expire").status, 200);
  ExpectApiError(Api("GET", "/provisioningScope"), 401, "InvalidToken");
  token_ = Token();
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
}

// ----------------------------------------------------------------- routing

TEST_F(Conformance, UnknownPathsAndInstances) {
  ExpectApiError(Api("GET", "/nothing"), 404, "InvalidAction.NotFound");
  ExpectApiError(Api("PUT", "/users"), 404, "InvalidAction.NotFound");
  ExpectApiError(Send("GET", "/"), 404, "InvalidAction.NotFound");
  ExpectApiError(Send("GET", "/v2/idaas_other/app_emulator/provisioningScope"),
                 404, "EntityNotExists.Instance");
}

TEST_F(Conformance, ProvisioningScopeShape) {
  HttpResponse response = Api("GET", "/provisioningScope");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"organizationalUnitIds":["ou_emulatorroot00000000000000"],)"
            R"("groupIds":[]})");
}

// ----------------------------------------------------------------- users

TEST_F(Conformance, CreateAndGetUserFieldsAndTypes) {
  const int64_t before = NowMs();
  std::string id = CreateUser(
      "alice", kRoot,
      {{"displayName", "Alice"},
       {"description", "d"},
       {"email", "alice@example.com"},
       {"emailVerified", true},
       {"phoneNumber", "13800000000"},
       {"phoneRegion", "86"},
       {"phoneNumberVerified", true},
       {"password", "S3cret!x"},
       {"customFields",
        json::array{json::object{{"fieldName", "dept"}, {"fieldValue", "R&D"}}}}});
  EXPECT_TRUE(std::regex_match(id, std::regex("user_[a-z0-9]{26}"))) << id;
  HttpResponse response = Api("GET", "/users/" + id);
  ASSERT_EQ(response.status, 200) << response.body;
  const json::object& user = response.json.as_object();
  for (const char* key :
       {"instanceId", "userId", "username", "displayName", "description",
        "email", "phoneRegion", "phoneNumber", "status", "userSourceType",
        "userSourceId", "userExternalId", "primaryOrganizationalUnitId"}) {
    ASSERT_TRUE(user.contains(key) && user.at(key).is_string()) << key;
  }
  for (const char* key : {"emailVerified", "phoneNumberVerified", "passwordSet"}) {
    ASSERT_TRUE(user.contains(key) && user.at(key).is_bool()) << key;
  }
  for (const char* key : {"accountExpireTime", "lockExpireTime", "registerTime",
                          "createTime", "updateTime"}) {
    ASSERT_TRUE(user.contains(key) && user.at(key).is_int64()) << key;
  }
  EXPECT_EQ(user.at("instanceId").get_string(), "idaas_emulator");
  EXPECT_EQ(user.at("userId").get_string(), id);
  EXPECT_EQ(user.at("username").get_string(), "alice");
  EXPECT_EQ(user.at("email").get_string(), "alice@example.com");
  EXPECT_TRUE(user.at("emailVerified").get_bool());
  EXPECT_TRUE(user.at("passwordSet").get_bool());
  EXPECT_EQ(user.at("status").get_string(), "enabled");
  EXPECT_EQ(user.at("userSourceType").get_string(), "build_in");
  EXPECT_EQ(user.at("userSourceId").get_string(), "idaas_emulator");
  EXPECT_EQ(user.at("userExternalId").get_string(), id);  // defaults to id
  EXPECT_EQ(user.at("primaryOrganizationalUnitId").get_string(), kRoot);
  // Milliseconds.
  EXPECT_GE(user.at("createTime").get_int64(), before - 5);
  EXPECT_LE(user.at("createTime").get_int64(), NowMs() + 5);
  const json::array& ous = user.at("organizationalUnits").as_array();
  ASSERT_EQ(ous.size(), 1u);
  EXPECT_EQ(Str(ous[0], "organizationalUnitId"), kRoot);
  EXPECT_EQ(Str(ous[0], "organizationalUnitName"), "Root");
  EXPECT_TRUE(ous[0].at("primary").as_bool());
  EXPECT_TRUE(user.at("groups").as_array().empty());
  const json::array& fields = user.at("customFields").as_array();
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(Str(fields[0], "fieldName"), "dept");
  EXPECT_EQ(Str(fields[0], "fieldValue"), "R&D");
}

TEST_F(Conformance, CreateUserValidation) {
  auto create = [&](const std::string& body) { return Api("POST", "/users", body); };
  ExpectApiError(create(R"({"primaryOrganizationalUnitId":"ou_emulatorroot00000000000000"})"),
                 400, "MissingParameter.Username");
  ExpectApiError(create(R"({"username":"bob"})"), 400,
                 "MissingParameter.PrimaryOrganizationalUnitId");
  ExpectApiError(create(""), 400, "MissingParameter.Username");
  ExpectApiError(create(R"({"username":42,"primaryOrganizationalUnitId":"x"})"),
                 400, "InvalidParameter.Username");
  ExpectApiError(
      create(R"({"username":"bad name","primaryOrganizationalUnitId":"x"})"),
      400, "InvalidParameter.Username");
  const std::string root = R"(,"primaryOrganizationalUnitId":"ou_emulatorroot00000000000000"})";
  ExpectApiError(create(R"({"username":"b","email":"nope")" + root), 400,
                 "InvalidParameter.Email");
  ExpectApiError(create(R"({"username":"b","phoneNumber":"12ab")" + root), 400,
                 "InvalidParameter.PhoneNumber");
  ExpectApiError(create(R"({"username":"b","emailVerified":"yes")" + root),
                 400, "InvalidParameter.EmailVerified");
  ExpectApiError(create(R"({"username":"b","customFields":{})" + root), 400,
                 "InvalidParameter.CustomFields");
  ExpectApiError(create("{\"username\":"), 400, "InvalidParameter.Body");
  ExpectApiError(create("[1,2]"), 400, "InvalidParameter.Body");
  ExpectApiError(
      create(R"({"username":"b","primaryOrganizationalUnitId":"ou_missing"})"),
      404, "EntityNotExists.OrganizationalUnit");
  // Nothing above was created.
  EXPECT_EQ(Api("GET", "/users").json.at("totalCount").as_int64(), 0);
}

TEST_F(Conformance, UniqueUserAttributes) {
  std::string id = CreateUser("alice", kRoot,
                              {{"email", "a@example.com"},
                               {"phoneNumber", "13800000000"},
                               {"phoneRegion", "86"},
                               {"userExternalId", "ext-1"}});
  auto attempt = [&](json::object extra) {
    extra["primaryOrganizationalUnitId"] = kRoot;
    if (!extra.contains("username")) extra["username"] = "other";
    return Api("POST", "/users", json::value(extra));
  };
  ExpectApiError(attempt({{"username", "alice"}}), 409,
                 "EntityAlreadyExists.User.Username");
  ExpectApiError(attempt({{"email", "a@example.com"}}), 409,
                 "EntityAlreadyExists.User.Email");
  ExpectApiError(attempt({{"phoneNumber", "13800000000"}, {"phoneRegion", "86"}}),
                 409, "EntityAlreadyExists.User.PhoneNumber");
  ExpectApiError(attempt({{"userExternalId", "ext-1"}}), 409,
                 "EntityAlreadyExists.User.ExternalId");
  // Patching into a conflict is refused too, and changes nothing.
  std::string bob = CreateUser("bob");
  ExpectApiError(Api("PATCH", "/users/" + bob,
                     json::value{{"displayName", "B"}, {"username", "alice"}}),
                 409, "EntityAlreadyExists.User.Username");
  EXPECT_EQ(Str(Api("GET", "/users/" + bob).json, "displayName"), "");
  EXPECT_FALSE(id.empty());
}

TEST_F(Conformance, PatchUserChangesOnlyGivenFields) {
  std::string id = CreateUser("carol", kRoot,
                              {{"displayName", "Carol"},
                               {"email", "c@example.com"},
                               {"customFields",
                                json::array{json::object{{"fieldName", "a"},
                                                         {"fieldValue", "1"}},
                                            json::object{{"fieldName", "b"},
                                                         {"fieldValue", "2"}}}}});
  HttpResponse patch = Api(
      "PATCH", "/users/" + id,
      json::value{{"displayName", "Carol C"},
                  {"phoneNumber", "13900000000"},
                  {"phoneRegion", "86"},
                  {"customFields",
                   json::array{json::object{{"fieldName", "a"},
                                            {"fieldValue", "9"},
                                            {"operation", "replace"}},
                               json::object{{"fieldName", "b"},
                                            {"operation", "remove"}},
                               json::object{{"fieldName", "c"},
                                            {"fieldValue", "3"},
                                            {"operator", "add"}}}}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(patch.body, "{}");
  json::value user = Api("GET", "/users/" + id).json;
  EXPECT_EQ(Str(user, "displayName"), "Carol C");
  EXPECT_EQ(Str(user, "email"), "c@example.com");
  EXPECT_EQ(Str(user, "phoneNumber"), "13900000000");
  EXPECT_EQ(json::serialize(user.at("customFields")),
            R"([{"fieldName":"a","fieldValue":"9"},{"fieldName":"c","fieldValue":"3"}])");
  EXPECT_EQ(Api("PATCH", "/users/" + id, "").status, 200);
  ExpectApiError(Api("PATCH", "/users/" + id, R"({"displayName":5})"), 400,
                 "InvalidParameter.DisplayName");
  ExpectApiError(Api("PATCH", "/users/user_doesnotexist00000000000000",
                     R"({"displayName":"x"})"),
                 404, "EntityNotExists.User");
}

TEST_F(Conformance, EnableDisableDeleteAndPassword) {
  std::string id = CreateUser("dave");
  HttpResponse disable = Api("POST", "/users/" + id + "/actions/disable");
  EXPECT_EQ(disable.status, 200);
  EXPECT_EQ(disable.body, "{}");
  EXPECT_EQ(Str(Api("GET", "/users/" + id).json, "status"), "disabled");
  EXPECT_EQ(Api("POST", "/users/" + id + "/actions/enable").status, 200);
  EXPECT_EQ(Str(Api("GET", "/users/" + id).json, "status"), "enabled");
  ExpectApiError(Api("POST", "/users/" + id + "/actions/updateUserPassword", "{}"),
                 400, "MissingParameter.Password");
  EXPECT_EQ(Api("POST", "/users/" + id + "/actions/updateUserPassword",
                json::value{{"password", "N3w!pass"}})
                .status,
            200);
  EXPECT_TRUE(Api("GET", "/users/" + id).json.at("passwordSet").as_bool());
  EXPECT_EQ(Api("DELETE", "/users/" + id).body, "{}");
  ExpectApiError(Api("GET", "/users/" + id), 404, "EntityNotExists.User");
  ExpectApiError(Api("DELETE", "/users/" + id), 404, "EntityNotExists.User");
  // The username is free again.
  CreateUser("dave");
}

TEST_F(Conformance, UserLookups) {
  std::string id = CreateUser("erin", kRoot,
                              {{"email", "erin@example.com"},
                               {"phoneNumber", "13700000000"},
                               {"phoneRegion", "86"},
                               {"userExternalId", "E-1"}});
  auto lookup = [&](const std::string& action, json::object body) {
    return Api("POST", "/users/_/actions/" + action, json::value(body));
  };
  EXPECT_EQ(Str(lookup("getUserIdByUsername", {{"username", "erin"}}).json,
                "userId"),
            id);
  EXPECT_EQ(Str(lookup("getUserIdByEmail", {{"email", "erin@example.com"}}).json,
                "userId"),
            id);
  EXPECT_EQ(Str(lookup("getUserIdByPhoneNumber",
                       {{"phoneNumber", "13700000000"}})
                    .json,
                "userId"),
            id);
  EXPECT_EQ(Str(lookup("getUserIdByExternalId",
                       {{"userExternalId", "E-1"},
                        {"userSourceType", "build_in"},
                        {"userSourceId", "idaas_emulator"}})
                    .json,
                "userId"),
            id);
  ExpectApiError(lookup("getUserIdByUsername", {{"username", "nobody"}}), 404,
                 "EntityNotExists.User");
  ExpectApiError(lookup("getUserIdByExternalId",
                        {{"userExternalId", "E-1"},
                         {"userSourceType", "ldap"},
                         {"userSourceId", "idaas_emulator"}}),
                 404, "EntityNotExists.User");
  ExpectApiError(lookup("getUserIdByExternalId", {{"userExternalId", "E-1"}}),
                 400, "MissingParameter.UserSourceId");
  ExpectApiError(lookup("getUserIdByEmail", {}), 400, "MissingParameter.Email");
}

TEST_F(Conformance, ListUsersPagination) {
  std::string empty_ou = CreateOu("Empty");
  HttpResponse empty =
      Api("GET", "/users?organizationalUnitId=" + empty_ou);
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body, R"({"totalCount":0,"data":[]})");

  for (int i = 0; i < 40; ++i) CreateUser("u" + std::to_string(i));
  std::set<std::string> seen;
  for (int page = 1; page <= 2; ++page) {
    HttpResponse response =
        Api("GET", "/users?pageNumber=" + std::to_string(page) + "&pageSize=20");
    ASSERT_EQ(response.status, 200);
    ASSERT_TRUE(response.json.at("totalCount").is_int64());
    EXPECT_EQ(response.json.at("totalCount").as_int64(), 40);
    const json::array& data = response.json.at("data").as_array();
    EXPECT_EQ(data.size(), 20u);
    for (const auto& user : data) {
      seen.insert(Str(user, "userId"));
      // List items carry no membership details.
      EXPECT_FALSE(user.as_object().contains("organizationalUnits"));
    }
  }
  EXPECT_EQ(seen.size(), 40u);
  HttpResponse past = Api("GET", "/users?pageNumber=3&pageSize=20");
  EXPECT_EQ(past.body, R"({"totalCount":40,"data":[]})");
  HttpResponse last = Api("GET", "/users?pageNumber=3&pageSize=15");
  EXPECT_EQ(last.json.at("data").as_array().size(), 10u);
  // Defaults: page 1, 20 entries.
  EXPECT_EQ(Api("GET", "/users").json.at("data").as_array().size(), 20u);
  EXPECT_EQ(Api("GET", "/users?pageSize=100").json.at("data").as_array().size(),
            40u);
  ExpectApiError(Api("GET", "/users?pageSize=0"), 400, "InvalidParameter.PageSize");
  ExpectApiError(Api("GET", "/users?pageSize=101"), 400,
                 "InvalidParameter.PageSize");
  ExpectApiError(Api("GET", "/users?pageSize=abc"), 400,
                 "InvalidParameter.PageSize");
  ExpectApiError(Api("GET", "/users?pageNumber=0"), 400,
                 "InvalidParameter.PageNumber");
  ExpectApiError(Api("GET", "/users?organizationalUnitId=ou_missing"), 404,
                 "EntityNotExists.OrganizationalUnit");
}

// The emulator keeps a listing's users across its pages; a write between
// two pages must show in the next one (totals and entries), as it would on
// the service.
TEST_F(Conformance, ListUsersPagesSeeWritesBetweenPages) {
  std::string ou = CreateOu("Paged");
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(CreateUser("p" + std::to_string(i), ou));
  const std::string listing = "/users?organizationalUnitId=" + ou + "&pageSize=20&pageNumber=";
  EXPECT_EQ(Api("GET", listing + "1").json.at("totalCount").as_int64(), 30);
  for (int i = 30; i < 35; ++i) CreateUser("p" + std::to_string(i), ou);
  ASSERT_EQ(Api("DELETE", "/users/" + ids.front()).status, 200);
  HttpResponse page2 = Api("GET", listing + "2");
  EXPECT_EQ(page2.json.at("totalCount").as_int64(), 34);
  EXPECT_EQ(page2.json.at("data").as_array().size(), 14u);
  for (const auto& user : page2.json.at("data").as_array()) {
    EXPECT_NE(Str(user, "userId"), ids.front());
  }
  // The same pages again without a write in between are the same.
  EXPECT_EQ(Api("GET", listing + "2").body, page2.body);
  // A listing of every user is its own listing, not the OU's.
  EXPECT_EQ(Api("GET", "/users?pageSize=20&pageNumber=2").json.at("totalCount").as_int64(), 34);
}

TEST_F(Conformance, OrganizationalUnitMemberships) {
  std::string sales = CreateOu("Sales");
  std::string dev = CreateOu("Dev");
  std::string id = CreateUser("frank", sales);
  const std::string actions = "/users/" + id + "/actions/";
  json::value both{{"organizationalUnitIds", json::array{dev, kRoot}}};
  EXPECT_EQ(Api("POST", actions + "addUserToOrganizationalUnits", both).status, 200);
  EXPECT_EQ(Api("POST", actions + "addUserToOrganizationalUnits", both).status,
            200);  // idempotent
  EXPECT_EQ(Api("GET", "/users/" + id).json.at("organizationalUnits").as_array().size(),
            3u);
  // ListUsers with an OU lists direct members, primary or not.
  EXPECT_EQ(Api("GET", "/users?organizationalUnitId=" + dev).json.at("totalCount").as_int64(), 1);
  ExpectApiError(Api("POST", actions + "removeUserFromOrganizationalUnits",
                     json::value{{"organizationalUnitIds", json::array{sales}}}),
                 400, "OperationDenied.PrimaryOrganizationalUnit");
  ExpectApiError(Api("POST", actions + "addUserToOrganizationalUnits", "{}"), 400,
                 "MissingParameter.OrganizationalUnitIds");
  ExpectApiError(Api("POST", actions + "addUserToOrganizationalUnits",
                     R"({"organizationalUnitIds":"x"})"),
                 400, "InvalidParameter.OrganizationalUnitIds");
  json::value root_only{{"organizationalUnitIds", json::array{kRoot}}};
  EXPECT_EQ(Api("POST", actions + "removeUserFromOrganizationalUnits", root_only).status, 200);
  EXPECT_EQ(Api("POST", actions + "removeUserFromOrganizationalUnits", root_only).status,
            200);  // idempotent

  // New primary: the old primary membership goes away.
  EXPECT_EQ(Api("POST", actions + "setUserPrimaryOrganizationalUnit",
                json::value{{"organizationalUnitId", dev}})
                .status,
            200);
  json::value user = Api("GET", "/users/" + id).json;
  EXPECT_EQ(Str(user, "primaryOrganizationalUnitId"), dev);
  const json::array& ous = user.at("organizationalUnits").as_array();
  ASSERT_EQ(ous.size(), 1u);
  EXPECT_EQ(Str(ous[0], "organizationalUnitId"), dev);
  EXPECT_TRUE(ous[0].at("primary").as_bool());
  EXPECT_EQ(Api("GET", "/users?organizationalUnitId=" + sales).json.at("totalCount").as_int64(), 0);
  ExpectApiError(Api("POST", actions + "setUserPrimaryOrganizationalUnit",
                     json::value{{"organizationalUnitId", "ou_missing"}}),
                 404, "EntityNotExists.OrganizationalUnit");
}

// ----------------------------------------------------------------- OUs

TEST_F(Conformance, OrganizationalUnitLifecycle) {
  HttpResponse created = Api("POST", "/organizationalUnits",
                             json::value{{"organizationalUnitName", "Eng"},
                                         {"parentId", kRoot},
                                         {"description", "engineering"},
                                         {"organizationalUnitExternalId", "X-ENG"}});
  ASSERT_EQ(created.status, 200) << created.body;
  std::string id = Str(created.json, "organizationalUnitId");
  EXPECT_TRUE(std::regex_match(id, std::regex("ou_[a-z0-9]{26}"))) << id;
  HttpResponse got = Api("GET", "/organizationalUnits/" + id);
  ASSERT_EQ(got.status, 200);
  const json::object& ou = got.json.as_object();
  for (const char* key : {"instanceId", "organizationalUnitId",
                          "organizationalUnitName", "description", "parentId",
                          "organizationalUnitExternalId",
                          "organizationalUnitSourceType",
                          "organizationalUnitSourceId"}) {
    ASSERT_TRUE(ou.contains(key) && ou.at(key).is_string()) << key;
  }
  ASSERT_TRUE(ou.at("createTime").is_int64());
  ASSERT_TRUE(ou.at("updateTime").is_int64());
  EXPECT_EQ(ou.at("parentId").get_string(), kRoot);
  EXPECT_EQ(ou.at("organizationalUnitExternalId").get_string(), "X-ENG");
  EXPECT_EQ(ou.at("organizationalUnitSourceType").get_string(), "build_in");

  EXPECT_EQ(Api("PATCH", "/organizationalUnits/" + id,
                json::value{{"organizationalUnitName", "Engineering"}})
                .body,
            "{}");
  EXPECT_EQ(Str(Api("GET", "/organizationalUnits/" + id).json,
                "organizationalUnitName"),
            "Engineering");
  EXPECT_EQ(Str(Api("GET", "/organizationalUnits/" + id).json, "description"),
            "engineering");

  HttpResponse by_external =
      Api("POST", "/organizationalUnits/_/actions/getOrganizationalUnitIdByExternalId",
          json::value{{"organizationalUnitExternalId", "X-ENG"},
                      {"organizationalUnitSourceType", "build_in"},
                      {"organizationalUnitSourceId", "idaas_emulator"}});
  EXPECT_EQ(Str(by_external.json, "organizationalUnitId"), id);
  ExpectApiError(
      Api("POST", "/organizationalUnits/_/actions/getOrganizationalUnitIdByExternalId",
          json::value{{"organizationalUnitExternalId", "nope"},
                      {"organizationalUnitSourceType", "build_in"},
                      {"organizationalUnitSourceId", "idaas_emulator"}}),
      404, "EntityNotExists.OrganizationalUnit");

  ExpectApiError(Api("POST", "/organizationalUnits",
                     json::value{{"organizationalUnitName", "Engineering"},
                                 {"parentId", kRoot}}),
                 409, "EntityAlreadyExists.OrganizationalUnit.Name");
  ExpectApiError(Api("POST", "/organizationalUnits",
                     json::value{{"organizationalUnitName", "Other"},
                                 {"parentId", kRoot},
                                 {"organizationalUnitExternalId", "X-ENG"}}),
                 409, "EntityAlreadyExists.OrganizationalUnit.ExternalId");
  ExpectApiError(Api("POST", "/organizationalUnits",
                     json::value{{"organizationalUnitName", "Other"}}),
                 400, "MissingParameter.ParentId");
  ExpectApiError(Api("POST", "/organizationalUnits",
                     json::value{{"organizationalUnitName", "Other"},
                                 {"parentId", "ou_missing"}}),
                 404, "EntityNotExists.OrganizationalUnit");
}

TEST_F(Conformance, OrganizationalUnitDeleteRules) {
  std::string parent = CreateOu("Parent");
  std::string child = CreateOu("Child", parent);
  ExpectApiError(Api("DELETE", "/organizationalUnits/" + parent), 400,
                 "OperationDenied.OrganizationalUnitHasChildren");
  std::string user = CreateUser("gina", child);
  ExpectApiError(Api("DELETE", "/organizationalUnits/" + child), 400,
                 "OperationDenied.OrganizationalUnitHasMembers");
  EXPECT_EQ(Api("DELETE", "/users/" + user).status, 200);
  EXPECT_EQ(Api("DELETE", "/organizationalUnits/" + child).body, "{}");
  EXPECT_EQ(Api("DELETE", "/organizationalUnits/" + parent).status, 200);
  ExpectApiError(Api("GET", "/organizationalUnits/" + parent), 404,
                 "EntityNotExists.OrganizationalUnit");
  ExpectApiError(Api("DELETE", std::string("/organizationalUnits/") + kRoot),
                 400, "OperationDenied.RootOrganizationalUnit");
}

TEST_F(Conformance, ListOrganizationalUnitsAndParentIds) {
  ExpectApiError(Api("GET", "/organizationalUnits"), 400,
                 "MissingParameter.ParentId");
  std::string a = CreateOu("A");
  std::string b = CreateOu("B", a);
  std::string c = CreateOu("C", b);
  EXPECT_EQ(Api("GET", "/organizationalUnits?parentId=" + c).body,
            R"({"totalCount":0,"data":[]})");
  for (int i = 0; i < 25; ++i) CreateOu("child" + std::to_string(i), a);
  HttpResponse page1 =
      Api("GET", "/organizationalUnits?parentId=" + a + "&pageSize=13");
  EXPECT_EQ(page1.json.at("totalCount").as_int64(), 26);
  EXPECT_EQ(page1.json.at("data").as_array().size(), 13u);
  HttpResponse page2 = Api(
      "GET", "/organizationalUnits?parentId=" + a + "&pageSize=13&pageNumber=2");
  EXPECT_EQ(page2.json.at("data").as_array().size(), 13u);
  HttpResponse page3 = Api(
      "GET", "/organizationalUnits?parentId=" + a + "&pageSize=13&pageNumber=3");
  EXPECT_EQ(page3.json.at("data").as_array().size(), 0u);
  EXPECT_EQ(page3.json.at("totalCount").as_int64(), 26);
  ExpectApiError(Api("GET", "/organizationalUnits?parentId=" + a + "&pageSize=500"),
                 400, "InvalidParameter.PageSize");

  HttpResponse parents = Api("GET", "/organizationalUnits/" + c + "/parentIds");
  ASSERT_EQ(parents.status, 200);
  EXPECT_EQ(json::serialize(parents.json),
            json::serialize(json::value{
                {"parentIds", json::array{kRoot, a, b}}}));
  EXPECT_EQ(Api("GET", std::string("/organizationalUnits/") + kRoot + "/parentIds").body,
            R"({"parentIds":[]})");
}

// ----------------------------------------------------------------- groups

TEST_F(Conformance, GroupLifecycle) {
  HttpResponse created =
      Api("POST", "/groups",
          json::value{{"groupName", "admins"}, {"groupExternalId", "G-1"}});
  ASSERT_EQ(created.status, 200);
  std::string id = Str(created.json, "groupId");
  EXPECT_TRUE(std::regex_match(id, std::regex("group_[a-z0-9]{26}"))) << id;
  json::value group = Api("GET", "/groups/" + id).json;
  for (const char* key : {"instanceId", "groupId", "groupName", "description",
                          "groupExternalId", "groupSourceType", "groupSourceId"}) {
    ASSERT_TRUE(group.as_object().contains(key) && group.at(key).is_string())
        << key;
  }
  EXPECT_TRUE(group.at("createTime").is_int64());
  EXPECT_TRUE(group.at("updateTime").is_int64());
  EXPECT_EQ(Str(group, "groupExternalId"), "G-1");
  ExpectApiError(Api("POST", "/groups",
                     json::value{{"groupName", "x"}, {"groupExternalId", "G-1"}}),
                 409, "EntityAlreadyExists.Group.ExternalId");
  ExpectApiError(Api("POST", "/groups", "{}"), 400, "MissingParameter.GroupName");
  EXPECT_EQ(Api("PATCH", "/groups/" + id, json::value{{"groupName", "root"}}).body,
            "{}");
  EXPECT_EQ(Str(Api("GET", "/groups/" + id).json, "groupName"), "root");
  EXPECT_EQ(Api("DELETE", "/groups/" + id).body, "{}");
  ExpectApiError(Api("GET", "/groups/" + id), 404, "EntityNotExists.Group");
}

TEST_F(Conformance, ListGroupsTokenPagination) {
  HttpResponse empty = Api("GET", "/groups");
  ASSERT_EQ(empty.status, 200);
  EXPECT_EQ(empty.body,
            R"({"totalCount":0,"maxResults":20,"nextToken":"","data":[]})");
  for (int i = 0; i < 40; ++i) CreateGroup("team" + std::to_string(i));
  CreateGroup("other");
  // Exact multiple of the page size: two full pages, then none.
  std::set<std::string> seen;
  std::string next;
  int pages = 0;
  do {
    HttpResponse page = Api("GET", "/groups?groupNameStartWith=team&maxResults=20" +
                                       (next.empty() ? "" : "&nextToken=" + next));
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.json.at("totalCount").as_int64(), 40);
    EXPECT_EQ(page.json.at("maxResults").as_int64(), 20);
    ASSERT_TRUE(page.json.at("nextToken").is_string());
    for (const auto& group : page.json.at("data").as_array()) {
      seen.insert(Str(group, "groupId"));
    }
    next = Str(page.json, "nextToken");
    if (!next.empty()) {
      EXPECT_EQ(next.substr(0, 2), "NT");
    }
    ++pages;
  } while (!next.empty() && pages < 10);
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen.size(), 40u);
  // Uneven last page.
  HttpResponse first = Api("GET", "/groups?maxResults=30");
  EXPECT_EQ(first.json.at("data").as_array().size(), 30u);
  HttpResponse second =
      Api("GET", "/groups?maxResults=30&nextToken=" + Str(first.json, "nextToken"));
  EXPECT_EQ(second.json.at("data").as_array().size(), 11u);
  EXPECT_EQ(Str(second.json, "nextToken"), "");
  ExpectApiError(Api("GET", "/groups?maxResults=101"), 400,
                 "InvalidParameter.MaxResults");
  ExpectApiError(Api("GET", "/groups?maxResults=0"), 400,
                 "InvalidParameter.MaxResults");
  ExpectApiError(Api("GET", "/groups?nextToken=garbage"), 400,
                 "InvalidParameter.NextToken");
}

// Token-paged listings keep their visible entries across pages: another
// listing in between, or a write, must not leak into the next page.
TEST_F(Conformance, TokenPagesSeeWritesAndNotOtherListings) {
  for (int i = 0; i < 30; ++i) CreateGroup("team" + std::to_string(i));
  CreateGroup("other");
  HttpResponse page1 = Api("GET", "/groups?groupNameStartWith=team&maxResults=20");
  EXPECT_EQ(page1.json.at("totalCount").as_int64(), 30);
  EXPECT_EQ(Api("GET", "/groups?maxResults=20").json.at("totalCount").as_int64(), 31);
  const std::string token = Str(page1.json, "nextToken");
  HttpResponse page2 =
      Api("GET", "/groups?groupNameStartWith=team&maxResults=20&nextToken=" + token);
  EXPECT_EQ(page2.json.at("totalCount").as_int64(), 30);
  EXPECT_EQ(page2.json.at("data").as_array().size(), 10u);
  CreateGroup("team30");
  HttpResponse after_write =
      Api("GET", "/groups?groupNameStartWith=team&maxResults=20&nextToken=" + token);
  EXPECT_EQ(after_write.json.at("totalCount").as_int64(), 31);
  // The new group's random id sorts before or after the token.
  const size_t rest = after_write.json.at("data").as_array().size();
  EXPECT_TRUE(rest == 10u || rest == 11u) << rest;
}

TEST_F(Conformance, GroupMembership) {
  std::string group = CreateGroup("devs");
  std::vector<std::string> users;
  for (int i = 0; i < 25; ++i) users.push_back(CreateUser("m" + std::to_string(i)));
  json::array ids(users.begin(), users.end());
  const std::string actions = "/groups/" + group + "/actions/";
  EXPECT_EQ(Api("POST", actions + "addUsersToGroup", json::value{{"userIds", ids}}).body,
            "{}");
  EXPECT_EQ(Api("POST", actions + "addUsersToGroup", json::value{{"userIds", ids}}).status,
            200);  // already members: no-op
  HttpResponse page1 = Api("GET", actions + "listUsersForGroup");
  ASSERT_EQ(page1.status, 200);
  EXPECT_EQ(page1.json.at("totalCount").as_int64(), 25);
  EXPECT_EQ(page1.json.at("maxResults").as_int64(), 20);
  const json::array& data = page1.json.at("data").as_array();
  ASSERT_EQ(data.size(), 20u);
  EXPECT_EQ(data[0].as_object().size(), 2u);
  EXPECT_EQ(Str(data[0], "instanceId"), "idaas_emulator");
  HttpResponse page2 = Api("GET", actions + "listUsersForGroup?nextToken=" +
                                      Str(page1.json, "nextToken"));
  EXPECT_EQ(page2.json.at("data").as_array().size(), 5u);
  EXPECT_EQ(Str(page2.json, "nextToken"), "");

  HttpResponse groups = Api("GET", "/users/" + users[0] + "/actions/listGroupsForUser");
  ASSERT_EQ(groups.status, 200);
  EXPECT_EQ(groups.json.at("totalCount").as_int64(), 1);
  const json::value& membership = groups.json.at("data").as_array().at(0);
  EXPECT_EQ(Str(membership, "groupId"), group);
  EXPECT_EQ(Str(membership, "groupMemberRelationSourceType"), "build_in");
  EXPECT_EQ(Str(membership, "groupMemberRelationSourceId"), "idaas_emulator");
  json::value detail = Api("GET", "/users/" + users[0]).json;
  EXPECT_EQ(Str(detail.at("groups").as_array().at(0), "groupName"), "devs");

  json::value first{{"userIds", json::array{users[0]}}};
  EXPECT_EQ(Api("POST", actions + "removeUsersFromGroup", first).status, 200);
  EXPECT_EQ(Api("POST", actions + "removeUsersFromGroup", first).status,
            200);  // non-member: still success
  EXPECT_EQ(Api("GET", actions + "listUsersForGroup").json.at("totalCount").as_int64(), 24);

  json::array too_many;
  for (int i = 0; i < 101; ++i) too_many.emplace_back(users[0]);
  ExpectApiError(Api("POST", actions + "addUsersToGroup",
                     json::value{{"userIds", too_many}}),
                 400, "InvalidParameter.UserIds");
  ExpectApiError(Api("POST", actions + "addUsersToGroup", "{}"), 400,
                 "MissingParameter.UserIds");
  ExpectApiError(Api("POST", actions + "addUsersToGroup",
                     json::value{{"userIds", json::array{"user_missing"}}}),
                 404, "EntityNotExists.User");
  ExpectApiError(Api("POST", "/groups/group_missing/actions/addUsersToGroup",
                     json::value{{"userIds", ids}}),
                 404, "EntityNotExists.Group");
  // Deleting a member removes the membership.
  EXPECT_EQ(Api("DELETE", "/users/" + users[1]).status, 200);
  EXPECT_EQ(Api("GET", actions + "listUsersForGroup").json.at("totalCount").as_int64(), 23);
}

// ----------------------------------------------------------------- refusals

TEST_F(Conformance, ReadOnlyPermissions) {
  Start({"--permissions", std::string(kUserRead) + "," + kOuRead});
  EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_EQ(Api("GET", "/organizationalUnits?parentId=" + std::string(kRoot)).status,
            200);
  EXPECT_EQ(Api("GET", "/groups").status, 200);
  HttpResponse create = Api("POST", "/users",
                            json::value{{"username", "x"},
                                        {"primaryOrganizationalUnitId", kRoot}});
  ExpectApiError(create, 403, "Forbidden.Permission");
  EXPECT_NE(Str(create.json, "message").find(kUserManage), std::string::npos)
      << create.body;
  HttpResponse ou = Api("POST", "/organizationalUnits",
                        json::value{{"organizationalUnitName", "x"},
                                    {"parentId", kRoot}});
  ExpectApiError(ou, 403, "Forbidden.Permission");
  EXPECT_NE(Str(ou.json, "message").find(kOuManage), std::string::npos);
  ExpectApiError(Api("POST", "/groups", json::value{{"groupName", "g"}}), 403,
                 "Forbidden.Permission");
}

TEST_F(Conformance, NoPermissions) {
  Start({"--permissions", ""});
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
  HttpResponse users = Api("GET", "/users");
  ExpectApiError(users, 403, "Forbidden.Permission");
  EXPECT_NE(Str(users.json, "message").find(kUserRead), std::string::npos);
  HttpResponse ous = Api("GET", std::string("/organizationalUnits/") + kRoot);
  ExpectApiError(ous, 403, "Forbidden.Permission");
  EXPECT_NE(Str(ous.json, "message").find(kOuRead), std::string::npos);
}

TEST_F(Conformance, ProvisioningScopeIsEnforced) {
  std::string inside = CreateOu("Inside");
  std::string outside = CreateOu("Outside");
  std::string nested = CreateOu("Nested", inside);
  std::string in_user = CreateUser("in", nested);
  std::string out_user = CreateUser("out", outside);
  std::string out_group = CreateGroup("theirs");
  // Narrow the scope to "Inside"; groups created by this app stay visible,
  // so hand the group over to another application first.
  json::value state = Admin("GET", "/state").json;
  for (auto& group : state.at("groups").as_array()) {
    group.as_object()["creatorApplicationId"] = "app_other";
  }
  ASSERT_EQ(Admin("PUT", "/state", json::serialize(state)).status, 200);
  token_.clear();
  ASSERT_EQ(Admin("POST", "/config",
                  json::serialize(json::value{
                      {"client", {{"provisioningScope",
                                   {{"organizationalUnitIds", json::array{inside}},
                                    {"groupIds", json::array{}}}}}}}))
                .status,
            200);
  EXPECT_EQ(Api("GET", "/provisioningScope").body,
            R"({"organizationalUnitIds":[")" + inside + R"("],"groupIds":[]})");
  // Invisible: 404.
  ExpectApiError(Api("GET", "/users/" + out_user), 404, "EntityNotExists.User");
  ExpectApiError(Api("PATCH", "/users/" + out_user, R"({"displayName":"x"})"), 404,
                 "EntityNotExists.User");
  ExpectApiError(Api("GET", "/organizationalUnits/" + outside), 404,
                 "EntityNotExists.OrganizationalUnit");
  ExpectApiError(Api("GET", std::string("/organizationalUnits/") + kRoot), 404,
                 "EntityNotExists.OrganizationalUnit");
  ExpectApiError(Api("GET", "/groups/" + out_group), 404, "EntityNotExists.Group");
  ExpectApiError(Api("POST", "/users/_/actions/getUserIdByUsername",
                     json::value{{"username", "out"}}),
                 404, "EntityNotExists.User");
  EXPECT_EQ(Api("GET", "/users").json.at("totalCount").as_int64(), 1);
  EXPECT_EQ(Api("GET", "/groups").json.at("totalCount").as_int64(), 0);
  // Referencing an out-of-scope OU: 403.
  ExpectApiError(Api("POST", "/users",
                     json::value{{"username", "new"},
                                 {"primaryOrganizationalUnitId", outside}}),
                 403, "Forbidden.OutOfScope");
  ExpectApiError(Api("GET", "/organizationalUnits?parentId=" + std::string(kRoot)),
                 403, "Forbidden.OutOfScope");
  ExpectApiError(Api("POST", "/users/" + in_user + "/actions/setUserPrimaryOrganizationalUnit",
                     json::value{{"organizationalUnitId", outside}}),
                 403, "Forbidden.OutOfScope");
  // Uniqueness is instance-wide, even against invisible users.
  ExpectApiError(Api("POST", "/users",
                     json::value{{"username", "out"},
                                 {"primaryOrganizationalUnitId", inside}}),
                 409, "EntityAlreadyExists.User.Username");
  // Parent ids list only in-scope OUs.
  EXPECT_EQ(Api("GET", "/organizationalUnits/" + nested + "/parentIds").body,
            R"({"parentIds":[")" + inside + R"("]})");
  // groupIds grant visibility; groups this app creates are visible too.
  ASSERT_EQ(Admin("POST", "/config",
                  json::serialize(json::value{
                      {"client", {{"provisioningScope",
                                   {{"organizationalUnitIds", json::array{inside}},
                                    {"groupIds", json::array{out_group}}}}}}}))
                .status,
            200);
  EXPECT_EQ(Api("GET", "/groups/" + out_group).status, 200);
  std::string mine = CreateGroup("mine");
  EXPECT_EQ(Api("GET", "/groups").json.at("totalCount").as_int64(), 2);
  EXPECT_FALSE(mine.empty());
}

// ----------------------------------------------------------------- transport

TEST_F(Conformance, OversizedBodyIsRejected) {
  std::string big(2 << 20, 'x');
  auto response = http_->Send("POST", std::string(kPrefix) + "/users",
                              "{\"username\":\"" + big + "\"}");
  ASSERT_TRUE(response.has_value());
  ExpectApiError(*response, 400, "InvalidParameter.Body");
  // The server is still healthy.
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
}

TEST_F(Conformance, KeepAliveReusesOneConnection) {
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Api("GET", "/users").status, 200);
  EXPECT_EQ(http_->connections_opened(), 1);
}

TEST_F(Conformance, SurvivesGarbageRequests) {
  HttpClient raw(address_);
  EXPECT_FALSE(raw.Send("GET", "bad target with spaces").has_value());
  EXPECT_EQ(Api("GET", "/provisioningScope").status, 200);
}

}  // namespace
}  // namespace idsync::emulator_test
