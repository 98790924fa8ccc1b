// Typed values of the IDaaS EIAM Developer API (2022-02-25) as idsync uses
// them, and the error type every call returns. These are plain structs: the
// JSON mapping lives only in the client's implementation.
//
// Field names follow the wire names in snake_case. Entity timestamps are UNIX
// milliseconds as the API sends them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "idsync/base/error.h"

namespace idsync::idaas {

// ---------------------------------------------------------------- errors --

// An error from one API call, after retries. Never holds a secret, token or
// Authorization value, so it is safe to log with ToString().
struct ApiError final : base::ErrorDetail {
  enum class Kind {
    kNetwork,     // connection refused/reset, DNS, EOF
    kTimeout,     // a resolve/connect/handshake/write/read step timed out
    kTls,         // certificate or handshake verification failed
    kThrottled,   // 429 or a Throttling* code, retries exhausted
    kServer,      // 5xx, retries exhausted
    kClient,      // other 4xx (validation), or invalid options
    kAuth,        // 401, or an OAuth error from the token endpoint
    kPermission,  // 403 (e.g. outside the provisioning scope)
    kNotFound,    // 404
    kConflict,    // 409 or an EntityAlreadyExists* code
    kProtocol,    // unparsable response, inconsistent listing, body too large
    kCancelled,   // the client was shut down
  };

  int http_status = 0;     // 0 when no response was received
  std::string code;        // API code, e.g. "EntityNotExists.User"
  std::string message;     // API message or a local description
  std::string request_id;  // server request id, when known
  Kind kind = Kind::kNetwork;
  bool retryable = false;  // a later retry of the same call may succeed
  // A non-idempotent write (Create*) whose request was fully sent before the
  // connection failed: it may or may not have been applied. The caller should
  // look the object up (e.g. by external id) before sending it again.
  bool ambiguous = false;
  int attempts = 0;  // requests sent for this call (0 if none)
  std::string action;  // the operation, e.g. "CreateUser"

  // One line, e.g. "CreateUser: conflict (409 EntityAlreadyExists.User.Username:
  // ... request_id=...) after 1 attempt".
  std::string ToString() const;

