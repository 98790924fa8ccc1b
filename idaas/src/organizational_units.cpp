// The typed calls on organizational units: create, patch, delete, get,
// list and stream, parent ids, and the look-up by external id.
#include <boost/json/object.hpp>

#include <utility>

#include "typed_call.h"

namespace idsync::idaas {

namespace json = boost::json;
using Kind = ApiError::Kind;

namespace {

std::string OuPath(const std::string& organizational_unit_id) {
  return "/organizationalUnits/" + PercentEncode(organizational_unit_id);
}

}  // namespace

awaitable<Result<std::string>> Client::CreateOrganizationalUnit(
    CreateOrganizationalUnitRequest request) {
  return CallForId(impl_,
                   WithBody(Spec("CreateOrganizationalUnit", http::verb::post,
                                 "/organizationalUnits"),
                            detail::Encode(request), /*idempotent=*/false),
                   "organizationalUnitId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchOrganizationalUnit(
    std::string organizational_unit_id,
    PatchOrganizationalUnitRequest request) {
  return CallForStatus(impl_, WithBody(Spec("PatchOrganizationalUnit", http::verb::patch,
                                            OuPath(organizational_unit_id)),
                                       detail::Encode(request)));
}

awaitable<Status> Client::DeleteOrganizationalUnit(
    std::string organizational_unit_id) {
  return CallDelete(impl_, Spec("DeleteOrganizationalUnit", http::verb::delete_,
                                OuPath(organizational_unit_id)));
}

awaitable<Result<OrganizationalUnit>> Client::GetOrganizationalUnit(
    std::string organizational_unit_id) {
  return CallFor<OrganizationalUnit>(
      impl_, Spec("GetOrganizationalUnit", http::verb::get, OuPath(organizational_unit_id)));
}

awaitable<Result<OrganizationalUnitPage>> Client::ListOrganizationalUnits(
    std::string parent_id, int page_number, int page_size) {
  auto spec = Spec("ListOrganizationalUnits", http::verb::get,
                   "/organizationalUnits");
  Query q;
  q.Add("parentId", parent_id)
      .Add("pageNumber", std::to_string(page_number))
      .Add("pageSize", std::to_string(page_size));
  spec.query = std::move(q.text);
  return CallFor<OrganizationalUnitPage>(impl_, std::move(spec));
}

awaitable<Status> Client::StreamOrganizationalUnits(
    std::string parent_id,
    std::function<void(std::vector<OrganizationalUnit>&&)> on_page) {
  auto fetch = [this, parent_id](int page)
      -> awaitable<Result<std::pair<int64_t, std::vector<OrganizationalUnit>>>> {
    auto r = co_await ListOrganizationalUnits(parent_id, page, kPageSize);
    if (!r) co_return r.error();
    co_return std::pair{r->total_count, std::move(r->organizational_units)};
  };
  auto st = co_await PageNumberListing<OrganizationalUnit>(
      "ListOrganizationalUnits", fetch,
      [](const OrganizationalUnit& o) { return o.organizational_unit_id; },
      on_page);
  co_return st;
}

awaitable<Result<std::vector<OrganizationalUnit>>>
Client::ListAllOrganizationalUnits(std::string parent_id) {
  return Collect<OrganizationalUnit>([this, parent_id](auto sink) {
    return StreamOrganizationalUnits(parent_id, std::move(sink));
  });
}

awaitable<Result<std::vector<std::string>>>
Client::ListOrganizationalUnitParentIds(std::string organizational_unit_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("ListOrganizationalUnitParentIds", http::verb::get,
                                    OuPath(organizational_unit_id) + "/parentIds"));
  if (!r) co_return r.error();
  std::vector<std::string> ids;
  std::string error;
  if (!r->body.is_object() ||
      !detail::StringArrayField(r->body.get_object(), "parentIds", &ids,
                                &error)) {
    ApiError e = detail::MakeError(Kind::kProtocol, "BadResponse",
                                   error.empty() ? "not a JSON object" : error);
    e.action = "ListOrganizationalUnitParentIds";
    co_return e;
  }
  co_return ids;
}

awaitable<Result<std::string>> Client::GetOrganizationalUnitIdByExternalId(
    std::string organizational_unit_external_id,
    std::optional<std::string> source_type,
    std::optional<std::string> source_id) {
  json::object o;
  o["organizationalUnitExternalId"] = organizational_unit_external_id;
  o["organizationalUnitSourceType"] = source_type.value_or("build_in");
  o["organizationalUnitSourceId"] = source_id.value_or(impl_->instance_id());
  return CallForId(impl_,
                   WithBody(Spec("GetOrganizationalUnitIdByExternalId", http::verb::post,
                                 "/organizationalUnits/_/actions/"
                                 "getOrganizationalUnitIdByExternalId"),
                            detail::EncodeObject(o)),
                   "organizationalUnitId", NoId::kNotFound);
}

}  // namespace idsync::idaas
