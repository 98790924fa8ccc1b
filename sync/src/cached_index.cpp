#include "cached_index.h"

namespace idsync::sync {

CachedIndex::CachedIndex(const CachedState& cached)
    : tables_(std::make_unique<Tables>(cached)) {}

CachedIndex::~CachedIndex() = default;

const CachedState& CachedIndex::state() const { return tables_->cached; }

CachedIndex::Tables::Tables(const CachedState& state) : cached(state) {
  const UserTable& users = cached.users;
  user_rows_by_id.BuildAll(users.size(), CachedIdOf{&users});
  if (user_rows_by_id.has_repeats()) {
    // A mirror holds each id once; should one not, every row of an id
    // stands for its first, as a lookup by id would.
    canonical_row.resize(users.size());
    for (size_t r = 0; r < users.size(); ++r)
      canonical_row[r] = RowOfId(users.id(r));
  }
  for (const auto& ou : cached.ous) {
    ou_by_id.emplace(ou.id, &ou);
    children[ou.parent_id].push_back(&ou);
  }
  for (const auto& g : cached.groups) group_by_id.emplace(g.id, &g);
  links.reserve(cached.links.size());
  for (LinkView link : cached.links) links.push_back(link);
  auto is_user = [this](size_t i) {
    return links[i].type == EntityType::kUser;
  };
  user_links_by_key.Build(links.size(), LinkKeyOf{&links}, is_user,
                          links.size());
  user_links_by_id.Build(links.size(), LinkIdOf{&links}, is_user, links.size());
  for (const auto& link : links) {
    switch (link.type) {
      case EntityType::kUser:
        ++managed_users;
        break;
      case EntityType::kOu:
        ou_link_by_key[link.source_key] = &link;
        ou_link_by_id[link.idaas_id] = &link;
        ++managed_ous;
        break;
      case EntityType::kGroup:
        group_link_by_key[link.source_key] = &link;
        group_link_by_id[link.idaas_id] = &link;
        ++managed_groups;
        break;
    }
  }
  link_of_row.assign(users.size(), nullptr);
  row_of_link.assign(links.size(), kNoRow);
  for (size_t i = 0; i < links.size(); ++i) {
    if (links[i].type != EntityType::kUser) continue;
    const uint32_t row = RowOfId(links[i].idaas_id);
    if (row == kNoRow) continue;
    row_of_link[i] = row;
    // As in Planner::UserLinkById, the last link to an account names it.
    link_of_row[row] = &links[i];
  }
}

}  // namespace idsync::sync
