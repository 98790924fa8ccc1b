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
  const LinkTable& links = cached.links;
  std::vector<bool> is_user(links.size());
  link_of_row.assign(users.size(), kNoRow);
  row_of_link.assign(links.size(), kNoRow);
  // User links to no account in the mirror: the only ones indexed by id.
  std::vector<bool> rowless(links.size());
  size_t rowless_count = 0;
  for (size_t i = 0; i < links.size(); ++i) {
    const LinkView link = links[i];
    switch (link.type) {
      case EntityType::kUser: {
        ++managed_users;
        is_user[i] = true;
        const uint32_t row = RowOfId(link.idaas_id);
        if (row == kNoRow) {
          rowless[i] = true;
          ++rowless_count;
          break;
        }
        row_of_link[i] = row;
        // As in Planner::UserLinkById, the last link to an account names it.
        link_of_row[row] = static_cast<uint32_t>(i);
        break;
      }
      case EntityType::kOu: {
        const LinkView& kept = other_links.emplace_back(link);
        ou_link_by_key[kept.source_key] = &kept;
        ou_link_by_id[kept.idaas_id] = &kept;
        ++managed_ous;
        break;
      }
      case EntityType::kGroup: {
        const LinkView& kept = other_links.emplace_back(link);
        group_link_by_key[kept.source_key] = &kept;
        group_link_by_id[kept.idaas_id] = &kept;
        ++managed_groups;
        break;
      }
    }
  }
  auto user = [&is_user](size_t i) { return is_user[i]; };
  user_links_by_key.Build(links.size(), LinkKeyOf{&links}, user, links.size());
  user_links_by_id.Build(
      links.size(), LinkIdOf{&links},
      [&rowless](size_t i) { return rowless[i]; }, rowless_count);
}

}  // namespace idsync::sync
