// plan_bench: test-plan P1 end to end, as users run it — `idsync plan` over
// 1,000,000 users / 20,000 OUs / 5,000 groups from a CSV, with a warm cache.
//
//   plan_bench [--users N] [--dir DIR] [--runs R] [--regenerate] [--compare IDSYNC]
//
// The input is generated once into DIR (default /tmp/idsync-plan-bench) and
// reused while it holds the same number of users:
//   * people.csv from csv_gen (--ous 20000 --groups 5000);
//   * state/idsync.db, a cache that matches the mapped CSV record by record,
//     built in a child process from the snapshot the real mapping yields, then
//     put out of step on purpose: 0.3 % of the users are not in the cache
//     (creates), 0.5 % differ in one field, OU or status (patches, moves,
//     enables), 400 cached users are gone from the CSV (disables), and every
//     tenth group differs by two members.
// Each run then starts the real `idsync plan --format json -o DIR/plan.json
// --log-level debug` against an idaas-emulator child (token and scope only;
// the cache is fresh, so nothing is refreshed) and measures the child: wall
// time, peak RSS (wait4's ru_maxrss) and CPU time; the steps come from the
// binary's own "cycle timings" log line. Prints one line, medians over R runs:
//   plan_bench users=1000000 wall_s=... rss_mib=... cpu_s=... source_s=...
// With --compare, another idsync binary (say, one built from an earlier
// commit) runs alternately with this build's, R times each, and a second
// line, ending in compare=IDSYNC, gives its medians: an A/B that a noisy
// machine affects alike.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "../connectors/hr_export_yaml.h"
#include "idsync/base/clock.h"
#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"
#include "idsync/store/store.h"

namespace {

namespace fs = std::filesystem;
namespace sync = idsync::sync;
using idsync::store::Store;

constexpr char kRootOu[] = "ou_emulatorroot00000000000000";  // the emulator's default scope
constexpr char kInstance[] = "idaas_emulator";
constexpr int kOus = 20000, kGroups = 5000, kMissingUsers = 400;
// Bump when the generated data changes, so that an old DIR is regenerated.
constexpr char kGeneratorVersion[] = "2";  // 2: the mirror is marked as read with custom fields

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "plan_bench: " << what << "\n";
  std::_Exit(1);
}

std::string Config(const std::string& endpoint) {
  return R"(idaas:
  endpoint: )" + endpoint + R"(
  instance_id: idaas_emulator
  application_id: app_emulator
  client_secret: env:IDSYNC_BENCH_SECRET
)" + idsync::bench::HrExportSourceYaml("people.csv") + R"(target:
  root_ou: )" + kRootOu + R"(
policy:
  max_deletes: {count: 5000, percent: 5}
store:
  path: state/idsync.db
  full_refresh_interval: 3650d
log:
  level: info
)";
}

std::string RandomId(std::mt19937_64& rng, const char* prefix) {
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(prefix);
  for (int i = 0; i < 26; ++i) s.push_back(kAlnum[rng() % 36]);
  return s;
}

