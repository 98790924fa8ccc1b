// A refusal of the Developer API as a value: the HTTP status, the error code
// and the message that the error JSON carries (responses.h renders it).
#pragma once

#include <string>
#include <string_view>

namespace idsync::emulator {

struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
};

// "primaryOrganizationalUnitId" -> "PrimaryOrganizationalUnitId", the
// Alibaba convention for the suffix of InvalidParameter.* codes.
std::string FieldName(std::string_view key);

// 400 InvalidParameter.<Key>: `key` is there but `why` says what is wrong.
ApiError InvalidParameter(std::string_view key, const std::string& why);
// 400 MissingParameter.<Key>.
ApiError MissingParameter(std::string_view key);

// A handler deep in a request (a body field, a referenced entity) refuses by
// throwing its ApiError; the request pipeline (emulator.cpp) catches it at
// one place and renders it. Everything before the handler returns its
// refusals as values.
[[noreturn]] void Refuse(ApiError error);
[[noreturn]] void Invalid(std::string_view key, const std::string& why);
[[noreturn]] void Missing(std::string_view key);

}  // namespace idsync::emulator
