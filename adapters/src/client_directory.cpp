#include "idsync/adapters/client_directory.h"

#include <algorithm>
#include <utility>

#include "idsync/store/mirror_of.h"

namespace idsync::adapters {
namespace {

namespace asio = boost::asio;
using base::Status;

// A result of the client as the executor's: the value or the error.
template <class T>
base::Result<T> Converted(idaas::Result<T>&& r) {
  if (!r) return ToRemoteError(r.error());
  return std::move(*r);
}

base::Status Converted(idaas::Status&& r) {
  if (!r) return ToRemoteError(r.error());
  return {};
}

}  // namespace

base::Error ToRemoteError(const base::Error& error) {
  const idaas::ApiError e = idaas::ApiErrorOf(error);
  return sync::RemoteFailure(error.code, error.message, e.ambiguous, e.attempts);
}

// ---- users ----------------------------------------------------------------

asio::awaitable<base::Result<std::string>> ClientDirectory::CreateUser(sync::NewUser user) {
  idaas::CreateUserRequest req;
  req.username = std::move(user.username);
  req.primary_organizational_unit_id = std::move(user.primary_ou_id);
  req.display_name = std::move(user.display_name);
  req.description = std::move(user.description);
  req.email = std::move(user.email);
  if (user.email_verified) req.email_verified = true;
  req.phone_number = std::move(user.phone_number);
  if (user.phone_number_verified) req.phone_number_verified = true;
  req.phone_region = std::move(user.phone_region);
  req.user_external_id = std::move(user.external_id);
  for (auto& [name, value] : user.custom_fields) {
    req.custom_fields.push_back({std::move(name), std::move(value)});
  }
  co_return Converted(co_await client_.CreateUser(std::move(req)));
}

asio::awaitable<base::Status> ClientDirectory::PatchUser(std::string id, sync::UserPatch patch) {
  idaas::PatchUserRequest req;
  req.username = std::move(patch.username);
  req.display_name = std::move(patch.display_name);
  req.email = std::move(patch.email);
  req.email_verified = patch.email_verified;
  req.phone_number = std::move(patch.phone_number);
  req.phone_number_verified = patch.phone_number_verified;
  req.phone_region = std::move(patch.phone_region);
  for (auto& f : patch.custom_fields) {
    req.custom_fields.push_back({std::move(f.name), std::move(f.value), std::move(f.operation)});
  }
  co_return Converted(co_await client_.PatchUser(std::move(id), std::move(req)));
}

asio::awaitable<base::Status> ClientDirectory::DeleteUser(std::string id) {
  co_return Converted(co_await client_.DeleteUser(std::move(id)));
}

asio::awaitable<base::Status> ClientDirectory::EnableUser(std::string id) {
  co_return Converted(co_await client_.EnableUser(std::move(id)));
}

asio::awaitable<base::Status> ClientDirectory::DisableUser(std::string id) {
  co_return Converted(co_await client_.DisableUser(std::move(id)));
}

asio::awaitable<base::Status> ClientDirectory::SetUserPrimaryOu(std::string user_id,
                                                                std::string ou_id) {
  co_return Converted(
      co_await client_.SetUserPrimaryOrganizationalUnit(std::move(user_id), std::move(ou_id)));
}

asio::awaitable<base::Status> ClientDirectory::AddUserToOus(std::string user_id,
                                                            std::vector<std::string> ou_ids) {
  co_return Converted(
      co_await client_.AddUserToOrganizationalUnits(std::move(user_id), std::move(ou_ids)));
}

asio::awaitable<base::Status> ClientDirectory::RemoveUserFromOus(std::string user_id,
                                                                 std::vector<std::string> ou_ids) {
  co_return Converted(
      co_await client_.RemoveUserFromOrganizationalUnits(std::move(user_id), std::move(ou_ids)));
}

asio::awaitable<base::Result<sync::IdaasUser>> ClientDirectory::GetUser(std::string id) {
  auto user = co_await client_.GetUser(std::move(id));
  if (!user) co_return ToRemoteError(user.error());
  co_return store::MirrorOf(std::move(*user));
}

asio::awaitable<base::Result<std::string>> ClientDirectory::FindUserIdByExternalId(
    std::string external_id) {
  co_return Converted(co_await client_.GetUserIdByUserExternalId(std::move(external_id)));
}

asio::awaitable<base::Result<std::string>> ClientDirectory::FindUserIdByUsername(
    std::string username) {
  co_return Converted(co_await client_.GetUserIdByUsername(std::move(username)));
}

// ---- organizational units ---------------------------------------------------

asio::awaitable<base::Result<std::string>> ClientDirectory::CreateOu(sync::NewOu ou) {
  idaas::CreateOrganizationalUnitRequest req;
  req.organizational_unit_name = std::move(ou.name);
  req.parent_id = std::move(ou.parent_id);
  req.description = std::move(ou.description);
  req.organizational_unit_external_id = std::move(ou.external_id);
  co_return Converted(co_await client_.CreateOrganizationalUnit(std::move(req)));
}

asio::awaitable<base::Status> ClientDirectory::PatchOu(std::string id, sync::OuPatch patch) {
  idaas::PatchOrganizationalUnitRequest req;
  req.organizational_unit_name = std::move(patch.name);
  req.description = std::move(patch.description);
  co_return Converted(co_await client_.PatchOrganizationalUnit(std::move(id), std::move(req)));
}

asio::awaitable<base::Status> ClientDirectory::DeleteOu(std::string id) {
  co_return Converted(co_await client_.DeleteOrganizationalUnit(std::move(id)));
}

asio::awaitable<base::Result<sync::IdaasOu>> ClientDirectory::GetOu(std::string id) {
  auto ou = co_await client_.GetOrganizationalUnit(std::move(id));
  if (!ou) co_return ToRemoteError(ou.error());
  co_return store::MirrorOf(*ou);
}

asio::awaitable<base::Result<std::string>> ClientDirectory::FindOuIdByExternalId(
    std::string external_id) {
  co_return Converted(co_await client_.GetOrganizationalUnitIdByExternalId(std::move(external_id)));
}

// ---- groups -----------------------------------------------------------------

asio::awaitable<base::Result<std::string>> ClientDirectory::CreateGroup(sync::NewGroup group) {
  idaas::CreateGroupRequest req;
  req.group_name = std::move(group.name);
  req.group_external_id = std::move(group.external_id);
  co_return Converted(co_await client_.CreateGroup(std::move(req)));
}

asio::awaitable<base::Status> ClientDirectory::PatchGroup(std::string id,
                                                          std::optional<std::string> name) {
  idaas::PatchGroupRequest req;
  req.group_name = std::move(name);
  co_return Converted(co_await client_.PatchGroup(std::move(id), std::move(req)));
}

asio::awaitable<base::Status> ClientDirectory::DeleteGroup(std::string id) {
  co_return Converted(co_await client_.DeleteGroup(std::move(id)));
}

asio::awaitable<base::Result<sync::IdaasGroup>> ClientDirectory::GetGroup(std::string id) {
  auto group = co_await client_.GetGroup(id);
  if (!group) co_return ToRemoteError(group.error());
  auto members = co_await client_.ListAllUsersForGroup(id);
  if (!members) co_return ToRemoteError(members.error());
  sync::IdaasGroup out = store::MirrorOf(*group);
  out.member_ids = std::move(*members);
  std::sort(out.member_ids.begin(), out.member_ids.end());
  co_return out;
}

// Groups have no look-up call: list those with the same name prefix.
asio::awaitable<base::Result<std::string>> ClientDirectory::FindGroupIdByExternalId(
    std::string name, std::string external_id) {
  std::string token;
  for (int page = 0; page < 10000; ++page) {
    auto r = co_await client_.ListGroups(token, 100, name);
    if (!r) co_return ToRemoteError(r.error());
    for (const auto& g : r->groups) {
      if (g.group_external_id == external_id) co_return g.group_id;
    }
    if (r->next_token.empty()) break;
    token = r->next_token;
  }
  co_return sync::RemoteFailure(base::Error::Code::kNotFound,
                                "no group with external id " + external_id);
}

asio::awaitable<base::Status> ClientDirectory::AddUsersToGroup(std::string group_id,
                                                               std::vector<std::string> user_ids) {
  co_return Converted(co_await client_.AddUsersToGroup(std::move(group_id), std::move(user_ids)));
}

asio::awaitable<base::Status> ClientDirectory::RemoveUsersFromGroup(
    std::string group_id, std::vector<std::string> user_ids) {
  co_return Converted(
      co_await client_.RemoveUsersFromGroup(std::move(group_id), std::move(user_ids)));
}

}  // namespace idsync::adapters
