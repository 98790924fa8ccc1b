#include "idsync/idaas/admin_client.h"

#include <boost/json/object.hpp>

#include <ctime>
#include <random>

#include "acs3_signature.h"
#include "client_impl.h"
#include "codec.h"
#include "idsync/base/clock.h"
#include "idsync/config/config.h"

namespace idsync::idaas {

namespace json = boost::json;
using Kind = ApiError::Kind;

std::string NormalizeGrantScope(std::string_view scope) {
  const char* ws = " \t\r\n";
  auto first = scope.find_first_not_of(ws);
  if (first == std::string_view::npos) return "";
  std::string out(scope.substr(first, scope.find_last_not_of(ws) - first + 1));
  constexpr std::string_view kManager = ":manager_all";
  if (out.ends_with(kManager)) {
    out.replace(out.size() - kManager.size(), kManager.size(), ":manage_all");
  }
  return out;
}

AdminOptions AdminOptionsFromConfig(const config::IdaasConfig& idaas,
                                    const config::AdminConfig& admin) {
  AdminOptions o;
  o.transport = OptionsFromConfig(idaas);
  o.transport.endpoint = admin.endpoint;
  o.transport.instance_id = admin.instance_id;
  // The Developer API's credential has no business in admin requests.
  o.transport.application_id.clear();
  o.transport.client_id.clear();
  o.transport.client_secret.clear();
  o.access_key_id = admin.access_key_id;
  o.access_key_secret = admin.access_key_secret.Reveal();
  o.security_token = admin.security_token.Reveal();
  return o;
}

namespace {

constexpr const char* kVersion = "2021-12-01";

// RPC parameters by PascalCase name; arrays flattened as Name.1, Name.2, ...
struct Params {
  detail::NameValues values;
  Params& Add(std::string name, std::string value) {
    values.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Params& AddList(const std::string& name, const std::vector<std::string>& list) {
    for (size_t i = 0; i < list.size(); ++i) Add(name + "." + std::to_string(i + 1), list[i]);
    return *this;
  }
};

std::string UtcNow() {
  const std::time_t now = static_cast<std::time_t>(base::Clock::System().NowMs() / 1000);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The member object `key` of the response, or an error naming it.
Result<json::object> Member(const Result<detail::CallResponse>& r, const char* action,
                            std::string_view key) {
  if (!r) return r.error();
  if (r->body.is_object()) {
    const auto& body = r->body.get_object();
    auto it = body.find(key);
    if (it != body.end() && it->value().is_object()) return it->value().get_object();
  }
  return detail::BadResponse(*r, action, "response has no object " + std::string(key));
}

Application DecodeApplication(const json::object& o) {
  Application a;
  a.application_id = detail::StringField(o, "ApplicationId");
  a.client_id = detail::StringField(o, "ClientId");
  a.application_name = detail::StringField(o, "ApplicationName");
  a.status = detail::StringField(o, "Status");
  a.api_invoke_status = detail::StringField(o, "ApiInvokeStatus");
  a.sso_type = detail::StringField(o, "SsoType");
  return a;
}

ApplicationClientSecret DecodeSecret(const json::object& o) {
  ApplicationClientSecret s;
  s.secret_id = detail::StringField(o, "SecretId");
  s.client_id = detail::StringField(o, "ClientId");
  s.client_secret = detail::StringField(o, "ClientSecret");
  s.status = detail::StringField(o, "Status");
  s.expiration_time = detail::IntField(o, "ExpirationTime");
  s.last_used_time = detail::IntField(o, "LastUsedTime");
  return s;
}

}  // namespace

class AdminClient::Impl {
 public:
  Impl(std::shared_ptr<detail::ClientCore> core, AdminOptions options)
      : core_(std::move(core)), opt_(std::move(options)) {}

  detail::ClientCore& core() { return *core_; }

  // One RPC call: POST / with the parameters (InstanceId first among them)
  // in the query and an empty body, signed afresh on every attempt.
  asio::awaitable<Result<detail::CallResponse>> Call(const char* action, Params params,
                                                    bool idempotent) {
    params.values.insert(params.values.begin(), {"InstanceId", opt_.transport.instance_id});
    detail::CallSpec spec;
    spec.action = action;
    spec.method = http::verb::post;
    spec.rpc = true;
    spec.version = kVersion;
    spec.auth = false;
    spec.idempotent = idempotent;
    spec.path = "/?" + detail::CanonicalQueryString(params.values);
    spec.sign = [this, query = std::move(params.values)](
                    http::request<http::string_body>* req) { Sign(query, req); };
    co_return co_await core_->Call(std::move(spec));
  }

