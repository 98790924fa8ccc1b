#include "pack.h"

#include <algorithm>
#include <optional>

namespace idsync::store::detail {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

void PutSigned(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// Records of one key range, to be written as one or more chunks.
struct Record {
  std::string key;
  std::string bytes;
};

// Splits `records` (in key order) into chunks of at most kRangeChunk when
// there are more than twice that, evenly; otherwise one chunk. The first
// chunk keeps `lo`, the others start at their first key. `write(lo, count,
// data)` stores one chunk.
template <class Write>
Result<void> WritePieces(const std::string& lo, const std::vector<Record>& records,
                         Write&& write) {
  if (records.empty()) return {};
  size_t pieces = 1;
  if (records.size() > 2 * kRangeChunk) {
    pieces = (records.size() + kRangeChunk - 1) / kRangeChunk;
  }
  const size_t per = (records.size() + pieces - 1) / pieces;
  std::string data;
  for (size_t b = 0; b < records.size(); b += per) {
    const size_t e = std::min(records.size(), b + per);
    data.clear();
    for (size_t k = b; k < e; ++k) data += records[k].bytes;
    if (auto r = write(b == 0 ? lo : records[b].key, static_cast<int64_t>(e - b), data); !r) {
      return r;
    }
  }
  return {};
}

Stmt& BindBlob(Stmt& s, int i, const std::string& data) {
  sqlite3_bind_blob(s.get(), i, data.data(), static_cast<int>(data.size()), SQLITE_STATIC);
  return s;
}

}  // namespace

// ------------------------------------------------------------ encoding --

uint64_t PackReader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_) break;
    auto b = static_cast<uint8_t>(*p_++);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  ok_ = false;
  p_ = end_;
  return 0;
}

int64_t PackReader::Signed() {
  uint64_t v = Varint();
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

std::string_view PackReader::String() {
  uint64_t n = Varint();
  if (n > static_cast<uint64_t>(end_ - p_)) {
    ok_ = false;
    p_ = end_;
    return {};
  }
  std::string_view s(p_, n);
  p_ += n;
  return s;
}

uint8_t PackReader::Byte() {
  if (p_ == end_) {
    ok_ = false;
    return 0;
  }
  return static_cast<uint8_t>(*p_++);
}

void EncodeUser(std::string& out, int64_t rid, const sync::UserView& u) {
  PutVarint(out, static_cast<uint64_t>(rid));
  for (std::string_view s : {u.id, u.username, u.display_name, u.email, u.phone_number,
                             u.phone_region, u.description, u.external_id, u.source_type,
                             u.source_id, u.primary_ou_id}) {
    PutString(out, s);
  }
  PutVarint(out, u.ou_ids.size());
  for (std::string_view ou : u.ou_ids) PutString(out, ou);
  PutVarint(out, u.custom_fields.size());
  for (const auto& [name, value] : u.custom_fields) {
    PutString(out, name);
    PutString(out, value);
  }
  out.push_back(u.enabled ? 1 : 0);
  PutSigned(out, u.update_time_ms);
}

bool DecodeUser(PackReader& r, int64_t* rid, sync::UserView* u) {
  *rid = static_cast<int64_t>(r.Varint());
  for (std::string_view* s : {&u->id, &u->username, &u->display_name, &u->email,
                              &u->phone_number, &u->phone_region, &u->description,
                              &u->external_id, &u->source_type, &u->source_id,
                              &u->primary_ou_id}) {
    *s = r.String();
  }
  uint64_t n = r.Varint();
  u->ou_ids.clear();
  for (uint64_t k = 0; k < n && r.ok(); ++k) u->ou_ids.push_back(r.String());
  n = r.Varint();
  u->custom_fields.clear();
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    std::string_view name = r.String();
    u->custom_fields.emplace_back(name, r.String());
  }
  u->enabled = r.Byte() != 0;
  u->update_time_ms = r.Signed();
  return r.ok() && *rid > 0 && !u->id.empty();
}

void EncodeLink(std::string& out, const sync::LinkView& l) {
  PutString(out, l.source_key);
  PutString(out, l.idaas_id);
  out.push_back(static_cast<char>((l.ownership == sync::Ownership::kAdopted ? 1 : 0) |
                                  (l.disabled_by_idsync ? 2 : 0)));
  PutSigned(out, l.missing_since_ms);
}

