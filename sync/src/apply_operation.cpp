// One operation of a run: the request for its kind, the ids it refers to
// (objects created earlier in the run included) and the mirror update that
// records what IDaaS now has.
#include <algorithm>
#include <iterator>
#include <set>

#include "create_or_find.h"
#include "executor_impl.h"

namespace idsync::sync {
namespace asio = boost::asio;

std::optional<std::string> ChangeOf(const Operation& op, const std::string& field) {
  for (const auto& c : op.changes) {
    if (c.field == field) return c.new_value;
  }
  return std::nullopt;
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

void RecordGone(EntityType type, const std::string& id, MirrorUpdate* update) {
  switch (type) {
    case EntityType::kUser:
      update->delete_user_ids.push_back(id);
      break;
    case EntityType::kOu:
      update->delete_ou_ids.push_back(id);
      break;
    case EntityType::kGroup:
      update->delete_group_ids.push_back(id);
      break;
  }
}

Outcome Outcome::Failed(const base::Error& e) {
  Outcome o;
  o.error = e.message;
  o.attempts = FactsOf(e).attempts;
  return o;
}

Outcome Outcome::Failed(std::string why) {
  Outcome o;
  o.error = std::move(why);
  return o;
}

Outcome Outcome::InDoubt(Outcome o) {
  o.in_doubt = true;
  return o;
}

Outcome Outcome::Ok(int attempts) {
  Outcome o;
  o.ok = true;
  o.attempts = attempts;
  return o;
}

// ---- key/id resolution --------------------------------------------------

void Executor::Impl::Remember(EntityType type, const ObjectRef& ref) {
  if (!ref.key.empty() && !ref.id.empty()) ids_.emplace(std::make_pair(type, ref.key), ref.id);
}

std::optional<std::string> Executor::Impl::Resolve(EntityType type, const ObjectRef& ref,
                                                   std::string* why) {
  if (!ref.id.empty()) return ref.id;
  auto it = ids_.find({type, ref.key});
  if (it != ids_.end()) return it->second;
  *why = std::string("not sent: ") + EntityTypeName(type) + " '" + ref.key + "' " +
         (failed_keys_.count({type, ref.key}) ? "could not be created" : "does not exist yet");
  return std::nullopt;
}

// ---- current state of the objects this run touches ---------------------

std::optional<IdaasUser> Executor::Impl::CurrentUser(const std::string& id) {
  if (auto it = users_.find(id); it != users_.end()) return it->second;
  if (auto it = user_row_.find(id); it != user_row_.end()) return cached_.users.Get(it->second);
  return std::nullopt;
}

std::optional<IdaasOu> Executor::Impl::CurrentOu(const std::string& id) {
  if (auto it = ous_.find(id); it != ous_.end()) return it->second;
  return std::nullopt;
}

std::optional<IdaasGroup> Executor::Impl::CurrentGroup(const std::string& id) {
  if (auto it = groups_.find(id); it != groups_.end()) return it->second;
  return std::nullopt;
}

void Executor::Impl::ApplyToCurrent(const MirrorUpdate& u) {
  for (const auto& id : u.delete_user_ids) users_.erase(id);
  for (const auto& user : u.upsert_users) users_[user.id] = user;
  for (const auto& id : u.delete_ou_ids) ous_.erase(id);
  for (const auto& ou : u.upsert_ous) ous_[ou.id] = ou;
  for (const auto& id : u.delete_group_ids) groups_.erase(id);
  for (const auto& g : u.upsert_groups) groups_[g.id] = g;
  for (const auto& m : u.add_members) {
    auto it = groups_.find(m.group_id);
    if (it == groups_.end()) continue;
    // The list is kept sorted: merge rather than re-sort it, since a large
    // group grows by one chunk per operation.
    auto& ids = it->second.member_ids;
    std::vector<std::string> added = m.user_ids;
    SortUnique(added);
    const auto mid = static_cast<std::ptrdiff_t>(ids.size());
    ids.insert(ids.end(), std::make_move_iterator(added.begin()),
               std::make_move_iterator(added.end()));
    std::inplace_merge(ids.begin(), ids.begin() + mid, ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  for (const auto& m : u.remove_members) {
    auto it = groups_.find(m.group_id);
    if (it == groups_.end()) continue;
    auto& ids = it->second.member_ids;
    std::set<std::string> gone(m.user_ids.begin(), m.user_ids.end());
    ids.erase(std::remove_if(ids.begin(), ids.end(),
                             [&](const std::string& s) { return gone.count(s) > 0; }),
              ids.end());
  }
}

// ---- one operation ------------------------------------------------------

asio::awaitable<Outcome> Executor::Impl::Execute(const Operation& op, MirrorUpdate* update) {
  switch (op.kind) {
    case OpKind::kOuCreate:
      co_return co_await CreateOu(op, update);
    case OpKind::kOuMove:
      co_return co_await MoveOu(op, update);
    case OpKind::kOuPatch:
      co_return co_await PatchOu(op, update);
    case OpKind::kUserCreate:
      co_return co_await CreateUser(op, update);
    case OpKind::kUserPatch:
      co_return co_await PatchUser(op, update);
    case OpKind::kUserSetPrimaryOu:
      co_return co_await SetPrimaryOu(op, update);
    case OpKind::kUserAddOus:
    case OpKind::kUserRemoveOus:
      co_return co_await ChangeUserOus(op, update);
    case OpKind::kUserEnable:
    case OpKind::kUserDisable:
      co_return co_await EnableOrDisable(op, update);
    case OpKind::kGroupCreate:
      co_return co_await CreateGroup(op, update);
    case OpKind::kGroupPatch:
      co_return co_await PatchGroup(op, update);
    case OpKind::kGroupAddMembers:
    case OpKind::kGroupRemoveMembers:
      co_return co_await ChangeMembers(op, update);
    case OpKind::kOuDelete:
    case OpKind::kUserDelete:
    case OpKind::kGroupDelete:
      co_return co_await Delete(op, update);
    case OpKind::kAdopt: {
      update->upsert_links.push_back(
          Link{op.entity, op.target.key, op.target.id, Ownership::kAdopted, 0, false});
      co_return Outcome::Ok(0);
    }
    case OpKind::kUserMarkMissing: {
      auto since = ChangeOf(op, "missing_since");
      MirrorUpdate::LinkFlags flags{EntityType::kUser, op.target.key,
                                    since ? std::stoll(*since) : 0, std::nullopt};
      update->set_link_flags.push_back(flags);
      co_return Outcome::Ok(0);
    }
  }
  co_return Outcome::Failed("unknown operation");
}

asio::awaitable<Outcome> Executor::Impl::Delete(const Operation& op, MirrorUpdate* update) {
  const std::string& id = op.target.id;
  // Plain if/else: GCC 12 evaluates both awaited arms of a nested ?:.
  base::Status r;
  if (op.kind == OpKind::kOuDelete) {
    r = co_await remote_.DeleteOu(id);
  } else if (op.kind == OpKind::kUserDelete) {
    r = co_await remote_.DeleteUser(id);
  } else {
    r = co_await remote_.DeleteGroup(id);
  }
  // Already gone counts as done: a delete is idempotent.
  if (!r && !IsMissing(r.error())) co_return Outcome::Failed(r.error());
  RecordGone(op.entity, id, update);
  update->delete_links.push_back({op.entity, op.target.key});
  co_return Outcome::Ok();
}

// ---- organizational units -----------------------------------------------

asio::awaitable<Outcome> Executor::Impl::CreateOu(const Operation& op, MirrorUpdate* update) {
  std::string why;
  auto parent = Resolve(EntityType::kOu, op.ou, &why);
  if (!parent) co_return Outcome::Failed(why);
  NewOu req;
  req.name = ChangeOf(op, "name").value_or(op.display);
  req.parent_id = *parent;
  req.description = ChangeOf(op, "description");
  req.external_id = op.target.key;
  Outcome o = co_await CreateOrFind(
      [&] { return remote_.CreateOu(req); },
      [&] { return FindCreated(remote_, EntityType::kOu, op.target.key, req.name); });
  if (!o.ok) co_return o;
  update->upsert_ous.push_back(IdaasOu{o.created_id, req.name, req.parent_id,
                                       req.description.value_or(""), op.target.key, "build_in",
                                       options_.instance_id});
  update->upsert_links.push_back(
      Link{EntityType::kOu, op.target.key, o.created_id, Ownership::kCreated, 0, false});
  co_return o;
}

asio::awaitable<Outcome> Executor::Impl::PatchOu(const Operation& op, MirrorUpdate* update) {
  OuPatch req;
  req.name = ChangeOf(op, "name");
  req.description = ChangeOf(op, "description");
  auto r = co_await remote_.PatchOu(op.target.id, req);
  if (!r) co_return Outcome::Failed(r.error());
  if (auto ou = CurrentOu(op.target.id)) {
    if (req.name) ou->name = *req.name;
    if (req.description) ou->description = *req.description;
    update->upsert_ous.push_back(*ou);
  }
  co_return Outcome::Ok();
}

bool Executor::Impl::IsAtOrBelow(std::string id, const std::string& ancestor) {
  for (size_t steps = 0; steps <= ous_.size() && !id.empty(); ++steps) {
    if (id == ancestor) return true;
    auto ou = CurrentOu(id);
    if (!ou) return false;
    id = ou->parent_id;
  }
  return false;
}

asio::awaitable<Outcome> Executor::Impl::MoveOu(const Operation& op, MirrorUpdate* update) {
  std::string why;
  if (options_.ou_mover == nullptr) {
    co_return Outcome::Failed(
        "not sent: moving a department needs the admin API (no admin "
        "credentials configured)");
  }
  auto parent = Resolve(EntityType::kOu, op.ou, &why);
  if (!parent) co_return Outcome::Failed(why);
  const std::string& id = op.target.id;
  // The plan orders moves so that none can cycle; an earlier move that
  // failed can still leave the new parent inside this OU.
  if (IsAtOrBelow(*parent, id)) {
    co_return Outcome::Failed("not sent: the new parent " + *parent + " is inside OU " + id +
                              " now (an earlier move did not happen), so the move would make "
                              "a cycle");
  }
  auto r = co_await options_.ou_mover->Move(id, *parent);
  if (!r) {
    // The answer may have been lost after the move happened: IDaaS says
    // where the OU is. If it cannot be read either, the entry stays in
    // flight and recovery reads it before the next plan.
    auto now = co_await remote_.GetOu(id);
    if (!now) co_return Outcome::InDoubt(Outcome::Failed(r.error()));
    if (now->parent_id != *parent) co_return Outcome::Failed(r.error());
    update->upsert_ous.push_back(*now);
    co_return Outcome::Ok(FactsOf(r.error()).attempts + 1);
  }
  if (auto ou = CurrentOu(id)) {
    ou->parent_id = *parent;
    update->upsert_ous.push_back(*ou);
  }
  co_return Outcome::Ok();
}

// ---- users --------------------------------------------------------------

asio::awaitable<Outcome> Executor::Impl::CreateUser(const Operation& op, MirrorUpdate* update) {
  std::string why;
  auto primary = Resolve(EntityType::kOu, op.ou, &why);
  if (!primary) co_return Outcome::Failed(why);
  NewUser req;
  req.username = ChangeOf(op, "username").value_or(op.display);
  req.primary_ou_id = *primary;
  req.display_name = ChangeOf(op, "display_name");
  req.description = ChangeOf(op, "description");
  req.email = ChangeOf(op, "email");
  req.email_verified = req.email.has_value();
  req.phone_number = ChangeOf(op, "phone_number");
  if (req.phone_number) {
    req.phone_number_verified = true;
    req.phone_region = ChangeOf(op, "phone_region").value_or("86");
  }
  req.external_id = op.target.key;
  for (const auto& c : op.changes) {
    if (c.field.starts_with("custom."))
      req.custom_fields.emplace_back(c.field.substr(7), c.new_value);
  }
  Outcome o = co_await CreateOrFind(
      [&] { return remote_.CreateUser(req); },
      [&] { return FindCreated(remote_, EntityType::kUser, op.target.key, req.username); });
  if (!o.ok) co_return o;
  update->upsert_links.push_back(
      Link{EntityType::kUser, op.target.key, o.created_id, Ownership::kCreated, 0, false});
  if (o.existed) {
    // Made by a lost answer or an earlier run: record it as IDaaS has it.
    auto user = co_await remote_.GetUser(o.created_id);
    if (!user) co_return Outcome::Failed(user.error());
    update->upsert_users.push_back(std::move(*user));
    co_return o;
  }
  IdaasUser u;
  u.id = o.created_id;
  u.username = req.username;
  u.display_name = req.display_name.value_or("");
  u.email = req.email.value_or("");
  u.phone_number = req.phone_number.value_or("");
  u.phone_region = req.phone_region.value_or("");
  u.description = req.description.value_or("");
  u.external_id = op.target.key;
  u.source_type = "build_in";
  u.source_id = options_.instance_id;
  u.primary_ou_id = *primary;
  u.ou_ids = {*primary};
  u.enabled = true;
  for (const auto& [name, value] : req.custom_fields) u.custom_fields[name] = value;
  update->upsert_users.push_back(std::move(u));
  co_return o;
}

asio::awaitable<Outcome> Executor::Impl::PatchUser(const Operation& op, MirrorUpdate* update) {
  UserPatch req;
  req.username = ChangeOf(op, "username");
  req.display_name = ChangeOf(op, "display_name");
  req.email = ChangeOf(op, "email");
  if (req.email && !req.email->empty()) req.email_verified = true;
  req.phone_number = ChangeOf(op, "phone_number");
  if (req.phone_number && !req.phone_number->empty()) req.phone_number_verified = true;
  req.phone_region = ChangeOf(op, "phone_region");
  for (const auto& c : op.changes) {
    if (!c.field.starts_with("custom.")) continue;
    std::string op_name = c.old_value.empty() ? "add" : c.new_value.empty() ? "remove" : "replace";
    req.custom_fields.push_back({c.field.substr(7), c.new_value, op_name});
  }
  auto r = co_await remote_.PatchUser(op.target.id, req);
  if (!r) co_return Outcome::Failed(r.error());
  if (auto u = CurrentUser(op.target.id)) {
    if (req.username) u->username = *req.username;
    if (req.display_name) u->display_name = *req.display_name;
    if (req.email) u->email = *req.email;
    if (req.phone_number) u->phone_number = *req.phone_number;
    if (req.phone_region) u->phone_region = *req.phone_region;
    for (const auto& f : req.custom_fields) {
      if (f.operation == "remove") {
        u->custom_fields.erase(f.name);
      } else {
        u->custom_fields[f.name] = f.value;
      }
    }
    update->upsert_users.push_back(*u);
  }
  co_return Outcome::Ok();
}

asio::awaitable<Outcome> Executor::Impl::SetPrimaryOu(const Operation& op, MirrorUpdate* update) {
  std::string why;
  auto user_id = Resolve(EntityType::kUser, op.target, &why);
  auto ou_id = Resolve(EntityType::kOu, op.ou, &why);
  if (!user_id || !ou_id) co_return Outcome::Failed(why);
  auto r = co_await remote_.SetUserPrimaryOu(*user_id, *ou_id);
  if (!r) co_return Outcome::Failed(r.error());
  if (auto u = CurrentUser(*user_id)) {
    // The API drops the old primary membership when it moves a user.
    std::erase(u->ou_ids, u->primary_ou_id);
    u->primary_ou_id = *ou_id;
    u->ou_ids.push_back(*ou_id);
    SortUnique(u->ou_ids);
    update->upsert_users.push_back(*u);
  }
  co_return Outcome::Ok();
}

asio::awaitable<Outcome> Executor::Impl::ChangeUserOus(const Operation& op, MirrorUpdate* update) {
  std::string why;
  auto user_id = Resolve(EntityType::kUser, op.target, &why);
  if (!user_id) co_return Outcome::Failed(why);
  std::vector<std::string> ou_ids;
  for (const auto& ref : op.refs) {
    auto id = Resolve(EntityType::kOu, ref, &why);
    if (!id) co_return Outcome::Failed(why);
    ou_ids.push_back(*id);
  }
  const bool add = op.kind == OpKind::kUserAddOus;
  base::Status r;
  if (add) {
    r = co_await remote_.AddUserToOus(*user_id, ou_ids);
  } else {
    r = co_await remote_.RemoveUserFromOus(*user_id, ou_ids);
  }
  if (!r) co_return Outcome::Failed(r.error());
  if (auto u = CurrentUser(*user_id)) {
    if (add) {
      u->ou_ids.insert(u->ou_ids.end(), ou_ids.begin(), ou_ids.end());
    } else {
      for (const auto& id : ou_ids) std::erase(u->ou_ids, id);
    }
    SortUnique(u->ou_ids);
    update->upsert_users.push_back(*u);
  }
  co_return Outcome::Ok();
}

asio::awaitable<Outcome> Executor::Impl::EnableOrDisable(const Operation& op,
                                                         MirrorUpdate* update) {
  const bool enable = op.kind == OpKind::kUserEnable;
  base::Status r;
  if (enable) {
    r = co_await remote_.EnableUser(op.target.id);
  } else {
    r = co_await remote_.DisableUser(op.target.id);
  }
  if (!r) co_return Outcome::Failed(r.error());
  if (auto u = CurrentUser(op.target.id)) {
    u->enabled = enable;
    update->upsert_users.push_back(*u);
  }
  MirrorUpdate::LinkFlags flags{EntityType::kUser, op.target.key, std::nullopt, std::nullopt};
  if (enable) {
    flags.disabled_by_idsync = false;
  } else if (auto since = ChangeOf(op, "missing_since")) {
    flags.missing_since_ms = std::stoll(*since);
    flags.disabled_by_idsync = true;
  }
  if (flags.missing_since_ms || flags.disabled_by_idsync) {
    update->set_link_flags.push_back(flags);
  }
  co_return Outcome::Ok();
}

// ---- groups -------------------------------------------------------------

asio::awaitable<Outcome> Executor::Impl::CreateGroup(const Operation& op, MirrorUpdate* update) {
  NewGroup req;
  req.name = ChangeOf(op, "name").value_or(op.display);
  req.external_id = op.target.key;
  Outcome o = co_await CreateOrFind(
      [&] { return remote_.CreateGroup(req); },
      [&] { return FindCreated(remote_, EntityType::kGroup, op.target.key, req.name); });
  if (!o.ok) co_return o;
  update->upsert_groups.push_back(
      IdaasGroup{o.created_id, req.name, "", op.target.key, "build_in", options_.instance_id, {}});
  update->upsert_links.push_back(
      Link{EntityType::kGroup, op.target.key, o.created_id, Ownership::kCreated, 0, false});
  co_return o;
}

asio::awaitable<Outcome> Executor::Impl::PatchGroup(const Operation& op, MirrorUpdate* update) {
  auto name = ChangeOf(op, "name");
  auto r = co_await remote_.PatchGroup(op.target.id, name);
  if (!r) co_return Outcome::Failed(r.error());
  if (auto g = CurrentGroup(op.target.id)) {
    if (name) g->name = *name;
    update->upsert_groups.push_back(*g);
  }
  co_return Outcome::Ok();
}

asio::awaitable<Outcome> Executor::Impl::ChangeMembers(const Operation& op, MirrorUpdate* update) {
  std::string why;
  auto group_id = Resolve(EntityType::kGroup, op.target, &why);
  if (!group_id) co_return Outcome::Failed(why);
  std::vector<std::string> user_ids;
  std::vector<std::string> missing;
  for (const auto& ref : op.refs) {
    std::string unused;
    auto id = Resolve(EntityType::kUser, ref, &unused);
    if (id) {
      user_ids.push_back(*id);
    } else {
      missing.push_back(ref.key);
    }
  }
  const bool add = op.kind == OpKind::kGroupAddMembers;
  if (!user_ids.empty()) {
    base::Status r;
    if (add) {
      r = co_await remote_.AddUsersToGroup(*group_id, user_ids);
    } else {
      r = co_await remote_.RemoveUsersFromGroup(*group_id, user_ids);
    }
    if (!r) co_return Outcome::Failed(r.error());
    (add ? update->add_members : update->remove_members).push_back({*group_id, user_ids});
  }
  if (!missing.empty()) {
    // What could be sent was; the report must still say it is incomplete.
    co_await ApplyUpdateNow(*update);  // best effort: recorded with the failure
    ApplyToCurrent(*update);
    *update = MirrorUpdate();
    co_return Outcome::Failed(std::to_string(missing.size()) + " member(s) not " +
                              (add ? "added" : "removed") + ": account not created (" +
                              missing.front() + (missing.size() > 1 ? ", ..." : "") + ")");
  }
  co_return Outcome::Ok();
}

}  // namespace idsync::sync
