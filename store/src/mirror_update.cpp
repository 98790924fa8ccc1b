// Incremental mirror updates (MirrorUpdate): row upserts and deletes of
// users, OUs, groups, members and links, and the re-pack of what changed.
#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;
using detail::NotFound;

namespace {

// Steps a DELETE ... RETURNING <integer> statement, collecting the values.
Result<void> RunReturning(Db& db, Stmt& st, std::string_view what, std::vector<int64_t>* out) {
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out->push_back(st.Int(0));
  st.Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, what);
  return {};
}

// Steps an INSERT ... RETURNING <integer> statement that yields one row: its
// value.
Result<int64_t> RunReturningOne(Db& db, Stmt& st, const std::string& what) {
  int rc = st.Step();
  if (rc != SQLITE_ROW) {
    Error e = db.Fail(rc, what);
    st.Reset();
    return e;
  }
  const int64_t value = st.Int(0);
  rc = st.Step();  // finish the statement
  st.Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, what);
  return value;
}

}  // namespace

Result<void> Store::Impl::UpsertOu(const sync::IdaasOu& o) {
  auto st = db.Prepare(
      "INSERT INTO ous (id, name, parent_id, description, external_id, source_type, "
      "source_id) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
      "name = excluded.name, parent_id = excluded.parent_id, "
      "description = excluded.description, external_id = excluded.external_id, "
      "source_type = excluded.source_type, source_id = excluded.source_id");
  if (!st) return st.error();
  (*st)->Bind(1, o.id).Bind(2, o.name).Bind(3, o.parent_id).Bind(4, o.description)
      .Bind(5, o.external_id).Bind(6, o.source_type).Bind(7, o.source_id);
  return db.Run(**st, "upsert OU " + o.id);
}

Result<void> Store::Impl::UpsertUser(const sync::IdaasUser& u) {
  auto st = db.Prepare(
      "INSERT INTO users (id, username, display_name, email, phone_number, "
      "phone_region, description, external_id, source_type, source_id, primary_ou_id, "
      "enabled, update_time_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT (id) DO UPDATE SET username = excluded.username, "
      "display_name = excluded.display_name, email = excluded.email, "
      "phone_number = excluded.phone_number, phone_region = excluded.phone_region, "
      "description = excluded.description, external_id = excluded.external_id, "
      "source_type = excluded.source_type, source_id = excluded.source_id, "
      "primary_ou_id = excluded.primary_ou_id, enabled = excluded.enabled, "
      "update_time_ms = excluded.update_time_ms RETURNING rid");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, u.id).Bind(2, u.username).Bind(3, u.display_name).Bind(4, u.email)
      .Bind(5, u.phone_number).Bind(6, u.phone_region).Bind(7, u.description)
      .Bind(8, u.external_id).Bind(9, u.source_type).Bind(10, u.source_id)
      .Bind(11, u.primary_ou_id).Bind(12, u.enabled).Bind(13, u.update_time_ms);
  auto returned = RunReturningOne(db, s, "upsert user " + u.id);
  if (!returned) return returned.error();
  const int64_t rid = *returned;
  packer.TouchUser(rid);

  if (auto r = db.RunSql("DELETE FROM user_ous WHERE user_rid = ?", "update user OUs", rid); !r) {
    return r;
  }
  if (auto r = db.RunSql("DELETE FROM user_custom_fields WHERE user_rid = ?",
                         "update custom fields", rid);
      !r) {
    return r;
  }
  auto ins_ou = db.Prepare("INSERT OR IGNORE INTO user_ous (user_rid, ou_id) VALUES (?, ?)");
  if (!ins_ou) return ins_ou.error();
  for (const std::string& ou : u.ou_ids) {
    (*ins_ou)->Bind(1, rid).Bind(2, ou);
    if (auto r = db.Run(**ins_ou, "insert user OU"); !r) return r;
  }
  auto ins_cf = db.Prepare(
      "INSERT OR REPLACE INTO user_custom_fields (user_rid, name, value) VALUES (?, ?, ?)");
  if (!ins_cf) return ins_cf.error();
  for (const auto& [k, v] : u.custom_fields) {
    (*ins_cf)->Bind(1, rid).Bind(2, k).Bind(3, v);
    if (auto r = db.Run(**ins_cf, "insert custom field"); !r) return r;
  }
  return {};
}

