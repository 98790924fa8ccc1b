#include "admin_api.h"

#include <algorithm>
#include <array>
#include <set>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

constexpr size_t kMaxSecrets = 2;

[[noreturn]] void Reject(int status, std::string code, std::string message) {
  throw RpcRejection{status, std::move(code), std::move(message)};
}

std::string Required(const QueryParams& params, const std::string& name) {
  auto value = FindParam(params, name);
  if (!value || value->empty()) Reject(400, "MissingParameter." + name, name + " is mandatory.");
  return *value;
}

// Name.1, Name.2, ... in index order (a gap ends the list, as the SDKs never
// send one).
std::vector<std::string> List(const QueryParams& params, const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 1;; ++i) {
    auto value = FindParam(params, name + "." + std::to_string(i));
    if (!value) return out;
    out.push_back(*value);
  }
}

Client& FindApplication(AdminContext& context, const std::string& id) {
  for (Client& client : context.state->clients) {
    if (client.application_id == id) return client;
  }
  Reject(404, "ResourceNotFound.Application", "The application " + id + " does not exist.");
}

json::array Strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

json::object ApplicationJson(const AdminContext& context, const Client& client) {
  json::object o;
  o["InstanceId"] = context.state->instance_id;
  o["ApplicationId"] = client.application_id;
  o["ClientId"] = client.client_id;
  o["ApplicationName"] =
      client.application_name.empty() ? client.application_id : client.application_name;
  o["Status"] = "enabled";
  o["ApiInvokeStatus"] = client.api_invoke_enabled ? "enabled" : "disabled";
  o["SsoType"] = "oidc";
  o["ApplicationSourceType"] = "urn:alibaba:idaas:app:source:standard";
  o["Features"] = client.api_invoke_enabled ? "[\"api_invoke\"]" : "[]";
  return o;
}

json::object SecretJson(const Client& client, const ClientSecret& secret, bool plaintext) {
  json::object o;
  o["ApplicationId"] = client.application_id;
  o["ClientId"] = client.client_id;
  o["SecretId"] = secret.secret_id;
  o["ClientSecret"] = plaintext ? secret.secret : secret.secret.substr(0, 4) + "****";
  o["Status"] = secret.enabled ? "enabled" : "disabled";
  o["ExpirationTime"] = 0;
  o["LastUsedTime"] = 0;
  return o;
}

// The grant scopes the service accepts, in the admin reference's spelling.
std::string CheckedScope(const std::string& scope) {
  static const std::array<std::string_view, 4> kScopes = {
      "urn:alibaba:idaas:scope:user:read_all", "urn:alibaba:idaas:scope:user:manage_all",
      "urn:alibaba:idaas:scope:organizational_unit:read_all",
      "urn:alibaba:idaas:scope:organizational_unit:manage_all"};
  std::string manage = scope;
  if (manage.ends_with(":manager_all")) manage = OtherScopeSpelling(scope);
  if (std::find(kScopes.begin(), kScopes.end(), manage) == kScopes.end()) {
    Reject(400, "InvalidParameter.GrantScopes", "Unknown grant scope " + scope + ".");
  }
  return manage;
}

Ou& FindOu(AdminContext& context, const std::string& id, const char* what) {
  auto it = context.state->ous.find(id);
  if (it == context.state->ous.end()) {
    Reject(404, std::string("ResourceNotFound.") + what,
           "The organizational unit " + id + " does not exist.");
  }
  return it->second;
}

json::object MoveOu(AdminContext& context, const QueryParams& params) {
  const std::string id = Required(params, "OrganizationalUnitId");
  const std::string parent_id = Required(params, "ParentId");
  Ou& ou = FindOu(context, id, "OrganizationalUnit");
  FindOu(context, parent_id, "OrganizationalUnit");
  if (ou.parent_id.empty()) {
    Reject(400, "OperationForbidden.RootOrganizationalUnit", "The root cannot be moved.");
  }
  // A cycle: the new parent is the unit itself or one of its descendants.
  for (std::string at = parent_id; !at.empty(); at = context.state->ous.at(at).parent_id) {
    if (at == id) {
      Reject(400, "InvalidParameter.ParentId",
             "The parent " + parent_id + " is " + id + " or one of its descendants.");
    }
  }
  if (ou.parent_id != parent_id) {
    context.state->ous.at(ou.parent_id).children.erase(id);
    context.state->ous.at(parent_id).children.insert(id);
    ou.parent_id = parent_id;
    ou.update_time = context.now_ms;
  }
  return {};
}

