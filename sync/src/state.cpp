#include "idsync/sync/state.h"

#include <cstdlib>

#include "varint.h"

namespace idsync::sync {

const char* EntityTypeName(EntityType t) {
  switch (t) {
    case EntityType::kOu: return "ou";
    case EntityType::kUser: return "user";
    case EntityType::kGroup: return "group";
  }
  return "unknown";
}

const char* OwnershipName(Ownership o) {
  switch (o) {
    case Ownership::kCreated: return "created";
    case Ownership::kAdopted: return "adopted";
  }
  return "unknown";
}

}  // namespace idsync::sync

namespace idsync::sync {
namespace {

uint32_t Offset(const std::vector<char>& arena) {
  // Offsets are 32-bit; past 4 GiB the table cannot grow.
  if (arena.size() > 0xffffffffu) std::abort();
  return static_cast<uint32_t>(arena.size());
}

}  // namespace

// ---------------------------------------------------------- StringDict --

StringDict::StringDict() : slots_(64, 0) { strings_.emplace_back(); }

uint32_t StringDict::Intern(std::string_view s) {
  if (s.empty()) return 0;
  const uint64_t h = std::hash<std::string_view>()(s);
  const uint64_t tag = h >> 32;
  size_t mask = slots_.size() - 1;
  size_t pos = h & mask;
  for (; slots_[pos] != 0; pos = (pos + 1) & mask) {
    const uint64_t slot = slots_[pos];
    if ((slot >> 32) == tag && strings_[(slot & 0xffffffffu) - 1] == s) {
      return static_cast<uint32_t>((slot & 0xffffffffu) - 1);
    }
  }
  const auto index = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  slots_[pos] = tag << 32 | (index + 1u);
  if (2 * strings_.size() > slots_.size()) {
    // Grow: re-place every string by its hash.
    std::vector<uint64_t> old(2 * slots_.size(), 0);
    old.swap(slots_);
    mask = slots_.size() - 1;
    for (uint64_t slot : old) {
      if (slot == 0) continue;
      const uint64_t sh = std::hash<std::string_view>()(strings_[(slot & 0xffffffffu) - 1]);
      size_t p = sh & mask;
      while (slots_[p] != 0) p = (p + 1) & mask;
      slots_[p] = slot;
    }
  }
  return index;
}

size_t StringDict::MemoryBytes() const {
  size_t n = 0;
  for (const auto& s : strings_) n += sizeof(s) + (s.size() > 15 ? s.capacity() + 1 : 0);
  return n + slots_.capacity() * sizeof(uint64_t);
}

// ----------------------------------------------------------- UserTable --

size_t UserTable::ShapeHash::operator()(const ShapeKey& k) const {
  size_t h = k.phone_region * 0x9e3779b97f4a7c15ULL;
  h ^= k.source_type + 0x9e3779b9 + (h << 6) + (h >> 2);
  h ^= k.source_id + 0x9e3779b9 + (h << 6) + (h >> 2);
  for (uint32_t n : k.custom_names) h ^= n + 0x9e3779b9 + (h << 6) + (h >> 2);
  return h;
}

void UserTable::reserve(size_t users, size_t arena_bytes) {
  arena_.reserve(arena_bytes);
  offset_.reserve(users);
  update_time_ms_.reserve(users);
  primary_ou_.reserve(users);
  shape_.reserve(users);
  ous_.reserve(users);
  enabled_.reserve(users);
}

void UserTable::PutString(std::string_view s) { varint::PutString(arena_, s); }

// Rows come mostly from one source, so this usually saves hashing.
bool UserTable::SameShapeAsLast(const UserView& u) const {
  if (shape_.empty()) return false;
  const ShapeKey& last = shapes_[shape_.back()];
  if (last.custom_names.size() != u.custom_fields.size() ||
      dict_[last.phone_region] != u.phone_region || dict_[last.source_type] != u.source_type ||
      dict_[last.source_id] != u.source_id) {
    return false;
  }
  for (size_t k = 0; k < last.custom_names.size(); ++k) {
    if (dict_[last.custom_names[k]] != u.custom_fields[k].first) return false;
  }
  return true;
}

uint32_t UserTable::InternShape(const UserView& u) {
  ShapeKey key;
  key.phone_region = dict_.Intern(u.phone_region);
  key.source_type = dict_.Intern(u.source_type);
  key.source_id = dict_.Intern(u.source_id);
  key.custom_names.reserve(u.custom_fields.size());
  for (const auto& field : u.custom_fields) key.custom_names.push_back(dict_.Intern(field.first));
  auto it = shape_index_.find(key);
  if (it != shape_index_.end()) return it->second;
  auto i = static_cast<uint32_t>(shapes_.size());
  shapes_.push_back(key);
  shape_index_.emplace(std::move(key), i);
  return i;
}

void UserTable::Add(const UserView& u) {
  offset_.push_back(Offset(arena_));
  PutString(u.id);
  PutString(u.username);
  PutString(u.display_name);
  PutString(u.email);
  PutString(u.phone_number);
  PutString(u.description);
  PutString(u.external_id);
  for (const auto& field : u.custom_fields) PutString(field.second);
  shape_.push_back(SameShapeAsLast(u) ? shape_.back() : InternShape(u));
  const uint32_t primary = dict_.Intern(u.primary_ou_id);
  primary_ou_.push_back(primary);
  if (u.ou_ids.empty()) {
    ous_.push_back(kNoOus);
  } else if (u.ou_ids.size() == 1 && primary != 0 && u.ou_ids[0] == u.primary_ou_id) {
    ous_.push_back(kOnlyPrimary);  // the common case: no list at all
  } else {
    ous_.push_back(static_cast<uint32_t>(ou_lists_.size()));
    ou_lists_.push_back(static_cast<uint32_t>(u.ou_ids.size()));
    for (std::string_view ou : u.ou_ids) ou_lists_.push_back(dict_.Intern(ou));
  }
  enabled_.push_back(u.enabled);
  update_time_ms_.push_back(u.update_time_ms);
}

void UserTable::Add(const IdaasUser& u) {
  UserView v{u.id, u.username, u.display_name, u.email, u.phone_number, u.phone_region,
             u.description, u.external_id, u.source_type, u.source_id, u.primary_ou_id,
             {}, {}, u.enabled, u.update_time_ms};
  v.ou_ids.assign(u.ou_ids.begin(), u.ou_ids.end());
  for (const auto& [k, val] : u.custom_fields) v.custom_fields.emplace_back(k, val);
  Add(v);
}

std::string_view UserTable::Field(size_t i, int k) const {
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, k);
  return varint::GetString(p);
}

