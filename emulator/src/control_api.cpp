#include "control_api.h"

#include <algorithm>
#include <optional>

#include "api_error.h"
#include "responses.h"
#include "runtime_config.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

ApiError MethodNotAllowed(const char* allowed) {
  return {405, "InvalidAction.MethodNotAllowed", allowed};
}

// GET /_emulator/requests?since=N: the sequence number to start at.
std::optional<uint64_t> SinceParam(const QueryParams& query, ApiError* error) {
  auto text = FindParam(query, "since");
  if (!text || text->empty()) return 0;
  if (!std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      text->size() > 19) {
    *error = InvalidParameter("since", "expected a sequence number");
    return std::nullopt;
  }
  return std::stoull(*text);
}

}  // namespace

Response HandleControl(Core& core, const Request& request, std::string_view path,
                       const QueryParams& query, const std::string& request_id,
                       int64_t now_us) {
  const std::string& method = request.method;
  auto refuse = [&](const ApiError& error) { return ErrorResponse(error, request_id); };
  if (path == "/_emulator/requests") {
    if (method == "DELETE") {
      core.log.Clear();
      return EmptyResponse();
    }
    if (method != "GET") return refuse(MethodNotAllowed("GET/DELETE"));
    ApiError error;
    auto since = SinceParam(query, &error);
    if (!since) return refuse(error);
    return JsonResponse(200, core.log.Since(*since));
  }
  if (path == "/_emulator/state") {
    if (method == "GET") {
      Response response;
      response.body = json::serialize(StateToJson(core.state));
      response.headers.emplace_back("Content-Type", std::string(kJsonContentType));
      return response;
    }
    if (method == "PUT") {
      if (auto problem = core.LoadState(request.body)) {
        return refuse({400, "InvalidParameter.State", *problem});
      }
      return EmptyResponse();
    }
    return refuse(MethodNotAllowed("GET/PUT"));
  }
  if (path == "/_emulator/reset" && method == "POST") {
    core.Reset();
    return EmptyResponse();
  }
  if (path == "/_emulator/config") {
    if (method == "POST") {
      boost::system::error_code ec;
      json::value value = json::parse(request.body.empty() ? "{}" : request.body, ec);
      if (ec || !value.is_object()) {
        return refuse(InvalidParameter("body", "expected a JSON object"));
      }
      if (auto problem = ApplyConfig(value.get_object(), core.options, core.state)) {
        return refuse({400, "InvalidParameter.Config", *problem});
      }
      core.rate_limiter.Clear();
    } else if (method != "GET") {
      return refuse(MethodNotAllowed("GET/POST"));
    }
    return JsonResponse(200, ConfigJson(core.options));
  }
  if (path == "/_emulator/tokens" && method == "GET") {
    json::array all;
    for (const auto& token : core.tokens.issued()) all.emplace_back(token);
    return JsonResponse(200, json::object{{"tokens", std::move(all)}});
  }
  if (path == "/_emulator/tokens/expire" && method == "POST") {
    core.tokens.ExpireAll(now_us);
    return EmptyResponse();
  }
  return refuse({404, "InvalidAction.NotFound",
                 "No admin operation " + method + " " + std::string(path) + "."});
}

}  // namespace idsync::emulator
