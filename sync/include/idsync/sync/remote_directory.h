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
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "idsync/base/error.h"
#include "idsync/sync/state.h"

namespace idsync::sync {

// An API call's failure, after the client's retries, is a base::Error whose
// code is what the executor decides on (kNotFound: the object does not exist,
// a delete of it counts as done; kConflict: it exists already, a create may
// have been made earlier; any other: the call failed), with a one-line
// message that holds no secret ("CreateUser: conflict (409 ...) after 1
// attempt") and these facts as its detail.
struct RemoteFacts final : base::ErrorDetail {
  RemoteFacts(bool ambiguous, int attempts) : ambiguous(ambiguous), attempts(attempts) {}
  // A create whose request was sent before the connection failed: it may or
  // may not have been applied, so it is looked up before being sent again.
  bool ambiguous = false;
  int attempts = 0;  // requests sent for this call
};

inline base::Error RemoteFailure(base::Error::Code code, std::string message,
                                 bool ambiguous = false, int attempts = 0) {
  return base::Error(code, std::move(message),
                     std::make_shared<const RemoteFacts>(ambiguous, attempts));
}

// The facts of an error a RemoteDirectory returned (none: not ambiguous, no
// attempt counted).
inline RemoteFacts FactsOf(const base::Error& e) {
  if (const auto* facts = dynamic_cast<const RemoteFacts*>(e.detail.get())) return *facts;
  return RemoteFacts(false, 0);
}

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
  virtual boost::asio::awaitable<base::Result<std::string>> CreateUser(NewUser user) = 0;
  virtual boost::asio::awaitable<base::Status> PatchUser(std::string id, UserPatch patch) = 0;
  virtual boost::asio::awaitable<base::Status> DeleteUser(std::string id) = 0;
  virtual boost::asio::awaitable<base::Status> EnableUser(std::string id) = 0;
  virtual boost::asio::awaitable<base::Status> DisableUser(std::string id) = 0;
  virtual boost::asio::awaitable<base::Status> SetUserPrimaryOu(std::string user_id,
                                                                std::string ou_id) = 0;
  virtual boost::asio::awaitable<base::Status> AddUserToOus(std::string user_id,
                                                            std::vector<std::string> ou_ids) = 0;
  virtual boost::asio::awaitable<base::Status> RemoveUserFromOus(
      std::string user_id, std::vector<std::string> ou_ids) = 0;
  virtual boost::asio::awaitable<base::Result<IdaasUser>> GetUser(std::string id) = 0;
  // The id of the account with this external id / username; kNotFound when
  // none.
  virtual boost::asio::awaitable<base::Result<std::string>> FindUserIdByExternalId(
      std::string external_id) = 0;
  virtual boost::asio::awaitable<base::Result<std::string>> FindUserIdByUsername(
      std::string username) = 0;

  // Organizational units.
  virtual boost::asio::awaitable<base::Result<std::string>> CreateOu(NewOu ou) = 0;
  virtual boost::asio::awaitable<base::Status> PatchOu(std::string id, OuPatch patch) = 0;
  virtual boost::asio::awaitable<base::Status> DeleteOu(std::string id) = 0;
  virtual boost::asio::awaitable<base::Result<IdaasOu>> GetOu(std::string id) = 0;
  virtual boost::asio::awaitable<base::Result<std::string>> FindOuIdByExternalId(
      std::string external_id) = 0;

  // Groups. GetGroup reads the member list too.
  virtual boost::asio::awaitable<base::Result<std::string>> CreateGroup(NewGroup group) = 0;
  // Only a name can be changed (the API takes no description); unset: none.
  virtual boost::asio::awaitable<base::Status> PatchGroup(std::string id,
                                                          std::optional<std::string> name) = 0;
  virtual boost::asio::awaitable<base::Status> DeleteGroup(std::string id) = 0;
  virtual boost::asio::awaitable<base::Result<IdaasGroup>> GetGroup(std::string id) = 0;
  // The group with this external id among those whose name starts with
  // `name` (groups cannot be looked up by external id); kNotFound when none.
  virtual boost::asio::awaitable<base::Result<std::string>> FindGroupIdByExternalId(
      std::string name, std::string external_id) = 0;
  virtual boost::asio::awaitable<base::Status> AddUsersToGroup(
      std::string group_id, std::vector<std::string> user_ids) = 0;
  virtual boost::asio::awaitable<base::Status> RemoveUsersFromGroup(
      std::string group_id, std::vector<std::string> user_ids) = 0;
};

}  // namespace idsync::sync