std::vector<std::string_view> UserTable::ou_ids(size_t i) const {
  std::vector<std::string_view> out;
  const uint32_t ous = ous_[i];
  if (ous == kNoOus) return out;
  if (ous == kOnlyPrimary) {
    out.push_back(dict_[primary_ou_[i]]);
    return out;
  }
  out.reserve(ou_lists_[ous]);
  for (uint32_t k = 0; k < ou_lists_[ous]; ++k) out.push_back(dict_[ou_lists_[ous + 1 + k]]);
  return out;
}

std::string_view UserTable::custom_field(size_t i, std::string_view name) const {
  const ShapeKey& shape = Shape(i);
  if (shape.custom_names.empty()) return {};
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, kFieldCount);
  for (uint32_t n : shape.custom_names) {
    std::string_view value = varint::GetString(p);
    if (dict_[n] == name) return value;
  }
  return {};
}

std::map<std::string, std::string> UserTable::custom_fields(size_t i) const {
  std::map<std::string, std::string> out;
  const ShapeKey& shape = Shape(i);
  if (shape.custom_names.empty()) return out;
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, kFieldCount);
  for (uint32_t name : shape.custom_names) {
    out.emplace(std::string(dict_[name]), std::string(varint::GetString(p)));
  }
  return out;
}

IdaasUser UserTable::Get(size_t i) const {
  IdaasUser u;
  u.id = id(i);
  u.username = username(i);
  u.display_name = display_name(i);
  u.email = email(i);
  u.phone_number = phone_number(i);
  u.phone_region = phone_region(i);
  u.description = description(i);
  u.external_id = external_id(i);
  u.source_type = source_type(i);
  u.source_id = source_id(i);
  u.primary_ou_id = primary_ou_id(i);
  for (auto ou : ou_ids(i)) u.ou_ids.emplace_back(ou);
  u.enabled = enabled(i);
  u.custom_fields = custom_fields(i);
  u.update_time_ms = update_time_ms(i);
  return u;
}

size_t UserTable::MemoryBytes() const {
  size_t shapes = 0;
  for (const auto& s : shapes_) shapes += 2 * (sizeof(s) + s.custom_names.capacity() * 4) + 32;
  // Sizes, not capacities: the loader reserves from the packs' size, an
  // overestimate whose untouched tail never becomes resident.
  return arena_.size() +
         (offset_.size() + primary_ou_.size() + shape_.size() + ous_.size() +
          ou_lists_.size()) * sizeof(uint32_t) +
         update_time_ms_.size() * sizeof(int64_t) + enabled_.size() / 8 +
         dict_.MemoryBytes() + shapes;
}

// ----------------------------------------------------------- LinkTable --

