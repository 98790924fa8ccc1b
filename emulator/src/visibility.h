// What one client may see of the directory: its provisioning scope (OUs and
// everything below them; groups it created or was given). Entities outside
// the scope answer like missing ones.
#pragma once

#include <string>

#include "state.h"

namespace idsync::emulator {

class Visibility {
 public:
  // REQUIRES: `state` and `client` outlive this view.
  Visibility(State& state, const Client& client) : state_(state), client_(client) {}

  bool OuInScope(const std::string& ou_id) const;
  bool UserInScope(const User& user) const { return OuInScope(user.primary_ou); }
  bool GroupInScope(const Group& group) const;

  // Addressed entities outside the scope are invisible: 404 like a missing
  // one (refuses with EntityNotExists.*).
  User& VisibleUser(const std::string& id) const;
  Ou& VisibleOu(const std::string& id) const;
  Group& VisibleGroup(const std::string& id) const;

  // OUs named in a request body or query: a missing one is 404, an existing
  // one outside the scope is 403 (the application may not place users there).
  Ou& ReferencedOu(const std::string& id) const;

 private:
  State& state_;
  const Client& client_;
};

}  // namespace idsync::emulator
