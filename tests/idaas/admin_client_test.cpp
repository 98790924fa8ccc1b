// The admin API client (Eiam 2021-12-01) against the real emulator over
// loopback: the setup sequence ending in a working Developer API client, a
// department move, and each gateway rejection with the service's code.
#include <gtest/gtest.h>

#include <ctime>

#include "acs3_signature.h"
#include "helpers.h"
#include "idsync/idaas/admin_client.h"

namespace idsync::idaas::testing {
namespace {

constexpr const char* kKeyId = "emulator-access-key";
constexpr const char* kKeySecret = "emulator-access-key-secret";

AdminOptions AdminOptionsFor(const Emulator& emulator, std::string key_id = kKeyId,
                             std::string key_secret = kKeySecret) {
  AdminOptions o;
  o.transport = emulator.ClientOptions();
  o.transport.application_id.clear();
  o.transport.max_attempts = 2;
  o.access_key_id = std::move(key_id);
  o.access_key_secret = std::move(key_secret);
  return o;
}

// The Developer API client options for an application set up by `admin`.
Options DeveloperOptionsFor(const Emulator& emulator, const std::string& application_id,
                            const ApplicationClientSecret& secret) {
  Options o = emulator.ClientOptions();
  o.application_id = application_id;
  o.client_id = secret.client_id;
  o.client_secret = secret.client_secret;
  return o;
}

std::unique_ptr<AdminClient> MakeAdmin(asio::io_context& io, AdminOptions options) {
  auto client = AdminClient::Create(io.get_executor(), std::move(options));
  EXPECT_TRUE(client) << ApiErrorOf(client.error()).message;
  return client ? std::move(*client) : nullptr;
}

TEST(AdminClientTest, SetupFromNothingGivesAWorkingDeveloperApiClient) {
  Emulator emulator({"--account-quota", "77"});
  asio::io_context io;
  auto admin = MakeAdmin(io, AdminOptionsFor(emulator));
  ASSERT_TRUE(admin);

  auto before = RunSync(io, admin->ListApplications(1, 100, std::string("idsync")));
  ASSERT_TRUE(before) << ApiErrorOf(before.error()).message;
  EXPECT_EQ(before->total_count, 0);

  auto id = RunSync(io, admin->CreateApplication("idsync", "directory sync"));
  ASSERT_TRUE(id) << ApiErrorOf(id.error()).message;
  auto app = RunSync(io, admin->GetApplication(*id));
  ASSERT_TRUE(app) << ApiErrorOf(app.error()).message;
  EXPECT_EQ(app->application_name, "idsync");
  EXPECT_EQ(app->client_id, *id);
  EXPECT_EQ(app->api_invoke_status, "disabled");

  ASSERT_TRUE(RunSync(io, admin->EnableApplicationApiInvoke(*id)));
  EXPECT_EQ(RunSync(io, admin->GetApplication(*id))->api_invoke_status, "enabled");
  // The user guide's spelling is accepted and read back in the admin one.
  ASSERT_TRUE(RunSync(io, admin->SetApplicationGrantScope(
                              *id, {std::string(kScopeUserManageAll),
                                    "urn:alibaba:idaas:scope:organizational_unit:manager_all"})));
  auto scopes = RunSync(io, admin->GetApplicationGrantScope(*id));
  ASSERT_TRUE(scopes) << ApiErrorOf(scopes.error()).message;
  EXPECT_EQ(*scopes, (std::vector<std::string>{std::string(kScopeOuManageAll),
                                               std::string(kScopeUserManageAll)}));
  ASSERT_TRUE(RunSync(io, admin->SetApplicationProvisioningScope(*id, {kRootOu})));
  auto scope = RunSync(io, admin->GetApplicationProvisioningScope(*id));
  ASSERT_TRUE(scope) << ApiErrorOf(scope.error()).message;
  EXPECT_EQ(scope->organizational_unit_ids, std::vector<std::string>{kRootOu});
  EXPECT_EQ(scope->used_quota, 0);
  EXPECT_EQ(scope->max_quota, 77);

  auto secret = RunSync(io, admin->CreateApplicationClientSecret(*id));
  ASSERT_TRUE(secret) << ApiErrorOf(secret.error()).message;
  EXPECT_FALSE(secret->client_secret.empty());
  auto listed = RunSync(io, admin->ListApplicationClientSecrets(*id));
  ASSERT_TRUE(listed) << ApiErrorOf(listed.error()).message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().secret_id, secret->secret_id);
  EXPECT_NE(listed->front().client_secret, secret->client_secret);  // masked

