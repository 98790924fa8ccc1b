// The LDAP data model shared by the ldif and ldap connectors: which entries
// are users, OUs and groups, the OU tree derived from DNs under ous.base, and
// group entries whose members are DNs. An LDIF file and a live directory
// both hand their entries here, so the same directory yields the same
// snapshot whichever way it is read.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "idsync/config/yaml_reader.h"
#include "idsync/connectors/connectors.h"
#include "idsync/connectors/parsers.h"
#include "mapping.h"

namespace idsync::connectors {

// The keys both connectors read from their own section (source.ldif or
// source.ldap): which object classes make a user or an OU, and what keys a
// group.
struct DirectoryOptions {
  std::vector<std::string> user_classes = {"inetOrgPerson"};
  std::vector<std::string> ou_classes = {"organizationalUnit"};
  std::string group_key = "dn";  // "dn" (normalized) or an attribute name

  void Read(config::MapReader& r);
};

// Turns directory entries into users, OUs and group entries of a
// SnapshotBuilder. Not thread-safe; one per read.
class DirectoryEntries {
 public:
  enum class Kind { kUser, kOu, kGroup };

  DirectoryEntries(const SourceOptions& opts, const DirectoryOptions& dir, SnapshotBuilder* b);

  // An entry from an export: its kind follows from its object classes (a
  // user first, then a group, then an OU); entries of none are ignored.
  // Returns an error that fails the whole read when the entry holds an
  // attribute the model reads in a form it cannot read in full (a ranged
  // value list such as member;range=0-1499): a partial group is never read.
  [[nodiscard]] std::optional<Error> Add(const LdifEntry& e, const sync::Origin& origin);
  // An entry whose kind the caller knows (the search that returned it).
  [[nodiscard]] std::optional<Error> AddAs(Kind kind, const LdifEntry& e,
                                           const sync::Origin& origin);
  // Hands the OU tree to the builder. Call once, after the last entry.
  void Finish();

  // The attributes the model reads besides the mapping's own (objectClass,
  // ou, cn, description, member, uniqueMember, the group key attribute).
  std::vector<std::string> ModelAttributes() const;

 private:
  // Adds an entry of `kind` (nullopt: unknown, its objectClass unreadable).
  std::optional<Error> AddKind(std::optional<Kind> kind, const LdifEntry& e,
                               const sync::Origin& origin);
  // True when the mapping or the model reads attribute `name`.
  bool Reads(std::string_view name) const;
  // The error for a ranged attribute of e that the model reads, if any.
  std::optional<Error> RangedAttribute(const LdifEntry& e, const sync::Origin& origin) const;
  // Rejects a malformed entry (or one whose DN does not parse: rdns null)
  // with the key it can still be known by, or "" (docs/connectors.md,
  // "Rejected records keep their key").
  void RejectEntry(std::optional<Kind> kind, const LdifEntry& e, const std::vector<Rdn>* rdns,
                   const sync::Origin& origin, std::string field, std::string reason);
  // The mapping's view of a user entry in rec_ ($dn and $ou included when
  // rdns is set); adds the OUs its DN implies when `add_implied`.
  void FillRecord(const LdifEntry& e, const std::vector<Rdn>* rdns, const sync::Origin& origin,
                  bool add_implied);
  void AddUser(const LdifEntry& e, const std::vector<Rdn>& rdns, const sync::Origin& origin);
  void AddGroup(const LdifEntry& e, const std::vector<Rdn>& rdns, const sync::Origin& origin);
  void AddOu(const LdifEntry& e, const std::vector<Rdn>& rdns, const sync::Origin& origin);
  // The RDNs of `rdns` below ous.base (leaf first); nullopt when not below
  // it or when OUs are not derived from DNs.
  std::optional<std::vector<Rdn>> BelowBase(const std::vector<Rdn>& rdns) const;
  // Adds the OUs that rel[from..] implies, unless already known.
  void AddImplied(const std::vector<Rdn>& rel, size_t from, const sync::Origin& origin);

  const SourceOptions& opts_;
  const DirectoryOptions& dir_;
  SnapshotBuilder* b_;
  std::vector<Rdn> base_;
  int dn_slot_ = -1, ou_slot_ = -1;
  OwnedRecord rec_;
  std::map<std::string, sync::DesiredOu> ous_;  // explicit entries override implied ones
  std::set<std::string> explicit_ous_;
};

}  // namespace idsync::connectors
