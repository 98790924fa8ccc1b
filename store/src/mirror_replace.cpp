// Store::ReplaceMirror: the whole mirror replaced by a full refresh's result
// in one transaction, links kept, orphaned links reported.
#include "store_impl.h"

namespace idsync::store {

using detail::Db;
using detail::Stmt;
using detail::Transaction;
using detail::kMetaLastRefresh;
using detail::kMetaUserBytes;
using detail::kMetaUserCount;
using detail::ParseEntity;

namespace {

// The user fields that go to the UserTable arena, for its reserve().
size_t UserBytes(const sync::IdaasUser& u) {
  size_t n = u.id.size() + u.username.size() + u.display_name.size() +
             u.email.size() + u.phone_number.size() + u.description.size() +
             u.external_id.size();
  for (const auto& [k, v] : u.custom_fields) n += v.size();
  return n;
}

}  // namespace

Result<std::vector<sync::Link>> Store::Impl::OrphanedLinks() {
  auto st = db.PrepareOnce(
      "SELECT type, source_key, idaas_id, ownership, missing_since_ms, disabled_by_idsync "
      "FROM links l WHERE "
      "(type = 'user' AND NOT EXISTS (SELECT 1 FROM users WHERE id = l.idaas_id)) OR "
      "(type = 'ou' AND NOT EXISTS (SELECT 1 FROM ous WHERE id = l.idaas_id)) OR "
      "(type = 'group' AND NOT EXISTS (SELECT 1 FROM groups WHERE id = l.idaas_id)) "
      "ORDER BY type, source_key");
  if (!st) return st.error();
  std::vector<sync::Link> out;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    sync::Link l;
    l.type = ParseEntity(st->Text(0)).value_or(sync::EntityType::kUser);
    l.source_key = st->Text(1);
    l.idaas_id = st->Text(2);
    l.ownership = detail::ParseOwnership(st->Text(3));
    l.missing_since_ms = st->Int(4);
    l.disabled_by_idsync = st->Int(5) != 0;
    out.push_back(std::move(l));
  }
  if (rc != SQLITE_DONE) return db.Fail(rc, "find orphaned links");
  return out;
}

