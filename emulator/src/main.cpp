// idaas-emulator: a wire-compatible local stand-in for the Alibaba Cloud IDaaS
// (EIAM) Developer API. See docs/emulator.md.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "idsync/emulator/emulator.h"
#include "server.h"
#include "text.h"

namespace {

using idsync::emulator::Emulator;
using idsync::emulator::Options;
using idsync::emulator::ServerOptions;

bool IsLoopback(const boost::asio::ip::tcp::endpoint& endpoint) {
  return endpoint.address().is_loopback();
}

// Writes via a temporary file and rename so a crash never leaves half a file.
bool SaveState(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content << '\n';
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

int Run(int argc, char** argv) {
  Options options;
  ServerOptions server_options;
  std::string state_file, permissions, token_ttl, latency, faults;
  std::vector<std::string> access_keys;
  uint64_t seed = 0;

  CLI::App app{"idaas-emulator: local stand-in for the IDaaS Developer API and admin API"};
  app.add_option("--listen", server_options.listen,
                 "HOST:PORT to listen on (port 0 = any); the bound address is "
                 "printed as the first line of stdout")
      ->capture_default_str();
  app.add_option("--state", state_file,
                 "JSON state file: loaded at start if it exists, saved on "
                 "SIGTERM/SIGINT");
  app.add_option("--tls-cert", server_options.tls_cert_file,
                 "PEM certificate chain; with --tls-key serves HTTPS");
  app.add_option("--tls-key", server_options.tls_key_file, "PEM private key");
  auto* instance = app.add_option("--instance-id", options.instance_id,
                                  "instance id")
                       ->capture_default_str();
  auto* application =
      app.add_option("--application-id", options.application_id,
                     "application id of the first client")
          ->capture_default_str();
  auto* client = app.add_option("--client-id", options.client_id,
                                "OAuth client id of the first client")
                     ->capture_default_str();
  auto* secret = app.add_option("--client-secret", options.client_secret,
                                "OAuth client secret of the first client");
  auto* perms = app.add_option(
      "--permissions", permissions,
      "comma-separated permission values of the first client (default: all "
      "four)");
  app.add_option("--access-key", access_keys,
                 "an admin API AccessKey as ID:SECRET, or ID:SECRET:Action,Action "
                 "to allow only those actions (RAM-style); repeatable; replaces the "
                 "default emulator-access-key:emulator-access-key-secret");
  app.add_option("--account-quota", options.account_quota,
                 "the tenant's account quota (MaxQuota of "
                 "GetApplicationProvisioningScope)")
      ->capture_default_str();
  app.add_option("--token-ttl", token_ttl,
                 "access token lifetime, e.g. 1200 (seconds), 2s, 500ms")
      ->default_str("1200s");
  app.add_option("--qps", options.qps,
                 "per-client request rate limit, 0 = unlimited")
      ->capture_default_str();
  app.add_option("--latency", latency,
                 "added response latency: 50ms or a range 10ms-80ms; "
                 "pipelined requests overlap it, like network latency");
  app.add_option("--keepalive-requests", options.keepalive_requests,
                 "requests per connection before the server closes it "
                 "(Connection: close), 0 = no limit")
      ->capture_default_str();
  app.add_option("--faults", faults,
                 "fault rates, e.g. 5xx=0.1,reset=0.05,drop_after_commit=0.05 "
                 "(also throttle, 5xx_after_commit, hold_after_commit)");
  auto* seed_option =
      app.add_option("--seed", seed, "random seed for ids and faults");
  app.add_flag("--log-requests", server_options.log_requests,
               "log every API request to stderr");
  app.add_option("--max-body-bytes", options.max_body_bytes,
                 "largest accepted request body")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  options.instance_id_set = instance->count() > 0;
  options.application_id_set = application->count() > 0;
  options.client_id_set = client->count() > 0;
  options.client_secret_set = secret->count() > 0;
  if (options.application_id_set && !options.client_id_set) {
    // An IDaaS application's client id is its application id.
    options.client_id = options.application_id;
    options.client_id_set = true;
  }
  if (perms->count() > 0) {
    options.permissions = idsync::emulator::SplitList(permissions, ',');
    options.permissions_set = true;
  }
  if (!access_keys.empty()) {
    options.access_keys.clear();
    for (const std::string& spec : access_keys) {
      auto parts = idsync::emulator::SplitList(spec, ':');
      if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
        // The text is not echoed: it holds a secret.
        std::cerr << "idaas-emulator: --access-key must be ID:SECRET[:Action,...]\n";
        return 2;
      }
      idsync::emulator::AccessKey key{parts[0], parts[1], {}};
      if (parts.size() == 3) key.allowed_actions = idsync::emulator::SplitList(parts[2], ',');
      options.access_keys.push_back(std::move(key));
    }
  }
  if (!token_ttl.empty()) {
    auto ttl = idsync::emulator::ParseDuration(token_ttl, "s");
    if (!ttl || ttl->count() <= 0) {
      std::cerr << "idaas-emulator: bad --token-ttl '" << token_ttl << "'\n";
      return 2;
    }
    options.token_ttl = *ttl;
  }
  if (!latency.empty()) {
    auto parsed = idsync::emulator::ParseLatency(latency);
    if (!parsed) {
      std::cerr << "idaas-emulator: bad --latency '" << latency << "'\n";
      return 2;
    }
    options.latency = *parsed;
  }
  if (!faults.empty()) {
    std::string error;
    auto parsed = idsync::emulator::ParseFaults(faults, &error);
    if (!parsed) {
      std::cerr << "idaas-emulator: bad --faults: " << error << "\n";
      return 2;
    }
    options.faults = *parsed;
  }
  if (options.qps < 0) {
    std::cerr << "idaas-emulator: --qps must be >= 0\n";
    return 2;
  }
  if (seed_option->count() > 0) options.seed = seed;

  auto logger = spdlog::stderr_color_mt("emulator");
  Emulator emulator(options);
  if (!state_file.empty() && std::filesystem::exists(state_file)) {
    std::ifstream in(state_file, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (auto error = emulator.LoadState(content.str())) {
      std::cerr << "idaas-emulator: cannot load --state " << state_file << ": "
                << *error << "\n";
      return 2;
    }
  }
  if (server_options.log_requests) {
    emulator.SetRequestObserver(
        [logger](const idsync::emulator::RequestLogEntry& entry) {
          logger->info("{} {} {} status={} client={} op={} fault={} id={}",
                       entry.method, entry.path, entry.query, entry.status,
                       entry.client_id, entry.operation, entry.fault,
                       entry.request_id);
        });
  }

  boost::asio::io_context io(1);
  std::optional<idsync::emulator::Server> server;
  try {
    server.emplace(io, emulator, server_options);
  } catch (const std::exception& e) {
    std::cerr << "idaas-emulator: " << e.what() << "\n";
    return 2;
  }
  const auto endpoint = server->local_endpoint();
  std::cout << idsync::emulator::FormatEndpoint(endpoint) << std::endl;
  if (!IsLoopback(endpoint)) {
    logger->warn(
        "listening on a non-loopback address: the /_emulator/ admin API has "
        "no authentication");
  }
  logger->info("idaas-emulator {} on {} instance={} ({})",
               server_options.tls_cert_file.empty() ? "http" : "https",
               idsync::emulator::FormatEndpoint(endpoint), options.instance_id,
               state_file.empty() ? "in-memory state" : state_file);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server->Stop();
    io.stop();
  });
  server->Start();
  io.run();

  if (!state_file.empty()) {
    if (!SaveState(state_file, emulator.DumpState())) {
      logger->error("cannot save state to {}", state_file);
      return 1;
    }
    logger->info("state saved to {}", state_file);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "idaas-emulator: " << e.what() << "\n";
    return 1;
  }
}