bool DecodeLink(PackReader& r, sync::LinkView* l) {
  l->source_key = r.String();
  l->idaas_id = r.String();
  const uint8_t flags = r.Byte();
  l->ownership = (flags & 1) != 0 ? sync::Ownership::kAdopted : sync::Ownership::kCreated;
  l->disabled_by_idsync = (flags & 2) != 0;
  l->missing_since_ms = r.Signed();
  return r.ok() && !l->source_key.empty() && !l->idaas_id.empty();
}

void EncodeMember(std::string& out, std::string_view user_id, int64_t rid) {
  PutVarint(out, static_cast<uint64_t>(rid));
  if (rid == 0) PutString(out, user_id);
}

// -------------------------------------------------------------- Packer --

void Packer::Clear() {
  users_.clear();
  links_.clear();
  members_.clear();
  groups_.clear();
}

Result<void> Packer::Flush() {
  for (int64_t chunk : users_) {
    if (auto r = RepackUsers(chunk); !r) return r;
  }
  // Map each touched key to its chunk first: repacking may split chunks.
  std::set<std::pair<std::string, std::string>> link_chunks;
  for (const auto& [type, key] : links_) {
    auto lo = LinkChunkOf(type, key);
    if (!lo) return lo.error();
    link_chunks.emplace(type, std::move(*lo));
  }
  for (const auto& [type, lo] : link_chunks) {
    if (auto r = RepackLinks(type, lo); !r) return r;
  }
  std::set<std::pair<int64_t, std::string>> member_chunks;
  for (int64_t g : groups_) {
    // The whole list changed: drop its chunks and pack it as one range.
    auto del = db_.Prepare("DELETE FROM member_pack WHERE group_rid = ?");
    if (!del) return del.error();
    (*del)->Bind(1, g);
    if (auto r = db_.Run(**del, "repack members"); !r) return r;
    member_chunks.emplace(g, "");
  }
  for (const auto& [g, key] : members_) {
    if (groups_.count(g)) continue;
    auto lo = MemberChunkOf(g, key);
    if (!lo) return lo.error();
    member_chunks.emplace(g, std::move(*lo));
  }
  for (const auto& [g, lo] : member_chunks) {
    if (auto r = RepackMembers(g, lo); !r) return r;
  }
  Clear();
  return {};
}

Result<void> Packer::RepackUsers(int64_t chunk) {
  std::string data;
  int64_t n = 0;
  auto read = ReadUserRows(db_, chunk << kUserChunkShift, (chunk + 1) << kUserChunkShift,
                           [&](int64_t rid, const sync::UserView& v) {
                             EncodeUser(data, rid, v);
                             ++n;
                           });
  if (!read) return read;
  if (n == 0) {
    auto del = db_.Prepare("DELETE FROM user_pack WHERE chunk = ?");
    if (!del) return del.error();
    (*del)->Bind(1, chunk);
    return db_.Run(**del, "repack users");
  }
  auto ins = db_.Prepare("INSERT OR REPLACE INTO user_pack (chunk, users, data) VALUES (?, ?, ?)");
  if (!ins) return ins.error();
  (*ins)->Bind(1, chunk).Bind(2, n);
  BindBlob(**ins, 3, data);
  return db_.Run(**ins, "repack users");
}