// Runs argv to completion; false if it could not run or failed.
bool RunTool(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::_Exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The cache: what a refresh after a perfect apply of the snapshot would hold,
// then changed as the header says.
void BuildState(const std::string& dir, const std::string& db) {
  idsync::config::Diagnostics diags;
  idsync::config::LoadOptions lo;
  lo.resolve_secrets = false;
  auto cfg = idsync::config::LoadFromString(Config("http://127.0.0.1:1"), dir + "/idsync.yaml",
                                            &diags, lo);
  if (!diags.empty()) Die("config: " + diags.Sorted().front().ToString());
  auto snap = idsync::connectors::ReadSnapshot(cfg);
  if (!snap) Die("reading the CSV: " + snap.error().message);

  std::mt19937_64 rng(42);
  idsync::store::Mirror m;
  idsync::store::MirrorUpdate links;
  auto link = [&](sync::EntityType type, const std::string& key, const std::string& id) {
    links.upsert_links.push_back({type, key, id, sync::Ownership::kCreated, 0, false});
  };
  std::unordered_map<std::string, std::string> ou_id{{"", kRootOu}};
  m.ous.push_back({kRootOu, "Root", "", "", "", "build_in", kInstance});
  for (const auto& ou : snap->ous) {  // parents sort before their children
    sync::IdaasOu o{RandomId(rng, "ou_"), ou.name, ou_id.at(ou.parent_key), ou.description,
                    ou.key, "build_in", kInstance};
    ou_id[ou.key] = o.id;
    link(sync::EntityType::kOu, ou.key, o.id);
    m.ous.push_back(std::move(o));
  }
  std::unordered_map<std::string, std::string> user_id;  // source key -> id, cached users only
  m.users.reserve(snap->users.size() + kMissingUsers);
  for (size_t i = 0; i < snap->users.size(); ++i) {
    const sync::DesiredUser u = snap->users.Get(i);  // a copy: setup, not measured
    if (i % 1000 < 3) continue;  // new in the source: a create
    sync::IdaasUser c;
    c.id = RandomId(rng, "user_");
    c.username = u.username;
    c.display_name = u.display_name;
    c.email = u.email;
    c.phone_number = u.phone_number;
    c.phone_region = u.phone_region;
    c.description = u.description;
    c.external_id = u.key;
    c.source_type = "build_in";
    c.source_id = kInstance;
    c.primary_ou_id = ou_id.at(u.primary_ou_key);
    c.ou_ids = {c.primary_ou_id};
    c.enabled = u.enabled;
    c.custom_fields.insert(u.custom_fields.begin(), u.custom_fields.end());
    c.update_time_ms = 1700000000000LL + static_cast<int64_t>(i);
    if (i % 1000 < 8) {  // changed in the source since the last apply
      switch (i % 5) {
        case 0: c.display_name += " Jr"; break;
        case 1: c.email = "old." + c.email; break;
        case 2:
          c.primary_ou_id = m.ous[1 + rng() % (m.ous.size() - 1)].id;
          c.ou_ids = {c.primary_ou_id};
          break;
        case 3: c.enabled = !c.enabled; break;
        default: c.custom_fields["cost_center"] = "CC-0"; break;
      }
    }
    user_id[u.key] = c.id;
    link(sync::EntityType::kUser, u.key, c.id);
    m.users.push_back(std::move(c));
  }
  std::vector<std::string> gone;  // cached users no longer in the source
  for (int k = 0; k < kMissingUsers; ++k) {
    sync::IdaasUser c;
    c.id = RandomId(rng, "user_");
    c.username = "left" + std::to_string(k);
    c.display_name = "Former Employee " + std::to_string(k);
    c.email = c.username + "@example.com";
    c.external_id = "M" + std::to_string(k);
    c.source_type = "build_in";
    c.source_id = kInstance;
    c.primary_ou_id = m.ous[1 + rng() % (m.ous.size() - 1)].id;
    c.ou_ids = {c.primary_ou_id};
    link(sync::EntityType::kUser, c.external_id, c.id);
    gone.push_back(c.id);
    m.users.push_back(std::move(c));
  }
  for (size_t g = 0; g < snap->groups.size(); ++g) {
    const sync::DesiredGroup& d = snap->groups[g];
    sync::IdaasGroup group{RandomId(rng, "group_"), d.name, d.description, d.key, "build_in",
                           kInstance, {}};
    for (const auto& key : d.member_keys) {
      if (auto it = user_id.find(std::string(key)); it != user_id.end()) group.member_ids.push_back(it->second);
    }
    if (g % 10 == 0 && !group.member_ids.empty()) {
      group.member_ids.erase(group.member_ids.begin());  // a member to add
      group.member_ids.push_back(gone[g % gone.size()]);  // one to remove
    }
    std::sort(group.member_ids.begin(), group.member_ids.end());
    group.member_ids.erase(std::unique(group.member_ids.begin(), group.member_ids.end()),
                           group.member_ids.end());
    link(sync::EntityType::kGroup, d.key, group.id);
    m.groups.push_back(std::move(group));
  }
  m.scope.ou_ids = {kRootOu};
  std::cerr << "plan_bench: source " << snap->users.size() << " users, " << snap->ous.size()
            << " OUs, " << snap->groups.size() << " groups, " << snap->rejected.size()
            << " rejected; cache " << m.users.size() << " users\n";
  fs::create_directories(fs::path(db).parent_path());
  auto store = Store::Open(db);
  if (!store) Die("open: " + store.error().message);
  const int64_t now_ms = idsync::base::Clock::System().NowMs();
  if (auto r = (*store)->ReplaceMirror(m, now_ms); !r) Die("mirror: " + r.error().message);
  if (auto r = (*store)->ApplyUpdate(links); !r) Die("links: " + r.error().message);
}

std::string Signature(int users) { return std::to_string(users) + "/v" + kGeneratorVersion; }

void Generate(const std::string& dir, int users) {
  const std::string db = dir + "/state/idsync.db";
  fs::create_directories(dir);
  for (const char* f : {"", "-wal", "-shm"}) fs::remove(db + f);
  std::cerr << "plan_bench: generating " << dir << " with " << users << " users...\n";
  if (!RunTool({CSV_GEN_BIN, dir + "/people.csv", std::to_string(users), "--ous",
                std::to_string(kOus), "--groups", std::to_string(kGroups)})) {
    Die("csv_gen failed");
  }
  // In a child: the snapshot and the mirror take a few GB.
  pid_t pid = fork();
  if (pid == 0) {
    BuildState(dir, db);
    auto store = Store::Open(db);
    // The mirror holds custom fields, which the mapping reads: without this
    // mark (daemon/src/engine.h kMirrorCustomFieldsMeta) the first plan would
    // refresh the whole scope from the emulator, which holds none of it.
    if (!store || !(*store)->SetMeta("mirror_custom_fields", "1") ||
        !(*store)->SetMeta("bench.plan", Signature(users))) {
      Die("meta");
    }
    std::_Exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("generation failed");
}

bool UpToDate(const std::string& dir, int users) {
  const std::string db = dir + "/state/idsync.db";
  if (!fs::exists(db) || !fs::exists(dir + "/people.csv")) return false;
  auto store = Store::Open(db, {.read_only = true});
  if (!store) return false;
  auto v = (*store)->GetMeta("bench.plan");
  return v && *v && **v == Signature(users);
}

struct Emulator {
  pid_t pid = -1;
  std::string address;
};

Emulator StartEmulator() {
  int out[2];
  if (pipe(out) != 0) Die("pipe");
  Emulator e;
  e.pid = fork();
  if (e.pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(IDAAS_EMULATOR_BIN, IDAAS_EMULATOR_BIN, "--listen", "127.0.0.1:0", "--seed", "1",
          static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  close(out[1]);
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') e.address.push_back(c);
  close(out[0]);
  if (e.address.empty()) Die("the emulator did not start");
  return e;
}

struct RunFigures {
  double wall = 0, cpu = 0;
  long rss_kib = 0;
  int exit_code = -1;
  std::map<std::string, double> steps;  // from "cycle timings: source=1.2s ..."
};

// What a plan holds, by kind ("user.create:2824,…"), to check that the runs
// did the work.
struct PlannedOps {
  int total = 0;
  std::string by_kind;
};

PlannedOps ReadPlannedOps(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto report = boost::json::parse(text.str()).as_object();
  std::map<std::string, int> kinds;
  for (const auto& op : report.at("operations").as_array()) {
    ++kinds[std::string(op.at("kind").as_string())];
  }
  PlannedOps out;
  for (const auto& [k, n] : kinds) {
    out.by_kind += (out.by_kind.empty() ? "" : ",") + k + ":" + std::to_string(n);
    out.total += n;
  }
  return out;
}

RunFigures RunPlan(const std::string& dir, const std::string& idsync) {
  const std::string log = dir + "/plan.log";
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) std::_Exit(127);
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    if (f == nullptr) std::_Exit(127);
    setenv("IDSYNC_BENCH_SECRET", "emulator-secret", 1);
    execl(idsync.c_str(), idsync.c_str(), "plan", "-c", "idsync.yaml", "--format", "json", "-o",
          "plan.json", "--log-level", "debug", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  RunFigures r;
  r.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  r.rss_kib = ru.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    size_t at = line.find("cycle timings: ");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + 15));
    std::string w;
    while (words >> w) {
      size_t eq = w.find('=');
      if (eq != std::string::npos) r.steps[w.substr(0, eq)] = std::atof(w.c_str() + eq + 1);
    }
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int users = 1000000, runs = 3;
  bool regenerate = false;
  std::string dir = (fs::temp_directory_path() / "idsync-plan-bench").string();
  std::vector<std::string> binaries = {IDSYNC_BIN};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--regenerate") regenerate = true;
    else if (i + 1 >= argc) {
      Die("usage: plan_bench [--users N] [--dir DIR] [--runs R] [--regenerate] [--compare IDSYNC]");
    }
    else if (a == "--compare") binaries.push_back(fs::absolute(argv[++i]).string());
    else if (a == "--users") users = std::atoi(argv[++i]);
    else if (a == "--dir") dir = argv[++i];
    else if (a == "--runs") runs = std::max(1, std::atoi(argv[++i]));
    else Die("unknown option " + a);
  }
  dir = fs::absolute(dir).string();
  if (regenerate || !UpToDate(dir, users)) Generate(dir, users);

  Emulator emulator = StartEmulator();
  {
    std::ofstream cfg(dir + "/idsync.yaml");
    cfg << Config("http://" + emulator.address);
  }
  std::vector<std::vector<RunFigures>> figures_of(binaries.size());
  std::vector<PlannedOps> planned(binaries.size());  // each binary's last plan
  for (int r = 0; r < runs; ++r) {
    for (size_t b = 0; b < binaries.size(); ++b) {
      figures_of[b].push_back(RunPlan(dir, binaries[b]));
      if (r + 1 == runs) planned[b] = ReadPlannedOps(dir + "/plan.json");
      const RunFigures& f = figures_of[b].back();
      std::cerr << "plan_bench: run " << r + 1 << (b == 0 ? "" : " (compare)") << ": exit "
                << f.exit_code << ", " << f.wall << " s, " << f.rss_kib / 1024 << " MiB\n";
      if (f.exit_code != 2 || f.steps.empty()) {
        kill(emulator.pid, SIGTERM);
        waitpid(emulator.pid, nullptr, 0);
        Die(binaries[b] + " plan exited " + std::to_string(f.exit_code) + " (2 expected); see " +
            dir + "/plan.log");
      }
    }
  }
  kill(emulator.pid, SIGTERM);
  waitpid(emulator.pid, nullptr, 0);

  for (size_t b = 0; b < binaries.size(); ++b) {
    const std::vector<RunFigures>& figures = figures_of[b];
    auto median_of = [&](auto field) {
      std::vector<double> v;
      for (const auto& f : figures) v.push_back(field(f));
      return Median(v);
    };
    auto step = [&](const char* name) {
      return median_of([name](const RunFigures& f) {
        auto it = f.steps.find(name);
        return it == f.steps.end() ? 0.0 : it->second;
      });
    };
    std::printf(
        "plan_bench users=%d runs=%d wall_s=%.2f rss_mib=%.0f cpu_s=%.2f source_s=%.2f "
        "open_s=%.2f cache_s=%.2f index_s=%.2f plan_s=%.2f report_s=%.2f api_s=%.2f "
        "operations=%d %s%s\n",
        users, runs, median_of([](const RunFigures& f) { return f.wall; }),
        median_of([](const RunFigures& f) { return static_cast<double>(f.rss_kib) / 1024; }),
        median_of([](const RunFigures& f) { return f.cpu; }), step("source"), step("open"),
        step("cache"), step("index"), step("plan"), step("report"),
        step("recover") + step("scope"), planned[b].total, planned[b].by_kind.c_str(),
        b == 0 ? "" : (" compare=" + binaries[b]).c_str());
  }
  return 0;
}
