// Compiled mapping (docs/mapping.md) and the snapshot builder every
// connector feeds: it maps each record, validates the result, derives the OU
// tree and group memberships, and finally rejects duplicates and dangling OU
// references, so all connectors share one set of rules.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "attrs.h"
#include "expr.h"
#include "idsync/config/config.h"
#include "idsync/config/diagnostics.h"
#include "idsync/sync/model.h"

namespace idsync::connectors {

// Options shared by all connectors (docs/connectors.md, "Common options").
struct SourceOptions {
  std::string type;
  std::string config_file;
  std::string config_dir;
  // False when validating a daemon's config: its source file may appear later.
  bool files_must_exist = true;
  size_t max_field_bytes = 64 * 1024;
  // users
  std::string user_key;     // attribute holding the stable source key
  std::string user_filter;  // condition; records that fail it are skipped
  config::Location user_filter_location;
  // ous
  std::string ou_from = "none";  // none | path | id_parent | dn
  std::string ou_column;         // path: attribute with "A/B/C"
  std::string ou_separator = "/";
  std::string ou_file;           // id_parent: CSV file
  std::string ou_id = "id", ou_parent = "parent_id", ou_name = "name",
              ou_description;
  std::string ou_base;           // dn: base DN
  // groups
  std::string group_from = "none";  // none | column | entries
  std::string group_column;
  std::string group_separator;      // "" = each value is one group
  std::vector<std::string> group_object_classes = {"groupOfNames", "groupOfUniqueNames"};
  // the csv options (also used for the id_parent OU file)
  char csv_delimiter = ',';
  char csv_quote = '"';
};

// Joins the trimmed, non-empty segments of `value` split by `sep` with "/".
std::string NormalizeOuPath(std::string_view value, std::string_view sep);

class Mapping {
 public:
  // Compiles cfg.mapping (+ the users.filter condition); problems go to
  // diags with the expression's location, key path and column.
  bool Compile(const config::MappingConfig& m, const SourceOptions& opts,
               const std::string& file, config::Diagnostics* diags);
  AttrTable& attrs() { return attrs_; }
  const AttrTable& attrs() const { return attrs_; }
  std::vector<sync::UserField> MappedFields() const;

 private:
  friend class SnapshotBuilder;
  AttrTable attrs_;
  std::unique_ptr<Expr> key_, username_, display_name_, email_, phone_, region_,
      description_, primary_ou_, extra_ous_, enabled_, filter_;
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> custom_;
  int group_slot_ = -1;
  int ou_slot_ = -1;
  bool primary_ou_mapped_ = false;
};

class SnapshotBuilder {
 public:
  SnapshotBuilder(const Mapping* mapping, const SourceOptions* opts)
      : m_(mapping), opts_(opts) {}

  // A user record mapped and validated, not yet added: what AddUser would
  // add. Built by MapUser, which touches no builder state, so that records
  // can be mapped on several threads and added in read order.
  struct Candidate {
    sync::DesiredUser user;
    std::string ref;
    std::vector<std::string> groups;
  };
  struct MappedUser {
    bool counted = false;   // counts towards records_read (it passed the filter)
    std::string ou_path;    // the department path it names, for the OU tree ("": none)
    std::optional<Candidate> candidate;           // or
    std::optional<sync::Diagnostic> rejection;    // why it was excluded
  };

  // Mapped records gathered on one thread, to be added in one step: what
  // AddUser adds for each, already in the builder's own form (a table of
  // users, groups by index), so that adding costs the builder little more
  // than a copy of bytes. Move-only: group_index views group_names.
  struct MappedBatch {
    MappedBatch() = default;
    MappedBatch(MappedBatch&&) = default;
    MappedBatch& operator=(MappedBatch&&) = default;
    MappedBatch(const MappedBatch&) = delete;
    MappedBatch& operator=(const MappedBatch&) = delete;
    int64_t counted = 0;
    // The department path each record names ("" none), with its origin.
    std::vector<std::pair<std::string, sync::Origin>> ou_paths;
    sync::DesiredUsers users;
    // User i names group_ids[group_begin[i] .. group_begin[i + 1]),
    // indexes into group_names (first named first).
    std::deque<std::string> group_names;
    boost::unordered_flat_map<std::string_view, uint32_t> group_index;
    std::vector<uint32_t> group_begin{0}, group_ids;
    std::vector<std::pair<uint32_t, std::string>> refs;  // user index, ref
    std::vector<sync::Diagnostic> rejected;
    size_t size() const { return users.size() + rejected.size(); }
  };

