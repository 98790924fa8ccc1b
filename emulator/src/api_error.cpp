#include "api_error.h"

#include <cctype>
#include <utility>

namespace idsync::emulator {

std::string FieldName(std::string_view key) {
  std::string name(key);
  if (!name.empty()) {
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  }
  return name;
}

ApiError InvalidParameter(std::string_view key, const std::string& why) {
  return {400, "InvalidParameter." + FieldName(key),
          "The parameter " + std::string(key) + " is invalid: " + why};
}

ApiError MissingParameter(std::string_view key) {
  return {400, "MissingParameter." + FieldName(key),
          "The parameter " + std::string(key) + " is required."};
}

void Refuse(ApiError error) { throw std::move(error); }

void Invalid(std::string_view key, const std::string& why) {
  Refuse(InvalidParameter(key, why));
}

void Missing(std::string_view key) { Refuse(MissingParameter(key)); }

}  // namespace idsync::emulator
