// The Developer API's operation handlers, one file per resource:
// user_handlers.cpp, ou_handlers.cpp, group_handlers.cpp,
// application_handlers.cpp and oauth_handlers.cpp. The operation table
// (operations.cpp) names which handler serves which method and path.
//
// A handler runs after routing, authentication, throttling, fault draws,
// the permission check and body parsing; it validates its own fields and
// refuses by throwing an ApiError (api_error.h).
#pragma once

#include "core.h"
#include "idsync/emulator/emulator.h"
#include "listing_cache.h"
#include "request_context.h"
#include "visibility.h"

namespace idsync::emulator {

using Handler = Response (*)(Core& core, RequestContext& context);

// The calling client's view of the directory.
inline Visibility ViewOf(Core& core, const RequestContext& context) {
  return Visibility(core.state, *context.client);
}
// The kept listings the calling client may page through.
inline ListingSource ListingsOf(Core& core, const RequestContext& context) {
  return ListingSource{&core.listings, core.generation, context.client};
}

// oauth_handlers.cpp (served before authentication)
Response GenerateToken(Core& core, RequestContext& context);
Response RevokeToken(Core& core, RequestContext& context);

// application_handlers.cpp
Response GetApplicationProvisioningScope(Core& core, RequestContext& context);

// user_handlers.cpp
Response CreateUser(Core& core, RequestContext& context);
Response PatchUser(Core& core, RequestContext& context);
Response DeleteUser(Core& core, RequestContext& context);
Response EnableUser(Core& core, RequestContext& context);
Response DisableUser(Core& core, RequestContext& context);
Response GetUser(Core& core, RequestContext& context);
Response ListUsers(Core& core, RequestContext& context);
Response UpdateUserPassword(Core& core, RequestContext& context);
Response GetUserIdByUserExternalId(Core& core, RequestContext& context);
Response GetUserIdByUsername(Core& core, RequestContext& context);
Response GetUserIdByEmail(Core& core, RequestContext& context);
Response GetUserIdByPhoneNumber(Core& core, RequestContext& context);

// ou_handlers.cpp: OUs and users' OU memberships
Response CreateOrganizationalUnit(Core& core, RequestContext& context);
Response PatchOrganizationalUnit(Core& core, RequestContext& context);
Response DeleteOrganizationalUnit(Core& core, RequestContext& context);
Response GetOrganizationalUnit(Core& core, RequestContext& context);
Response ListOrganizationalUnits(Core& core, RequestContext& context);
Response ListOrganizationalUnitParentIds(Core& core, RequestContext& context);
Response GetOrganizationalUnitIdByExternalId(Core& core, RequestContext& context);
Response AddUserToOrganizationalUnits(Core& core, RequestContext& context);
Response RemoveUserFromOrganizationalUnits(Core& core, RequestContext& context);
Response SetUserPrimaryOrganizationalUnit(Core& core, RequestContext& context);

// group_handlers.cpp: groups and their memberships
Response CreateGroup(Core& core, RequestContext& context);
Response PatchGroup(Core& core, RequestContext& context);
Response DeleteGroup(Core& core, RequestContext& context);
Response GetGroup(Core& core, RequestContext& context);
Response ListGroups(Core& core, RequestContext& context);
Response AddUsersToGroup(Core& core, RequestContext& context);
Response RemoveUsersFromGroup(Core& core, RequestContext& context);
Response ListUsersForGroup(Core& core, RequestContext& context);
Response ListGroupsForUser(Core& core, RequestContext& context);

}  // namespace idsync::emulator
