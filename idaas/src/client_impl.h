// The shared machinery behind both API clients: one call (rate limit,
// pooled transport, retries with backoff and budget, error classification,
// metrics) as ClientCore runs it. The Developer API client adds bearer
// tokens; the admin API client (admin_client.cpp) adds ACS3 signatures through
// CallSpec::sign. Private to the idaas module.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "idsync/idaas/client.h"
#include "rate_limiter.h"
#include "retry.h"
#include "transport.h"

namespace idsync::idaas {

namespace http = boost::beast::http;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace detail {

ApiError MakeError(ApiError::Kind kind, std::string code, std::string message,
                   bool retryable = false);

// A call as the transport-independent layer sees it.
struct CallSpec {
  const char* action = "";
  http::verb method = http::verb::get;
  std::string path;   // after /v2/{instance}/{app}, already encoded
  std::string query;  // encoded, without '?'
  std::optional<std::string> body;
  const char* content_type = "application/json; charset=utf-8";
  bool idempotent = true;  // safe to send again after an ambiguous failure
  bool auth = true;        // needs the bearer token
  // The admin API (Eiam 2021-12-01, RPC): `path` is the whole path (no
  // /v2/{instance}/{app} prefix), x-acs-version is `version`, and the
  // gateway's codes (signature, AccessKey, RAM) decide the error kind.
  bool rpc = false;
  const char* version = "2022-02-25";
  // Called on each attempt's request after every other header is set, so a
  // retry gets a fresh date and nonce (the admin API's signature).
  std::function<void(http::request<http::string_body>*)> sign;
};

struct CallResponse {
  int status = 0;
  boost::json::value body;  // {} for an empty body
  std::string request_id;
};

// A protocol error (code BadResponse) about a response that arrived but does
// not say what it should: with the action, the status and the request id.
ApiError BadResponse(const CallResponse& r, const char* action, std::string message);

}  // namespace detail

class detail::ClientCore : public std::enable_shared_from_this<detail::ClientCore> {
 public:
  ClientCore(asio::any_io_executor ex, Options opt, detail::Endpoint endpoint,
       std::shared_ptr<asio::ssl::context> ssl_ctx);

  const Options& options() const { return opt_; }

  void Shutdown() {
    shutdown_ = true;
    transport_.Shutdown();
    rate_.Shutdown();
    for (auto* t : sleepers_) t->cancel();
    for (auto& w : token_waiters_) w->cancel();
  }

  ClientStats Stats() const {
    std::lock_guard lock(stats_mu_);
    ClientStats s = stats_;
    s.connections_opened = transport_.connections_opened();
    s.reconnects = transport_.reconnects();
    s.pipelined = transport_.pipelined();
    s.current_qps = rate_.current_qps();
    return s;
  }

  awaitable<Result<detail::CallResponse>> Call(detail::CallSpec spec);
  awaitable<Result<std::string>> GetToken();
  awaitable<Result<TokenInfo>> FetchToken();

  std::string P(std::string_view rest) const { return prefix_ + std::string(rest); }
  const std::string& instance_id() const { return opt_.instance_id; }

 private:
  detail::RequestPtr BuildRequest(const detail::CallSpec& spec,
                                  const std::string& token) const;
  ApiError ErrorFromResponse(const detail::CallSpec& spec,
                             const http::response<http::string_body>& r,
                             std::chrono::milliseconds* wait) const;
  ApiError ErrorFromTransport(const detail::CallSpec& spec,
                              const detail::Exchange& ex) const;
  awaitable<bool> Sleep(std::chrono::milliseconds d);
  void RecordResponse(const std::string& action, int status);
  void RecordCall(const std::string& action, Clock::duration d, bool ok);

  asio::any_io_executor ex_;
  Options opt_;
  detail::Endpoint endpoint_;
  detail::Transport transport_;
  detail::RateLimiter rate_;
  detail::RetryBudget budget_;
  std::mt19937_64 rng_;
  std::string prefix_;
  std::string user_agent_;
  std::shared_ptr<spdlog::logger> log_;
  bool shutdown_ = false;
  std::set<asio::steady_timer*> sleepers_;

  // Token state: one refresh at a time; waiters park on timers.
  std::string token_;
  Clock::time_point token_refresh_at_{};  // refresh from here on
  Clock::time_point token_expires_at_{};  // unusable from here on
  bool refreshing_ = false;
  std::vector<std::shared_ptr<asio::steady_timer>> token_waiters_;
  std::optional<ApiError> token_failure_;  // credentials rejected
  Clock::time_point token_retry_at_{};
  std::chrono::milliseconds token_backoff_{0};

  mutable std::mutex stats_mu_;
  ClientStats stats_;
};

// Validates `options` (endpoint, plain http only to loopback unless allowed,
// the trust store) and builds the shared machinery. `require_application`:
// the Developer API needs instance and application ids; the admin API only
// the instance.
Result<std::shared_ptr<detail::ClientCore>> CreateImpl(asio::any_io_executor executor,
                                                 Options options,
                                                 bool require_application);

}  // namespace idsync::idaas
