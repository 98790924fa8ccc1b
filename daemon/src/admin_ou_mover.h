// The executor's department mover (sync::OuMover) on the admin API:
// UpdateOrganizationalUnitParentId, which the Developer API lacks.
#pragma once

#include <string>
#include <utility>

#include "idsync/adapters/client_directory.h"
#include "idsync/idaas/admin_client.h"
#include "idsync/sync/ou_mover.h"

namespace idsync::daemon {

class AdminOuMover final : public sync::OuMover {
 public:
  explicit AdminOuMover(idaas::AdminClient& admin) : admin_(admin) {}

  boost::asio::awaitable<base::Status> Move(std::string ou_id,
                                                  std::string new_parent_id) override {
    auto r = co_await admin_.UpdateOrganizationalUnitParentId(std::move(ou_id),
                                                              std::move(new_parent_id));
    if (!r) co_return adapters::ToRemoteError(r.error());
    co_return base::Status();
  }

 private:
  idaas::AdminClient& admin_;
};

}  // namespace idsync::daemon
