// The typed calls on groups: create, patch, delete, get, list and stream,
// and their members.
#include <boost/json/object.hpp>

#include <tuple>
#include <utility>

#include "typed_call.h"

namespace idsync::idaas {

namespace json = boost::json;

// ---- groups -----------------------------------------------------------------

awaitable<Result<std::string>> Client::CreateGroup(CreateGroupRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("CreateGroup", http::verb::post, "/groups"),
               detail::Encode(request), /*idempotent=*/false));
  co_return IdField(r, "CreateGroup", "groupId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchGroup(std::string group_id,
                                     PatchGroupRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("PatchGroup", http::verb::patch,
                    "/groups/" + PercentEncode(group_id)),
               detail::Encode(request)));
  co_return AsStatus(r);
}

awaitable<Status> Client::DeleteGroup(std::string group_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("DeleteGroup", http::verb::delete_,
                                    "/groups/" + PercentEncode(group_id)));
  co_return DeleteStatus(r);
}

awaitable<Result<Group>> Client::GetGroup(std::string group_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("GetGroup", http::verb::get, "/groups/" + PercentEncode(group_id)));
  co_return DecodeAs<Group>(r, "GetGroup");
}

awaitable<Result<GroupPage>> Client::ListGroups(
    std::string next_token, int max_results,
    std::optional<std::string> group_name_starts_with) {
  auto impl = impl_;
  auto spec = Spec("ListGroups", http::verb::get, "/groups");
  Query q;
  if (group_name_starts_with) q.Add("groupNameStartWith", *group_name_starts_with);
  if (!next_token.empty()) q.Add("nextToken", next_token);
  q.Add("maxResults", std::to_string(max_results));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<GroupPage>(r, "ListGroups");
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
  std::vector<Group> all;
  auto st = co_await StreamGroups([&all](std::vector<Group>&& page) {
    for (auto& g : page) all.push_back(std::move(g));
  });
  if (!st) co_return st.error();
  co_return all;
}

awaitable<Status> Client::AddUsersToGroup(std::string group_id,
                                          std::vector<std::string> user_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(WithBody(
      Spec("AddUsersToGroup", http::verb::post,
           "/groups/" + PercentEncode(group_id) + "/actions/addUsersToGroup"),
      IdsBody("userIds", user_ids)));
  co_return AsStatus(r);
}

awaitable<Status> Client::RemoveUsersFromGroup(
    std::string group_id, std::vector<std::string> user_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("RemoveUsersFromGroup", http::verb::post,
                    "/groups/" + PercentEncode(group_id) +
                        "/actions/removeUsersFromGroup"),
               IdsBody("userIds", user_ids)));
  co_return AsStatus(r);
}

awaitable<Result<GroupMemberPage>> Client::ListUsersForGroup(
    std::string group_id, std::string next_token, int max_results) {
  auto impl = impl_;
  auto spec = Spec("ListUsersForGroup", http::verb::get,
                   "/groups/" + PercentEncode(group_id) +
                       "/actions/listUsersForGroup");
  Query q;
  if (!next_token.empty()) q.Add("nextToken", next_token);
  q.Add("maxResults", std::to_string(max_results));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<GroupMemberPage>(r, "ListUsersForGroup");
}

awaitable<Result<std::vector<std::string>>> Client::ListAllUsersForGroup(
    std::string group_id) {
  std::vector<std::string> all;
  auto fetch = [this, group_id](std::string token)
      -> awaitable<
          Result<std::tuple<int64_t, std::string, std::vector<std::string>>>> {
    auto r = co_await ListUsersForGroup(group_id, token, kPageSize);
    if (!r) co_return r.error();
    co_return std::tuple{r->total_count, std::move(r->next_token),
                         std::move(r->user_ids)};
  };
  auto st = co_await TokenListing(
      "ListUsersForGroup", fetch, [](const std::string& id) { return id; },
      [&all](std::vector<std::string>&& page) {
        for (auto& id : page) all.push_back(std::move(id));
      });
  if (!st) co_return st.error();
  co_return all;
}

}  // namespace idsync::idaas
