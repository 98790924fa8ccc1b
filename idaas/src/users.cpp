// The typed calls on users: create, patch, delete, enable, get, list and
// stream, look-ups by external id, username or email, and OU membership.
#include <boost/json/object.hpp>

#include <tuple>
#include <utility>

#include "typed_call.h"

namespace idsync::idaas {

namespace json = boost::json;

// ---- users ------------------------------------------------------------------

awaitable<Result<std::string>> Client::CreateUser(CreateUserRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(WithBody(
      Spec("CreateUser", http::verb::post, "/users"), detail::Encode(request),
      /*idempotent=*/false));
  co_return IdField(r, "CreateUser", "userId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchUser(std::string user_id,
                                    PatchUserRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("PatchUser", http::verb::patch,
                    "/users/" + PercentEncode(user_id)),
               detail::Encode(request)));
  co_return AsStatus(r);
}

awaitable<Status> Client::DeleteUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("DeleteUser", http::verb::delete_,
                                    "/users/" + PercentEncode(user_id)));
  co_return DeleteStatus(r);
}

awaitable<Status> Client::EnableUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("EnableUser", http::verb::post,
           "/users/" + PercentEncode(user_id) + "/actions/enable"));
  co_return AsStatus(r);
}

awaitable<Status> Client::DisableUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("DisableUser", http::verb::post,
           "/users/" + PercentEncode(user_id) + "/actions/disable"));
  co_return AsStatus(r);
}

awaitable<Result<User>> Client::GetUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("GetUser", http::verb::get, "/users/" + PercentEncode(user_id)));
  co_return DecodeAs<User>(r, "GetUser");
}

awaitable<Result<UserPage>> Client::ListUsers(
    std::optional<std::string> organizational_unit_id, int page_number,
    int page_size) {
  auto impl = impl_;
  auto spec = Spec("ListUsers", http::verb::get, "/users");
  Query q;
  if (organizational_unit_id) q.Add("organizationalUnitId", *organizational_unit_id);
  q.Add("pageNumber", std::to_string(page_number))
      .Add("pageSize", std::to_string(page_size));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<UserPage>(r, "ListUsers");
}

awaitable<Status> Client::StreamUsers(
    std::optional<std::string> organizational_unit_id,
    std::function<void(std::vector<User>&&)> on_page) {
  auto fetch = [this, organizational_unit_id](int page)
      -> awaitable<Result<std::pair<int64_t, std::vector<User>>>> {
    auto r = co_await ListUsers(organizational_unit_id, page, kPageSize);
    if (!r) co_return r.error();
    co_return std::pair{r->total_count, std::move(r->users)};
  };
  auto st = co_await PageNumberListing<User>(
      "ListUsers", fetch, [](const User& u) { return u.user_id; }, on_page);
  co_return st;
}

awaitable<Result<std::vector<User>>> Client::ListAllUsers(
    std::optional<std::string> organizational_unit_id) {
  std::vector<User> all;
  auto st = co_await StreamUsers(organizational_unit_id,
                                 [&all](std::vector<User>&& page) {
                                   for (auto& u : page) all.push_back(std::move(u));
                                 });
  if (!st) co_return st.error();
  co_return all;
}

awaitable<Result<std::string>> Client::GetUserIdByUserExternalId(
    std::string user_external_id, std::optional<std::string> user_source_type,
    std::optional<std::string> user_source_id) {
  auto impl = impl_;
  json::object o;
  o["userExternalId"] = user_external_id;
  o["userSourceType"] = user_source_type.value_or("build_in");
  o["userSourceId"] = user_source_id.value_or(impl->instance_id());
  auto r = co_await impl->Call(WithBody(
      Spec("GetUserIdByUserExternalId", http::verb::post,
           "/users/_/actions/getUserIdByExternalId"),
      detail::EncodeObject(o)));
  co_return IdField(r, "GetUserIdByUserExternalId", "userId", NoId::kNotFound);
}

awaitable<Result<std::string>> Client::GetUserIdByUsername(
    std::string username) {
  auto impl = impl_;
  json::object o;
  o["username"] = username;
  auto r = co_await impl->Call(
      WithBody(Spec("GetUserIdByUsername", http::verb::post,
                    "/users/_/actions/getUserIdByUsername"),
               detail::EncodeObject(o)));
  co_return IdField(r, "GetUserIdByUsername", "userId", NoId::kNotFound);
}

awaitable<Result<std::string>> Client::GetUserIdByEmail(std::string email) {
  auto impl = impl_;
  json::object o;
  o["email"] = email;
  auto r = co_await impl->Call(WithBody(
      Spec("GetUserIdByEmail", http::verb::post,
           "/users/_/actions/getUserIdByEmail"),
      detail::EncodeObject(o)));
  co_return IdField(r, "GetUserIdByEmail", "userId", NoId::kNotFound);
}

awaitable<Status> Client::SetUserPrimaryOrganizationalUnit(
    std::string user_id, std::string organizational_unit_id) {
  auto impl = impl_;
  json::object o;
  o["organizationalUnitId"] = organizational_unit_id;
  auto r = co_await impl->Call(
      WithBody(Spec("SetUserPrimaryOrganizationalUnit", http::verb::post,
                    "/users/" + PercentEncode(user_id) +
                        "/actions/setUserPrimaryOrganizationalUnit"),
               detail::EncodeObject(o)));
  co_return AsStatus(r);
}

awaitable<Status> Client::AddUserToOrganizationalUnits(
    std::string user_id, std::vector<std::string> organizational_unit_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("AddUserToOrganizationalUnits", http::verb::post,
                    "/users/" + PercentEncode(user_id) +
                        "/actions/addUserToOrganizationalUnits"),
               IdsBody("organizationalUnitIds", organizational_unit_ids)));
  co_return AsStatus(r);
}

awaitable<Status> Client::RemoveUserFromOrganizationalUnits(
    std::string user_id, std::vector<std::string> organizational_unit_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("RemoveUserFromOrganizationalUnits", http::verb::post,
                    "/users/" + PercentEncode(user_id) +
                        "/actions/removeUserFromOrganizationalUnits"),
               IdsBody("organizationalUnitIds", organizational_unit_ids)));
  co_return AsStatus(r);
}

}  // namespace idsync::idaas
