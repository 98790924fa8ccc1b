// Percent-encoding of the Developer API's path segments, and the query
// strings and form bodies built from encoded name=value pairs. Private.
#pragma once

#include <string>
#include <string_view>

#include "acs3_signature.h"

namespace idsync::idaas::detail {

// The Developer API's paths and forms escape as the admin API's signature does.
inline std::string PercentEncode(std::string_view s) { return detail::Rfc3986Escape(s); }

struct Query {
  std::string text;
  Query& Add(std::string_view k, std::string_view v) {
    text += text.empty() ? "" : "&";
    text += PercentEncode(k);
    text += '=';
    text += PercentEncode(v);
    return *this;
  }
};

}  // namespace idsync::idaas::detail
