#include "idsync/idaas/client.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/parse.hpp>

#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <unordered_set>

#include "acs3_signature.h"
#include "client_impl.h"
#include "codec.h"
#include "idsync/config/config.h"
#include "rate_limiter.h"
#include "retry.h"
#include "transport.h"

#ifndef IDSYNC_VERSION
#define IDSYNC_VERSION "0"
#endif

namespace idsync::idaas {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::as_tuple;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using Kind = ApiError::Kind;
using detail::CallResponse;
using detail::CallSpec;
using detail::MakeError;

// ------------------------------------------------------------ ApiError ----

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNetwork: return "network";
    case Kind::kTimeout: return "timeout";
    case Kind::kTls: return "tls";
    case Kind::kThrottled: return "throttled";
    case Kind::kServer: return "server";
    case Kind::kClient: return "client";
    case Kind::kAuth: return "auth";
    case Kind::kPermission: return "permission";
    case Kind::kNotFound: return "not_found";
    case Kind::kConflict: return "conflict";
    case Kind::kProtocol: return "protocol";
    case Kind::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string ApiError::ToString() const {
  std::string s;
  if (!action.empty()) s += action + ": ";
  s += KindName(kind);
  s += " (";
  bool sep = false;
  if (http_status != 0) {
    s += "HTTP " + std::to_string(http_status);
    sep = true;
  }
  if (!code.empty()) {
    s += sep ? " " : "";
    s += code;
    sep = true;
  }
  if (!message.empty()) {
    s += sep ? ": " : "";
    s += message;
    sep = true;
  }
  if (!request_id.empty()) {
    s += sep ? " " : "";
    s += "request_id=" + request_id;
  }
  s += ")";
  if (ambiguous) s += " ambiguous: the write may have been applied";
  if (attempts > 0)
    s += " after " + std::to_string(attempts) +
         (attempts == 1 ? " attempt" : " attempts");
  return s;
}

void throw_exception_from_error(const ApiError& e,
                                const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.ToString()), loc);
}