 private:
  void Sign(const detail::NameValues& query, http::request<http::string_body>* req) {
    req->set("x-acs-date", UtcNow());
    req->set("x-acs-signature-nonce", Nonce());
    req->set("x-acs-content-sha256", detail::Sha256Hex(req->body()));
    if (!opt_.security_token.empty()) {
      req->set("x-acs-accesskey-id", opt_.access_key_id);
      req->set("x-acs-security-token", opt_.security_token);
    }
    detail::Acs3Request signing;
    signing.method = std::string(req->method_string());
    signing.path = "/";
    signing.query = query;
    for (const auto& field : *req) {
      signing.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    signing.hashed_payload = detail::Sha256Hex(req->body());
    req->set(http::field::authorization,
             detail::Acs3Authorization(signing, opt_.access_key_id, opt_.access_key_secret));
  }

  // 128 random bits in hex: unique per request, as the gateway demands.
  std::string Nonce() {
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 2; ++i) {
      uint64_t v = rng_();
      for (int j = 0; j < 16; ++j, v >>= 4) out += kHex[v & 15];
    }
    return out;
  }

  std::shared_ptr<detail::ClientCore> core_;
  AdminOptions opt_;
  std::mt19937_64 rng_{std::random_device{}()};
};

Result<std::unique_ptr<AdminClient>> AdminClient::Create(asio::any_io_executor executor,
                                                         AdminOptions options) {
  if (options.access_key_id.empty() || options.access_key_secret.empty()) {
    return detail::MakeError(Kind::kClient, "InvalidOptions",
                             "the AccessKey id and secret are required");
  }
  auto core = CreateImpl(std::move(executor), options.transport,
                         /*require_application=*/false);
  if (!core) return core.error();
  return std::unique_ptr<AdminClient>(
      new AdminClient(std::make_unique<Impl>(std::move(*core), std::move(options))));
}

AdminClient::AdminClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminClient::~AdminClient() = default;
void AdminClient::Shutdown() { impl_->core().Shutdown(); }
ClientStats AdminClient::stats() const { return impl_->core().Stats(); }

asio::awaitable<Result<ApplicationPage>> AdminClient::ListApplications(
    int page_number, int page_size, std::optional<std::string> name_prefix) {
  Params p;
  p.Add("PageNumber", std::to_string(page_number)).Add("PageSize", std::to_string(page_size));
  if (name_prefix) p.Add("ApplicationName", *name_prefix);
  auto r = co_await impl_->Call("ListApplications", std::move(p), true);
  if (!r) co_return r.error();
  ApplicationPage page;
  if (!r->body.is_object()) co_return detail::BadResponse(*r, "ListApplications", "not an object");
  const auto& body = r->body.get_object();
  page.total_count = detail::IntField(body, "TotalCount");
  if (auto it = body.find("Applications"); it != body.end() && it->value().is_array()) {
    for (const auto& item : it->value().get_array()) {
      if (item.is_object()) page.applications.push_back(DecodeApplication(item.get_object()));
    }
  }
  co_return page;
}

asio::awaitable<Result<std::string>> AdminClient::CreateApplication(std::string name,
                                                                    std::string description) {
  Params p;
  p.Add("ApplicationName", std::move(name))
      .Add("ApplicationSourceType", "urn:alibaba:idaas:app:source:standard")
      .Add("SsoType", "oidc");
  if (!description.empty()) p.Add("Description", std::move(description));
  auto r = co_await impl_->Call("CreateApplication", std::move(p), false);
  if (!r) co_return r.error();
  std::string id;
  if (r->body.is_object()) id = detail::StringField(r->body.get_object(), "ApplicationId");
  if (id.empty()) {
    ApiError e = detail::BadResponse(*r, "CreateApplication", "response has no ApplicationId");
    e.ambiguous = true;
    co_return e;
  }
  co_return id;
}

asio::awaitable<Result<Application>> AdminClient::GetApplication(std::string application_id) {
  auto r = co_await impl_->Call("GetApplication",
                                Params().Add("ApplicationId", std::move(application_id)), true);
  auto o = Member(r, "GetApplication", "Application");
  if (!o) co_return o.error();
  co_return DecodeApplication(*o);
}

asio::awaitable<Status> AdminClient::EnableApplicationApiInvoke(std::string application_id) {
  auto r = co_await impl_->Call("EnableApplicationApiInvoke",
                                Params().Add("ApplicationId", std::move(application_id)), true);
  if (!r) co_return r.error();
  co_return Status{};
}

asio::awaitable<Status> AdminClient::SetApplicationGrantScope(std::string application_id,
                                                              std::vector<std::string> scopes) {
  Params p;
  p.Add("ApplicationId", std::move(application_id)).AddList("GrantScopes", scopes);
  auto r = co_await impl_->Call("SetApplicationGrantScope", std::move(p), true);
  if (!r) co_return r.error();
  co_return Status{};
}

asio::awaitable<Result<std::vector<std::string>>> AdminClient::GetApplicationGrantScope(
    std::string application_id) {
  auto r = co_await impl_->Call("GetApplicationGrantScope",
                                Params().Add("ApplicationId", std::move(application_id)), true);
  auto o = Member(r, "GetApplicationGrantScope", "ApplicationGrantScope");
  if (!o) co_return o.error();
  std::vector<std::string> scopes;
  std::string error;
  if (!detail::StringArrayField(*o, "GrantScopes", &scopes, &error))
    co_return detail::BadResponse(*r, "GetApplicationGrantScope", error);
  for (auto& s : scopes) s = NormalizeGrantScope(s);
  co_return scopes;
}

asio::awaitable<Status> AdminClient::SetApplicationProvisioningScope(
    std::string application_id, std::vector<std::string> organizational_unit_ids,
    std::vector<std::string> group_ids) {
  Params p;
  p.Add("ApplicationId", std::move(application_id))
      .AddList("OrganizationalUnitIds", organizational_unit_ids)
      .AddList("GroupIds", group_ids);
  auto r = co_await impl_->Call("SetApplicationProvisioningScope", std::move(p), true);
  if (!r) co_return r.error();
  co_return Status{};
}

asio::awaitable<Result<ApplicationProvisioningScope>>
AdminClient::GetApplicationProvisioningScope(std::string application_id) {
  auto r = co_await impl_->Call("GetApplicationProvisioningScope",
                                Params().Add("ApplicationId", std::move(application_id)), true);
  auto o = Member(r, "GetApplicationProvisioningScope", "ApplicationProvisioningScope");
  if (!o) co_return o.error();
  ApplicationProvisioningScope scope;
  std::string error;
  if (!detail::StringArrayField(*o, "OrganizationalUnitIds", &scope.organizational_unit_ids,
                                &error) ||
      !detail::StringArrayField(*o, "GroupIds", &scope.group_ids, &error))
    co_return detail::BadResponse(*r, "GetApplicationProvisioningScope", error);
  scope.used_quota = detail::IntField(*o, "UsedQuota");
  scope.max_quota = detail::IntField(*o, "MaxQuota");
  co_return scope;
}

asio::awaitable<Result<ApplicationClientSecret>> AdminClient::CreateApplicationClientSecret(
    std::string application_id) {
  auto r = co_await impl_->Call("CreateApplicationClientSecret",
                                Params().Add("ApplicationId", std::move(application_id)), false);
  auto o = Member(r, "CreateApplicationClientSecret", "ApplicationClientSecret");
  if (!o) {
    ApiError e = ApiErrorOf(o.error());
    if (r) e.ambiguous = true;  // a 2xx without the secret: it may exist now
    co_return e;
  }
  co_return DecodeSecret(*o);
}

asio::awaitable<Result<std::vector<ApplicationClientSecret>>>
AdminClient::ListApplicationClientSecrets(std::string application_id) {
  auto r = co_await impl_->Call("ListApplicationClientSecrets",
                                Params().Add("ApplicationId", std::move(application_id)), true);
  if (!r) co_return r.error();
  std::vector<ApplicationClientSecret> out;
  if (r->body.is_object()) {
    const auto& body = r->body.get_object();
    if (auto it = body.find("ApplicationClientSecrets");
        it != body.end() && it->value().is_array()) {
      for (const auto& item : it->value().get_array()) {
        if (item.is_object()) out.push_back(DecodeSecret(item.get_object()));
      }
    }
  }
  co_return out;
}

asio::awaitable<Status> AdminClient::UpdateOrganizationalUnitParentId(
    std::string organizational_unit_id, std::string parent_id) {
  Params p;
  p.Add("OrganizationalUnitId", std::move(organizational_unit_id))
      .Add("ParentId", std::move(parent_id));
  auto r = co_await impl_->Call("UpdateOrganizationalUnitParentId", std::move(p), true);
  if (!r) co_return r.error();
  co_return Status{};
}

asio::awaitable<Result<OrganizationalUnit>> AdminClient::GetOrganizationalUnit(
    std::string organizational_unit_id) {
  auto r = co_await impl_->Call(
      "GetOrganizationalUnit",
      Params().Add("OrganizationalUnitId", std::move(organizational_unit_id)), true);
  auto o = Member(r, "GetOrganizationalUnit", "OrganizationalUnit");
  if (!o) co_return o.error();
  OrganizationalUnit ou;
  ou.instance_id = detail::StringField(*o, "InstanceId");
  ou.organizational_unit_id = detail::StringField(*o, "OrganizationalUnitId");
  ou.organizational_unit_name = detail::StringField(*o, "OrganizationalUnitName");
  ou.description = detail::StringField(*o, "Description");
  ou.parent_id = detail::StringField(*o, "ParentId");
  ou.organizational_unit_external_id = detail::StringField(*o, "OrganizationalUnitExternalId");
  ou.organizational_unit_source_type = detail::StringField(*o, "OrganizationalUnitSourceType");
  ou.organizational_unit_source_id = detail::StringField(*o, "OrganizationalUnitSourceId");
  ou.create_time = detail::IntField(*o, "CreateTime");
  ou.update_time = detail::IntField(*o, "UpdateTime");
  co_return ou;
}

}  // namespace idsync::idaas
