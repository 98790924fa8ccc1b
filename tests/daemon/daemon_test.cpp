// The daemon's parts on their own: the cycle schedule, the Prometheus
// exposition, the admin endpoint's transport rules over a real socket, and
// the source watcher's "writer is done" rule on real files.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "admin_server.h"
#include "http_client.h"
#include "process.h"
#include "source_watcher.h"
#include "status.h"

namespace idsync::daemon {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ---- schedule -------------------------------------------------------------

TEST(NextCycleWait, IntervalSpreadByJitter) {
  EXPECT_EQ(NextCycleWait(10min, 10, 0, 1h, 0.5), 10min);
  EXPECT_EQ(NextCycleWait(10min, 10, 0, 1h, 0.0), 9min);
  EXPECT_EQ(NextCycleWait(10min, 0, 0, 1h, 0.0), 10min);
  auto high = NextCycleWait(10min, 10, 0, 1h, 0.999999);
  EXPECT_GT(high, 10min);
  EXPECT_LE(high, 11min);
}

TEST(NextCycleWait, FailuresDoubleTheWaitUpToTheCap) {
  EXPECT_EQ(NextCycleWait(10min, 0, 1, 1h, 0.5), 20min);
  EXPECT_EQ(NextCycleWait(10min, 0, 2, 1h, 0.5), 40min);
  EXPECT_EQ(NextCycleWait(10min, 0, 3, 1h, 0.5), 1h);
  EXPECT_EQ(NextCycleWait(10min, 0, 1000, 1h, 0.5), 1h);  // no overflow
  // A cap below the interval never shortens the wait.
  EXPECT_EQ(NextCycleWait(2h, 0, 3, 1h, 0.5), 2h);
  EXPECT_EQ(NextCycleWait(1ms, 0, 0, 1h, 0.5), 100ms);
}

// ---- metrics ---------------------------------------------------------------

DaemonStatus SampleStatus() {
  DaemonStatus s;
  s.version = "1.2.3";
  s.ready = true;
  s.state = "idle";
  s.cycles_by_outcome["ok"] = 3;
  s.cycles_by_outcome["blocked"] = 1;
  s.operations[{"user.create", "done"}] = 10;
  s.operations[{"user.patch", "failed"}] = 1;
  s.triggers["interval"] = 2;
  s.guards.push_back({"max_deletes.user", true, 12, 5, "12 of at most 5"});
  s.source_read = true;
  s.source_users = 40;
  s.journal["done"] = 11;
  s.has_last_cycle = true;
  s.last_cycle.started_ms = 1'700'000'000'000;
  s.last_cycle.finished_ms = 1'700'000'001'500;
  s.last_cycle.planned["user.create"] = 10;
  s.last_success_ms = 1'700'000'001'500;
  return s;
}

idaas::ClientStats SampleApi() {
  idaas::ClientStats api;
  auto& a = api.actions["CreateUser"];
  a.status_2xx = 9;
  a.status_4xx = 1;
  a.calls = 10;
  a.latency_buckets[2] = 4;  // <= 5 ms
  a.latency_buckets[5] = 6;  // <= 50 ms
  a.latency_sum_ms = 250;
  api.actions["Weird\"Action\n"].no_response = 1;
  api.throttled = 7;
  api.retries = 8;
  api.server_wait_over_cap = 2;
  api.token_clock_skew_s = -3600;
  return api;
}

TEST(Metrics, EveryLineIsValidExpositionAndEveryFamilyIsDeclared) {
  std::string text = RenderMetrics(SampleStatus(), SampleApi());
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+]+|\+Inf|-Inf|NaN)$)");
  std::set<std::string> declared;
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      declared.insert(name);
      continue;
    }
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, kSample)) << "not exposition format: " << line;
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family.ends_with(suffix) && !declared.count(family)) {
        family = family.substr(0, family.size() - std::strlen(suffix));
      }
    }
    EXPECT_TRUE(declared.count(family)) << "sample before its # TYPE: " << line;
    ++samples;
  }
  EXPECT_GT(samples, 30);
}

