// sync::MirrorUpdate: a state edit of the mirror and links as a value. The
// executor builds it; the store applies it all-or-nothing (store::MirrorUpdate
// is this type, so nothing is copied between them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "idsync/sync/state.h"

namespace idsync::sync {

// Deletes are applied before upserts, memberships after both.
struct MirrorUpdate {
  std::vector<IdaasUser> upsert_users;
  std::vector<std::string> delete_user_ids;  // also drops their memberships
  std::vector<IdaasOu> upsert_ous;
  std::vector<std::string> delete_ou_ids;
  // Upserting a group replaces its member list with member_ids.
  std::vector<IdaasGroup> upsert_groups;
  std::vector<std::string> delete_group_ids;
  struct Members {
    std::string group_id;
    std::vector<std::string> user_ids;
  };
  std::vector<Members> add_members;     // group must be in the mirror
  std::vector<Members> remove_members;  // absent members are ignored
  // Upsert by (type, source_key). Linking one IDaaS object to two source keys
  // is a constraint violation.
  std::vector<Link> upsert_links;
  struct LinkKey {
    EntityType type = EntityType::kUser;
    std::string source_key;
  };
  std::vector<LinkKey> delete_links;
  struct LinkFlags {
    EntityType type = EntityType::kUser;
    std::string source_key;
    std::optional<int64_t> missing_since_ms;  // unset: unchanged
    std::optional<bool> disabled_by_idsync;   // unset: unchanged
  };
  std::vector<LinkFlags> set_link_flags;  // the link must exist

  bool empty() const {
    return upsert_users.empty() && delete_user_ids.empty() && upsert_ous.empty() &&
           delete_ou_ids.empty() && upsert_groups.empty() && delete_group_ids.empty() &&
           add_members.empty() && remove_members.empty() && upsert_links.empty() &&
           delete_links.empty() && set_link_flags.empty();
  }
};

}  // namespace idsync::sync
