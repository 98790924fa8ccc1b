// ClientCore's call loop: build the request, wait for the rate limiter,
// send, classify the answer, and retry with backoff within the budget.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>

#include "client_impl.h"
#include "codec.h"
#include "idsync/version.h"
#include "url_query.h"

namespace idsync::idaas {

namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;
using Kind = ApiError::Kind;
using detail::CallResponse;
using detail::CallSpec;
using detail::MakeError;
using detail::PercentEncode;

detail::ClientCore::ClientCore(asio::any_io_executor ex, Options opt,
                               detail::Endpoint endpoint,
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

detail::RequestPtr detail::ClientCore::BuildRequest(const CallSpec& spec,
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

awaitable<bool> detail::ClientCore::Sleep(std::chrono::milliseconds d) {
  if (shutdown_) co_return false;
  asio::steady_timer timer(ex_, d);
  sleepers_.insert(&timer);
  co_await timer.async_wait(as_tuple(use_awaitable));
  sleepers_.erase(&timer);
  co_return !shutdown_;
}

awaitable<Result<CallResponse>> detail::ClientCore::Call(CallSpec spec) {
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
        ApiError e = ApiErrorOf(t.error());
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

}  // namespace idsync::idaas
