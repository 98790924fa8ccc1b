// store_load_bench: how fast, and in how much memory, the planner's input
// (CachedState) loads from a state database with 1,000,000 cached users,
// 20,000 OUs, 5,000 groups and a link for every object.
//
//   store_load_bench [--users N] [--db PATH] [--runs R]
//
// The database is generated once (in a child process, so that generating it
// does not count towards this process's peak RSS) and reused while it holds
// the same number of users. Prints one line:
//   store_load users=1000000 seconds=0.62 rss_mib=210 table_mib=180 ...
// seconds is the median LoadState wall time over R loads (default 3),
// cpu_seconds its CPU time (the figure that matters on a busy machine), rss_mib the
// process's peak resident set (VmHWM) after them, table_mib the bytes the
// CachedState's own tables hold (users, links, members, OUs).
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "idsync/store/store.h"

namespace {

using idsync::store::Store;
namespace sync = idsync::sync;

long StatusKib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n + 1);
  }
  return -1;
}

std::string RandomId(std::mt19937_64& rng, const char* prefix) {
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(prefix);
  for (int i = 0; i < 26; ++i) s.push_back(kAlnum[rng() % 36]);
  return s;
}

std::string Word(std::mt19937_64& rng, size_t min, size_t max) {
  size_t n = min + rng() % (max - min + 1);
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + rng() % 26));
  return s;
}

[[noreturn]] void Die(const std::string& what, const idsync::store::Error& e) {
  std::cerr << "store_load_bench: " << what << ": " << e.message << "\n";
  std::_Exit(1);
}

// Writes the database: realistic field lengths (31-char ids, 8-14 char
// usernames, ~25 char e-mails, 11-digit phones, 20 % with a description,
// 10 % in a second OU, two custom fields each), 20,000 OUs in a 4-level
// tree, 5,000 groups with ~1,000,000 memberships, and a link per object.
void Generate(const std::string& path, int users) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  auto store = Store::Open(path);
  if (!store) Die("open", store.error());
  std::mt19937_64 rng(42);
  idsync::store::Mirror m;
  idsync::store::MirrorUpdate links;
  const int kOus = 20000, kGroups = 5000;
  m.ous.reserve(kOus);
  for (int i = 0; i < kOus; ++i) {
    sync::IdaasOu o;
    o.id = RandomId(rng, "ou_");
    o.name = "Dept " + Word(rng, 4, 12);
    // Level by index: 0 root, 1..20 level 1, 21..1020 level 2, rest level 3.
    int parent = i == 0 ? -1 : i <= 20 ? 0 : i <= 1020 ? 1 + (i % 20) : 21 + (i % 1000);
    o.parent_id = parent < 0 ? "" : m.ous[static_cast<size_t>(parent)].id;
    o.external_id = "D" + std::to_string(100000 + i);
    o.source_type = "build_in";
    o.source_id = "idaas_benchinstance0000000001";
    links.upsert_links.push_back({sync::EntityType::kOu, o.external_id, o.id,
                                  sync::Ownership::kCreated, 0, false});
    m.ous.push_back(std::move(o));
  }
  m.users.reserve(static_cast<size_t>(users));
  for (int i = 0; i < users; ++i) {
    sync::IdaasUser u;
    u.id = RandomId(rng, "user_");
    u.username = Word(rng, 4, 8) + std::to_string(i);
    u.display_name = Word(rng, 3, 8) + " " + Word(rng, 4, 10);
    u.email = u.username + "@corp-example.com";
    u.phone_number = std::to_string(13000000000LL + i);
    u.phone_region = "86";
    if (rng() % 5 == 0) u.description = "Contractor, " + Word(rng, 10, 20);
    u.external_id = "E" + std::to_string(1000000 + i);
    u.source_type = "build_in";
    u.source_id = "idaas_benchinstance0000000001";
    u.primary_ou_id = m.ous[static_cast<size_t>(1020 + rng() % (kOus - 1020))].id;
    u.ou_ids = {u.primary_ou_id};
    if (rng() % 10 == 0) {
      u.ou_ids.push_back(m.ous[static_cast<size_t>(rng() % kOus)].id);
      std::sort(u.ou_ids.begin(), u.ou_ids.end());
      u.ou_ids.erase(std::unique(u.ou_ids.begin(), u.ou_ids.end()), u.ou_ids.end());
    }
    u.enabled = rng() % 20 != 0;
    u.custom_fields = {{"cost_center", "CC" + std::to_string(rng() % 5000)},
                       {"employee_type", rng() % 4 == 0 ? "contractor" : "full_time"}};
    u.update_time_ms = 1700000000000LL + i;
    links.upsert_links.push_back({sync::EntityType::kUser, u.external_id, u.id,
                                  sync::Ownership::kCreated, 0, false});
    m.users.push_back(std::move(u));
  }
  m.groups.reserve(kGroups);
  for (int g = 0; g < kGroups; ++g) {
    sync::IdaasGroup group;
    group.id = RandomId(rng, "group_");
    group.name = "Team " + Word(rng, 4, 12);
    group.external_id = "G" + std::to_string(10000 + g);
    group.source_type = "build_in";
    group.source_id = "idaas_benchinstance0000000001";
    // ~200 members on average: a few big groups, many small ones.
    size_t size = g < 5 ? static_cast<size_t>(users) / 20 : static_cast<size_t>(rng() % 350);
    for (size_t k = 0; k < size; ++k) {
      group.member_ids.push_back(m.users[rng() % m.users.size()].id);
    }
    std::sort(group.member_ids.begin(), group.member_ids.end());
    group.member_ids.erase(std::unique(group.member_ids.begin(), group.member_ids.end()),
                           group.member_ids.end());
    links.upsert_links.push_back({sync::EntityType::kGroup, group.external_id, group.id,
                                  sync::Ownership::kCreated, 0, false});
    m.groups.push_back(std::move(group));
  }
  m.scope.ou_ids = {m.ous[0].id};
  auto r = (*store)->ReplaceMirror(m, 1700000000000LL);
  if (!r) Die("replace mirror", r.error());
  auto l = (*store)->ApplyUpdate(links);
  if (!l) Die("links", l.error());
  auto meta = (*store)->SetMeta("bench.users", std::to_string(users));
  if (!meta) Die("meta", meta.error());
}

}  // namespace