Result<std::optional<int64_t>> Store::Impl::GroupRid(const std::string& id) {
  auto st = db.Prepare("SELECT rid FROM groups WHERE id = ?");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, id);
  int rc = s.Step();
  std::optional<int64_t> rid;
  if (rc == SQLITE_ROW) rid = s.Int(0);
  s.Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.Fail(rc, "find group");
  return rid;
}

Result<void> Store::Impl::UpsertGroup(const sync::IdaasGroup& g) {
  auto st = db.Prepare(
      "INSERT INTO groups (id, name, description, external_id, source_type, source_id) "
      "VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
      "description = excluded.description, external_id = excluded.external_id, "
      "source_type = excluded.source_type, source_id = excluded.source_id RETURNING rid");
  if (!st) return st.error();
  Stmt& s = **st;
  s.Bind(1, g.id).Bind(2, g.name).Bind(3, g.description).Bind(4, g.external_id)
      .Bind(5, g.source_type).Bind(6, g.source_id);
  auto returned = RunReturningOne(db, s, "upsert group " + g.id);
  if (!returned) return returned.error();
  const int64_t rid = *returned;
  packer.TouchGroup(rid);
  if (auto r = db.RunSql("DELETE FROM group_members WHERE group_rid = ?", "replace members", rid);
      !r) {
    return r;
  }
  auto ins = db.Prepare("INSERT OR IGNORE INTO group_members (group_rid, user_id) VALUES (?, ?)");
  if (!ins) return ins.error();
  for (const std::string& m : g.member_ids) {
    (*ins)->Bind(1, rid).Bind(2, m);
    if (auto r = db.Run(**ins, "insert member"); !r) return r;
  }
  return {};
}

// The row changes, then the packs of what changed, in the caller's
// transaction; on error the caller rolls back and nothing is kept.
Result<void> Store::Impl::ApplyUpdateLocked(const MirrorUpdate& up) {
  auto r = ApplyRows(up);
  if (r) r = packer.Flush();
  if (!r) packer.Clear();
  return r;
}

