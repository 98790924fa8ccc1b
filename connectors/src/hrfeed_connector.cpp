// type: hrfeed — a JSON document or JSON Lines, from a file or an HTTPS URL
// (bearer/basic auth, pagination by next link, cursor or page number).
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <set>

#include "connector.h"
#include "http_client.h"

namespace idsync::connectors {
namespace {

class HrFeedConnector : public Connector {
 public:
  std::vector<std::string> OuModes() const override { return {"path", "id_parent"}; }
  std::vector<std::string> GroupModes() const override { return {"column"}; }

  void Configure(config::MapReader& r, SourceOptions* o, config::Diagnostics* diags) override {
    opts_ = o;
    diags_ = diags;
    bool has_url = r.Has("url");
    path_ = ReadPath(r, "path", false, *o, true, /*data_file=*/true);
    if (has_url) url_ = r.Url("url", false);
    if (path_.empty() && url_.empty()) {
      r.Problem("path", "one of source.path or source.url is required");
    } else if (!path_.empty() && !url_.empty()) {
      r.Problem("url", "give either source.path or source.url, not both");
    }
    if (!url_.empty()) {
      auto u = boost::urls::parse_uri(url_);
      if (u && u->scheme() == "http" && !IsLoopbackHost(u->host())) {
        r.Problem("url", "plain http is allowed only to loopback addresses; use https");
      }
    }
    config::MapReader h(r.Raw("hrfeed"), "source.hrfeed", o->config_file, diags);
    ConfigureFeed(h, r);
  }

  void ConfigureFeed(config::MapReader& h, config::MapReader& r) {
    bool jsonl_ext = path_.ends_with(".jsonl") || path_.ends_with(".ndjson");
    format_ = h.Enum("format", jsonl_ext ? "jsonl" : "json", {"json", "jsonl"});
    parse_.jsonl = format_ == "jsonl";
    parse_.records_pointer = h.String("records", "");
    if (!parse_.records_pointer.empty() && parse_.records_pointer[0] != '/') {
      h.Problem("records", "must be a JSON pointer starting with '/' (or empty for the whole document)");
    }
    ca_file_ = ReadPath(h, "ca_file", false, *opts_);
    timeout_ = h.Duration("timeout", std::chrono::seconds(30), std::chrono::milliseconds(100));
    max_body_ = static_cast<size_t>(h.Int("max_body_bytes", 256LL << 20, 1024, 4LL << 30));
    {
      config::MapReader a(h.Raw("auth"), "source.hrfeed.auth", opts_->config_file, diags_);
      auth_ = a.Enum("type", "none", {"none", "bearer", "basic"});
      if (auth_ == "bearer") {
        token_ = a.SecretRef("token", true);
      } else if (auth_ == "basic") {
        username_ = a.String("username", "", true);
        password_ = a.SecretRef("password", true);
      }
      a.Finish();
    }
    {
      config::MapReader p(h.Raw("pagination"), "source.hrfeed.pagination", opts_->config_file, diags_);
      paging_ = p.Enum("type", "none", {"none", "next_link", "cursor", "page"});
      if (paging_ == "next_link") {
        parse_.next_pointer = p.String("next", "", true);
      } else if (paging_ == "cursor") {
        parse_.cursor_pointer = p.String("cursor", "", true);
        param_ = p.String("param", "cursor");
      } else if (paging_ == "page") {
        param_ = p.String("param", "page");
        start_ = p.Int("start", 1, 0, 1000000);
        size_param_ = p.String("size_param", "");
        size_ = p.Int("size", 0, 0, 1000000);
        parse_.total_pages_pointer = p.String("total_pages", "");
      }
      max_pages_ = p.Int("max_pages", 10000, 1, 10000000);
      p.Finish();
    }
    h.Finish();
    if (paging_ != "none" && url_.empty()) r.Problem("hrfeed", "pagination needs source.url");
    if (parse_.jsonl && paging_ != "none" && paging_ != "page") {
      r.Problem("hrfeed", "JSON Lines pages can only use pagination type 'page' or 'none'");
    }
  }