namespace detail {

ApiError MakeError(Kind kind, std::string code, std::string message,
                   bool retryable) {
  ApiError e;
  e.kind = kind;
  e.code = std::move(code);
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

}  // namespace detail

// --------------------------------------------------------------- options --

Options OptionsFromConfig(const config::IdaasConfig& c) {
  Options o;
  o.endpoint = c.endpoint;
  o.instance_id = c.instance_id;
  o.application_id = c.application_id;
  o.client_id = c.client_id.empty() ? c.application_id : c.client_id;
  o.client_secret = c.client_secret.Reveal();
  o.qps = c.rate_limit.qps;
  o.burst = c.rate_limit.burst;
  o.adaptive = c.rate_limit.adaptive;
  o.connections = c.connections;
  o.pipeline_depth = c.pipeline_depth;
  o.timeout = c.timeout;
  o.max_attempts = c.retry.max_attempts;
  o.base_delay = c.retry.base_delay;
  o.max_delay = c.retry.max_delay;
  o.retry_budget_percent = c.retry.budget_percent;
  o.ca_file = c.tls.ca_file;
  o.allow_insecure_http = c.tls.allow_insecure_http;
  return o;
}

namespace {

// The Developer API's paths and forms escape as the admin API's signature does.
std::string PercentEncode(std::string_view s) { return detail::Rfc3986Escape(s); }

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

// Alibaba Cloud services spell these codes both ways ("EntityNotExists.User"
// and "EntityNotExist.User"), and some answer them with HTTP 400, so the code
// decides and not only the status.
bool IsNotFoundCode(std::string_view code) {
  return code.starts_with("EntityNotExist");
}
bool IsConflictCode(std::string_view code) {
  return code.starts_with("EntityAlreadyExist");
}

// The admin API's gateway answers a bad signature or AccessKey with 400, 403
// or 404 depending on the product page; the code decides, so that an unknown
// AccessKey (404 InvalidAccessKeyId.NotFound) is not taken for a missing
// object. Codes: ../shared/idaas-admin-api.md §1.4.
std::optional<Kind> AdminGatewayKind(std::string_view code) {
  if (code == "SignatureDoesNotMatch" || code == "IncompleteSignature" ||
      code == "SignatureNonceUsed" || code.starts_with("InvalidAccessKeyId") ||
      code.starts_with("InvalidTimeStamp") || code.starts_with("InvalidSecurityToken")) {
    return Kind::kAuth;
  }
  if (code.starts_with("Forbidden") || code.starts_with("NoPermission")) {
    return Kind::kPermission;
  }
  if (code.starts_with("ResourceNotFound") || code == "InvalidApi.NotFound") {
    return Kind::kNotFound;
  }
  if (code.starts_with("ResourceDuplicated")) return Kind::kConflict;
  return std::nullopt;
}

}  // namespace

// ------------------------------------------------------------------ Impl --

Client::Impl::Impl(asio::any_io_executor ex, Options opt, detail::Endpoint endpoint,
                   std::shared_ptr<asio::ssl::context> ssl_ctx)
    : ex_(ex),
      opt_(std::move(opt)),
      endpoint_(endpoint),
      transport_(ex, endpoint, std::move(ssl_ctx),
                 detail::TransportOptions{opt_.timeout, opt_.body_limit,
                                          opt_.connections,
                                          opt_.pipeline_depth}),
      rate_(ex, detail::RateLimiter::Config{
                    opt_.qps, opt_.burst, opt_.adaptive,
                    opt_.adaptive_quiet_window, 0.5, 0.5}),
      budget_(opt_.retry_budget_percent),
      rng_(std::random_device{}()) {
  prefix_ = "/v2/" + PercentEncode(opt_.instance_id) + "/" +
            PercentEncode(opt_.application_id);
  user_agent_ = "idsync/" IDSYNC_VERSION;
  if (!opt_.user_agent_suffix.empty())
    user_agent_ += " " + opt_.user_agent_suffix;
  log_ = spdlog::get("idaas");
  if (!log_) log_ = spdlog::default_logger();
}

detail::RequestPtr Client::Impl::BuildRequest(const CallSpec& spec,
                                              const std::string& token) const {
  auto req = std::make_shared<http::request<http::string_body>>();
  req->method(spec.method);
  std::string target = spec.rpc ? spec.path : prefix_ + spec.path;
  if (!spec.query.empty()) target += "?" + spec.query;
  req->target(target);
  req->version(11);
  req->keep_alive(true);
  req->set(http::field::host, endpoint_.host_header);
  req->set(http::field::accept, "application/json");
  req->set("x-acs-version", spec.version);
  req->set("x-acs-action", spec.action);
  req->set(http::field::user_agent, user_agent_);
  if (spec.auth) req->set(http::field::authorization, "Bearer " + token);
  if (spec.body) {
    req->set(http::field::content_type, spec.content_type);
    req->body() = *spec.body;
  }
  req->prepare_payload();
  if (spec.sign) spec.sign(req.get());
  return req;
}

ApiError Client::Impl::ErrorFromResponse(
    const CallSpec& spec, const http::response<http::string_body>& r,
    std::chrono::milliseconds* wait) const {
  ApiError e;
  e.http_status = r.result_int();
  boost::system::error_code ec;
  json::value v = json::parse(r.body(), ec);
  bool oauth = false;
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    std::string oauth_error = detail::StringField(o, "error");
    if (!oauth_error.empty()) {
      oauth = true;
      e.code = oauth_error;
      e.message = detail::StringField(o, "error_description");
      e.request_id = detail::StringFieldAny(o, {"request_id", "requestId"});
    } else {
      e.code = detail::StringFieldAny(o, {"Code", "code"});
      e.message = detail::StringFieldAny(o, {"Message", "message"});
      e.request_id =
          detail::StringFieldAny(o, {"RequestId", "requestId", "requestid"});
    }
  } else {
    e.message = "HTTP " + std::to_string(e.http_status) +
                " with a body that is not JSON";
  }
  if (e.request_id.empty()) {
    auto it = r.find("x-acs-request-id");
    if (it != r.end()) e.request_id = std::string(it->value());
  }
  bool throttled = e.http_status == 429 || e.code.starts_with("Throttling");
  std::chrono::milliseconds hint{0};
  for (const auto& field : r) {
    std::string name(field.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
    if (name == "retry-after") {
      if (auto d = detail::ParseRetryAfter(field.value(),
                                           std::chrono::system_clock::now()))
        hint = std::max(hint, *d);
    } else if (name.starts_with("x-ratelimit-")) {
      if (auto d = detail::ParseTimeLeft(field.value())) hint = std::max(hint, *d);
    }
  }
  *wait = hint;
  int s = e.http_status;
  std::optional<Kind> gateway_kind;
  if (spec.rpc) gateway_kind = AdminGatewayKind(e.code);
  if (throttled) {
    e.kind = Kind::kThrottled;
    e.retryable = true;
  } else if (gateway_kind) {
    e.kind = *gateway_kind;
  } else if (s >= 500) {
    e.kind = Kind::kServer;
    if (spec.idempotent) {
      e.retryable = true;
    } else {
      // A gateway can answer 502/504 (or a backend 500/503) after the create
      // committed. Resending could make a second object (groups have no
      // documented external-id uniqueness), so the caller looks it up first,
      // as after a lost response.
      e.ambiguous = true;
    }
  } else if (s == 408) {
    e.kind = Kind::kTimeout;
    e.retryable = true;
  } else if (oauth || s == 401) {
    e.kind = Kind::kAuth;
  } else if (s == 403) {
    e.kind = Kind::kPermission;
  } else if (s == 404 || IsNotFoundCode(e.code)) {
    e.kind = Kind::kNotFound;
  } else if (s == 409 || IsConflictCode(e.code)) {
    e.kind = Kind::kConflict;
  } else if (s >= 400) {
    e.kind = Kind::kClient;
  } else {
    e.kind = Kind::kProtocol;
    e.message = "unexpected HTTP status " + std::to_string(s);
  }
  return e;
}

ApiError Client::Impl::ErrorFromTransport(const CallSpec& spec,
                                          const detail::Exchange& ex) const {
  ApiError e;
  std::string where = detail::StageName(ex.stage);
  if (shutdown_ || ex.ec == asio::error::operation_aborted) {
    e = MakeError(Kind::kCancelled, "Cancelled", "the client was shut down");
    return e;
  }
  if (ex.tls_verify_failed) {
    return MakeError(Kind::kTls, "TlsError",
                     ex.detail + " (" + endpoint_.host + ")");
  }
  if (ex.ec == http::error::body_limit) {
    return MakeError(Kind::kProtocol, "BodyTooLarge",
                     "response body exceeds " +
                         std::to_string(opt_.body_limit) + " bytes");
  }
  if (ex.ec == beast::error::timeout) {
    e = MakeError(Kind::kTimeout, "Timeout",
                  where + " timed out after " +
                      std::to_string(opt_.timeout.count()) + " ms",
                  true);
  } else if (ex.ec.category() ==
                 make_error_code(http::error::end_of_stream).category() &&
             ex.ec != http::error::end_of_stream) {
    e = MakeError(Kind::kProtocol, "BadResponse",
                  "malformed HTTP response: " + ex.ec.message(), true);
  } else {
    e = MakeError(Kind::kNetwork, "NetworkError",
                  where + ": " + ex.ec.message(), true);
  }
  if (ex.written && !spec.idempotent) {
    e.retryable = false;
    e.ambiguous = true;
  }
  return e;
}

awaitable<bool> Client::Impl::Sleep(std::chrono::milliseconds d) {
  if (shutdown_) co_return false;
  asio::steady_timer timer(ex_, d);
  sleepers_.insert(&timer);
  co_await timer.async_wait(as_tuple(use_awaitable));
  sleepers_.erase(&timer);
  co_return !shutdown_;
}

void Client::Impl::RecordResponse(const std::string& action, int status) {
  std::lock_guard lock(stats_mu_);
  auto& a = stats_.actions[action];
  ++stats_.requests;
  if (status == 0) {
    ++a.no_response;
  } else if (status < 400) {
    ++a.status_2xx;
  } else if (status < 500) {
    ++a.status_4xx;
  } else {
    ++a.status_5xx;
  }
}

void Client::Impl::RecordCall(const std::string& action, Clock::duration d,
                              bool ok) {
  double ms = std::chrono::duration<double, std::milli>(d).count();
  std::lock_guard lock(stats_mu_);
  auto& a = stats_.actions[action];
  ++a.calls;
  if (!ok) ++a.failed_calls;
  a.latency_sum_ms += ms;
  for (size_t i = 0; i < ClientStats::kLatencyBucketsMs.size(); ++i) {
    if (ms <= ClientStats::kLatencyBucketsMs[i]) {
      ++a.latency_buckets[i];
      break;
    }
  }
}

awaitable<Result<CallResponse>> Client::Impl::Call(CallSpec spec) {
  auto self = shared_from_this();
  const std::string action = spec.action;
  const auto start = Clock::now();
  int attempts = 0;
  bool replayed_401 = false;
  budget_.OnFirstAttempt();
  auto fail = [&](ApiError e) -> Result<CallResponse> {
    e.action = action;
    e.attempts = attempts;
    if (e.ambiguous) {
      std::lock_guard lock(stats_mu_);
      ++stats_.ambiguous_writes;
    }
    RecordCall(action, Clock::now() - start, false);
    log_->debug("{} failed: {}", action, e.ToString());
    return e;
  };

  for (;;) {
    if (shutdown_)
      co_return fail(MakeError(Kind::kCancelled, "Cancelled",
                               "the client was shut down"));
    std::string token;
    if (spec.auth) {
      auto t = co_await GetToken();
      if (!t) {
        ApiError e = t.error();
        e.message = "no access token: " + e.message;
        co_return fail(std::move(e));
      }
      token = std::move(*t);
    }
    auto request = BuildRequest(spec, token);
    ++attempts;
    if (attempts > 1) {
      std::lock_guard lock(stats_mu_);
      ++stats_.retries;
    }
    std::function<awaitable<bool>()> before_send = [self]() -> awaitable<bool> {
      bool ok = co_await self->rate_.Acquire();
      co_return ok;
    };
    auto ex = co_await transport_.Send(request, spec.idempotent, before_send);
    // A transparent resend after a stale connection counts as an attempt
    // (e.g. a DELETE that then finds the object gone is done).
    if (ex.replayed) ++attempts;

    ApiError err;
    std::chrono::milliseconds wait{0};
    if (!ex.ec) {
      int status = ex.response.result_int();
      RecordResponse(action, status);
      auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            Clock::now() - ex.sent_at)
                            .count();
      auto rid = ex.response.find("x-acs-request-id");
      if (log_->should_log(spdlog::level::debug))
        log_->debug("{} {} {} {}ms attempt={} request_id={}", action,
                  std::string(http::to_string(spec.method)), status, elapsed_ms,
                  attempts,
                  rid == ex.response.end() ? std::string("-")
                                           : std::string(rid->value()));
      if (status >= 200 && status < 300) {
        CallResponse out;
        out.status = status;
        if (rid != ex.response.end()) out.request_id = std::string(rid->value());
        const auto& body = ex.response.body();
        if (body.empty()) {
          out.body = json::object();
        } else {
          boost::system::error_code ec;
          out.body = json::parse(body, ec);
          if (ec) {
            ApiError e = MakeError(Kind::kProtocol, "BadResponse",
                                   "response body is not JSON: " + ec.message());
            e.http_status = status;
            e.request_id = out.request_id;
            co_return fail(std::move(e));
          }
        }
        if (out.request_id.empty() && out.body.is_object())
          out.request_id = detail::StringFieldAny(
              out.body.get_object(), {"requestId", "RequestId", "requestid"});
        RecordCall(action, Clock::now() - start, true);
        co_return out;
      }
      err = ErrorFromResponse(spec, ex.response, &wait);
      if (status == 401 && spec.auth && !replayed_401) {
        // One refresh and one replay; the old token is dropped only if it is
        // still the current one (a concurrent 401 may have refreshed it).
        replayed_401 = true;
        if (token_ == std::string_view(request->at(http::field::authorization))
                          .substr(7)) {
          token_.clear();
        }
        continue;
      }
      if (err.kind == Kind::kThrottled) {
        bool over_cap = wait > opt_.max_server_wait;
        {
          std::lock_guard lock(stats_mu_);
          ++stats_.throttled;
          if (over_cap) ++stats_.server_wait_over_cap;
        }
        if (over_cap) {
          // Honouring it would park every call for hours while the daemon
          // looks healthy; fail this call now and let the cycle report it.
          // The limiter still slows down, but is not paused.
          rate_.OnThrottled(ex.sent_at, std::chrono::milliseconds(0));
          err.retryable = false;
          err.message += " (the server asked to wait " +
                         std::to_string(wait.count() / 1000) +
                         " s, more than the " +
                         std::to_string(opt_.max_server_wait.count() / 1000) +
                         " s max_server_wait)";
          co_return fail(std::move(err));
        }
        rate_.OnThrottled(ex.sent_at, wait);
      }
    } else {
      RecordResponse(action, 0);
      err = ErrorFromTransport(spec, ex);
      if (log_->should_log(spdlog::level::debug))
        log_->debug("{} {} no response: {} attempt={}", action,
                  std::string(http::to_string(spec.method)), err.message,
                  attempts);
    }

    int cap = std::max(1, opt_.max_attempts) + (replayed_401 ? 1 : 0);
    if (!err.retryable || attempts >= cap) co_return fail(std::move(err));
    if (!budget_.TryRetry()) {
      {
        std::lock_guard lock(stats_mu_);
        ++stats_.retry_budget_exhausted;
      }
      err.message += " (retry budget exhausted)";
      co_return fail(std::move(err));
    }
    auto delay = detail::BackoffDelay(attempts, opt_.base_delay,
                                      opt_.max_delay, rng_);
    if (!co_await Sleep(delay))
      co_return fail(MakeError(Kind::kCancelled, "Cancelled",
                               "the client was shut down"));
  }
}

