#include "access_tokens.h"

namespace idsync::emulator {

namespace {
constexpr size_t kTokensKept = 10000;
}  // namespace

void AccessTokens::Issue(const std::string& token, const std::string& client_id,
                         int64_t now_us, int64_t expires_at_us) {
  if (live_.size() > kTokensKept) {
    std::erase_if(live_, [&](const auto& entry) { return entry.second.expires_at_us <= now_us; });
  }
  live_[token] = Token{client_id, expires_at_us};
  issued_.push_back(token);
  if (issued_.size() > kTokensKept) issued_.pop_front();
}

void AccessTokens::ExpireAll(int64_t now_us) {
  for (auto& [token, info] : live_) info.expires_at_us = now_us;
}

void AccessTokens::Clear() {
  live_.clear();
  issued_.clear();
}

AccessTokens::Authenticated AccessTokens::Authenticate(std::string_view auth,
                                                       const std::string& application_id,
                                                       State& state, int64_t now_us) {
  auto refuse = [](std::string message) {
    return Authenticated{nullptr, ApiError{401, "InvalidToken", std::move(message)}};
  };
  if (auth.size() < 8 || (auth.substr(0, 7) != "Bearer " && auth.substr(0, 7) != "bearer ")) {
    return refuse("The Authorization header must be 'Bearer <access_token>'.");
  }
  auto token = live_.find(std::string(auth.substr(7)));
  if (token == live_.end()) return refuse("The access token is invalid or revoked.");
  if (token->second.expires_at_us <= now_us) {
    live_.erase(token);
    return refuse("The access token has expired.");
  }
  Client* client = state.FindClient(token->second.client_id);
  if (client == nullptr || client->application_id != application_id) {
    return refuse("The access token was not issued for application " + application_id + ".");
  }
  return {client, std::nullopt};
}

}  // namespace idsync::emulator
