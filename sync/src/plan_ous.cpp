// Planning departments: creates parents first, adoption of our own kind,
// renames, and deletes of OUs gone from the source, children first, once
// they are empty.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "planner.h"

namespace idsync::sync {
void Planner::PlanOus() {
  // Users may be placed directly in target.root_ou.
  ou_ref_[kRootOuKey] = ObjectRef{"", policy_.root_ou_id};
  // Depth of each desired OU; a parent missing from the source or a cycle
  // makes the OU (and its subtree) unavailable.
  std::vector<std::pair<int, const DesiredOu*>> order;
  for (const auto& ou : source_.ous) {
    int depth = 0;
    const DesiredOu* cur = &ou;
    std::set<std::string> seen;
    bool broken = false;
    while (!cur->parent_key.empty()) {
      if (!seen.insert(cur->key).second) {
        broken = true;
        break;
      }
      auto it = desired_ou_.find(cur->parent_key);
      if (it == desired_ou_.end()) {
        broken = true;
        break;
      }
      cur = it->second;
      ++depth;
    }
    if (broken) {
      ou_unavailable_.insert(ou.key);
      Operation op =
          MakeOp(OpKind::kOuCreate, Phase::kOuCreate, EntityType::kOu, {ou.key, ""}, ou.name);
      op.origin = ou.origin;
      Skip(std::move(op), "parent OU '" + ou.parent_key +
                              "' is not in the source tree, or the tree has a cycle");
      continue;
    }
    order.emplace_back(depth, &ou);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second->key) < std::tie(b.first, b.second->key);
  });

  std::set<std::string> claimed;  // cached OU ids taken by a source OU
  for (const auto& [depth, ou] : order) {
    // The parent as IDaaS will have it: root_ou, an existing OU, or one this
    // plan creates.
    ObjectRef parent{"", policy_.root_ou_id};
    if (!ou->parent_key.empty()) {
      if (ou_unavailable_.count(ou->parent_key)) {
        ou_unavailable_.insert(ou->key);
        Operation op = MakeOp(OpKind::kOuCreate, Phase::kOuCreate, EntityType::kOu,
                              {ou->key, ""}, ou->name);
        op.origin = ou->origin;
        Skip(std::move(op), "parent OU '" + ou->parent_key + "' is not available");
        continue;
      }
      parent = ou_ref_.at(ou->parent_key);
    }

    const IdaasOu* existing = nullptr;
    bool adopted = false;
    std::string stale_reason;
    if (auto link = ou_link_by_key_.find(ou->key); link != ou_link_by_key_.end()) {
      auto it = ou_by_id_.find(link->second->idaas_id);
      if (it != ou_by_id_.end()) {
        existing = it->second;
      } else {
        stale_reason = "the linked OU " + std::string(link->second->idaas_id) +
                       " no longer exists in IDaaS";
      }
    }
    if (existing == nullptr) {
      std::vector<const IdaasOu*> candidates, foreign;
      for (const auto& c : cached_.ous) {
        if (c.external_id != ou->key || HasNoAnchor(c.external_id, c.id)) continue;
        (OwnKind(c.source_type, c.source_id) ? candidates : foreign).push_back(&c);
      }
      if (!foreign.empty()) {
        std::vector<std::string> ids;
        for (auto* c : foreign) ids.push_back(c->id);
        AddConflict(Conflict::Kind::kForeignSource, EntityType::kOu, ou->key, ids,
                    "OU " + ids[0] + " of source " + foreign[0]->source_type + "/" +
                        foreign[0]->source_id + " carries this department's key as its "
                        "external id; idsync adopts only its own directory's objects and never "
                        "writes another source's: give one of them another key",
                    ou->origin);
        ou_unavailable_.insert(ou->key);
        continue;
      }
      if (candidates.empty() && !parent.id.empty()) {
        // Adopt a hand-made department with the same name under the same
        // parent, as long as nothing anchors it elsewhere.
        auto it = children_.find(parent.id);
        if (it != children_.end()) {
          for (const IdaasOu* c : it->second) {
            if (c->name == ou->name && HasNoAnchor(c->external_id, c->id) &&
                OwnKind(c->source_type, c->source_id) && !ou_link_by_id_.count(c->id)) {
              candidates.push_back(c);
            }
          }
        }
      }
      if (candidates.size() > 1) {
        std::vector<std::string> ids;
        for (auto* c : candidates) ids.push_back(c->id);
        AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kOu, ou->key, ids,
                    "department '" + ou->name + "' matches " + std::to_string(ids.size()) +
                        " existing OUs; rename or remove the extra ones in IDaaS",
                    ou->origin);
        ou_unavailable_.insert(ou->key);
        continue;
      }
      if (candidates.size() == 1) {
        const IdaasOu* c = candidates[0];
        if (auto l = ou_link_by_id_.find(c->id);
            l != ou_link_by_id_.end() && l->second->source_key != ou->key) {
          AddConflict(Conflict::Kind::kLinkedElsewhere, EntityType::kOu, ou->key, {c->id},
                      "OU " + c->id + " is already linked to source key '" +
                          std::string(l->second->source_key) + "'",
                      ou->origin);
          ou_unavailable_.insert(ou->key);
          continue;
        }
        if (!claimed.insert(c->id).second) {
          AddConflict(Conflict::Kind::kAmbiguousMatch, EntityType::kOu, ou->key, {c->id},
                      "OU " + c->id + " matches two source departments", ou->origin);
          ou_unavailable_.insert(ou->key);
          continue;
        }
        existing = c;
        adopted = true;
      }
    }

    if (existing == nullptr) {
      Operation op = MakeOp(OpKind::kOuCreate, Phase::kOuCreate, EntityType::kOu,
                            {ou->key, ""}, ou->name);
      op.wave = depth;
      op.ou = parent;
      op.origin = ou->origin;
      op.reason = stale_reason;
      op.changes.push_back({"name", "", ou->name});
      if (!ou->description.empty()) op.changes.push_back({"description", "", ou->description});
      if (!root_in_scope_) {
        ou_unavailable_.insert(ou->key);
        Skip(std::move(op), "out of scope: target.root_ou " + policy_.root_ou_id +
                                " is not in the provisioning scope");
        continue;
      }
      ou_ref_[ou->key] = ObjectRef{ou->key, ""};
      Emit(std::move(op));
      continue;
    }

    ou_ref_[ou->key] = ObjectRef{ou->key, existing->id};
    if (!OuInScope(existing->id)) {
      Operation op = MakeOp(OpKind::kOuPatch, Phase::kOuCreate, EntityType::kOu,
                            {ou->key, existing->id}, ou->name);
      op.origin = ou->origin;
      Skip(std::move(op),
           "out of scope: OU " + existing->id + " is outside the provisioning scope");
      continue;
    }
    if (adopted) {
      Operation op = MakeOp(OpKind::kAdopt, Phase::kOuCreate, EntityType::kOu,
                            {ou->key, existing->id}, ou->name);
      op.origin = ou->origin;
      op.reason = existing->external_id == ou->key ? "matched by external id"
                                                   : "matched by name under the same parent";
      Emit(std::move(op));
    }
    if (existing->parent_id != parent.id && policy_.allow_ou_moves) {
      // Ordered and checked with the other moves once every OU is planned.
      move_candidates_.push_back({ou, existing, parent});
    } else if (existing->parent_id != parent.id) {
      // The Developer API cannot move an OU: a changed parent is for a
      // person to fix.
      std::string want = parent.id.empty() ? "the new OU '" + parent.key + "'" : parent.id;
      AddConflict(Conflict::Kind::kOuReparent, EntityType::kOu, ou->key, {existing->id},
                  "department '" + ou->name + "' moved in the source: IDaaS has it under " +
                      existing->parent_id + ", the source under " + want +
                      ". The Developer API cannot move an OU: move it in the IDaaS "
                      "console (or delete it there), then run idsync again",
                  ou->origin);
    }
    Operation patch = MakeOp(OpKind::kOuPatch, Phase::kOuCreate, EntityType::kOu,
                             {ou->key, existing->id}, ou->name);
    patch.origin = ou->origin;
    if (existing->name != ou->name) patch.changes.push_back({"name", existing->name, ou->name});
    if (!ou->description.empty() && existing->description != ou->description) {
      patch.changes.push_back({"description", existing->description, ou->description});
    }
    if (!patch.changes.empty()) Emit(std::move(patch));
  }
}

