// Verifies an ACS3-HMAC-SHA256 signed request as the Alibaba Cloud gateway
// does, for the admin API (Eiam 2021-12-01). Written from the algorithm
// (../shared/idaas-admin-api.md §2), not from idsync's client: the emulator is
// the twin that catches the client's mistakes, so it shares none of its code.
// It recomputes the canonical request from the bytes received (the query
// decoded, '+' as a space, as the Go SDK sends it; the headers the client
// says it signed) and checks the AccessKey, date, signature and nonce in the
// service's order, with the service's codes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "idsync/emulator/emulator.h"

namespace idsync::emulator {

struct RpcRejection {
  int status = 400;
  std::string code;
  std::string message;
};

class Acs3Verifier {
 public:
  // The date may be this far from the emulator's clock either way.
  static constexpr int64_t kMaxSkewUs = 15LL * 60 * 1000 * 1000;

  // On success returns nullopt and sets *key to the AccessKey that signed.
  // A nonce is remembered only once the signature holds, so a forged request
  // cannot burn a nonce.
  std::optional<RpcRejection> Verify(const Request& request,
                                     const std::vector<AccessKey>& keys,
                                     int64_t now_us, const AccessKey** key);

 private:
  std::map<std::string, int64_t> nonces_;  // access key id + nonce -> seen (us)
};

}  // namespace idsync::emulator