void LinkTable::reserve(size_t links, size_t arena_bytes) {
  arena_.reserve(arena_bytes);
  offset_.reserve(links);
  flags_.reserve(links);
  missing_since_ms_.reserve(links);
}

void LinkTable::Add(const LinkView& l) {
  offset_.push_back(Offset(arena_));
  varint::PutString(arena_, l.source_key);
  varint::PutString(arena_, l.idaas_id);
  flags_.push_back(static_cast<uint8_t>(static_cast<unsigned>(l.type) |
                                        static_cast<unsigned>(l.ownership) << 2 |
                                        (l.disabled_by_idsync ? 8u : 0u)));
  missing_since_ms_.push_back(l.missing_since_ms);
}

void LinkTable::Add(const Link& l) {
  Add(LinkView{.source_key = l.source_key,
               .idaas_id = l.idaas_id,
               .missing_since_ms = l.missing_since_ms,
               .type = l.type,
               .ownership = l.ownership,
               .disabled_by_idsync = l.disabled_by_idsync});
}

LinkView LinkTable::operator[](size_t i) const {
  LinkView v;
  const char* p = arena_.data() + offset_[i];
  v.source_key = varint::GetString(p);
  v.idaas_id = varint::GetString(p);
  const uint8_t f = flags_[i];
  v.type = static_cast<EntityType>(f & 3u);
  v.ownership = static_cast<Ownership>((f >> 2) & 1u);
  v.disabled_by_idsync = (f & 8u) != 0;
  v.missing_since_ms = missing_since_ms_[i];
  return v;
}

std::string_view LinkTable::source_key(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  return varint::GetString(p);
}

std::string_view LinkTable::idaas_id(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, 1);
  return varint::GetString(p);
}

Link LinkTable::Get(size_t i) const {
  LinkView v = (*this)[i];
  return Link{v.type, std::string(v.source_key), std::string(v.idaas_id), v.ownership,
              v.missing_since_ms, v.disabled_by_idsync};
}

size_t LinkTable::MemoryBytes() const {
  return arena_.size() + offset_.size() * sizeof(uint32_t) + flags_.size() +
         missing_since_ms_.size() * sizeof(int64_t);
}

// --------------------------------------------------------- MemberTable --

void MemberTable::AddRow(uint32_t user_row) {
  if (user_row >= kExternal) std::abort();  // 2^31 users: far beyond any directory
  refs_.push_back(user_row);
  ++begin_.back();
}

void MemberTable::AddId(std::string_view user_id) {
  refs_.push_back(kExternal | static_cast<uint32_t>(external_.size()));
  external_.emplace_back(user_id);
  ++begin_.back();
}

std::vector<std::string_view> MemberTable::Ids(size_t g, const UserTable& users) const {
  std::vector<std::string_view> out;
  if (g >= groups()) return out;  // a group pushed without StartGroup: no members
  const uint32_t b = begin_[g], e = begin_[g + 1];
  out.reserve(e - b);
  for (uint32_t k = b; k < e; ++k) {
    const uint32_t r = refs_[k];
    out.push_back((r & kExternal) != 0 ? std::string_view(external_[r & ~kExternal])
                                        : users.id(r));
  }
  return out;
}

std::span<const uint32_t> MemberTable::Refs(size_t g) const {
  if (g >= groups()) return {};  // a group pushed without StartGroup: no members
  return std::span<const uint32_t>(refs_).subspan(begin_[g], begin_[g + 1] - begin_[g]);
}

size_t MemberTable::MemoryBytes() const {
  size_t ext = 0;
  for (const auto& s : external_) ext += sizeof(s) + (s.size() > 15 ? s.capacity() + 1 : 0);
  return (begin_.capacity() + refs_.capacity()) * sizeof(uint32_t) + ext;
}

// --------------------------------------------------------- CachedState --

void CachedState::AddGroup(const IdaasGroup& group) {
  IdaasGroup g = group;
  g.member_ids.clear();
  groups.push_back(std::move(g));
  members.StartGroup();
  for (const auto& id : group.member_ids) members.AddId(id);
}

IdaasGroup CachedState::Group(size_t g) const {
  IdaasGroup out = groups[g];
  for (std::string_view id : GroupMembers(g)) out.member_ids.emplace_back(id);
  return out;
}

size_t CachedState::MemoryBytes() const {
  size_t n = users.MemoryBytes() + links.MemoryBytes() + members.MemoryBytes();
  for (const auto& o : ous) {
    n += sizeof(o);
    for (const std::string* s : {&o.id, &o.name, &o.parent_id, &o.description,
                                 &o.external_id, &o.source_type, &o.source_id}) {
      if (s->size() > 15) n += s->capacity() + 1;
    }
  }
  return n + groups.capacity() * sizeof(IdaasGroup);
}

}  // namespace idsync::sync
