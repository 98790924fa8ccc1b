#include "codec.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace idsync::idaas::detail {

namespace {

template <class T>
void Put(json::object& o, std::string_view key, const std::optional<T>& v) {
  if (v) o[key] = *v;
}


bool BoolField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return false;
  const auto& v = it->value();
  if (v.is_bool()) return v.get_bool();
  if (v.is_string()) return v.get_string() == "true";
  return false;
}

const json::object* AsObject(const json::value& v, const char* what,
                             std::string* error) {
  if (!v.is_object()) {
    *error = std::string(what) + " is not a JSON object";
    return nullptr;
  }
  return &v.get_object();
}

// data[] of a list envelope; absent or null is an empty list.
const json::array* DataArray(const json::object& o, std::string* error) {
  static const json::array kEmpty;
  auto it = o.find("data");
  if (it == o.end() || it->value().is_null()) return &kEmpty;
  if (!it->value().is_array()) {
    *error = "data is not an array";
    return nullptr;
  }
  return &it->value().get_array();
}

template <class T>
bool DecodeArray(const json::array& a, std::vector<T>* out,
                 std::string* error) {
  out->reserve(a.size());
  for (const auto& item : a) {
    T t;
    if (!Decode(item, &t, error)) return false;
    out->push_back(std::move(t));
  }
  return true;
}

}  // namespace

std::string StringField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

std::string StringFieldAny(const json::object& o,
                           std::initializer_list<std::string_view> keys) {
  for (auto k : keys) {
    auto it = o.find(k);
    if (it != o.end() && it->value().is_string())
      return std::string(it->value().get_string());
  }
  return {};
}

bool StringArrayField(const json::object& o, std::string_view key,
                      std::vector<std::string>* out, std::string* error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return true;
  if (!it->value().is_array()) {
    *error = std::string(key) + " is not an array";
    return false;
  }
  for (const auto& v : it->value().get_array()) {
    if (!v.is_string()) {
      *error = std::string(key) + " has a non-string item";
      return false;
    }
    out->emplace_back(v.get_string());
  }
  return true;
}