json::object OuJson(AdminContext& context, const QueryParams& params) {
  const Ou& ou = FindOu(context, Required(params, "OrganizationalUnitId"), "OrganizationalUnit");
  json::object o;
  o["InstanceId"] = context.state->instance_id;
  o["OrganizationalUnitId"] = ou.id;
  o["OrganizationalUnitName"] = ou.name;
  o["Description"] = ou.description;
  o["ParentId"] = ou.parent_id;
  o["Leaf"] = ou.children.empty();
  o["OrganizationalUnitExternalId"] = ou.external_id;
  o["OrganizationalUnitSourceType"] = ou.source_type;
  o["OrganizationalUnitSourceId"] = ou.source_id;
  o["CreateTime"] = ou.create_time;
  o["UpdateTime"] = ou.update_time;
  json::object body;
  body["OrganizationalUnit"] = std::move(o);
  return body;
}

json::object ListApplications(AdminContext& context, const QueryParams& params) {
  auto number = [&](const char* name, int64_t fallback) {
    auto value = FindParam(params, name);
    if (!value || value->empty()) return fallback;
    if (value->find_first_not_of("0123456789") != std::string::npos || value->size() > 6) {
      Reject(400, std::string("InvalidParameter.") + name, std::string(name) + " is invalid.");
    }
    return std::max<int64_t>(1, std::stoll(*value));
  };
  const int64_t page = number("PageNumber", 1);
  const int64_t size = std::min<int64_t>(number("PageSize", 20), 100);
  const std::string prefix = FindParam(params, "ApplicationName").value_or("");
  std::vector<const Client*> matches;
  for (const Client& client : context.state->clients) {
    const std::string& name =
        client.application_name.empty() ? client.application_id : client.application_name;
    if (name.starts_with(prefix)) matches.push_back(&client);
  }
  json::array items;
  for (size_t i = static_cast<size_t>((page - 1) * size);
       i < matches.size() && items.size() < static_cast<size_t>(size); ++i) {
    items.push_back(ApplicationJson(context, *matches[i]));
  }
  json::object body;
  body["TotalCount"] = matches.size();
  body["Applications"] = std::move(items);
  return body;
}

json::object CreateApplication(AdminContext& context, const QueryParams& params) {
  std::string name = Required(params, "ApplicationName");
  if (name.size() > 64) Reject(400, "InvalidParameter.ApplicationName", "Too long.");
  const std::string source = Required(params, "ApplicationSourceType");
  if (source != "urn:alibaba:idaas:app:source:standard" &&
      source != "urn:alibaba:idaas:app:source:template") {
    Reject(400, "InvalidParameter.ApplicationSourceType", "Unknown source type.");
  }
  const std::string sso = Required(params, "SsoType");
  if (sso != "oidc" && sso != "saml2") Reject(400, "InvalidParameter.SsoType", "oidc or saml2.");
  Client client;
  client.application_id = context.new_id("app_");
  client.client_id = client.application_id;
  client.application_name = std::move(name);
  client.api_invoke_enabled = false;
  json::object body;
  body["ApplicationId"] = client.application_id;
  context.state->clients.push_back(std::move(client));
  return body;
}

// The actions on one application (ApplicationId), found before they run.

json::object GetApplication(AdminContext& context, const QueryParams&, Client& client) {
  json::object body;
  body["Application"] = ApplicationJson(context, client);
  return body;
}

json::object EnableApplicationApiInvoke(AdminContext&, const QueryParams&, Client& client) {
  client.api_invoke_enabled = true;
  return {};
}

json::object SetApplicationGrantScope(AdminContext&, const QueryParams& params,
                                      Client& client) {
  std::set<std::string> scopes;
  for (const std::string& scope : List(params, "GrantScopes")) {
    // Stored in the Developer API checks' spelling (emulator.h).
    scopes.insert(OtherScopeSpelling(CheckedScope(scope)));
  }
  client.permissions = std::move(scopes);
  return {};
}

json::object GetApplicationGrantScope(AdminContext&, const QueryParams&, Client& client) {
  json::array scopes;
  for (const std::string& scope : client.permissions) {
    scopes.emplace_back(scope.ends_with(":manager_all") ? OtherScopeSpelling(scope) : scope);
  }
  json::object grant;
  grant["GrantScopes"] = std::move(scopes);
  json::object body;
  body["ApplicationGrantScope"] = std::move(grant);
  return body;
}

