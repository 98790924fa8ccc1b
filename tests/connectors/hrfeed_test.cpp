#include <gtest/gtest.h>
#include <stdlib.h>

#include "feed_server.h"
#include "idsync/connectors/parsers.h"
#include "test_util.h"

namespace idsync::testing {
namespace {

std::string Person(int id, const std::string& dept, const std::string& extra = "") {
  return "{\"id\": \"E" + std::to_string(id) + "\", \"work\": {\"email\": \"user" + std::to_string(id) +
         "@example.com\", \"department\": \"" + dept + "\"}, \"groups\": [{\"name\": \"all\"}]" + extra + "}";
}

const char* const kFeedMapping = R"(mapping:
  username: "{work.email | local_part}"
  email: "{work.email}"
)";

TEST(FeedParser, FlattensObjectsAndArrays) {
  connectors::FeedParseOptions o;
  o.records_pointer = "/data";
  o.next_pointer = "/links/next";
  auto page = connectors::ParseFeed(
      R"({"data": [{"a": {"b": "x", "n": 3, "t": true, "z": null}, "tags": ["p", "q"], "g": [{"k": 1}, {"k": 2}]}, 5],
          "links": {"next": "/p2"}})",
      "feed", o);
  ASSERT_EQ(page.error, "");
  ASSERT_EQ(page.records.size(), 2u);
  using A = std::vector<std::pair<std::string, std::vector<std::string>>>;
  EXPECT_EQ(page.records[0].attributes,
            (A{{"a.b", {"x"}}, {"a.n", {"3"}}, {"a.t", {"true"}}, {"tags", {"p", "q"}}, {"g.k", {"1", "2"}}}));
  EXPECT_EQ(page.records[0].origin, "feed#/data/0");
  EXPECT_EQ(page.records[1].error, "record is not a JSON object");
  EXPECT_EQ(page.next_link, "/p2");
  EXPECT_EQ(connectors::ParseFeed("{\"data\": 1}", "f", o).error,
            "the value at the records pointer '/data' is not an array");
  EXPECT_EQ(connectors::ParseFeed("{\"x\": []}", "f", o).error, "no value at the records pointer '/data'");
  EXPECT_NE(connectors::ParseFeed("{\"data\": [", "f", o).error.find("not valid JSON"), std::string::npos);
}

TEST(HrFeed, JsonFileWithPathDepartmentsAndGroupArrays) {
  TempDir dir;
  dir.Write("feed.json", "{\"data\": [" + Person(1, "Eng/Platform") + "," + Person(2, "Eng") + "," +
                             "{\"id\": \"E3\", \"work\": {\"department\": \"Eng\"}}," + "\"junk\"" + "]}");
  auto s = MustRead(dir, std::string(R"(source:
  type: hrfeed
  path: feed.json
  hrfeed: {records: /data}
  users: {key: id}
  ous: {from: path, column: work.department}
  groups: {from: column, column: groups.name}
)") + kFeedMapping);
  EXPECT_EQ(s.records_read, 4);
  ASSERT_EQ(s.users.size(), 2u);
  EXPECT_EQ(FindUser(s, "E1")->primary_ou_key, "Eng/Platform");
  EXPECT_EQ(FindUser(s, "E1")->username, "user1");
  EXPECT_EQ(FindUser(s, "E1")->origin.ToString(), dir.path() + "/feed.json#/data/0");
  EXPECT_EQ(FindGroup(s, "all")->member_keys, (std::vector<std::string>{"E1", "E2"}));
  EXPECT_EQ(Rejections(s), (std::vector<std::string>{"feed.json#/data/2:0 username: missing username",
                                                     "feed.json#/data/3:0 : record is not a JSON object"}));
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{"feed.json#/data/2:0 user 'E3'",
                                                       "feed.json#/data/3:0 user ''"}));
}

