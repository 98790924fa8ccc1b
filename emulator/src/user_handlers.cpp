// The Developer API's user operations: create, patch, delete, enable,
// disable, get, list, password and the four id lookups.
#include <algorithm>
#include <set>

#include "api_error.h"
#include "body_fields.h"
#include "entity_json.h"
#include "handlers.h"
#include "responses.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

using Index = std::unordered_map<std::string, std::string>;

void CheckUserUnique(const Index& index, const std::string& key, const std::string& self,
                     const char* suffix, const std::string& shown) {
  auto it = index.find(key);
  if (it != index.end() && it->second != self) {
    Refuse({409, std::string("EntityAlreadyExists.User.") + suffix,
            "A user with " + std::string(suffix) + " '" + shown + "' already exists."});
  }
}

void ReindexUser(Index& index, const std::string& old_key, const std::string& new_key,
                 const std::string& id) {
  if (old_key == new_key) return;
  if (!old_key.empty()) index.erase(old_key);
  if (!new_key.empty()) index[new_key] = id;
}

// CreateUser's passwordInitializationConfig; true when it sets a password.
bool ReadPasswordInitialization(const json::object& config) {
  RejectUnknownFields(config, PasswordInitializationFields(), "CreateUser",
                      "passwordInitializationConfig.");
  Body init(&config);
  auto priority = init.String("passwordInitializationPolicyPriority", false);
  if (priority && *priority != "global" && *priority != "custom") {
    Invalid("passwordInitializationPolicyPriority", "global or custom");
  }
  auto type = init.String("passwordInitializationType", false);
  if (type && *type != "random") Invalid("passwordInitializationType", "random");
  auto forced = init.String("passwordForcedUpdateStatus", false);
  if (forced && *forced != "enabled" && *forced != "disabled") {
    Invalid("passwordForcedUpdateStatus", "enabled or disabled");
  }
  init.Strings("userNotificationChannels", false);
  return type.has_value();
}

// The answer of a GetUserIdBy* lookup that found `user_id` ("" for none).
Response LookupAnswer(Core& core, const RequestContext& context, const std::string& user_id) {
  if (user_id.empty() || !ViewOf(core, context).UserInScope(core.state.users.at(user_id))) {
    if (core.options.lookup_miss_200) return JsonResponse(200, json::object{});
    Refuse({404, "EntityNotExists.User", "No matching user exists."});
  }
  return JsonResponse(200, json::object{{"userId", user_id}});
}

std::string Find(const Index& index, const std::string& key) {
  auto it = index.find(key);
  return it == index.end() ? std::string() : it->second;
}

Response SetStatus(Core& core, RequestContext& context, const char* status) {
  User& user = ViewOf(core, context).VisibleUser(context.id);
  user.status = status;
  user.update_time = context.NowMs();
  return EmptyResponse();
}

// The users (`const User*`) a listing of `ou` (nullptr: of all users) shows
// the caller, in id order.
const std::vector<const void*>& VisibleUsers(Core& core, const RequestContext& context,
                                             const Ou* ou) {
  const Visibility view = ViewOf(core, context);
  const bool subtree = ou != nullptr && core.options.ou_listing_subtree;
  bool fresh = false;
  ListingCache::Listing& cache = ListingsOf(core, context).Find(
      ou != nullptr ? static_cast<const void*>(ou) : &core.state.users,
      subtree ? "subtree" : "direct", &fresh);
  if (!fresh) return cache.entries;
  auto take = [&](const User& user) {
    if (view.UserInScope(user)) cache.entries.push_back(&user);
  };
  if (ou == nullptr) {
    for (const auto& [id, user] : core.state.users) take(user);
  } else if (subtree) {
    // Every user with a membership anywhere below, once each, in id order.
    std::set<std::string> ids;
    std::vector<const Ou*> stack = {ou};
    while (!stack.empty()) {
      const Ou* cur = stack.back();
      stack.pop_back();
      ids.insert(cur->members.begin(), cur->members.end());
      for (const std::string& child : cur->children) stack.push_back(&core.state.ous.at(child));
    }
    for (const std::string& user_id : ids) take(core.state.users.at(user_id));
  } else {
    for (const std::string& user_id : ou->members) take(core.state.users.at(user_id));
  }
  return cache.entries;
}

}  // namespace

