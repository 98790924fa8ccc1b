#include "idsync/daemon/cli.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "check_config.h"
#include "engine.h"
#include "private_file.h"
#include "doctor.h"
#include "run.h"
#include "setup.h"
#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"
#include "idsync/daemon/logging.h"
#include "idsync/version.h"

namespace idsync::daemon {
namespace {

constexpr const char* kDefaultConfig = "/etc/idsync/idsync.yaml";

struct GlobalOptions {
  std::string config = kDefaultConfig;
  std::string log_level;   // empty: from the config, else "info"
  std::string log_format;  // empty: from the config, else "text"
  int verbosity = 0;
};

// -v raises the level one step from info per flag; --log-level wins.
std::string EffectiveLevel(const GlobalOptions& g, const std::string& from_config) {
  if (!g.log_level.empty()) return g.log_level;
  if (g.verbosity >= 2) return "trace";
  if (g.verbosity == 1) return "debug";
  return from_config.empty() ? "info" : from_config;
}

void AddCommonOptions(CLI::App* cmd, GlobalOptions* g) {
  cmd->add_option("-c,--config", g->config, "Configuration file")
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", g->verbosity,
                "More log detail (-v debug, -vv trace)");
  cmd->add_option("--log-level", g->log_level,
                  "Log level, overriding the config")
      ->check(CLI::IsMember(
          {"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cmd->add_option("--log-format", g->log_format,
                  "Log format, overriding the config")
      ->check(CLI::IsMember({"text", "json"}));
}

// Asks on the terminal before applying; without a terminal, --yes is needed
// so that a script never applies changes nobody looked at by accident.
bool Confirm(const sync::Plan& plan, bool yes) {
  if (yes) return true;
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "idsync apply: " << plan.operations.size()
              << " change(s) to apply; pass --yes to apply without a terminal\n";
    return false;
  }
  std::cerr << "idsync apply: apply " << plan.operations.size() << " change(s) ("
            << plan.ApiWrites() << " API writes)? Run idsync plan to see them. [y/N] "
            << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

void ProgressBar(int64_t done, int64_t total) {
  const int width = 40;
  int filled = total > 0 ? static_cast<int>(width * done / total) : width;
  std::fprintf(stderr, "\r[%.*s%*s] %lld/%lld", filled,
               "========================================", width - filled, "",
               static_cast<long long>(done), static_cast<long long>(total));
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

// Writes to stdout, or atomically and owner-only to FILE.
bool WriteReport(const std::string& report, const std::string& output) {
  if (output.empty() || output == "-") {
    std::cout << report << std::flush;
    return true;
  }
  std::string error;
  if (!WritePrivateFileAtomically(output, report, &error)) {
    std::cerr << "cannot write the report: " << error << "\n";
    return false;
  }
  return true;
}

}  // namespace

int Main(int argc, char** argv) {
  // The state database (names, e-mail addresses, phone numbers), its -wal and
  // -shm files, the reports and any folder idsync creates are the owner's
  // only, for every command and whatever umask the shell, the container
  // runtime or the init system left us. The store and the report writer also
  // set 0600 explicitly (a pre-existing file, a caller that skips Main).
  ::umask(077);
  CLI::App app{
      "idsync keeps an Alibaba Cloud IDaaS application's accounts, "
      "organizational units and groups in step with an authoritative "
      "source.",
      "idsync"};
  app.set_version_flag("-V,--version", std::string("idsync ") + IDSYNC_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions g;

  auto* check = app.add_subcommand(
      "check-config",
      "Validate the configuration: every problem with its line and column");
  AddCommonOptions(check, &g);
  bool connect = false;
  check->add_flag("--connect", connect,
                  "Also read the source, get a token and the provisioning "
                  "scope");
  bool check_admin = false;
  check->add_flag("--admin", check_admin,
                  "Also check the application through the admin API (idsync doctor)");

  auto* plan = app.add_subcommand(
      "plan", "Read the source and print what apply would change; writes "
              "nothing to IDaaS (exit 0 in sync, 2 changes, 3 guard, 1 error)");
  AddCommonOptions(plan, &g);
  std::string format = "text", output;
  plan->add_option("--format", format, "Report format")
      ->check(CLI::IsMember({"text", "json", "csv", "html"}))
      ->capture_default_str();
  plan->add_option("-o,--output", output, "Write the report to FILE");

  auto* apply = app.add_subcommand(
      "apply", "Plan, check the safety guards and apply (exit 0 converged, 3 "
               "guard, 4 some operations failed, 1 error)");
  AddCommonOptions(apply, &g);
  bool yes = false;
  int64_t allow_deletes = -1;
  apply->add_flag("-y,--yes", yes, "Do not ask for confirmation");
  apply->add_option("--allow-deletes", allow_deletes,
                    "Let this run delete or disable up to N objects per "
                    "entity type despite the max_deletes guard");
  apply->add_option("--format", format, "Report format")
      ->check(CLI::IsMember({"text", "json", "csv", "html"}));
  apply->add_option("-o,--output", output, "Write the report to FILE");

  auto* run = app.add_subcommand(
      "run", "The daemon: plan and apply on a schedule and on triggers");
  AddCommonOptions(run, &g);

  auto* refresh = app.add_subcommand(
      "refresh", "Re-read the whole IDaaS provisioning scope into the cache");
  AddCommonOptions(refresh, &g);

  auto* status = app.add_subcommand(
      "status", "Last runs, cache counts, pending journal entries, guards");
  AddCommonOptions(status, &g);
  status->add_option("--format", format, "Output format")
      ->check(CLI::IsMember({"text", "json"}));

  auto* doctor = app.add_subcommand(
      "doctor", "Check the configuration against the admin view of its application, each "
                "check with a fix (exit 0 all hold, 1 otherwise); needs the admin: section");
  AddCommonOptions(doctor, &g);

  auto* setup = app.add_subcommand(
      "setup", "Prepare the IDaaS application through the admin API (AccessKey from "
               "ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET) and print the config snippet (exit 0 "
               "done, 2 --dry-run found changes, 3 refused to widen the scope, 1 error)");
  SetupOptions setup_options;
  setup->add_option("--instance", setup_options.instance_id, "IDaaS instance id")->required();
  setup->add_option("--ou", setup_options.ous,
                    "An OU of the provisioning scope (repeatable; the first is target.root_ou)");
  setup->add_option("--secret-out", setup_options.secret_out,
                    "File the client secret is written to (0600)")
      ->required();
  setup->add_option("--region", setup_options.region, "Region of the instance")
      ->capture_default_str();
  setup->add_option("--endpoint", setup_options.endpoint,
                    "Admin API endpoint (default https://eiam.<region>.aliyuncs.com)");
  setup->add_option("--developer-endpoint", setup_options.developer_endpoint,
                    "Developer API endpoint for the snippet (default: from --region, or "
                    "--endpoint when given: the emulator serves both)");
  setup->add_option("--name", setup_options.application_name, "Application name")
      ->capture_default_str();
  setup->add_option("--ca-file", setup_options.ca_file, "PEM CAs to trust for the admin API");
  setup->add_flag("--dry-run", setup_options.dry_run, "Only print what would change");
  setup->add_flag("--widen-scope", setup_options.widen_scope,
                  "Allow adding OUs to an existing provisioning scope");
  setup->add_flag("-v,--verbose", g.verbosity, "More log detail (-v debug, -vv trace)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kError;
  }

  // Until the config is read, log at the level the command line asks for.
  SetUpLogging(EffectiveLevel(g, ""), g.log_format.empty() ? "text" : g.log_format);

  if (check->parsed()) {
    CheckConfigOptions opts;
    opts.config_path = g.config;
    opts.connect = connect;
    opts.admin = check_admin;
    return CheckConfig(opts, std::cout, std::cerr);
  }
  if (setup->parsed()) return RunSetup(setup_options, std::cout, std::cerr);
  if (run->parsed()) {
    RunOptions run_options;
    run_options.config_path = g.config;
    run_options.log_level = g.log_level.empty() && g.verbosity > 0 ? EffectiveLevel(g, "") : g.log_level;
    run_options.log_format = g.log_format;
    return RunDaemon(run_options);
  }

  // Every other command needs a valid configuration.
  config::Diagnostics diags;
  config::LoadOptions load_options;
  load_options.resolve_admin_token = false;  // only the daemon serves the admin endpoint
  config::Config cfg = config::Load(g.config, &diags, load_options);
  if (diags.empty()) connectors::ValidateConfig(cfg, &diags);
  if (!diags.empty()) {
    for (const auto& p : diags.Sorted()) std::cerr << p.ToString() << "\n";
    std::cerr << g.config << ": invalid configuration (" << diags.size()
              << (diags.size() == 1 ? " problem" : " problems")
              << "); run idsync check-config\n";
    return kError;
  }
  SetUpLogging(EffectiveLevel(g, cfg.log.level),
               g.log_format.empty() ? cfg.log.format : g.log_format);

  if (doctor->parsed()) return RunDoctor(cfg, std::cout, std::cerr);
  if (refresh->parsed()) return RunRefresh(cfg, std::cout, std::cerr, isatty(STDERR_FILENO));
  if (status->parsed()) return RunStatus(cfg, format, std::cout, std::cerr);

  CycleOptions options;
  options.apply = apply->parsed();
  options.command = options.apply ? "apply" : "plan";
  options.allow_deletes = allow_deletes;
  if (options.apply) {
    options.confirm = [yes](const sync::Plan& plan) { return Confirm(plan, yes); };
    if (isatty(STDERR_FILENO)) options.on_progress = ProgressBar;
  }
  CycleResult result = RunCycle(cfg, options);
  if (result.exit_code == kError && !result.error.empty()) {
    std::cerr << "idsync " << options.command << ": " << result.error << "\n";
    if (result.plan.operations.empty() && result.plan.guards.empty()) return kError;
  }
  if (result.did_apply && (result.applied.failed > 0 || result.applied.not_run > 0)) {
    // Said where a person running it sees it, not only in the report.
    std::cerr << "idsync " << options.command << ": " << result.applied.failed
              << " operation(s) failed and " << result.applied.not_run << " did not run"
              << (result.applied.first_error.empty() ? "" : "; first: " + result.applied.first_error)
              << "\n";
  }
  auto render_start = std::chrono::steady_clock::now();
  std::string report =
      sync::Render(format, result.ReportInputFor(cfg, base::Clock::System().NowMs()));
  if (!WriteReport(report, output)) return kError;
  if (auto log = spdlog::get("idsync")) {
    const auto& t = result.timings;
    log->debug("cycle timings: source={:.3f}s open={:.3f}s cache={:.3f}s index={:.3f}s "
               "recover={:.3f}s scope={:.3f}s plan={:.3f}s report={:.3f}s",
               t.source, t.open, t.cache, t.index, t.recover, t.scope, t.plan,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - render_start)
                   .count());
  }
  return result.exit_code;
}

}  // namespace idsync::daemon
