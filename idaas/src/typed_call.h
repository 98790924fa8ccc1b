// The helpers the typed wrappers share: a CallSpec from action, method and
// path, and a CallResponse turned into a typed result, an id or a Status.
// Private.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "client_impl.h"
#include "codec.h"
#include "paging.h"
#include "url_query.h"

namespace idsync::idaas::detail {

namespace json = boost::json;
using Kind = ApiError::Kind;

template <class T>
Result<T> DecodeAs(const Result<CallResponse>& r, const char* action) {
  if (!r) return r.error();
  T out;
  std::string error;
  if (!detail::Decode(r->body, &out, &error)) {
    ApiError e = MakeError(Kind::kProtocol, "BadResponse", error);
    e.action = action;
    e.http_status = r->status;
    e.request_id = r->request_id;
    return e;
  }
  return out;
}

// What a 200 without the id means.
enum class NoId {
  kNotFound,   // a lookup: some services answer "no match" this way
  kAmbiguous,  // a create: it probably committed, but under which id?
};

inline Result<std::string> IdField(const Result<CallResponse>& r, const char* action,
                            std::string_view key, NoId no_id) {
  if (!r) return r.error();
  std::string id;
  if (r->body.is_object()) id = detail::StringField(r->body.get_object(), key);
  if (id.empty()) {
    ApiError e;
    if (no_id == NoId::kNotFound) {
      e = MakeError(Kind::kNotFound, "",
                    "no match (HTTP " + std::to_string(r->status) +
                        " without " + std::string(key) + ")");
    } else {
      e = MakeError(Kind::kProtocol, "BadResponse",
                    "response has no " + std::string(key));
      e.ambiguous = true;
    }
    e.action = action;
    e.http_status = r->status;
    e.request_id = r->request_id;
    return e;
  }
  return id;
}

inline Status AsStatus(const Result<CallResponse>& r) {
  if (!r) return r.error();
  return {};
}

// A DELETE retried after a lost response finds the object gone: done.
inline Status DeleteStatus(const Result<CallResponse>& r) {
  if (!r && r.error().kind == Kind::kNotFound && r.error().attempts > 1)
    return {};
  return AsStatus(r);
}

inline CallSpec Spec(const char* action, http::verb method, std::string path) {
  CallSpec s;
  s.action = action;
  s.method = method;
  s.path = std::move(path);
  return s;
}

inline CallSpec WithBody(CallSpec s, std::string body, bool idempotent = true) {
  s.body = std::move(body);
  s.idempotent = idempotent;
  return s;
}

inline std::string IdsBody(std::string_view key, const std::vector<std::string>& ids) {
  json::array a;
  for (const auto& id : ids) a.push_back(json::string(id));
  json::object o;
  o[key] = std::move(a);
  return detail::EncodeObject(o);
}

}  // namespace idsync::idaas::detail

namespace idsync::idaas {

// The typed wrappers (users.cpp, organizational_units.cpp, groups.cpp,
// application.cpp) speak this vocabulary unqualified.
using detail::AsStatus;
using detail::DecodeAs;
using detail::DeleteStatus;
using detail::IdField;
using detail::IdsBody;
using detail::kPageSize;
using detail::MakeError;
using detail::NoId;
using detail::PageNumberListing;
using detail::PercentEncode;
using detail::Query;
using detail::Spec;
using detail::TokenListing;
using detail::WithBody;

}  // namespace idsync::idaas
