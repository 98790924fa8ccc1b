// Planning groups: matching (links, external id among our own kind, name),
// creates and renames, memberships in chunks, and deletes of groups gone
// from the source.
#include <algorithm>
#include <set>

#include "planner.h"

namespace idsync::sync {
namespace {

template <class Views>
void SortUnique(Views* v) {
  if (!std::is_sorted(v->begin(), v->end())) std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

void Planner::PlanGroups() {
  std::vector<const DesiredGroup*> groups;
  for (const auto& g : source_.groups) groups.push_back(&g);
  std::sort(groups.begin(), groups.end(),
            [](const DesiredGroup* a, const DesiredGroup* b) { return a->key < b->key; });
  std::set<std::string, std::less<>> desired_keys;
  std::set<std::string> claimed;
  for (const DesiredGroup* g : groups) {
    desired_keys.insert(g->key);
    const IdaasGroup* existing = nullptr;
    bool adopted = false;
    std::string stale_reason;
    const LinkView* link = nullptr;
    if (auto l = group_link_by_key_.find(g->key); l != group_link_by_key_.end()) {
      link = l->second;
      auto it = group_by_id_.find(link->idaas_id);
      if (it != group_by_id_.end()) {
        existing = it->second;
      } else {
        stale_reason = "the linked group " + std::string(link->idaas_id) + " no longer exists in IDaaS";
      }
    }
    if (existing == nullptr) {
      std::vector<const IdaasGroup*> candidates, foreign;
      for (const auto& c : cached_.groups) {
        if (c.external_id != g->key || HasNoAnchor(c.external_id, c.id)) continue;
        (OwnKind(c.source_type, c.source_id) ? candidates : foreign).push_back(&c);
      }
      if (!foreign.empty()) {
        AddConflict(Conflict::Kind::kForeignSource, EntityType::kGroup, g->key, {foreign[0]->id},
                    "group " + foreign[0]->id + " of source " + foreign[0]->source_type + "/" +
                        foreign[0]->source_id + " carries this group's key as its external id; "
                        "idsync adopts only its own directory's objects and never writes "
                        "another source's: give one of them another key",
                    g->origin);
        continue;
      }
      if (candidates.empty()) {
        for (const auto& c : cached_.groups) {
          if (c.name == g->name && HasNoAnchor(c.external_id, c.id) &&
              OwnKind(c.source_type, c.source_id) && !group_link_by_id_.count(c.id)) {
            candidates.push_back(&c);
          }
        }
      }
      if (candidates.size() > 1 ||
          (candidates.size() == 1 && !claimed.insert(candidates[0]->id).second)) {
        std::vector<std::string> ids;
        for (auto* c : candidates) ids.push_back(c->id);
        AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kGroup, g->key, ids,
                    "group '" + g->name +
                        "' matches more than one existing group, or one "
                        "group matches several source groups",
                    g->origin);
        continue;
      }
      if (candidates.size() == 1) {
        auto l = group_link_by_id_.find(candidates[0]->id);
        if (l != group_link_by_id_.end() && l->second->source_key != g->key) {
          AddConflict(Conflict::Kind::kLinkedElsewhere, EntityType::kGroup, g->key,
                      {candidates[0]->id},
                      "group " + candidates[0]->id + " is already linked to source key '" +
                          std::string(l->second->source_key) + "'",
                      g->origin);
          continue;
        }
        existing = candidates[0];
        adopted = true;
      }
    }

    ObjectRef ref{g->key, existing ? existing->id : ""};
    if (existing == nullptr) {
      Operation op =
          MakeOp(OpKind::kGroupCreate, Phase::kGroupUpsert, EntityType::kGroup, ref, g->name);
      op.origin = g->origin;
      op.reason = stale_reason;
      op.changes.push_back({"name", "", g->name});
      Emit(std::move(op));
    } else {
      bool owned = link != nullptr && link->ownership == Ownership::kCreated;
      if (!scope_groups_.count(existing->id) && !owned) {
        Operation op =
            MakeOp(OpKind::kGroupPatch, Phase::kGroupUpsert, EntityType::kGroup, ref, g->name);
        op.origin = g->origin;
        Skip(std::move(op),
             "out of scope: group " + existing->id + " is not in the provisioning scope");
        continue;
      }
      live_group_ids_.insert(existing->id);
      if (adopted) {
        Operation op =
            MakeOp(OpKind::kAdopt, Phase::kGroupUpsert, EntityType::kGroup, ref, g->name);
        op.origin = g->origin;
        op.reason =
            existing->external_id == g->key ? "matched by external id" : "matched by name";
        Emit(std::move(op));
      }
      if (existing->name != g->name) {
        Operation op =
            MakeOp(OpKind::kGroupPatch, Phase::kGroupUpsert, EntityType::kGroup, ref, g->name);
        op.origin = g->origin;
        op.changes.push_back({"name", existing->name, g->name});
        Emit(std::move(op));
      }
    }
    PlanMembers(*g, ref, existing);
  }
  PlanMissingGroups(desired_keys);
}

void Planner::PlanMissingGroups(const std::set<std::string, std::less<>>& desired_keys) {
  std::vector<const LinkView*> missing;
  for (const auto& link : other_links_) {
    if (link.type == EntityType::kGroup && !desired_keys.count(link.source_key) &&
        !Present(EntityType::kGroup, link.source_key)) {
      missing.push_back(&link);
    }
  }
  std::sort(missing.begin(), missing.end(),
            [](const LinkView* a, const LinkView* b) { return a->source_key < b->source_key; });
  for (const LinkView* link : missing) {
    auto it = group_by_id_.find(link->idaas_id);
    if (it == group_by_id_.end() || live_group_ids_.count(link->idaas_id)) continue;
    const std::string id(link->idaas_id);
    Operation op = MakeOp(OpKind::kGroupDelete, Phase::kGroupDelete, EntityType::kGroup,
                          {std::string(link->source_key), id}, it->second->name);
    op.reason = "missing from the source";
    if (!scope_groups_.count(link->idaas_id) && link->ownership != Ownership::kCreated) {
      Skip(std::move(op), "out of scope: group " + id + " is not in the provisioning scope");
      continue;
    }
    Emit(std::move(op));
  }
}

// Members the group's record names are kept, written or not this run (a
// conflicted or skipped record still names its person). A current member
// idsync manages is removed only when the group's record does not name it
// and the member's own record was read: a rejected record may be the one
// that named its groups.
void Planner::PlanMembers(const DesiredGroup& g, const ObjectRef& group,
                          const IdaasGroup* existing) {
  // Rows are compared, not ids: this group's current and wanted member rows
  // get a stamp no other group uses. Ids of users outside the table (rare)
  // are compared as strings.
  const UserTable& users = cached_.users;
  if (current_mark_.size() != users.size()) {
    current_mark_.assign(users.size(), 0);
    wanted_mark_.assign(users.size(), 0);
  }
  const uint32_t stamp = ++member_stamp_;
  std::vector<uint32_t> current_rows;
  std::vector<std::string_view> current_external;  // sorted, unique
  auto add_current = [&](size_t row) {
    if (!canonical_row_.empty()) row = canonical_row_[row];
    if (current_mark_[row] == stamp) return;
    current_mark_[row] = stamp;
    current_rows.push_back(static_cast<uint32_t>(row));
  };
  if (existing) {
    const size_t gi = static_cast<size_t>(existing - cached_.groups.data());
    for (uint32_t ref : cached_.members.Refs(gi)) {
      if (!MemberTable::IsExternal(ref)) {
        add_current(ref);
        continue;
      }
      std::string_view id = cached_.members.External(ref);
      if (const uint32_t row = RowOfId(id); row != kNoRow) {
        add_current(row);
      } else {
        current_external.push_back(id);
      }
    }
    SortUnique(&current_external);
  }
  ViewSet wanted_external;
  auto want_id = [&](std::string_view id) {
    if (const uint32_t row = RowOfId(id); row != kNoRow) {
      wanted_mark_[row] = stamp;
    } else {
      wanted_external.insert(id);
    }
  };
  std::vector<ObjectRef> add;
  auto plan_key = [&](std::string_view key, uint32_t d) {
    const uint32_t ref = d == kNoRow ? kNoRef : ref_row_[d];
    if (ref == kNoRef) {
      // Not written this run (rejected, conflicted, skipped): keep what it has.
      if (const auto l = UserLinkByKey(key)) want_id(l->idaas_id);
      return;
    }
    if (ref == kCreatedRef) {
      add.push_back(ObjectRef{std::string(key), ""});
      return;
    }
    wanted_mark_[ref] = stamp;
    if (current_mark_[ref] != stamp) {
      add.push_back(ObjectRef{std::string(key), std::string(users.id(ref))});
    }
  };
  // Connectors hand member keys over sorted and unique; sort a copy only if not.
  const std::vector<uint32_t>& desired =
      member_desired_[static_cast<size_t>(&g - source_.groups.data())];
  // MembersDesired filled in exactly the groups whose keys are sorted and
  // unique: no second scan to tell.
  if (desired.size() == g.member_keys.size()) {
    size_t i = 0;
    for (std::string_view key : g.member_keys) plan_key(key, desired[i++]);
  } else {
    std::vector<std::string_view> keys(g.member_keys.begin(), g.member_keys.end());
    SortUnique(&keys);
    for (std::string_view key : keys) plan_key(key, DesiredIndexOf(key));
  }

  // Members idsync does not manage were added by hand; leave them.
  std::vector<ObjectRef> remove;
  int64_t managed = 0;
  // A managed current member (its link's source key) that is not wanted.
  auto unwanted = [&](std::string_view source_key, std::string_view id) {
    if (rejected_keys_[static_cast<int>(EntityType::kUser)].count(std::string(source_key))) {
      return;
    }
    remove.push_back(ObjectRef{std::string(source_key), std::string(id)});
  };
  for (uint32_t row : current_rows) {
    const uint32_t link = link_of_row_[row];
    if (link == kNoRow) continue;
    ++managed;
    if (wanted_mark_[row] != stamp) unwanted(cached_.links.source_key(link), users.id(row));
  }
  for (std::string_view id : current_external) {
    const auto link = UserLinkById(id);
    if (!link) continue;
    ++managed;
    if (!wanted_external.contains(id)) unwanted(link->source_key, id);
  }
  // In id order, as the group lists its members.
  std::sort(remove.begin(), remove.end(),
            [](const ObjectRef& a, const ObjectRef& b) { return a.id < b.id; });
  facts_.group_managed_members[g.key] = managed;
  facts_.managed_memberships += managed;
  EmitChunks(OpKind::kGroupAddMembers, Phase::kMembershipAdd, g, group, add);
  EmitChunks(OpKind::kGroupRemoveMembers, Phase::kMembershipRemove, g, group, remove);
}

void Planner::EmitChunks(OpKind kind, Phase phase, const DesiredGroup& g, const ObjectRef& group,
                         const std::vector<ObjectRef>& refs) {
  for (size_t start = 0, n = 0; start < refs.size(); start += kMembershipChunk, ++n) {
    Operation op = MakeOp(kind, phase, EntityType::kGroup, group, g.name);
    // Two appends, not `":" + to_string(n)`: GCC 12 at -O3 warns (-Wrestrict, a known false
    // positive) on that temporary, and the Release build treats warnings as errors.
    op.id += ':';
    op.id += std::to_string(n);
    op.origin = g.origin;
    if (kind == OpKind::kGroupRemoveMembers) op.reason = "not a member in the source";
    size_t end = std::min(refs.size(), start + kMembershipChunk);
    op.refs.assign(refs.begin() + static_cast<std::ptrdiff_t>(start),
                   refs.begin() + static_cast<std::ptrdiff_t>(end));
    Emit(std::move(op));
  }
}

}  // namespace idsync::sync
