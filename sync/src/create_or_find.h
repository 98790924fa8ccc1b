// A create whose answer was lost, or that IDaaS refuses because the object
// exists, may have been made (by this request or an earlier run): it is
// looked up by the record's key before anything is sent again. The one home
// of that rule for users, OUs and groups, in a run and in restart recovery.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>

#include "executor_impl.h"

namespace idsync::sync {

// The object the record `key` created: by external id (users also by
// `name`, their username, when that account carries the key; groups among
// those named `name`). kNotFound when none.
boost::asio::awaitable<base::Result<std::string>> FindCreated(RemoteDirectory& remote,
                                                              EntityType type, std::string key,
                                                              std::string name);

// Sends `create`; on an ambiguous failure or a conflict, looks the object up
// (`find`) and, only when it is absent after an ambiguous failure, sends
// `create` once more. Ok with created_id (and existed when found), a failure,
// or InDoubt when an ambiguous create could not be settled.
boost::asio::awaitable<Outcome> CreateOrFind(
    std::function<boost::asio::awaitable<base::Result<std::string>>()> create,
    std::function<boost::asio::awaitable<base::Result<std::string>>()> find);

}  // namespace idsync::sync
