// sync::OuMover: the one write the executor needs beyond the Developer API,
// moving a department under another parent (the admin API's
// UpdateOrganizationalUnitParentId; the Developer API cannot move an OU).
//
// Abstract so that sync does not depend on the admin client (the daemon
// adapts idaas::AdminClient to it in a few lines) and so that tests can fake
// it. Called on the executor's thread, one call per ou.move operation.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>

#include "idsync/sync/remote_directory.h"

namespace idsync::sync {

class OuMover {
 public:
  virtual ~OuMover() = default;
  // Puts OU `ou_id` under `new_parent_id`. On any error the executor reads
  // the OU back (RemoteDirectory::GetOu): the answer may have been lost
  // after the move happened.
  virtual boost::asio::awaitable<base::Status> Move(std::string ou_id,
                                                    std::string new_parent_id) = 0;
};

}  // namespace idsync::sync