int64_t IntField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.get_uint64());
  if (v.is_double()) return static_cast<int64_t>(v.get_double());
  if (v.is_string()) {
    try {
      return std::stoll(std::string(v.get_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string EncodeObject(const json::object& o) { return json::serialize(o); }

std::string Encode(const CreateUserRequest& r) {
  json::object o;
  o["username"] = r.username;
  o["primaryOrganizationalUnitId"] = r.primary_organizational_unit_id;
  Put(o, "displayName", r.display_name);
  Put(o, "description", r.description);
  Put(o, "password", r.password);
  Put(o, "email", r.email);
  Put(o, "emailVerified", r.email_verified);
  Put(o, "phoneNumber", r.phone_number);
  Put(o, "phoneNumberVerified", r.phone_number_verified);
  Put(o, "phoneRegion", r.phone_region);
  Put(o, "userExternalId", r.user_external_id);
  if (!r.custom_fields.empty()) {
    json::array a;
    for (const auto& f : r.custom_fields)
      a.push_back(json::object{{"fieldName", f.field_name},
                               {"fieldValue", f.field_value}});
    o["customFields"] = std::move(a);
  }
  if (r.password_initialization_config) {
    const auto& p = *r.password_initialization_config;
    json::object pc;
    if (!p.password_initialization_policy_priority.empty())
      pc["passwordInitializationPolicyPriority"] =
          p.password_initialization_policy_priority;
    if (!p.password_initialization_type.empty())
      pc["passwordInitializationType"] = p.password_initialization_type;
    if (!p.password_forced_update_status.empty())
      pc["passwordForcedUpdateStatus"] = p.password_forced_update_status;
    if (!p.user_notification_channels.empty()) {
      json::array ch;
      for (const auto& c : p.user_notification_channels) ch.push_back(json::string(c));
      pc["userNotificationChannels"] = std::move(ch);
    }
    o["passwordInitializationConfig"] = std::move(pc);
  }
  return json::serialize(o);
}

std::string Encode(const PatchUserRequest& r) {
  json::object o;
  Put(o, "username", r.username);
  Put(o, "displayName", r.display_name);
  Put(o, "email", r.email);
  Put(o, "emailVerified", r.email_verified);
  Put(o, "phoneNumber", r.phone_number);
  Put(o, "phoneNumberVerified", r.phone_number_verified);
  Put(o, "phoneRegion", r.phone_region);
  if (!r.custom_fields.empty()) {
    json::array a;
    for (const auto& f : r.custom_fields)
      a.push_back(json::object{{"fieldName", f.field_name},
                               {"fieldValue", f.field_value},
                               {"operation", f.operation}});
    o["customFields"] = std::move(a);
  }
  return json::serialize(o);
}

std::string Encode(const CreateOrganizationalUnitRequest& r) {
  json::object o;
  o["organizationalUnitName"] = r.organizational_unit_name;
  o["parentId"] = r.parent_id;
  Put(o, "description", r.description);
  Put(o, "organizationalUnitExternalId", r.organizational_unit_external_id);
  return json::serialize(o);
}

std::string Encode(const PatchOrganizationalUnitRequest& r) {
  json::object o;
  Put(o, "organizationalUnitName", r.organizational_unit_name);
  Put(o, "description", r.description);
  return json::serialize(o);
}

std::string Encode(const CreateGroupRequest& r) {
  json::object o;
  o["groupName"] = r.group_name;
  Put(o, "groupExternalId", r.group_external_id);
  return json::serialize(o);
}

std::string Encode(const PatchGroupRequest& r) {
  json::object o;
  Put(o, "groupName", r.group_name);
  return json::serialize(o);
}

bool Decode(const json::value& v, User* out, std::string* error) {
  const auto* o = AsObject(v, "user", error);
  if (!o) return false;
  out->instance_id = StringField(*o, "instanceId");
  out->user_id = StringField(*o, "userId");
  out->username = StringField(*o, "username");
  out->display_name = StringField(*o, "displayName");
  out->description = StringField(*o, "description");
  out->email = StringField(*o, "email");
  out->email_verified = BoolField(*o, "emailVerified");
  out->phone_region = StringField(*o, "phoneRegion");
  out->phone_number = StringField(*o, "phoneNumber");
  out->phone_number_verified = BoolField(*o, "phoneNumberVerified");
  out->password_set = BoolField(*o, "passwordSet");
  out->status = StringField(*o, "status");
  out->user_source_type = StringField(*o, "userSourceType");
  out->user_source_id = StringField(*o, "userSourceId");
  out->user_external_id = StringField(*o, "userExternalId");
  out->account_expire_time = IntField(*o, "accountExpireTime");
  out->lock_expire_time = IntField(*o, "lockExpireTime");
  out->register_time = IntField(*o, "registerTime");
  out->create_time = IntField(*o, "createTime");
  out->update_time = IntField(*o, "updateTime");
  out->primary_organizational_unit_id =
      StringField(*o, "primaryOrganizationalUnitId");
  if (auto it = o->find("organizationalUnits");
      it != o->end() && it->value().is_array()) {
    for (const auto& item : it->value().get_array()) {
      if (!item.is_object()) continue;
      const auto& io = item.get_object();
      out->organizational_units.push_back(
          {StringField(io, "organizationalUnitId"),
           StringField(io, "organizationalUnitName"),
           BoolField(io, "primary")});
    }
  }
  if (auto it = o->find("groups"); it != o->end() && it->value().is_array()) {
    for (const auto& item : it->value().get_array()) {
      if (!item.is_object()) continue;
      const auto& io = item.get_object();
      out->groups.push_back({StringField(io, "groupId"),
                             StringField(io, "groupName"),
                             StringField(io, "description")});
    }
  }
  if (auto it = o->find("customFields");
      it != o->end() && it->value().is_array()) {
    for (const auto& item : it->value().get_array()) {
      if (!item.is_object()) continue;
      const auto& io = item.get_object();
      out->custom_fields.push_back(
          {StringField(io, "fieldName"), StringField(io, "fieldValue")});
    }
  }
  if (out->user_id.empty()) {
    *error = "user without userId";
    return false;
  }
  return true;
}

bool Decode(const json::value& v, OrganizationalUnit* out,
            std::string* error) {
  const auto* o = AsObject(v, "organizational unit", error);
  if (!o) return false;
  out->instance_id = StringField(*o, "instanceId");
  out->organizational_unit_id = StringField(*o, "organizationalUnitId");
  out->organizational_unit_name = StringField(*o, "organizationalUnitName");
  out->description = StringField(*o, "description");
  out->parent_id = StringField(*o, "parentId");
  out->organizational_unit_external_id =
      StringField(*o, "organizationalUnitExternalId");
  out->organizational_unit_source_type =
      StringField(*o, "organizationalUnitSourceType");
  out->organizational_unit_source_id =
      StringField(*o, "organizationalUnitSourceId");
  out->create_time = IntField(*o, "createTime");
  out->update_time = IntField(*o, "updateTime");
  if (out->organizational_unit_id.empty()) {
    *error = "organizational unit without organizationalUnitId";
    return false;
  }
  return true;
}

bool Decode(const json::value& v, Group* out, std::string* error) {
  const auto* o = AsObject(v, "group", error);
  if (!o) return false;
  out->instance_id = StringField(*o, "instanceId");
  out->group_id = StringField(*o, "groupId");
  out->group_name = StringField(*o, "groupName");
  out->description = StringField(*o, "description");
  out->group_external_id = StringField(*o, "groupExternalId");
  out->group_source_type = StringField(*o, "groupSourceType");
  out->group_source_id = StringField(*o, "groupSourceId");
  out->create_time = IntField(*o, "createTime");
  out->update_time = IntField(*o, "updateTime");
  if (out->group_id.empty()) {
    *error = "group without groupId";
    return false;
  }
  return true;
}

bool Decode(const json::value& v, ProvisioningScope* out, std::string* error) {
  const auto* o = AsObject(v, "provisioning scope", error);
  if (!o) return false;
  return StringArrayField(*o, "organizationalUnitIds",
                          &out->organizational_unit_ids, error) &&
         StringArrayField(*o, "groupIds", &out->group_ids, error);
}

bool Decode(const json::value& v, UserPage* out, std::string* error) {
  const auto* o = AsObject(v, "ListUsers response", error);
  if (!o) return false;
  out->total_count = IntField(*o, "totalCount");
  const auto* data = DataArray(*o, error);
  return data && DecodeArray(*data, &out->users, error);
}

bool Decode(const json::value& v, OrganizationalUnitPage* out,
            std::string* error) {
  const auto* o = AsObject(v, "ListOrganizationalUnits response", error);
  if (!o) return false;
  out->total_count = IntField(*o, "totalCount");
  const auto* data = DataArray(*o, error);
  return data && DecodeArray(*data, &out->organizational_units, error);
}

bool Decode(const json::value& v, GroupPage* out, std::string* error) {
  const auto* o = AsObject(v, "ListGroups response", error);
  if (!o) return false;
  out->total_count = o->contains("totalCount") ? IntField(*o, "totalCount") : -1;
  out->next_token = StringField(*o, "nextToken");
  const auto* data = DataArray(*o, error);
  return data && DecodeArray(*data, &out->groups, error);
}

bool Decode(const json::value& v, GroupMemberPage* out, std::string* error) {
  const auto* o = AsObject(v, "ListUsersForGroup response", error);
  if (!o) return false;
  out->total_count = o->contains("totalCount") ? IntField(*o, "totalCount") : -1;
  out->next_token = StringField(*o, "nextToken");
  const auto* data = DataArray(*o, error);
  if (!data) return false;
  for (const auto& item : *data) {
    if (!item.is_object()) {
      *error = "member is not an object";
      return false;
    }
    auto id = StringField(item.get_object(), "userId");
    if (id.empty()) {
      *error = "member without userId";
      return false;
    }
    out->user_ids.push_back(std::move(id));
  }
  return true;
}

bool Decode(const json::value& v, TokenInfo* out, std::string* error) {
  const auto* o = AsObject(v, "token response", error);
  if (!o) return false;
  out->access_token = StringField(*o, "access_token");
  out->token_type = StringField(*o, "token_type");
  out->expires_in = IntField(*o, "expires_in");
  out->expires_at = IntField(*o, "expires_at");
  if (out->access_token.empty()) {
    *error = "token response without access_token";
    return false;
  }
  return true;
}

}  // namespace idsync::idaas::detail