TEST(FeedParser, ARejectedRecordKeepsWhatCouldBeRead) {
  connectors::FeedParseOptions o;
  o.max_value_bytes = 8;
  auto page = connectors::ParseFeed(R"([{"id": 7, "bio": "far too long", "tags": ["a", "also too long"], "x": 1}])",
                                    "f", o);
  ASSERT_EQ(page.records.size(), 1u);
  const auto& r = page.records[0];
  EXPECT_EQ(r.error, "value of 'bio' is longer than 8 bytes");
  using A = std::vector<std::pair<std::string, std::vector<std::string>>>;
  EXPECT_EQ(r.attributes, (A{{"id", {"7"}}, {"tags", {"a"}}, {"x", {"1"}}}));
  EXPECT_FALSE(r.AttributeUnreadable("id"));
  EXPECT_TRUE(r.AttributeUnreadable("tags"));  // one value is missing
  EXPECT_TRUE(r.AttributeUnreadable("bio"));
}

TEST(HrFeed, RejectedRecordsKeepTheirKey) {
  TempDir dir;
  const std::string deep = std::string(40, '[') + "1" + std::string(40, ']');
  dir.Write("feed.json",
            "[{\"id\": \"E1\", \"email\": \"a@example.com\", \"bio\": \"" + std::string(100, 'x') + "\"},"
            "{\"id\": 42, \"email\": \"b@example.com\", \"deep\": " + deep + "},"
            "{\"id\": \"" + std::string(100, '9') + "\", \"email\": \"c@example.com\"},"
            "{\"id\": [\"E4\", \"" + std::string(100, 'x') + "\"], \"email\": \"d@example.com\"},"
            "{\"id\": {\"n\": \"" + std::string(100, 'x') + "\"}, \"email\": \"e@example.com\"},"
            "{\"id\": \"E6\", \"email\": \"not an email\"},"
            "[\"E7\"],"
            "{\"id\": \"E8\", \"email\": \"h@example.com\"}]");
  auto s = MustRead(dir, R"(source:
  type: hrfeed
  path: feed.json
  max_field_bytes: 64
  users: {key: id}
mapping:
  username: "{email | local_part}"
  email: "{email}"
  primary_ou: "@root"
)");
  ASSERT_EQ(s.users.size(), 1u);
  EXPECT_EQ(RejectedKeys(s), (std::vector<std::string>{
                                 "feed.json#/0:0 user 'E1'",  // another field is too long
                                 "feed.json#/1:0 user '42'",  // another field nests too deep; a number key
                                 "feed.json#/2:0 user ''",    // the key is the bad field
                                 "feed.json#/3:0 user ''",    // one of the key's values is
                                 "feed.json#/4:0 user ''",    // a member of the key is
                                 "feed.json#/5:0 user 'E6'",  // mapping: invalid email
                                 "feed.json#/6:0 user ''",    // not an object
                             }));
  EXPECT_EQ(Rejections(s)[1], "feed.json#/1:0 : nested deeper than 32 levels");
}

TEST(HrFeed, JsonLinesFileReportsBadLines) {
  TempDir dir;
  dir.Write("feed.jsonl", Person(1, "Eng") + "\n\n{bad json\n" + Person(2, "Eng") + "\r\n");
  auto s = MustRead(dir, std::string(R"(source:
  type: hrfeed
  path: feed.jsonl
  users: {key: id}
  ous: {from: path, column: work.department}
)") + kFeedMapping);
  ASSERT_EQ(s.users.size(), 2u);
  EXPECT_EQ(FindUser(s, "E2")->origin.line, 4);
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].origin.line, 3);
  EXPECT_EQ(s.rejected[0].key, "");  // not JSON: nothing of it is certain
  EXPECT_EQ(s.rejected[0].entity, sync::EntityType::kUser);
  EXPECT_EQ(s.rejected[0].reason.rfind("not valid JSON", 0), 0u) << s.rejected[0].reason;
}

std::string HttpsConfig(const std::string& url, const std::string& hrfeed_extra) {
  return "source:\n  type: hrfeed\n  url: " + url + "\n  hrfeed:\n    records: /data\n    ca_file: " +
         TestCertDir() + "/ca.pem\n" + hrfeed_extra +
         "  users: {key: id}\n  ous: {from: path, column: work.department}\n" + kFeedMapping;
}

