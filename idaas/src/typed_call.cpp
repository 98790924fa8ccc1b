// The typed wrappers' call helpers: specs, bodies, and a call's response as
// an id or a Status.
#include "typed_call.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace idsync::idaas::detail {

namespace json = boost::json;
using Kind = ApiError::Kind;

CallSpec Spec(const char* action, http::verb method, std::string path) {
  CallSpec s;
  s.action = action;
  s.method = method;
  s.path = std::move(path);
  return s;
}

CallSpec WithBody(CallSpec s, std::string body, bool idempotent) {
  s.body = std::move(body);
  s.idempotent = idempotent;
  return s;
}

std::string IdsBody(std::string_view key, const std::vector<std::string>& ids) {
  json::array a;
  for (const auto& id : ids) a.push_back(json::string(id));
  json::object o;
  o[key] = std::move(a);
  return detail::EncodeObject(o);
}

namespace {

Result<std::string> IdField(const Result<CallResponse>& r, const char* action,
                            std::string_view key, NoId no_id) {
  if (!r) return r.error();
  std::string id;
  if (r->body.is_object()) id = detail::StringField(r->body.get_object(), key);
  if (id.empty()) {
    if (no_id == NoId::kAmbiguous) {
      ApiError e = BadResponse(*r, action, "response has no " + std::string(key));
      e.ambiguous = true;
      return e;
    }
    ApiError e = MakeError(Kind::kNotFound, "",
                           "no match (HTTP " + std::to_string(r->status) +
                               " without " + std::string(key) + ")");
    e.action = action;
    e.http_status = r->status;
    e.request_id = r->request_id;
    return e;
  }
  return id;
}

Status AsStatus(const Result<CallResponse>& r) {
  if (!r) return r.error();
  return {};
}

}  // namespace

awaitable<Result<std::string>> CallForId(ImplPtr impl, CallSpec spec, const char* key,
                                         NoId no_id) {
  const char* action = spec.action;
  auto r = co_await impl->Call(std::move(spec));
  co_return IdField(r, action, key, no_id);
}

awaitable<Status> CallForStatus(ImplPtr impl, CallSpec spec) {
  auto r = co_await impl->Call(std::move(spec));
  co_return AsStatus(r);
}

awaitable<Status> CallDelete(ImplPtr impl, CallSpec spec) {
  auto r = co_await impl->Call(std::move(spec));
  if (!r) {
    const ApiError e = ApiErrorOf(r.error());
    if (e.kind == Kind::kNotFound && e.attempts > 1) co_return Status{};
  }
  co_return AsStatus(r);
}

}  // namespace idsync::idaas::detail