json::object SetApplicationProvisioningScope(AdminContext& context, const QueryParams& params,
                                             Client& client) {
  ProvisioningScope scope;
  scope.organizational_unit_ids = List(params, "OrganizationalUnitIds");
  scope.group_ids = List(params, "GroupIds");
  for (const auto& id : scope.organizational_unit_ids) FindOu(context, id, "OrganizationalUnit");
  for (const auto& id : scope.group_ids) {
    if (!context.state->groups.contains(id)) {
      Reject(404, "ResourceNotFound.Group", "The group " + id + " does not exist.");
    }
  }
  client.scope = std::move(scope);
  return {};
}

json::object GetApplicationProvisioningScope(AdminContext& context, const QueryParams&,
                                             Client& client) {
  json::object scope;
  scope["OrganizationalUnitIds"] = Strings(client.scope.organizational_unit_ids);
  scope["GroupIds"] = Strings(client.scope.group_ids);
  scope["UsedQuota"] = context.state->users.size();
  scope["MaxQuota"] = context.account_quota;
  json::object body;
  body["ApplicationProvisioningScope"] = std::move(scope);
  return body;
}

json::object CreateApplicationClientSecret(AdminContext& context, const QueryParams&,
                                           Client& client) {
  if (client.secrets.size() >= kMaxSecrets) {
    Reject(400, "QuotaExceeded.ApplicationClientSecret",
           "An application has at most 2 client secrets.");
  }
  ClientSecret secret{"sci_" + context.random_alnum(26), "CSEH" + context.random_alnum(40), true};
  json::object body;
  body["ApplicationClientSecret"] = SecretJson(client, secret, /*plaintext=*/true);
  client.secrets.push_back(std::move(secret));
  return body;
}

json::object ListApplicationClientSecrets(AdminContext&, const QueryParams&, Client& client) {
  json::array items;
  for (const ClientSecret& secret : client.secrets) {
    items.push_back(SecretJson(client, secret, /*plaintext=*/false));
  }
  json::object body;
  body["TotalCount"] = items.size();
  body["ApplicationClientSecrets"] = std::move(items);
  return body;
}

// The admin API's action table: the single place an action is declared.
// An action runs either on the instance or on the application its
// ApplicationId names (found first: 404 ResourceNotFound.Application).
using InstanceAction = json::object (*)(AdminContext&, const QueryParams&);
using ApplicationAction = json::object (*)(AdminContext&, const QueryParams&, Client&);
struct Action {
  std::string_view name;
  InstanceAction on_instance;
  ApplicationAction on_application;
};

constexpr Action kActions[] = {
    {"ListApplications", ListApplications, nullptr},
    {"CreateApplication", CreateApplication, nullptr},
    {"GetApplication", nullptr, GetApplication},
    {"EnableApplicationApiInvoke", nullptr, EnableApplicationApiInvoke},
    {"SetApplicationGrantScope", nullptr, SetApplicationGrantScope},
    {"GetApplicationGrantScope", nullptr, GetApplicationGrantScope},
    {"SetApplicationProvisioningScope", nullptr, SetApplicationProvisioningScope},
    {"GetApplicationProvisioningScope", nullptr, GetApplicationProvisioningScope},
    {"CreateApplicationClientSecret", nullptr, CreateApplicationClientSecret},
    {"ListApplicationClientSecrets", nullptr, ListApplicationClientSecrets},
    {"UpdateOrganizationalUnitParentId", MoveOu, nullptr},
    {"GetOrganizationalUnit", OuJson, nullptr},
};

const Action* FindAction(std::string_view name) {
  for (const Action& action : kActions) {
    if (action.name == name) return &action;
  }
  return nullptr;
}

}  // namespace

std::string OtherScopeSpelling(std::string_view scope) {
  constexpr std::string_view kManage = ":manage_all", kManager = ":manager_all";
  std::string out(scope);
  if (scope.ends_with(kManager)) {
    out.replace(out.size() - kManager.size(), kManager.size(), kManage);
  } else if (scope.ends_with(kManage)) {
    out.replace(out.size() - kManage.size(), kManage.size(), kManager);
  }
  return out;
}

bool IsAdminAction(std::string_view action) { return FindAction(action) != nullptr; }

std::variant<json::object, RpcRejection> RunAdminAction(std::string_view name,
                                                        const QueryParams& params,
                                                        AdminContext& context) {
  const Action* action = FindAction(name);
  if (action == nullptr) return json::object();
  // The actions refuse by throwing RpcRejection from deep inside (a missing
  // parameter, an unknown id); this is the one place that turns it back into
  // a value.
  try {
    if (action->on_instance != nullptr) return action->on_instance(context, params);
    Client& client = FindApplication(context, Required(params, "ApplicationId"));
    return action->on_application(context, params, client);
  } catch (RpcRejection& rejection) {
    return std::move(rejection);
  }
}

}  // namespace idsync::emulator
