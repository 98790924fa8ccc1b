// What idsync knows about IDaaS: the cached mirror of the provisioning scope,
// the links between source keys and IDaaS ids, and the scope itself. The
// store produces a CachedState; the planner reads it. Plain values, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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

// A compact, append-only table of cached users for planning over large
// directories: every string lives in one arena and rows hold 8-byte handles,
// with OU ids and source types interned. About 100 bytes per user plus the
// characters, against ~450 for a vector<IdaasUser>, so a million cached users
// fit in well under 300 MiB.
class UserTable {
 public:
  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  void reserve(size_t users, size_t arena_bytes);
  void Add(const IdaasUser& user);
  // A full copy of row i, for reports and updates.
  IdaasUser Get(size_t i) const;

  std::string_view id(size_t i) const { return S(rows_[i].id); }
  std::string_view username(size_t i) const { return S(rows_[i].username); }
  std::string_view display_name(size_t i) const { return S(rows_[i].display_name); }
  std::string_view email(size_t i) const { return S(rows_[i].email); }
  std::string_view phone_number(size_t i) const { return S(rows_[i].phone_number); }
  std::string_view phone_region(size_t i) const { return S(rows_[i].phone_region); }
  std::string_view description(size_t i) const { return S(rows_[i].description); }
  std::string_view external_id(size_t i) const { return S(rows_[i].external_id); }
  std::string_view source_type(size_t i) const { return S(rows_[i].source_type); }
  std::string_view source_id(size_t i) const { return S(rows_[i].source_id); }
  std::string_view primary_ou_id(size_t i) const { return S(rows_[i].primary_ou_id); }
  bool enabled(size_t i) const { return rows_[i].enabled; }
  int64_t update_time_ms(size_t i) const { return rows_[i].update_time_ms; }
  // Every OU membership, primary included, sorted.
  std::vector<std::string_view> ou_ids(size_t i) const;
  std::map<std::string, std::string> custom_fields(size_t i) const;

  // Bytes held, for the load benchmark.
  size_t MemoryBytes() const;

 private:
  struct Ref {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct Row {
    Ref id, username, display_name, email, phone_number, phone_region,
        description, external_id, source_type, source_id, primary_ou_id;
    uint32_t ous_begin = 0, ous_count = 0;        // into ou_refs_
    uint32_t custom_begin = 0, custom_count = 0;  // into custom_refs_ (pairs)
    int64_t update_time_ms = 0;
    bool enabled = true;
  };
  std::string_view S(Ref r) const { return {arena_.data() + r.offset, r.size}; }
  Ref Put(std::string_view s);
  Ref Intern(std::string_view s);  // for values shared by many rows

  std::vector<char> arena_;
  std::vector<Row> rows_;
  std::vector<Ref> ou_refs_;
  std::vector<Ref> custom_refs_;
  // Heterogeneous lookup: interning a string_view allocates nothing.
  struct ViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, Ref, ViewHash, std::equal_to<>> interned_;
};

// The cached mirror as the planner sees it. Vectors are in no particular
// order; the planner indexes them itself.
struct CachedState {
  UserTable users;
  std::vector<IdaasOu> ous;
  std::vector<IdaasGroup> groups;
  std::vector<Link> links;
  ProvisioningScope scope;  // as last seen
  int64_t last_full_refresh_ms = 0;
};

}  // namespace idsync::sync
