// ACS3-HMAC-SHA256, the request signature of Alibaba Cloud's OpenAPI (V3), as
// the official SDKs compute it (darabonba-openapi GetAuthorization). A pure
// function of its inputs: the caller supplies the date, nonce and payload
// hash among the headers, so that tests can pin them. Private to the client;
// the reference is ../shared/idaas-admin-api.md §2.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idsync::idaas::detail {

using NameValues = std::vector<std::pair<std::string, std::string>>;

struct Acs3Request {
  std::string method;  // as sent, e.g. "POST" (the SDK's own test uses "")
  std::string path;    // "" is signed as "/"
  NameValues query;    // decoded names and values, flattened (Name.1, ...)
  // Every header; only host, content-type and x-acs-* are signed. Names in
  // any case; a name given twice has its values sorted and joined by ','.
  NameValues headers;
  std::string hashed_payload;  // lowercase hex SHA-256 of the body
};

// Lowercase hex SHA-256 of `data` (the payload hash; an empty body gives
// e3b0c442...b855).
std::string Sha256Hex(std::string_view data);

// RFC 3986 escaping: A-Z a-z 0-9 - _ . ~ stay, every other byte is %XX with
// uppercase hex. What the canonical query and the wire query both use.
std::string Rfc3986Escape(std::string_view s);

// name=value pairs sorted by raw bytes of the name (then the value), escaped
// as above, joined by '&'. An empty value still gives "name=".
std::string CanonicalQueryString(const NameValues& query);

// METHOD \n URI \n query \n headers (each "name:value\n") \n signed names \n
// payload hash.
std::string CanonicalRequest(const Acs3Request& request);

// The signed header names, lowercase, sorted, joined by ';'.
std::string SignedHeaders(const Acs3Request& request);

// "ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<hex>".
// The secret is used as the HMAC key and appears nowhere in the result.
std::string Acs3Authorization(const Acs3Request& request,
                              std::string_view access_key_id,
                              std::string_view access_key_secret);

}  // namespace idsync::idaas::detail
