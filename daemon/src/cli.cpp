#include "idsync/daemon/cli.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "check_config.h"
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

// A subcommand whose engine is not part of this build says so and fails: it
// must never look like it did its job.
int NotBuilt(const char* command, const char* needs) {
  std::fprintf(stderr, "idsync %s: not available in this build yet (%s)\n",
               command, needs);
  return kError;
}

}  // namespace

int Main(int argc, char** argv) {
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
    int rc = CheckConfig(opts, std::cout, std::cerr);
    return rc;
  }
  if (plan->parsed()) return NotBuilt("plan", "needs the sync engine");
  if (apply->parsed()) return NotBuilt("apply", "needs the sync engine");
  if (run->parsed()) return NotBuilt("run", "needs the daemon loop");
  if (refresh->parsed()) return NotBuilt("refresh", "needs the state store");
  if (status->parsed()) return NotBuilt("status", "needs the state store");
  return kError;
}

}  // namespace idsync::daemon
