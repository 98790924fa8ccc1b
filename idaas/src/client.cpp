// Creating a client: options from the configuration, their validation, the
// TLS context, and the Client object over the shared ClientCore.
#include "idsync/idaas/client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>

#include "client_impl.h"
#include "idsync/config/config.h"

namespace idsync::idaas {

using Kind = ApiError::Kind;
using detail::MakeError;

// --------------------------------------------------------------- options --

Options OptionsFromConfig(const config::IdaasConfig& c) {
  Options o;
  o.endpoint = c.endpoint;
  o.instance_id = c.instance_id;
  o.application_id = c.application_id;
  o.client_id = c.client_id.empty() ? c.application_id : c.client_id;
  o.client_secret = c.client_secret.Reveal();
  o.qps = c.rate_limit.qps;
  o.burst = c.rate_limit.burst;
  o.adaptive = c.rate_limit.adaptive;
  o.connections = c.connections;
  o.pipeline_depth = c.pipeline_depth;
  o.timeout = c.timeout;
  o.max_attempts = c.retry.max_attempts;
  o.base_delay = c.retry.base_delay;
  o.max_delay = c.retry.max_delay;
  o.retry_budget_percent = c.retry.budget_percent;
  o.ca_file = c.tls.ca_file;
  o.allow_insecure_http = c.tls.allow_insecure_http;
  return o;
}

// ---------------------------------------------------------------- Client --

Result<std::shared_ptr<detail::ClientCore>> CreateImpl(asio::any_io_executor executor,
                                                 Options options,
                                                 bool require_application) {
  auto invalid = [](std::string message) {
    ApiError e = MakeError(Kind::kClient, "InvalidOptions", std::move(message));
    return e;
  };
  detail::Endpoint endpoint;
  if (auto err = detail::ParseEndpoint(options.endpoint, &endpoint))
    return invalid(*err);
  if (!endpoint.tls && !endpoint.loopback && !options.allow_insecure_http)
    return invalid(
        "plain http is allowed only for a loopback endpoint unless "
        "allow_insecure_http is set: " + options.endpoint);
  if (options.instance_id.empty()) return invalid("instance_id is empty");
  if (require_application && options.application_id.empty())
    return invalid("application_id is empty");
  if (options.client_id.empty()) options.client_id = options.application_id;
  if (options.connections < 1) options.connections = 1;
  options.pipeline_depth = std::clamp(options.pipeline_depth, 1, 8);
  if (options.max_attempts < 1) options.max_attempts = 1;
  std::shared_ptr<asio::ssl::context> ctx;
  if (endpoint.tls) {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(asio::ssl::verify_peer);
    boost::system::error_code ec;
    if (!options.ca_file.empty()) {
      ctx->load_verify_file(options.ca_file, ec);
      if (ec)
        return invalid("cannot load tls.ca_file " + options.ca_file + ": " +
                       ec.message());
    } else {
      ctx->set_default_verify_paths(ec);
      if (ec) return invalid("cannot load the system trust store: " + ec.message());
    }
  }
  return std::make_shared<detail::ClientCore>(executor, std::move(options), endpoint,
                                        std::move(ctx));
}

Result<std::unique_ptr<Client>> Client::Create(asio::any_io_executor executor,
                                               Options options) {
  auto impl = CreateImpl(std::move(executor), std::move(options),
                         /*require_application=*/true);
  if (!impl) return impl.error();
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

Client::Client(std::shared_ptr<detail::ClientCore> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;
void Client::Shutdown() { impl_->Shutdown(); }
ClientStats Client::stats() const { return impl_->Stats(); }
const Options& Client::options() const { return impl_->options(); }

}  // namespace idsync::idaas
