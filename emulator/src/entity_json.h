// The JSON of the directory's entities, in the Developer API's field names.
// The state file (state.cpp) writes the same fields, so each entity's fields
// have one home here.
#pragma once

#include <boost/json.hpp>

#include "state.h"
#include "visibility.h"

namespace idsync::emulator {

// userId … updateTime: what ListUsers items and the state file share.
void AddUserFields(boost::json::object& object, const User& user);
boost::json::array CustomFieldsJson(const User& user);
// ListUsers items (detail = false) and GetUser (detail = true: primary OU,
// OU and group memberships in the caller's scope, custom fields).
boost::json::object UserJson(const State& state, const Visibility& view,
                             const User& user, bool detail);

// organizationalUnitId … updateTime: what GetOrganizationalUnit and the state
// file share.
void AddOuFields(boost::json::object& object, const Ou& ou);
boost::json::object OuJson(const State& state, const Ou& ou);

// groupId … updateTime; the state file adds the creating application
// (`with_creator`), which the API does not show.
void AddGroupFields(boost::json::object& object, const Group& group, bool with_creator);
boost::json::object GroupJson(const State& state, const Group& group);

}  // namespace idsync::emulator