Response CreateUser(Core& core, RequestContext& context) {
  const Body& body = context.body;
  State& state = core.state;
  std::string username = *body.String("username", true, kMaxNameLength);
  ValidateUsername(username);
  std::string primary = *body.String("primaryOrganizationalUnitId", true);
  User user;
  user.username = username;
  user.display_name = body.String("displayName", false, kMaxNameLength).value_or("");
  user.description = body.String("description", false, 256).value_or("");
  auto password = body.String("password", false, 128);
  user.email = body.String("email", false, 128).value_or("");
  ValidateEmail(user.email);
  user.email_verified = body.Bool("emailVerified").value_or(false);
  user.phone_number = body.String("phoneNumber", false, 15).value_or("");
  ValidatePhone(user.phone_number);
  user.phone_number_verified = body.Bool("phoneNumberVerified").value_or(false);
  user.phone_region = body.String("phoneRegion", false, 8).value_or("");
  ValidatePhoneRegion(user.phone_region);
  auto external_id = body.String("userExternalId", false, 128);
  if (const json::array* fields = body.Array("customFields")) {
    for (const json::value& item : *fields) {
      if (!item.is_object()) Invalid("customFields", "expected objects");
      RejectUnknownFields(item.get_object(), CreateCustomFieldFields(), "CreateUser",
                          "customFields[].");
      Body field(&item.get_object());
      std::string name = *field.String("fieldName", true, 128);
      std::string value = field.String("fieldValue", false, 1024).value_or("");
      user.custom_fields.push_back({std::move(name), std::move(value)});
    }
  }
  if (const json::object* config = body.Object("passwordInitializationConfig")) {
    if (ReadPasswordInitialization(*config)) user.password_set = true;
  }
  Ou& ou = ViewOf(core, context).ReferencedOu(primary);

  user.id = core.NewId("user_");
  user.source_type = kSourceBuildIn;
  user.source_id = state.instance_id;
  user.external_id = external_id && !external_id->empty() ? *external_id : user.id;
  CheckUserUnique(state.user_by_username, user.username, "", "Username", user.username);
  if (!user.email.empty()) {
    CheckUserUnique(state.user_by_email, user.email, "", "Email", user.email);
  }
  const std::string phone_key = PhoneKey(user.phone_region, user.phone_number);
  if (!user.phone_number.empty()) {
    CheckUserUnique(state.user_by_phone, phone_key, "", "PhoneNumber", user.phone_number);
  }
  const std::string external_key =
      ExternalKey(user.source_type, user.source_id, user.external_id);
  CheckUserUnique(state.user_by_external_id, external_key, "", "ExternalId",
                  user.external_id);

  if (password && !password->empty()) user.password_set = true;
  user.create_time = user.update_time = user.register_time = context.NowMs();
  user.primary_ou = primary;
  user.ous.insert(primary);
  ou.members.insert(user.id);
  state.user_by_username[user.username] = user.id;
  if (!user.email.empty()) state.user_by_email[user.email] = user.id;
  if (!user.phone_number.empty()) state.user_by_phone[phone_key] = user.id;
  state.user_by_external_id[external_key] = user.id;
  std::string id = user.id;
  state.users.emplace(id, std::move(user));
  return JsonResponse(200, json::object{{"userId", id}});
}

Response PatchUser(Core& core, RequestContext& context) {
  const Body& body = context.body;
  State& state = core.state;
  const std::string& id = context.id;
  User& user = ViewOf(core, context).VisibleUser(id);
  auto username = body.String("username", false, kMaxNameLength);
  if (username) {
    if (username->empty()) Invalid("username", "must not be empty");
    ValidateUsername(*username);
  }
  auto display_name = body.String("displayName", false, kMaxNameLength);
  auto email = body.String("email", false, 128);
  if (email) ValidateEmail(*email);
  auto email_verified = body.Bool("emailVerified");
  auto phone = body.String("phoneNumber", false, 15);
  if (phone) ValidatePhone(*phone);
  auto phone_verified = body.Bool("phoneNumberVerified");
  auto region = body.String("phoneRegion", false, 8);
  if (region) ValidatePhoneRegion(*region);
  struct FieldChange {
    std::string name, value, operation;
  };
  std::vector<FieldChange> field_changes;
  if (const json::array* fields = body.Array("customFields")) {
    for (const json::value& item : *fields) {
      if (!item.is_object()) Invalid("customFields", "expected objects");
      RejectUnknownFields(item.get_object(), PatchCustomFieldFields(), "PatchUser",
                          "customFields[].");
      Body field(&item.get_object());
      FieldChange change;
      change.name = *field.String("fieldName", true, 128);
      change.value = field.String("fieldValue", false, 1024).value_or("");
      auto operation = field.String("operation", false);
      if (!operation) operation = field.String("operator", false);
      change.operation = operation.value_or("replace");
      if (change.operation != "add" && change.operation != "replace" &&
          change.operation != "remove") {
        Invalid("operation", "add, replace or remove");
      }
      field_changes.push_back(std::move(change));
    }
  }

  // Check every constraint before changing anything.
  if (username) CheckUserUnique(state.user_by_username, *username, id, "Username", *username);
  if (email && !email->empty()) {
    CheckUserUnique(state.user_by_email, *email, id, "Email", *email);
  }
  const std::string new_region = region.value_or(user.phone_region);
  const std::string new_phone = phone.value_or(user.phone_number);
  const std::string old_phone_key =
      user.phone_number.empty() ? "" : PhoneKey(user.phone_region, user.phone_number);
  const std::string new_phone_key = new_phone.empty() ? "" : PhoneKey(new_region, new_phone);
  if (!new_phone_key.empty()) {
    CheckUserUnique(state.user_by_phone, new_phone_key, id, "PhoneNumber", new_phone);
  }

  if (username) {
    ReindexUser(state.user_by_username, user.username, *username, id);
    user.username = *username;
  }
  if (display_name) user.display_name = *display_name;
  if (email) {
    ReindexUser(state.user_by_email, user.email, *email, id);
    user.email = *email;
  }
  if (email_verified) user.email_verified = *email_verified;
  ReindexUser(state.user_by_phone, old_phone_key, new_phone_key, id);
  user.phone_number = new_phone;
  user.phone_region = new_region;
  if (phone_verified) user.phone_number_verified = *phone_verified;
  for (FieldChange& change : field_changes) {
    auto it = std::find_if(user.custom_fields.begin(), user.custom_fields.end(),
                           [&](const CustomField& field) { return field.name == change.name; });
    if (change.operation == "remove") {
      if (it != user.custom_fields.end()) user.custom_fields.erase(it);
    } else if (it != user.custom_fields.end()) {
      it->value = change.value;
    } else {
      user.custom_fields.push_back({change.name, change.value});
    }
  }
  user.update_time = context.NowMs();
  return EmptyResponse();
}

