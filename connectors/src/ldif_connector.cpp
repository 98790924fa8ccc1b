// type: ldif — an LDAP export. The entries go through the directory model
// shared with the ldap connector (directory.h): users by objectClass (+
// users.filter), the OU tree from DNs under ous.base, groups from
// groupOfNames/groupOfUniqueNames.
#include "connector.h"
#include "directory.h"

namespace idsync::connectors {
namespace {

class LdifConnector : public Connector {
 public:
  std::vector<std::string> OuModes() const override { return {"dn"}; }
  std::vector<std::string> GroupModes() const override { return {"entries"}; }

  void Configure(config::MapReader& r, SourceOptions* o, config::Diagnostics* diags) override {
    opts_ = o;
    path_ = ReadPath(r, "path", true, *o, true, /*data_file=*/true);
    config::MapReader lr(r.Raw("ldif"), "source.ldif", o->config_file, diags);
    dir_.Read(lr);
    lr.Finish();
  }

  std::optional<Error> Read(SnapshotBuilder* b) override {
    std::string data, err;
    if (!MapFile(path_, &data, &err)) return Error::Io(err);
    DirectoryEntries entries(*opts_, dir_, b);
    LdifOptions lo;
    lo.max_value_bytes = opts_->max_field_bytes;
    std::string fatal;
    std::optional<Error> failed;  // the first entry that fails the read
    const sync::SharedString file(path_);  // one copy for every entry's origin
    ParseLdif(
        data, lo,
        [&](const LdifEntry& e) {
          if (!failed) failed = entries.Add(e, sync::Origin{file, e.line});
        },
        &fatal);
    if (!fatal.empty()) return Error::Invalid(path_ + ": " + fatal);
    if (failed) return failed;
    entries.Finish();
    return std::nullopt;
  }

  std::string LocalFile() const override { return path_; }

  std::string Describe() const override { return "ldif:" + path_; }

 private:
  SourceOptions* opts_ = nullptr;
  std::string path_;
  DirectoryOptions dir_;
};

}  // namespace

std::unique_ptr<Connector> MakeLdifConnector() { return std::make_unique<LdifConnector>(); }

}  // namespace idsync::connectors
