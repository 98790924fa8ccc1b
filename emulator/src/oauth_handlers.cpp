// The OAuth 2.0 endpoints of the Developer API: GenerateToken (client
// credentials grant) and RevokeToken (RFC 7009). They answer with the OAuth
// error JSON, not the API's.
#include "handlers.h"
#include "responses.h"
#include "text.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

// Parameters may come in the query (SDKs) or a form body (OAuth clients);
// the query's come first, so they win when both are present.
QueryParams OAuthParams(const RequestContext& context) {
  QueryParams params = context.query;
  if (context.request.content_type.find("application/x-www-form-urlencoded") !=
      std::string::npos) {
    for (auto& param : ParseQuery(context.request.body)) params.push_back(param);
  }
  return params;
}

}  // namespace

Response GenerateToken(Core& core, RequestContext& context) {
  auto refuse = [&](int status, const char* error, const char* description) {
    return OAuthErrorResponse(status, error, description, context.request_id);
  };
  const QueryParams params = OAuthParams(context);
  std::optional<std::string> client_id = FindParam(params, "client_id");
  std::optional<std::string> client_secret = FindParam(params, "client_secret");
  std::string_view auth = context.request.authorization;
  if (auth.size() > 6 && (auth.substr(0, 6) == "Basic " || auth.substr(0, 6) == "basic ")) {
    auto decoded = Base64Decode(auth.substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return refuse(401, "invalid_client", "malformed HTTP Basic credentials");
    }
    client_id = PercentDecode(std::string_view(*decoded).substr(0, colon), true);
    client_secret = PercentDecode(std::string_view(*decoded).substr(colon + 1), true);
  }
  auto grant_type = FindParam(params, "grant_type");
  if (!grant_type || grant_type->empty()) {
    return refuse(400, "invalid_request", "grant_type is required");
  }
  if (*grant_type != "client_credentials") {
    return refuse(400, "unsupported_grant_type", "the emulator supports only client_credentials");
  }
  if (!client_id || client_id->empty()) {
    return refuse(400, "invalid_request", "client_id is required");
  }
  Client* found = core.state.FindClient(*client_id);
  if (found == nullptr || !client_secret || !found->AcceptsSecret(*client_secret) ||
      found->application_id != context.application_id) {
    return refuse(401, "invalid_client", "client authentication failed");
  }
  context.client = found;
  const Options& options = core.options;
  std::string access_token = "AT" + core.RandomAlnum(40);
  const int64_t ttl_us = options.token_ttl.count();
  const int64_t expires_at_us = context.now_us + ttl_us;
  core.tokens.Issue(access_token, found->client_id, context.now_us, expires_at_us);
  json::object body;
  body["access_token"] = access_token;
  body["token_type"] = "Bearer";
  if (options.token_expires_in) body["expires_in"] = (ttl_us + 999999) / 1000000;
  body["expires_at"] = (expires_at_us + 999999) / 1000000 + options.token_expires_at_skew_s;
  Response response = JsonResponse(200, body);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Response RevokeToken(Core& core, RequestContext& context) {
  auto token = FindParam(OAuthParams(context), "token");
  if (!token || token->empty()) {
    return OAuthErrorResponse(400, "invalid_request", "token is required", context.request_id);
  }
  core.tokens.Revoke(*token);
  return EmptyResponse();
}

}  // namespace idsync::emulator