awaitable<Result<TokenInfo>> Client::Impl::FetchToken() {
  CallSpec spec;
  spec.action = "GenerateToken";
  spec.method = http::verb::post;
  spec.path = "/oauth2/token";
  spec.auth = false;
  spec.idempotent = true;
  // client_secret_post in a form body, so the secret is never in a URL that a
  // proxy or server could log.
  Query form;
  form.Add("grant_type", "client_credentials")
      .Add("client_id", opt_.client_id)
      .Add("client_secret", opt_.client_secret);
  spec.body = std::move(form.text);
  spec.content_type = "application/x-www-form-urlencoded";
  auto sent = Clock::now();
  auto r = co_await Call(std::move(spec));
  if (!r) {
    std::lock_guard lock(stats_mu_);
    ++stats_.token_failures;
    co_return r.error();
  }
  TokenInfo info;
  std::string error;
  if (!detail::Decode(r->body, &info, &error)) {
    ApiError e = MakeError(Kind::kProtocol, "BadResponse", error);
    e.action = "GenerateToken";
    e.http_status = r->status;
    co_return e;
  }
  // Lifetime from expires_in against the local clock (immune to clock skew).
  // expires_at alone is trusted only when it is plausibly ahead: a server
  // clock behind ours makes it look past, and taking that literally would
  // mean one token request per call. Seconds arithmetic throughout: a huge
  // value must not overflow a nanosecond clock.
  constexpr int64_t kMaxLifeS = 24 * 3600;
  constexpr int64_t kDefaultLifeS = 5 * 60;
  const int64_t now_s = static_cast<int64_t>(
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
  int64_t life_s = kDefaultLifeS;
  int64_t skew_s = 0;
  if (info.expires_in > 0) {
    life_s = std::min(info.expires_in, kMaxLifeS);
    if (info.expires_at > 0 &&
        info.expires_at < std::numeric_limits<int64_t>::max() / 2) {
      skew_s = info.expires_at - (now_s + life_s);
    }
  } else if (info.expires_at > now_s && info.expires_at - now_s <= kMaxLifeS) {
    life_s = info.expires_at - now_s;
  } else if (info.expires_at > 0) {
    {
      std::lock_guard lock(stats_mu_);
      ++stats_.token_expiry_untrusted;
    }
    log_->warn(
        "GenerateToken: expires_at {} is {} s from the local clock and "
        "there is no expires_in; using a {} s lifetime (check the clock)",
        info.expires_at, info.expires_at - now_s, kDefaultLifeS);
  }  // neither field: the default lifetime, nothing to warn about
  if (skew_s > 60 || skew_s < -60)
    log_->warn(
        "GenerateToken: expires_at is {} s off the local clock plus "
        "expires_in; the lifetime comes from expires_in (check the clock)",
        skew_s);
  Clock::duration life = std::chrono::seconds(life_s);
  auto margin = std::min<Clock::duration>(std::chrono::seconds(60), life / 10);
  token_ = info.access_token;
  token_expires_at_ = sent + life;
  token_refresh_at_ = sent + life - margin;
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.token_refreshes;
    stats_.token_clock_skew_s = skew_s;
  }
  log_->debug("GenerateToken: new token, lifetime {}s",
              std::chrono::duration_cast<std::chrono::seconds>(life).count());
  co_return info;
}

