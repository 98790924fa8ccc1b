#include "idsync/sync/source_snapshot.h"

#include "varint.h"

namespace idsync::sync {

// ---------------------------------------------------- CustomFieldsView --

CustomFieldsView::value_type CustomFieldsView::Iterator::operator*() const {
  const char* p = p_;
  const uint64_t name = varint::Get(p);
  return {names_[name], varint::GetString(p)};
}

CustomFieldsView::Iterator& CustomFieldsView::Iterator::operator++() {
  varint::Get(p_);
  p_ += varint::Get(p_);
  if (--left_ == 0) p_ = nullptr;
  return *this;
}

std::optional<std::string_view> CustomFieldsView::find(
    std::string_view name) const {
  for (const auto& [n, v] : *this) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// -------------------------------------------------------- DesiredUsers --

DesiredUsers::DesiredUsers(std::initializer_list<DesiredUser> users) {
  reserve(users.size());
  for (const DesiredUser& u : users) push_back(u);
}

DesiredUsers::DesiredUsers(const std::vector<DesiredUser>& users) {
  reserve(users.size());
  for (const DesiredUser& u : users) push_back(u);
}

void DesiredUsers::reserve(size_t users, size_t ou_keys) {
  if (ou_keys > ou_keys_.size()) {
    ou_keys_.reserve(ou_keys);
    ou_index_.reserve(ou_keys);
  }
  offset_.reserve(users);
  ou_.reserve(users);
  file_.reserve(users);
  line_.reserve(users);
  enabled_.reserve(users);
}

uint32_t DesiredUsers::Intern(
    std::string_view s, std::vector<SharedString>* pool,
    boost::unordered_flat_map<std::string_view, uint32_t>* index) {
  if (auto it = index->find(s); it != index->end()) return it->second;
  const auto i = static_cast<uint32_t>(pool->size());
  pool->emplace_back(std::string(s));
  // The view is of the shared copy, which never moves.
  index->emplace(std::string_view(pool->back()), i);
  return i;
}

uint32_t DesiredUsers::InternShared(
    const SharedString& s, std::vector<SharedString>* pool,
    boost::unordered_flat_map<std::string_view, uint32_t>* index) {
  if (auto it = index->find(std::string_view(s)); it != index->end()) {
    return it->second;
  }
  const auto i = static_cast<uint32_t>(pool->size());
  pool->push_back(s);
  index->emplace(std::string_view(pool->back()), i);
  return i;
}

void DesiredUsers::Append(const DesiredUsers& other) {
  auto remap =
      [](const std::vector<SharedString>& from, std::vector<SharedString>* pool,
         boost::unordered_flat_map<std::string_view, uint32_t>* index) {
        std::vector<uint32_t> to(from.size());
        for (size_t i = 0; i < from.size(); ++i) {
          to[i] = InternShared(from[i], pool, index);
        }
        return to;
      };
  const std::vector<uint32_t> ou = remap(other.ou_keys_, &ou_keys_, &ou_index_);
  const std::vector<uint32_t> file = remap(other.files_, &files_, &file_index_);
  const std::vector<uint32_t> field =
      remap(other.field_names_, &field_names_, &field_index_);
  const size_t n = other.size();
  // No reserve(size() + n) here: appended batch by batch, an exact reserve
  // would copy the columns once per batch. They grow geometrically.
  bool same_fields = true;
  for (size_t i = 0; i < field.size(); ++i) same_fields &= field[i] == i;
  if (same_fields) {
    // The records hold field names by index, which are the same here: the
    // arena is copied as it is.
    const uint64_t base = arena_.size();
    arena_.insert(arena_.end(), other.arena_.begin(), other.arena_.end());
    for (const uint64_t o : other.offset_) offset_.push_back(base + o);
  } else {
    for (size_t r = 0; r < n; ++r) {
      offset_.push_back(arena_.size());
      const char* p = other.arena_.data() + other.offset_[r];
      const char* strings = p;
      varint::SkipStrings(p, 7);  // key .. description
      const uint64_t extras = varint::Get(p);
      varint::SkipStrings(p, static_cast<int>(extras));
      arena_.insert(arena_.end(), strings, p);
      const uint64_t fields = varint::Get(p);
      varint::Put(arena_, fields);
      for (uint64_t f = 0; f < fields; ++f) {
        varint::Put(arena_, field[varint::Get(p)]);
        varint::PutString(arena_, varint::GetString(p));
      }
    }
  }
  for (const uint32_t o : other.ou_) ou_.push_back(ou[o]);
  for (const uint32_t f : other.file_) file_.push_back(file[f]);
  line_.insert(line_.end(), other.line_.begin(), other.line_.end());
  enabled_.insert(enabled_.end(), other.enabled_.begin(), other.enabled_.end());
}

void DesiredUsers::push_back(const DesiredUser& u) {
  offset_.push_back(arena_.size());
  for (const std::string* s :
       {&u.key, &u.username, &u.display_name, &u.email, &u.phone_number,
        &u.phone_region, &u.description}) {
    varint::PutString(arena_, *s);
  }
  varint::Put(arena_, u.extra_ou_keys.size());
  for (const std::string& k : u.extra_ou_keys) varint::PutString(arena_, k);
  varint::Put(arena_, u.custom_fields.size());
  // Users mostly have the same fields: the k-th name is first compared with
  // the previous user's k-th, before it is looked up.
  size_t k = 0;
  for (const auto& [name, value] : u.custom_fields) {
    if (k == field_of_position_.size()) field_of_position_.push_back(0);
    uint32_t& field = field_of_position_[k++];
    if (field >= field_names_.size() || field_names_[field].str() != name) {
      field = Intern(name, &field_names_, &field_index_);
    }
    varint::Put(arena_, field);
    varint::PutString(arena_, value);
  }
  // The user's key is shared already: the pool keeps that copy.
  ou_.push_back(InternShared(u.primary_ou_key, &ou_keys_, &ou_index_));
  // Rows mostly come from one file in a row: skip the look-up then.
  const bool same_file =
      !file_.empty() && files_[file_.back()] == u.origin.file;
  file_.push_back(same_file ? file_.back()
                            : Intern(u.origin.file, &files_, &file_index_));
  line_.push_back(u.origin.line);
  enabled_.push_back(u.enabled);
}

std::string_view DesiredUsers::key(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  return varint::GetString(p);
}

std::string_view DesiredUsers::username(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, 1);
  return varint::GetString(p);
}

std::string_view DesiredUsers::email(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, 3);  // key, username, display_name
  return varint::GetString(p);
}

