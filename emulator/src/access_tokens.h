// The access tokens GenerateToken issued and the bearer check of every other
// Developer API operation.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api_error.h"
#include "state.h"

namespace idsync::emulator {

class AccessTokens {
 public:
  // Remembers `token` for `client_id` until `expires_at_us`.
  void Issue(const std::string& token, const std::string& client_id, int64_t now_us,
             int64_t expires_at_us);
  // RFC 7009: revoking an unknown token is not an error.
  void Revoke(const std::string& token) { live_.erase(token); }
  // Expired rather than erased, so clients see "expired", not "unknown".
  void ExpireAll(int64_t now_us);
  void Clear();  // forgets the issued list too
  void ClearLive() { live_.clear(); }

  // The client an `Authorization: Bearer …` header authenticates for
  // `application_id`, or the 401 InvalidToken refusal.
  struct Authenticated {
    Client* client = nullptr;
    std::optional<ApiError> error;
  };
  Authenticated Authenticate(std::string_view authorization, const std::string& application_id,
                             State& state, int64_t now_us);

  // Every access token issued, also expired and revoked ones (the oldest
  // dropped past 10,000): tests search their logs for them.
  const std::deque<std::string>& issued() const { return issued_; }

 private:
  struct Token {
    std::string client_id;
    int64_t expires_at_us = 0;
  };
  std::unordered_map<std::string, Token> live_;
  std::deque<std::string> issued_;
};

}  // namespace idsync::emulator
