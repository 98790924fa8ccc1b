// What idsync knows about IDaaS: the cached mirror of the provisioning scope,
// the links between source keys and IDaaS ids, and the scope itself. The
// store produces a CachedState; the planner reads it. Plain values, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace idsync::sync {

enum class EntityType : uint8_t { kOu, kUser, kGroup };
const char* EntityTypeName(EntityType t);  // "ou", "user", "group"

// A user as IDaaS has it (GetUser / ListUsers fields idsync cares about).
struct IdaasUser {
  std::string id;  // user_...
  std::string username;
  std::string display_name;
  std::string email;
  std::string phone_number;
  std::string phone_region;
  std::string description;
  std::string external_id;   // userExternalId
  std::string source_type;   // userSourceType, e.g. build_in
  std::string source_id;     // userSourceId
  std::string primary_ou_id;
  std::vector<std::string> ou_ids;  // every OU membership, primary included; sorted
  bool enabled = true;              // status == "enabled"
  std::map<std::string, std::string> custom_fields;
  int64_t update_time_ms = 0;
  friend bool operator==(const IdaasUser&, const IdaasUser&) = default;
};

struct IdaasOu {
  std::string id;  // ou_...
  std::string name;
  std::string parent_id;  // empty for the instance root
  std::string description;
  std::string external_id;
  std::string source_type;
  std::string source_id;
  friend bool operator==(const IdaasOu&, const IdaasOu&) = default;
};

struct IdaasGroup {
  std::string id;  // group_...
  std::string name;
  std::string description;
  std::string external_id;
  std::string source_type;
  std::string source_id;
  std::vector<std::string> member_ids;  // user ids, sorted
  friend bool operator==(const IdaasGroup&, const IdaasGroup&) = default;
};

// How idsync came to manage an object.
enum class Ownership : uint8_t {
  kCreated,  // idsync created it
  kAdopted,  // it existed and was matched to a source record
};
const char* OwnershipName(Ownership o);  // "created", "adopted"

// The link between a source record and an IDaaS object. Only linked objects
// are ever changed.
struct Link {
  EntityType type = EntityType::kUser;
  std::string source_key;
  std::string idaas_id;
  Ownership ownership = Ownership::kCreated;
  // When idsync first saw the record missing from the source (0 = present).
  // Drives `policy.delete_after`.
  int64_t missing_since_ms = 0;
  // Whether idsync disabled the account because the record went missing, so
  // that its return re-enables it.
  bool disabled_by_idsync = false;
  friend bool operator==(const Link&, const Link&) = default;
};

// GetApplicationProvisioningScope.
struct ProvisioningScope {
  std::vector<std::string> ou_ids;
  std::vector<std::string> group_ids;
  friend bool operator==(const ProvisioningScope&,
                         const ProvisioningScope&) = default;
};

// The cached mirror as the planner sees it. Vectors are in no particular
// order; the planner indexes them itself.
struct CachedState {
  std::vector<IdaasUser> users;
  std::vector<IdaasOu> ous;
  std::vector<IdaasGroup> groups;
  std::vector<Link> links;
  ProvisioningScope scope;  // as last seen
  int64_t last_full_refresh_ms = 0;
};

}  // namespace idsync::sync
