// The IDaaS admin API client (Eiam 2021-12-01, RPC style, AccessKey-signed
// with ACS3-HMAC-SHA256): the operations that prepare an application for the
// Developer API and move departments. It runs on the same machinery as
// Client (pooled transport, TLS, timeouts, retries, rate limit, error kinds),
// with its own pool for its own endpoint. Wire facts:
// ../shared/idaas-admin-api.md; docs/admin-api.md.
//
// Thread-safety and lifetime: as Client (one executor; keep it alive until
// its calls complete; Shutdown() cancels). The AccessKey secret and STS token
// are used only to sign; they appear in no log line, error or stats.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idsync/idaas/client.h"
#include "idsync/idaas/types.h"

namespace idsync::config {
struct AdminConfig;
}

namespace idsync::idaas {

// The Developer API permissions (grant scopes) the admin API sets, in the
// spelling the admin reference uses (fact sheet §4).
inline constexpr std::string_view kScopeUserReadAll = "urn:alibaba:idaas:scope:user:read_all";
inline constexpr std::string_view kScopeUserManageAll = "urn:alibaba:idaas:scope:user:manage_all";
inline constexpr std::string_view kScopeOuReadAll =
    "urn:alibaba:idaas:scope:organizational_unit:read_all";
inline constexpr std::string_view kScopeOuManageAll =
    "urn:alibaba:idaas:scope:organizational_unit:manage_all";

// The user guide spells the manage scopes "manager_all"; both name the same
// permission. Returns the `manage_all` spelling, trimmed of the blanks some
// responses carry ("...:read_all ").
std::string NormalizeGrantScope(std::string_view scope);

struct AdminOptions {
  // Endpoint (https://eiam.<region>.aliyuncs.com), TLS, timeouts, retry and
  // rate limit; instance_id is sent as InstanceId. The Developer API fields
  // (application_id, client_id, client_secret) are not used.
  Options transport;
  std::string access_key_id;
  std::string access_key_secret;  // the HMAC key: never sent, never logged
  std::string security_token;     // STS; empty for a RAM user's AccessKey
};

// The admin section plus the transport settings of the idaas section.
AdminOptions AdminOptionsFromConfig(const config::IdaasConfig& idaas,
                                    const config::AdminConfig& admin);

struct Application {
  std::string application_id;
  std::string client_id;  // the Developer API's client_id
  std::string application_name;
  std::string status;             // enabled | disabled
  std::string api_invoke_status;  // enabled | disabled: the Developer API
  std::string sso_type;
};

struct ApplicationPage {
  int64_t total_count = 0;
  std::vector<Application> applications;
};

// The Developer API's data range, with the tenant's account quota.
struct ApplicationProvisioningScope {
  std::vector<std::string> organizational_unit_ids;
  std::vector<std::string> group_ids;
  int64_t used_quota = 0;
  int64_t max_quota = 0;
};

struct ApplicationClientSecret {
  std::string secret_id;  // sci_...
  std::string client_id;
  // Plaintext only from CreateApplicationClientSecret (a credential: never
  // log it); masked in listings.
  std::string client_secret;
  std::string status;  // enabled | disabled
  int64_t expiration_time = 0;  // UNIX ms; 0: never
  int64_t last_used_time = 0;
};

class AdminClient {
 public:
  // Validates the options as Client::Create does, and that the instance id
  // and AccessKey are present. No network I/O until the first call.
  static Result<std::unique_ptr<AdminClient>> Create(asio::any_io_executor executor,
                                                     AdminOptions options);
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  void Shutdown();
  ClientStats stats() const;

  // One page (page_number from 1). `name_prefix` filters by ApplicationName.
  asio::awaitable<Result<ApplicationPage>> ListApplications(
      int page_number, int page_size, std::optional<std::string> name_prefix = std::nullopt);
  // An OIDC application from the standard source; returns its id. Not
  // idempotent: after an ambiguous failure, list by name before retrying.
  asio::awaitable<Result<std::string>> CreateApplication(std::string name,
                                                         std::string description);
  asio::awaitable<Result<Application>> GetApplication(std::string application_id);
  asio::awaitable<Status> EnableApplicationApiInvoke(std::string application_id);
  // Replaces the application's grant scopes with `scopes`.
  asio::awaitable<Status> SetApplicationGrantScope(std::string application_id,
                                                   std::vector<std::string> scopes);
  // Normalized (NormalizeGrantScope), in the order received.
  asio::awaitable<Result<std::vector<std::string>>> GetApplicationGrantScope(
      std::string application_id);
  // Replaces the provisioning scope.
  asio::awaitable<Status> SetApplicationProvisioningScope(
      std::string application_id, std::vector<std::string> organizational_unit_ids,
      std::vector<std::string> group_ids = {});
  asio::awaitable<Result<ApplicationProvisioningScope>> GetApplicationProvisioningScope(
      std::string application_id);
  // A permanent secret; the result holds its plaintext. At most two secrets
  // per application. Not idempotent.
  asio::awaitable<Result<ApplicationClientSecret>> CreateApplicationClientSecret(
      std::string application_id);
  asio::awaitable<Result<std::vector<ApplicationClientSecret>>> ListApplicationClientSecrets(
      std::string application_id);
  // Moves a department under `parent_id`. Sending it again is harmless.
  asio::awaitable<Status> UpdateOrganizationalUnitParentId(std::string organizational_unit_id,
                                                           std::string parent_id);
  asio::awaitable<Result<OrganizationalUnit>> GetOrganizationalUnit(
      std::string organizational_unit_id);

 private:
  class Impl;  // admin_client.cpp: the signing and the actions over the shared transport
  explicit AdminClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace idsync::idaas
