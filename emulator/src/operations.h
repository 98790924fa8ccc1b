// The Developer API's operation table: the single place an operation is
// declared, with its method, path, name, kind, required permission and
// handler. Routing, the request log, fault targeting, the permission check
// and dispatch all read it. Adding an operation is one row here plus its
// handler (handlers.h) and, when it takes a body, its fields (body_fields.cpp).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "handlers.h"
#include "state.h"

namespace idsync::emulator {

enum class OperationKind {
  kOAuth,  // token endpoints: served before authentication, no faults
  kRead,   // leaves the directory as it is
  kWrite,  // may change the directory; after-commit faults apply
};

// The permission an operation requires. A read is also allowed by the
// matching manage permission.
enum class Need { kNone, kUserRead, kUserWrite, kOuRead, kOuWrite };

struct Operation {
  std::string_view method;
  // Below /v2/{instanceId}/{applicationId}/, "/"-separated. "{id}" matches
  // one segment (the user, OU or group addressed); "_" in a collection
  // action's path is literal, and with that action's method "_" names no
  // entity of the collection.
  std::string_view path;
  std::string_view name;  // the API's operation name, e.g. "CreateUser"
  OperationKind kind;
  Need need;
  Handler handler;
};

std::span<const Operation> DeveloperApiOperations();

struct RouteMatch {
  const Operation* operation = nullptr;
  std::string id;  // what "{id}" matched, if the path has it
};

// The operation serving `method` on `path` (the percent-decoded segments
// below /v2/{instanceId}/{applicationId}/), if any.
std::optional<RouteMatch> MatchOperation(std::string_view method,
                                         std::span<const std::string> path);

// The permission value `client` lacks for `need` ("" when it has it), as
// the 403 names it.
std::string_view MissingPermission(Need need, const Client& client);

}  // namespace idsync::emulator
