// The Developer API's organizational unit operations, and the operations
// that change a user's OU memberships.
#include <vector>

#include "api_error.h"
#include "entity_json.h"
#include "handlers.h"
#include "responses.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

// 409 when `parent_id` already has a child named `name` other than `self`.
void CheckNameFree(const State& state, const std::string& parent_id, const std::string& name,
                   const std::string& self) {
  for (const std::string& child : state.ous.at(parent_id).children) {
    if (child != self && state.ous.at(child).name == name) {
      Refuse({409, "EntityAlreadyExists.OrganizationalUnit.Name",
              "An organizational unit named '" + name + "' already exists under " +
                  parent_id + "."});
    }
  }
}

}  // namespace

Response CreateOrganizationalUnit(Core& core, RequestContext& context) {
  const Body& body = context.body;
  State& state = core.state;
  std::string name = *body.String("organizationalUnitName", true, 128);
  std::string parent_id = *body.String("parentId", true);
  std::string description = body.String("description", false, 256).value_or("");
  auto external_id = body.String("organizationalUnitExternalId", false, 128);
  Ou& parent = ViewOf(core, context).ReferencedOu(parent_id);
  CheckNameFree(state, parent_id, name, std::string());
  Ou ou;
  ou.id = core.NewId("ou_");
  ou.name = name;
  ou.description = description;
  ou.parent_id = parent_id;
  ou.source_type = kSourceBuildIn;
  ou.source_id = state.instance_id;
  ou.external_id = external_id && !external_id->empty() ? *external_id : ou.id;
  std::string key = ExternalKey(ou.source_type, ou.source_id, ou.external_id);
  if (state.ou_by_external_id.contains(key)) {
    Refuse({409, "EntityAlreadyExists.OrganizationalUnit.ExternalId",
            "An organizational unit with external id '" + ou.external_id +
                "' already exists."});
  }
  ou.create_time = ou.update_time = context.NowMs();
  state.ou_by_external_id[key] = ou.id;
  parent.children.insert(ou.id);
  std::string id = ou.id;
  state.ous.emplace(id, std::move(ou));
  return JsonResponse(200, json::object{{"organizationalUnitId", id}});
}

Response PatchOrganizationalUnit(Core& core, RequestContext& context) {
  Ou& ou = ViewOf(core, context).VisibleOu(context.id);
  auto name = context.body.String("organizationalUnitName", false, 128);
  auto description = context.body.String("description", false, 256);
  if (name) {
    if (name->empty()) Invalid("organizationalUnitName", "must not be empty");
    if (!ou.parent_id.empty()) CheckNameFree(core.state, ou.parent_id, *name, context.id);
    ou.name = *name;
  }
  if (description) ou.description = *description;
  ou.update_time = context.NowMs();
  return EmptyResponse();
}

Response DeleteOrganizationalUnit(Core& core, RequestContext& context) {
  const std::string& id = context.id;
  Ou& ou = ViewOf(core, context).VisibleOu(id);
  if (ou.parent_id.empty()) {
    Refuse({400, "OperationDenied.RootOrganizationalUnit",
            "The root organizational unit cannot be deleted."});
  }
  if (!ou.children.empty()) {
    Refuse({400, "OperationDenied.OrganizationalUnitHasChildren",
            "The organizational unit " + id + " still has child units."});
  }
  if (!ou.members.empty()) {
    Refuse({400, "OperationDenied.OrganizationalUnitHasMembers",
            "The organizational unit " + id + " still has members."});
  }
  State& state = core.state;
  state.ous.at(ou.parent_id).children.erase(id);
  state.ou_by_external_id.erase(ExternalKey(ou.source_type, ou.source_id, ou.external_id));
  state.ous.erase(id);
  return EmptyResponse();
}

Response GetOrganizationalUnit(Core& core, RequestContext& context) {
  return JsonResponse(200, OuJson(core.state, ViewOf(core, context).VisibleOu(context.id)));
}