std::string_view DesiredUsers::phone_number(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, 4);  // key .. email
  return varint::GetString(p);
}

std::vector<std::string_view> DesiredUsers::extra_ou_keys(size_t i) const {
  const char* p = arena_.data() + offset_[i];
  varint::SkipStrings(p, 7);  // key .. description
  std::vector<std::string_view> out(varint::Get(p));
  for (auto& k : out) k = varint::GetString(p);
  return out;
}

DesiredUserView DesiredUsers::operator[](size_t i) const {
  DesiredUserView v;
  v.index = static_cast<uint32_t>(i);
  const char* p = arena_.data() + offset_[i];
  for (std::string_view* s :
       {&v.key, &v.username, &v.display_name, &v.email, &v.phone_number,
        &v.phone_region, &v.description}) {
    *s = varint::GetString(p);
  }
  if (const uint64_t extras = varint::Get(p); extras > 0) {
    v.extra_ou_keys.resize(extras);
    for (auto& k : v.extra_ou_keys) k = varint::GetString(p);
  }
  v.custom_fields.n_ = static_cast<uint32_t>(varint::Get(p));
  v.custom_fields.p_ = v.custom_fields.n_ > 0 ? p : nullptr;
  v.custom_fields.names_ = field_names_.data();
  v.primary_ou_key = ou_keys_[ou_[i]];
  v.enabled = enabled_[i];
  v.origin_file = &files_[file_[i]];
  v.origin_line = line_[i];
  return v;
}

DesiredUser DesiredUserView::ToUser() const {
  DesiredUser u;
  u.key = key;
  u.username = username;
  u.display_name = display_name;
  u.email = email;
  u.phone_number = phone_number;
  u.phone_region = phone_region;
  u.description = description;
  u.primary_ou_key = std::string(primary_ou_key);
  u.extra_ou_keys.assign(extra_ou_keys.begin(), extra_ou_keys.end());
  u.enabled = enabled;
  for (const auto& [name, value] : custom_fields)
    u.custom_fields.emplace(name, value);
  u.origin = origin();
  return u;
}

void DesiredUsers::Select(std::span<const uint32_t> from) {
  auto pick = [&from](auto& column) {
    std::remove_reference_t<decltype(column)> kept;
    kept.reserve(from.size());
    for (uint32_t i : from) kept.push_back(column[i]);
    column = std::move(kept);
  };
  pick(offset_);
  pick(ou_);
  pick(file_);
  pick(line_);
  pick(enabled_);
}

size_t DesiredUsers::MemoryBytes() const {
  size_t shared = 0;
  for (const auto* pool : {&ou_keys_, &files_, &field_names_}) {
    for (const SharedString& s : *pool) shared += sizeof(s) + s.size() + 48;
  }
  return arena_.size() + offset_.size() * sizeof(uint64_t) +
         (ou_.size() + file_.size()) * sizeof(uint32_t) +
         line_.size() * sizeof(int64_t) + enabled_.size() / 8 + shared;
}

bool operator==(const DesiredUsers& a, const DesiredUsers& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.Get(i) != b.Get(i)) return false;
  }
  return true;
}

}  // namespace idsync::sync