TEST(Metrics, ValuesFollowTheStatus) {
  std::string text = RenderMetrics(SampleStatus(), SampleApi());
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("idsync_build_info{version=\"1.2.3\"} 1")) << text;
  EXPECT_TRUE(has("idsync_cycles_total{outcome=\"ok\"} 3"));
  EXPECT_TRUE(has("idsync_cycles_total{outcome=\"error\"} 0"));  // present before it happens
  EXPECT_TRUE(has("idsync_operations_total{kind=\"user.patch\",result=\"failed\"} 1"));
  EXPECT_TRUE(has("idsync_guard_tripped{guard=\"max_deletes.user\"} 1"));
  EXPECT_TRUE(has("idsync_guard_tripped{guard=\"empty_source\"} 0"));
  EXPECT_TRUE(has("idsync_last_cycle_duration_seconds 1.5"));
  EXPECT_TRUE(has("idsync_last_success_timestamp_seconds 1700000001.5"));
  EXPECT_TRUE(has("idsync_api_requests_total{action=\"CreateUser\",class=\"4xx\"} 1"));
  EXPECT_TRUE(has("idsync_api_throttled_total 7"));
  EXPECT_TRUE(has("idsync_api_throttle_wait_over_cap_total 2"));
  EXPECT_TRUE(has("idsync_api_token_clock_skew_seconds -3600"));  // a clock an hour off
  // Histogram buckets are cumulative and end with +Inf == count.
  EXPECT_TRUE(has("idsync_api_request_duration_seconds_bucket{action=\"CreateUser\",le=\"0.005\"} 4"));
  EXPECT_TRUE(has("idsync_api_request_duration_seconds_bucket{action=\"CreateUser\",le=\"0.05\"} 10"));
  EXPECT_TRUE(has("idsync_api_request_duration_seconds_bucket{action=\"CreateUser\",le=\"+Inf\"} 10"));
  EXPECT_TRUE(has("idsync_api_request_duration_seconds_count{action=\"CreateUser\"} 10"));
  EXPECT_TRUE(has("idsync_api_request_duration_seconds_sum{action=\"CreateUser\"} 0.25"));
  // Label values are escaped.
  EXPECT_NE(text.find("action=\"Weird\\\"Action\\n\""), std::string::npos);
}

TEST(Metrics, AccumulatedStatsSurviveAReplacedClient) {
  idaas::ClientStats total;
  AccumulateStats(&total, SampleApi());
  AccumulateStats(&total, SampleApi());
  EXPECT_EQ(total.actions["CreateUser"].latency_buckets[5], 12u);
  EXPECT_EQ(total.throttled, 14u);
}

// ---- admin endpoint ---------------------------------------------------------

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = AdminServer::Start(
        io_.get_executor(), "127.0.0.1:0", "tok",
        [this](const AdminRequest& r) {
          ++handled_;
          AdminResponse a;
          a.body = r.method + " " + r.path + " ?" + r.query +
                   (r.authenticated ? " (authenticated)" : "");
          return a;
        },
        &error);
    ASSERT_NE(server_, nullptr) << error;
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->Stop(); });
    io_.stop();
    thread_.join();
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Sends raw bytes on a new connection and returns what comes back until
  // the server closes it (or 5 s pass).
  std::string Raw(const std::string& bytes) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port_});
    // The server may answer and stop reading before all of an oversized
    // request is written: the reply is what counts, not the write.
    boost::system::error_code write_error;
    asio::write(s, asio::buffer(bytes), write_error);
    timeval tv{5, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  asio::io_context io_;
  std::unique_ptr<AdminServer> server_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<int> handled_{0};
};

