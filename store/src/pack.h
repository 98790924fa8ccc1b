// The packed mirror (schema v3): the users, links and group memberships the
// planner loads, also kept as chunked BLOBs so that LoadState reads a few
// thousand rows instead of millions. The row tables stay the truth (queries,
// constraints, incremental edits); the packs are derived from them inside the
// same transaction as every change, and LoadState falls back to the rows
// when the packs disagree with them. docs/store.md, "Packed mirror".
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "idsync/sync/state.h"
#include "sqlite.h"

namespace idsync::store::detail {

// Bumped when the encoding changes: the packs are rebuilt from the rows at
// the next writer open (meta `mirror.pack_format`), no migration needed.
inline constexpr int kPackFormat = 1;
inline constexpr const char* kMetaPackFormat = "mirror.pack_format";
// Users: chunk = rid >> kUserChunkShift (256 rids per chunk).
inline constexpr int kUserChunkShift = 8;
// Links and members: chunks are key ranges [lo, next lo) of about this many
// rows; a range grown past twice this is split when repacked.
inline constexpr size_t kRangeChunk = 512;

// Bounds-checked reading of a pack BLOB (it comes from disk).
class PackReader {
 public:
  PackReader(const void* data, size_t size)
      : p_(static_cast<const char*>(data)), end_(p_ + size) {}
  bool done() const { return p_ == end_; }
  bool ok() const { return ok_; }
  uint64_t Varint();
  int64_t Signed();  // zigzag
  std::string_view String();
  uint8_t Byte();

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

// One user record: rid, then the fields, OU ids and custom fields.
void EncodeUser(std::string& out, int64_t rid, const sync::UserView& u);
// Views point into the reader's buffer; false on a malformed record.
bool DecodeUser(PackReader& r, int64_t* rid, sync::UserView* u);
// One link record (the type is the chunk's).
void EncodeLink(std::string& out, const sync::LinkView& l);
bool DecodeLink(PackReader& r, sync::LinkView* l);
// One member: the users.rid it had when packed, or 0 and the id for a
// member that is not in the users table.
void EncodeMember(std::string& out, std::string_view user_id, int64_t rid);

// Users with lo <= rid < hi merged with their OUs and custom fields, in rid
// order. The view passed to `fn` is valid during the call only.
template <class Fn>
Result<void> ReadUserRows(Db& db, int64_t lo, int64_t hi, Fn&& fn);

// Keeps the packs in step with row changes inside one write transaction:
// callers Touch what they changed, then Flush before committing.
class Packer {
 public:
  explicit Packer(Db& db) : db_(db) {}
  void TouchUser(int64_t rid) { users_.insert(rid >> kUserChunkShift); }
  void TouchLink(std::string_view type, std::string_view source_key) {
    links_.emplace(std::string(type), std::string(source_key));
  }
  void TouchMember(int64_t group_rid, std::string_view user_id) {
    members_.emplace(group_rid, std::string(user_id));
  }
  // Every member of the group (its member list was replaced).
  void TouchGroup(int64_t group_rid) { groups_.insert(group_rid); }
  Result<void> Flush();
  void Clear();
  // Every pack anew from the rows (full refresh, format change, migration);
  // a full refresh keeps the links, and so their packs.
  Result<void> RebuildAll(bool links = true);

 private:
  Result<void> RepackUsers(int64_t chunk);
  Result<void> RepackLinks(const std::string& type, const std::string& lo);
  Result<void> RepackMembers(int64_t group_rid, const std::string& lo);
  Result<std::string> LinkChunkOf(const std::string& type, const std::string& key);
  Result<std::string> MemberChunkOf(int64_t group_rid, const std::string& key);

  Db& db_;
  std::set<int64_t> users_;
  std::set<std::pair<std::string, std::string>> links_;
  std::set<std::pair<int64_t, std::string>> members_;
  std::set<int64_t> groups_;
};

// ---------------------------------------------------------------------------

template <class Fn>
Result<void> ReadUserRows(Db& db, int64_t lo, int64_t hi, Fn&& fn) {
  auto users = db.Prepare(
      "SELECT rid, id, username, display_name, email, phone_number, phone_region, "
      "description, external_id, source_type, source_id, primary_ou_id, enabled, "
      "update_time_ms FROM users WHERE rid >= ?1 AND rid < ?2 ORDER BY rid");
  if (!users) return users.error();
  auto ous = db.Prepare(
      "SELECT user_rid, ou_id FROM user_ous WHERE user_rid >= ?1 AND user_rid < ?2 "
      "ORDER BY user_rid, ou_id");
  if (!ous) return ous.error();
  auto custom = db.Prepare(
      "SELECT user_rid, name, value FROM user_custom_fields "
      "WHERE user_rid >= ?1 AND user_rid < ?2 ORDER BY user_rid, name");
  if (!custom) return custom.error();
  Stmt& u_st = **users;
  Stmt& o_st = **ous;
  Stmt& c_st = **custom;
  for (Stmt* s : {&u_st, &o_st, &c_st}) s->Bind(1, lo).Bind(2, hi);
  // The child rows' text is copied: their statements step past it.
  std::vector<std::string> ou_buf, name_buf, value_buf;
  sync::UserView v;
  int o_rc = o_st.Step();
  int c_rc = c_st.Step();
  int rc;
  Result<void> out;
  while ((rc = u_st.Step()) == SQLITE_ROW) {
    const int64_t rid = u_st.Int(0);
    v.id = u_st.Text(1);
    v.username = u_st.Text(2);
    v.display_name = u_st.Text(3);
    v.email = u_st.Text(4);
    v.phone_number = u_st.Text(5);
    v.phone_region = u_st.Text(6);
    v.description = u_st.Text(7);
    v.external_id = u_st.Text(8);
    v.source_type = u_st.Text(9);
    v.source_id = u_st.Text(10);
    v.primary_ou_id = u_st.Text(11);
    v.enabled = u_st.Int(12) != 0;
    v.update_time_ms = u_st.Int(13);
    size_t n = 0;
    while (o_rc == SQLITE_ROW && o_st.Int(0) <= rid) {
      if (o_st.Int(0) == rid) {
        if (n == ou_buf.size()) ou_buf.emplace_back();
        ou_buf[n++].assign(o_st.Text(1));
      }
      o_rc = o_st.Step();
    }
    v.ou_ids.assign(ou_buf.begin(), ou_buf.begin() + static_cast<std::ptrdiff_t>(n));
    n = 0;
    while (c_rc == SQLITE_ROW && c_st.Int(0) <= rid) {
      if (c_st.Int(0) == rid) {
        if (n == name_buf.size()) {
          name_buf.emplace_back();
          value_buf.emplace_back();
        }
        name_buf[n].assign(c_st.Text(1));
        value_buf[n++].assign(c_st.Text(2));
      }
      c_rc = c_st.Step();
    }
    v.custom_fields.clear();
    for (size_t k = 0; k < n; ++k) v.custom_fields.emplace_back(name_buf[k], value_buf[k]);
    fn(rid, static_cast<const sync::UserView&>(v));
  }
  if (rc != SQLITE_DONE) {
    out = db.Fail(rc, "read users");
  } else if (o_rc != SQLITE_DONE && o_rc != SQLITE_ROW) {
    out = db.Fail(o_rc, "read user OUs");
  } else if (c_rc != SQLITE_DONE && c_rc != SQLITE_ROW) {
    out = db.Fail(c_rc, "read custom fields");
  }
  for (Stmt* s : {&u_st, &o_st, &c_st}) s->Reset();
  return out;
}

}  // namespace idsync::store::detail
