// The data model shared by connectors, the store and the planner. Plain value
// types with no behaviour beyond comparison; nothing here does I/O.
#pragma once

#include <boost/container/flat_map.hpp>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace idsync::sync {

enum class EntityType : uint8_t { kOu, kUser, kGroup };
const char* EntityTypeName(EntityType t);  // "ou", "user", "group"

// An immutable string that many records share: the name of the file they
// came from, in every origin; an OU key, in every user placed in that OU. A
// million rows of a CSV hold a pointer to one copy each, not a heap string
// each. Immutable, so sharing it across threads is safe. It converts to
// `const std::string&` and `std::string_view`, and compares with both.
class SharedString {
 public:
  SharedString() = default;
  SharedString(std::string s)  // NOLINT(google-explicit-constructor): it is a string
      : s_(s.empty() ? nullptr : std::make_shared<const std::string>(std::move(s))) {}
  SharedString(const char* s) : SharedString(std::string(s)) {}  // NOLINT: as above
  const std::string& str() const { return s_ ? *s_ : Empty(); }
  operator const std::string&() const { return str(); }        // NOLINT: as above
  operator std::string_view() const { return str(); }          // NOLINT: as above
  bool empty() const { return s_ == nullptr; }
  size_t size() const { return str().size(); }
  // One overload per kind of right-hand side, each an exact match, so that
  // no comparison has to choose between two conversions.
  friend bool operator==(const SharedString& a, const SharedString& b) { return a.str() == b.str(); }
  friend bool operator==(const SharedString& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const SharedString& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const SharedString& a, const char* b) { return a.str() == b; }
  friend std::strong_ordering operator<=>(const SharedString& a, const SharedString& b) {
    return a.str().compare(b.str()) <=> 0;
  }
  friend std::strong_ordering operator<=>(const SharedString& a, const std::string& b) {
    return a.str().compare(b) <=> 0;
  }
  friend std::strong_ordering operator<=>(const SharedString& a, std::string_view b) {
    return a.str().compare(b) <=> 0;
  }
  friend std::strong_ordering operator<=>(const SharedString& a, const char* b) {
    return a.str().compare(b) <=> 0;
  }
  friend std::ostream& operator<<(std::ostream& out, const SharedString& s);

 private:
  static const std::string& Empty();
  std::shared_ptr<const std::string> s_;
};

// Where a record came from, for diagnostics: "people.csv:17".
struct Origin {
  SharedString file;
  int64_t line = 0;  // 1-based; 0 when not line-oriented (e.g. a JSON feed)
  std::string ToString() const;
  friend bool operator==(const Origin&, const Origin&) = default;
};

