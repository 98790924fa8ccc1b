#include "planner.h"

#include <algorithm>
#include <future>
#include <tuple>

namespace idsync::sync {

Planner::Planner(const SourceSnapshot& source, const CachedIndex& index,
                 const ProvisioningScope& scope, const Policy& policy, int64_t now_ms)
    : source_(source),
      cached_(index.state()),
      scope_(scope),
      policy_(policy),
      now_ms_(now_ms),
      ix_(index.tables()) {
  for (UserField f : source.mapped_fields) mapped_.insert(f);
}

Plan Planner::Run() {
  // The cycle has one core idle while it plans: look-ups that only read the
  // inputs and the indexes already built run on a second thread, each
  // filling a table that a later step reads instead of looking up.
  auto links = std::async(std::launch::async, [this] { return LinksOfDesired(); });
  IndexSource();
  auto members = std::async(std::launch::async, [this] { return MembersDesired(); });
  missing_links_ = std::async(std::launch::async, [this] { return MissingUserLinks(); });
  link_of_desired_ = links.get();
  IndexCached();
  ComputeScope();
  PlanOus();
  PlanOuMoves();
  PlanUsers();
  member_desired_ = members.get();
  PlanGroups();
  ResolveProtected();
  Guards guards(source_, policy_, facts_, &plan_);
  guards.CheckDraft(&ops_);
  // OU deletes after the user and group guards, which decide who stays.
  PlanOuDeletes();
  guards.CheckOuDeletes(&ops_);
  ListUnmanaged();
  for (const auto& ou : cached_.ous) plan_.ou_names[ou.id] = ou.name;
  for (const auto& ou : source_.ous) plan_.ou_names[ou.key] = ou.name;
  Finish();
  return std::move(plan_);
}

void Planner::IndexSource() {
  plan_.invalid = source_.rejected;
  plan_.source_users = static_cast<int64_t>(source_.users.size());
  plan_.source_ous = static_cast<int64_t>(source_.ous.size());
  plan_.source_groups = static_cast<int64_t>(source_.groups.size());
  for (const auto& d : source_.rejected) {
    if (!d.key.empty()) rejected_keys_[static_cast<int>(d.entity)].insert(d.key);
  }
  const size_t n = source_.users.size();
  desired_by_key_.BuildAll(n, DesiredKeyOf{&source_.users});
  ref_row_.assign(source_.users.size(), kNoRef);
  for (const auto& ou : source_.ous) desired_ou_[ou.key] = &ou;
  for (const auto& g : source_.groups) desired_group_keys_.insert(g.key);
}

void Planner::IndexCached() {
  // The state's own indexes are built (CachedIndex); these depend on the run.
  desired_of_row_.assign(cached_.users.size(), kNoUser);
  live_user_rows_.assign(cached_.users.size(), 0);
  plan_.managed_users = ix_.managed_users;
  plan_.managed_ous = ix_.managed_ous;
  plan_.managed_groups = ix_.managed_groups;
  facts_.managed_users = plan_.managed_users;
  facts_.managed_ous = plan_.managed_ous;
  facts_.managed_groups = plan_.managed_groups;
}

std::vector<uint32_t> Planner::LinksOfDesired() const {
  std::vector<uint32_t> out(source_.users.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = user_links_by_key_.Last(source_.users.key(i), LinkKeyOf{&cached_.links});
  }
  return out;
}

std::vector<uint32_t> Planner::MissingUserLinks() const {
  const LinkTable& links = cached_.links;
  std::vector<uint32_t> missing;  // entries of the links
  for (size_t i = 0; i < links.size(); ++i) {
    const LinkView link = links[i];
    // A record that is present but was rejected (or not written) is not
    // missing: its account is left alone until the record is fixed.
    if (link.type != EntityType::kUser || Present(EntityType::kUser, link.source_key)) continue;
    missing.push_back(static_cast<uint32_t>(i));
  }
  std::sort(missing.begin(), missing.end(), [&links](uint32_t a, uint32_t b) {
    return links.source_key(a) < links.source_key(b);
  });
  return missing;
}

std::vector<std::vector<uint32_t>> Planner::MembersDesired() const {
  std::vector<std::vector<uint32_t>> out(source_.groups.size());
  for (size_t g = 0; g < out.size(); ++g) {
    const KeyList& keys = source_.groups[g].member_keys;
    if (!keys.IsSortedUnique()) continue;  // PlanMembers looks these up itself
    out[g].reserve(keys.size());
    for (std::string_view key : keys) out[g].push_back(DesiredIndexOf(key));
  }
  return out;
}

uint32_t Planner::DesiredIndexOf(std::string_view key) const {
  return desired_by_key_.Last(key, DesiredKeyOf{&source_.users});
}

std::optional<LinkView> Planner::UserLinkByKey(std::string_view key) const {
  const uint32_t i = user_links_by_key_.Last(key, LinkKeyOf{&cached_.links});
  if (i == kNoRow) return std::nullopt;
  return LinkAt(i);
}

std::optional<LinkView> Planner::UserLinkById(std::string_view id) const {
  // An account in the mirror has its link joined by row already; only links
  // to accounts outside it are indexed by id.
  if (const uint32_t row = RowOfId(id); row != kNoRow) {
    const uint32_t link = link_of_row_[row];
    if (link == kNoRow) return std::nullopt;
    return LinkAt(link);
  }
  const uint32_t i = user_links_by_id_.Last(id, LinkIdOf{&cached_.links});
  if (i == kNoRow) return std::nullopt;
  return LinkAt(i);
}

Rows Planner::RowsByExternalId(std::string_view key) const {
  std::lock_guard lock(lookups_mu_);
  const UserTable& t = cached_.users;
  return user_by_external_.Find(key, t.size(), CachedAnchorOf{&t});
}

void Planner::ComputeScope() {
  std::vector<std::string_view> stack(scope_.ou_ids.begin(), scope_.ou_ids.end());
  while (!stack.empty()) {
    std::string_view id = stack.back();
    stack.pop_back();
    if (!ou_in_scope_.insert(id).second) continue;
    auto it = children_.find(id);
    if (it == children_.end()) continue;
    for (const IdaasOu* child : it->second) stack.push_back(child->id);
  }
  scope_groups_.insert(scope_.group_ids.begin(), scope_.group_ids.end());
  root_in_scope_ = ou_in_scope_.contains(policy_.root_ou_id);
}

bool Planner::PrimaryOuInScope(size_t row) {
  const UserTable& t = cached_.users;
  const uint32_t i = t.primary_ou_index(row);
  if (primary_ou_in_scope_.size() <= i) primary_ou_in_scope_.resize(t.shared_strings(), 0);
  uint8_t& known = primary_ou_in_scope_[i];
  if (known == 0) known = OuInScope(t.primary_ou_id(row)) ? 1 : 2;
  return known == 1;
}

bool Planner::OwnKind(std::string_view source_type, std::string_view source_id) const {
  return source_type == kOwnSourceType &&
         (policy_.instance_id.empty() || source_id == policy_.instance_id);
}

bool Planner::Present(EntityType type, std::string_view key) const {
  const auto& rejected = rejected_keys_[static_cast<int>(type)];
  // Called once per link (a million per plan at scale): no key copy unless
  // some record of this type was rejected.
  if (!rejected.empty() && rejected.count(std::string(key))) return true;
  switch (type) {
    case EntityType::kUser: return DesiredIndexOf(key) != kNoRow;
    case EntityType::kOu: return desired_ou_.count(std::string(key)) > 0;
    case EntityType::kGroup: return desired_group_keys_.contains(key);
  }
  return false;
}

thread_local Planner::Sink* Planner::sink_ = nullptr;

void Planner::Skip(Operation op, std::string reason) {
  (sink_ ? sink_->skipped : plan_.skipped)
      .push_back(Skipped{std::move(op), std::move(reason), ""});
}

void Planner::AddConflict(Conflict::Kind kind, EntityType entity, std::string key,
                          std::vector<std::string> ids, std::string message, Origin origin) {
  (sink_ ? sink_->conflicts : plan_.conflicts)
      .push_back(Conflict{kind, entity, std::move(key), std::move(ids), std::move(message),
                          std::move(origin)});
}

Operation Planner::MakeOp(OpKind kind, Phase phase, EntityType entity, ObjectRef target,
                          std::string display) {
  Operation op;
  op.kind = kind;
  op.phase = phase;
  op.entity = entity;
  op.target = std::move(target);
  op.display = std::move(display);
  // Ids are unique across entity types: a user and an OU may share a key,
  // and adoption is the one kind both can have.
  op.id = std::string(OpKindName(kind)) +
          (kind == OpKind::kAdopt ? std::string(".") + EntityTypeName(entity) : "") + ":" +
          (op.target.key.empty() ? op.target.id : op.target.key);
  return op;
}

// policy.protected_users names accounts: by current IDaaS username, by id,
// or by source key (linked, or matched in this run). A rename in the source
// does not lift the protection, since the account keeps its current name
// until the plan runs.
void Planner::ResolveProtected() {
  const UserTable& t = cached_.users;
  for (const auto& entry : policy_.protected_users) {
    if (entry.empty()) continue;
    for (size_t r : RowsWith(UserField::kUsername, entry)) facts_.protected_ids.emplace(t.id(r));
    if (RowOfId(entry) != kNoRow) facts_.protected_ids.insert(entry);
    if (const auto l = UserLinkByKey(entry)) facts_.protected_ids.emplace(l->idaas_id);
    if (const uint32_t d = DesiredIndexOf(entry); d != kNoRow) {
      uint32_t ref = ref_row_[d];
      if (ref != kNoRef && ref != kCreatedRef) facts_.protected_ids.emplace(t.id(ref));
    }
  }
}

void Planner::ListUnmanaged() {
  const UserTable& t = cached_.users;
  for (size_t r = 0; r < t.size(); ++r) {
    std::string_view id = t.id(r);
    if (live_user_rows_[r] || UserLinkById(id).has_value()) continue;
    plan_.unmanaged.push_back({EntityType::kUser, std::string(id), std::string(t.username(r))});
  }
  std::set<std::string> live_ous;
  for (const auto& [key, ref] : ou_ref_) {
    if (!ref.id.empty()) live_ous.insert(ref.id);
  }
  std::set<std::string> scope_roots(scope_.ou_ids.begin(), scope_.ou_ids.end());
  for (const auto& ou : cached_.ous) {
    if (ou_link_by_id_.count(ou.id) || live_ous.count(ou.id) || ou.id == policy_.root_ou_id ||
        scope_roots.count(ou.id)) {
      continue;
    }
    plan_.unmanaged.push_back({EntityType::kOu, ou.id, ou.name});
  }
  for (const auto& g : cached_.groups) {
    if (group_link_by_id_.count(g.id) || live_group_ids_.count(g.id)) continue;
    plan_.unmanaged.push_back({EntityType::kGroup, g.id, g.name});
  }
  std::sort(plan_.unmanaged.begin(), plan_.unmanaged.end(),
            [](const Unmanaged& a, const Unmanaged& b) {
              return std::tie(a.entity, a.id) < std::tie(b.entity, b.id);
            });
}

void Planner::Finish() {
  auto order = [](const Operation& a, const Operation& b) {
    return std::tie(a.phase, a.wave, a.target.key, a.target.id, a.id) <
           std::tie(b.phase, b.wave, b.target.key, b.target.id, b.id);
  };
  std::sort(ops_.begin(), ops_.end(), order);
  plan_.operations = std::move(ops_);
  std::stable_sort(plan_.skipped.begin(), plan_.skipped.end(),
                   [&](const Skipped& a, const Skipped& b) { return order(a.op, b.op); });
  std::stable_sort(plan_.conflicts.begin(), plan_.conflicts.end(),
                   [](const Conflict& a, const Conflict& b) {
                     return std::tie(a.entity, a.key, a.kind) < std::tie(b.entity, b.key, b.kind);
                   });
}

}  // namespace idsync::sync