Response ListOrganizationalUnits(Core& core, RequestContext& context) {
  auto parent_id = FindParam(context.query, "parentId");
  if (!parent_id || parent_id->empty()) Missing("parentId");
  PageNumber page = PageParams(context.query);
  const Ou& parent = ViewOf(core, context).ReferencedOu(*parent_id);
  json::array data;
  int64_t total = 0;
  for (const std::string& child : parent.children) {
    if (total >= page.offset && static_cast<int>(data.size()) < page.size) {
      data.emplace_back(OuJson(core.state, core.state.ous.at(child)));
    }
    ++total;
  }
  json::object body;
  body["totalCount"] = total;
  body["data"] = std::move(data);
  return JsonResponse(200, body);
}

Response ListOrganizationalUnitParentIds(Core& core, RequestContext& context) {
  const Visibility view = ViewOf(core, context);
  const Ou& ou = view.VisibleOu(context.id);
  std::vector<std::string> chain;
  for (std::string current = ou.parent_id; !current.empty();
       current = core.state.ous.at(current).parent_id) {
    if (view.OuInScope(current)) chain.push_back(current);
  }
  json::array ids;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) ids.emplace_back(json::string(*it));
  return JsonResponse(200, json::object{{"parentIds", std::move(ids)}});
}

Response GetOrganizationalUnitIdByExternalId(Core& core, RequestContext& context) {
  std::string external_id = *context.body.String("organizationalUnitExternalId", true);
  std::string source_id = *context.body.String("organizationalUnitSourceId", true);
  std::string source_type = *context.body.String("organizationalUnitSourceType", true);
  const auto& index = core.state.ou_by_external_id;
  auto it = index.find(ExternalKey(source_type, source_id, external_id));
  if (it == index.end() || !ViewOf(core, context).OuInScope(it->second)) {
    if (core.options.lookup_miss_200) return JsonResponse(200, json::object{});
    Refuse({404, "EntityNotExists.OrganizationalUnit",
            "No matching organizational unit exists."});
  }
  return JsonResponse(200, json::object{{"organizationalUnitId", it->second}});
}

Response AddUserToOrganizationalUnits(Core& core, RequestContext& context) {
  auto ou_ids = *context.body.Strings("organizationalUnitIds", true);
  const Visibility view = ViewOf(core, context);
  User& user = view.VisibleUser(context.id);
  for (const std::string& ou_id : ou_ids) view.ReferencedOu(ou_id);
  for (const std::string& ou_id : ou_ids) {
    user.ous.insert(ou_id);
    core.state.ous.at(ou_id).members.insert(user.id);
  }
  user.update_time = context.NowMs();
  return EmptyResponse();
}

Response RemoveUserFromOrganizationalUnits(Core& core, RequestContext& context) {
  auto ou_ids = *context.body.Strings("organizationalUnitIds", true);
  const Visibility view = ViewOf(core, context);
  User& user = view.VisibleUser(context.id);
  for (const std::string& ou_id : ou_ids) {
    view.ReferencedOu(ou_id);
    if (ou_id == user.primary_ou) {
      Refuse({400, "OperationDenied.PrimaryOrganizationalUnit",
              "The primary organizational unit " + ou_id +
                  " cannot be removed; set another primary first."});
    }
  }
  for (const std::string& ou_id : ou_ids) {
    user.ous.erase(ou_id);
    core.state.ous.at(ou_id).members.erase(user.id);
  }
  user.update_time = context.NowMs();
  return EmptyResponse();
}

Response SetUserPrimaryOrganizationalUnit(Core& core, RequestContext& context) {
  std::string ou_id = *context.body.String("organizationalUnitId", true);
  const Visibility view = ViewOf(core, context);
  User& user = view.VisibleUser(context.id);
  Ou& ou = view.ReferencedOu(ou_id);
  if (ou_id != user.primary_ou) {
    // The old primary membership is removed, as the SDK summary says.
    core.state.ous.at(user.primary_ou).members.erase(user.id);
    user.ous.erase(user.primary_ou);
    user.primary_ou = ou_id;
    user.ous.insert(ou_id);
    ou.members.insert(user.id);
    user.update_time = context.NowMs();
  }
  return EmptyResponse();
}

}  // namespace idsync::emulator