namespace {

// The statements of one range-chunked pack (links by type, members by
// group): ?1 is the prefix (type or group rid), ?2/?3 the key range.
struct RangeSql {
  const char* chunk_of;  // the chunk holding key ?2: greatest lo <= ?2
  const char* next;      // the lo after ?2
  const char* rows;      // rows with lo <= key < hi, in key order
  const char* rows_open;  // the same for the last chunk (no hi)
  const char* del;
  const char* ins;       // (prefix, lo, count, data)
};

constexpr RangeSql kLinkSql = {
    "SELECT lo FROM link_pack WHERE type = ? AND lo <= ? ORDER BY lo DESC LIMIT 1",
    "SELECT lo FROM link_pack WHERE type = ? AND lo > ? ORDER BY lo LIMIT 1",
    "SELECT source_key, idaas_id, ownership, missing_since_ms, disabled_by_idsync FROM links "
    "WHERE type = ?1 AND source_key >= ?2 AND source_key < ?3 ORDER BY source_key",
    "SELECT source_key, idaas_id, ownership, missing_since_ms, disabled_by_idsync FROM links "
    "WHERE type = ?1 AND source_key >= ?2 ORDER BY source_key",
    "DELETE FROM link_pack WHERE type = ? AND lo = ?",
    "INSERT INTO link_pack (type, lo, links, data) VALUES (?, ?, ?, ?)",
};

constexpr RangeSql kMemberSql = {
    "SELECT lo FROM member_pack WHERE group_rid = ? AND lo <= ? ORDER BY lo DESC LIMIT 1",
    "SELECT lo FROM member_pack WHERE group_rid = ? AND lo > ? ORDER BY lo LIMIT 1",
    "SELECT m.user_id, coalesce(u.rid, 0) FROM group_members m LEFT JOIN users u "
    "ON u.id = m.user_id WHERE m.group_rid = ?1 AND m.user_id >= ?2 AND m.user_id < ?3 "
    "ORDER BY m.user_id",
    "SELECT m.user_id, coalesce(u.rid, 0) FROM group_members m LEFT JOIN users u "
    "ON u.id = m.user_id WHERE m.group_rid = ?1 AND m.user_id >= ?2 ORDER BY m.user_id",
    "DELETE FROM member_pack WHERE group_rid = ? AND lo = ?",
    "INSERT INTO member_pack (group_rid, lo, members, data) VALUES (?, ?, ?, ?)",
};

// Writes the records of the range starting at `lo` as chunks.
template <class Prefix>
Result<void> WriteRange(Db& db, const RangeSql& sql, const Prefix& prefix,
                        const std::string& lo, const std::vector<Record>& records) {
  auto ins = db.Prepare(sql.ins);
  if (!ins) return ins.error();
  return WritePieces(lo, records, [&](const std::string& piece_lo, int64_t n,
                                      const std::string& data) {
    (*ins)->Bind(1, prefix).Bind(2, piece_lo).Bind(3, n);
    BindBlob(**ins, 4, data);
    return db.Run(**ins, "write pack");
  });
}

// A link row (source_key, idaas_id, ownership, missing, disabled) from
// column `c` on, as a record.
Record LinkRecord(const Stmt& s, int c) {
  Record rec{std::string(s.Text(c)), {}};
  EncodeLink(rec.bytes,
             sync::LinkView{.source_key = s.Text(c),
                            .idaas_id = s.Text(c + 1),
                            .missing_since_ms = s.Int(c + 3),
                            .type = sync::EntityType::kUser,
                            .ownership = s.Text(c + 2) == "adopted" ? sync::Ownership::kAdopted
                                                                     : sync::Ownership::kCreated,
                            .disabled_by_idsync = s.Int(c + 4) != 0});
  return rec;
}

// A member row (user_id, rid or 0) from column `c` on, as a record.
Record MemberRecord(const Stmt& s, int c) {
  Record rec{std::string(s.Text(c)), {}};
  EncodeMember(rec.bytes, s.Text(c), s.Int(c + 1));
  return rec;
}

// The first string column of a one-row query, if there is a row.
template <class Prefix>
Result<std::optional<std::string>> QueryLo(Db& db, const char* sql, const Prefix& prefix,
                                           const std::string& key) {
  auto st = db.Prepare(sql);
  if (!st) return st.error();
  (*st)->Bind(1, prefix).Bind(2, key);
  int rc = (*st)->Step();
  std::optional<std::string> lo;
  if (rc == SQLITE_ROW) lo.emplace((*st)->Text(0));
  (*st)->Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.Fail(rc, "find pack chunk");
  return lo;
}

// Re-packs the chunk starting at `lo` from the rows of its key range.
template <class Prefix, class ToRecord>
Result<void> RepackRange(Db& db, const RangeSql& sql, const Prefix& prefix,
                         const std::string& lo, ToRecord&& to_record) {
  auto hi = QueryLo(db, sql.next, prefix, lo);
  if (!hi) return hi.error();
  auto rows = db.Prepare(*hi ? sql.rows : sql.rows_open);
  if (!rows) return rows.error();
  Stmt& s = **rows;
  s.Bind(1, prefix).Bind(2, lo);
  if (*hi) s.Bind(3, **hi);
  std::vector<Record> records;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) records.push_back(to_record(s, 0));
  s.Reset();
  if (rc != SQLITE_DONE) return db.Fail(rc, "read rows to pack");
  auto del = db.Prepare(sql.del);
  if (!del) return del.error();
  (*del)->Bind(1, prefix).Bind(2, lo);
  if (auto r = db.Run(**del, "repack"); !r) return r;
  return WriteRange(db, sql, prefix, lo, records);
}

}  // namespace

