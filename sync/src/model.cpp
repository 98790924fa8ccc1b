#include "idsync/sync/model.h"

#include <algorithm>
#include <cstdlib>
#include <ostream>

namespace idsync::sync {

const std::string& SharedString::Empty() {
  static const std::string empty;
  return empty;
}

std::ostream& operator<<(std::ostream& out, const SharedString& s) { return out << s.str(); }

std::string Origin::ToString() const {
  if (line > 0) return file.str() + ":" + std::to_string(line);
  return file.str();
}

KeyList::KeyList(std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) push_back(k);
}

KeyList::KeyList(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) push_back(k);
}

void KeyList::reserve(size_t keys, size_t bytes) {
  end_.reserve(keys);
  bytes_.reserve(bytes);
}

void KeyList::push_back(std::string_view key) {
  bytes_.append(key);
  // 4 GiB of keys in one group: far beyond any directory.
  if (bytes_.size() > 0xffffffffu) std::abort();
  end_.push_back(static_cast<uint32_t>(bytes_.size()));
}

void KeyList::clear() {
  bytes_.clear();
  end_.clear();
}

bool KeyList::IsSortedUnique() const {
  for (size_t i = 1; i < size(); ++i) {
    if (!((*this)[i - 1] < (*this)[i])) return false;
  }
  return true;
}

void KeyList::SortUnique() {
  if (IsSortedUnique()) return;
  std::vector<std::string_view> keys(begin(), end());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  KeyList sorted;
  sorted.reserve(keys.size(), bytes_.size());
  for (std::string_view k : keys) sorted.push_back(k);
  *this = std::move(sorted);
}

bool operator==(const KeyList& a, const std::vector<std::string>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

const char* UserFieldName(UserField f) {
  switch (f) {
    case UserField::kUsername: return "username";
    case UserField::kDisplayName: return "display_name";
    case UserField::kEmail: return "email";
    case UserField::kPhoneNumber: return "phone_number";
    case UserField::kPhoneRegion: return "phone_region";
    case UserField::kDescription: return "description";
    case UserField::kPrimaryOu: return "primary_ou";
    case UserField::kExtraOus: return "extra_ous";
    case UserField::kEnabled: return "enabled";
    case UserField::kCustomFields: return "custom_fields";
  }
  return "unknown";
}

}  // namespace idsync::sync
