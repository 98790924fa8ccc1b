// The Developer API's group operations and group memberships.
#include "api_error.h"
#include "entity_json.h"
#include "handlers.h"
#include "responses.h"
#include "token_paging.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

// Add (`add`) or remove the body's userIds to or from the addressed group.
Response ChangeMembers(Core& core, RequestContext& context, bool add) {
  auto user_ids = *context.body.Strings("userIds", true);
  const Visibility view = ViewOf(core, context);
  Group& group = view.VisibleGroup(context.id);
  for (const std::string& user_id : user_ids) view.VisibleUser(user_id);
  for (const std::string& user_id : user_ids) {
    User& user = core.state.users.at(user_id);
    if (add) {
      group.members.insert(user_id);
      user.groups.insert(group.id);
    } else {
      group.members.erase(user_id);
      user.groups.erase(group.id);
    }
  }
  return EmptyResponse();
}

}  // namespace

Response CreateGroup(Core& core, RequestContext& context) {
  State& state = core.state;
  std::string name = *context.body.String("groupName", true, 128);
  auto external_id = context.body.String("groupExternalId", false, 128);
  Group group;
  group.id = core.NewId("group_");
  group.name = name;
  group.source_type = kSourceBuildIn;
  group.source_id = state.instance_id;
  group.external_id = external_id && !external_id->empty() ? *external_id : group.id;
  group.creator_application_id = context.client->application_id;
  std::string key = ExternalKey(group.source_type, group.source_id, group.external_id);
  if (state.group_by_external_id.contains(key)) {
    Refuse({409, "EntityAlreadyExists.Group.ExternalId",
            "A group with external id '" + group.external_id + "' already exists."});
  }
  group.create_time = group.update_time = context.NowMs();
  state.group_by_external_id[key] = group.id;
  std::string id = group.id;
  state.groups.emplace(id, std::move(group));
  return JsonResponse(200, json::object{{"groupId", id}});
}

Response PatchGroup(Core& core, RequestContext& context) {
  Group& group = ViewOf(core, context).VisibleGroup(context.id);
  auto name = context.body.String("groupName", false, 128);
  if (name && name->empty()) Invalid("groupName", "must not be empty");
  if (name) group.name = *name;
  group.update_time = context.NowMs();
  return EmptyResponse();
}

Response DeleteGroup(Core& core, RequestContext& context) {
  State& state = core.state;
  const std::string& id = context.id;
  Group& group = ViewOf(core, context).VisibleGroup(id);
  for (const std::string& user_id : group.members) state.users.at(user_id).groups.erase(id);
  state.group_by_external_id.erase(
      ExternalKey(group.source_type, group.source_id, group.external_id));
  state.groups.erase(id);
  return EmptyResponse();
}

Response GetGroup(Core& core, RequestContext& context) {
  return JsonResponse(200,
                      GroupJson(core.state, ViewOf(core, context).VisibleGroup(context.id)));
}

Response ListGroups(Core& core, RequestContext& context) {
  std::string prefix = FindParam(context.query, "groupNameStartWith").value_or("");
  const Visibility view = ViewOf(core, context);
  json::object body = TokenPage(
      context.query, ListingsOf(core, context), core.state.groups,
      [&](const auto& entry) {
        return view.GroupInScope(entry.second) &&
               entry.second.name.compare(0, prefix.size(), prefix) == 0;
      },
      [&](const auto& entry) { return GroupJson(core.state, entry.second); }, "name:" + prefix);
  return JsonResponse(200, body);
}

Response AddUsersToGroup(Core& core, RequestContext& context) {
  return ChangeMembers(core, context, true);
}

Response RemoveUsersFromGroup(Core& core, RequestContext& context) {
  return ChangeMembers(core, context, false);
}

Response ListUsersForGroup(Core& core, RequestContext& context) {
  const Visibility view = ViewOf(core, context);
  const Group& group = view.VisibleGroup(context.id);
  const State& state = core.state;
  json::object page = TokenPage(
      context.query, ListingsOf(core, context), group.members,
      [&](const std::string& id) { return view.UserInScope(state.users.at(id)); },
      [&](const std::string& id) {
        return json::object{{"instanceId", state.instance_id}, {"userId", id}};
      });
  return JsonResponse(200, page);
}

Response ListGroupsForUser(Core& core, RequestContext& context) {
  const Visibility view = ViewOf(core, context);
  const User& user = view.VisibleUser(context.id);
  const State& state = core.state;
  json::object page = TokenPage(
      context.query, ListingsOf(core, context), user.groups,
      [&](const std::string& id) { return view.GroupInScope(state.groups.at(id)); },
      [&](const std::string& id) {
        return json::object{{"instanceId", state.instance_id},
                            {"groupId", id},
                            {"groupMemberRelationSourceType", kSourceBuildIn},
                            {"groupMemberRelationSourceId", state.instance_id}};
      });
  return JsonResponse(200, page);
}

}  // namespace idsync::emulator
