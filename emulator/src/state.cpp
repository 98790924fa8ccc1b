#include "state.h"

#include <algorithm>
#include <stdexcept>

#include "entity_json.h"

namespace idsync::emulator {
namespace json = boost::json;

bool Client::AcceptsSecret(std::string_view secret) const {
  if (secret.empty()) return false;
  if (secret == client_secret) return true;
  return std::any_of(secrets.begin(), secrets.end(), [&](const ClientSecret& s) {
    return s.enabled && s.secret == secret;
  });
}

Client* State::FindClient(std::string_view client_id) {
  for (Client& client : clients) {
    if (client.client_id == client_id) return &client;
  }
  return nullptr;
}

std::string ExternalKey(std::string_view source_type,
                        std::string_view source_id,
                        std::string_view external_id) {
  std::string key;
  key.reserve(source_type.size() + source_id.size() + external_id.size() + 2);
  key.append(source_type).push_back('\n');
  key.append(source_id).push_back('\n');
  key.append(external_id);
  return key;
}

std::string PhoneKey(std::string_view region, std::string_view number) {
  std::string key(region);
  key.push_back('\n');
  key.append(number);
  return key;
}

namespace {

json::array StringArray(const auto& items) {
  json::array array;
  for (const auto& item : items) array.emplace_back(json::string(item));
  return array;
}

[[noreturn]] void Fail(const std::string& message) {
  throw std::invalid_argument(message);
}

const json::object& AsObject(const json::value& value,
                             const std::string& where) {
  if (!value.is_object()) Fail(where + " must be an object");
  return value.get_object();
}

std::string GetString(const json::object& object, std::string_view key,
                      const std::string& where, bool required = false) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (required) Fail(where + "." + std::string(key) + " is required");
    return {};
  }
  if (!value->is_string()) {
    Fail(where + "." + std::string(key) + " must be a string");
  }
  return std::string(value->get_string());
}

bool GetBool(const json::object& object, std::string_view key,
             const std::string& where, bool fallback) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_bool()) Fail(where + "." + std::string(key) + " must be a bool");
  return value->get_bool();
}

int64_t GetInt(const json::object& object, std::string_view key,
               const std::string& where, int64_t fallback) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<int64_t>(value->get_uint64());
  Fail(where + "." + std::string(key) + " must be an integer");
}

