#include "core.h"

#include <chrono>
#include <exception>

namespace idsync::emulator {
namespace json = boost::json;

namespace {

int64_t SystemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Core::Core(Options opts, Emulator::Clock clk)
    : options(std::move(opts)), initial_options(options), clock(std::move(clk)) {
  if (!clock) clock = SystemNowUs;
  rng.seed(options.seed ? *options.seed : std::random_device{}());
  state = DefaultState();
}

std::string Core::RandomAlnum(size_t length) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(length, 'a');
  for (char& c : out) c = kAlphabet[rng() % 36];
  return out;
}

std::string Core::NewId(std::string_view prefix) {
  while (true) {
    std::string id = std::string(prefix) + RandomAlnum(26);
    if (!state.users.contains(id) && !state.ous.contains(id) && !state.groups.contains(id)) {
      return id;
    }
  }
}

std::string Core::NewRequestId() {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(36, '-');
  uint64_t a = rng(), b = rng();
  for (size_t i = 0, bit = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    uint64_t& source = bit < 16 ? a : b;
    id[i] = kHex[source & 0xF];
    source >>= 4;
    ++bit;
  }
  return id;
}

State Core::DefaultState() const {
  State fresh;
  fresh.instance_id = options.instance_id;
  Client client;
  client.client_id = options.client_id;
  client.client_secret = options.client_secret;
  client.application_id = options.application_id;
  client.permissions.insert(options.permissions.begin(), options.permissions.end());
  client.scope.organizational_unit_ids = {std::string(kDefaultRootOuId)};
  fresh.clients.push_back(std::move(client));
  Ou root;
  root.id = kDefaultRootOuId;
  root.name = "Root";
  root.source_type = kSourceBuildIn;
  root.source_id = fresh.instance_id;
  root.external_id = root.id;
  root.create_time = root.update_time = clock() / 1000;
  fresh.ou_by_external_id[ExternalKey(root.source_type, root.source_id, root.external_id)] =
      root.id;
  fresh.ous.emplace(root.id, std::move(root));
  return fresh;
}

std::optional<std::string> Core::LoadState(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return "state is not valid JSON: " + ec.message();
  State loaded;
  try {
    loaded = StateFromJson(value);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  if (options.instance_id_set) loaded.instance_id = options.instance_id;
  if (loaded.clients.empty()) {
    loaded.clients.push_back(DefaultState().clients.front());
  } else {
    Client& first = loaded.clients.front();
    if (options.client_id_set) first.client_id = options.client_id;
    if (options.client_secret_set) first.client_secret = options.client_secret;
    if (options.application_id_set) first.application_id = options.application_id;
    if (options.permissions_set) {
      first.permissions = {options.permissions.begin(), options.permissions.end()};
    }
  }
  state = std::move(loaded);
  tokens.ClearLive();
  rate_limiter.Clear();
  return std::nullopt;
}

void Core::Reset() {
  options = initial_options;
  state = DefaultState();
  tokens.Clear();
  rate_limiter.Clear();
  log.Clear();
}

}  // namespace idsync::emulator
