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
