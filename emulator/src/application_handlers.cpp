// The Developer API's application operations: the caller's provisioning
// scope.
#include "handlers.h"
#include "responses.h"

namespace idsync::emulator {
namespace json = boost::json;

Response GetApplicationProvisioningScope(Core& core, RequestContext& context) {
  (void)core;
  json::object scope;
  json::array ous, groups;
  for (const auto& id : context.client->scope.organizational_unit_ids) {
    ous.emplace_back(json::string(id));
  }
  for (const auto& id : context.client->scope.group_ids) groups.emplace_back(json::string(id));
  scope["organizationalUnitIds"] = std::move(ous);
  scope["groupIds"] = std::move(groups);
  return JsonResponse(200, scope);
}

}  // namespace idsync::emulator
