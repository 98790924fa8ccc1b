// Restart recovery: the journal entries a previous run left unfinished are
// resolved against IDaaS before anything is planned.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>

#include "create_or_find.h"
#include "executor_impl.h"

namespace idsync::sync {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

struct JournalTarget {
  std::string kind, entity, key, id, display;
  // A user.disable because the record went missing: when its delete timer
  // started (the "missing_since" change), so that recovery keeps it.
  std::optional<int64_t> missing_since_ms;
};

std::optional<JournalTarget> ParsePayload(const std::string& payload) {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto str = [&](const json::object& obj, const char* k) -> std::string {
    auto* p = obj.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : "";
  };
  JournalTarget t;
  t.kind = str(o, "kind");
  t.entity = str(o, "entity");
  t.display = str(o, "name");
  t.key = str(o, "source_key");
  t.id = str(o, "idaas_id");
  if (auto* changes = o.if_contains("changes"); changes && changes->is_array()) {
    for (const auto& c : changes->as_array()) {
      if (!c.is_object() || str(c.as_object(), "field") != "missing_since") continue;
      const std::string since = str(c.as_object(), "new");
      char* end = nullptr;
      long long v = std::strtoll(since.c_str(), &end, 10);
      if (!since.empty() && end && *end == '\0') t.missing_since_ms = v;
    }
  }
  return t;
}

// Reads the object as IDaaS has it into `update`; kNotFound when it is gone.
asio::awaitable<base::Status> ReadInto(RemoteDirectory& remote, EntityType type,
                                       const std::string& id, MirrorUpdate* update) {
  switch (type) {
    case EntityType::kUser: {
      auto user = co_await remote.GetUser(id);
      if (!user) co_return user.error();
      update->upsert_users.push_back(std::move(*user));
      break;
    }
    case EntityType::kOu: {
      auto ou = co_await remote.GetOu(id);
      if (!ou) co_return ou.error();
      update->upsert_ous.push_back(std::move(*ou));
      break;
    }
    case EntityType::kGroup: {
      auto group = co_await remote.GetGroup(id);
      if (!group) co_return group.error();
      update->upsert_groups.push_back(std::move(*group));
      break;
    }
  }
  co_return base::Status();
}

std::optional<EntityType> ParseEntity(const std::string& name) {
  if (name == "user") return EntityType::kUser;
  if (name == "ou") return EntityType::kOu;
  if (name == "group") return EntityType::kGroup;
  return std::nullopt;
}

}  // namespace

asio::awaitable<RecoveryOutcome> Executor::Recover(Journal& journal, RemoteDirectory& remote,
                                                   ExecutorOptions options) {
  RecoveryOutcome out;
  if (!options.now_ms) options.now_ms = SystemNowMs;
  auto log = spdlog::get("sync");
  auto entries = journal.Unfinished();
  if (!entries) {
    out.first_error = entries.error().message;
    ++out.unresolved;
    co_return out;
  }
  // The resolutions are committed in groups, like the executor's closes: a
  // crash during recovery leaves the uncommitted ones unfinished, and the
  // next recovery resolves them again (lookups are read-only).
  enum class Counted { kDone, kAbsent, kAbandoned };
  std::vector<JournalClose> closes;
  std::vector<Counted> counted;
  auto last_commit = std::chrono::steady_clock::now();
  auto flush = [&] {
    if (closes.empty()) return;
    auto r = journal.Commit(JournalBatch{std::move(closes), {}}, options.now_ms());
    last_commit = std::chrono::steady_clock::now();
    std::vector<bool> rejected(counted.size(), false);
    if (!r) {
      out.unresolved += static_cast<int64_t>(counted.size());
      if (out.first_error.empty()) out.first_error = r.error().message;
      rejected.assign(counted.size(), true);
    } else {
      for (const auto& [index, error] : r->rejected) {
        rejected[index] = true;
        ++out.unresolved;
        if (out.first_error.empty()) out.first_error = error.message;
      }
    }
    for (size_t k = 0; k < counted.size(); ++k) {
      if (rejected[k]) continue;
      switch (counted[k]) {
        case Counted::kDone:
          ++out.resolved_done;
          break;
        case Counted::kAbsent:
          ++out.resolved_absent;
          break;
        case Counted::kAbandoned:
          ++out.abandoned;
          break;
      }
    }
    closes.clear();
    counted.clear();
  };
  auto close = [&](JournalClose c, Counted what) {
    closes.push_back(std::move(c));
    counted.push_back(what);
    if (closes.size() >= 4096 ||
        std::chrono::steady_clock::now() - last_commit >= std::chrono::seconds(1)) {
      flush();
    }
  };
  for (const auto& e : *entries) {
    if (!e.in_flight) {
      close({e.id, false, {}, "not sent: the run that planned it stopped first"},
            Counted::kAbandoned);
      continue;
    }
    auto t = ParsePayload(e.payload);
    auto type = t ? ParseEntity(t->entity) : std::nullopt;
    // Store-only operations (adopt, mark_missing) have nothing to look up:
    // the next plan decides again.
    if (!t || !type || t->kind == "adopt" || t->kind == "user.mark_missing") {
      close({e.id, false, {}, "interrupted; re-planned"}, Counted::kAbsent);
      continue;
    }
    auto unresolved = [&](const base::Error& err) {
      ++out.unresolved;
      if (out.first_error.empty()) out.first_error = e.op_id + ": " + err.message;
    };
    const bool is_create = t->kind.ends_with(".create");
    std::string id = t->id;
    if (is_create) {
      auto found = co_await FindCreated(remote, *type, t->key, t->display);
      if (found) {
        id = *found;
      } else if (!IsMissing(found.error())) {
        unresolved(found.error());
        continue;
      }
    }
    if (id.empty()) {
      close({e.id, false, {}, "not applied (nothing carries this record's key)"}, Counted::kAbsent);
      continue;
    }
    MirrorUpdate update;
    auto read = co_await ReadInto(remote, *type, id, &update);
    if (read) {
      if (is_create) {
        update.upsert_links.push_back(Link{*type, t->key, id, Ownership::kCreated, 0, false});
      }
      // A disable for a missing record that reached IDaaS keeps its delete
      // timer and its "idsync disabled it" mark, exactly as the completed
      // operation would have: else the account would never be deleted, nor
      // re-enabled when its record returns.
      if (t->kind == "user.disable" && t->missing_since_ms && !update.upsert_users.empty() &&
          !update.upsert_users.back().enabled) {
        update.set_link_flags.push_back(
            MirrorUpdate::LinkFlags{EntityType::kUser, t->key, *t->missing_since_ms, true});
      }
    } else if (IsMissing(read.error())) {
      RecordGone(*type, id, &update);
      if (t->kind.ends_with(".delete")) update.delete_links.push_back({*type, t->key});
    } else {
      unresolved(read.error());
      continue;
    }
    if (log) log->info("recovered {}: {} is {}", e.op_id, id, read ? "present" : "gone");
    close({e.id, true, std::move(update), ""}, Counted::kDone);
  }
  flush();
  co_return out;
}

}  // namespace idsync::sync
