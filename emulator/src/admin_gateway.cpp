#include "admin_gateway.h"

#include <algorithm>
#include <optional>
#include <strings.h>

#include "admin_api.h"
#include "responses.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

Response RpcErrorResponse(const RpcRejection& rejection, const std::string& request_id) {
  json::object body;
  body["RequestId"] = request_id;
  body["HostId"] = "eiam.emulator";
  body["Code"] = rejection.code;
  body["Message"] = rejection.message;
  return JsonResponse(rejection.status, body);
}

std::string VersionHeader(const Request& request) {
  std::string version;
  for (const auto& [name, value] : request.headers) {
    if (name.size() == 13 && strncasecmp(name.c_str(), "x-acs-version", 13) == 0) {
      version = value;
    }
  }
  return version;
}

// What the gateway refuses after the signature holds, if anything.
std::optional<RpcRejection> CheckCall(const Request& request, const AccessKey& key,
                                      const QueryParams& params, const State& state) {
  const std::string& action = request.acs_action;
  if (VersionHeader(request) != "2021-12-01") {
    return RpcRejection{400, "InvalidVersion", "Specified parameter Version is not valid."};
  }
  if (!IsAdminAction(action)) {
    return RpcRejection{404, "InvalidApi.NotFound", "Specified api is not found."};
  }
  if (!key.allowed_actions.empty() &&
      std::find(key.allowed_actions.begin(), key.allowed_actions.end(), action) ==
          key.allowed_actions.end()) {
    return RpcRejection{403, "Forbidden.RAM",
                        "User not authorized to operate on the specified resource "
                        "(eiam:" + action + ")."};
  }
  auto instance = FindParam(params, "InstanceId");
  if (!instance || instance->empty()) {
    return RpcRejection{400, "MissingParameter.InstanceId", "InstanceId is mandatory."};
  }
  if (*instance != state.instance_id) {
    return RpcRejection{404, "ResourceNotFound.Instance",
                        "The instance " + *instance + " does not exist."};
  }
  return std::nullopt;
}

}  // namespace

Response HandleAdminRpc(Core& core, const Request& request, const QueryParams& query,
                        const std::string& request_id, int64_t now_us,
                        RequestLogEntry* entry) {
  const AccessKey* key = nullptr;
  if (auto rejection = core.verifier.Verify(request, core.options.access_keys, now_us, &key)) {
    return RpcErrorResponse(*rejection, request_id);
  }
  entry->client_id = key->id;
  entry->operation = request.acs_action;
  QueryParams params = query;
  if (request.content_type.find("application/x-www-form-urlencoded") != std::string::npos) {
    for (auto& param : ParseQuery(request.body)) params.push_back(std::move(param));
  }
  if (auto rejection = CheckCall(request, *key, params, core.state)) {
    return RpcErrorResponse(*rejection, request_id);
  }
  AdminContext context{&core.state, now_us / 1000, core.options.account_quota,
                       [&core](std::string_view prefix) { return core.NewId(prefix); },
                       [&core](size_t length) { return core.RandomAlnum(length); }};
  std::variant<json::object, RpcRejection> outcome =
      RunAdminAction(request.acs_action, params, context);
  if (auto* rejection = std::get_if<RpcRejection>(&outcome)) {
    return RpcErrorResponse(*rejection, request_id);
  }
  json::object& body = std::get<json::object>(outcome);
  body["RequestId"] = request_id;
  return JsonResponse(200, body);
}

}  // namespace idsync::emulator