int main(int argc, char** argv) {
  int users = 1000000;
  int runs = 3;
  std::string path = (std::filesystem::temp_directory_path() / "idsync-store-bench.db").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--users") users = std::atoi(argv[i + 1]);
    else if (a == "--db") path = argv[i + 1];
    else if (a == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
  }

  bool reuse = false;
  if (std::filesystem::exists(path)) {
    auto probe = Store::Open(path, {.read_only = true});
    if (!probe && probe.error().code == idsync::store::Error::Code::kSchema) {
      // A database from an older idsync: time its upgrade (migrations and
      // the packed mirror built from the rows), then use it.
      auto t0 = std::chrono::steady_clock::now();
      {
        auto writer = Store::Open(path);
        if (!writer) Die("upgrade", writer.error());
      }
      std::cerr << "upgraded " << path << " in "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
                << " s\n";
      probe = Store::Open(path, {.read_only = true});
    }
    if (probe) {
      auto v = (*probe)->GetMeta("bench.users");
      reuse = v && *v && **v == std::to_string(users);
    }
  }
  if (!reuse) {
    std::cerr << "generating " << path << " with " << users << " users...\n";
    pid_t pid = fork();
    if (pid == 0) {
      Generate(path, users);
      std::_Exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "store_load_bench: generation failed\n";
      return 1;
    }
  }

  auto open_t0 = std::chrono::steady_clock::now();
  auto store = Store::Open(path);
  if (!store) Die("open", store.error());
  const double open_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - open_t0).count();
  std::vector<double> seconds, cpu_seconds;
  auto thread_cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  size_t table_bytes = 0, links = 0, groups = 0, ous = 0, loaded = 0;
  for (int r = 0; r < runs; ++r) {
    const double c0 = thread_cpu();
    auto t0 = std::chrono::steady_clock::now();
    auto state = (*store)->LoadState();
    auto t1 = std::chrono::steady_clock::now();
    cpu_seconds.push_back(thread_cpu() - c0);
    if (!state) Die("load", state.error());
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
    table_bytes = state->MemoryBytes();
    loaded = state->users.size();
    links = state->links.size();
    groups = state->groups.size();
    ous = state->ous.size();
  }
  std::sort(seconds.begin(), seconds.end());
  std::sort(cpu_seconds.begin(), cpu_seconds.end());
  std::printf(
      "store_load users=%zu seconds=%.3f cpu_seconds=%.3f rss_mib=%ld table_mib=%.0f "
      "ous=%zu groups=%zu links=%zu runs=%d open_seconds=%.2f\n",
      loaded, seconds[seconds.size() / 2], cpu_seconds[cpu_seconds.size() / 2],
      StatusKib("VmHWM:") / 1024, static_cast<double>(table_bytes) / (1 << 20), ous, groups,
      links, runs, open_seconds);
  return 0;
}