void Planner::PlanOuDeletes() {
  std::set<std::string, std::less<>> leaving_users;  // ids deleted by this plan
  for (const auto& op : ops_) {
    if (op.kind == OpKind::kUserDelete) leaving_users.insert(op.target.id);
  }
  std::vector<const LinkView*> missing;
  for (const auto& link : other_links_) {
    // A rejected department is present: kept, like its people.
    if (link.type == EntityType::kOu && !Present(EntityType::kOu, link.source_key) &&
        ou_by_id_.count(link.idaas_id)) {
      missing.push_back(&link);
    }
  }
  // The member count below walks every cached user: skip it when no OU is
  // going away, as in almost every cycle.
  if (missing.empty()) return;
  std::set<std::string, std::less<>> deleting;
  for (const LinkView* l : missing) deleting.emplace(l->idaas_id);
  // Depth in the cached tree, for children-first order.
  auto depth_of = [&](std::string_view id) {
    int d = 0;
    std::string cur(id);
    std::set<std::string> seen;
    while (true) {
      auto it = ou_by_id_.find(cur);
      if (it == ou_by_id_.end() || it->second->parent_id.empty() || !seen.insert(cur).second) {
        break;
      }
      cur = it->second->parent_id;
      ++d;
    }
    return d;
  };
  std::map<std::string, size_t, std::less<>> members;  // OU id -> members staying
  const UserTable& t = cached_.users;
  for (size_t r = 0; r < t.size(); ++r) {
    if (leaving_users.count(t.id(r))) continue;
    for (auto ou : t.ou_ids(r)) {
      if (deleting.count(ou)) ++members[std::string(ou)];
    }
  }
  // Users this plan moves into or out of OUs change the count; moves out of
  // a departing OU happen before deletes, so count them as gone.
  for (const auto& op : ops_) {
    if (op.kind == OpKind::kUserSetPrimaryOu) {
      if (const uint32_t row = RowOfId(op.target.id); row != kNoRow) {
        std::string old(t.primary_ou_id(row));
        if (members.count(old) && members[old] > 0) --members[old];
      }
    } else if (op.kind == OpKind::kUserRemoveOus) {
      for (const auto& ref : op.refs) {
        if (members.count(ref.id) && members[ref.id] > 0) --members[ref.id];
      }
    }
  }
  int max_depth = 0;
  std::vector<std::pair<int, const LinkView*>> order;
  for (const LinkView* l : missing) {
    int d = depth_of(l->idaas_id);
    max_depth = std::max(max_depth, d);
    order.emplace_back(d, l);
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::tie(b.first, a.second->source_key) < std::tie(a.first, b.second->source_key);
  });
  std::set<std::string, std::less<>> blocked;  // OUs kept, so their parents are kept too
  for (const auto& [d, link] : order) {
    const IdaasOu* ou = ou_by_id_.at(link->idaas_id);
    const std::string key(link->source_key), id(link->idaas_id);
    Operation op = MakeOp(OpKind::kOuDelete, Phase::kOuDelete, EntityType::kOu, {key, id},
                          ou->name);
    op.wave = max_depth - d;
    op.reason = "missing from the source";
    if (!OuInScope(id)) {
      blocked.insert(id);
      Skip(std::move(op), "out of scope: OU " + id + " is outside the provisioning scope");
      continue;
    }
    size_t staying = members.count(id) ? members[id] : 0;
    size_t kids = 0;
    if (auto it = children_.find(id); it != children_.end()) {
      for (const IdaasOu* c : it->second) {
        if (!deleting.count(c->id) || blocked.count(c->id)) ++kids;
      }
    }
    if (staying > 0 || kids > 0) {
      blocked.insert(id);
      std::string why = "kept for now: the OU still has ";
      if (staying > 0) why += std::to_string(staying) + " member(s)";
      if (staying > 0 && kids > 0) why += " and ";
      if (kids > 0) why += std::to_string(kids) + " child OU(s)";
      Skip(std::move(op), why + "; it is deleted once they are gone");
      continue;
    }
    Emit(std::move(op));
  }
}

}  // namespace idsync::sync
