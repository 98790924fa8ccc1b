// The admin API (Eiam 2021-12-01, RPC) over the emulator's directory: the
// operations that prepare an application for the Developer API and move
// departments. It works on the same State as the Developer API, so an
// application made here is usable at once through GenerateToken. Signature
// checks happen before (acs3_verifier.h); this is the part after the gateway.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "acs3_verifier.h"
#include "state.h"
#include "text.h"

namespace idsync::emulator {

// What the operations need from the emulator besides the state.
struct AdminContext {
  State* state = nullptr;
  int64_t now_ms = 0;
  int64_t account_quota = 0;
  std::function<std::string(std::string_view prefix)> new_id;  // "app_..." etc.
  std::function<std::string(size_t length)> random_alnum;
};

// Whether `action` is one of the operations served here.
bool IsAdminAction(std::string_view action);

// Runs `action` with its decoded parameters (InstanceId already checked).
// Returns the response body without RequestId, or the action's refusal.
std::variant<boost::json::object, RpcRejection> RunAdminAction(std::string_view action,
                                                               const QueryParams& params,
                                                               AdminContext& context);

// The two spellings of the manage scopes (…:manage_all in the admin
// reference, …:manager_all in the user guide) name one permission: the other
// spelling of `scope`, or `scope` itself when it has none.
std::string OtherScopeSpelling(std::string_view scope);

}  // namespace idsync::emulator