TEST(HrFeedHttps, NextLinkPaginationWithBearerAuth) {
  ::setenv("IDSYNC_TEST_FEED_TOKEN", "s3cret-token", 1);
  FeedServer server(TestCertDir(), [](const FeedRequest& r) -> FeedResponse {
    if (r.target == "/people") return {200, "{\"data\": [" + Person(1, "Eng") + "], \"links\": {\"next\": \"/people?after=1\"}}"};
    if (r.target == "/people?after=1") return {200, "{\"data\": [" + Person(2, "Eng") + "], \"links\": {\"next\": \"/people?after=2\"}}"};
    if (r.target == "/people?after=2") return {200, "{\"data\": [" + Person(3, "Ops") + "], \"links\": {\"next\": null}}"};
    return {404, "{}"};
  });
  TempDir dir;
  auto s = MustRead(dir, HttpsConfig(server.Url("/people"),
                                     "    auth: {type: bearer, token: env:IDSYNC_TEST_FEED_TOKEN}\n"
                                     "    pagination: {type: next_link, next: /links/next}\n"));
  EXPECT_EQ(s.users.size(), 3u);
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (const auto& r : reqs) EXPECT_EQ(r.authorization, "Bearer s3cret-token");
  EXPECT_EQ(FindUser(s, "E2")->origin.file, server.Url("/people?after=1") + "#/data/0");
}

TEST(HrFeedHttps, CursorPaginationWithBasicAuth) {
  TempDir dir;
  std::string pw = dir.Write("pw", "pa:ss\n", 0600);
  FeedServer server(TestCertDir(), [](const FeedRequest& r) -> FeedResponse {
    if (r.target == "/p") return {200, "{\"data\": [" + Person(1, "Eng") + "], \"meta\": {\"next\": \"c 2\"}}"};
    if (r.target == "/p?cursor=c%202") return {200, "{\"data\": [" + Person(2, "Eng") + "], \"meta\": {}}"};
    return {404, "{}"};
  });
  auto s = MustRead(dir, HttpsConfig(server.Url("/p"),
                                     "    auth: {type: basic, username: svc, password: \"file:" + pw + "\"}\n"
                                     "    pagination: {type: cursor, cursor: /meta/next}\n"));
  EXPECT_EQ(s.users.size(), 2u);
  auto reqs = server.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].target, "/p?cursor=c%202");
  EXPECT_EQ(reqs[0].authorization, "Basic c3ZjOnBhOnNz");  // svc:pa:ss
}

TEST(HrFeedHttps, PageNumberPaginationStopsOnEmptyPage) {
  FeedServer server(TestCertDir(), [](const FeedRequest& r) -> FeedResponse {
    if (r.target == "/q?page=1&per_page=2") return {200, "{\"data\": [" + Person(1, "Eng") + "," + Person(2, "Eng") + "]}"};
    if (r.target == "/q?page=2&per_page=2") return {200, "{\"data\": [" + Person(3, "Eng") + "," + Person(4, "Eng") + "]}"};
    if (r.target == "/q?page=3&per_page=2") return {200, "{\"data\": []}"};
    return {404, "{}"};
  });
  TempDir dir;
  auto s = MustRead(dir, HttpsConfig(server.Url("/q"),
                                     "    pagination: {type: page, param: page, start: 1, size_param: per_page, size: 2}\n"));
  EXPECT_EQ(s.users.size(), 4u);
  EXPECT_EQ(server.Requests().size(), 3u);
}

TEST(HrFeedHttps, PageNumberWithTotalPages) {
  FeedServer server(TestCertDir(), [](const FeedRequest& r) -> FeedResponse {
    if (r.target == "/q?p=0") return {200, "{\"data\": [" + Person(1, "Eng") + "], \"total\": 2}"};
    if (r.target == "/q?p=1") return {200, "{\"data\": [" + Person(2, "Eng") + "], \"total\": 2}"};
    return {500, "{}"};
  });
  TempDir dir;
  auto s = MustRead(dir, HttpsConfig(server.Url("/q"),
                                     "    pagination: {type: page, param: p, start: 0, total_pages: /total}\n"));
  EXPECT_EQ(s.users.size(), 2u);
  EXPECT_EQ(server.Requests().size(), 2u);
}

