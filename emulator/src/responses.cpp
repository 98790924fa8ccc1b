#include "responses.h"

namespace idsync::emulator {
namespace json = boost::json;

Response JsonResponse(int status, const json::value& body) {
  Response response;
  response.status = status;
  response.body = json::serialize(body);
  response.headers.emplace_back("Content-Type", std::string(kJsonContentType));
  return response;
}

Response EmptyResponse() { return JsonResponse(200, json::object()); }

Response ErrorResponse(const ApiError& error, const std::string& request_id) {
  json::object body;
  body["code"] = error.code;
  body["message"] = error.message;
  body["requestId"] = request_id;
  return JsonResponse(error.status, body);
}

Response OAuthErrorResponse(int status, const std::string& error,
                            const std::string& description,
                            const std::string& request_id) {
  json::object body;
  body["error"] = error;
  body["error_description"] = description;
  body["request_id"] = request_id;
  Response response = JsonResponse(status, body);
  if (status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"idaas-emulator\"");
  }
  return response;
}

}  // namespace idsync::emulator
