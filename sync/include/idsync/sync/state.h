// What idsync knows about IDaaS: the cached mirror of the provisioning scope,
// the links between source keys and IDaaS ids, and the scope itself. The
// store produces a CachedState; the planner reads it. Plain values, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "idsync/sync/model.h"

namespace idsync::sync {

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

// Strings shared by many rows (OU ids, source types and ids, custom field
// names), stored once and referred to by a 32-bit index; index 0 is "".
class StringDict {
 public:
  StringDict();
  uint32_t Intern(std::string_view s);
  std::string_view operator[](uint32_t i) const { return strings_[i]; }
  size_t size() const { return strings_.size(); }
  size_t MemoryBytes() const;

 private:
  // A deque keeps the strings (and views of them) in place as it grows.
  std::deque<std::string> strings_;
  // Open addressing, a power of two long and at most half full: each slot
  // is the hash's top 32 bits and index + 1 (0: empty). Interning runs once
  // per cached user, and a node-based map's pointer chasing made it a fifth
  // of the load time.
  std::vector<uint64_t> slots_;
};

// A user as fields to copy, for UserTable::Add without building an IdaasUser.
struct UserView {
  std::string_view id, username, display_name, email, phone_number, phone_region,
      description, external_id, source_type, source_id, primary_ou_id;
  std::vector<std::string_view> ou_ids;  // sorted
  std::vector<std::pair<std::string_view, std::string_view>> custom_fields;  // by name
  bool enabled = true;
  int64_t update_time_ms = 0;
};

// A compact, append-only table of cached users for planning over large
// directories. Each user's own strings are one varint-length-prefixed record
// in a shared arena (a 32-bit offset per row); values many users share (OU
// ids, phone region, source type and id, custom field names) are interned
// once. About 25 bytes per user plus the characters, against ~450 for a
// vector<IdaasUser>: a million cached users take ~160 MB. The arena is
// limited to 4 GiB (some 30 M users).
class UserTable {
 public:
  size_t size() const { return offset_.size(); }
  bool empty() const { return offset_.empty(); }
  void reserve(size_t users, size_t arena_bytes);
  void Add(const IdaasUser& user);
  void Add(const UserView& user);
  // A full copy of row i, for reports and updates.
  IdaasUser Get(size_t i) const;

  std::string_view id(size_t i) const { return Field(i, kId); }
  std::string_view username(size_t i) const { return Field(i, kUsername); }
  std::string_view display_name(size_t i) const { return Field(i, kDisplayName); }
  std::string_view email(size_t i) const { return Field(i, kEmail); }
  std::string_view phone_number(size_t i) const { return Field(i, kPhoneNumber); }
  std::string_view phone_region(size_t i) const { return dict_[Shape(i).phone_region]; }
  std::string_view description(size_t i) const { return Field(i, kDescription); }
  std::string_view external_id(size_t i) const { return Field(i, kExternalId); }
  std::string_view source_type(size_t i) const { return dict_[Shape(i).source_type]; }
  std::string_view source_id(size_t i) const { return dict_[Shape(i).source_id]; }
  std::string_view primary_ou_id(size_t i) const { return dict_[primary_ou_[i]]; }
  // The primary OU id as an index below shared_strings(): rows in the same
  // OU have the same index, so per-OU answers can be kept per index.
  uint32_t primary_ou_index(size_t i) const { return primary_ou_[i]; }
  size_t shared_strings() const { return dict_.size(); }
  bool enabled(size_t i) const { return enabled_[i]; }
  int64_t update_time_ms(size_t i) const { return update_time_ms_[i]; }
  // Every OU membership, primary included, sorted.
  std::vector<std::string_view> ou_ids(size_t i) const;
  std::map<std::string, std::string> custom_fields(size_t i) const;
  // One custom field's value, "" when the user has none by that name; for
  // comparisons that should not copy every field.
  std::string_view custom_field(size_t i, std::string_view name) const;

  // Bytes in use, for the load benchmark.
  size_t MemoryBytes() const;

 private:
  // The record's strings, in this order; custom field values follow.
  enum FieldIndex { kId, kUsername, kDisplayName, kEmail, kPhoneNumber, kDescription,
                    kExternalId, kFieldCount };
  // What rows from one source mostly share, interned as a whole.
  struct ShapeKey {
    uint32_t phone_region = 0, source_type = 0, source_id = 0;
    std::vector<uint32_t> custom_names;  // sorted by name
    friend bool operator==(const ShapeKey&, const ShapeKey&) = default;
  };
  struct ShapeHash {
    size_t operator()(const ShapeKey& k) const;
  };
  // ous_ values other than an index into ou_lists_.
  static constexpr uint32_t kOnlyPrimary = 0xffffffff;  // ou_ids == {primary_ou_id}
  static constexpr uint32_t kNoOus = 0xfffffffe;        // ou_ids empty

