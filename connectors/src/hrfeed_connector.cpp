#include "connector.h"
namespace idsync::connectors {
namespace {
class HrFeedConnector : public Connector {
 public:
  std::vector<std::string> OuModes() const override { return {"path", "id_parent"}; }
  std::vector<std::string> GroupModes() const override { return {"column"}; }
  void Configure(config::MapReader& r, SourceOptions* o) override { path_ = ReadPath(r, "path", true, *o); }
  std::optional<ReadError> Read(SnapshotBuilder*) override { return ReadError{"not implemented"}; }
  std::string Describe() const override { return "hrfeed:" + path_; }
 private:
  std::string path_;
};
}  // namespace
std::unique_ptr<Connector> MakeHrFeedConnector() { return std::make_unique<HrFeedConnector>(); }
FeedPage ParseFeed(std::string_view, const std::string&, const FeedParseOptions&) { return {}; }
}  // namespace idsync::connectors