  std::optional<Error> Read(SnapshotBuilder* b) override {
    parse_.max_value_bytes = opts_->max_field_bytes;
    if (!path_.empty()) {
      std::string data, err;
      if (!MapFile(path_, &data, &err)) return Error::Io(err);
      FeedPage page = ParseFeed(data, path_, parse_);
      if (!page.error.empty()) return Error::Invalid(path_ + ": " + page.error);
      Emit(page, b);
      return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (auth_ == "bearer") headers.emplace_back("Authorization", "Bearer " + token_.Reveal());
    if (auth_ == "basic") {
      headers.emplace_back("Authorization", "Basic " + Base64(username_ + ":" + password_.Reveal()));
    }
    std::string next = url_;
    std::set<std::string> seen;
    int64_t page_no = start_;
    if (paging_ == "page") next = WithParams(url_, page_no, "");
    // Pages go into the builder as they arrive; a later failure discards the
    // builder (ReadSnapshot never finishes it), so nothing partial escapes.
    for (int64_t n = 0;; ++n) {
      if (n >= max_pages_) {
        return Error::Remote("GET " + url_ + ": more than " + std::to_string(max_pages_) +
                             " pages (pagination.max_pages)");
      }
      if (!seen.insert(next).second)
        return Error::Remote("GET " + next + ": pagination loop (page requested twice)");
      HttpResult res = HttpGet(next, headers, ca_file_, timeout_, max_body_);
      if (!res.error.empty()) return Error::Remote("GET " + next + ": " + res.error);
      if (res.status != 200) {
        std::string snippet = res.body.substr(0, 200);
        return Error::Remote("GET " + next + ": HTTP " + std::to_string(res.status) +
                             (snippet.empty() ? "" : " (" + snippet + ")"));
      }
      FeedPage page = ParseFeed(res.body, next, parse_);
      if (!page.error.empty()) return Error::Remote("GET " + next + ": " + page.error);
      std::string after;
      if (paging_ == "next_link" && !page.next_link.empty()) {
        auto base = boost::urls::parse_uri(next);
        auto ref = boost::urls::parse_uri_reference(page.next_link);
        if (!base || !ref)
          return Error::Remote("GET " + next + ": invalid next link '" + page.next_link + "'");
        boost::urls::url dest;
        auto rr = boost::urls::resolve(*base, *ref, dest);
        if (!rr)
          return Error::Remote("GET " + next + ": invalid next link '" + page.next_link + "'");
        after = std::string(dest.buffer());
        auto a = boost::urls::parse_uri(after);
        auto o = boost::urls::parse_uri(url_);
        if (a && o && (a->scheme() != o->scheme() || a->encoded_host_and_port() != o->encoded_host_and_port())) {
          return Error::Remote("GET " + next + ": next link points to another host (" + after +
                               "); refused");
        }
      } else if (paging_ == "cursor" && !page.next_cursor.empty()) {
        after = WithParams(url_, -1, page.next_cursor);
      } else if (paging_ == "page") {
        bool more = !page.records.empty();
        if (page.total_pages >= 0) more = page_no - start_ + 1 < page.total_pages;
        if (size_ > 0 && static_cast<int64_t>(page.records.size()) < size_) more = false;
        if (more) after = WithParams(url_, ++page_no, "");
      }
      Emit(page, b);
      if (after.empty()) break;
      next = after;
    }
    return std::nullopt;
  }

  std::string LocalFile() const override { return path_; }

  std::string Describe() const override { return "hrfeed:" + (path_.empty() ? url_ : path_); }

 private:
  std::string WithParams(const std::string& base, int64_t page, const std::string& cursor) const {
    boost::urls::url u(base);
    if (page >= 0) {
      u.params().set(param_, std::to_string(page));
      if (!size_param_.empty() && size_ > 0) u.params().set(size_param_, std::to_string(size_));
    }
    if (!cursor.empty()) u.params().set(param_, cursor);
    return std::string(u.buffer());
  }

  void Emit(const FeedPage& page, SnapshotBuilder* b) {
    const AttrTable& attrs = b->mapping().attrs();
    OwnedRecord rec(attrs.size());
    for (const auto& r : page.records) {
      sync::Origin origin{r.origin, r.line};
      rec.Clear();
      for (const auto& [name, vals] : r.attributes) {
        int slot = attrs.Find(name);
        if (slot < 0) continue;
        for (const auto& v : vals) rec.Add(slot, v);
      }
      if (!r.error.empty()) {
        b->CountRead();
        // Its key, when the values it is made of were all read.
        std::string key;
        if (!r.unreadable_all) {
          key = b->RecoverUserKey(
              rec, [&](int slot) { return !r.AttributeUnreadable(attrs.name(slot)); });
        }
        b->Reject(origin, sync::EntityType::kUser, std::move(key), "", r.error);
        continue;
      }
      b->AddUser(rec, origin);
    }
  }

  SourceOptions* opts_ = nullptr;
  config::Diagnostics* diags_ = nullptr;
  std::string path_, url_, format_, ca_file_, auth_ = "none", username_, paging_ = "none", param_,
                                                 size_param_;
  config::Secret token_, password_;
  FeedParseOptions parse_;
  std::chrono::milliseconds timeout_{30000};
  size_t max_body_ = 256u << 20;
  int64_t start_ = 1, size_ = 0, max_pages_ = 10000;
};

}  // namespace

std::unique_ptr<Connector> MakeHrFeedConnector() { return std::make_unique<HrFeedConnector>(); }

}  // namespace idsync::connectors