  // One user record. `ref` (optional) is how group entries refer to it,
  // e.g. its normalized DN.
  void AddUser(const AttrView& rec, const sync::Origin& origin,
               const std::string& ref = {});
  // AddUser in steps. MapUser and Gather are safe to call from several
  // threads at once; batches must be added in read order.
  MappedUser MapUser(const AttrView& rec, const sync::Origin& origin,
                     const std::string& ref = {}) const;
  static void Gather(MappedUser mapped, MappedBatch* batch);
  void AddBatch(MappedBatch batch);
  // Excludes a record of kind `entity` and reports why. `key` is the
  // record's source key, or "" only when it cannot be read for certain: the
  // planner treats a keyed rejection as that object being present, and an
  // unkeyed one as "any object of `entity` may be present" (see
  // docs/connectors.md, "Rejected records keep their key").
  void Reject(const sync::Origin& origin, sync::EntityType entity, std::string key,
              std::string field, std::string reason);
  // The source key of a user record that is being rejected: the key
  // expression evaluated over `rec` when every attribute it refers to is
  // one for which `certain(slot)` holds (the record's value of it, or its
  // absence, is exactly what a well-formed record would give). "" when it
  // refers to another attribute, fails, or yields invalid UTF-8: a wrong key
  // would keep the wrong person while the right one counts as missing.
  std::string RecoverUserKey(const AttrView& rec, const std::function<bool(int)>& certain) const;
  // An OU found by the connector (id_parent or dn modes). Duplicates by key
  // are rejected; parents are checked in Finish().
  void AddOu(sync::DesiredOu ou);
  // A group entry whose members are refs (see AddUser).
  void AddGroupEntry(sync::DesiredGroup group, std::vector<std::string> member_refs);

  sync::SourceSnapshot Finish(std::string description);
  // Room for about `users` more records (e.g. a file's line count) holding
  // about `bytes` of strings (e.g. the file's size: their fields come from
  // it), so that the users' table does not grow by copying.
  void ReserveUsers(size_t users, size_t bytes = 0);
  // A user record that failed to parse (counts towards records_read).
  void CountRead() { ++records_read_; }
  const Mapping& mapping() const { return *m_; }

 private:
  struct GroupEntry {
    sync::DesiredGroup group;
    std::vector<std::string> refs;
  };
  void AddPathOus(const std::string& path, const sync::Origin& origin);
  // Adds the users AddUser gathered; every other change to the builder
  // comes after them.
  void FlushPending();
  bool HasOu(std::string_view key) const { return ou_keys_.contains(key); }
  void InsertOu(std::string key, sync::DesiredOu ou);

  const Mapping* m_;
  const SourceOptions* opts_;
  // The users read, and beside them what else Finish needs: Finish keeps
  // the valid ones in key order (DesiredUsers::Select, which leaves their
  // strings in place) and hands the table over, so the snapshot's users
  // are never held twice.
  sync::DesiredUsers users_;
  // Beside users_, what Finish needs of each: whether it is excluded; its
  // groups (user i names group_ids_[group_begin_[i] .. group_begin_[i + 1]),
  // indexes into group_names_); and its ref, for the few records that have
  // one. Flat arrays rather than a string and a vector per user: a
  // million users' groups are two integer arrays.
  std::vector<uint8_t> rejected_users_;
  std::vector<uint32_t> group_begin_{0};
  std::vector<uint32_t> group_ids_;
  std::deque<std::string> group_names_;  // a deque: the index holds views of them
  boost::unordered_flat_map<std::string_view, uint32_t> group_index_;
  std::vector<std::pair<uint32_t, std::string>> refs_;  // user index, ref
  MappedBatch pending_;  // AddUser's records, added a batch at a time
  std::map<std::string, sync::DesiredOu> ous_;
  // The keys of ous_ (views of the map's own keys): a hash lookup per record
  // instead of a walk down the tree of strings.
  boost::unordered_flat_set<std::string_view> ou_keys_;
  std::vector<GroupEntry> group_entries_;
  std::vector<sync::Diagnostic> rejected_;
  int64_t records_read_ = 0;
};

// Field validation rules (docs/mapping.md, "Validation").
bool ValidUsername(std::string_view s, std::string* why);
bool ValidEmail(std::string_view s);
// Strips spaces, dashes, dots and parentheses; then 6..15 digits.
bool NormalizePhone(std::string_view s, std::string* out, std::string* why);
size_t Utf8Length(std::string_view s);

}  // namespace idsync::connectors
