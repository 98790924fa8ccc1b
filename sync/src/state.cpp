#include "idsync/sync/state.h"

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

void UserTable::reserve(size_t users, size_t arena_bytes) {
  rows_.reserve(users);
  arena_.reserve(arena_bytes);
}

UserTable::Ref UserTable::Put(std::string_view s) {
  if (s.empty()) return {};
  Ref r{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(s.size())};
  arena_.insert(arena_.end(), s.begin(), s.end());
  return r;
}

UserTable::Ref UserTable::Intern(std::string_view s) {
  if (s.empty()) return {};
  auto it = interned_.find(s);
  if (it != interned_.end()) return it->second;
  Ref r = Put(s);
  interned_.emplace(std::string(s), r);
  return r;
}

void UserTable::Add(const IdaasUser& u) {
  // Interned values mostly repeat the previous row's (same source, region,
  // custom field names), so compare with it before hashing.
  const Row* prev = rows_.empty() ? nullptr : &rows_.back();
  auto intern_like = [this](std::string_view s, const Ref* hint) {
    if (hint != nullptr && S(*hint) == s) return *hint;
    return Intern(s);
  };
  Row row;
  row.id = Put(u.id);
  row.username = Put(u.username);
  row.display_name = Put(u.display_name);
  row.email = Put(u.email);
  row.phone_number = Put(u.phone_number);
  row.phone_region = intern_like(u.phone_region, prev ? &prev->phone_region : nullptr);
  row.description = Put(u.description);
  row.external_id = Put(u.external_id);
  row.source_type = intern_like(u.source_type, prev ? &prev->source_type : nullptr);
  row.source_id = intern_like(u.source_id, prev ? &prev->source_id : nullptr);
  row.primary_ou_id = Intern(u.primary_ou_id);
  row.ous_begin = static_cast<uint32_t>(ou_refs_.size());
  for (const auto& ou : u.ou_ids) ou_refs_.push_back(intern_like(ou, &row.primary_ou_id));
  row.ous_count = static_cast<uint32_t>(u.ou_ids.size());
  row.custom_begin = static_cast<uint32_t>(custom_refs_.size());
  uint32_t k = 0;
  for (const auto& [name, value] : u.custom_fields) {
    const Ref* hint = prev != nullptr && k < prev->custom_count
                          ? &custom_refs_[prev->custom_begin + 2 * k]
                          : nullptr;
    Ref name_ref = intern_like(name, hint);
    custom_refs_.push_back(name_ref);
    custom_refs_.push_back(Put(value));
    ++k;
  }
  row.custom_count = static_cast<uint32_t>(u.custom_fields.size());
  row.enabled = u.enabled;
  row.update_time_ms = u.update_time_ms;
  rows_.push_back(row);
}

std::vector<std::string_view> UserTable::ou_ids(size_t i) const {
  const Row& r = rows_[i];
  std::vector<std::string_view> out;
  out.reserve(r.ous_count);
  for (uint32_t k = 0; k < r.ous_count; ++k) out.push_back(S(ou_refs_[r.ous_begin + k]));
  return out;
}

std::map<std::string, std::string> UserTable::custom_fields(size_t i) const {
  const Row& r = rows_[i];
  std::map<std::string, std::string> out;
  for (uint32_t k = 0; k < r.custom_count; ++k) {
    out.emplace(std::string(S(custom_refs_[r.custom_begin + 2 * k])),
                std::string(S(custom_refs_[r.custom_begin + 2 * k + 1])));
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
  size_t interned = 0;
  for (const auto& [k, v] : interned_) interned += k.capacity() + sizeof(v) + 32;
  return arena_.capacity() + rows_.capacity() * sizeof(Row) +
         (ou_refs_.capacity() + custom_refs_.capacity()) * sizeof(Ref) + interned;
}

}  // namespace idsync::sync