std::vector<std::string> GetStrings(const json::object& object,
                                    std::string_view key,
                                    const std::string& where) {
  std::vector<std::string> out;
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return out;
  if (!value->is_array()) Fail(where + "." + std::string(key) + " must be an array");
  for (const json::value& item : value->get_array()) {
    if (!item.is_string()) {
      Fail(where + "." + std::string(key) + " must hold strings");
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

const json::array& GetArray(const json::object& object, std::string_view key) {
  static const json::array kEmpty;
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return kEmpty;
  if (!value->is_array()) Fail(std::string(key) + " must be an array");
  return value->get_array();
}

void Claim(std::unordered_map<std::string, std::string>& index,
           const std::string& key, const std::string& id,
           const std::string& what) {
  auto [it, inserted] = index.emplace(key, id);
  if (!inserted && it->second != id) {
    Fail(what + " is used by both " + it->second + " and " + id);
  }
}

}  // namespace

json::value StateToJson(const State& state) {
  json::object root;
  root["format"] = "idaas-emulator-state/1";
  root["instanceId"] = state.instance_id;
  json::array clients;
  for (const Client& client : state.clients) {
    json::object object;
    object["clientId"] = client.client_id;
    object["clientSecret"] = client.client_secret;
    object["applicationId"] = client.application_id;
    object["permissions"] = StringArray(client.permissions);
    json::object scope;
    scope["organizationalUnitIds"] =
        StringArray(client.scope.organizational_unit_ids);
    scope["groupIds"] = StringArray(client.scope.group_ids);
    object["provisioningScope"] = std::move(scope);
    clients.emplace_back(std::move(object));
  }
  root["clients"] = std::move(clients);

  json::array ous;
  for (const auto& [id, ou] : state.ous) {
    json::object object;
    AddOuFields(object, ou);
    ous.emplace_back(std::move(object));
  }
  root["organizationalUnits"] = std::move(ous);

  json::array users;
  for (const auto& [id, user] : state.users) {
    json::object object;
    AddUserFields(object, user);
    object["primaryOrganizationalUnitId"] = user.primary_ou;
    object["organizationalUnitIds"] = StringArray(user.ous);
    object["customFields"] = CustomFieldsJson(user);
    users.emplace_back(std::move(object));
  }
  root["users"] = std::move(users);

  json::array groups;
  for (const auto& [id, group] : state.groups) {
    json::object object;
    AddGroupFields(object, group, true);
    object["userIds"] = StringArray(group.members);
    groups.emplace_back(std::move(object));
  }
  root["groups"] = std::move(groups);
  return root;
}

State StateFromJson(const json::value& value) {
  const json::object& root = AsObject(value, "state");
  State state;
  state.instance_id = GetString(root, "instanceId", "state", true);

  for (const json::value& item : GetArray(root, "clients")) {
    const json::object& object = AsObject(item, "clients[]");
    Client client;
    client.client_id = GetString(object, "clientId", "clients[]", true);
    client.client_secret = GetString(object, "clientSecret", "clients[]", true);
    client.application_id = GetString(object, "applicationId", "clients[]");
    if (client.application_id.empty()) client.application_id = client.client_id;
    for (std::string& permission :
         GetStrings(object, "permissions", "clients[]")) {
      client.permissions.insert(std::move(permission));
    }
    if (const json::value* scope = object.if_contains("provisioningScope")) {
      const json::object& scope_object =
          AsObject(*scope, "clients[].provisioningScope");
      client.scope.organizational_unit_ids = GetStrings(
          scope_object, "organizationalUnitIds", "provisioningScope");
      client.scope.group_ids =
          GetStrings(scope_object, "groupIds", "provisioningScope");
    }
    if (state.FindClient(client.client_id) != nullptr) {
      Fail("duplicate clientId " + client.client_id);
    }
    state.clients.push_back(std::move(client));
  }

  for (const json::value& item : GetArray(root, "organizationalUnits")) {
    const json::object& object = AsObject(item, "organizationalUnits[]");
    const std::string where = "organizationalUnits[]";
    Ou ou;
    ou.id = GetString(object, "organizationalUnitId", where, true);
    ou.name = GetString(object, "organizationalUnitName", where, true);
    ou.description = GetString(object, "description", where);
    ou.parent_id = GetString(object, "parentId", where);
    ou.source_type = GetString(object, "organizationalUnitSourceType", where);
    if (ou.source_type.empty()) ou.source_type = kSourceBuildIn;
    ou.source_id = GetString(object, "organizationalUnitSourceId", where);
    if (ou.source_id.empty()) ou.source_id = state.instance_id;
    ou.external_id = GetString(object, "organizationalUnitExternalId", where);
    if (ou.external_id.empty()) ou.external_id = ou.id;
    ou.create_time = GetInt(object, "createTime", where, 0);
    ou.update_time = GetInt(object, "updateTime", where, ou.create_time);
    std::string id = ou.id;
    if (!state.ous.emplace(id, std::move(ou)).second) {
      Fail("duplicate organizationalUnitId " + id);
    }
  }
  for (auto& [id, ou] : state.ous) {
    Claim(state.ou_by_external_id,
          ExternalKey(ou.source_type, ou.source_id, ou.external_id), id,
          "OU external id " + ou.external_id);
    if (ou.parent_id.empty()) continue;
    auto parent = state.ous.find(ou.parent_id);
    if (parent == state.ous.end()) {
      Fail("OU " + id + " has unknown parent " + ou.parent_id);
    }
    parent->second.children.insert(id);
  }
  // A parent cycle would make every ancestor walk loop forever.
  for (const auto& [id, ou] : state.ous) {
    std::string current = ou.parent_id;
    size_t steps = 0;
    while (!current.empty()) {
      if (current == id || ++steps > state.ous.size()) {
        Fail("OU " + id + " is part of a parent cycle");
      }
      current = state.ous.at(current).parent_id;
    }
  }

  for (const json::value& item : GetArray(root, "users")) {
    const json::object& object = AsObject(item, "users[]");
    const std::string where = "users[]";
    User user;
    user.id = GetString(object, "userId", where, true);
    user.username = GetString(object, "username", where, true);
    user.display_name = GetString(object, "displayName", where);
    user.description = GetString(object, "description", where);
    user.email = GetString(object, "email", where);
    user.email_verified = GetBool(object, "emailVerified", where, false);
    user.phone_region = GetString(object, "phoneRegion", where);
    user.phone_number = GetString(object, "phoneNumber", where);
    user.phone_number_verified =
        GetBool(object, "phoneNumberVerified", where, false);
    user.password_set = GetBool(object, "passwordSet", where, false);
    user.status = GetString(object, "status", where);
    if (user.status.empty()) user.status = "enabled";
    if (user.status != "enabled" && user.status != "disabled") {
      Fail("user " + user.id + " has invalid status " + user.status);
    }
    user.source_type = GetString(object, "userSourceType", where);
    if (user.source_type.empty()) user.source_type = kSourceBuildIn;
    user.source_id = GetString(object, "userSourceId", where);
    if (user.source_id.empty()) user.source_id = state.instance_id;
    user.external_id = GetString(object, "userExternalId", where);
    if (user.external_id.empty()) user.external_id = user.id;
    user.create_time = GetInt(object, "createTime", where, 0);
    user.update_time = GetInt(object, "updateTime", where, user.create_time);
    user.register_time =
        GetInt(object, "registerTime", where, user.create_time);
    user.account_expire_time = GetInt(object, "accountExpireTime", where, -1);
    user.lock_expire_time = GetInt(object, "lockExpireTime", where, 0);
    user.primary_ou =
        GetString(object, "primaryOrganizationalUnitId", where, true);
    for (std::string& ou : GetStrings(object, "organizationalUnitIds", where)) {
      user.ous.insert(std::move(ou));
    }
    user.ous.insert(user.primary_ou);
    for (const json::value& field : GetArray(object, "customFields")) {
      const json::object& field_object = AsObject(field, "customFields[]");
      user.custom_fields.push_back(
          {GetString(field_object, "fieldName", "customFields[]", true),
           GetString(field_object, "fieldValue", "customFields[]")});
    }
    for (const std::string& ou_id : user.ous) {
      auto ou = state.ous.find(ou_id);
      if (ou == state.ous.end()) {
        Fail("user " + user.id + " refers to unknown OU " + ou_id);
      }
      ou->second.members.insert(user.id);
    }
    Claim(state.user_by_username, user.username, user.id,
          "username " + user.username);
    if (!user.email.empty()) {
      Claim(state.user_by_email, user.email, user.id, "email " + user.email);
    }
    if (!user.phone_number.empty()) {
      Claim(state.user_by_phone, PhoneKey(user.phone_region, user.phone_number),
            user.id, "phone number " + user.phone_number);
    }
    Claim(state.user_by_external_id,
          ExternalKey(user.source_type, user.source_id, user.external_id),
          user.id, "user external id " + user.external_id);
    std::string id = user.id;
    if (!state.users.emplace(id, std::move(user)).second) {
      Fail("duplicate userId " + id);
    }
  }

  for (const json::value& item : GetArray(root, "groups")) {
    const json::object& object = AsObject(item, "groups[]");
    const std::string where = "groups[]";
    Group group;
    group.id = GetString(object, "groupId", where, true);
    group.name = GetString(object, "groupName", where, true);
    group.description = GetString(object, "description", where);
    group.source_type = GetString(object, "groupSourceType", where);
    if (group.source_type.empty()) group.source_type = kSourceBuildIn;
    group.source_id = GetString(object, "groupSourceId", where);
    if (group.source_id.empty()) group.source_id = state.instance_id;
    group.external_id = GetString(object, "groupExternalId", where);
    if (group.external_id.empty()) group.external_id = group.id;
    group.creator_application_id =
        GetString(object, "creatorApplicationId", where);
    group.create_time = GetInt(object, "createTime", where, 0);
    group.update_time = GetInt(object, "updateTime", where, group.create_time);
    for (std::string& user_id : GetStrings(object, "userIds", where)) {
      auto user = state.users.find(user_id);
      if (user == state.users.end()) {
        Fail("group " + group.id + " refers to unknown user " + user_id);
      }
      user->second.groups.insert(group.id);
      group.members.insert(std::move(user_id));
    }
    Claim(state.group_by_external_id,
          ExternalKey(group.source_type, group.source_id, group.external_id),
          group.id, "group external id " + group.external_id);
    std::string id = group.id;
    if (!state.groups.emplace(id, std::move(group)).second) {
      Fail("duplicate groupId " + id);
    }
  }
  return state;
}

}  // namespace idsync::emulator