  // At once usable through the Developer API.
  auto client = Client::Create(io.get_executor(), DeveloperOptionsFor(emulator, *id, *secret));
  ASSERT_TRUE(client);
  CreateOrganizationalUnitRequest ou;
  ou.organizational_unit_name = "Sales";
  ou.parent_id = kRootOu;
  auto created = RunSync(io, (*client)->CreateOrganizationalUnit(ou));
  EXPECT_TRUE(created) << ApiErrorOf(created.error()).message;

  auto after = RunSync(io, admin->ListApplications(1, 100, std::string("idsync")));
  ASSERT_TRUE(after);
  ASSERT_EQ(after->total_count, 1);
  EXPECT_EQ(after->applications.front().application_id, *id);
}

TEST(AdminClientTest, ApiInvokeDisabledApplicationIsRefusedByTheDeveloperApi) {
  Emulator emulator;
  asio::io_context io;
  auto admin = MakeAdmin(io, AdminOptionsFor(emulator));
  auto id = RunSync(io, admin->CreateApplication("idsync", ""));
  ASSERT_TRUE(id);
  ASSERT_TRUE(RunSync(io, admin->SetApplicationGrantScope(*id, {std::string(kScopeOuReadAll)})));
  ASSERT_TRUE(RunSync(io, admin->SetApplicationProvisioningScope(*id, {kRootOu})));
  auto secret = RunSync(io, admin->CreateApplicationClientSecret(*id));
  ASSERT_TRUE(secret);
  auto client = Client::Create(io.get_executor(), DeveloperOptionsFor(emulator, *id, *secret));
  ASSERT_TRUE(client);
  auto r = RunSync(io, (*client)->GetOrganizationalUnit(kRootOu));
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).code, "application_api_disabled");
  ASSERT_TRUE(RunSync(io, admin->EnableApplicationApiInvoke(*id)));
  EXPECT_TRUE(RunSync(io, (*client)->GetOrganizationalUnit(kRootOu)));
}

