// sync::RemoteDirectory: the IDaaS calls the executor makes, and nothing
// more: the writes of each operation kind, and the reads it needs to settle
// a write whose answer was lost (the look-ups after an ambiguous create, the
// read-back after a move, restart recovery).
//
// Abstract so that sync does not depend on the IDaaS client (the
// idsync::executor_adapters target adapts idaas::Client to it) and so that
// the executor is unit-tested with a fake (tests/sync/executor_test.cpp), as
// ninja's Builder is with its CommandRunner. Called on the executor's thread;
// several calls may be in flight at once (one per worker of a wave).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "idsync/sync/state.h"

namespace idsync::sync {

// An API call's failure, after the client's retries: what the executor
// decides on, and a one-line message that holds no secret.
struct RemoteError {
  enum class Kind {
    kNotFound,  // the object does not exist (a delete of it counts as done)
    kConflict,  // it exists already (a create may have been made earlier)
    kOther,
  };
  Kind kind = Kind::kOther;
  // A create whose request was sent before the connection failed: it may or
  // may not have been applied, so it is looked up before being sent again.
  bool ambiguous = false;
  int attempts = 0;     // requests sent for this call
  std::string message;  // e.g. "CreateUser: conflict (409 ...) after 1 attempt"
};

// boost::system::result calls this (found by ADL) when value() is used on an
// error; the project avoids it, but it must exist.
[[noreturn]] void throw_exception_from_error(const RemoteError& e,
                                             const boost::source_location& loc);

template <class T>
using RemoteResult = boost::system::result<T, RemoteError>;
using RemoteStatus = RemoteResult<void>;

// A user to create; unset optionals are not sent.
struct NewUser {
  std::string username;
  std::string primary_ou_id;
  std::optional<std::string> display_name, description;
  std::optional<std::string> email, phone_number, phone_region;
  bool email_verified = false, phone_number_verified = false;
  std::string external_id;                                         // the source key
  std::vector<std::pair<std::string, std::string>> custom_fields;  // name, value
};

// Only the fields set are changed.
struct UserPatch {
  std::optional<std::string> username, display_name, email, phone_number, phone_region;
  std::optional<bool> email_verified, phone_number_verified;
  struct CustomField {
    std::string name, value;
    std::string operation;  // add | replace | remove
  };
  std::vector<CustomField> custom_fields;
};

struct NewOu {
  std::string name;
  std::string parent_id;
  std::optional<std::string> description;
  std::string external_id;  // the source key
};

struct OuPatch {
  std::optional<std::string> name, description;
};

struct NewGroup {
  std::string name;
  std::string external_id;  // the source key
};

class RemoteDirectory {
 public:
  virtual ~RemoteDirectory() = default;

  // Users. Create returns the new id.
  virtual boost::asio::awaitable<RemoteResult<std::string>> CreateUser(NewUser user) = 0;
  virtual boost::asio::awaitable<RemoteStatus> PatchUser(std::string id, UserPatch patch) = 0;
  virtual boost::asio::awaitable<RemoteStatus> DeleteUser(std::string id) = 0;
  virtual boost::asio::awaitable<RemoteStatus> EnableUser(std::string id) = 0;
  virtual boost::asio::awaitable<RemoteStatus> DisableUser(std::string id) = 0;
  virtual boost::asio::awaitable<RemoteStatus> SetUserPrimaryOu(std::string user_id,
                                                                std::string ou_id) = 0;
  virtual boost::asio::awaitable<RemoteStatus> AddUserToOus(std::string user_id,
                                                            std::vector<std::string> ou_ids) = 0;
  virtual boost::asio::awaitable<RemoteStatus> RemoveUserFromOus(
      std::string user_id, std::vector<std::string> ou_ids) = 0;
  virtual boost::asio::awaitable<RemoteResult<IdaasUser>> GetUser(std::string id) = 0;
  // The id of the account with this external id / username; kNotFound when
  // none.
  virtual boost::asio::awaitable<RemoteResult<std::string>> FindUserIdByExternalId(
      std::string external_id) = 0;
  virtual boost::asio::awaitable<RemoteResult<std::string>> FindUserIdByUsername(
      std::string username) = 0;

  // Organizational units.
  virtual boost::asio::awaitable<RemoteResult<std::string>> CreateOu(NewOu ou) = 0;
  virtual boost::asio::awaitable<RemoteStatus> PatchOu(std::string id, OuPatch patch) = 0;
  virtual boost::asio::awaitable<RemoteStatus> DeleteOu(std::string id) = 0;
  virtual boost::asio::awaitable<RemoteResult<IdaasOu>> GetOu(std::string id) = 0;
  virtual boost::asio::awaitable<RemoteResult<std::string>> FindOuIdByExternalId(
      std::string external_id) = 0;

  // Groups. GetGroup reads the member list too.
  virtual boost::asio::awaitable<RemoteResult<std::string>> CreateGroup(NewGroup group) = 0;
  // Only a name can be changed (the API takes no description); unset: none.
  virtual boost::asio::awaitable<RemoteStatus> PatchGroup(std::string id,
                                                          std::optional<std::string> name) = 0;
  virtual boost::asio::awaitable<RemoteStatus> DeleteGroup(std::string id) = 0;
  virtual boost::asio::awaitable<RemoteResult<IdaasGroup>> GetGroup(std::string id) = 0;
  // The group with this external id among those whose name starts with
  // `name` (groups cannot be looked up by external id); kNotFound when none.
  virtual boost::asio::awaitable<RemoteResult<std::string>> FindGroupIdByExternalId(
      std::string name, std::string external_id) = 0;
  virtual boost::asio::awaitable<RemoteStatus> AddUsersToGroup(
      std::string group_id, std::vector<std::string> user_ids) = 0;
  virtual boost::asio::awaitable<RemoteStatus> RemoveUsersFromGroup(
      std::string group_id, std::vector<std::string> user_ids) = 0;
};

}  // namespace idsync::sync
