// The application's typed calls: its token and its provisioning scope.
#include "typed_call.h"

namespace idsync::idaas {

awaitable<Result<TokenInfo>> Client::GenerateToken() {
  auto impl = impl_;
  auto r = co_await impl->FetchToken();
  co_return r;
}

awaitable<Result<ProvisioningScope>> Client::GetApplicationProvisioningScope() {
  return CallFor<ProvisioningScope>(
      impl_, Spec("GetApplicationProvisioningScope", http::verb::get, "/provisioningScope"));
}

}  // namespace idsync::idaas
