#include "idsync/sync/model.h"

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
