#include "idsync/store/refresh.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace idsync::store {
namespace asio = boost::asio;

namespace {

Error Remote(std::string what) {
  return Error{Error::Code::kRemote,
               "full refresh failed, the previous mirror is kept: " + std::move(what)};
}

Error Remote(const std::string& what, const idaas::ApiError& e) {
  return Remote(what + ": " + e.ToString());
}

// Runs fn(i) for i in [0, n) with at most `concurrency` calls in flight on
// the current (single-threaded) executor. fn returns false to stop
// dispatching further items; items in flight finish first.
template <class Fn>
asio::awaitable<void> ForEachBounded(size_t n, int concurrency, Fn fn) {
  if (n == 0) co_return;
  auto ex = co_await asio::this_coro::executor;
  struct Shared {
    explicit Shared(asio::any_io_executor e) : done(e, asio::steady_timer::time_point::max()) {}
    size_t next = 0;
    int running = 0;
    bool stop = false;
    std::exception_ptr error;
    asio::steady_timer done;
  };
  auto shared = std::make_shared<Shared>(ex);
  auto worker = [](std::shared_ptr<Shared> s, size_t count, Fn f) -> asio::awaitable<void> {
    while (!s->stop && s->next < count) {
      size_t i = s->next++;
      if (!co_await f(i)) s->stop = true;
    }
  };
  const int workers = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(1, concurrency))));
  for (int w = 0; w < workers; ++w) {
    ++shared->running;
    asio::co_spawn(ex, worker(shared, n, fn), [shared](std::exception_ptr e) {
      if (e && !shared->error) shared->error = e;
      if (e) shared->stop = true;
      if (--shared->running == 0) shared->done.cancel();
    });
  }
  if (shared->running > 0) {
    co_await shared->done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (shared->error) std::rethrow_exception(shared->error);
}

sync::IdaasOu ToOu(const idaas::OrganizationalUnit& o) {
  sync::IdaasOu out;
  out.id = o.organizational_unit_id;
  out.name = o.organizational_unit_name;
  out.parent_id = o.parent_id;
  out.description = o.description;
  out.external_id = o.organizational_unit_external_id;
  out.source_type = o.organizational_unit_source_type;
  out.source_id = o.organizational_unit_source_id;
  return out;
}

sync::IdaasUser ToUser(idaas::User&& u) {
  sync::IdaasUser out;
  out.id = std::move(u.user_id);
  out.username = std::move(u.username);
  out.display_name = std::move(u.display_name);
  out.email = std::move(u.email);
  out.phone_number = std::move(u.phone_number);
  out.phone_region = std::move(u.phone_region);
  out.description = std::move(u.description);
  out.external_id = std::move(u.user_external_id);
  out.source_type = std::move(u.user_source_type);
  out.source_id = std::move(u.user_source_id);
  out.primary_ou_id = std::move(u.primary_organizational_unit_id);
  for (auto& ou : u.organizational_units) out.ou_ids.push_back(std::move(ou.organizational_unit_id));
  if (!out.primary_ou_id.empty() &&
      std::find(out.ou_ids.begin(), out.ou_ids.end(), out.primary_ou_id) == out.ou_ids.end()) {
    out.ou_ids.push_back(out.primary_ou_id);
  }
  std::sort(out.ou_ids.begin(), out.ou_ids.end());
  out.ou_ids.erase(std::unique(out.ou_ids.begin(), out.ou_ids.end()), out.ou_ids.end());
  out.enabled = u.status == "enabled";
  for (auto& f : u.custom_fields) out.custom_fields[std::move(f.field_name)] = std::move(f.field_value);
  out.update_time_ms = u.update_time;
  return out;
}

sync::IdaasGroup ToGroup(const idaas::Group& g) {
  sync::IdaasGroup out;
  out.id = g.group_id;
  out.name = g.group_name;
  out.description = g.description;
  out.external_id = g.group_external_id;
  out.source_type = g.group_source_type;
  out.source_id = g.group_source_id;
  return out;
}

}  // namespace