// One rejected source record (or field) and why.
//
// A rejected record is still *present* in the source: the planner never
// disables, deletes or removes from a group or OU the object behind it (see
// docs/sync-semantics.md, "Presence is sticky"). So connectors recover the
// key of a record they reject wherever they can (a malformed CSV row's key
// column, an LDAP entry's key attribute or DN). When they cannot, `key` is
// empty, and the planner withholds every destructive operation on objects
// of `entity` for that cycle, since any of them may be the unreadable one.
struct Diagnostic {
  Origin origin;
  std::string key;     // the record's source key; empty when unrecoverable
  std::string field;   // attribute or IDaaS field at fault, when known
  std::string reason;  // human readable, e.g. "invalid UTF-8"
  EntityType entity = EntityType::kUser;  // what kind of record was rejected
  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

// IDaaS user fields idsync can manage. A field is written only when the config
// maps it (SourceSnapshot::mapped_fields), so an unmapped field is never
// patched away.
enum class UserField : uint8_t {
  kUsername,
  kDisplayName,
  kEmail,
  kPhoneNumber,
  kPhoneRegion,
  kDescription,
  kPrimaryOu,
  kExtraOus,
  kEnabled,
  kCustomFields,
};
const char* UserFieldName(UserField f);

// The primary_ou_key of a user placed directly in target.root_ou (the
// mapping yields "@root"; see docs/mapping.md). Never the key of a DesiredOu.
inline constexpr const char kRootOuKey[] = "@root";

// A source user's custom fields by name. A sorted vector, not a tree: one
// allocation per user instead of a node per field, over a million users.
using CustomFields = boost::container::flat_map<std::string, std::string, std::less<>>;

// A user as the source wants it to be in IDaaS, after mapping.
struct DesiredUser {
  std::string key;  // stable source key; becomes userExternalId
  std::string username;
  std::string display_name;
  std::string email;
  std::string phone_number;
  std::string phone_region;
  std::string description;
  SharedString primary_ou_key;  // source key of the primary OU, or kRootOuKey; shared by its users
  std::vector<std::string> extra_ou_keys;   // sorted, unique, no primary
  bool enabled = true;
  CustomFields custom_fields;
  Origin origin;
  friend bool operator==(const DesiredUser&, const DesiredUser&) = default;
};

// An organizational unit (department). Keys are ids or full paths, never a
// display name alone.
struct DesiredOu {
  std::string key;         // becomes organizationalUnitExternalId
  std::string name;
  std::string parent_key;  // empty: directly under target.root_ou
  std::string description;
  Origin origin;
  friend bool operator==(const DesiredOu&, const DesiredOu&) = default;
};

// Iterates a compact table by row number: `*it` is `table[i]`, a value read
// out of the table (not a reference into it). KeyList, DesiredUsers and
// LinkTable share it.
template <class Table, class Value>
class RowIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Value;
  RowIterator() = default;
  RowIterator(const Table* table, size_t i) : table_(table), i_(i) {}
  Value operator*() const { return (*table_)[i_]; }
  RowIterator& operator++() {
    ++i_;
    return *this;
  }
  RowIterator operator++(int) {
    RowIterator old = *this;
    ++i_;
    return old;
  }
  friend bool operator==(const RowIterator& a, const RowIterator& b) { return a.i_ == b.i_; }

 private:
  const Table* table_ = nullptr;
  size_t i_ = 0;
};

// A list of source keys, compact: their bytes in one buffer and where each
// ends. A group's million members take some 11 MB of short keys, not the
// 32 MB of a vector<string>.
class KeyList {
 public:
  using Iterator = RowIterator<KeyList, std::string_view>;
  using value_type = std::string_view;
  using iterator = Iterator;
  using const_iterator = Iterator;

  KeyList() = default;
  KeyList(std::initializer_list<std::string_view> keys);
  KeyList(const std::vector<std::string>& keys);  // NOLINT(google-explicit-constructor): a list of keys

  size_t size() const { return end_.size(); }
  bool empty() const { return end_.empty(); }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : end_[i - 1];
    return std::string_view(bytes_.data() + begin, end_[i] - begin);
  }
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }
  void reserve(size_t keys, size_t bytes);
  void push_back(std::string_view key);
  void clear();
  // Whether the keys are in order, each once.
  bool IsSortedUnique() const;
  // Puts the keys in order and drops repeats.
  void SortUnique();

  friend bool operator==(const KeyList& a, const KeyList& b) {
    return a.bytes_ == b.bytes_ && a.end_ == b.end_;
  }
  friend bool operator==(const KeyList& a, const std::vector<std::string>& b);

 private:
  std::string bytes_;
  std::vector<uint32_t> end_;  // end of key i in bytes_
};

struct DesiredGroup {
  std::string key;  // becomes groupExternalId
  std::string name;
  std::string description;
  KeyList member_keys;  // user source keys, sorted, unique
  Origin origin;
  friend bool operator==(const DesiredGroup&, const DesiredGroup&) = default;
};

}  // namespace idsync::sync

// SourceSnapshot, which keeps the types above (its users compact).
#include "idsync/sync/source_snapshot.h"  // IWYU pragma: export