Result<ReplaceStats> Store::ReplaceMirror(const Mirror& fresh, int64_t now_ms) {
  if (auto r = impl_->CheckWritable(); !r) return r.error();
  Db& db = impl_->db;
  const std::string& path = impl_->path;
  Transaction tx(db);
  if (auto r = tx.Begin(); !r) return r.error();
  // Children first, so the foreign-key checks on the parents find nothing.
  if (auto r = db.Exec(
          "DELETE FROM group_members; DELETE FROM groups; DELETE FROM user_custom_fields;"
          "DELETE FROM user_ous; DELETE FROM users; DELETE FROM ous; DELETE FROM scope;");
      !r) {
    return r.error();
  }
  ReplaceStats stats;
  size_t user_bytes = 0;
  {
    auto ins = db.Prepare(
        "INSERT INTO users (rid, id, username, display_name, email, phone_number, "
        "phone_region, description, external_id, source_type, source_id, primary_ou_id, "
        "enabled, update_time_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!ins) return ins.error();
    Stmt& u_st = **ins;
    auto ou_ins = db.Prepare("INSERT OR IGNORE INTO user_ous (user_rid, ou_id) VALUES (?, ?)");
    if (!ou_ins) return ou_ins.error();
    Stmt& o_st = **ou_ins;
    auto cf_ins = db.Prepare(
        "INSERT OR REPLACE INTO user_custom_fields (user_rid, name, value) VALUES (?, ?, ?)");
    if (!cf_ins) return cf_ins.error();
    Stmt& c_st = **cf_ins;
    int64_t rid = 0;
    for (const sync::IdaasUser& u : fresh.users) {
      ++rid;
      u_st.Bind(1, rid).Bind(2, u.id).Bind(3, u.username).Bind(4, u.display_name)
          .Bind(5, u.email).Bind(6, u.phone_number).Bind(7, u.phone_region)
          .Bind(8, u.description).Bind(9, u.external_id).Bind(10, u.source_type)
          .Bind(11, u.source_id).Bind(12, u.primary_ou_id).Bind(13, u.enabled)
          .Bind(14, u.update_time_ms);
      if (auto r = db.Run(u_st, "insert user"); !r) return r.error();
      for (const std::string& ou : u.ou_ids) {
        o_st.Bind(1, rid).Bind(2, ou);
        if (auto r = db.Run(o_st, "insert user OU"); !r) return r.error();
      }
      for (const auto& [k, v] : u.custom_fields) {
        c_st.Bind(1, rid).Bind(2, k).Bind(3, v);
        if (auto r = db.Run(c_st, "insert custom field"); !r) return r.error();
      }
      user_bytes += UserBytes(u);
    }
    stats.users = rid;
  }
  for (const sync::IdaasOu& o : fresh.ous) {
    if (auto r = impl_->UpsertOu(o); !r) return r.error();
  }
  stats.ous = static_cast<int64_t>(fresh.ous.size());
  {
    auto g_ins = db.Prepare(
        "INSERT INTO groups (rid, id, name, description, external_id, source_type, "
        "source_id) VALUES (?,?,?,?,?,?,?)");
    if (!g_ins) return g_ins.error();
    Stmt& g_st = **g_ins;
    auto m_ins = db.Prepare("INSERT OR IGNORE INTO group_members (group_rid, user_id) VALUES (?, ?)");
    if (!m_ins) return m_ins.error();
    Stmt& m_st = **m_ins;
    int64_t rid = 0;
    for (const sync::IdaasGroup& g : fresh.groups) {
      ++rid;
      g_st.Bind(1, rid).Bind(2, g.id).Bind(3, g.name).Bind(4, g.description)
          .Bind(5, g.external_id).Bind(6, g.source_type).Bind(7, g.source_id);
      if (auto r = db.Run(g_st, "insert group"); !r) return r.error();
      for (const std::string& m : g.member_ids) {
        m_st.Bind(1, rid).Bind(2, m);
        if (auto r = db.Run(m_st, "insert member"); !r) return r.error();
        ++stats.memberships;
      }
    }
    stats.groups = rid;
  }
  {
    auto s_ins = db.Prepare("INSERT OR IGNORE INTO scope (type, id) VALUES (?, ?)");
    if (!s_ins) return s_ins.error();
    for (const auto& id : fresh.scope.ou_ids) {
      (*s_ins)->Bind(1, "ou").Bind(2, id);
      if (auto r = db.Run(**s_ins, "insert scope"); !r) return r.error();
    }
    for (const auto& id : fresh.scope.group_ids) {
      (*s_ins)->Bind(1, "group").Bind(2, id);
      if (auto r = db.Run(**s_ins, "insert scope"); !r) return r.error();
    }
  }
  if (auto r = impl_->SetMetaLocked(kMetaLastRefresh, std::to_string(now_ms)); !r) {
    return r.error();
  }
  if (auto r = impl_->SetMetaLocked(kMetaUserCount, std::to_string(stats.users)); !r) {
    return r.error();
  }
  if (auto r = impl_->SetMetaLocked(kMetaUserBytes, std::to_string(user_bytes)); !r) {
    return r.error();
  }
  // Links are kept as they are; their packs stay valid.
  if (auto r = impl_->packer.RebuildAll(/*links=*/false); !r) return r.error();
  auto orphans = impl_->OrphanedLinks();
  if (!orphans) return orphans.error();
  stats.orphaned_links = std::move(*orphans);
  if (auto r = tx.Commit(); !r) {
    return Error{r.error().code, "replacing the mirror of " + path +
                                     " failed (the previous mirror is kept): " +
                                     r.error().message};
  }
  return stats;
}

}  // namespace idsync::store
