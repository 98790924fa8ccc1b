#include "entity_json.h"

namespace idsync::emulator {
namespace json = boost::json;

void AddUserFields(json::object& object, const User& user) {
  object["userId"] = user.id;
  object["username"] = user.username;
  object["displayName"] = user.display_name;
  object["description"] = user.description;
  object["email"] = user.email;
  object["emailVerified"] = user.email_verified;
  object["phoneRegion"] = user.phone_region;
  object["phoneNumber"] = user.phone_number;
  object["phoneNumberVerified"] = user.phone_number_verified;
  object["passwordSet"] = user.password_set;
  object["status"] = user.status;
  object["userSourceType"] = user.source_type;
  object["userSourceId"] = user.source_id;
  object["userExternalId"] = user.external_id;
  object["accountExpireTime"] = user.account_expire_time;
  object["lockExpireTime"] = user.lock_expire_time;
  object["registerTime"] = user.register_time;
  object["createTime"] = user.create_time;
  object["updateTime"] = user.update_time;
}

json::array CustomFieldsJson(const User& user) {
  json::array fields;
  for (const CustomField& field : user.custom_fields) {
    fields.emplace_back(
        json::object{{"fieldName", field.name}, {"fieldValue", field.value}});
  }
  return fields;
}

json::object UserJson(const State& state, const Visibility& view, const User& user,
                      bool detail) {
  json::object object;
  object.reserve(detail ? 24 : 20);
  object["instanceId"] = state.instance_id;
  AddUserFields(object, user);
  if (!detail) return object;
  object["primaryOrganizationalUnitId"] = user.primary_ou;
  json::array ous;
  for (const std::string& ou_id : user.ous) {
    if (!view.OuInScope(ou_id)) continue;
    const Ou& ou = state.ous.at(ou_id);
    ous.emplace_back(json::object{{"organizationalUnitId", ou.id},
                                  {"organizationalUnitName", ou.name},
                                  {"primary", ou.id == user.primary_ou}});
  }
  object["organizationalUnits"] = std::move(ous);
  json::array groups;
  for (const std::string& group_id : user.groups) {
    const Group& group = state.groups.at(group_id);
    if (!view.GroupInScope(group)) continue;
    groups.emplace_back(json::object{{"groupId", group.id},
                                     {"groupName", group.name},
                                     {"description", group.description}});
  }
  object["groups"] = std::move(groups);
  object["customFields"] = CustomFieldsJson(user);
  return object;
}

void AddOuFields(json::object& object, const Ou& ou) {
  object["organizationalUnitId"] = ou.id;
  object["organizationalUnitName"] = ou.name;
  object["description"] = ou.description;
  object["parentId"] = ou.parent_id;
  object["organizationalUnitExternalId"] = ou.external_id;
  object["organizationalUnitSourceType"] = ou.source_type;
  object["organizationalUnitSourceId"] = ou.source_id;
  object["createTime"] = ou.create_time;
  object["updateTime"] = ou.update_time;
}

json::object OuJson(const State& state, const Ou& ou) {
  json::object object;
  object["instanceId"] = state.instance_id;
  AddOuFields(object, ou);
  return object;
}

void AddGroupFields(json::object& object, const Group& group, bool with_creator) {
  object["groupId"] = group.id;
  object["groupName"] = group.name;
  object["description"] = group.description;
  object["groupExternalId"] = group.external_id;
  object["groupSourceType"] = group.source_type;
  object["groupSourceId"] = group.source_id;
  if (with_creator) object["creatorApplicationId"] = group.creator_application_id;
  object["createTime"] = group.create_time;
  object["updateTime"] = group.update_time;
}

json::object GroupJson(const State& state, const Group& group) {
  json::object object;
  object["instanceId"] = state.instance_id;
  AddGroupFields(object, group, false);
  return object;
}

}  // namespace idsync::emulator
