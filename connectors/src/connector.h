// The connector interface and the registry. A new source type is one class
// implementing Connector plus one line in Registry() (connectors.cpp).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "idsync/config/config.h"
#include "idsync/config/yaml_reader.h"
#include "idsync/connectors/connectors.h"
#include "idsync/connectors/parsers.h"
#include "mapping.h"

namespace idsync::connectors {

class Connector {
 public:
  virtual ~Connector() = default;
  // Which `ous.from` / `groups.from` modes this source supports.
  virtual std::vector<std::string> OuModes() const = 0;
  virtual std::vector<std::string> GroupModes() const = 0;
  // Reads the connector's own keys from `r` (a reader over `source`; the
  // common keys are already read into *opts). Problems go to r.
  virtual void Configure(config::MapReader& r, SourceOptions* opts,
                         config::Diagnostics* diags) = 0;
  // Reads the whole source into `b`. nullopt on success; an error fails the
  // whole read.
  virtual std::optional<Error> Read(SnapshotBuilder* b) = 0;
  // For SourceSnapshot::description, e.g. "csv:/data/people.csv".
  virtual std::string Describe() const = 0;
  // The local file it reads, resolved; "" when it reads over the network.
  virtual std::string LocalFile() const = 0;
};

using ConnectorFactory = std::function<std::unique_ptr<Connector>()>;

struct Registration {
  const char* type;
  ConnectorFactory make;
};
const std::vector<Registration>& Registry();

// Factories, defined beside each connector.
std::unique_ptr<Connector> MakeCsvConnector();
std::unique_ptr<Connector> MakeLdifConnector();
std::unique_ptr<Connector> MakeLdapConnector();
std::unique_ptr<Connector> MakeHrFeedConnector();

// Reads a path option, resolving a relative path against the config file's
// folder, and checks that the file exists when `must_exist`.
std::string ReadPath(config::MapReader& r, const std::string& key, bool required,
                     const SourceOptions& opts, bool must_exist = true,
                     bool data_file = false);

// ous.from: id_parent — reads the departments CSV file into b.
std::optional<Error> LoadIdParentOus(const SourceOptions& o, SnapshotBuilder* b);

// Reads a whole file into memory via mmap-or-read; error text names the file.
bool MapFile(const std::string& path, std::string* storage, std::string* error);

}  // namespace idsync::connectors