Result<std::string> Packer::LinkChunkOf(const std::string& type, const std::string& key) {
  auto lo = QueryLo(db_, kLinkSql.chunk_of, type, key);
  if (!lo) return lo.error();
  return lo->value_or("");
}

Result<std::string> Packer::MemberChunkOf(int64_t group_rid, const std::string& key) {
  auto lo = QueryLo(db_, kMemberSql.chunk_of, group_rid, key);
  if (!lo) return lo.error();
  return lo->value_or("");
}

Result<void> Packer::RepackLinks(const std::string& type, const std::string& lo) {
  return RepackRange(db_, kLinkSql, type, lo, LinkRecord);
}

Result<void> Packer::RepackMembers(int64_t group_rid, const std::string& lo) {
  return RepackRange(db_, kMemberSql, group_rid, lo, MemberRecord);
}

Result<void> Packer::RebuildAll(bool links) {
  Clear();
  if (auto r = db_.Exec("DELETE FROM user_pack; DELETE FROM member_pack;"); !r) return r;
  if (links) {
    if (auto r = db_.Exec("DELETE FROM link_pack;"); !r) return r;
  }
  {
    auto ins = db_.Prepare(
        "INSERT OR REPLACE INTO user_pack (chunk, users, data) VALUES (?, ?, ?)");
    if (!ins) return ins.error();
    std::string data;
    int64_t chunk = -1, n = 0;
    Result<void> write_error;
    auto flush = [&] {
      if (n == 0 || !write_error) return;
      (*ins)->Bind(1, chunk).Bind(2, n);
      BindBlob(**ins, 3, data);
      write_error = db_.Run(**ins, "pack users");
      data.clear();
      n = 0;
    };
    auto read = ReadUserRows(db_, 0, INT64_MAX, [&](int64_t rid, const sync::UserView& v) {
      if ((rid >> kUserChunkShift) != chunk) {
        flush();
        chunk = rid >> kUserChunkShift;
      }
      EncodeUser(data, rid, v);
      ++n;
    });
    if (!read) return read;
    flush();
    if (!write_error) return write_error;
  }
  // Links by type and members by group: one range per prefix, from ''.
  auto rebuild = [&](const char* select, const RangeSql& sql, auto prefix_of, auto to_record,
                     auto same_prefix) -> Result<void> {
    auto rows = db_.PrepareOnce(select);
    if (!rows) return rows.error();
    decltype(prefix_of(*rows)) prefix{};
    std::vector<Record> records;
    int rc;
    while ((rc = rows->Step()) == SQLITE_ROW) {
      if (records.empty() || !same_prefix(*rows, prefix)) {
        if (auto r = WriteRange(db_, sql, prefix, "", records); !r) return r;
        records.clear();
        prefix = prefix_of(*rows);
      }
      records.push_back(to_record(*rows, 1));
    }
    if (rc != SQLITE_DONE) return db_.Fail(rc, "read rows to pack");
    return WriteRange(db_, sql, prefix, "", records);
  };
  if (links) {
    auto r = rebuild(
        "SELECT type, source_key, idaas_id, ownership, missing_since_ms, disabled_by_idsync "
        "FROM links ORDER BY type, source_key",
        kLinkSql, [](const Stmt& s) { return std::string(s.Text(0)); }, LinkRecord,
        [](const Stmt& s, const std::string& type) { return s.Text(0) == type; });
    if (!r) return r;
  }
  return rebuild(
      "SELECT m.group_rid, m.user_id, coalesce(u.rid, 0) FROM group_members m "
      "LEFT JOIN users u ON u.id = m.user_id ORDER BY m.group_rid, m.user_id",
      kMemberSql, [](const Stmt& s) { return s.Int(0); }, MemberRecord,
      [](const Stmt& s, int64_t group) { return s.Int(0) == group; });
}

}  // namespace idsync::store::detail