awaitable<Result<std::string>> Client::Impl::GetToken() {
  for (;;) {
    if (shutdown_)
      co_return MakeError(Kind::kCancelled, "Cancelled",
                          "the client was shut down");
    auto now = Clock::now();
    if (!token_.empty() && now < token_refresh_at_) co_return token_;
    if (token_failure_ && now < token_retry_at_) {
      if (!token_.empty() && now < token_expires_at_) co_return token_;
      co_return *token_failure_;
    }
    if (refreshing_) {
      auto timer = std::make_shared<asio::steady_timer>(ex_);
      timer->expires_at(asio::steady_timer::time_point::max());
      token_waiters_.push_back(timer);
      co_await timer->async_wait(as_tuple(use_awaitable));
      continue;
    }
    refreshing_ = true;
    auto r = co_await FetchToken();
    refreshing_ = false;
    auto waiters = std::move(token_waiters_);
    token_waiters_.clear();
    for (auto& w : waiters) w->cancel();
    if (r) {
      token_failure_.reset();
      token_backoff_ = std::chrono::milliseconds(0);
      co_return token_;
    }
    ApiError e = r.error();
    // Rejected credentials: fail fast for a growing while instead of asking
    // again on every call (no hot loop). Transient failures are not cached.
    if (e.kind == Kind::kAuth || e.kind == Kind::kClient ||
        e.kind == Kind::kPermission || e.kind == Kind::kTls) {
      token_backoff_ = token_backoff_.count() == 0
                           ? std::chrono::milliseconds(1000)
                           : std::min(token_backoff_ * 2,
                                      std::chrono::milliseconds(300000));
      token_failure_ = e;
      token_retry_at_ = Clock::now() + token_backoff_;
      log_->warn("token request rejected: {}; next try in {} ms", e.ToString(),
                 token_backoff_.count());
    }
    if (!token_.empty() && Clock::now() < token_expires_at_) co_return token_;
    co_return e;
  }
}

// ---------------------------------------------------------------- Client --

