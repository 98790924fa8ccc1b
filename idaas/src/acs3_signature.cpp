#include "acs3_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

namespace idsync::idaas::detail {
namespace {

constexpr std::string_view kAlgorithm = "ACS3-HMAC-SHA256";

std::string Hex(const unsigned char* data, size_t size) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &size);
  return Hex(out, size);
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return "";
  auto last = s.find_last_not_of(ws);
  return std::string(s.substr(first, last - first + 1));
}

bool IsSigned(const std::string& lower_name) {
  return lower_name == "host" || lower_name == "content-type" ||
         lower_name.starts_with("x-acs-");
}

// Signed headers by lowercase name; a repeated name keeps all its values,
// sorted, as the SDK joins them.
std::map<std::string, std::vector<std::string>> SignedHeaderValues(
    const Acs3Request& request) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lower(name);
    if (IsSigned(lower)) out[lower].push_back(Trim(value));
  }
  for (auto& [name, values] : out) std::sort(values.begin(), values.end());
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr);
  return Hex(out, size);
}

std::string Rfc3986Escape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQueryString(const NameValues& query) {
  NameValues sorted = query;
  // std::string compares as unsigned bytes (char_traits<char>::compare),
  // the raw-byte order of the SDK: "X.1" < "X.1.Y" < "X.10" < "X.2".
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [name, value] : sorted) {
    if (!out.empty()) out += '&';
    out += Rfc3986Escape(name);
    out += '=';
    out += Rfc3986Escape(value);
  }
  return out;
}

std::string SignedHeaders(const Acs3Request& request) {
  std::string out;
  for (const auto& [name, values] : SignedHeaderValues(request)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string CanonicalRequest(const Acs3Request& request) {
  std::string headers;
  for (const auto& [name, values] : SignedHeaderValues(request)) {
    headers += name;
    headers += ':';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) headers += ',';
      headers += values[i];
    }
    headers += '\n';
  }
  std::string out = request.method;
  out += '\n';
  out += request.path.empty() ? "/" : request.path;
  out += '\n';
  out += CanonicalQueryString(request.query);
  out += '\n';
  out += headers;
  out += '\n';
  out += SignedHeaders(request);
  out += '\n';
  out += request.hashed_payload;
  return out;
}

std::string Acs3Authorization(const Acs3Request& request,
                              std::string_view access_key_id,
                              std::string_view access_key_secret) {
  std::string string_to_sign(kAlgorithm);
  string_to_sign += '\n';
  string_to_sign += Sha256Hex(CanonicalRequest(request));
  std::string out(kAlgorithm);
  out += " Credential=";
  out += access_key_id;
  out += ",SignedHeaders=";
  out += SignedHeaders(request);
  out += ",Signature=";
  out += HmacSha256Hex(access_key_secret, string_to_sign);
  return out;
}

}  // namespace idsync::idaas::detail
