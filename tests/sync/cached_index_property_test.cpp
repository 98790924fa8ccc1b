// Properties of the planner's index of a cached state (sync/src/cached_index.h)
// over generated mirrors and links: whatever ids repeat among the mirror's
// rows and the links, and whether a link's account is in the mirror or not,
// the joins and look-ups answer what a scan of the rows and links answers.
// The planner's UserLinkById is the join for an account in the mirror and
// the by-id index for one outside it; both must give the last user link
// naming the id.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "../../sync/src/cached_index.h"

namespace idsync::sync {
namespace {

constexpr uint32_t kNoRow = CachedIndex::Tables::kNoRow;

RC_GTEST_PROP(CachedIndexProperty, JoinsAndLookupsAnswerLikeAScan, ()) {
  // Small pools, so that ids repeat in the mirror and among the links, and
  // links name accounts in and out of the mirror.
  const std::vector<std::string> ids = {"user_a", "user_b", "user_c", "user_d",
                                        "user_e"};
  const std::vector<std::string> keys = {"E1", "E2", "E3", "E4"};
  const auto row_ids =
      *rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(ids));
  CachedState state;
  for (const std::string& id : row_ids) {
    IdaasUser u;
    u.id = id;
    u.username = "name_" + id;
    u.primary_ou_id = "ou_root";
    state.users.Add(u);
  }
  struct GenLink {
    EntityType type;
    std::string key, id;
  };
  const int n_links = *rc::gen::inRange(0, 12);
  std::vector<GenLink> links;
  for (int i = 0; i < n_links; ++i) {
    // OU and group links with user-like ids: only user links may count.
    links.push_back({*rc::gen::element(EntityType::kUser, EntityType::kUser,
                                       EntityType::kOu, EntityType::kGroup),
                     *rc::gen::elementOf(keys), *rc::gen::elementOf(ids)});
    state.links.Add(LinkView{.source_key = links.back().key,
                             .idaas_id = links.back().id,
                             .type = links.back().type});
  }
  const CachedIndex::Tables ix(state);

  auto first_row = [&](const std::string& id) {
    for (size_t r = 0; r < row_ids.size(); ++r) {
      if (row_ids[r] == id) return static_cast<uint32_t>(r);
    }
    return kNoRow;
  };
  auto last_user_link = [&](auto matches) {
    for (size_t i = links.size(); i-- > 0;) {
      if (links[i].type == EntityType::kUser && matches(links[i])) {
        return static_cast<uint32_t>(i);
      }
    }
    return kNoRow;
  };

  std::vector<std::string> queries = ids;
  queries.push_back("user_zz");
  for (const std::string& id : queries) {
    const uint32_t row = first_row(id);
    RC_ASSERT(ix.RowOfId(id) == row);
    const uint32_t want =
        last_user_link([&](const GenLink& l) { return l.id == id; });
    // Planner::UserLinkById: joined by row, else looked up by id.
    const uint32_t got =
        row != kNoRow ? ix.link_of_row[row]
                      : ix.user_links_by_id.Last(id, LinkIdOf{&state.links});
    RC_ASSERT(got == want);
  }
  for (const std::string& key : keys) {
    RC_ASSERT(ix.user_links_by_key.Last(key, LinkKeyOf{&state.links}) ==
              last_user_link([&](const GenLink& l) { return l.key == key; }));
  }
  bool repeats = false;
  for (size_t r = 0; r < row_ids.size(); ++r) {
    const uint32_t first = first_row(row_ids[r]);
    repeats = repeats || first != r;
    // Only the first row of an id is joined to a link.
    if (first != r) RC_ASSERT(ix.link_of_row[r] == kNoRow);
  }
  RC_ASSERT(ix.canonical_row.empty() == !repeats);
  for (size_t r = 0; r < ix.canonical_row.size(); ++r) {
    RC_ASSERT(ix.canonical_row[r] == first_row(row_ids[r]));
  }
  int64_t user_links = 0;
  for (size_t i = 0; i < links.size(); ++i) {
    const bool user = links[i].type == EntityType::kUser;
    user_links += user ? 1 : 0;
    RC_ASSERT(ix.row_of_link[i] == (user ? first_row(links[i].id) : kNoRow));
  }
  RC_ASSERT(ix.managed_users == user_links);
}

}  // namespace
}  // namespace idsync::sync
