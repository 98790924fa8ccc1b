// The implementation of helpers.h: the emulator child process, the scripted
// server, the log capture and the request builders of the client tests.
#include "helpers.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include "process.h"

namespace idsync::idaas::testing {

HttpReply SendRaw(const std::string& host, const std::string& port,
                  const http::request<http::string_body>& req) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(host, port));
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  HttpReply out;
  out.status = res.result_int();
  out.body = res.body();
  boost::system::error_code ec;
  out.json = json::parse(out.body, ec);
  return out;
}

HttpReply PlainRequest(const std::string& host, const std::string& port, http::verb method,
                       const std::string& target, const std::string& body) {
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, host + ":" + port);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  return SendRaw(host, port, req);
}

// ------------------------------------------------------------- Emulator --

Emulator::Emulator(std::vector<std::string> extra, bool tls) : tls_(tls) {
  std::vector<std::string> argv = {IDAAS_EMULATOR_BIN, "--listen",
                                   "127.0.0.1:0", "--seed", "7"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<idsync::testing::Process>(argv);
  auto line = process_->ReadLine(20s);
  if (!line) {
    ADD_FAILURE() << "emulator did not start: " << process_->Stderr();
    return;
  }
  std::string addr = *line;
  if (auto p = addr.find("://"); p != std::string::npos)
    addr = addr.substr(p + 3);
  auto colon = addr.rfind(':');
  host_ = addr.substr(0, colon);
  port_ = addr.substr(colon + 1);
}

Emulator::~Emulator() = default;

std::string Emulator::Url(const std::string& host) const {
  return std::string(tls_ ? "https://" : "http://") +
         (host.empty() ? host_ : host) + ":" + port_;
}

HttpReply Emulator::Admin(http::verb method, const std::string& target,
                          const std::string& body) const {
  return PlainRequest(host_, port_, method, target, body);
}

void Emulator::Config(const std::string& json_body) const {
  auto r = Admin(http::verb::post, "/_emulator/config", json_body);
  EXPECT_EQ(r.status, 200) << r.body;
}

json::array Emulator::Requests() const {
  auto r = Admin(http::verb::get, "/_emulator/requests");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json.at("requests").as_array();
}

json::value Emulator::State() const {
  return Admin(http::verb::get, "/_emulator/state").json;
}

std::string Emulator::Stderr() const { return process_->Stderr(); }

Options Emulator::ClientOptions() const {
  Options o;
  o.endpoint = Url();
  o.instance_id = kInstance;
  o.application_id = kApp;
  o.client_id = kApp;
  o.client_secret = kSecret;
  o.qps = 0;
  o.burst = 10;
  o.connections = 4;
  o.timeout = 5s;
  o.base_delay = 5ms;
  o.max_delay = 200ms;
  return o;
}

// ------------------------------------------------------- ScriptedServer --

ScriptedServer::ScriptedServer(Handler handler)
    : handler_(std::move(handler)),
      acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  Accept();
  thread_ = std::thread([this] { io_.run(); });
}

ScriptedServer::~ScriptedServer() {
  io_.stop();
  thread_.join();
}

std::string ScriptedServer::Url() const {
  return "http://127.0.0.1:" +
         std::to_string(acceptor_.local_endpoint().port());
}

std::vector<ScriptedServer::Arrival> ScriptedServer::arrivals() {
  std::lock_guard lock(mu_);
  return arrivals_;
}

ScriptedServer::Response ScriptedServer::Json(int status, const std::string& body) {
  Response r(static_cast<http::status>(status), 11);
  r.set(http::field::content_type, "application/json");
  r.body() = body;
  r.prepare_payload();
  return r;
}

ScriptedServer::Response ScriptedServer::Token(const std::string& token, int expires_in) {
  return Json(200, "{\"access_token\":\"" + token +
                       "\",\"token_type\":\"Bearer\",\"expires_in\":" +
                       std::to_string(expires_in) + "}");
}

void ScriptedServer::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (ec) return;
    ++accepted_;
    Serve(std::make_shared<tcp::socket>(std::move(s)));
    Accept();
  });
}

