#include "operations.h"

#include "admin_api.h"

namespace idsync::emulator {
namespace {

using enum OperationKind;

// Group operations have no permission values of their own in the Developer
// API; the emulator uses the user values (an inference).
constexpr Operation kOperations[] = {
    {"POST", "oauth2/token", "GenerateToken", kOAuth, Need::kNone, GenerateToken},
    {"POST", "oauth2/revoke", "RevokeToken", kOAuth, Need::kNone, RevokeToken},
    {"GET", "provisioningScope", "GetApplicationProvisioningScope", kRead, Need::kNone,
     GetApplicationProvisioningScope},

    {"POST", "users", "CreateUser", kWrite, Need::kUserWrite, CreateUser},
    {"GET", "users", "ListUsers", kRead, Need::kUserRead, ListUsers},
    {"GET", "users/{id}", "GetUser", kRead, Need::kUserRead, GetUser},
    {"PATCH", "users/{id}", "PatchUser", kWrite, Need::kUserWrite, PatchUser},
    {"DELETE", "users/{id}", "DeleteUser", kWrite, Need::kUserWrite, DeleteUser},
    {"POST", "users/{id}/actions/enable", "EnableUser", kWrite, Need::kUserWrite, EnableUser},
    {"POST", "users/{id}/actions/disable", "DisableUser", kWrite, Need::kUserWrite,
     DisableUser},
    {"POST", "users/{id}/actions/updateUserPassword", "UpdateUserPassword", kWrite,
     Need::kUserWrite, UpdateUserPassword},
    {"POST", "users/_/actions/getUserIdByExternalId", "GetUserIdByUserExternalId", kRead,
     Need::kUserRead, GetUserIdByUserExternalId},
    {"POST", "users/_/actions/getUserIdByUsername", "GetUserIdByUsername", kRead,
     Need::kUserRead, GetUserIdByUsername},
    {"POST", "users/_/actions/getUserIdByEmail", "GetUserIdByEmail", kRead, Need::kUserRead,
     GetUserIdByEmail},
    {"POST", "users/_/actions/getUserIdByPhoneNumber", "GetUserIdByPhoneNumber", kRead,
     Need::kUserRead, GetUserIdByPhoneNumber},
    {"POST", "users/{id}/actions/addUserToOrganizationalUnits", "AddUserToOrganizationalUnits",
     kWrite, Need::kUserWrite, AddUserToOrganizationalUnits},
    {"POST", "users/{id}/actions/removeUserFromOrganizationalUnits",
     "RemoveUserFromOrganizationalUnits", kWrite, Need::kUserWrite,
     RemoveUserFromOrganizationalUnits},
    {"POST", "users/{id}/actions/setUserPrimaryOrganizationalUnit",
     "SetUserPrimaryOrganizationalUnit", kWrite, Need::kUserWrite,
     SetUserPrimaryOrganizationalUnit},
    {"GET", "users/{id}/actions/listGroupsForUser", "ListGroupsForUser", kRead,
     Need::kUserRead, ListGroupsForUser},

    {"POST", "organizationalUnits", "CreateOrganizationalUnit", kWrite, Need::kOuWrite,
     CreateOrganizationalUnit},
    {"GET", "organizationalUnits", "ListOrganizationalUnits", kRead, Need::kOuRead,
     ListOrganizationalUnits},
    {"GET", "organizationalUnits/{id}", "GetOrganizationalUnit", kRead, Need::kOuRead,
     GetOrganizationalUnit},
    {"PATCH", "organizationalUnits/{id}", "PatchOrganizationalUnit", kWrite, Need::kOuWrite,
     PatchOrganizationalUnit},
    {"DELETE", "organizationalUnits/{id}", "DeleteOrganizationalUnit", kWrite, Need::kOuWrite,
     DeleteOrganizationalUnit},
    {"GET", "organizationalUnits/{id}/parentIds", "ListOrganizationalUnitParentIds", kRead,
     Need::kOuRead, ListOrganizationalUnitParentIds},
    {"POST", "organizationalUnits/_/actions/getOrganizationalUnitIdByExternalId",
     "GetOrganizationalUnitIdByExternalId", kRead, Need::kOuRead,
     GetOrganizationalUnitIdByExternalId},

    {"POST", "groups", "CreateGroup", kWrite, Need::kUserWrite, CreateGroup},
    {"GET", "groups", "ListGroups", kRead, Need::kUserRead, ListGroups},
    {"GET", "groups/{id}", "GetGroup", kRead, Need::kUserRead, GetGroup},
    {"PATCH", "groups/{id}", "PatchGroup", kWrite, Need::kUserWrite, PatchGroup},
    {"DELETE", "groups/{id}", "DeleteGroup", kWrite, Need::kUserWrite, DeleteGroup},
    {"POST", "groups/{id}/actions/addUsersToGroup", "AddUsersToGroup", kWrite,
     Need::kUserWrite, AddUsersToGroup},
    {"POST", "groups/{id}/actions/removeUsersFromGroup", "RemoveUsersFromGroup", kWrite,
     Need::kUserWrite, RemoveUsersFromGroup},
    {"GET", "groups/{id}/actions/listUsersForGroup", "ListUsersForGroup", kRead,
     Need::kUserRead, ListUsersForGroup},
};

constexpr std::string_view kIdSegment = "{id}";
constexpr std::string_view kCollectionActions = "/_/";

// Whether `collection` has a collection action ("<collection>/_/…") served
// with `method`: then "_" there is that action's, not an entity id.
bool HasCollectionAction(std::string_view method, std::string_view collection) {
  for (const Operation& op : kOperations) {
    if (op.method == method && op.path.starts_with(collection) &&
        op.path.substr(collection.size()).starts_with(kCollectionActions)) {
      return true;
    }
  }
  return false;
}

bool Matches(const Operation& op, std::span<const std::string> path, std::string* id) {
  std::string_view pattern = op.path;
  for (size_t i = 0; i < path.size(); ++i) {
    if (pattern.empty()) return false;
    const size_t slash = pattern.find('/');
    const std::string_view segment = pattern.substr(0, slash);
    pattern = slash == std::string_view::npos ? std::string_view() : pattern.substr(slash + 1);
    if (segment == kIdSegment) {
      if (path[i] == "_" && HasCollectionAction(op.method, path[0])) return false;
      *id = path[i];
    } else if (segment != path[i]) {
      return false;
    }
    if (slash == std::string_view::npos && i + 1 < path.size()) return false;
  }
  return pattern.empty() && !path.empty();
}

}  // namespace

std::span<const Operation> DeveloperApiOperations() { return kOperations; }

std::optional<RouteMatch> MatchOperation(std::string_view method,
                                         std::span<const std::string> path) {
  for (const Operation& op : kOperations) {
    if (op.method != method) continue;
    std::string id;
    if (Matches(op, path, &id)) return RouteMatch{&op, std::move(id)};
  }
  return std::nullopt;
}

std::string_view MissingPermission(Need need, const Client& client) {
  auto has = [&](std::string_view permission) {
    return client.permissions.contains(std::string(permission)) ||
           client.permissions.contains(OtherScopeSpelling(permission));
  };
  switch (need) {
    case Need::kNone:
      return {};
    case Need::kUserRead:
      return has(kPermissionUserRead) || has(kPermissionUserManage) ? std::string_view()
                                                                    : kPermissionUserRead;
    case Need::kUserWrite:
      return has(kPermissionUserManage) ? std::string_view() : kPermissionUserManage;
    case Need::kOuRead:
      return has(kPermissionOuRead) || has(kPermissionOuManage) ? std::string_view()
                                                                : kPermissionOuRead;
    case Need::kOuWrite:
      return has(kPermissionOuManage) ? std::string_view() : kPermissionOuManage;
  }
  return {};
}

}  // namespace idsync::emulator
