#include "validation.h"

#include <algorithm>

#include "api_error.h"

namespace idsync::emulator {
namespace json = boost::json;

size_t CodePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void RejectUnknownFields(const json::object& object,
                         std::span<const std::string_view> known,
                         std::string_view operation, std::string_view where) {
  for (const auto& [key, value] : object) {
    (void)value;
    if (std::find(known.begin(), known.end(), std::string_view(key)) ==
        known.end()) {
      Refuse({400, "InvalidParameter." + FieldName(key),
              "The parameter " + std::string(where) + std::string(key) +
                  " is not accepted by " + std::string(operation) + "."});
    }
  }
}

const json::value* Body::Find(std::string_view key) const {
  if (object_ == nullptr) return nullptr;
  const json::value* value = object_->if_contains(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

std::optional<std::string> Body::String(std::string_view key, bool required,
                                        size_t max_length) const {
  const json::value* value = Find(key);
  if (value == nullptr) {
    if (required) Missing(key);
    return std::nullopt;
  }
  if (!value->is_string()) Invalid(key, "expected a string");
  const json::string& text = value->get_string();
  if (required && text.empty()) Missing(key);
  if (CodePoints(text) > max_length) {
    Invalid(key, "longer than " + std::to_string(max_length) + " characters");
  }
  return std::string(text);
}

std::optional<bool> Body::Bool(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) Invalid(key, "expected a boolean");
  return value->get_bool();
}

std::optional<std::vector<std::string>> Body::Strings(std::string_view key,
                                                      bool required) const {
  const json::value* value = Find(key);
  if (value == nullptr) {
    if (required) Missing(key);
    return std::nullopt;
  }
  if (!value->is_array()) Invalid(key, "expected an array of strings");
  const json::array& array = value->get_array();
  if (array.size() > kMaxIdsPerCall) {
    Invalid(key, "more than " + std::to_string(kMaxIdsPerCall) + " entries");
  }
  std::vector<std::string> out;
  out.reserve(array.size());
  for (const json::value& item : array) {
    if (!item.is_string() || item.get_string().empty()) {
      Invalid(key, "expected an array of non-empty strings");
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

const json::array* Body::Array(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_array()) Invalid(key, "expected an array");
  return &value->get_array();
}

const json::object* Body::Object(std::string_view key) const {
  const json::value* value = Find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) Invalid(key, "expected an object");
  return &value->get_object();
}

namespace {

bool IsUsernameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '@' || c == '-';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void ValidateUsername(const std::string& username) {
  if (CodePoints(username) > kMaxNameLength) {
    Invalid("username", "longer than " + std::to_string(kMaxNameLength) +
                            " characters");
  }
  if (!std::all_of(username.begin(), username.end(), IsUsernameChar)) {
    Invalid("username", "only letters, digits and _ . @ - are allowed");
  }
}

void ValidateEmail(const std::string& email) {
  if (email.empty()) return;
  size_t at = email.find('@');
  if (email.size() > 128 || at == 0 || at == std::string::npos ||
      at + 1 == email.size() || email.find('@', at + 1) != std::string::npos) {
    Invalid("email", "not an email address");
  }
  for (size_t i = 0; i < at; ++i) {
    char c = email[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
        c != '-') {
      Invalid("email", "the local part allows only [A-Za-z0-9._-]");
    }
  }
}

void ValidatePhone(const std::string& phone) {
  if (phone.empty()) return;
  if (phone.size() < 6 || phone.size() > 15 ||
      !std::all_of(phone.begin(), phone.end(), IsDigit)) {
    Invalid("phoneNumber", "expected 6 to 15 digits");
  }
}

void ValidatePhoneRegion(const std::string& region) {
  if (region.size() > 8 || !std::all_of(region.begin(), region.end(), IsDigit)) {
    Invalid("phoneRegion", "expected a country code of digits, e.g. 86");
  }
}

int IntParam(const QueryParams& query, std::string_view key, int fallback,
             int min, int max) {
  auto text = FindParam(query, key);
  if (!text || text->empty()) return fallback;
  if (text->size() > 10 || !std::all_of(text->begin(), text->end(), IsDigit)) {
    Invalid(key, "expected an integer");
  }
  const int64_t value = std::stoll(*text);
  if (value < min || value > max) {
    Invalid(key, "must be between " + std::to_string(min) + " and " +
                     std::to_string(max));
  }
  return static_cast<int>(value);
}

PageNumber PageParams(const QueryParams& query) {
  int number = IntParam(query, "pageNumber", 1, 1, 1000000000);
  int size = IntParam(query, "pageSize", kDefaultPageSize, 1, kMaxPageSize);
  return {static_cast<int64_t>(number - 1) * size, size};
}

}  // namespace idsync::emulator