Result<std::shared_ptr<Client::Impl>> CreateImpl(asio::any_io_executor executor,
                                                 Options options,
                                                 bool require_application) {
  auto invalid = [](std::string message) {
    ApiError e = MakeError(Kind::kClient, "InvalidOptions", std::move(message));
    return e;
  };
  detail::Endpoint endpoint;
  if (auto err = detail::ParseEndpoint(options.endpoint, &endpoint))
    return invalid(*err);
  if (!endpoint.tls && !endpoint.loopback && !options.allow_insecure_http)
    return invalid(
        "plain http is allowed only for a loopback endpoint unless "
        "allow_insecure_http is set: " + options.endpoint);
  if (options.instance_id.empty()) return invalid("instance_id is empty");
  if (require_application && options.application_id.empty())
    return invalid("application_id is empty");
  if (options.client_id.empty()) options.client_id = options.application_id;
  if (options.connections < 1) options.connections = 1;
  options.pipeline_depth = std::clamp(options.pipeline_depth, 1, 8);
  if (options.max_attempts < 1) options.max_attempts = 1;
  std::shared_ptr<asio::ssl::context> ctx;
  if (endpoint.tls) {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    if (!options.ca_file.empty()) {
      ctx->load_verify_file(options.ca_file, ec);
      if (ec)
        return invalid("cannot load tls.ca_file " + options.ca_file + ": " +
                       ec.message());
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return invalid("cannot load the system trust store: " + ec.message());
    }
  }
  return std::make_shared<Client::Impl>(executor, std::move(options), endpoint,
                                        std::move(ctx));
}

Result<std::unique_ptr<Client>> Client::Create(asio::any_io_executor executor,
                                               Options options) {
  auto impl = CreateImpl(std::move(executor), std::move(options),
                         /*require_application=*/true);
  if (!impl) return impl.error();
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

Client::Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;
void Client::Shutdown() { impl_->Shutdown(); }
ClientStats Client::stats() const { return impl_->Stats(); }
const Options& Client::options() const { return impl_->options(); }

namespace {

template <class T>
Result<T> DecodeAs(const Result<CallResponse>& r, const char* action) {
  if (!r) return r.error();
  T out;
  std::string error;
  if (!detail::Decode(r->body, &out, &error)) {
    ApiError e = MakeError(Kind::kProtocol, "BadResponse", error);
    e.action = action;
    e.http_status = r->status;
    e.request_id = r->request_id;
    return e;
  }
  return out;
}

// What a 200 without the id means.
enum class NoId {
  kNotFound,   // a lookup: some services answer "no match" this way
  kAmbiguous,  // a create: it probably committed, but under which id?
};

Result<std::string> IdField(const Result<CallResponse>& r, const char* action,
                            std::string_view key, NoId no_id) {
  if (!r) return r.error();
  std::string id;
  if (r->body.is_object()) id = detail::StringField(r->body.get_object(), key);
  if (id.empty()) {
    ApiError e;
    if (no_id == NoId::kNotFound) {
      e = MakeError(Kind::kNotFound, "",
                    "no match (HTTP " + std::to_string(r->status) +
                        " without " + std::string(key) + ")");
    } else {
      e = MakeError(Kind::kProtocol, "BadResponse",
                    "response has no " + std::string(key));
      e.ambiguous = true;
    }
    e.action = action;
    e.http_status = r->status;
    e.request_id = r->request_id;
    return e;
  }
  return id;
}

Status AsStatus(const Result<CallResponse>& r) {
  if (!r) return r.error();
  return {};
}

// A DELETE retried after a lost response finds the object gone: done.
Status DeleteStatus(const Result<CallResponse>& r) {
  if (!r && r.error().kind == Kind::kNotFound && r.error().attempts > 1)
    return {};
  return AsStatus(r);
}

CallSpec Spec(const char* action, http::verb method, std::string path) {
  CallSpec s;
  s.action = action;
  s.method = method;
  s.path = std::move(path);
  return s;
}

CallSpec WithBody(CallSpec s, std::string body, bool idempotent = true) {
  s.body = std::move(body);
  s.idempotent = idempotent;
  return s;
}

std::string IdsBody(std::string_view key, const std::vector<std::string>& ids) {
  json::array a;
  for (const auto& id : ids) a.push_back(json::string(id));
  json::object o;
  o[key] = std::move(a);
  return detail::EncodeObject(o);
}

ApiError ListingError(const char* action, std::string message) {
  ApiError e = MakeError(Kind::kProtocol, "InconsistentListing",
                         std::move(message), /*retryable=*/true);
  e.action = action;
  return e;
}

constexpr int kPageSize = 100;

}  // namespace

awaitable<Result<TokenInfo>> Client::GenerateToken() {
  auto impl = impl_;
  auto r = co_await impl->FetchToken();
  co_return r;
}

awaitable<Result<ProvisioningScope>> Client::GetApplicationProvisioningScope() {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("GetApplicationProvisioningScope",
                                    http::verb::get, "/provisioningScope"));
  co_return DecodeAs<ProvisioningScope>(r, "GetApplicationProvisioningScope");
}

// ---- users ------------------------------------------------------------------

awaitable<Result<std::string>> Client::CreateUser(CreateUserRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(WithBody(
      Spec("CreateUser", http::verb::post, "/users"), detail::Encode(request),
      /*idempotent=*/false));
  co_return IdField(r, "CreateUser", "userId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchUser(std::string user_id,
                                    PatchUserRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("PatchUser", http::verb::patch,
                    "/users/" + PercentEncode(user_id)),
               detail::Encode(request)));
  co_return AsStatus(r);
}

awaitable<Status> Client::DeleteUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("DeleteUser", http::verb::delete_,
                                    "/users/" + PercentEncode(user_id)));
  co_return DeleteStatus(r);
}

awaitable<Status> Client::EnableUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("EnableUser", http::verb::post,
           "/users/" + PercentEncode(user_id) + "/actions/enable"));
  co_return AsStatus(r);
}