  const ShapeKey& Shape(size_t i) const { return shapes_[shape_[i]]; }
  std::string_view Field(size_t i, int k) const;
  bool SameShapeAsLast(const UserView& u) const;
  uint32_t InternShape(const UserView& u);
  void PutString(std::string_view s);

  std::vector<char> arena_;
  std::vector<uint32_t> offset_;          // row -> record in arena_
  std::vector<int64_t> update_time_ms_;
  std::vector<uint32_t> primary_ou_;      // dict_ index
  std::vector<uint32_t> shape_;           // shapes_ index
  std::vector<uint32_t> ous_;             // kOnlyPrimary, kNoOus or ou_lists_ index
  std::vector<bool> enabled_;
  std::vector<uint32_t> ou_lists_;        // count, then dict_ indexes
  StringDict dict_;
  std::vector<ShapeKey> shapes_;
  std::unordered_map<ShapeKey, uint32_t, ShapeHash> shape_index_;
};

// A link as the planner reads it from a LinkTable: views into the table.
// The small fields last: 48 bytes, not 64, for each of a million links the
// planner indexes.
struct LinkView {
  std::string_view source_key;
  std::string_view idaas_id;
  int64_t missing_since_ms = 0;
  EntityType type = EntityType::kUser;
  Ownership ownership = Ownership::kCreated;
  bool disabled_by_idsync = false;
};

// The links, compact: both strings of a link in one arena record (32-bit
// offset), the enums and flag in one byte. ~55 bytes per link against ~140
// for a vector<Link>.
class LinkTable {
 public:
  size_t size() const { return offset_.size(); }
  bool empty() const { return offset_.empty(); }
  void reserve(size_t links, size_t arena_bytes);
  void Add(const Link& link);
  void Add(const LinkView& link);
  LinkView operator[](size_t i) const;
  // Single fields of link i, for look-ups that compare only these.
  std::string_view source_key(size_t i) const;
  std::string_view idaas_id(size_t i) const;
  Link Get(size_t i) const;
  size_t MemoryBytes() const;

  // Iteration yields LinkView values (not references into the table).
  using Iterator = RowIterator<LinkTable, LinkView>;
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

 private:
  std::vector<char> arena_;
  std::vector<uint32_t> offset_;
  std::vector<uint8_t> flags_;  // type | ownership << 2 | disabled << 3
  std::vector<int64_t> missing_since_ms_;
};

// Group memberships, compact: a member is a 32-bit row of the UserTable, or
// (top bit set) an index into a list of ids of users outside the table.
// Members of group g are refs_[begin_[g] .. begin_[g + 1]), in id order.
class MemberTable {
 public:
  size_t groups() const { return begin_.size() - 1; }
  size_t size() const { return refs_.size(); }
  void reserve(size_t members) { refs_.reserve(members); }
  // Starts the next group's list; members then go to it.
  void StartGroup() { begin_.push_back(static_cast<uint32_t>(refs_.size())); }
  void AddRow(uint32_t user_row);
  void AddId(std::string_view user_id);
  std::vector<std::string_view> Ids(size_t g, const UserTable& users) const;
  // Group g's members as stored, in id order: a UserTable row, or (IsExternal)
  // a reference to External(ref), the id of a user outside the table. For the
  // planner, which compares memberships as rows rather than as id strings.
  std::span<const uint32_t> Refs(size_t g) const;
  static bool IsExternal(uint32_t ref) { return (ref & kExternal) != 0; }
  std::string_view External(uint32_t ref) const { return external_[ref & ~kExternal]; }
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kExternal = 0x80000000u;
  // begin_.back() is the end of the last group.
  std::vector<uint32_t> begin_ = {0};
  std::vector<uint32_t> refs_;
  std::deque<std::string> external_;
};

// The cached mirror as the planner sees it. Vectors are in no particular
// order; the planner indexes them itself.
struct CachedState {
  UserTable users;
  std::vector<IdaasOu> ous;
  // member_ids is always empty here: the members of groups[g] are
  // members.Ids(g, users) (GroupMembers), kept compact.
  std::vector<IdaasGroup> groups;
  MemberTable members;
  LinkTable links;
  ProvisioningScope scope;  // as last seen
  int64_t last_full_refresh_ms = 0;

  // Appends a group; its member ids are matched against the user table
  // (add users first). For tests and small states: it indexes the table.
  void AddGroup(const IdaasGroup& group);
  std::vector<std::string_view> GroupMembers(size_t g) const { return members.Ids(g, users); }
  // groups[g] with its member ids.
  IdaasGroup Group(size_t g) const;
  size_t MemoryBytes() const;
};

}  // namespace idsync::sync