  // A call's error is the project's (ToError): `return e;` from a call.
  operator base::Error() const;  // NOLINT: implicit on purpose
};

// "network", "timeout", ...
const char* KindName(ApiError::Kind kind);

// Every call returns the project's Result (base/error.h). Its error's message
// is ApiError::ToString(), its code follows the kind (kNotFound, kConflict,
// kInvalid for kClient, kRemote otherwise), and the ApiError itself is its detail.
using base::Result;
using base::Status;

// The error as the project's: `return api_error;` converts.
base::Error ToError(ApiError e);

// The API's detail of an error a call returned. An error that did not come
// from this client (no ApiError detail) reads as kind kProtocol with the
// error's message.
ApiError ApiErrorOf(const base::Error& e);

// ----------------------------------------------------------------- token --

// The result of GenerateToken. access_token is a credential: never log it.
struct TokenInfo {
  std::string access_token;
  std::string token_type;  // "Bearer"
  int64_t expires_in = 0;  // seconds
  int64_t expires_at = 0;  // UNIX seconds
};

// -------------------------------------------------------- provisioning --

struct ProvisioningScope {
  std::vector<std::string> organizational_unit_ids;
  std::vector<std::string> group_ids;
};

// ----------------------------------------------------------------- users --

struct CustomField {
  std::string field_name;
  std::string field_value;
};

// A PatchUser customFields entry.
struct CustomFieldPatch {
  std::string field_name;
  std::string field_value;
  std::string operation = "replace";  // add | replace | remove
};

struct UserOrganizationalUnit {
  std::string organizational_unit_id;
  std::string organizational_unit_name;
  bool primary = false;
};

struct UserGroup {
  std::string group_id;
  std::string group_name;
  std::string description;
};

struct User {
  std::string instance_id;
  std::string user_id;
  std::string username;
  std::string display_name;
  std::string description;
  std::string email;
  bool email_verified = false;
  std::string phone_region;
  std::string phone_number;
  bool phone_number_verified = false;
  bool password_set = false;
  std::string status;  // enabled | disabled
  std::string user_source_type;
  std::string user_source_id;
  std::string user_external_id;
  int64_t account_expire_time = 0;
  int64_t lock_expire_time = 0;
  int64_t register_time = 0;
  int64_t create_time = 0;
  int64_t update_time = 0;
  // GetUser only (empty in listings):
  std::string primary_organizational_unit_id;
  std::vector<UserOrganizationalUnit> organizational_units;
  std::vector<UserGroup> groups;
  std::vector<CustomField> custom_fields;
};

struct PasswordInitializationConfig {
  std::string password_initialization_policy_priority;  // global | custom
  std::string password_initialization_type;             // random
  std::string password_forced_update_status;  // enabled | disabled
  std::vector<std::string> user_notification_channels;  // email | sms
};

// CreateUser body; unset optionals are not sent.
struct CreateUserRequest {
  std::string username;                        // required
  std::string primary_organizational_unit_id;  // required
  std::optional<std::string> display_name;
  std::optional<std::string> description;
  std::optional<std::string> password;  // secret: never logged
  std::optional<std::string> email;
  std::optional<bool> email_verified;
  std::optional<std::string> phone_number;
  std::optional<bool> phone_number_verified;
  std::optional<std::string> phone_region;
  std::optional<std::string> user_external_id;
  std::vector<CustomField> custom_fields;  // empty: not sent
  std::optional<PasswordInitializationConfig> password_initialization_config;
};

// PatchUser body: only the fields set are changed.
struct PatchUserRequest {
  std::optional<std::string> username;
  std::optional<std::string> display_name;
  std::optional<std::string> email;
  std::optional<bool> email_verified;
  std::optional<std::string> phone_number;
  std::optional<bool> phone_number_verified;
  std::optional<std::string> phone_region;
  std::vector<CustomFieldPatch> custom_fields;  // empty: not sent
};

struct UserPage {
  int64_t total_count = 0;
  std::vector<User> users;
};

// ---------------------------------------------------- organizational units --

struct OrganizationalUnit {
  std::string instance_id;
  std::string organizational_unit_id;
  std::string organizational_unit_name;
  std::string description;
  std::string parent_id;
  std::string organizational_unit_external_id;
  std::string organizational_unit_source_type;
  std::string organizational_unit_source_id;
  int64_t create_time = 0;
  int64_t update_time = 0;
};

struct CreateOrganizationalUnitRequest {
  std::string organizational_unit_name;  // required
  std::string parent_id;                 // required
  std::optional<std::string> description;
  std::optional<std::string> organizational_unit_external_id;
};

struct PatchOrganizationalUnitRequest {
  std::optional<std::string> organizational_unit_name;
  std::optional<std::string> description;
};

struct OrganizationalUnitPage {
  int64_t total_count = 0;
  std::vector<OrganizationalUnit> organizational_units;
};

// ---------------------------------------------------------------- groups --

struct Group {
  std::string instance_id;
  std::string group_id;
  std::string group_name;
  std::string description;
  std::string group_external_id;
  std::string group_source_type;
  std::string group_source_id;
  int64_t create_time = 0;
  int64_t update_time = 0;
};

// CreateGroup and PatchGroup take no description in the 2022-02-25 API
// (only groupName and groupExternalId); a group's description can be read
// but not written through it.
struct CreateGroupRequest {
  std::string group_name;  // required
  std::optional<std::string> group_external_id;
};

struct PatchGroupRequest {
  std::optional<std::string> group_name;
};

struct GroupPage {
  int64_t total_count = -1;  // -1: not sent
  std::string next_token;  // empty: last page
  std::vector<Group> groups;
};

struct GroupMemberPage {
  int64_t total_count = -1;  // -1: not sent
  std::string next_token;  // empty: last page
  std::vector<std::string> user_ids;
};

}  // namespace idsync::idaas
