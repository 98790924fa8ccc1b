// The application's typed calls: its token and its provisioning scope.
#include "typed_call.h"

namespace idsync::idaas {

awaitable<Result<TokenInfo>> Client::GenerateToken() {
  auto impl = impl_;
  auto r = co_await impl->FetchToken();
  co_return r;
}

awaitable<Result<ProvisioningScope>> Client::GetApplicationProvisioningScope() {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("GetApplicationProvisioningScope",
                                    http::verb::get, "/provisioningScope"));
  co_return DecodeAs<ProvisioningScope>(r, "GetApplicationProvisioningScope");
}

}  // namespace idsync::idaas