TEST(HrFeedHttps, AFailedPageFailsTheWholeRead) {
  FeedServer server(TestCertDir(), [](const FeedRequest& r) -> FeedResponse {
    if (r.target == "/f") return {200, "{\"data\": [" + Person(1, "Eng") + "], \"next\": \"/f2\"}"};
    return {503, "{\"error\": \"busy\"}"};
  });
  TempDir dir;
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, HttpsConfig(server.Url("/f"), "    pagination: {type: next_link, next: /next}\n"), &d);
  ASSERT_TRUE(d.empty());
  auto r = connectors::ReadSnapshot(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "GET " + server.Url("/f2") + ": HTTP 503 ({\"error\": \"busy\"})");
}

TEST(HrFeedHttps, UntrustedServerFailsTheHandshake) {
  FeedServer server(TestCertDir(), [](const FeedRequest&) -> FeedResponse { return {200, "{\"data\": []}"}; });
  TempDir dir;
  config::Diagnostics d;
  std::string yaml = "source:\n  type: hrfeed\n  url: " + server.Url("/x") +
                     "\n  hrfeed: {records: /data}\n  users: {key: id}\n  ous: {from: path, column: d}\n" + kFeedMapping;
  auto cfg = LoadConfig(dir, yaml, &d);
  auto r = connectors::ReadSnapshot(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("TLS handshake with localhost"), std::string::npos) << r.error().message;
  EXPECT_TRUE(server.Requests().empty());
}

// A name that merely starts with "127." is a DNS name anyone can point
// anywhere: plain http to it is refused like to any other remote host.
TEST(HrFeedConfig, PlainHttpOnlyToARealLoopbackAddress) {
  for (const char* host : {"127.example.com", "127.0.0.1.nip.io", "localhost.", "[::1]",
                           "127.0.0.1", "LOCALHOST"}) {
    TempDir dir;
    config::Diagnostics d;
    std::string yaml = std::string("source:\n  type: hrfeed\n  url: http://") + host +
                       ":8080/feed\n  hrfeed: {records: /data}\n  users: {key: id}\n"
                       "  ous: {from: path, column: d}\n" + kFeedMapping;
    auto cfg = LoadConfig(dir, yaml, &d);
    std::vector<std::string> p;
    for (const auto& problem : d.Sorted()) p.push_back(problem.ToString());
    if (p.empty()) p = Validate(cfg);
    // Refused as remote, or (Boost.URL reads "127.0.0.1.nip.io" as host
    // 127.0.0.1 plus a path) as not a URL.
    bool refused = false;
    for (const auto& problem : p) {
      refused |= problem.find("plain http is allowed only to loopback") != std::string::npos ||
                 problem.find("source.url: is not a valid URL") != std::string::npos;
    }
    bool loopback = std::string(host) == "[::1]" || std::string(host) == "127.0.0.1" ||
                    std::string(host) == "LOCALHOST";
    EXPECT_EQ(refused, !loopback) << host << ": " << (p.empty() ? "" : p[0]);
    if (loopback) {
      EXPECT_TRUE(p.empty()) << host << ": " << p[0];
    }
  }
}

TEST(HrFeedConfig, ValidationProblems) {
  TempDir dir;
  config::Diagnostics d;
  auto cfg = LoadConfig(dir, std::string(R"(source:
  type: hrfeed
  url: http://hr.example.com/feed
  hrfeed:
    records: data
    auth: {type: bearer}
    pagination: {type: pages}
  users: {key: id}
  ous: {from: path, column: d}
)") + kFeedMapping, &d);
  ASSERT_TRUE(d.empty());
  auto p = Validate(cfg);
  EXPECT_EQ(p, (std::vector<std::string>{
                   "11:8 source.url: plain http is allowed only to loopback addresses; use https",
                   "13:14 source.hrfeed.records: must be a JSON pointer starting with '/' (or empty for the whole document)",
                   "14:11 source.hrfeed.auth.token: required key is missing",
                   "15:24 source.hrfeed.pagination.type: must be one of none, next_link, cursor, page, got 'pages' (did you mean 'page'?)",
               }));
}

}  // namespace
}  // namespace idsync::testing
