// The request pipeline: what every Developer API request goes through before
// and after its handler (routing, authentication, throttling, fault draws,
// the permission check, the body), the admin API and /_emulator/ branches,
// and the request log entry of each request.
#include "idsync/emulator/emulator.h"

#include <exception>
#include <optional>
#include <span>

#include "admin_gateway.h"
#include "api_error.h"
#include "body_fields.h"
#include "control_api.h"
#include "core.h"
#include "faults.h"
#include "operations.h"
#include "request_context.h"
#include "responses.h"

namespace idsync::emulator {
namespace json = boost::json;
namespace {

// The percent-decoded "/"-separated segments of `path` (without its leading
// "/").
std::vector<std::string> PathSegments(std::string_view path) {
  std::vector<std::string> segments;
  for (std::string_view rest = path.substr(path.empty() ? 0 : 1);;) {
    size_t slash = rest.find('/');
    segments.push_back(PercentDecode(rest.substr(0, slash), false));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return segments;
}

// What a Developer API request's pipeline decided besides its response.
struct Outcome {
  bool reads_only = false;  // a read: the state generation stays
  FaultDraw fault;          // the after-commit faults drawn for it
};

}  // namespace

struct Emulator::Impl {
  Core core;

  Impl(Options options, Clock clock) : core(std::move(options), std::move(clock)) {}