TEST_F(AdminServerTest, ProbesAreOpenEverythingElseNeedsTheToken) {
  emulator_test::HttpClient http(Address());
  auto probe = http.Send("GET", "/healthz");
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->status, 200);
  EXPECT_EQ(probe->body, "GET /healthz ?");
  auto refused = http.Send("POST", "/v1/sync?allow_deletes=3");
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(refused->Header("www-authenticate"), "Bearer realm=\"idsync\"");
  auto allowed = http.Send("POST", "/v1/sync?allow_deletes=3", "", {{"authorization", "Bearer tok"}});
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->body, "POST /v1/sync ?allow_deletes=3 (authenticated)");
  EXPECT_EQ(allowed->Header("cache-control"), "no-store");
  EXPECT_EQ(handled_, 2);
  EXPECT_EQ(http.connections_opened(), 1);  // kept alive throughout
}

// A web page can make the operator's browser POST to the endpoint (a form),
// and through DNS rebinding address it under the attacker's name: requests
// that change state with an Origin header, or with a Host that is not this
// endpoint, never reach the handler, token or not.
TEST_F(AdminServerTest, BrowserAndRebindingRequestsAreRefused) {
  emulator_test::HttpClient http(Address());
  std::string port = std::to_string(port_);
  std::map<std::string, std::string> auth = {{"authorization", "Bearer tok"}};
  auto with = [&](std::map<std::string, std::string> more) {
    more.insert(auth.begin(), auth.end());
    return more;
  };
  for (const char* origin : {"http://evil.example", "null", "http://127.0.0.1"}) {
    auto r = http.Send("POST", "/v1/sync", "", with({{"origin", origin}}));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 403) << origin;
    EXPECT_NE(r->body.find("Origin"), std::string::npos) << r->body;
  }
  for (const std::string& host :
       std::vector<std::string>{"evil.example:" + port, "127.0.0.1.nip.io:" + port,
                                "127.0.0.1:1", "127.0.0.1", "localhost.:" + port, ""}) {
    auto r = http.Send("POST", "/v1/sync", "", with({{"host", host}}));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 403) << host;
    EXPECT_NE(r->body.find("Host"), std::string::npos) << r->body;
    EXPECT_EQ(http.Send("GET", "/v1/status", "", with({{"host", host}}))->status, 403) << host;
  }
  EXPECT_EQ(handled_, 0);
  // Every name of a loopback listen address is accepted, in any case.
  for (const std::string& host : std::vector<std::string>{
           "127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port}) {
    EXPECT_EQ(http.Send("POST", "/v1/sync", "", with({{"host", host}}))->status, 200) << host;
  }
  EXPECT_EQ(handled_, 4);
  // Probes and scrapers may use any name; GET changes nothing, and a GET
  // with an Origin (a page's fetch) cannot read the answer without CORS.
  EXPECT_EQ(http.Send("GET", "/healthz", "", {{"host", "idsync.svc:80"}})->status, 200);
  EXPECT_EQ(http.Send("GET", "/readyz", "", {{"host", "x"}, {"origin", "http://a"}})->status, 200);
  EXPECT_EQ(http.Send("GET", "/metrics", "", with({{"host", "prometheus-target:9"}}))->status,
            200);
  EXPECT_EQ(http.Send("GET", "/metrics", "", {{"host", "prometheus-target:9"}})->status, 401);
}

TEST_F(AdminServerTest, OversizedRequestsAreRefusedWithoutReachingTheHandler) {
  std::string big_header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                           std::string(20000, 'a') + "\r\n\r\n";
  std::string reply = Raw(big_header);
  EXPECT_NE(reply.find("413"), std::string::npos) << reply.substr(0, 200);
  std::string big_body = "POST /v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                         std::string(100000, 'b');
  reply = Raw(big_body);
  EXPECT_NE(reply.find("413"), std::string::npos) << reply.substr(0, 200);
  EXPECT_EQ(handled_, 0);
  // Garbage gets the connection closed, and the server keeps serving.
  Raw("\x16\x03\x01 not http\r\n\r\n");
  emulator_test::HttpClient http(Address());
  EXPECT_EQ(http.Send("GET", "/healthz")->status, 200);
}

