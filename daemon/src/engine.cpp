#include "engine.h"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <ostream>
#include <optional>
#include <set>
#include <thread>

#include "admin_ou_mover.h"
#include "idsync/adapters/client_directory.h"
#include "idsync/adapters/store_journal.h"
#include "idsync/connectors/connectors.h"
#include "idsync/idaas/admin_client.h"
#include "idsync/idaas/client.h"
#include "idsync/store/refresh.h"
#include "idsync/store/store.h"
#include "idsync/version.h"

// mimalloc's, when the binary links it (cmake/ProjectOptions.cmake); null
// otherwise (sanitizer builds, tests), so the daemon library does not
// depend on the allocator the executable picks.
extern "C" void mi_collect(bool force) __attribute__((weak));

namespace idsync::daemon {
namespace {

namespace asio = boost::asio;

// Hands memory that is free but still held by the allocator back to the OS.
void ReturnFreedMemory() {
  if (mi_collect) {
    mi_collect(true);
  } else {
    malloc_trim(0);
  }
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

sync::ProvisioningScope FromApi(const idaas::ProvisioningScope& s) {
  sync::ProvisioningScope out{s.organizational_unit_ids, s.group_ids};
  std::sort(out.ou_ids.begin(), out.ou_ids.end());
  std::sort(out.group_ids.begin(), out.group_ids.end());
  return out;
}

}  // namespace

std::string OutcomeName(ExitCode code) {
  switch (code) {
    case kOk: return "ok";
    case kChangesPending: return "changes";
    case kGuardBlocked: return "blocked";
    case kSomeFailed: return "failed";
    case kError: break;
  }
  return "error";
}

std::unique_ptr<Session> Session::Create(const config::Config& cfg, std::string* error) {
  std::unique_ptr<Session> s(new Session());
  auto created = idaas::Client::Create(s->io_.get_executor(), idaas::OptionsFromConfig(cfg.idaas));
  if (!created) {
    *error = "IDaaS client: " + created.error().message;
    return nullptr;
  }
  s->client_ = std::move(*created);
  if (cfg.admin) {
    auto admin = idaas::AdminClient::Create(s->io_.get_executor(),
                                            idaas::AdminOptionsFromConfig(cfg.idaas, *cfg.admin));
    if (!admin) {
      *error = "IDaaS admin API client: " + admin.error().message;
      return nullptr;
    }
    s->admin_ = std::move(*admin);
    s->ou_mover_ = std::make_unique<AdminOuMover>(*s->admin_);
  }
  return s;
}

Session::~Session() {
  store_.reset();
  if (admin_) admin_->Shutdown();
  if (client_) client_->Shutdown();
}

bool Session::OpenStore(const config::Config& cfg, std::string* error) {
  if (store_) return true;
  std::filesystem::path db(cfg.store.path);
  std::error_code ec;
  if (db.has_parent_path()) std::filesystem::create_directories(db.parent_path(), ec);
  store::OpenOptions open_options;
  open_options.integrity_check_max_age_ms = cfg.store.integrity_check_interval.count();
  auto opened = store::Store::Open(cfg.store.path, open_options);
  if (!opened) {
    *error = opened.error().message;
    return false;
  }
  store_ = std::move(*opened);
  return true;
}

std::string Rfc3339(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

store::RefreshOptions RefreshOptionsFor(const config::Config& cfg) {
  store::RefreshOptions o;
  o.need_custom_fields = !cfg.mapping.custom_fields.empty();
  return o;
}

std::string RefreshProgressLine(const char* phase, const store::RefreshStats& st,
                                double seconds) {
  char buf[200];
  const double rate = seconds > 0 ? static_cast<double>(st.api_calls) / seconds : 0;
  std::string left;
  if (st.listings_expected > st.listings_read && st.listings_read > 0 && seconds > 1) {
    double per_item = seconds / static_cast<double>(st.listings_read);
    left = ", ~" + std::to_string(static_cast<int64_t>(
                       per_item * static_cast<double>(st.listings_expected - st.listings_read))) +
           " s left";
  }
  std::snprintf(buf, sizeof buf, "refresh: %s: %lld users read, %lld calls (%.0f/s), %.0f s%s",
                phase, static_cast<long long>(st.users_listed),
                static_cast<long long>(st.api_calls), rate, seconds, left.c_str());
  return buf;
}

sync::Policy PolicyFromConfig(const config::Config& cfg, int64_t allow_deletes) {
  sync::Policy p;
  const auto& c = cfg.policy;
  p.on_missing = c.on_missing == "delete"   ? sync::Policy::OnMissing::kDelete
                 : c.on_missing == "ignore" ? sync::Policy::OnMissing::kIgnore
                                            : sync::Policy::OnMissing::kDisable;
  p.delete_after_ms = c.delete_after.count();
  p.match = c.match;
  p.max_deletes_count = c.max_deletes.count;
  p.max_deletes_percent = c.max_deletes.percent;
  p.max_moves_count = c.max_moves.count;
  p.max_moves_percent = c.max_moves.percent;
  p.allow_empty_source = c.empty_source == "allow";
  p.min_source_percent = c.min_source_percent;
  p.max_invalid_percent = c.max_invalid_percent;
  p.protected_users = c.protected_users;
  p.root_ou_id = cfg.target.root_ou;
  p.instance_id = cfg.idaas.instance_id;
  p.allow_deletes = allow_deletes;
  return p;
}

ResultTally CycleResult::TallyResults() const {
  ResultTally tally;
  if (!did_apply) return tally;
  for (const auto& op : plan.operations) {
    auto it = applied.results.find(op.id);
    auto status = it == applied.results.end() ? sync::OpResult::Status::kNotRun : it->second.status;
    ++tally[{sync::OpKindName(op.kind), sync::OpResultStatusName(status)}];
  }
  return tally;
}

sync::ReportInput CycleResult::ReportInputFor(const config::Config& cfg, int64_t now_ms) const {
  sync::ReportInput in;
  in.plan = &plan;
  in.applied = did_apply;
  in.results = applied.results;
  in.generated_at = Rfc3339(now_ms);
  in.version = IDSYNC_VERSION;
  in.source = cfg.source.type + ":" + cfg.source.origin;
  in.config_file = cfg.file;
  in.exit_code = exit_code;
  return in;
}

CycleResult RunCycle(const config::Config& cfg, const CycleOptions& options, Session* session) {
  CycleResult result;
  auto log = spdlog::get("idsync");
  std::unique_ptr<Session> own;
  if (session == nullptr) {
    own = Session::Create(cfg, &result.error);
    if (!own) return result;
    session = own.get();
  }
  // 1. The source, complete or not at all. It is read on a second thread
  // while this one opens the store (its integrity check alone takes seconds
  // for a large cache) and loads the cache: neither depends on the other.
  std::optional<base::Result<sync::SourceSnapshot>> read;
  // Set once the reader is down to one core (every record read), or done.
  std::atomic<bool> records_read = false;
  auto set_records_read = [&records_read] {
    records_read = true;
    records_read.notify_all();
  };
  std::jthread reader([&cfg, &read, &result, &set_records_read] {
    auto start = std::chrono::steady_clock::now();
    read.emplace(connectors::ReadSnapshot(cfg, set_records_read));
    result.timings.source = SecondsSince(start);
    set_records_read();
  });
  auto step = std::chrono::steady_clock::now();
  if (!session->OpenStore(cfg, &result.error)) {
    reader.join();  // it writes into `result`
    return result;
  }
  result.timings.open = SecondsSince(step);
  struct StoreCloser {
    Session* s;
    ~StoreCloser() { s->CloseStore(); }
  } closer{session};
  store::Store& st = *session->store();
  idaas::Client& client = session->client();
  asio::io_context& io = session->io();

  const base::Clock& clock = *options.clock;
  auto run = st.BeginRun(options.command, clock.NowMs());
  if (run) result.run_id = *run;
  auto finish = [&](ExitCode exit_code, const std::string& error) {
    result.exit_code = exit_code;
    result.error = error;
    if (result.run_id == 0) return;
    store::RunSummary summary;
    summary.command = options.command;
    summary.outcome = OutcomeName(exit_code);
    for (const auto& [kind, n] : result.plan.CountsByKind()) summary.counts[kind + ".planned"] = n;
    for (const auto& [key, n] : result.TallyResults()) {
      summary.counts[key.first + "." + key.second] += n;
    }
    summary.guards = sync::GuardsJson(result.plan.guards);
    if (!error.empty()) summary.counts["error"] = 1;
    (void)st.FinishRun(result.run_id, summary, clock.NowMs());
    if (!error.empty()) (void)st.SetMeta("last_error", error);
    if (auto journal = st.JournalCounts()) result.journal = std::move(*journal);
  };

  step = std::chrono::steady_clock::now();
  auto state = st.LoadState();
  result.timings.cache = SecondsSince(step);
  // The planner's index of the cache, built here while the reader puts the
  // snapshot in order on one core, instead of inside ComputePlan after it.
  // Not sooner: while records are parsed and mapped, every core is busy.
  // It refers to `state` as loaded: dropped whenever the state is reloaded.
  records_read.wait(false);
  step = std::chrono::steady_clock::now();
  std::optional<sync::CachedIndex> cached_index;
  if (state) cached_index.emplace(*state);
  result.timings.index = SecondsSince(step);
  auto reload_state = [&] {
    cached_index.reset();
    state = st.LoadState();
  };
  reader.join();
  // The read's transient memory (the mapping threads' copies, Finish's
  // tables) is free but still resident in the allocator's arenas, in pieces
  // the planner's large tables cannot reuse: hand it back before planning.
  ReturnFreedMemory();
  auto& snapshot = *read;
  if (!snapshot && snapshot.error().code == base::Error::Code::kUnusable) {
    // A verdict on the source, like the other source-trust guards: nothing
    // is planned from it, nothing is written, and the cycle is blocked.
    result.plan.guards.push_back(sync::GuardVerdict{
        std::string(kUnusableSourceGuard), true, 0, 0,
        snapshot.error().message + ": the source cannot be what the configuration describes, "
                                   "so nothing is planned or written"});
    finish(kGuardBlocked, "");
    return result;
  }
  if (!snapshot) {
    finish(kError, "reading the source failed: " + snapshot.error().message);
    return result;
  }
  result.source_read = true;
  result.source_users = static_cast<int64_t>(snapshot->users.size());
  result.source_ous = static_cast<int64_t>(snapshot->ous.size());
  result.source_groups = static_cast<int64_t>(snapshot->groups.size());
  result.source_rejected = static_cast<int64_t>(snapshot->rejected.size());

  // 2. Whatever an earlier run left in flight is resolved before planning.
  sync::ExecutorOptions exec_options;
  exec_options.concurrency = cfg.idaas.connections * cfg.idaas.pipeline_depth;
  exec_options.instance_id = cfg.idaas.instance_id;
  exec_options.stop = options.stop;
  exec_options.on_progress = options.on_progress;
  exec_options.now_ms = [&clock] { return clock.NowMs(); };
  // The admin API's part: given by the caller, or the session's when the
  // configuration has an `admin:` section (dropped below if it is unreachable).
  sync::OuMover* ou_mover = options.ou_mover ? options.ou_mover : session->ou_mover();
  std::optional<sync::Policy::AccountQuota> account_quota = options.account_quota;
  exec_options.ou_mover = ou_mover;
  // The executor's view of the store and the client.
  adapters::StoreJournal journal(st);
  adapters::ClientDirectory remote(client);
  step = std::chrono::steady_clock::now();
  auto recovered = idaas::RunSync(io, sync::Executor::Recover(journal, remote, exec_options));
  result.timings.recover = SecondsSince(step);
  if (recovered.unresolved > 0) {
    finish(kError, "cannot resolve " + std::to_string(recovered.unresolved) +
                  " operation(s) left in flight by an earlier run (" + recovered.first_error +
                  "); nothing was planned, to avoid duplicates");
    return result;
  }
  if (recovered.resolved_done + recovered.resolved_absent + recovered.abandoned > 0 && log) {
    log->info("recovered the journal: {} applied, {} not applied, {} never sent",
              recovered.resolved_done, recovered.resolved_absent, recovered.abandoned);
  }

  // 3. The scope, every cycle: writes are confined to it.
  step = std::chrono::steady_clock::now();
  auto scope = idaas::RunSync(io, client.GetApplicationProvisioningScope());
  result.timings.scope = SecondsSince(step);
  if (!scope) {
    finish(kError, "GetApplicationProvisioningScope failed: " + scope.error().message);
    return result;
  }
  sync::ProvisioningScope current_scope = FromApi(*scope);
  if (!account_quota && session->admin() != nullptr) {
    // The account quota is reported by the admin API only. Unreachable, the
    // cycle goes on as without admin credentials: no quota guard, and no
    // move planned that could not be sent.
    auto admin_scope = idaas::RunSync(
        io, session->admin()->GetApplicationProvisioningScope(cfg.idaas.application_id));
    if (admin_scope) {
      account_quota = sync::Policy::AccountQuota{admin_scope->used_quota, admin_scope->max_quota};
    } else {
      if (log) {
        log->warn("admin API GetApplicationProvisioningScope failed ({}): no quota guard and "
                  "no department move this cycle",
                  admin_scope.error().message);
      }
      if (options.ou_mover == nullptr) ou_mover = nullptr;
    }
  }

  // 4. The cache: refreshed when never filled, stale, asked for, or when the
  // scope changed since it was filled. What recovery applied is in the
  // store, not in the cache loaded beside the source: load it again then.
  const bool recovered_any =
      recovered.resolved_done + recovered.resolved_absent + recovered.abandoned > 0;
  if (!state || recovered_any) reload_state();
  if (!state) {
    finish(kError, "loading the cache failed: " + state.error().message);
    return result;
  }
  int64_t now = clock.NowMs();
  bool stale = state->last_full_refresh_ms == 0 ||
               now - state->last_full_refresh_ms >= cfg.store.full_refresh_interval.count();
  // A mirror read without custom fields cannot be compared with a mapping
  // that now reads them: read it again, with them.
  const store::RefreshOptions refresh_options = RefreshOptionsFor(cfg);
  auto mirror_fields = st.GetMeta(kMirrorCustomFieldsMeta);
  const bool lacks_fields = refresh_options.need_custom_fields &&
                            (!mirror_fields || !*mirror_fields || **mirror_fields != "1");
  if (options.force_refresh || stale || lacks_fields || state->scope != current_scope) {
    if (log) log->info("refreshing the cache of the provisioning scope");
    auto refreshed = store::FullRefreshSync(io, st, client, now, refresh_options);
    if (!refreshed) {
      finish(kError, "refreshing the cache failed: " + refreshed.error().message);
      return result;
    }
    (void)st.SetMeta(kMirrorCustomFieldsMeta, refresh_options.need_custom_fields ? "1" : "0");
    if (log) {
      log->info("refreshed the cache: {} users, {} OUs, {} groups in {} API calls ({} user "
                "details, {} reused)",
                refreshed->users, refreshed->ous, refreshed->groups, refreshed->api_calls,
                refreshed->user_details, refreshed->users_reused);
    }
    result.refreshed = true;
    result.refresh_api_calls = refreshed->api_calls;
    reload_state();
    if (!state) {
      finish(kError, "loading the cache failed: " + state.error().message);
      return result;
    }
  }

  // 5. Plan (pure), with the guards.
  step = std::chrono::steady_clock::now();
  sync::Policy policy = PolicyFromConfig(cfg, options.allow_deletes);
  policy.allow_ou_moves = ou_mover != nullptr;
  policy.account_quota = account_quota;
  result.plan = sync::ComputePlan(*snapshot, *state, current_scope, policy, clock.NowMs(),
                                  cached_index ? &*cached_index : nullptr);
  cached_index.reset();  // its tables are not needed to apply
  result.timings.plan = SecondsSince(step);
  const bool tripped = result.plan.AnyGuardTripped();
  if (!options.apply) {
    finish(tripped                            ? kGuardBlocked
           : result.plan.operations.empty() ? kOk
                                            : kChangesPending,
           "");
    return result;
  }

  // 6. Apply.
  if (!result.plan.operations.empty() && options.confirm && !options.confirm(result.plan)) {
    finish(kError, "cancelled: nothing was applied");
    return result;
  }
  if (!result.plan.operations.empty()) {
    // The executor indexes the whole mirror first: a quiet cycle skips it.
    exec_options.ou_mover = ou_mover;  // as the plan was computed
    // The store is not used elsewhere while the executor runs.
    exec_options.journal_thread = true;
    sync::Executor executor(journal, remote, *state, exec_options);
    result.applied = idaas::RunSync(io, executor.Apply(result.plan, result.run_id));
  }
  result.did_apply = true;
  ExitCode code = result.applied.failed > 0 || result.applied.not_run > 0 ? kSomeFailed
                  : tripped                                                 ? kGuardBlocked
                                                                            : kOk;
  std::string error;
  if (result.applied.stopped) error = "stopped before all operations ran";
  finish(code, error);
  return result;
}

ExitCode RunRefresh(const config::Config& cfg, std::ostream& out, std::ostream& err,
                    bool show_progress) {
  std::string error;
  auto s = Session::Create(cfg, &error);
  if (!s || !s->OpenStore(cfg, &error)) {
    err << "idsync refresh: " << error << "\n";
    return kError;
  }
  store::RefreshOptions options = RefreshOptionsFor(cfg);
  const auto started = std::chrono::steady_clock::now();
  if (show_progress) {
    options.on_progress = [&err, started, last = started](const char* phase,
                                                          const store::RefreshStats& st) mutable {
      auto now = std::chrono::steady_clock::now();
      if (now - last < std::chrono::milliseconds(200)) return;
      last = now;
      err << "\r" << RefreshProgressLine(phase, st, SecondsSince(started)) << "\x1b[K"
          << std::flush;
    };
  }
  auto refreshed = store::FullRefreshSync(s->io(), *s->store(), s->client(),
                                          base::Clock::System().NowMs(), options);
  if (show_progress) err << "\r\x1b[K" << std::flush;
  if (!refreshed) {
    err << "idsync refresh: " << refreshed.error().message
        << " (the previous cache is unchanged)\n";
    return kError;
  }
  (void)s->store()->SetMeta(kMirrorCustomFieldsMeta, options.need_custom_fields ? "1" : "0");
  out << "refreshed the cache: " << refreshed->users << " users, " << refreshed->ous << " OUs, "
      << refreshed->groups << " groups, " << refreshed->memberships << " memberships ("
      << refreshed->api_calls << " API calls, " << refreshed->user_details
      << " of them user details; " << refreshed->users_reused
      << " users unchanged since the last refresh)\n";
  if (!refreshed->orphaned_links.empty()) {
    out << refreshed->orphaned_links.size()
        << " linked object(s) are no longer in the scope; the next plan shows what follows\n";
  }
  return kOk;
}

ExitCode RunStatus(const config::Config& cfg, const std::string& format, std::ostream& out,
                   std::ostream& err) {
  store::OpenOptions ro;
  ro.read_only = true;  // works while the daemon holds the writer lock
  ro.integrity_check_max_age_ms = cfg.store.integrity_check_interval.count();
  auto opened = store::Store::Open(cfg.store.path, ro);
  if (!opened) {
    err << "idsync status: " << opened.error().message << "\n";
    return kError;
  }
  auto& st = **opened;
  auto counts = st.Counts();
  auto runs = st.RecentRuns(10);
  auto last_error = st.GetMeta("last_error");
  if (!counts || !runs) {
    err << "idsync status: " << (!counts ? counts.error().message : runs.error().message) << "\n";
    return kError;
  }
  if (format == "json") {
    boost::json::object o;
    boost::json::object cache;
    cache["users"] = counts->users;
    cache["ous"] = counts->ous;
    cache["groups"] = counts->groups;
    cache["memberships"] = counts->memberships;
    cache["last_full_refresh"] = counts->last_full_refresh_ms ? Rfc3339(counts->last_full_refresh_ms) : "";
    o["cache"] = std::move(cache);
    boost::json::object links;
    for (const auto& [k, n] : counts->links) links[k] = n;
    o["links"] = std::move(links);
    boost::json::object journal;
    for (const auto& [k, n] : counts->journal) journal[k] = n;
    o["journal"] = std::move(journal);
    boost::json::array rs;
    for (const auto& r : *runs) {
      boost::json::object j;
      j["id"] = r.id;
      j["command"] = r.command;
      j["started"] = Rfc3339(r.started_ms);
      j["finished"] = r.finished_ms ? Rfc3339(r.finished_ms) : "";
      j["outcome"] = r.outcome;
      boost::json::object c;
      for (const auto& [k, n] : r.counts) c[k] = n;
      j["counts"] = std::move(c);
      boost::system::error_code ec;
      auto guards = boost::json::parse(r.guards.empty() ? "[]" : r.guards, ec);
      j["guards"] = ec ? boost::json::value(boost::json::array()) : guards;
      rs.push_back(std::move(j));
    }
    o["runs"] = std::move(rs);
    o["last_error"] = last_error && *last_error ? **last_error : "";
    out << boost::json::serialize(o) << "\n";
    return kOk;
  }
  out << "state database: " << cfg.store.path << " (schema v" << st.SchemaVersion() << ")\n";
  out << "cache: " << counts->users << " users, " << counts->ous << " OUs, " << counts->groups
      << " groups, " << counts->memberships << " memberships; last full refresh "
      << (counts->last_full_refresh_ms ? Rfc3339(counts->last_full_refresh_ms) : "never") << "\n";
  out << "links:";
  for (const auto& [k, n] : counts->links) out << " " << k << "=" << n;
  out << "\njournal:";
  for (const auto& [k, n] : counts->journal) out << " " << k << "=" << n;
  out << "\n";
  if (last_error && *last_error && !(*last_error)->empty()) out << "last error: " << **last_error << "\n";
  out << "recent runs:\n";
  if (runs->empty()) out << "  none\n";
  for (const auto& r : *runs) {
    out << "  #" << r.id << " " << r.command << " " << Rfc3339(r.started_ms) << " "
        << (r.finished_ms ? r.outcome : "unfinished");
    int64_t total = 0;
    for (const auto& [k, n] : r.counts) {
      if (k.ends_with(".done")) total += n;
    }
    if (total) out << ", " << total << " operations done";
    if (r.guards.find("\"tripped\":true") != std::string::npos) out << ", guard tripped";
    out << "\n";
  }
  return kOk;
}

bool CheckConnection(const config::Config& cfg, std::ostream& out, std::ostream& err) {
  bool ok = true;
  auto snapshot = connectors::ReadSnapshot(cfg);
  if (!snapshot) {
    err << "source: " << snapshot.error().message << "\n";
    ok = false;
  } else {
    out << "  source:  read " << snapshot->users.size() << " users, " << snapshot->ous.size()
        << " OUs, " << snapshot->groups.size() << " groups; " << snapshot->rejected.size()
        << " records rejected\n";
  }
  asio::io_context io;
  auto client = idaas::Client::Create(io.get_executor(), idaas::OptionsFromConfig(cfg.idaas));
  if (!client) {
    err << "idaas: " << client.error().message << "\n";
    return false;
  }
  auto token = idaas::RunSync(io, (*client)->GenerateToken());
  if (!token) {
    err << "idaas: cannot get a token: " << token.error().message << "\n";
    (*client)->Shutdown();
    return false;
  }
  out << "  token:   ok (expires " << Rfc3339(token->expires_at * 1000) << ")\n";
  auto scope = idaas::RunSync(io, (*client)->GetApplicationProvisioningScope());
  if (!scope) {
    err << "idaas: GetApplicationProvisioningScope failed: " << scope.error().message << "\n";
    (*client)->Shutdown();
    return false;
  }
  out << "  scope:   " << scope->organizational_unit_ids.size() << " OU root(s), "
      << scope->group_ids.size() << " group(s)\n";
  // target.root_ou must be a scope root or below one.
  const auto& roots = scope->organizational_unit_ids;
  bool inside = std::find(roots.begin(), roots.end(), cfg.target.root_ou) != roots.end();
  if (!inside) {
    auto parents = idaas::RunSync(io, (*client)->ListOrganizationalUnitParentIds(cfg.target.root_ou));
    if (parents) {
      for (const auto& p : *parents) {
        if (std::find(roots.begin(), roots.end(), p) != roots.end()) inside = true;
      }
    }
  }
  if (!inside) {
    err << cfg.file << ": target.root_ou: OU " << cfg.target.root_ou
        << " is not inside the application's provisioning scope\n";
    ok = false;
  } else {
    out << "  target:  root OU " << cfg.target.root_ou << " is inside the scope\n";
  }
  (*client)->Shutdown();
  return ok;
}

}  // namespace idsync::daemon