asio::awaitable<Result<RefreshStats>> FullRefresh(Store& store, idaas::Client& client,
                                                  int64_t now_ms, RefreshOptions options) {
  RefreshStats stats;
  Mirror mirror;
  const int conc = std::max(1, options.concurrency);

  // 1. The scope.
  {
    auto scope = co_await client.GetApplicationProvisioningScope();
    ++stats.api_calls;
    if (!scope) co_return Remote("GetApplicationProvisioningScope", scope.error());
    mirror.scope.ou_ids = scope->organizational_unit_ids;
    mirror.scope.group_ids = scope->group_ids;
    std::sort(mirror.scope.ou_ids.begin(), mirror.scope.ou_ids.end());
    mirror.scope.ou_ids.erase(std::unique(mirror.scope.ou_ids.begin(), mirror.scope.ou_ids.end()),
                              mirror.scope.ou_ids.end());
    std::sort(mirror.scope.group_ids.begin(), mirror.scope.group_ids.end());
    mirror.scope.group_ids.erase(
        std::unique(mirror.scope.group_ids.begin(), mirror.scope.group_ids.end()),
        mirror.scope.group_ids.end());
    if (mirror.scope.ou_ids.empty() && mirror.scope.group_ids.empty()) {
      co_return Remote("the application's provisioning scope is empty (no OUs, no groups)");
    }
  }

  // 2. OUs: the scope roots, then the tree level by level.
  std::optional<Error> failure;
  {
    const std::vector<std::string>& roots = mirror.scope.ou_ids;
    std::vector<std::optional<sync::IdaasOu>> root_ous(roots.size());
    co_await ForEachBounded(roots.size(), conc, [&](size_t i) -> asio::awaitable<bool> {
      auto r = co_await client.GetOrganizationalUnit(roots[i]);
      ++stats.api_calls;
      if (!r) {
        if (!failure) failure = Remote("GetOrganizationalUnit " + roots[i], r.error());
        co_return false;
      }
      root_ous[i] = ToOu(*r);
      co_return true;
    });
    if (failure) co_return *failure;

    const std::unordered_set<std::string> root_set(roots.begin(), roots.end());
    std::unordered_map<std::string, std::string> parent_of;  // id -> parent listed under
    std::unordered_set<std::string> roots_seen_as_child;
    std::vector<std::string> level;
    for (auto& o : root_ous) {
      if (o->id.empty()) co_return Remote("GetOrganizationalUnit returned an OU without id");
      parent_of.emplace(o->id, "");
      level.push_back(o->id);
      mirror.ous.push_back(std::move(*o));
    }
    while (!level.empty()) {
      std::vector<std::vector<idaas::OrganizationalUnit>> children(level.size());
      co_await ForEachBounded(level.size(), conc, [&](size_t i) -> asio::awaitable<bool> {
        auto r = co_await client.ListAllOrganizationalUnits(level[i]);
        ++stats.api_calls;
        if (!r) {
          if (!failure) failure = Remote("ListOrganizationalUnits under " + level[i], r.error());
          co_return false;
        }
        children[i] = std::move(*r);
        co_return true;
      });
      if (failure) co_return *failure;
      std::vector<std::string> next;
      for (size_t i = 0; i < level.size(); ++i) {
        for (const auto& child : children[i]) {
          const std::string& id = child.organizational_unit_id;
          if (id.empty()) co_return Remote("an OU under " + level[i] + " has no id");
          if (child.parent_id != level[i]) {
            co_return Remote("OU " + id + " listed under " + level[i] + " has parent " +
                             child.parent_id);
          }
          if (root_set.count(id) != 0 && roots_seen_as_child.insert(id).second) {
            // A scope root inside another root: already read as a root.
            for (auto& o : mirror.ous) {
              if (o.id == id) o.parent_id = child.parent_id;
            }
            continue;
          }
          auto [it, inserted] = parent_of.emplace(id, level[i]);
          if (!inserted) {
            co_return Remote("OU " + id + " listed twice (under " + it->second + " and " +
                             level[i] + "); the tree changed during the refresh");
          }
          mirror.ous.push_back(ToOu(child));
          next.push_back(id);
        }
      }
      level = std::move(next);
    }
  }
  std::unordered_set<std::string> ou_ids;
  for (const auto& o : mirror.ous) ou_ids.insert(o.id);

  // 3. Users: the listing, then details per user.
  {
    auto listed = co_await client.ListAllUsers(std::nullopt);
    ++stats.api_calls;
    if (!listed) co_return Remote("ListUsers", listed.error());
    std::unordered_set<std::string> seen;
    for (const auto& u : *listed) {
      if (u.user_id.empty()) co_return Remote("ListUsers returned a user without id");
      if (!seen.insert(u.user_id).second) {
        co_return Remote("user " + u.user_id + " listed twice");
      }
    }
    std::vector<std::string> ids;
    ids.reserve(listed->size());
    for (const auto& u : *listed) ids.push_back(u.user_id);
    listed->clear();
    listed->shrink_to_fit();
    mirror.users.resize(ids.size());
    co_await ForEachBounded(ids.size(), conc, [&](size_t i) -> asio::awaitable<bool> {
      auto r = co_await client.GetUser(ids[i]);
      ++stats.api_calls;
      if (!r) {
        if (!failure) {
          failure = r.error().kind == idaas::ApiError::Kind::kNotFound
                        ? Remote("user " + ids[i] +
                                 " was listed but is gone (changed during the refresh)")
                        : Remote("GetUser " + ids[i], r.error());
        }
        co_return false;
      }
      if (r->user_id != ids[i]) {
        if (!failure) failure = Remote("GetUser " + ids[i] + " returned user " + r->user_id);
        co_return false;
      }
      mirror.users[i] = ToUser(std::move(*r));
      co_return true;
    });
    if (failure) co_return *failure;
    for (const auto& u : mirror.users) {
      if (!u.primary_ou_id.empty() && ou_ids.count(u.primary_ou_id) == 0) {
        co_return Remote("user " + u.id + " has primary OU " + u.primary_ou_id +
                         ", which is not in the OU tree read from the scope roots");
      }
    }
  }

  // 4. Groups and their members.
  {
    auto listed = co_await client.ListAllGroups();
    ++stats.api_calls;
    if (!listed) co_return Remote("ListGroups", listed.error());
    std::unordered_set<std::string> seen;
    for (const auto& g : *listed) {
      if (g.group_id.empty()) co_return Remote("ListGroups returned a group without id");
      if (!seen.insert(g.group_id).second) co_return Remote("group " + g.group_id + " listed twice");
      mirror.groups.push_back(ToGroup(g));
    }
    co_await ForEachBounded(mirror.groups.size(), conc, [&](size_t i) -> asio::awaitable<bool> {
      auto& g = mirror.groups[i];
      auto r = co_await client.ListAllUsersForGroup(g.id);
      ++stats.api_calls;
      if (!r) {
        if (!failure) failure = Remote("ListUsersForGroup " + g.id, r.error());
        co_return false;
      }
      g.member_ids = std::move(*r);
      std::sort(g.member_ids.begin(), g.member_ids.end());
      if (std::adjacent_find(g.member_ids.begin(), g.member_ids.end()) != g.member_ids.end()) {
        if (!failure) failure = Remote("group " + g.id + " lists a member twice");
        co_return false;
      }
      co_return true;
    });
    if (failure) co_return *failure;
  }

  // 5. Count check: the totals must not have moved while we read.
  {
    auto users = co_await client.ListUsers(std::nullopt, 1, 1);
    ++stats.api_calls;
    if (!users) co_return Remote("ListUsers (count check)", users.error());
    if (users->total_count != static_cast<int64_t>(mirror.users.size())) {
      co_return Remote("user count changed during the refresh (read " +
                       std::to_string(mirror.users.size()) + ", now " +
                       std::to_string(users->total_count) + ")");
    }
    auto groups = co_await client.ListGroups("", 1);
    ++stats.api_calls;
    if (!groups) co_return Remote("ListGroups (count check)", groups.error());
    if (groups->total_count != static_cast<int64_t>(mirror.groups.size())) {
      co_return Remote("group count changed during the refresh (read " +
                       std::to_string(mirror.groups.size()) + ", now " +
                       std::to_string(groups->total_count) + ")");
    }
  }

  auto replaced = store.ReplaceMirror(mirror, now_ms);
  if (!replaced) co_return replaced.error();
  stats.users = replaced->users;
  stats.ous = replaced->ous;
  stats.groups = replaced->groups;
  stats.memberships = replaced->memberships;
  stats.orphaned_links = std::move(replaced->orphaned_links);
  co_return stats;
}

Result<RefreshStats> FullRefreshSync(asio::io_context& io, Store& store, idaas::Client& client,
                                     int64_t now_ms, RefreshOptions options) {
  return idaas::RunSync(io, FullRefresh(store, client, now_ms, options));
}

}  // namespace idsync::store
