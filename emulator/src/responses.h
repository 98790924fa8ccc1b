// The Developer API's answers: JSON bodies, the error JSON of an ApiError
// and the OAuth endpoints' RFC 6749 error JSON.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "api_error.h"
#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

inline constexpr std::string_view kJsonContentType = "application/json;charset=utf-8";

Response JsonResponse(int status, const boost::json::value& body);
// 200 {}: the answer of operations without a response body.
Response EmptyResponse();
// {"code", "message", "requestId"} with the error's status.
Response ErrorResponse(const ApiError& error, const std::string& request_id);
// {"error", "error_description", "request_id"}; a 401 also asks for Basic.
Response OAuthErrorResponse(int status, const std::string& error,
                            const std::string& description,
                            const std::string& request_id);

}  // namespace idsync::emulator
