// A minimal blocking HTTPS GET for the HR feed: Beast over Asio, TLS with
// peer and host name verification (SNI), a deadline per request, a body
// limit. Plain http is allowed only to loopback addresses.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "idsync/config/loopback.h"

namespace idsync::connectors {

struct HttpResult {
  int status = 0;         // 0: no HTTP response (see error)
  std::string body;
  std::string error;      // transport/TLS failure, empty on a response
};

HttpResult HttpGet(const std::string& url,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& ca_file, std::chrono::milliseconds timeout,
                   size_t body_limit);

// The one loopback test (config/loopback.h), shared by the HR feed and LDAP.
using config::IsLoopbackHost;
std::string Base64(std::string_view in);

}  // namespace idsync::connectors
