#include "visibility.h"

#include <algorithm>

#include "api_error.h"

namespace idsync::emulator {

// Walks up the parents without copying ids: this runs for every user of a
// listing, so it is on the hot path.
bool Visibility::OuInScope(const std::string& ou_id) const {
  const auto& scope_ids = client_.scope.organizational_unit_ids;
  const std::string* current = &ou_id;
  for (size_t steps = 0; !current->empty() && steps <= state_.ous.size(); ++steps) {
    for (const std::string& scope_id : scope_ids) {
      if (scope_id == *current) return true;
    }
    auto it = state_.ous.find(*current);
    if (it == state_.ous.end()) return false;
    current = &it->second.parent_id;
  }
  return false;
}

bool Visibility::GroupInScope(const Group& group) const {
  const auto& ids = client_.scope.group_ids;
  return group.creator_application_id == client_.application_id ||
         std::find(ids.begin(), ids.end(), group.id) != ids.end();
}

User& Visibility::VisibleUser(const std::string& id) const {
  auto it = state_.users.find(id);
  if (it == state_.users.end() || !UserInScope(it->second)) {
    Refuse({404, "EntityNotExists.User", "The user " + id + " does not exist."});
  }
  return it->second;
}

namespace {

ApiError NoSuchOu(const std::string& id) {
  return {404, "EntityNotExists.OrganizationalUnit",
          "The organizational unit " + id + " does not exist."};
}

}  // namespace

Ou& Visibility::VisibleOu(const std::string& id) const {
  auto it = state_.ous.find(id);
  if (it == state_.ous.end() || !OuInScope(id)) Refuse(NoSuchOu(id));
  return it->second;
}

Group& Visibility::VisibleGroup(const std::string& id) const {
  auto it = state_.groups.find(id);
  if (it == state_.groups.end() || !GroupInScope(it->second)) {
    Refuse({404, "EntityNotExists.Group", "The group " + id + " does not exist."});
  }
  return it->second;
}

Ou& Visibility::ReferencedOu(const std::string& id) const {
  auto it = state_.ous.find(id);
  if (it == state_.ous.end()) Refuse(NoSuchOu(id));
  if (!OuInScope(id)) {
    Refuse({403, "Forbidden.OutOfScope",
            "The organizational unit " + id +
                " is outside the application's provisioning scope."});
  }
  return it->second;
}

}  // namespace idsync::emulator
