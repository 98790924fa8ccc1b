// The emulated directory: clients, provisioning scope, OUs, users, groups and
// their memberships, with the unique indexes the API enforces.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace idsync::emulator {

inline constexpr std::string_view kSourceBuildIn = "build_in";

struct ProvisioningScope {
  std::vector<std::string> organizational_unit_ids;
  std::vector<std::string> group_ids;
};

// In IDaaS one application has one OAuth client; the client id is usually
// the application id, but the emulator lets them differ.
struct ClientSecret {
  std::string secret_id;  // sci_...
  std::string secret;
  bool enabled = true;
};

struct Client {
  std::string client_id;
  std::string client_secret;  // "" for an application made by the admin API
  std::string application_id;
  std::set<std::string> permissions;
  ProvisioningScope scope;
  // The admin API's view (Eiam 2021-12-01), in memory only.
  std::string application_name;  // "" shows as the application id
  bool api_invoke_enabled = true;     // EnableApplicationApiInvoke
  std::vector<ClientSecret> secrets;  // CreateApplicationClientSecret, at most 2

  // Whether `secret` authenticates this client at the token endpoint.
  bool AcceptsSecret(std::string_view secret) const;
};

struct CustomField {
  std::string name;
  std::string value;
};

struct User {
  std::string id, username, display_name, description;
  std::string email, phone_region, phone_number;
  bool email_verified = false, phone_number_verified = false;
  bool password_set = false;
  std::string status = "enabled";
  std::string source_type, source_id, external_id;
  int64_t create_time = 0, update_time = 0, register_time = 0;
  int64_t account_expire_time = -1, lock_expire_time = 0;
  std::string primary_ou;
  std::set<std::string> ous;  // every membership, primary included
  std::set<std::string> groups;
  std::vector<CustomField> custom_fields;
};

struct Ou {
  std::string id, name, description, parent_id;
  std::string external_id, source_type, source_id;
  int64_t create_time = 0, update_time = 0;
  std::set<std::string> children;
  std::set<std::string> members;  // users with a primary or secondary membership
};

struct Group {
  std::string id, name, description;
  std::string external_id, source_type, source_id;
  std::string creator_application_id;  // counts as in scope for its creator
  int64_t create_time = 0, update_time = 0;
  std::set<std::string> members;
};

struct State {
  std::string instance_id;
  std::vector<Client> clients;
  std::map<std::string, Ou> ous;
  std::map<std::string, User> users;
  std::map<std::string, Group> groups;

  // Unique indexes; values are entity ids.
  std::unordered_map<std::string, std::string> user_by_username;
  std::unordered_map<std::string, std::string> user_by_email;
  std::unordered_map<std::string, std::string> user_by_phone;
  std::unordered_map<std::string, std::string> user_by_external_id;
  std::unordered_map<std::string, std::string> ou_by_external_id;
  std::unordered_map<std::string, std::string> group_by_external_id;

  Client* FindClient(std::string_view client_id);
};

// Key of the external-id indexes: unique within (source type, source id).
std::string ExternalKey(std::string_view source_type,
                        std::string_view source_id,
                        std::string_view external_id);

// The phone index key includes the region so "86/1380000" and "1/1380000"
// are different numbers.
std::string PhoneKey(std::string_view region, std::string_view number);

boost::json::value StateToJson(const State& state);

// Validates references (parents, memberships, scope ids) and uniqueness and
// rebuilds the indexes. Throws std::invalid_argument with a readable message.
State StateFromJson(const boost::json::value& json);

}  // namespace idsync::emulator
