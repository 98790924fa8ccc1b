// Checks of what a Developer API request carries: typed access to the JSON
// body, the field formats and limits, and the paging parameters, each
// refusing with the API's InvalidParameter/MissingParameter codes.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text.h"

namespace idsync::emulator {

inline constexpr size_t kMaxIdsPerCall = 100;
// username and displayName: 64 characters, as the English API reference and
// the Go SDK's field docs say (newer Chinese pages say 256/128; the smaller
// limit is the one a client can rely on everywhere).
inline constexpr size_t kMaxNameLength = 64;
inline constexpr int kDefaultPageSize = 20;
inline constexpr int kMaxPageSize = 100;

// Length limits count Unicode code points (UTF-8 lead bytes), not bytes, so
// "Zoë" is 3 characters as the API reference's "characters" suggests.
size_t CodePoints(std::string_view text);

// A strict service refuses body fields it does not define; naming the field
// tells the client exactly what it sent wrongly.
void RejectUnknownFields(const boost::json::object& object,
                         std::span<const std::string_view> known,
                         std::string_view operation, std::string_view where);

// Typed access to a JSON request body with the API's error codes. JSON null
// counts as absent; a Body over no object has no fields.
class Body {
 public:
  explicit Body(const boost::json::object* object) : object_(object) {}

  const boost::json::value* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  std::optional<std::string> String(std::string_view key, bool required,
                                    size_t max_length = 1024) const;
  std::optional<bool> Bool(std::string_view key) const;
  // At most kMaxIdsPerCall non-empty strings.
  std::optional<std::vector<std::string>> Strings(std::string_view key,
                                                  bool required) const;
  const boost::json::array* Array(std::string_view key) const;
  const boost::json::object* Object(std::string_view key) const;

 private:
  const boost::json::object* object_;
};

void ValidateUsername(const std::string& username);
void ValidateEmail(const std::string& email);  // "" clears the address
void ValidatePhone(const std::string& phone);  // "" clears the number
void ValidatePhoneRegion(const std::string& region);

// An integer query parameter in [min, max]; absent or empty gives `fallback`.
int IntParam(const QueryParams& query, std::string_view key, int fallback,
             int min, int max);

struct PageNumber {
  int64_t offset;
  int size;
};

// pageNumber (from 1) and pageSize of the page-number listings.
PageNumber PageParams(const QueryParams& query);

}  // namespace idsync::emulator
