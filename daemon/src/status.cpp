#include "status.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "engine.h"
#include "idsync/sync/report.h"

namespace idsync::daemon {
namespace {

// Label values escape backslash, double quote and newline (exposition 0.0.4).
std::string Escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

class Exposition {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
  void Sample(std::string_view name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ',';
        out_ += labels[i].first;
        out_ += "=\"";
        out_ += Escape(labels[i].second);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += Number(value);
    out_ += '\n';
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// Every guard the planner knows, so that a dashboard sees 0 before the first
// trip rather than a missing series.
constexpr const auto& kGuards = sync::kGuardNames;
constexpr const char* kOutcomes[] = {"ok", "changes", "blocked", "failed", "error"};

}  // namespace

void AccumulateStats(idaas::ClientStats* into, const idaas::ClientStats& from) {
  for (const auto& [name, a] : from.actions) {
    auto& t = into->actions[name];
    t.status_2xx += a.status_2xx;
    t.status_4xx += a.status_4xx;
    t.status_5xx += a.status_5xx;
    t.no_response += a.no_response;
    t.calls += a.calls;
    t.failed_calls += a.failed_calls;
    for (size_t i = 0; i < a.latency_buckets.size(); ++i) t.latency_buckets[i] += a.latency_buckets[i];
    t.latency_sum_ms += a.latency_sum_ms;
  }
  into->requests += from.requests;
  into->throttled += from.throttled;
  into->retries += from.retries;
  into->retry_budget_exhausted += from.retry_budget_exhausted;
  into->token_refreshes += from.token_refreshes;
  into->token_failures += from.token_failures;
  into->connections_opened += from.connections_opened;
  into->reconnects += from.reconnects;
  into->pipelined += from.pipelined;
  into->ambiguous_writes += from.ambiguous_writes;
  into->server_wait_over_cap += from.server_wait_over_cap;
  into->token_expiry_untrusted += from.token_expiry_untrusted;
  into->current_qps = from.current_qps;
  into->token_clock_skew_s = from.token_clock_skew_s;
}

std::string RenderMetrics(const DaemonStatus& s, const idaas::ClientStats& api) {
  Exposition e;
  e.Family("idsync_build_info", "gauge", "The running idsync version.");
  e.Sample("idsync_build_info", {{"version", s.version}}, 1);
  e.Family("idsync_up", "gauge", "1 while the daemon's control loop runs.");
  e.Sample("idsync_up", {}, 1);
  e.Family("idsync_ready", "gauge",
           "1 after the start-up checks passed and while the last cycle did not end in error.");
  e.Sample("idsync_ready", {}, s.ready ? 1 : 0);
  e.Family("idsync_cycle_running", "gauge", "1 while a sync cycle runs.");
  e.Sample("idsync_cycle_running", {}, s.state == "running" ? 1 : 0);

  e.Family("idsync_cycles_total", "counter", "Sync cycles by outcome.");
  for (const char* outcome : kOutcomes) {
    auto it = s.cycles_by_outcome.find(outcome);
    e.Sample("idsync_cycles_total", {{"outcome", outcome}},
             it == s.cycles_by_outcome.end() ? 0 : static_cast<double>(it->second));
  }
  e.Family("idsync_last_cycle_duration_seconds", "gauge", "How long the last cycle took.");
  e.Sample("idsync_last_cycle_duration_seconds", {},
           s.has_last_cycle ? Seconds(s.last_cycle.finished_ms - s.last_cycle.started_ms) : 0);
  e.Family("idsync_last_cycle_refresh_api_calls", "gauge",
           "API calls of the last cycle's full refresh of the cache (0: no refresh).");
  e.Sample("idsync_last_cycle_refresh_api_calls", {},
           s.has_last_cycle ? static_cast<double>(s.last_cycle.refresh_api_calls) : 0);
  e.Family("idsync_last_cycle_timestamp_seconds", "gauge", "When the last cycle ended (Unix time).");
  e.Sample("idsync_last_cycle_timestamp_seconds", {},
           s.has_last_cycle ? Seconds(s.last_cycle.finished_ms) : 0);
  e.Family("idsync_last_success_timestamp_seconds", "gauge",
           "When a cycle last ended converged or with only guarded changes left (Unix time).");
  e.Sample("idsync_last_success_timestamp_seconds", {}, Seconds(s.last_success_ms));
  e.Family("idsync_consecutive_failed_cycles", "gauge",
           "Cycles in a row that ended in error or with failed operations.");
  e.Sample("idsync_consecutive_failed_cycles", {}, s.consecutive_failures);

  e.Family("idsync_operations_total", "counter", "Operations applied, by kind and result.");
  for (const auto& [key, n] : s.operations) {
    e.Sample("idsync_operations_total", {{"kind", key.first}, {"result", key.second}},
             static_cast<double>(n));
  }
  e.Family("idsync_planned_operations", "gauge", "Operations in the last cycle's plan, by kind.");
  if (s.has_last_cycle) {
    for (const auto& [kind, n] : s.last_cycle.planned) {
      e.Sample("idsync_planned_operations", {{"kind", kind}}, static_cast<double>(n));
    }
  }
  e.Family("idsync_guard_tripped", "gauge",
           "1 when the guard withheld writes in the last cycle; they stay withheld until overridden.");
  auto guard_sample = [&](const char* name) {
    bool tripped = false;
    for (const auto& g : s.guards) tripped |= g.name == name && g.tripped;
    e.Sample("idsync_guard_tripped", {{"guard", name}}, tripped ? 1 : 0);
  };
  for (const char* name : kGuards) guard_sample(name);
  guard_sample(kUnusableSourceGuard);
  if (s.source_read) {
    e.Family("idsync_source_records", "gauge", "Records in the source at the last cycle.");
    e.Sample("idsync_source_records", {{"entity", "user"}}, static_cast<double>(s.source_users));
    e.Sample("idsync_source_records", {{"entity", "ou"}}, static_cast<double>(s.source_ous));
    e.Sample("idsync_source_records", {{"entity", "group"}}, static_cast<double>(s.source_groups));
    e.Family("idsync_source_rejected_records", "gauge",
             "Source records rejected by validation or mapping at the last cycle.");
    e.Sample("idsync_source_rejected_records", {}, static_cast<double>(s.source_rejected));
  }
  e.Family("idsync_journal_entries", "gauge", "Write-ahead journal entries by state.");
  for (const auto& [state, n] : s.journal) {
    e.Sample("idsync_journal_entries", {{"state", state}}, static_cast<double>(n));
  }
  e.Family("idsync_triggers_total", "counter", "What started cycles.");
  for (const auto& [trigger, n] : s.triggers) {
    e.Sample("idsync_triggers_total", {{"trigger", trigger}}, static_cast<double>(n));
  }
  e.Family("idsync_config_reloads_total", "counter", "Configuration reloads (SIGHUP) by result.");
  e.Sample("idsync_config_reloads_total", {{"result", "ok"}}, static_cast<double>(s.reloads_ok));
  e.Sample("idsync_config_reloads_total", {{"result", "failed"}},
           static_cast<double>(s.reloads_failed));

  e.Family("idsync_api_requests_total", "counter",
           "IDaaS API calls by action and response class (none: no response).");
  for (const auto& [action, a] : api.actions) {
    const std::pair<const char*, uint64_t> classes[] = {
        {"2xx", a.status_2xx}, {"4xx", a.status_4xx}, {"5xx", a.status_5xx}, {"none", a.no_response}};
    for (const auto& [cls, n] : classes) {
      if (n) {
        e.Sample("idsync_api_requests_total", {{"action", action}, {"class", cls}},
                 static_cast<double>(n));
      }
    }
  }
  e.Family("idsync_api_request_duration_seconds", "histogram",
           "IDaaS API call latency by action, retries included.");
  for (const auto& [action, a] : api.actions) {
    uint64_t cumulative = 0;
    const auto& bounds = idaas::ClientStats::kLatencyBucketsMs;
    for (size_t i = 0; i < bounds.size(); ++i) {
      cumulative += a.latency_buckets[i];
      std::string le = i + 1 == bounds.size() ? "+Inf" : Number(bounds[i] / 1000.0);
      e.Sample("idsync_api_request_duration_seconds_bucket", {{"action", action}, {"le", le}},
               static_cast<double>(cumulative));
    }
    e.Sample("idsync_api_request_duration_seconds_sum", {{"action", action}},
             a.latency_sum_ms / 1000.0);
    e.Sample("idsync_api_request_duration_seconds_count", {{"action", action}},
             static_cast<double>(cumulative));
  }
  e.Family("idsync_api_throttled_total", "counter", "Throttled responses (HTTP 429 or Throttling.*).");
  e.Sample("idsync_api_throttled_total", {}, static_cast<double>(api.throttled));
  e.Family("idsync_api_retries_total", "counter", "Requests that were retries.");
  e.Sample("idsync_api_retries_total", {}, static_cast<double>(api.retries));
  e.Family("idsync_api_ambiguous_writes_total", "counter",
           "Writes whose outcome was unknown and had to be looked up.");
  e.Sample("idsync_api_ambiguous_writes_total", {}, static_cast<double>(api.ambiguous_writes));
  e.Family("idsync_api_connections_opened_total", "counter",
           "Connections (TCP, and TLS for https) opened to the API.");
  e.Sample("idsync_api_connections_opened_total", {},
           static_cast<double>(api.connections_opened));
  e.Family("idsync_api_pipelined_requests_total", "counter",
           "Requests written behind an unanswered one (idaas.pipeline_depth > 1).");
  e.Sample("idsync_api_pipelined_requests_total", {}, static_cast<double>(api.pipelined));
  e.Family("idsync_api_token_refreshes_total", "counter", "Access tokens obtained.");
  e.Sample("idsync_api_token_refreshes_total", {}, static_cast<double>(api.token_refreshes));
  e.Family("idsync_api_throttle_wait_over_cap_total", "counter",
           "Throttled responses asking for a wait longer than 15 minutes; the call failed instead.");
  e.Sample("idsync_api_throttle_wait_over_cap_total", {},
           static_cast<double>(api.server_wait_over_cap));
  e.Family("idsync_api_token_clock_skew_seconds", "gauge",
           "The last token's expires_at minus (local clock + expires_in): the IDaaS clock's "
           "offset from ours. Lifetimes come from expires_in, so skew does not shorten them.");
  e.Sample("idsync_api_token_clock_skew_seconds", {},
           static_cast<double>(api.token_clock_skew_s));
  e.Family("idsync_api_token_expiry_untrusted_total", "counter",
           "Tokens with only an implausible expires_at (past, or over a day ahead), given a "
           "5-minute lifetime.");
  e.Sample("idsync_api_token_expiry_untrusted_total", {},
           static_cast<double>(api.token_expiry_untrusted));
  e.Family("idsync_api_rate_limit_qps", "gauge", "The client's current request rate limit.");
  e.Sample("idsync_api_rate_limit_qps", {}, api.current_qps);
  return e.Take();
}

std::string RenderStatusJson(const DaemonStatus& s, int64_t now_ms, const idaas::ClientStats& api) {
  namespace json = boost::json;
  auto time = [](int64_t ms) -> json::value {
    if (ms == 0) return nullptr;
    return json::value(Rfc3339(ms));
  };
  json::object o;
  o["version"] = s.version;
  o["config_file"] = s.config_file;
  o["state"] = s.state;
  o["ready"] = s.ready;
  o["not_ready_reason"] = s.ready ? "" : s.not_ready_reason;
  o["started"] = time(s.started_ms);
  o["uptime_seconds"] = Seconds(now_ms - s.started_ms);
  if (s.state == "running") {
    json::object r;
    r["trigger"] = s.running_trigger;
    r["since"] = time(s.running_since_ms);
    r["done"] = s.progress_done;
    r["total"] = s.progress_total;
    o["running"] = std::move(r);
  } else {
    o["running"] = nullptr;
  }
  o["next_cycle"] = time(s.next_cycle_ms);
  o["consecutive_failures"] = s.consecutive_failures;
  o["last_success"] = time(s.last_success_ms);
  if (s.has_last_cycle) {
    const auto& c = s.last_cycle;
    json::object l;
    l["run_id"] = c.run_id;
    l["trigger"] = c.trigger;
    l["started"] = time(c.started_ms);
    l["finished"] = time(c.finished_ms);
    l["duration_seconds"] = Seconds(c.finished_ms - c.started_ms);
    l["outcome"] = c.outcome;
    l["exit_code"] = static_cast<int>(c.exit_code);
    l["error"] = c.error;
    l["refreshed_cache"] = c.refreshed;
    l["refresh_api_calls"] = c.refresh_api_calls;
    json::object planned;
    for (const auto& [kind, n] : c.planned) planned[kind] = n;
    l["planned"] = std::move(planned);
    json::object results;
    for (const auto& [key, n] : c.results) {
      auto& by_kind = results[key.first];
      if (!by_kind.is_object()) by_kind = json::object();
      by_kind.as_object()[key.second] = n;
    }
    l["results"] = std::move(results);
    l["report_file"] = c.report_file;
    o["last_cycle"] = std::move(l);
  } else {
    o["last_cycle"] = nullptr;
  }
  o["guards"] = json::parse(sync::GuardsJson(s.guards));
  if (s.source_read) {
    json::object src;
    src["users"] = s.source_users;
    src["ous"] = s.source_ous;
    src["groups"] = s.source_groups;
    src["rejected"] = s.source_rejected;
    o["source"] = std::move(src);
  } else {
    o["source"] = nullptr;
  }
  json::object journal;
  for (const auto& [state, n] : s.journal) journal[state] = n;
  o["journal"] = std::move(journal);
  json::object reload;
  reload["ok"] = s.reloads_ok;
  reload["failed"] = s.reloads_failed;
  reload["last"] = time(s.last_reload_ms);
  reload["last_error"] = s.last_reload_error;
  o["config_reloads"] = std::move(reload);
  json::object triggers;
  for (const auto& [t, n] : s.triggers) triggers[t] = n;
  o["triggers"] = std::move(triggers);
  // The token's lifetime as the service stated it against this host's
  // clock: a large skew means its expires_at was not trusted (the local
  // clock and expires_in decide), which an operator should know of.
  json::object token;
  token["refreshes"] = api.token_refreshes;
  token["clock_skew_seconds"] = api.token_clock_skew_s;
  token["expiry_untrusted"] = api.token_expiry_untrusted;
  o["token"] = std::move(token);
  return json::serialize(o) + "\n";
}

std::chrono::milliseconds NextCycleWait(std::chrono::milliseconds interval, double jitter_percent,
                                        int consecutive_failures,
                                        std::chrono::milliseconds backoff_max, double unit_random) {
  auto wait = interval;
  if (consecutive_failures > 0) {
    // A failing cycle waits longer each time, so that an outage is not
    // hammered; a trigger still starts a cycle at once.
    auto cap = std::max(backoff_max, interval);
    for (int i = 0; i < consecutive_failures && wait < cap; ++i) wait *= 2;
    wait = std::min(wait, cap);
  }
  if (jitter_percent > 0) {
    double spread = (unit_random * 2 - 1) * jitter_percent / 100.0;
    wait += std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(wait.count()) * spread));
  }
  return std::max(wait, std::chrono::milliseconds(100));
}

std::string StatusLine(const DaemonStatus& s, int64_t now_ms) {
  if (s.state == "stopping") return "stopping";
  if (s.state == "running") {
    std::string line = "cycle running (" + s.running_trigger + ")";
    if (s.progress_total > 0) {
      line += ": " + std::to_string(s.progress_done) + "/" + std::to_string(s.progress_total) +
              " operations";
    }
    return line;
  }
  if (!s.has_last_cycle) return "starting";
  const auto& c = s.last_cycle;
  int64_t done = 0, failed = 0;
  for (const auto& [key, n] : c.results) {
    if (key.second == "done") done += n;
    if (key.second == "failed") failed += n;
  }
  std::string line = "last cycle " + Rfc3339(c.finished_ms) + " " + c.outcome + ": " +
                     std::to_string(done) + " done, " + std::to_string(failed) + " failed";
  for (const auto& g : s.guards) {
    if (g.tripped) line += "; guard " + g.name + " tripped";
  }
  if (!c.error.empty()) line += "; " + c.error;
  if (s.next_cycle_ms > now_ms) {
    line += "; next in " + std::to_string((s.next_cycle_ms - now_ms + 999) / 1000) + "s";
  }
  return line;
}

}  // namespace idsync::daemon
