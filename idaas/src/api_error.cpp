// ApiError: its text form, and the mapping of an HTTP answer (status, API or
// OAuth code, rate-limit headers) or a transport failure to its kind.
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <memory>

#include "client_impl.h"
#include "codec.h"
#include "idsync/base/clock.h"
#include "retry.h"

namespace idsync::idaas {

namespace beast = boost::beast;
namespace json = boost::json;
using Kind = ApiError::Kind;
using detail::CallSpec;
using detail::MakeError;

// ------------------------------------------------------------ ApiError ----

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNetwork: return "network";
    case Kind::kTimeout: return "timeout";
    case Kind::kTls: return "tls";
    case Kind::kThrottled: return "throttled";
    case Kind::kServer: return "server";
    case Kind::kClient: return "client";
    case Kind::kAuth: return "auth";
    case Kind::kPermission: return "permission";
    case Kind::kNotFound: return "not_found";
    case Kind::kConflict: return "conflict";
    case Kind::kProtocol: return "protocol";
    case Kind::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string ApiError::ToString() const {
  std::string s;
  if (!action.empty()) s += action + ": ";
  s += KindName(kind);
  s += " (";
  bool sep = false;
  if (http_status != 0) {
    s += "HTTP " + std::to_string(http_status);
    sep = true;
  }
  if (!code.empty()) {
    s += sep ? " " : "";
    s += code;
    sep = true;
  }
  if (!message.empty()) {
    s += sep ? ": " : "";
    s += message;
    sep = true;
  }
  if (!request_id.empty()) {
    s += sep ? " " : "";
    s += "request_id=" + request_id;
  }
  s += ")";
  if (ambiguous) s += " ambiguous: the write may have been applied";
  if (attempts > 0)
    s += " after " + std::to_string(attempts) +
         (attempts == 1 ? " attempt" : " attempts");
  return s;
}

base::Error ToError(ApiError e) {
  base::Error::Code code = base::Error::Code::kRemote;
  if (e.kind == Kind::kNotFound) code = base::Error::Code::kNotFound;
  if (e.kind == Kind::kConflict) code = base::Error::Code::kConflict;
  if (e.kind == Kind::kClient) code = base::Error::Code::kInvalid;
  std::string message = e.ToString();
  return base::Error(code, std::move(message), std::make_shared<const ApiError>(std::move(e)));
}

ApiError::operator base::Error() const { return ToError(*this); }

ApiError ApiErrorOf(const base::Error& e) {
  if (const auto* api = dynamic_cast<const ApiError*>(e.detail.get())) return *api;
  ApiError out;
  out.kind = Kind::kProtocol;
  out.message = e.message;
  return out;
}

namespace detail {

ApiError MakeError(Kind kind, std::string code, std::string message,
                   bool retryable) {
  ApiError e;
  e.kind = kind;
  e.code = std::move(code);
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

ApiError BadResponse(const CallResponse& r, const char* action, std::string message) {
  ApiError e = MakeError(Kind::kProtocol, "BadResponse", std::move(message));
  e.action = action;
  e.http_status = r.status;
  e.request_id = r.request_id;
  return e;
}

}  // namespace detail

namespace {

// Alibaba Cloud services spell these codes both ways ("EntityNotExists.User"
// and "EntityNotExist.User"), and some answer them with HTTP 400, so the code
// decides and not only the status.
bool IsNotFoundCode(std::string_view code) {
  return code.starts_with("EntityNotExist");
}
bool IsConflictCode(std::string_view code) {
  return code.starts_with("EntityAlreadyExist");
}

// The admin API's gateway answers a bad signature or AccessKey with 400, 403
// or 404 depending on the product page; the code decides, so that an unknown
// AccessKey (404 InvalidAccessKeyId.NotFound) is not taken for a missing
// object. Codes: ../shared/idaas-admin-api.md §1.4.
std::optional<Kind> AdminGatewayKind(std::string_view code) {
  if (code == "SignatureDoesNotMatch" || code == "IncompleteSignature" ||
      code == "SignatureNonceUsed" || code.starts_with("InvalidAccessKeyId") ||
      code.starts_with("InvalidTimeStamp") || code.starts_with("InvalidSecurityToken")) {
    return Kind::kAuth;
  }
  if (code.starts_with("Forbidden") || code.starts_with("NoPermission")) {
    return Kind::kPermission;
  }
  if (code.starts_with("ResourceNotFound") || code == "InvalidApi.NotFound") {
    return Kind::kNotFound;
  }
  if (code.starts_with("ResourceDuplicated")) return Kind::kConflict;
  return std::nullopt;
}

}  // namespace

ApiError detail::ClientCore::ErrorFromResponse(
    const CallSpec& spec, const http::response<http::string_body>& r,
    std::chrono::milliseconds* wait) const {
  ApiError e;
  e.http_status = r.result_int();
  boost::system::error_code ec;
  json::value v = json::parse(r.body(), ec);
  bool oauth = false;
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    std::string oauth_error = detail::StringField(o, "error");
    if (!oauth_error.empty()) {
      oauth = true;
      e.code = oauth_error;
      e.message = detail::StringField(o, "error_description");
      e.request_id = detail::StringFieldAny(o, {"request_id", "requestId"});
    } else {
      e.code = detail::StringFieldAny(o, {"Code", "code"});
      e.message = detail::StringFieldAny(o, {"Message", "message"});
      e.request_id =
          detail::StringFieldAny(o, {"RequestId", "requestId", "requestid"});
    }
  } else {
    e.message = "HTTP " + std::to_string(e.http_status) +
                " with a body that is not JSON";
  }
  if (e.request_id.empty()) {
    auto it = r.find("x-acs-request-id");
    if (it != r.end()) e.request_id = std::string(it->value());
  }
  bool throttled = e.http_status == 429 || e.code.starts_with("Throttling");
  std::chrono::milliseconds hint{0};
  for (const auto& field : r) {
    std::string name(field.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
    if (name == "retry-after") {
      const std::chrono::system_clock::time_point now{
          std::chrono::milliseconds(base::Clock::System().NowMs())};
      if (auto d = detail::ParseRetryAfter(field.value(), now))
        hint = std::max(hint, *d);
    } else if (name.starts_with("x-ratelimit-")) {
      if (auto d = detail::ParseTimeLeft(field.value())) hint = std::max(hint, *d);
    }
  }
  *wait = hint;
  int s = e.http_status;
  std::optional<Kind> gateway_kind;
  if (spec.rpc) gateway_kind = AdminGatewayKind(e.code);
  if (throttled) {
    e.kind = Kind::kThrottled;
    e.retryable = true;
  } else if (gateway_kind) {
    e.kind = *gateway_kind;
  } else if (s >= 500) {
    e.kind = Kind::kServer;
    if (spec.idempotent) {
      e.retryable = true;
    } else {
      // A gateway can answer 502/504 (or a backend 500/503) after the create
      // committed. Resending could make a second object (groups have no
      // documented external-id uniqueness), so the caller looks it up first,
      // as after a lost response.
      e.ambiguous = true;
    }
  } else if (s == 408) {
    e.kind = Kind::kTimeout;
    e.retryable = true;
  } else if (oauth || s == 401) {
    e.kind = Kind::kAuth;
  } else if (s == 403) {
    e.kind = Kind::kPermission;
  } else if (s == 404 || IsNotFoundCode(e.code)) {
    e.kind = Kind::kNotFound;
  } else if (s == 409 || IsConflictCode(e.code)) {
    e.kind = Kind::kConflict;
  } else if (s >= 400) {
    e.kind = Kind::kClient;
  } else {
    e.kind = Kind::kProtocol;
    e.message = "unexpected HTTP status " + std::to_string(s);
  }
  return e;
}

ApiError detail::ClientCore::ErrorFromTransport(const CallSpec& spec,
                                          const detail::Exchange& ex) const {
  ApiError e;
  std::string where = detail::StageName(ex.stage);
  if (shutdown_ || ex.ec == asio::error::operation_aborted) {
    e = MakeError(Kind::kCancelled, "Cancelled", "the client was shut down");
    return e;
  }
  if (ex.tls_verify_failed) {
    return MakeError(Kind::kTls, "TlsError",
                     ex.detail + " (" + endpoint_.host + ")");
  }
  if (ex.ec == http::error::body_limit) {
    return MakeError(Kind::kProtocol, "BodyTooLarge",
                     "response body exceeds " +
                         std::to_string(opt_.body_limit) + " bytes");
  }
  if (ex.ec == beast::error::timeout) {
    e = MakeError(Kind::kTimeout, "Timeout",
                  where + " timed out after " +
                      std::to_string(opt_.timeout.count()) + " ms",
                  true);
  } else if (ex.ec.category() ==
                 make_error_code(http::error::end_of_stream).category() &&
             ex.ec != http::error::end_of_stream) {
    e = MakeError(Kind::kProtocol, "BadResponse",
                  "malformed HTTP response: " + ex.ec.message(), true);
  } else {
    e = MakeError(Kind::kNetwork, "NetworkError",
                  where + ": " + ex.ec.message(), true);
  }
  if (ex.written && !spec.idempotent) {
    e.retryable = false;
    e.ambiguous = true;
  }
  return e;
}

}  // namespace idsync::idaas
