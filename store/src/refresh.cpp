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

#include "idsync/store/mirror_of.h"

namespace idsync::store {
namespace asio = boost::asio;

namespace {

Error Remote(std::string what) {
  return Error{Error::Code::kRemote,
               "full refresh failed, the previous mirror is kept: " + std::move(what)};
}

Error Remote(const std::string& what, const Error& e) {
  return Remote(what + ": " + e.message);
}

// The API's largest page.
constexpr int kPageSize = 100;

void Progress(const RefreshOptions& options, const char* phase, const RefreshStats& stats) {
  if (options.on_progress) options.on_progress(phase, stats);
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

// Every member of a group, following nextToken to the end. Unlike the
// client's strict listing, a total that moves while the pages are read is
// churn, not an error: what was added or removed meanwhile is read by the
// next refresh. A token the service repeats ends the listing (no loop).
asio::awaitable<idaas::Result<std::vector<std::string>>> GroupMembers(idaas::Client& client,
                                                                      const std::string& group,
                                                                      RefreshStats* stats) {
  std::vector<std::string> all;
  std::unordered_set<std::string> tokens;
  std::string token;
  do {
    auto page = co_await client.ListUsersForGroup(group, token, kPageSize);
    ++stats->api_calls;
    if (!page) co_return page.error();
    for (auto& id : page->user_ids) all.push_back(std::move(id));
    token = page->next_token;
  } while (!token.empty() && tokens.insert(token).second);
  co_return all;
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
      root_ous[i] = MirrorOf(*r);
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
        // Deleted since it was listed: no children (and no users, below).
        if (!r && r.error().code == Error::Code::kNotFound) co_return true;
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
          // Moved while the tree was read: it is found under its new parent
          // if that level is still to come, else in the next refresh.
          if (child.parent_id != level[i]) continue;
          if (root_set.count(id) != 0 && roots_seen_as_child.insert(id).second) {
            // A scope root inside another root: already read as a root.
            for (auto& o : mirror.ous) {
              if (o.id == id) o.parent_id = child.parent_id;
            }
            continue;
          }
          if (!parent_of.emplace(id, level[i]).second) continue;  // moved meanwhile
          mirror.ous.push_back(MirrorOf(child));
          next.push_back(id);
        }
      }
      level = std::move(next);
      Progress(options, "OUs", stats);
    }
  }
  std::unordered_set<std::string> ou_ids;
  for (const auto& o : mirror.ous) ou_ids.insert(o.id);

  // 3. Users, from the user listing of each OU of the tree (ListUsers with
  // organizationalUnitId): a listing carries every field the mirror keeps
  // except the primary OU and custom fields, and the OU it lists under is a
  // membership. About one call per 100 memberships plus one per OU, where a
  // GetUser per user cost one call per user.
  std::vector<idaas::User> users;
  std::vector<std::vector<std::string>> listed_in;  // per user: the OUs listing it
  {
    std::unordered_map<std::string, size_t> index;
    auto take = [&](size_t ou, std::vector<idaas::User>&& page) {
      stats.listings_read += static_cast<int64_t>(page.size());
      for (auto& u : page) {
        if (u.user_id.empty()) continue;
        auto [it, fresh] = index.emplace(u.user_id, users.size());
        if (fresh) {
          users.push_back(std::move(u));
          listed_in.emplace_back();
        }
        listed_in[it->second].push_back(mirror.ous[ou].id);
      }
      stats.users_listed = static_cast<int64_t>(users.size());
      Progress(options, "users", stats);
    };
    // First pages (their totals say how many pages follow), then the rest,
    // all within the concurrency bound. An OU deleted meanwhile lists
    // nothing: churn, not a failure.
    const size_t n_ous = mirror.ous.size();
    std::vector<int64_t> totals(n_ous, 0);
    std::vector<bool> gone(n_ous, false);
    auto page = [&](size_t ou, int number) -> asio::awaitable<bool> {
      auto r = co_await client.ListUsers(mirror.ous[ou].id, number, kPageSize);
      ++stats.api_calls;
      if (!r) {
        if (r.error().code == Error::Code::kNotFound) {
          gone[ou] = true;
          co_return true;
        }
        if (!failure) failure = Remote("ListUsers in OU " + mirror.ous[ou].id, r.error());
        co_return false;
      }
      if (number == 1) {
        totals[ou] = r->total_count;
        stats.listings_expected += r->total_count;
      }
      take(ou, std::move(r->users));
      co_return true;
    };
    co_await ForEachBounded(n_ous, conc, [&](size_t i) { return page(i, 1); });
    if (failure) co_return *failure;
    std::vector<std::pair<size_t, int>> rest;
    for (size_t ou = 0; ou < n_ous; ++ou) {
      const int64_t pages = (totals[ou] + kPageSize - 1) / kPageSize;
      for (int64_t p = 2; p <= pages; ++p) rest.emplace_back(ou, static_cast<int>(p));
    }
    co_await ForEachBounded(rest.size(), conc,
                            [&](size_t i) { return page(rest[i].first, rest[i].second); });
    if (failure) co_return *failure;
    // An OU deleted while it was read is not in IDaaS any more: nor in the
    // mirror (memberships in it were dropped with it).
    std::unordered_set<std::string> gone_ids;
    for (size_t ou = 0; ou < n_ous; ++ou) {
      if (gone[ou]) gone_ids.insert(mirror.ous[ou].id);
    }
    if (!gone_ids.empty()) {
      std::erase_if(mirror.ous,
                    [&](const sync::IdaasOu& o) { return gone_ids.count(o.id) > 0; });
      for (const auto& id : gone_ids) ou_ids.erase(id);
      for (auto& in : listed_in) {
        in.erase(std::remove_if(in.begin(), in.end(),
                                [&](const std::string& id) { return gone_ids.count(id) > 0; }),
                 in.end());
      }
    }
  }
  std::unordered_map<std::string, size_t> user_index;
  for (size_t i = 0; i < users.size(); ++i) user_index.emplace(users[i].user_id, i);

  // Which users the listings describe in full. The service does not say
  // whether an OU's listing holds its direct members only or its whole
  // subtree, so both readings must give the right mirror:
  // - listed under exactly one OU: in a direct listing that OU is the only
  //   membership and so the primary; in a subtree listing only a member of
  //   a scope root is listed once, and that root is its primary as well;
  // - listed under several OUs: the primary (and, for subtree listings,
  //   which memberships are direct) takes a GetUser, unless the previous
  //   mirror holds the user unchanged (same updateTime, and its memberships
  //   give exactly these listings under one reading or the other);
  // - custom fields appear only in GetUser: when the mapping reads them,
  //   every new or changed user takes one.
  auto previous = store.LoadState();
  if (!previous) co_return previous.error();
  std::unordered_map<std::string_view, size_t> prev_row;
  prev_row.reserve(previous->users.size());
  for (size_t r = 0; r < previous->users.size(); ++r) prev_row.emplace(previous->users.id(r), r);
  std::unordered_map<std::string, std::string> parent_of;
  for (const auto& o : mirror.ous) parent_of.emplace(o.id, o.parent_id);
  auto with_ancestors = [&](const std::vector<std::string>& ids) {
    std::vector<std::string> out;
    for (const auto& id : ids) {
      for (std::string cur = id; !cur.empty() && parent_of.count(cur);) {
        out.push_back(cur);
        if (std::find(mirror.scope.ou_ids.begin(), mirror.scope.ou_ids.end(), cur) !=
            mirror.scope.ou_ids.end()) {
          break;  // a subtree listing stops at the scope root
        }
        cur = parent_of[cur];
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  mirror.users.resize(users.size());
  std::vector<size_t> details;  // users that take a GetUser
  for (size_t i = 0; i < users.size(); ++i) {
    auto& listed = listed_in[i];
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    const int64_t update_time = users[i].update_time;
    sync::IdaasUser u = MirrorOf(std::move(users[i]));
    auto prev = prev_row.find(u.id);
    if (prev != prev_row.end() && update_time != 0 &&
        previous->users.update_time_ms(prev->second) == update_time) {
      sync::IdaasUser before = previous->users.Get(prev->second);
      if (before.ou_ids == listed || with_ancestors(before.ou_ids) == listed) {
        u.primary_ou_id = before.primary_ou_id;
        u.ou_ids = before.ou_ids;
        u.custom_fields = before.custom_fields;
        mirror.users[i] = std::move(u);
        ++stats.users_reused;
        continue;
      }
    }
    if (listed.size() == 1 && !options.need_custom_fields) {
      u.primary_ou_id = listed[0];
      u.ou_ids = listed;
      mirror.users[i] = std::move(u);
      continue;
    }
    mirror.users[i] = std::move(u);
    details.push_back(i);
  }
  // Linked users no listing showed: moved or deleted while the listings
  // paged past them. Each is read on its own, so that the plan never sees a
  // managed account vanish because of a refresh.
  std::vector<std::string> unlisted;
  for (sync::LinkView link : previous->links) {
    if (link.type == sync::EntityType::kUser && !user_index.count(std::string(link.idaas_id))) {
      unlisted.emplace_back(link.idaas_id);
    }
  }
  std::sort(unlisted.begin(), unlisted.end());
  unlisted.erase(std::unique(unlisted.begin(), unlisted.end()), unlisted.end());
  prev_row.clear();
  { sync::CachedState release = std::move(*previous); }  // its memory, before the reads
  std::vector<bool> dropped(mirror.users.size(), false);
  std::vector<std::optional<sync::IdaasUser>> found(unlisted.size());
  const size_t n_details = details.size();
  co_await ForEachBounded(n_details + unlisted.size(), conc, [&](size_t k) -> asio::awaitable<bool> {
    const std::string id = k < n_details ? mirror.users[details[k]].id : unlisted[k - n_details];
    auto r = co_await client.GetUser(id);
    ++stats.api_calls;
    ++stats.user_details;
    Progress(options, "user details", stats);
    if (!r) {
      if (r.error().code == Error::Code::kNotFound) {
        if (k < n_details) dropped[details[k]] = true;  // deleted meanwhile
        co_return true;
      }
      if (!failure) failure = Remote("GetUser " + id, r.error());
      co_return false;
    }
    if (r->user_id != id) {
      if (!failure) failure = Remote("GetUser " + id + " returned user " + r->user_id);
      co_return false;
    }
    sync::IdaasUser u = MirrorOf(std::move(*r));
    if (k < n_details) {
      mirror.users[details[k]] = std::move(u);
    } else {
      found[k - n_details] = std::move(u);
    }
    co_return true;
  });
  if (failure) co_return *failure;
  {
    std::vector<sync::IdaasUser> kept;
    kept.reserve(mirror.users.size() + found.size());
    for (size_t i = 0; i < mirror.users.size(); ++i) {
      if (!dropped[i]) kept.push_back(std::move(mirror.users[i]));
    }
    for (auto& u : found) {
      // Still in the scope's tree: it was only missed by the paging.
      if (u && ou_ids.count(u->primary_ou_id)) kept.push_back(std::move(*u));
    }
    mirror.users = std::move(kept);
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
      mirror.groups.push_back(MirrorOf(g));
    }
    std::vector<bool> gone(mirror.groups.size(), false);
    co_await ForEachBounded(mirror.groups.size(), conc, [&](size_t i) -> asio::awaitable<bool> {
      auto& g = mirror.groups[i];
      auto r = co_await GroupMembers(client, g.id, &stats);
      if (!r) {
        if (r.error().code == Error::Code::kNotFound) {
          gone[i] = true;  // deleted meanwhile
          co_return true;
        }
        if (!failure) failure = Remote("ListUsersForGroup " + g.id, r.error());
        co_return false;
      }
      g.member_ids = std::move(*r);
      // A member added while the pages were read may show twice.
      std::sort(g.member_ids.begin(), g.member_ids.end());
      g.member_ids.erase(std::unique(g.member_ids.begin(), g.member_ids.end()),
                         g.member_ids.end());
      Progress(options, "groups", stats);
      co_return true;
    });
    if (failure) co_return *failure;
    std::vector<sync::IdaasGroup> kept;
    for (size_t i = 0; i < mirror.groups.size(); ++i) {
      if (!gone[i]) kept.push_back(std::move(mirror.groups[i]));
    }
    mirror.groups = std::move(kept);
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