  Response Handle(const Request& request);
  // Everything up to and including the handler; refusals on the way are
  // returned as values, a handler's thrown ApiError is rendered here too.
  Response Serve(RequestContext& context, std::string_view path, RequestLogEntry& entry,
                 Outcome& outcome);
  std::optional<Response> Refusal(const Operation& op, RequestContext& context,
                                  RequestLogEntry& entry, Outcome& outcome);
};

Response Emulator::Impl::Handle(const Request& request) {
  // Whatever path the request takes out of here, a request that may have
  // changed the state makes every cache derived from it stale.
  Outcome outcome;
  struct StaleOnExit {
    Core& core;
    const Outcome& outcome;
    ~StaleOnExit() {
      if (!outcome.reads_only) ++core.generation;
    }
  } stale_on_exit{core, outcome};
  const int64_t now_us = core.clock();
  const std::string request_id = core.NewRequestId();

  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  std::string_view raw_query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  QueryParams query = ParseQuery(raw_query);
  if (path == "/_emulator" || path.starts_with("/_emulator/")) {
    try {
      return HandleControl(core, request, path, query, request_id, now_us);
    } catch (const std::exception& e) {
      return ErrorResponse({500, "InternalError", e.what()}, request_id);
    }
  }

  RequestLogEntry entry;
  entry.time_ms = now_us / 1000;
  entry.method = request.method;
  entry.path = std::string(path);
  entry.query = RedactQuery(raw_query);
  entry.action = request.acs_action;
  entry.request_id = request_id;

  // The admin API (Eiam 2021-12-01): RPC calls to "/" named by x-acs-action.
  if (path == "/" && !request.acs_action.empty()) {
    Response response = HandleAdminRpc(core, request, query, request_id, now_us, &entry);
    response.headers.emplace_back("x-acs-request-id", request_id);
    entry.status = response.status;
    core.log.Record(std::move(entry), core.options.request_log_capacity);
    return response;
  }

  RequestContext context{request, query, request_id, now_us};
  Response response;
  try {
    response = Serve(context, path, entry, outcome);
  } catch (const ApiError& e) {
    response = ErrorResponse(e, request_id);
  } catch (const std::exception& e) {
    response = ErrorResponse({500, "InternalError", e.what()}, request_id);
  }

  const FaultDraw& fault = outcome.fault;
  if (fault.drop_after_commit && response.status == 200) {
    entry.fault = "drop_after_commit";
    response.disposition = Response::Disposition::kDropAfterCommit;
  }
  if (fault.server_error_after_commit && response.status == 200) {
    entry.fault = "5xx_after_commit";
    response = LostAfterCommit(request_id, core.rng);
  }
  if (fault.hold_after_commit && response.status == 200) {
    entry.fault = "hold_after_commit";
    response.delay = kHoldAfterCommit;
  } else {
    response.delay = DrawLatency(core.options.latency, core.rng);
  }
  response.headers.emplace_back("x-acs-request-id", request_id);
  entry.status =
      response.disposition == Response::Disposition::kReset ? 0 : response.status;
  core.log.Record(std::move(entry), core.options.request_log_capacity);
  return response;
}

Response Emulator::Impl::Serve(RequestContext& context, std::string_view path,
                               RequestLogEntry& entry, Outcome& outcome) {
  const Request& request = context.request;
  const std::vector<std::string> segments = PathSegments(path);
  std::optional<RouteMatch> route;
  if (segments.size() >= 4 && segments[0] == "v2") {
    route = MatchOperation(request.method, std::span<const std::string>(segments).subspan(3));
  }
  if (!route) {
    return ErrorResponse({404, "InvalidAction.NotFound",
                          "No operation " + request.method + " " + std::string(path) + "."},
                         context.request_id);
  }
  const Operation& op = *route->operation;
  entry.operation = std::string(op.name);
  outcome.reads_only = op.kind == OperationKind::kRead;
  if (segments[1] != core.state.instance_id) {
    return ErrorResponse({404, "EntityNotExists.Instance",
                          "The instance " + segments[1] + " does not exist."},
                         context.request_id);
  }
  context.application_id = segments[2];
  context.id = std::move(route->id);
  if (op.kind == OperationKind::kOAuth) {
    Response response = op.handler(core, context);
    if (context.client != nullptr) entry.client_id = context.client->client_id;
    return response;
  }
  if (std::optional<Response> refused = Refusal(op, context, entry, outcome)) return *refused;

  // Body: operations without body fields ignore whatever is sent.
  json::value parsed;
  const Options& options = core.options;
  if (request.body.size() > options.max_body_bytes) {
    return ErrorResponse(
        InvalidParameter("body",
                         "larger than " + std::to_string(options.max_body_bytes) + " bytes"),
        context.request_id);
  }
  const bool has_body_fields = request.method == "POST" || request.method == "PATCH";
  if (has_body_fields && !request.body.empty()) {
    boost::system::error_code ec;
    parsed = json::parse(request.body, ec);
    if (ec) {
      return ErrorResponse(InvalidParameter("body", "malformed JSON (" + ec.message() + ")"),
                           context.request_id);
    }
    const json::object* object = parsed.if_object();
    if (object == nullptr) {
      return ErrorResponse(InvalidParameter("body", "expected a JSON object"),
                           context.request_id);
    }
    if (auto known = BodyFields(op.name)) RejectUnknownFields(*object, *known, op.name, "");
    context.body = Body(object);
  }
  return op.handler(core, context);
}

// Authentication, throttling, the fault draw and the permission check, in
// the service's order: the answer of a request refused on the way, or
// nullopt when it may go on.
std::optional<Response> Emulator::Impl::Refusal(const Operation& op, RequestContext& context,
                                                RequestLogEntry& entry, Outcome& outcome) {
  const std::string& request_id = context.request_id;
  AccessTokens::Authenticated auth = core.tokens.Authenticate(
      context.request.authorization, context.application_id, core.state, context.now_us);
  if (auth.error) return ErrorResponse(*auth.error, request_id);
  Client& client = *auth.client;
  context.client = &client;
  entry.client_id = client.client_id;
  if (!client.api_invoke_enabled) {
    return ErrorResponse({403, "application_api_disabled", "Application api invoke disabled"},
                         request_id);
  }
  const Options& options = core.options;
  if (options.qps > 0) {
    if (auto wait_ms = core.rate_limiter.Take(client.client_id, options.qps, context.now_us)) {
      entry.fault = "throttled";
      return ThrottledResponse(options, *wait_ms, request_id);
    }
  }
  outcome.fault = DrawFault(options, op.name, op.kind == OperationKind::kWrite, core.rng);
  switch (outcome.fault.before) {
    case FaultDraw::Before::kNone:
      break;
    case FaultDraw::Before::kReset:
      entry.fault = "reset";
      return RefusedByFault(outcome.fault.before, request_id, core.rng);
    case FaultDraw::Before::kServerError:
      entry.fault = "5xx";
      return RefusedByFault(outcome.fault.before, request_id, core.rng);
    case FaultDraw::Before::kThrottle:
      entry.fault = "throttled";
      return ThrottledResponse(options, 1000, request_id);
  }
  if (std::string_view missing = MissingPermission(op.need, client); !missing.empty()) {
    return ErrorResponse({403, "Forbidden.Permission",
                          "The application lacks the permission " + std::string(missing) +
                              " required by " + std::string(op.name) + "."},
                         request_id);
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ facade

Emulator::Emulator(Options options, Clock clock)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(clock))) {}
Emulator::~Emulator() = default;

Response Emulator::Handle(const Request& request) { return impl_->Handle(request); }

Response Emulator::BodyTooLarge(const std::string& method, const std::string& target) {
  Core& core = impl_->core;
  const std::string request_id = core.NewRequestId();
  Response response = ErrorResponse(
      {400, "InvalidParameter.Body",
       "The request body is larger than " + std::to_string(core.options.max_body_bytes) +
           " bytes."},
      request_id);
  response.headers.emplace_back("x-acs-request-id", request_id);
  RequestLogEntry entry;
  entry.time_ms = core.clock() / 1000;
  entry.method = method;
  const size_t question = target.find('?');
  entry.path = target.substr(0, question);
  if (question != std::string::npos) {
    entry.query = RedactQuery(std::string_view(target).substr(question + 1));
  }
  entry.status = 400;
  entry.request_id = request_id;
  core.log.Record(std::move(entry), core.options.request_log_capacity);
  return response;
}

std::optional<std::string> Emulator::LoadState(std::string_view json) {
  ++impl_->core.generation;
  return impl_->core.LoadState(json);
}

std::string Emulator::DumpState() const { return json::serialize(StateToJson(impl_->core.state)); }

void Emulator::SetRequestObserver(std::function<void(const RequestLogEntry&)> observer) {
  impl_->core.log.SetObserver(std::move(observer));
}

const Options& Emulator::options() const { return impl_->core.options; }

}  // namespace idsync::emulator