awaitable<Status> Client::DisableUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("DisableUser", http::verb::post,
           "/users/" + PercentEncode(user_id) + "/actions/disable"));
  co_return AsStatus(r);
}

awaitable<Result<User>> Client::GetUser(std::string user_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("GetUser", http::verb::get, "/users/" + PercentEncode(user_id)));
  co_return DecodeAs<User>(r, "GetUser");
}

awaitable<Result<UserPage>> Client::ListUsers(
    std::optional<std::string> organizational_unit_id, int page_number,
    int page_size) {
  auto impl = impl_;
  auto spec = Spec("ListUsers", http::verb::get, "/users");
  Query q;
  if (organizational_unit_id) q.Add("organizationalUnitId", *organizational_unit_id);
  q.Add("pageNumber", std::to_string(page_number))
      .Add("pageSize", std::to_string(page_size));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<UserPage>(r, "ListUsers");
}

namespace {

// Page-number listings: totalCount must not change, no id may repeat, and
// the items must add up to totalCount.
template <class Item, class Fetch, class IdOf, class Sink>
awaitable<Status> PageNumberListing(const char* action, Fetch fetch,
                                    IdOf id_of, Sink sink) {
  int64_t total = -1;
  int64_t count = 0;
  std::unordered_set<std::string> seen;
  for (int page = 1;; ++page) {
    auto r = co_await fetch(page);
    if (!r) co_return r.error();
    auto& [page_total, items] = *r;
    if (total < 0) {
      total = page_total;
    } else if (page_total != total) {
      co_return ListingError(action, "totalCount changed from " +
                                         std::to_string(total) + " to " +
                                         std::to_string(page_total) +
                                         " during paging (page " +
                                         std::to_string(page) + ")");
    }
    for (const auto& item : items) {
      if (!seen.insert(id_of(item)).second)
        co_return ListingError(action, "page " + std::to_string(page) +
                                           " repeats " + id_of(item));
    }
    auto n = static_cast<int64_t>(items.size());
    count += n;
    if (count > total)
      co_return ListingError(action, "more items (" + std::to_string(count) +
                                         ") than totalCount " +
                                         std::to_string(total));
    sink(std::move(items));
    if (n == 0 || count >= total || n < kPageSize) break;
    if (page > total / kPageSize + 1)
      co_return ListingError(action, "more pages than totalCount allows");
  }
  if (count != total)
    co_return ListingError(action, "incomplete listing: " +
                                       std::to_string(count) + " of totalCount " +
                                       std::to_string(total) +
                                       " (a page is missing)");
  co_return Status{};
}

// Token listings: no token may repeat, no id may repeat, totalCount (when
// sent) must not change and must match the items.
template <class Fetch, class IdOf, class Sink>
awaitable<Status> TokenListing(const char* action, Fetch fetch, IdOf id_of,
                               Sink sink) {
  int64_t total = -2;  // -2: not seen yet; -1: server does not send it
  int64_t count = 0;
  std::unordered_set<std::string> seen, tokens;
  std::string token;
  for (int page = 1;; ++page) {
    auto r = co_await fetch(token);
    if (!r) co_return r.error();
    auto& [page_total, next, items] = *r;
    if (total == -2) {
      total = page_total;
    } else if (page_total != total) {
      co_return ListingError(action, "totalCount changed from " +
                                         std::to_string(total) + " to " +
                                         std::to_string(page_total) +
                                         " during paging");
    }
    for (const auto& item : items) {
      if (!seen.insert(id_of(item)).second)
        co_return ListingError(action, "page " + std::to_string(page) +
                                           " repeats " + id_of(item));
    }
    count += static_cast<int64_t>(items.size());
    sink(std::move(items));
    if (next.empty()) break;
    if (!tokens.insert(next).second)
      co_return ListingError(action, "nextToken repeated: paging would loop");
    if (page > 1000000) co_return ListingError(action, "too many pages");
    token = next;
  }
  if (total >= 0 && count != total)
    co_return ListingError(action, "incomplete listing: " +
                                       std::to_string(count) + " of totalCount " +
                                       std::to_string(total));
  co_return Status{};
}

}  // namespace

awaitable<Status> Client::StreamUsers(
    std::optional<std::string> organizational_unit_id,
    std::function<void(std::vector<User>&&)> on_page) {
  auto fetch = [this, organizational_unit_id](int page)
      -> awaitable<Result<std::pair<int64_t, std::vector<User>>>> {
    auto r = co_await ListUsers(organizational_unit_id, page, kPageSize);
    if (!r) co_return r.error();
    co_return std::pair{r->total_count, std::move(r->users)};
  };
  auto st = co_await PageNumberListing<User>(
      "ListUsers", fetch, [](const User& u) { return u.user_id; }, on_page);
  co_return st;
}

awaitable<Result<std::vector<User>>> Client::ListAllUsers(
    std::optional<std::string> organizational_unit_id) {
  std::vector<User> all;
  auto st = co_await StreamUsers(organizational_unit_id,
                                 [&all](std::vector<User>&& page) {
                                   for (auto& u : page) all.push_back(std::move(u));
                                 });
  if (!st) co_return st.error();
  co_return all;
}

awaitable<Result<std::string>> Client::GetUserIdByUserExternalId(
    std::string user_external_id, std::optional<std::string> user_source_type,
    std::optional<std::string> user_source_id) {
  auto impl = impl_;
  json::object o;
  o["userExternalId"] = user_external_id;
  o["userSourceType"] = user_source_type.value_or("build_in");
  o["userSourceId"] = user_source_id.value_or(impl->instance_id());
  auto r = co_await impl->Call(WithBody(
      Spec("GetUserIdByUserExternalId", http::verb::post,
           "/users/_/actions/getUserIdByExternalId"),
      detail::EncodeObject(o)));
  co_return IdField(r, "GetUserIdByUserExternalId", "userId", NoId::kNotFound);
}