TEST(AdminClientTest, MovesADepartmentAndRefusesACycle) {
  Emulator emulator;
  asio::io_context io;
  auto admin = MakeAdmin(io, AdminOptionsFor(emulator));
  auto developer = Client::Create(io.get_executor(), emulator.ClientOptions());
  ASSERT_TRUE(developer);
  auto make = [&](const std::string& name, const std::string& parent) {
    CreateOrganizationalUnitRequest r;
    r.organizational_unit_name = name;
    r.parent_id = parent;
    auto id = RunSync(io, (*developer)->CreateOrganizationalUnit(r));
    EXPECT_TRUE(id) << ApiErrorOf(id.error()).message;
    return id ? *id : std::string();
  };
  std::string sales = make("Sales", kRootOu);
  std::string emea = make("EMEA", kRootOu);
  ASSERT_TRUE(RunSync(io, admin->UpdateOrganizationalUnitParentId(emea, sales)));
  auto moved = RunSync(io, admin->GetOrganizationalUnit(emea));
  ASSERT_TRUE(moved) << ApiErrorOf(moved.error()).message;
  EXPECT_EQ(moved->parent_id, sales);
  EXPECT_EQ(moved->organizational_unit_name, "EMEA");
  // Again: nothing changes, no error.
  EXPECT_TRUE(RunSync(io, admin->UpdateOrganizationalUnitParentId(emea, sales)));
  // Under its own child: a cycle.
  auto cycle = RunSync(io, admin->UpdateOrganizationalUnitParentId(sales, emea));
  ASSERT_FALSE(cycle);
  EXPECT_EQ(ApiErrorOf(cycle.error()).kind, ApiError::Kind::kClient);
  EXPECT_EQ(ApiErrorOf(cycle.error()).code, "InvalidParameter.ParentId");
  EXPECT_FALSE(ApiErrorOf(cycle.error()).request_id.empty());
  auto missing = RunSync(io, admin->GetOrganizationalUnit("ou_missing"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(ApiErrorOf(missing.error()).kind, ApiError::Kind::kNotFound);
}

TEST(AdminClientTest, GatewayRejectionsHaveTheServiceCodesAndKinds) {
  Emulator emulator({"--access-key", "reader:reader-secret:GetApplication,ListApplications",
                     "--access-key", std::string(kKeyId) + ":" + kKeySecret});
  asio::io_context io;
  LogCapture logs;

  auto wrong_secret = MakeAdmin(io, AdminOptionsFor(emulator, kKeyId, "not-the-secret"));
  auto r = RunSync(io, wrong_secret->ListApplications(1, 10));
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).code, "SignatureDoesNotMatch");
  EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kAuth);
  EXPECT_EQ(ApiErrorOf(r.error()).attempts, 1);  // not retried
  EXPECT_FALSE(ApiErrorOf(r.error()).request_id.empty());

  auto unknown = MakeAdmin(io, AdminOptionsFor(emulator, "nobody", "whatever-secret"));
  r = RunSync(io, unknown->ListApplications(1, 10));
  ASSERT_FALSE(r);
  EXPECT_EQ(ApiErrorOf(r.error()).code, "InvalidAccessKeyId.NotFound");
  EXPECT_EQ(ApiErrorOf(r.error()).kind, ApiError::Kind::kAuth);  // a 404, but no missing object

  auto reader = MakeAdmin(io, AdminOptionsFor(emulator, "reader", "reader-secret"));
  EXPECT_TRUE(RunSync(io, reader->ListApplications(1, 10)));
  auto denied = RunSync(io, reader->CreateApplication("idsync", ""));
  ASSERT_FALSE(denied);
  EXPECT_EQ(ApiErrorOf(denied.error()).code, "Forbidden.RAM");
  EXPECT_EQ(ApiErrorOf(denied.error()).kind, ApiError::Kind::kPermission);

  auto admin = MakeAdmin(io, AdminOptionsFor(emulator));
  auto gone = RunSync(io, admin->GetApplication("app_missing"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(ApiErrorOf(gone.error()).code, "ResourceNotFound.Application");
  EXPECT_EQ(ApiErrorOf(gone.error()).kind, ApiError::Kind::kNotFound);

  const std::string text = logs.text();
  EXPECT_EQ(text.find(kKeySecret), std::string::npos);
  EXPECT_EQ(text.find("reader-secret"), std::string::npos);
  EXPECT_EQ(text.find("not-the-secret"), std::string::npos);
}

// A request signed by hand (with the client's signer), to send with a chosen
// date, twice, or shaped as another SDK shapes it.
struct RawCall {
  std::string action = "ListApplications";
  detail::NameValues query = {{"InstanceId", kInstance}, {"PageNumber", "1"}};
  detail::NameValues extra_headers;  // signed when x-acs-*, else only sent
  bool plus_for_space = false;       // the wire query as Go's url.Values.Encode writes it
};

HttpReply SignedRequest(const Emulator& emulator, const std::string& date,
                        const std::string& nonce, const RawCall& call = {}) {
  detail::Acs3Request signing;
  signing.method = "POST";
  signing.path = "/";
  signing.query = call.query;
  signing.headers = {{"host", emulator.host() + ":" + emulator.port()},
                     {"x-acs-action", call.action},
                     {"x-acs-version", "2021-12-01"},
                     {"x-acs-date", date},
                     {"x-acs-signature-nonce", nonce},
                     {"x-acs-content-sha256", detail::Sha256Hex("")}};
  signing.headers.insert(signing.headers.end(), call.extra_headers.begin(),
                         call.extra_headers.end());
  signing.hashed_payload = detail::Sha256Hex("");
  std::string query = detail::CanonicalQueryString(signing.query);
  if (call.plus_for_space) {
    for (size_t at; (at = query.find("%20")) != std::string::npos;) query.replace(at, 3, "+");
  }
  http::request<http::string_body> req(http::verb::post, "/?" + query, 11);
  for (const auto& [name, value] : signing.headers) req.set(name, value);
  req.set(http::field::authorization, detail::Acs3Authorization(signing, kKeyId, kKeySecret));
  req.prepare_payload();
  return SendRaw(emulator.host(), emulator.port(), req);
}

std::string AcsDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TEST(AdminClientTest, StaleDateAndReplayedNonceAreRefused) {
  Emulator emulator;
  auto fresh = SignedRequest(emulator, AcsDate(std::time(nullptr)), "nonce-1");
  EXPECT_EQ(fresh.status, 200) << fresh.body;
  auto replay = SignedRequest(emulator, AcsDate(std::time(nullptr)), "nonce-1");
  EXPECT_EQ(replay.status, 400);
  EXPECT_EQ(replay.json.at("Code").as_string(), "SignatureNonceUsed") << replay.body;
  auto stale = SignedRequest(emulator, AcsDate(std::time(nullptr) - 16 * 60), "nonce-2");
  EXPECT_EQ(stale.json.at("Code").as_string(), "InvalidTimeStamp.Expired") << stale.body;
  auto ahead = SignedRequest(emulator, AcsDate(std::time(nullptr) + 16 * 60), "nonce-3");
  EXPECT_EQ(ahead.json.at("Code").as_string(), "InvalidTimeStamp.Expired") << ahead.body;
  // Within the window the date is fine.
  auto skewed = SignedRequest(emulator, AcsDate(std::time(nullptr) - 10 * 60), "nonce-4");
  EXPECT_EQ(skewed.status, 200) << skewed.body;
}

// The Go SDK's shape (fact sheet §1.2-1.3): the wire query from
// url.Values.Encode (a space as '+'), seven signed headers with
// x-acs-credentials-provider, and its user-agent and accept unsigned.
TEST(AdminClientTest, GoSdkShapedRequestsAreAccepted) {
  Emulator emulator;
  RawCall call;
  call.action = "CreateApplication";
  call.query = {{"InstanceId", kInstance},
                {"ApplicationName", "idsync go*sdk~"},
                {"ApplicationSourceType", "urn:alibaba:idaas:app:source:standard"},
                {"SsoType", "oidc"}};
  call.extra_headers = {{"x-acs-credentials-provider", "static_ak"},
                        {"user-agent",
                         "AlibabaCloud (linux; amd64) Golang/1.22 Core/0.01 TeaDSL/2"},
                        {"accept", "application/json"}};
  call.plus_for_space = true;
  auto created = SignedRequest(emulator, AcsDate(std::time(nullptr)), "go-nonce-1", call);
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_TRUE(created.json.is_object());

  asio::io_context io;
  auto admin = MakeAdmin(io, AdminOptionsFor(emulator));
  auto app = RunSync(io, admin->GetApplication(
                             std::string(created.json.at("ApplicationId").as_string())));
  ASSERT_TRUE(app) << ApiErrorOf(app.error()).message;
  EXPECT_EQ(app->application_name, "idsync go*sdk~");
}

}  // namespace
}  // namespace idsync::idaas::testing
