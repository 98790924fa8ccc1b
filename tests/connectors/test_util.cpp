#include "test_util.h"

#include <algorithm>
#include <filesystem>

namespace idsync::testing {

const char* const kCommonSections = R"(idaas:
  endpoint: http://127.0.0.1:18080
  instance_id: idaas_emulator
  application_id: app_emulator
  client_id: app_emulator
  client_secret: env:IDSYNC_CLIENT_SECRET
target: {root_ou: ou_root}
store: {path: ./state.db}
)";

config::Config LoadConfig(const TempDir& dir, const std::string& yaml, config::Diagnostics* diags) {
  std::string path = dir.Write("idsync.yaml", std::string(kCommonSections) + yaml);
  config::LoadOptions lo;
  lo.resolve_secrets = false;
  return config::Load(path, diags, lo);
}

std::vector<std::string> Validate(const config::Config& cfg) {
  config::Diagnostics d;
  connectors::ValidateConfig(cfg, &d);
  std::vector<std::string> out;
  for (const auto& p : d.Sorted()) {
    out.push_back(std::to_string(p.location.line) + ":" + std::to_string(p.location.column) + " " +
                  p.key_path + ": " + p.message);
  }
  return out;
}

sync::SourceSnapshot MustRead(const TempDir& dir, const std::string& yaml) {
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, yaml, &d);
  for (const auto& p : d.Sorted()) ADD_FAILURE() << "config: " << p.ToString();
  auto problems = Validate(cfg);
  for (const auto& p : problems) ADD_FAILURE() << "validate: " << p;
  auto r = connectors::ReadSnapshot(cfg);
  if (!r) {
    ADD_FAILURE() << "read failed: " << r.error().message;
    return {};
  }
  return std::move(r.value());
}

std::optional<sync::DesiredUser> FindUser(const sync::SourceSnapshot& s, const std::string& key) {
  for (size_t i = 0; i < s.users.size(); ++i) {
    if (s.users.key(i) == key) return s.users.Get(i);
  }
  return std::nullopt;
}
const sync::DesiredOu* FindOu(const sync::SourceSnapshot& s, const std::string& key) {
  for (const auto& o : s.ous) {
    if (o.key == key) return &o;
  }
  return nullptr;
}
const sync::DesiredGroup* FindGroup(const sync::SourceSnapshot& s, const std::string& key) {
  for (const auto& g : s.groups) {
    if (g.key == key) return &g;
  }
  return nullptr;
}

std::vector<std::string> SnapshotLines(const sync::SourceSnapshot& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.users.size(); ++i) {
    const sync::DesiredUser u = s.users.Get(i);
    std::string line = "user " + u.key + " username=" + u.username + " display_name=" + u.display_name +
                       " email=" + u.email + " phone=" + u.phone_region + "/" + u.phone_number +
                       " description=" + u.description + " ou=" + u.primary_ou_key.str() + " extra_ous=";
    for (const auto& o : u.extra_ou_keys) line += o + ";";
    line += std::string(" enabled=") + (u.enabled ? "1" : "0");
    for (const auto& [k, v] : u.custom_fields) line += " " + k + "=" + v;
    out.push_back(line);
  }
  for (const auto& o : s.ous) {
    out.push_back("ou " + o.key + " name=" + o.name + " parent=" + o.parent_key + " description=" + o.description);
  }
  for (const auto& g : s.groups) {
    std::string line = "group " + g.key + " name=" + g.name + " description=" + g.description + " members=";
    for (std::string_view m : g.member_keys) (line += m) += ";";
    out.push_back(line);
  }
  for (const auto& d : s.rejected) out.push_back("rejected " + d.key + " " + d.field + ": " + d.reason);
  std::sort(out.begin(), out.end());
  out.push_back("records_read " + std::to_string(s.records_read));
  for (auto f : s.mapped_fields) out.push_back(std::string("mapped ") + sync::UserFieldName(f));
  return out;
}

const std::string& TestCertDir() {
  static const std::string dir = IDSYNC_TEST_PKI_DIR;
  return dir;
}

namespace {

// "file-basename[#fragment]:line" of a rejection.
std::string ShortOrigin(const sync::Diagnostic& d) {
  std::string file = d.origin.file, frag;
  size_t hash = file.find('#');
  if (hash != std::string::npos) {
    frag = file.substr(hash);
    file.resize(hash);
  }
  return std::filesystem::path(file).filename().string() + frag + ":" + std::to_string(d.origin.line);
}

}  // namespace

std::vector<std::string> Rejections(const sync::SourceSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& d : s.rejected) out.push_back(ShortOrigin(d) + " " + d.field + ": " + d.reason);
  return out;
}

std::vector<std::string> RejectedKeys(const sync::SourceSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& d : s.rejected) {
    out.push_back(ShortOrigin(d) + " " + sync::EntityTypeName(d.entity) + " '" + d.key + "'");
  }
  return out;
}

}  // namespace idsync::testing