awaitable<Result<std::string>> Client::GetUserIdByUsername(
    std::string username) {
  auto impl = impl_;
  json::object o;
  o["username"] = username;
  auto r = co_await impl->Call(
      WithBody(Spec("GetUserIdByUsername", http::verb::post,
                    "/users/_/actions/getUserIdByUsername"),
               detail::EncodeObject(o)));
  co_return IdField(r, "GetUserIdByUsername", "userId", NoId::kNotFound);
}

awaitable<Result<std::string>> Client::GetUserIdByEmail(std::string email) {
  auto impl = impl_;
  json::object o;
  o["email"] = email;
  auto r = co_await impl->Call(WithBody(
      Spec("GetUserIdByEmail", http::verb::post,
           "/users/_/actions/getUserIdByEmail"),
      detail::EncodeObject(o)));
  co_return IdField(r, "GetUserIdByEmail", "userId", NoId::kNotFound);
}

awaitable<Status> Client::SetUserPrimaryOrganizationalUnit(
    std::string user_id, std::string organizational_unit_id) {
  auto impl = impl_;
  json::object o;
  o["organizationalUnitId"] = organizational_unit_id;
  auto r = co_await impl->Call(
      WithBody(Spec("SetUserPrimaryOrganizationalUnit", http::verb::post,
                    "/users/" + PercentEncode(user_id) +
                        "/actions/setUserPrimaryOrganizationalUnit"),
               detail::EncodeObject(o)));
  co_return AsStatus(r);
}

awaitable<Status> Client::AddUserToOrganizationalUnits(
    std::string user_id, std::vector<std::string> organizational_unit_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("AddUserToOrganizationalUnits", http::verb::post,
                    "/users/" + PercentEncode(user_id) +
                        "/actions/addUserToOrganizationalUnits"),
               IdsBody("organizationalUnitIds", organizational_unit_ids)));
  co_return AsStatus(r);
}

awaitable<Status> Client::RemoveUserFromOrganizationalUnits(
    std::string user_id, std::vector<std::string> organizational_unit_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("RemoveUserFromOrganizationalUnits", http::verb::post,
                    "/users/" + PercentEncode(user_id) +
                        "/actions/removeUserFromOrganizationalUnits"),
               IdsBody("organizationalUnitIds", organizational_unit_ids)));
  co_return AsStatus(r);
}

// ---- organizational units ---------------------------------------------------

awaitable<Result<std::string>> Client::CreateOrganizationalUnit(
    CreateOrganizationalUnitRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("CreateOrganizationalUnit", http::verb::post,
                    "/organizationalUnits"),
               detail::Encode(request), /*idempotent=*/false));
  co_return IdField(r, "CreateOrganizationalUnit", "organizationalUnitId",
                    NoId::kAmbiguous);
}

awaitable<Status> Client::PatchOrganizationalUnit(
    std::string organizational_unit_id,
    PatchOrganizationalUnitRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(WithBody(
      Spec("PatchOrganizationalUnit", http::verb::patch,
           "/organizationalUnits/" + PercentEncode(organizational_unit_id)),
      detail::Encode(request)));
  co_return AsStatus(r);
}

awaitable<Status> Client::DeleteOrganizationalUnit(
    std::string organizational_unit_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("DeleteOrganizationalUnit", http::verb::delete_,
           "/organizationalUnits/" + PercentEncode(organizational_unit_id)));
  co_return DeleteStatus(r);
}

awaitable<Result<OrganizationalUnit>> Client::GetOrganizationalUnit(
    std::string organizational_unit_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("GetOrganizationalUnit", http::verb::get,
           "/organizationalUnits/" + PercentEncode(organizational_unit_id)));
  co_return DecodeAs<OrganizationalUnit>(r, "GetOrganizationalUnit");
}

awaitable<Result<OrganizationalUnitPage>> Client::ListOrganizationalUnits(
    std::string parent_id, int page_number, int page_size) {
  auto impl = impl_;
  auto spec = Spec("ListOrganizationalUnits", http::verb::get,
                   "/organizationalUnits");
  Query q;
  q.Add("parentId", parent_id)
      .Add("pageNumber", std::to_string(page_number))
      .Add("pageSize", std::to_string(page_size));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<OrganizationalUnitPage>(r, "ListOrganizationalUnits");
}

awaitable<Status> Client::StreamOrganizationalUnits(
    std::string parent_id,
    std::function<void(std::vector<OrganizationalUnit>&&)> on_page) {
  auto fetch = [this, parent_id](int page)
      -> awaitable<Result<std::pair<int64_t, std::vector<OrganizationalUnit>>>> {
    auto r = co_await ListOrganizationalUnits(parent_id, page, kPageSize);
    if (!r) co_return r.error();
    co_return std::pair{r->total_count, std::move(r->organizational_units)};
  };
  auto st = co_await PageNumberListing<OrganizationalUnit>(
      "ListOrganizationalUnits", fetch,
      [](const OrganizationalUnit& o) { return o.organizational_unit_id; },
      on_page);
  co_return st;
}

awaitable<Result<std::vector<OrganizationalUnit>>>
Client::ListAllOrganizationalUnits(std::string parent_id) {
  std::vector<OrganizationalUnit> all;
  auto st = co_await StreamOrganizationalUnits(
      parent_id, [&all](std::vector<OrganizationalUnit>&& page) {
        for (auto& o : page) all.push_back(std::move(o));
      });
  if (!st) co_return st.error();
  co_return all;
}

awaitable<Result<std::vector<std::string>>>
Client::ListOrganizationalUnitParentIds(std::string organizational_unit_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("ListOrganizationalUnitParentIds", http::verb::get,
           "/organizationalUnits/" + PercentEncode(organizational_unit_id) +
               "/parentIds"));
  if (!r) co_return r.error();
  std::vector<std::string> ids;
  std::string error;
  if (!r->body.is_object() ||
      !detail::StringArrayField(r->body.get_object(), "parentIds", &ids,
                                &error)) {
    ApiError e = MakeError(Kind::kProtocol, "BadResponse",
                           error.empty() ? "not a JSON object" : error);
    e.action = "ListOrganizationalUnitParentIds";
    co_return e;
  }
  co_return ids;
}