void ScriptedServer::Serve(std::shared_ptr<tcp::socket> socket) {
  auto buffer = std::make_shared<beast::flat_buffer>();
  auto req = std::make_shared<Request>();
  http::async_read(*socket, *buffer, *req,
                   [this, socket, buffer, req](boost::system::error_code ec,
                                               size_t) {
                     if (ec) return;
                     {
                       std::lock_guard lock(mu_);
                       arrivals_.push_back(
                           {std::chrono::steady_clock::now(),
                            std::string(req->target()),
                            std::string((*req)["x-acs-action"]),
                            std::string((*req)[http::field::authorization])});
                     }
                     auto res = std::make_shared<Response>(handler_(*req));
                     res->keep_alive(req->keep_alive());
                     bool close_anyway = close_after_response;
                     http::async_write(
                         *socket, *res,
                         [this, socket, res, close_anyway](
                             boost::system::error_code ec2, size_t) {
                           if (ec2 || !res->keep_alive()) return;
                           if (close_anyway) {
                             // Says keep-alive, then closes: the client
                             // must notice before reusing the socket.
                             boost::system::error_code ignored;
                             socket->shutdown(tcp::socket::shutdown_both,
                                              ignored);
                             socket->close(ignored);
                             ++closed_;
                             return;
                           }
                           Serve(socket);
                         });
                   });
}

Options ScriptedOptions(const std::string& url) {
  Options o;
  o.endpoint = url;
  o.instance_id = kInstance;
  o.application_id = kApp;
  o.client_id = kApp;
  o.client_secret = kSecret;
  o.qps = 0;
  o.timeout = 3s;
  o.base_delay = 5ms;
  o.max_delay = 50ms;
  return o;
}

// ----------------------------------------------------------- LogCapture --

LogCapture::LogCapture() {
  spdlog::drop("idaas");
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
  logger_ = std::make_shared<spdlog::logger>("idaas", sink);
  logger_->set_level(spdlog::level::trace);
  spdlog::register_logger(logger_);
}

LogCapture::~LogCapture() { spdlog::drop("idaas"); }

std::string LogCapture::text() {
  logger_->flush();
  return out_.str();
}

// ------------------------------------------------------ request builders --

CreateUserRequest UserReq(std::string username, std::string ou, std::string external_id) {
  CreateUserRequest r;
  r.username = std::move(username);
  r.primary_organizational_unit_id = std::move(ou);
  if (!external_id.empty()) r.user_external_id = std::move(external_id);
  return r;
}

PatchUserRequest UserPatchName(std::string display_name) {
  PatchUserRequest r;
  r.display_name = std::move(display_name);
  return r;
}

CreateOrganizationalUnitRequest OuReq(std::string name, std::string parent,
                                      std::string description, std::string external_id) {
  CreateOrganizationalUnitRequest r;
  r.organizational_unit_name = std::move(name);
  r.parent_id = std::move(parent);
  if (!description.empty()) r.description = std::move(description);
  if (!external_id.empty())
    r.organizational_unit_external_id = std::move(external_id);
  return r;
}

PatchOrganizationalUnitRequest OuPatch(std::string name) {
  PatchOrganizationalUnitRequest r;
  r.organizational_unit_name = std::move(name);
  return r;
}

CreateGroupRequest GroupReq(std::string name, std::string external_id) {
  CreateGroupRequest r;
  r.group_name = std::move(name);
  if (!external_id.empty()) r.group_external_id = std::move(external_id);
  return r;
}

PatchGroupRequest GroupPatch(std::string name) {
  PatchGroupRequest r;
  r.group_name = std::move(name);
  return r;
}

asio::awaitable<Result<std::string>> CreateUserExactlyOnce(Client& c, CreateUserRequest req,
                                                           int* lookups) {
  for (int round = 0; round < 10; ++round) {
    auto r = co_await c.CreateUser(req);
    if (r || !ApiErrorOf(r.error()).ambiguous) co_return r;
    ++*lookups;
    for (;;) {
      auto found = co_await c.GetUserIdByUserExternalId(*req.user_external_id);
      if (found) co_return found;
      if (ApiErrorOf(found.error()).kind == ApiError::Kind::kNotFound) break;  // resend
      if (!ApiErrorOf(found.error()).retryable) co_return found;
    }
  }
  co_return ApiError{};
}

}  // namespace idsync::idaas::testing
