// CachedIndex::Tables: the planner's indexes of a cached state alone, built
// once per state (see sync::CachedIndex). Internal to sync/.
#pragma once

#include <cstdint>
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
struct LinkKeyOf {
  const std::vector<LinkView>* links;
  std::string_view operator()(size_t l) const { return (*links)[l].source_key; }
};
struct LinkIdOf {
  const std::vector<LinkView>* links;
  std::string_view operator()(size_t l) const { return (*links)[l].idaas_id; }
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
  // Views of the links: their strings stay in the state's table.
  std::vector<LinkView> links;
  // Per cached user row, the user link to it (nullptr: unmanaged); per entry
  // of links, the row of its user (kNoRow: none). Joins by integer, so that
  // a million users and memberships are matched without hashing ids again.
  std::vector<const LinkView*> link_of_row;
  std::vector<uint32_t> row_of_link;
  RowHash<> user_links_by_key, user_links_by_id;  // entries of links
  ViewMap<const LinkView*> ou_link_by_key, ou_link_by_id, group_link_by_key,
      group_link_by_id;
  int64_t managed_users = 0, managed_ous = 0, managed_groups = 0;
};

}  // namespace idsync::sync