awaitable<Result<std::string>> Client::GetOrganizationalUnitIdByExternalId(
    std::string organizational_unit_external_id,
    std::optional<std::string> source_type,
    std::optional<std::string> source_id) {
  auto impl = impl_;
  json::object o;
  o["organizationalUnitExternalId"] = organizational_unit_external_id;
  o["organizationalUnitSourceType"] = source_type.value_or("build_in");
  o["organizationalUnitSourceId"] = source_id.value_or(impl->instance_id());
  auto r = co_await impl->Call(
      WithBody(Spec("GetOrganizationalUnitIdByExternalId", http::verb::post,
                    "/organizationalUnits/_/actions/"
                    "getOrganizationalUnitIdByExternalId"),
               detail::EncodeObject(o)));
  co_return IdField(r, "GetOrganizationalUnitIdByExternalId",
                    "organizationalUnitId", NoId::kNotFound);
}

// ---- groups -----------------------------------------------------------------

awaitable<Result<std::string>> Client::CreateGroup(CreateGroupRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("CreateGroup", http::verb::post, "/groups"),
               detail::Encode(request), /*idempotent=*/false));
  co_return IdField(r, "CreateGroup", "groupId", NoId::kAmbiguous);
}

awaitable<Status> Client::PatchGroup(std::string group_id,
                                     PatchGroupRequest request) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("PatchGroup", http::verb::patch,
                    "/groups/" + PercentEncode(group_id)),
               detail::Encode(request)));
  co_return AsStatus(r);
}

awaitable<Status> Client::DeleteGroup(std::string group_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(Spec("DeleteGroup", http::verb::delete_,
                                    "/groups/" + PercentEncode(group_id)));
  co_return DeleteStatus(r);
}

awaitable<Result<Group>> Client::GetGroup(std::string group_id) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      Spec("GetGroup", http::verb::get, "/groups/" + PercentEncode(group_id)));
  co_return DecodeAs<Group>(r, "GetGroup");
}

awaitable<Result<GroupPage>> Client::ListGroups(
    std::string next_token, int max_results,
    std::optional<std::string> group_name_starts_with) {
  auto impl = impl_;
  auto spec = Spec("ListGroups", http::verb::get, "/groups");
  Query q;
  if (group_name_starts_with) q.Add("groupNameStartWith", *group_name_starts_with);
  if (!next_token.empty()) q.Add("nextToken", next_token);
  q.Add("maxResults", std::to_string(max_results));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<GroupPage>(r, "ListGroups");
}

awaitable<Status> Client::StreamGroups(
    std::function<void(std::vector<Group>&&)> on_page) {
  auto fetch = [this](std::string token)
      -> awaitable<Result<std::tuple<int64_t, std::string, std::vector<Group>>>> {
    auto r = co_await ListGroups(token, kPageSize);
    if (!r) co_return r.error();
    co_return std::tuple{r->total_count, std::move(r->next_token),
                         std::move(r->groups)};
  };
  auto st = co_await TokenListing(
      "ListGroups", fetch, [](const Group& g) { return g.group_id; }, on_page);
  co_return st;
}

awaitable<Result<std::vector<Group>>> Client::ListAllGroups() {
  std::vector<Group> all;
  auto st = co_await StreamGroups([&all](std::vector<Group>&& page) {
    for (auto& g : page) all.push_back(std::move(g));
  });
  if (!st) co_return st.error();
  co_return all;
}

awaitable<Status> Client::AddUsersToGroup(std::string group_id,
                                          std::vector<std::string> user_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(WithBody(
      Spec("AddUsersToGroup", http::verb::post,
           "/groups/" + PercentEncode(group_id) + "/actions/addUsersToGroup"),
      IdsBody("userIds", user_ids)));
  co_return AsStatus(r);
}

awaitable<Status> Client::RemoveUsersFromGroup(
    std::string group_id, std::vector<std::string> user_ids) {
  auto impl = impl_;
  auto r = co_await impl->Call(
      WithBody(Spec("RemoveUsersFromGroup", http::verb::post,
                    "/groups/" + PercentEncode(group_id) +
                        "/actions/removeUsersFromGroup"),
               IdsBody("userIds", user_ids)));
  co_return AsStatus(r);
}

awaitable<Result<GroupMemberPage>> Client::ListUsersForGroup(
    std::string group_id, std::string next_token, int max_results) {
  auto impl = impl_;
  auto spec = Spec("ListUsersForGroup", http::verb::get,
                   "/groups/" + PercentEncode(group_id) +
                       "/actions/listUsersForGroup");
  Query q;
  if (!next_token.empty()) q.Add("nextToken", next_token);
  q.Add("maxResults", std::to_string(max_results));
  spec.query = std::move(q.text);
  auto r = co_await impl->Call(std::move(spec));
  co_return DecodeAs<GroupMemberPage>(r, "ListUsersForGroup");
}

awaitable<Result<std::vector<std::string>>> Client::ListAllUsersForGroup(
    std::string group_id) {
  std::vector<std::string> all;
  auto fetch = [this, group_id](std::string token)
      -> awaitable<
          Result<std::tuple<int64_t, std::string, std::vector<std::string>>>> {
    auto r = co_await ListUsersForGroup(group_id, token, kPageSize);
    if (!r) co_return r.error();
    co_return std::tuple{r->total_count, std::move(r->next_token),
                         std::move(r->user_ids)};
  };
  auto st = co_await TokenListing(
      "ListUsersForGroup", fetch, [](const std::string& id) { return id; },
      [&all](std::vector<std::string>&& page) {
        for (auto& id : page) all.push_back(std::move(id));
      });
  if (!st) co_return st.error();
  co_return all;
}

}  // namespace idsync::idaas
