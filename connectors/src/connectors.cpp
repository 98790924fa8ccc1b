// The public API: option reading shared by all connectors, the registry
// lookup, ValidateConfig and ReadSnapshot.
#include "idsync/connectors/connectors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "connector.h"

namespace idsync::connectors {

const std::vector<Registration>& Registry() {
  // One line per connector type.
  static const std::vector<Registration> registry = {
      {"csv", MakeCsvConnector},
      {"hrfeed", MakeHrFeedConnector},
      {"ldap", MakeLdapConnector},
      {"ldif", MakeLdifConnector},
  };
  return registry;
}

std::vector<std::string> RegisteredTypes() {
  std::vector<std::string> out;
  for (const auto& r : Registry()) out.emplace_back(r.type);
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadPath(config::MapReader& r, const std::string& key, bool required,
                     const SourceOptions& opts, bool must_exist, bool data_file) {
  std::string s = r.String(key, "", required);
  if (s.empty()) return s;
  std::filesystem::path p(s);
  if (p.is_relative() && !opts.config_dir.empty()) p = std::filesystem::path(opts.config_dir) / p;
  std::string full = p.lexically_normal().string();
  // Data files may be missing when the daemon starts (files_must_exist);
  // a CA file or the like may not.
  if (must_exist && (!data_file || opts.files_must_exist)) {
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) {
      r.Problem(key, "file not found: " + full);
    } else if (!S_ISREG(st.st_mode)) {
      r.Problem(key, "not a regular file: " + full);
    } else if (::access(full.c_str(), R_OK) != 0) {
      r.Problem(key, "file is not readable: " + full);
    }
  }
  return full;
}

bool MapFile(const std::string& path, std::string* storage, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *error = path + ": cannot stat: " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  storage->clear();
  storage->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < storage->size()) {
    ssize_t n = ::read(fd, storage->data() + got, storage->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = path + ": read error: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  // A file that grew while reading is read to its end; one that shrank is
  // a concurrent rewrite: fail rather than use a torn read.
  if (got < storage->size()) {
    *error = path + ": file shrank while being read (concurrent rewrite?)";
    ::close(fd);
    return false;
  }
  char extra[65536];
  while (true) {
    ssize_t n = ::read(fd, extra, sizeof extra);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    storage->append(extra, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

namespace {

std::unique_ptr<Connector> Make(const std::string& type) {
  for (const auto& r : Registry()) {
    if (type == r.type) return r.make();
  }
  return nullptr;
}

char ReadChar(config::MapReader& r, const std::string& key, char def) {
  std::string s = r.String(key, std::string(1, def));
  if (s == "\\t" || s == "tab") return '\t';
  if (s.size() != 1) {
    r.Problem(key, "must be exactly one character (got '" + s + "')");
    return def;
  }
  return s[0];
}

// Reads the common keys and the connector's own; compiles the mapping.
struct Prepared {
  SourceOptions opts;
  std::unique_ptr<Connector> connector;
  Mapping mapping;
};

bool Prepare(const config::Config& cfg, config::Diagnostics* diags, Prepared* out,
             bool files_must_exist = true) {
  size_t before = diags->size();
  const config::SourceConfig& src = cfg.source;
  std::string file = src.file.empty() ? cfg.file : src.file;
  SourceOptions& o = out->opts;
  o.files_must_exist = files_must_exist;
  o.type = src.type;
  o.config_file = file;
  o.config_dir = file.empty() ? std::string() : std::filesystem::path(file).parent_path().string();
  out->connector = Make(src.type);
  if (!out->connector) {
    if (!src.type.empty()) {
      std::string list;
      for (const auto& t : RegisteredTypes()) list += (list.empty() ? "" : ", ") + t;
      diags->Add(src.location, "source.type", "unknown source type '" + src.type + "' (one of " + list + ")");
    }
    return false;
  }
  config::MapReader r(config::SourceNode(src), "source", file, diags);
  r.Allow({"type"});
  o.max_field_bytes = static_cast<size_t>(r.Int("max_field_bytes", 65536, 64, 16 * 1024 * 1024));
  {
    config::MapReader u(r.Raw("users"), "source.users", file, diags);
    o.user_key = u.String("key");
    o.user_filter = u.String("filter");
    o.user_filter_location = u.LocationOf("filter");
    u.Finish();
  }
  auto modes_text = [](const std::vector<std::string>& m) {
    std::string s;
    for (const auto& x : m) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  {
    YAML::Node n = r.Raw("ous");
    config::MapReader u(n, "source.ous", file, diags);
    if (u.present()) {
      o.ou_from = u.String("from", "none");
      auto modes = out->connector->OuModes();
      modes.insert(modes.begin(), "none");
      if (std::find(modes.begin(), modes.end(), o.ou_from) == modes.end()) {
        u.Problem("from", "'" + o.ou_from + "' is not supported by the " + src.type +
                              " connector (one of " + modes_text(modes) + ")");
      }
      if (o.ou_from == "path") {
        o.ou_column = u.String("column", "", true);
        o.ou_separator = u.String("separator", "/");
        if (o.ou_separator.empty()) u.Problem("separator", "must not be empty");
      } else if (o.ou_from == "id_parent") {
        o.ou_file = ReadPath(u, "file", true, o, true, /*data_file=*/true);
        o.ou_id = u.String("id", o.ou_id);
        o.ou_parent = u.String("parent", o.ou_parent);
        o.ou_name = u.String("name", o.ou_name);
        o.ou_description = u.String("description");
      } else if (o.ou_from == "dn") {
        o.ou_base = u.String("base", "", true);
        if (!o.ou_base.empty()) {
          std::vector<Rdn> rdns;
          std::string err;
          if (!ParseDn(o.ou_base, &rdns, &err)) u.Problem("base", "not a valid DN: " + err);
        }
      }
      u.Finish();
    }
  }
  {
    config::MapReader u(r.Raw("groups"), "source.groups", file, diags);
    if (u.present()) {
      o.group_from = u.String("from", "none");
      auto modes = out->connector->GroupModes();
      modes.insert(modes.begin(), "none");
      if (std::find(modes.begin(), modes.end(), o.group_from) == modes.end()) {
        u.Problem("from", "'" + o.group_from + "' is not supported by the " + src.type +
                              " connector (one of " + modes_text(modes) + ")");
      }
      if (o.group_from == "column") {
        o.group_column = u.String("column", "", true);
        o.group_separator = u.String("separator", "");
      } else if (o.group_from == "entries") {
        o.group_object_classes = u.StringList("object_classes", o.group_object_classes);
      }
      u.Finish();
    }
  }
  {
    // CSV dialect: the csv connector's records and the id_parent OU file.
    config::MapReader c(r.Raw("csv"), "source.csv", file, diags);
    if (c.present() && src.type != "csv" && o.ou_from != "id_parent") {
      r.Problem("csv", "only for type csv or ous.from id_parent");
    }
    o.csv_delimiter = ReadChar(c, "delimiter", ',');
    o.csv_quote = ReadChar(c, "quote", '"');
    if (o.csv_delimiter == o.csv_quote || o.csv_delimiter == '\n' || o.csv_quote == '\n' ||
        o.csv_delimiter == '\r' || o.csv_quote == '\r') {
      c.Problem("delimiter", "delimiter and quote must differ and not be a line break");
    }
    c.Allow({"header", "columns"});  // read by the csv connector
    c.Finish();
  }
  out->connector->Configure(r, &o, diags);
  r.Finish();
  out->mapping.Compile(cfg.mapping, o, file, diags);
  return diags->size() == before;
}

}  // namespace

void ValidateConfig(const config::Config& cfg, config::Diagnostics* diags,
                    const ValidateOptions& options) {
  Prepared p;
  Prepare(cfg, diags, &p, options.files_must_exist);
}

std::vector<std::string> SourceFiles(const config::Config& cfg) {
  Prepared p;
  config::Diagnostics diags;
  if (!Prepare(cfg, &diags, &p, /*files_must_exist=*/false)) return {};
  std::vector<std::string> files;
  if (auto f = p.connector->LocalFile(); !f.empty()) files.push_back(std::move(f));
  if (p.opts.ou_from == "id_parent" && !p.opts.ou_file.empty()) files.push_back(p.opts.ou_file);
  return files;
}

base::Result<sync::SourceSnapshot> ReadSnapshot(const config::Config& cfg,
                                                const std::function<void()>& records_read) {
  try {
    Prepared p;
    config::Diagnostics diags;
    if (!Prepare(cfg, &diags, &p)) {
      std::string msg = "invalid source configuration:";
      for (const auto& prob : diags.Sorted()) msg += "\n  " + prob.ToString();
      return Error::Invalid(msg);
    }
    SnapshotBuilder builder(&p.mapping, &p.opts);
    if (p.opts.ou_from == "id_parent") {
      if (auto err = LoadIdParentOus(p.opts, &builder)) return *err;
    }
    if (auto err = p.connector->Read(&builder)) return *err;
    if (records_read) records_read();
    return builder.Finish(p.connector->Describe());
  } catch (const std::exception& e) {
    return Error::Io(std::string("source read failed: ") + e.what());
  }
}

}  // namespace idsync::connectors