Result<void> Store::Impl::ApplyRows(const MirrorUpdate& up) {
  // Deletes first.
  std::vector<int64_t> rids;
  for (const std::string& id : up.delete_user_ids) {
    auto m = db.Prepare("DELETE FROM group_members WHERE user_id = ? RETURNING group_rid");
    if (!m) return m.error();
    (*m)->Bind(1, id);
    rids.clear();
    if (auto r = RunReturning(db, **m, "delete memberships of " + id, &rids); !r) return r;
    for (int64_t g : rids) packer.TouchMember(g, id);
    auto st = db.Prepare("DELETE FROM users WHERE id = ? RETURNING rid");
    if (!st) return st.error();
    (*st)->Bind(1, id);
    rids.clear();
    if (auto r = RunReturning(db, **st, "delete user " + id, &rids); !r) return r;
    for (int64_t rid : rids) packer.TouchUser(rid);
  }
  for (const std::string& id : up.delete_group_ids) {
    if (auto r = db.RunSql("DELETE FROM groups WHERE id = ?", "delete group " + id, id); !r) {
      return r;
    }
  }
  for (const std::string& id : up.delete_ou_ids) {
    if (auto r = db.RunSql("DELETE FROM ous WHERE id = ?", "delete OU " + id, id); !r) return r;
  }
  for (const auto& o : up.upsert_ous) {
    if (auto r = UpsertOu(o); !r) return r;
  }
  for (const auto& u : up.upsert_users) {
    if (auto r = UpsertUser(u); !r) return r;
  }
  for (const auto& g : up.upsert_groups) {
    if (auto r = UpsertGroup(g); !r) return r;
  }
  for (const auto& m : up.add_members) {
    auto rid = GroupRid(m.group_id);
    if (!rid) return rid.error();
    if (!*rid) return NotFound(path, "add members: no group " + m.group_id + " in the mirror");
    auto st = db.Prepare("INSERT OR IGNORE INTO group_members (group_rid, user_id) VALUES (?, ?)");
    if (!st) return st.error();
    for (const auto& uid : m.user_ids) {
      (*st)->Bind(1, **rid).Bind(2, uid);
      if (auto r = db.Run(**st, "add member"); !r) return r;
      packer.TouchMember(**rid, uid);
    }
  }
  for (const auto& m : up.remove_members) {
    auto rid = GroupRid(m.group_id);
    if (!rid) return rid.error();
    if (!*rid) continue;
    auto st = db.Prepare("DELETE FROM group_members WHERE group_rid = ? AND user_id = ?");
    if (!st) return st.error();
    for (const auto& uid : m.user_ids) {
      (*st)->Bind(1, **rid).Bind(2, uid);
      if (auto r = db.Run(**st, "remove member"); !r) return r;
      packer.TouchMember(**rid, uid);
    }
  }
  for (const auto& k : up.delete_links) {
    if (auto r = db.RunSql("DELETE FROM links WHERE type = ? AND source_key = ?", "delete link",
                           sync::EntityTypeName(k.type), k.source_key);
        !r) {
      return r;
    }
    packer.TouchLink(sync::EntityTypeName(k.type), k.source_key);
  }
  for (const auto& l : up.upsert_links) {
    auto st = db.Prepare(
        "INSERT INTO links (type, source_key, idaas_id, ownership, missing_since_ms, "
        "disabled_by_idsync) VALUES (?,?,?,?,?,?) ON CONFLICT (type, source_key) DO UPDATE "
        "SET idaas_id = excluded.idaas_id, ownership = excluded.ownership, "
        "missing_since_ms = excluded.missing_since_ms, "
        "disabled_by_idsync = excluded.disabled_by_idsync");
    if (!st) return st.error();
    (*st)->Bind(1, sync::EntityTypeName(l.type)).Bind(2, l.source_key)
        .Bind(3, l.idaas_id).Bind(4, sync::OwnershipName(l.ownership))
        .Bind(5, l.missing_since_ms).Bind(6, l.disabled_by_idsync);
    if (auto r = db.Run(**st, "link " + l.source_key + " -> " + l.idaas_id); !r) return r;
    packer.TouchLink(sync::EntityTypeName(l.type), l.source_key);
  }
  for (const auto& f : up.set_link_flags) {
    auto st = db.Prepare(
        "UPDATE links SET missing_since_ms = coalesce(?, missing_since_ms), "
        "disabled_by_idsync = coalesce(?, disabled_by_idsync) "
        "WHERE type = ? AND source_key = ?");
    if (!st) return st.error();
    Stmt& s = **st;
    if (f.missing_since_ms) s.Bind(1, *f.missing_since_ms); else s.BindNull(1);
    if (f.disabled_by_idsync) s.Bind(2, *f.disabled_by_idsync); else s.BindNull(2);
    s.Bind(3, sync::EntityTypeName(f.type)).Bind(4, f.source_key);
    if (auto r = db.Run(s, "set link flags"); !r) return r;
    if (sqlite3_changes(db.raw()) == 0) {
      return NotFound(path, std::string("set link flags: no ") +
                                sync::EntityTypeName(f.type) + " link for source key " +
                                f.source_key);
    }
    packer.TouchLink(sync::EntityTypeName(f.type), f.source_key);
  }
  return {};
}

Result<void> Store::ApplyUpdate(const MirrorUpdate& update) {
  if (auto r = impl_->CheckWritable(); !r) return r;
  Transaction tx(impl_->db);
  if (auto r = tx.Begin(); !r) return r;
  if (auto r = impl_->ApplyUpdateLocked(update); !r) return r;
  return tx.Commit();
}

}  // namespace idsync::store
