// The IDaaS Developer API client as the executor's remote directory
// (sync::RemoteDirectory): each call is the client's call of the same
// meaning, with its answer in the model's types.
#pragma once

#include "idsync/idaas/client.h"
#include "idsync/sync/remote_directory.h"

namespace idsync::adapters {

// The client's error as the executor decides on it; the message is
// ApiError::ToString() (never holds a secret).
base::Error ToRemoteError(const base::Error& error);

class ClientDirectory final : public sync::RemoteDirectory {
 public:
  template <class T>
  using Call = boost::asio::awaitable<base::Result<T>>;
  using StatusCall = boost::asio::awaitable<base::Status>;

  explicit ClientDirectory(idaas::Client& client) : client_(client) {}

  Call<std::string> CreateUser(sync::NewUser user) override;
  StatusCall PatchUser(std::string id, sync::UserPatch patch) override;
  StatusCall DeleteUser(std::string id) override;
  StatusCall EnableUser(std::string id) override;
  StatusCall DisableUser(std::string id) override;
  StatusCall SetUserPrimaryOu(std::string user_id, std::string ou_id) override;
  StatusCall AddUserToOus(std::string user_id, std::vector<std::string> ou_ids) override;
  StatusCall RemoveUserFromOus(std::string user_id, std::vector<std::string> ou_ids) override;
  Call<sync::IdaasUser> GetUser(std::string id) override;
  Call<std::string> FindUserIdByExternalId(std::string external_id) override;
  Call<std::string> FindUserIdByUsername(std::string username) override;

  Call<std::string> CreateOu(sync::NewOu ou) override;
  StatusCall PatchOu(std::string id, sync::OuPatch patch) override;
  StatusCall DeleteOu(std::string id) override;
  Call<sync::IdaasOu> GetOu(std::string id) override;
  Call<std::string> FindOuIdByExternalId(std::string external_id) override;

  Call<std::string> CreateGroup(sync::NewGroup group) override;
  StatusCall PatchGroup(std::string id, std::optional<std::string> name) override;
  StatusCall DeleteGroup(std::string id) override;
  Call<sync::IdaasGroup> GetGroup(std::string id) override;
  Call<std::string> FindGroupIdByExternalId(std::string name, std::string external_id) override;
  StatusCall AddUsersToGroup(std::string group_id, std::vector<std::string> user_ids) override;
  StatusCall RemoveUsersFromGroup(std::string group_id, std::vector<std::string> user_ids) override;

 private:
  idaas::Client& client_;
};

}  // namespace idsync::adapters
