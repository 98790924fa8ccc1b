#include "idsync/sync/model.h"

namespace idsync::sync {

std::string Origin::ToString() const {
  if (line > 0) return file + ":" + std::to_string(line);
  return file;
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
