#include "acs3_verifier.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "text.h"

namespace idsync::emulator {
namespace {

std::string ToHex(const unsigned char* data, unsigned size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    hex.push_back(kDigits[data[i] / 16]);
    hex.push_back(kDigits[data[i] % 16]);
  }
  return hex;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return ToHex(digest, size);
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &size);
  return ToHex(digest, size);
}

// RFC 3986: only unreserved characters stay literal.
std::string Escape(std::string_view text) {
  std::string escaped;
  for (char ch : text) {
    auto byte = static_cast<unsigned char>(ch);
    if (std::isalnum(byte) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      escaped.push_back(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", byte);
      escaped += buf;
    }
  }
  return escaped;
}

std::string LowerCase(std::string_view text) {
  std::string lower(text);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return lower;
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

// "2023-10-26T10:22:32Z" -> microseconds since the epoch.
std::optional<int64_t> ParseAcsDate(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

struct Authorization {
  std::string credential;
  std::vector<std::string> signed_headers;
  std::string signature;
};

// "ACS3-HMAC-SHA256 Credential=..,SignedHeaders=a;b,Signature=.."
std::optional<Authorization> ParseAuthorization(std::string_view header) {
  constexpr std::string_view kPrefix = "ACS3-HMAC-SHA256 ";
  if (!header.starts_with(kPrefix)) return std::nullopt;
  Authorization parsed;
  for (const std::string& part : SplitList(header.substr(kPrefix.size()), ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) return std::nullopt;
    std::string name = Trimmed(part.substr(0, eq));
    std::string value = part.substr(eq + 1);
    if (name == "Credential") {
      parsed.credential = value;
    } else if (name == "SignedHeaders") {
      parsed.signed_headers = SplitList(value, ';');
    } else if (name == "Signature") {
      parsed.signature = value;
    }
  }
  if (parsed.credential.empty() || parsed.signature.empty()) return std::nullopt;
  return parsed;
}

std::vector<std::string> HeaderValues(const Request& request, const std::string& lower_name) {
  std::vector<std::string> values;
  for (const auto& [name, value] : request.headers) {
    if (LowerCase(name) == lower_name) values.push_back(Trimmed(value));
  }
  std::sort(values.begin(), values.end());
  return values;
}

std::string CanonicalRequestOf(const Request& request, const Authorization& auth,
                               const std::string& payload_hash) {
  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string path(target.substr(0, question));
  std::vector<std::pair<std::string, std::string>> params;
  if (question != std::string_view::npos) {
    for (auto& [name, value] : ParseQuery(target.substr(question + 1))) {
      params.emplace_back(Escape(name), Escape(value));
    }
  }
  std::sort(params.begin(), params.end());
  std::string query;
  for (const auto& [name, value] : params) {
    query += (query.empty() ? "" : "&") + name + "=" + value;
  }
  std::vector<std::string> names;
  for (const std::string& name : auth.signed_headers) names.push_back(LowerCase(name));
  std::sort(names.begin(), names.end());
  std::string headers, signed_names;
  for (const std::string& name : names) {
    std::string joined;
    for (const std::string& value : HeaderValues(request, name)) {
      joined += (joined.empty() ? "" : ",") + value;
    }
    headers += name + ":" + joined + "\n";
    signed_names += (signed_names.empty() ? "" : ";") + name;
  }
  return request.method + "\n" + (path.empty() ? "/" : path) + "\n" + query + "\n" + headers +
         "\n" + signed_names + "\n" + payload_hash;
}

}  // namespace

std::optional<RpcRejection> Acs3Verifier::Verify(const Request& request,
                                                 const std::vector<AccessKey>& keys,
                                                 int64_t now_us, const AccessKey** key) {
  std::string header;
  for (const auto& [name, value] : request.headers) {
    if (LowerCase(name) == "authorization") header = value;
  }
  auto auth = ParseAuthorization(header);
  if (!auth) {
    return RpcRejection{400, "IncompleteSignature",
                        "The request signature does not conform to Aliyun standards."};
  }
  auto found = std::find_if(keys.begin(), keys.end(),
                            [&](const AccessKey& k) { return k.id == auth->credential; });
  if (found == keys.end()) {
    return RpcRejection{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."};
  }
  auto dates = HeaderValues(request, "x-acs-date");
  auto nonces = HeaderValues(request, "x-acs-signature-nonce");
  if (dates.size() != 1 || nonces.size() != 1 || nonces[0].empty()) {
    return RpcRejection{400, "IncompleteSignature",
                        "x-acs-date and x-acs-signature-nonce are required once each."};
  }
  auto date_us = ParseAcsDate(dates[0]);
  if (!date_us) {
    return RpcRejection{400, "InvalidTimeStamp.Format",
                        "Specified time stamp or date value is not well formatted."};
  }
  if (*date_us > now_us + kMaxSkewUs || *date_us < now_us - kMaxSkewUs) {
    return RpcRejection{400, "InvalidTimeStamp.Expired",
                        "Specified time stamp or date value is expired."};
  }
  const std::string payload_hash = Sha256(request.body);
  auto declared = HeaderValues(request, "x-acs-content-sha256");
  if (!declared.empty() && declared.front() != payload_hash) {
    return RpcRejection{400, "SignatureDoesNotMatch",
                        "x-acs-content-sha256 is not the SHA-256 of the body."};
  }
  const std::string string_to_sign =
      "ACS3-HMAC-SHA256\n" + Sha256(CanonicalRequestOf(request, *auth, payload_hash));
  if (Hmac(found->secret, string_to_sign) != auth->signature) {
    return RpcRejection{400, "SignatureDoesNotMatch",
                        "Specified signature is not matched with our calculation."};
  }
  std::erase_if(nonces_, [&](const auto& seen) { return seen.second < now_us - 2 * kMaxSkewUs; });
  if (!nonces_.emplace(found->id + "\n" + nonces[0], now_us).second) {
    return RpcRejection{400, "SignatureNonceUsed", "Specified signature nonce was used already."};
  }
  *key = &*found;
  return std::nullopt;
}

}  // namespace idsync::emulator
