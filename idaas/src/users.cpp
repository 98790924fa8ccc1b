// The typed calls on users: create, patch, delete, enable, get, list and
// stream, look-ups by external id, username or email, and OU membership.
#include <boost/json/object.hpp>

#include <utility>

#include "typed_call.h"

namespace idsync::idaas {

namespace json = boost::json;

namespace {

std::string UserPath(const std::string& user_id) { return "/users/" + PercentEncode(user_id); }

// A look-up by one attribute: POST /users/_/actions/<action> with `body`.
awaitable<Result<std::string>> LookUpUserId(std::shared_ptr<detail::ClientCore> impl,
                                            const char* action, const char* path,
                                            const json::object& body) {
  return CallForId(std::move(impl),
                   WithBody(Spec(action, http::verb::post, path), detail::EncodeObject(body)),
                   "userId", NoId::kNotFound);
}

}  // namespace

awaitable<Result<std::string>> Client::CreateUser(CreateUserRequest request) {
  return CallForId(impl_,
                   WithBody(Spec("CreateUser", http::verb::post, "/users"),
                            detail::Encode(request), /*idempotent=*/false),
                   "userId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchUser(std::string user_id, PatchUserRequest request) {
  return CallForStatus(impl_, WithBody(Spec("PatchUser", http::verb::patch, UserPath(user_id)),
                                       detail::Encode(request)));
}

awaitable<Status> Client::DeleteUser(std::string user_id) {
  return CallDelete(impl_, Spec("DeleteUser", http::verb::delete_, UserPath(user_id)));
}

awaitable<Status> Client::EnableUser(std::string user_id) {
  return CallForStatus(
      impl_, Spec("EnableUser", http::verb::post, UserPath(user_id) + "/actions/enable"));
}

awaitable<Status> Client::DisableUser(std::string user_id) {
  return CallForStatus(
      impl_, Spec("DisableUser", http::verb::post, UserPath(user_id) + "/actions/disable"));
}

awaitable<Result<User>> Client::GetUser(std::string user_id) {
  return CallFor<User>(impl_, Spec("GetUser", http::verb::get, UserPath(user_id)));
}

awaitable<Result<UserPage>> Client::ListUsers(
    std::optional<std::string> organizational_unit_id, int page_number,
    int page_size) {
  auto spec = Spec("ListUsers", http::verb::get, "/users");
  Query q;
  if (organizational_unit_id) q.Add("organizationalUnitId", *organizational_unit_id);
  q.Add("pageNumber", std::to_string(page_number))
      .Add("pageSize", std::to_string(page_size));
  spec.query = std::move(q.text);
  return CallFor<UserPage>(impl_, std::move(spec));
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
  return Collect<User>([this, organizational_unit_id](auto sink) {
    return StreamUsers(organizational_unit_id, std::move(sink));
  });
}

awaitable<Result<std::string>> Client::GetUserIdByUserExternalId(
    std::string user_external_id, std::optional<std::string> user_source_type,
    std::optional<std::string> user_source_id) {
  json::object o;
  o["userExternalId"] = user_external_id;
  o["userSourceType"] = user_source_type.value_or("build_in");
  o["userSourceId"] = user_source_id.value_or(impl_->instance_id());
  return LookUpUserId(impl_, "GetUserIdByUserExternalId",
                      "/users/_/actions/getUserIdByExternalId", o);
}

awaitable<Result<std::string>> Client::GetUserIdByUsername(std::string username) {
  json::object o;
  o["username"] = username;
  return LookUpUserId(impl_, "GetUserIdByUsername", "/users/_/actions/getUserIdByUsername",
                      o);
}

awaitable<Result<std::string>> Client::GetUserIdByEmail(std::string email) {
  json::object o;
  o["email"] = email;
  return LookUpUserId(impl_, "GetUserIdByEmail", "/users/_/actions/getUserIdByEmail", o);
}

awaitable<Status> Client::SetUserPrimaryOrganizationalUnit(
    std::string user_id, std::string organizational_unit_id) {
  json::object o;
  o["organizationalUnitId"] = organizational_unit_id;
  return CallForStatus(
      impl_, WithBody(Spec("SetUserPrimaryOrganizationalUnit", http::verb::post,
                           UserPath(user_id) + "/actions/setUserPrimaryOrganizationalUnit"),
                      detail::EncodeObject(o)));
}

awaitable<Status> Client::AddUserToOrganizationalUnits(
    std::string user_id, std::vector<std::string> organizational_unit_ids) {
  return CallForStatus(
      impl_, WithBody(Spec("AddUserToOrganizationalUnits", http::verb::post,
                           UserPath(user_id) + "/actions/addUserToOrganizationalUnits"),
                      IdsBody("organizationalUnitIds", organizational_unit_ids)));
}

awaitable<Status> Client::RemoveUserFromOrganizationalUnits(
    std::string user_id, std::vector<std::string> organizational_unit_ids) {
  return CallForStatus(
      impl_, WithBody(Spec("RemoveUserFromOrganizationalUnits", http::verb::post,
                           UserPath(user_id) + "/actions/removeUserFromOrganizationalUnits"),
                      IdsBody("organizationalUnitIds", organizational_unit_ids)));
}

}  // namespace idsync::idaas
