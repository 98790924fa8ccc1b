// A complete read of the source, its users kept compact. Included by
// model.h, whose value types it stores.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idsync/sync/model.h"

namespace idsync::sync {

// A user's custom fields as DesiredUsers keeps them: (name, value) pairs in
// name order, read from the table as they are iterated.
class CustomFieldsView {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;
  class Iterator {
   public:
    using value_type = CustomFieldsView::value_type;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    value_type operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) {
      return a.left_ == b.left_;
    }

   private:
    friend class CustomFieldsView;
    Iterator(const char* p, uint32_t left, const SharedString* names)
        : p_(p), left_(left), names_(names) {}
    const char* p_ = nullptr;
    uint32_t left_ = 0;
    const SharedString* names_ = nullptr;
  };

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  Iterator begin() const { return {p_, n_, names_}; }
  Iterator end() const { return {nullptr, 0, names_}; }
  // The value of the field called `name`; nullopt when the user has none.
  std::optional<std::string_view> find(std::string_view name) const;

 private:
  friend class DesiredUsers;
  const char* p_ = nullptr;  // the first pair in the table's arena
  uint32_t n_ = 0;
  const SharedString* names_ = nullptr;
};

// One row of DesiredUsers, read out: the fields of a DesiredUser as views
// into the table's storage. It stays valid while the table lives and is not
// added to; moving the table keeps it valid.
struct DesiredUserView {
  uint32_t index = 0;  // the row
  std::string_view key, username, display_name, email, phone_number,
      phone_region, description;
  std::string_view primary_ou_key;
  std::vector<std::string_view> extra_ou_keys;  // sorted, unique, no primary
  bool enabled = true;
  CustomFieldsView custom_fields;
  const SharedString* origin_file = nullptr;  // the table's interned file
  int64_t origin_line = 0;
  Origin origin() const { return Origin{*origin_file, origin_line}; }
  // A copy that owns its strings.
  DesiredUser ToUser() const;
};

// The source's users, compact: each user's strings are one record in a
// shared arena (varint lengths, then bytes), and the values many users
// share (the OU key, the file of the origin, custom field names) are kept
// once. About 30 bytes a user besides the characters, against some 450 for
// a vector<DesiredUser>: a million users take ~130 MB, not ~450.
class DesiredUsers {
 public:
  DesiredUsers() = default;
  DesiredUsers(std::initializer_list<DesiredUser> users);
  explicit DesiredUsers(const std::vector<DesiredUser>& users);

  size_t size() const { return offset_.size(); }
  bool empty() const { return offset_.empty(); }
  // Room for `users` rows, and for `ou_keys` distinct primary OU keys (a
  // batch of a few thousand users names nearly as many OUs; a whole
  // directory, far fewer than users).
  void reserve(size_t users, size_t ou_keys = 0);
  // Room for about `bytes` of the rows' strings, so that a table appended
  // batch by batch is not copied each time it doubles.
  void reserve_bytes(size_t bytes) { arena_.reserve(arena_.size() + bytes); }
  void push_back(const DesiredUser& user);
  // Adds `other`'s rows after these, in order: as push_back of each, but
  // the strings are copied as bytes and only the shared values looked up.
  void Append(const DesiredUsers& other);
  void clear() { *this = DesiredUsers(); }

  DesiredUserView operator[](size_t i) const;
  DesiredUser Get(size_t i) const { return (*this)[i].ToUser(); }
  // Single fields without reading the whole row.
  std::string_view key(size_t i) const;
  std::string_view username(size_t i) const;
  std::string_view email(size_t i) const;
  std::string_view phone_number(size_t i) const;
  std::string_view primary_ou_key(size_t i) const { return ou_keys_[ou_[i]]; }
  // The user's extra OU keys, as stored (sorted, unique, no primary).
  std::vector<std::string_view> extra_ou_keys(size_t i) const;
  bool enabled(size_t i) const { return enabled_[i]; }
  Origin origin(size_t i) const { return Origin{files_[file_[i]], line_[i]}; }

  // Keeps rows from[0], from[1], ... in that order and drops the others.
  void Select(std::span<const uint32_t> from);

  // Bytes in use, for benchmarks.
  size_t MemoryBytes() const;

  using Iterator = RowIterator<DesiredUsers, DesiredUserView>;
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

  friend bool operator==(const DesiredUsers& a, const DesiredUsers& b);

 private:
  // Interns `s` among `pool`'s strings: the index of its copy.
  static uint32_t Intern(
      std::string_view s, std::vector<SharedString>* pool,
      boost::unordered_flat_map<std::string_view, uint32_t>* index);
  // Intern of a shared string: the copy kept is `s` itself.
  static uint32_t InternShared(
      const SharedString& s, std::vector<SharedString>* pool,
      boost::unordered_flat_map<std::string_view, uint32_t>* index);

  std::vector<char> arena_;
  // Per row. A record: key, username, display_name, email, phone_number,
  // phone_region, description; the count of extra OU keys and each; the
  // count of custom fields and each as (name index, value).
  std::vector<uint64_t> offset_;
  std::vector<uint32_t> ou_;    // ou_keys_ index
  std::vector<uint32_t> file_;  // files_ index
  std::vector<int64_t> line_;
  std::vector<bool> enabled_;
  // The shared values, each with an index by its text.
  // Shared strings never move, so a copied table's indexes stay valid.
  std::vector<SharedString> ou_keys_, files_, field_names_;
  boost::unordered_flat_map<std::string_view, uint32_t> ou_index_, file_index_,
      field_index_;
  // push_back's guess of each custom field's index, by its position.
  std::vector<uint32_t> field_of_position_;
};

// A complete read of the source. Connectors never hand out a partial one: a
// read either yields a whole snapshot or fails.
struct SourceSnapshot {
  DesiredUsers users;  // connectors hand them over in source key order
  std::vector<DesiredOu> ous;
  std::vector<DesiredGroup> groups;
  std::vector<UserField> mapped_fields;
  std::vector<Diagnostic> rejected;  // records excluded, with reasons
  int64_t records_read = 0;          // user records seen, valid or not
  std::string description;           // e.g. "csv:/var/lib/idsync/people.csv"
};

}  // namespace idsync::sync
