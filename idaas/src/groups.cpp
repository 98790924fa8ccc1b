// The typed calls on groups: create, patch, delete, get, list and stream,
// and their members.
#include <tuple>
#include <utility>

#include "typed_call.h"

namespace idsync::idaas {

namespace {

std::string GroupPath(const std::string& group_id) {
  return "/groups/" + PercentEncode(group_id);
}

}  // namespace

awaitable<Result<std::string>> Client::CreateGroup(CreateGroupRequest request) {
  return CallForId(impl_,
                   WithBody(Spec("CreateGroup", http::verb::post, "/groups"),
                            detail::Encode(request), /*idempotent=*/false),
                   "groupId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchGroup(std::string group_id, PatchGroupRequest request) {
  return CallForStatus(impl_,
                       WithBody(Spec("PatchGroup", http::verb::patch, GroupPath(group_id)),
                                detail::Encode(request)));
}

awaitable<Status> Client::DeleteGroup(std::string group_id) {
  return CallDelete(impl_, Spec("DeleteGroup", http::verb::delete_, GroupPath(group_id)));
}

awaitable<Result<Group>> Client::GetGroup(std::string group_id) {
  return CallFor<Group>(impl_, Spec("GetGroup", http::verb::get, GroupPath(group_id)));
}

awaitable<Result<GroupPage>> Client::ListGroups(
    std::string next_token, int max_results,
    std::optional<std::string> group_name_starts_with) {
  auto spec = Spec("ListGroups", http::verb::get, "/groups");
  Query q;
  if (group_name_starts_with) q.Add("groupNameStartWith", *group_name_starts_with);
  if (!next_token.empty()) q.Add("nextToken", next_token);
  q.Add("maxResults", std::to_string(max_results));
  spec.query = std::move(q.text);
  return CallFor<GroupPage>(impl_, std::move(spec));
}

awaitable<Status> Client::StreamGroups(
    std::function<void(std::vector<Group>&&)> on_page) {
  auto fetch = [this](std::string token)
      -> awaitable<Result<std::tuple<int64_t, std::string, std::vector<Group>>>> {
    auto r = co_await ListGroups(token, kPageSize);
    if (!r) co_return r.error();
    co_return std::tuple{r->total_count, std::move(r->next_token),
                         std::move(r->groups)};
  };
  auto st = co_await TokenListing(
      "ListGroups", fetch, [](const Group& g) { return g.group_id; }, on_page);
  co_return st;
}

awaitable<Result<std::vector<Group>>> Client::ListAllGroups() {
  return Collect<Group>([this](auto sink) { return StreamGroups(std::move(sink)); });
}

awaitable<Status> Client::AddUsersToGroup(std::string group_id,
                                          std::vector<std::string> user_ids) {
  return CallForStatus(impl_, WithBody(Spec("AddUsersToGroup", http::verb::post,
                                            GroupPath(group_id) + "/actions/addUsersToGroup"),
                                       IdsBody("userIds", user_ids)));
}

awaitable<Status> Client::RemoveUsersFromGroup(
    std::string group_id, std::vector<std::string> user_ids) {
  return CallForStatus(
      impl_, WithBody(Spec("RemoveUsersFromGroup", http::verb::post,
                           GroupPath(group_id) + "/actions/removeUsersFromGroup"),
                      IdsBody("userIds", user_ids)));
}

awaitable<Result<GroupMemberPage>> Client::ListUsersForGroup(
    std::string group_id, std::string next_token, int max_results) {
  auto spec = Spec("ListUsersForGroup", http::verb::get,
                   GroupPath(group_id) + "/actions/listUsersForGroup");
  Query q;
  if (!next_token.empty()) q.Add("nextToken", next_token);
  q.Add("maxResults", std::to_string(max_results));
  spec.query = std::move(q.text);
  return CallFor<GroupMemberPage>(impl_, std::move(spec));
}

awaitable<Result<std::vector<std::string>>> Client::ListAllUsersForGroup(
    std::string group_id) {
  auto fetch = [this, group_id](std::string token)
      -> awaitable<
          Result<std::tuple<int64_t, std::string, std::vector<std::string>>>> {
    auto r = co_await ListUsersForGroup(group_id, token, kPageSize);
    if (!r) co_return r.error();
    co_return std::tuple{r->total_count, std::move(r->next_token),
                         std::move(r->user_ids)};
  };
  return Collect<std::string>([fetch](auto sink) {
    return TokenListing(
        "ListUsersForGroup", fetch, [](const std::string& id) { return id; }, std::move(sink));
  });
}

}  // namespace idsync::idaas