TEST_F(AdminServerTest, ABusyPortIsAClearError) {
  std::string error;
  asio::io_context io;
  auto second = AdminServer::Start(io.get_executor(), Address(), "", {}, &error);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(error.find("cannot listen on " + Address()), std::string::npos) << error;
  second = AdminServer::Start(io.get_executor(), "example.com:80", "", {}, &error);
  EXPECT_EQ(second, nullptr);
  EXPECT_NE(error.find("not an IP address"), std::string::npos) << error;
}

// ---- source watcher ---------------------------------------------------------

class SourceWatcherTest : public ::testing::Test {
 protected:
  void Start(milliseconds debounce) {
    std::string error;
    watcher_ = SourceWatcher::Start(io_.get_executor(), path_, debounce,
                                    [this] { changes_.push_back(std::chrono::steady_clock::now()); },
                                    &error);
    ASSERT_NE(watcher_, nullptr) << error;
  }
  // Runs the watcher's io_context for `d`.
  void RunFor(milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }
  // Runs until `n` changes were reported or 5 s pass (a loaded machine may
  // be slow; only the positive outcome ends the wait early).
  void RunUntilChanges(size_t n) {
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         changes_.size() < n && std::chrono::steady_clock::now() < deadline;) {
      RunFor(20ms);
    }
  }
  void Append(const std::string& text) {
    std::ofstream f(path_, std::ios::app);
    f << text;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.path() + "/people.csv";
  asio::io_context io_;
  std::unique_ptr<SourceWatcher> watcher_;
  std::vector<std::chrono::steady_clock::time_point> changes_;
};

TEST_F(SourceWatcherTest, ASlowWriterIsWaitedForAndReportedOnce) {
  Append("header\n");
  Start(1s);
  // Ten appends 100 ms apart: never quiet for 1 s until the last one.
  std::chrono::steady_clock::time_point last_write;
  for (int i = 0; i < 10; ++i) {
    Append("row " + std::to_string(i) + "\n");
    last_write = std::chrono::steady_clock::now();
    RunFor(100ms);
  }
  EXPECT_TRUE(changes_.empty()) << "reported while the writer was still writing";
  RunUntilChanges(1);
  RunFor(200ms);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_GE(changes_[0] - last_write, 1s);
}

TEST_F(SourceWatcherTest, RenameIntoPlaceIsReportedAndReadsAreNot) {
  Append("v1\n");
  Start(100ms);
  {
    std::ofstream f(path_ + ".tmp");
    f << "v2\n";
  }
  std::filesystem::rename(path_ + ".tmp", path_);
  RunUntilChanges(1);
  EXPECT_EQ(changes_.size(), 1u);
  // Reading the file, or another file in the folder changing, is not a change.
  { std::ifstream f(path_); std::string s; std::getline(f, s); }
  { std::ofstream other(dir_.path() + "/other.csv"); other << "x\n"; }
  RunFor(400ms);
  EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(SourceWatcherTest, ADeletedFileIsReportedWhenItComesBack) {
  Append("v1\n");
  Start(100ms);
  std::filesystem::remove(path_);
  RunFor(400ms);
  EXPECT_TRUE(changes_.empty());
  Append("v2\n");
  RunUntilChanges(1);
  EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(SourceWatcherTest, AMissingFolderIsAClearError) {
  std::string error;
  auto w = SourceWatcher::Start(io_.get_executor(), dir_.path() + "/nope/people.csv", 100ms,
                                [] {}, &error);
  EXPECT_EQ(w, nullptr);
  EXPECT_NE(error.find("/nope"), std::string::npos) << error;
}

}  // namespace
}  // namespace idsync::daemon
