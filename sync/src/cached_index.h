// CachedIndex::Tables: the planner's indexes of a cached state alone, built
// once per state (see sync::CachedIndex). Internal to sync/.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "idsync/sync/plan.h"
#include "row_index.h"

namespace idsync::sync {

// What the row indexes over the cached state index, each named once so that
// a table is read back by the same value it was built from.
struct CachedIdOf {
  const UserTable* t;
  std::string_view operator()(size_t r) const { return t->id(r); }
};
// The values of the planner's look-ups by field (Planner::RowsWith and
// RowsByExternalId): an index is built and asked through the same one.
struct CachedUsernameOf {
  const UserTable* t;
  std::string_view operator()(size_t r) const { return t->username(r); }
};
struct CachedEmailOf {
  const UserTable* t;
  std::string_view operator()(size_t r) const { return t->email(r); }
};
struct CachedPhoneOf {
  const UserTable* t;
  std::string_view operator()(size_t r) const { return t->phone_number(r); }
};
// An external id that only repeats the account's own id is no anchor.
struct CachedAnchorOf {
  const UserTable* t;
  std::string_view operator()(size_t r) const {
    return t->external_id(r) == t->id(r) ? std::string_view() : t->external_id(r);
  }
};
struct LinkKeyOf {
  const LinkTable* links;
  std::string_view operator()(size_t l) const { return links->source_key(l); }
};
struct LinkIdOf {
  const LinkTable* links;
  std::string_view operator()(size_t l) const { return links->idaas_id(l); }
};

struct CachedIndex::Tables {
  explicit Tables(const CachedState& state);
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;

  static constexpr uint32_t kNoRow = 0xffffffff;
  // The first cached row with this id (kNoRow: none).
  uint32_t RowOfId(std::string_view id) const {
    return user_rows_by_id.First(id, CachedIdOf{&cached.users});
  }

  const CachedState& cached;
  RowHash<> user_rows_by_id;  // cached user rows by id
  // Empty unless two rows share an id: then each row's first row of its id.
  std::vector<uint32_t> canonical_row;
  ViewMap<const IdaasOu*> ou_by_id;
  ViewMap<std::vector<const IdaasOu*>> children;
  ViewMap<const IdaasGroup*> group_by_id;
  // The OU and group links as views (their strings stay in the state's
  // table), for the maps below. User links are read from the table by
  // entry when asked: a million of them as views would take 48 MB.
  std::deque<LinkView> other_links;
  // Per cached user row, the entry of cached.links that links it (kNoRow:
  // unmanaged); per entry, the row of its user (kNoRow: none). Joins by
  // integer, so that a million users and memberships are matched without
  // hashing ids again.
  std::vector<uint32_t> link_of_row;
  std::vector<uint32_t> row_of_link;
  // Entries of cached.links: user links by source key, and by IDaaS id
  // those whose account is not in the mirror (the others are joined by
  // row: link_of_row).
  RowHash<> user_links_by_key, user_links_by_id;
  ViewMap<const LinkView*> ou_link_by_key, ou_link_by_id, group_link_by_key,
      group_link_by_id;
  int64_t managed_users = 0, managed_ous = 0, managed_groups = 0;
};

}  // namespace idsync::sync
