// The helpers the typed wrappers share: a CallSpec from action, method and
// path, and a call whose response becomes a typed result, an id or a Status.
// Each call helper holds `impl` for the whole call, so a Client destroyed
// while the call is in flight does not pull the machinery from under it.
// Private.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client_impl.h"
#include "codec.h"
#include "paging.h"
#include "url_query.h"

namespace idsync::idaas::detail {

using ImplPtr = std::shared_ptr<detail::ClientCore>;

template <class T>
Result<T> DecodeAs(const Result<CallResponse>& r, const char* action) {
  if (!r) return r.error();
  T out;
  std::string error;
  if (!detail::Decode(r->body, &out, &error)) return BadResponse(*r, action, error);
  return out;
}

// What a 200 without the id means.
enum class NoId {
  kNotFound,   // a lookup: some services answer "no match" this way
  kAmbiguous,  // a create: it probably committed, but under which id?
};

CallSpec Spec(const char* action, http::verb method, std::string path);
CallSpec WithBody(CallSpec s, std::string body, bool idempotent = true);
// {"<key>": [ids...]}
std::string IdsBody(std::string_view key, const std::vector<std::string>& ids);

// The call; its response decoded as T.
template <class T>
awaitable<Result<T>> CallFor(ImplPtr impl, CallSpec spec) {
  const char* action = spec.action;
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<T>(r, action);
}

// The call; the string field `key` of its response.
awaitable<Result<std::string>> CallForId(ImplPtr impl, CallSpec spec, const char* key,
                                         NoId no_id);

// The call; only whether it succeeded.
awaitable<Status> CallForStatus(ImplPtr impl, CallSpec spec);

// A DELETE: one retried after a lost response finds the object gone, and
// that is done.
awaitable<Status> CallDelete(ImplPtr impl, CallSpec spec);

}  // namespace idsync::idaas::detail

namespace idsync::idaas {

// The typed wrappers (users.cpp, organizational_units.cpp, groups.cpp,
// application.cpp) speak this vocabulary unqualified.
using detail::CallDelete;
using detail::CallFor;
using detail::CallForId;
using detail::CallForStatus;
using detail::Collect;
using detail::IdsBody;
using detail::kPageSize;
using detail::NoId;
using detail::PageNumberListing;
using detail::PercentEncode;
using detail::Query;
using detail::Spec;
using detail::TokenListing;
using detail::WithBody;

}  // namespace idsync::idaas