Response DeleteUser(Core& core, RequestContext& context) {
  State& state = core.state;
  const std::string& id = context.id;
  User& user = ViewOf(core, context).VisibleUser(id);
  for (const std::string& ou_id : user.ous) state.ous.at(ou_id).members.erase(id);
  for (const std::string& group_id : user.groups) state.groups.at(group_id).members.erase(id);
  state.user_by_username.erase(user.username);
  if (!user.email.empty()) state.user_by_email.erase(user.email);
  if (!user.phone_number.empty()) {
    state.user_by_phone.erase(PhoneKey(user.phone_region, user.phone_number));
  }
  state.user_by_external_id.erase(
      ExternalKey(user.source_type, user.source_id, user.external_id));
  state.users.erase(id);
  return EmptyResponse();
}

Response EnableUser(Core& core, RequestContext& context) {
  return SetStatus(core, context, "enabled");
}

Response DisableUser(Core& core, RequestContext& context) {
  return SetStatus(core, context, "disabled");
}

Response GetUser(Core& core, RequestContext& context) {
  const Visibility view = ViewOf(core, context);
  return JsonResponse(200, UserJson(core.state, view, view.VisibleUser(context.id), true));
}

Response ListUsers(Core& core, RequestContext& context) {
  PageNumber page = PageParams(context.query);
  auto ou_id = FindParam(context.query, "organizationalUnitId");
  const std::string listed_ou = ou_id ? *ou_id : std::string();
  const Visibility view = ViewOf(core, context);
  const Ou* ou = listed_ou.empty() ? nullptr : &view.ReferencedOu(listed_ou);
  const std::vector<const void*>& users = VisibleUsers(core, context, ou);
  json::array data;
  const auto total = static_cast<int64_t>(users.size());
  for (int64_t i = page.offset; i < total && static_cast<int>(data.size()) < page.size; ++i) {
    const User& user = *static_cast<const User*>(users[static_cast<size_t>(i)]);
    data.emplace_back(UserJson(core.state, view, user, false));
  }
  json::object body;
  body["totalCount"] = total;
  body["data"] = std::move(data);
  return JsonResponse(200, body);
}

Response UpdateUserPassword(Core& core, RequestContext& context) {
  context.body.String("password", true, 128);
  User& user = ViewOf(core, context).VisibleUser(context.id);
  user.password_set = true;
  user.update_time = context.NowMs();
  return EmptyResponse();
}

Response GetUserIdByUserExternalId(Core& core, RequestContext& context) {
  std::string external_id = *context.body.String("userExternalId", true);
  std::string source_id = *context.body.String("userSourceId", true);
  std::string source_type = *context.body.String("userSourceType", true);
  return LookupAnswer(core, context,
                      Find(core.state.user_by_external_id,
                           ExternalKey(source_type, source_id, external_id)));
}

Response GetUserIdByUsername(Core& core, RequestContext& context) {
  return LookupAnswer(core, context,
                      Find(core.state.user_by_username, *context.body.String("username", true)));
}

Response GetUserIdByEmail(Core& core, RequestContext& context) {
  return LookupAnswer(core, context,
                      Find(core.state.user_by_email, *context.body.String("email", true)));
}

Response GetUserIdByPhoneNumber(Core& core, RequestContext& context) {
  std::string phone = *context.body.String("phoneNumber", true);
  // The lookup carries no region; match the number in any region.
  std::string user_id;
  for (const auto& [key, id] : core.state.user_by_phone) {
    if (key.size() > phone.size() &&
        key.compare(key.size() - phone.size(), phone.size(), phone) == 0 &&
        key[key.size() - phone.size() - 1] == '\n') {
      user_id = id;
      break;
    }
  }
  return LookupAnswer(core, context, user_id);
}

}  // namespace idsync::emulator
