// ClientCore's bearer token: fetched with client credentials, cached for
// its lifetime less a margin, one refresh at a time, rejections backed off.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <limits>

#include "client_impl.h"
#include "idsync/base/clock.h"
#include "codec.h"
#include "url_query.h"

namespace idsync::idaas {

using asio::as_tuple;
using asio::use_awaitable;
using Kind = ApiError::Kind;
using detail::CallSpec;
using detail::MakeError;
using detail::Query;

awaitable<Result<TokenInfo>> detail::ClientCore::FetchToken() {
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
  const int64_t now_s = base::Clock::System().NowMs() / 1000;
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

awaitable<Result<std::string>> detail::ClientCore::GetToken() {
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
    ApiError e = ApiErrorOf(r.error());
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

}  // namespace idsync::idaas
