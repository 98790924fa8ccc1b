#include "check_config.h"

#include "doctor.h"
#include "engine.h"
#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"
#include "idsync/daemon/cli.h"

namespace idsync::daemon {

ExitCode CheckConfig(const CheckConfigOptions& options, std::ostream& out,
                std::ostream& err) {
  config::Diagnostics diags;
  config::Config cfg = config::Load(options.config_path, &diags);
  // The connector's own options and the mapping expressions, reported with
  // the rest; skipped when the file could not be read at all.
  if (!cfg.source.type.empty()) connectors::ValidateConfig(cfg, &diags);
  if (!diags.empty()) {
    for (const auto& p : diags.Sorted()) err << p.ToString() << "\n";
    err << options.config_path << ": " << diags.size()
        << (diags.size() == 1 ? " problem" : " problems") << " found\n";
    return kError;
  }
  out << options.config_path << ": configuration is valid\n"
      << "  idaas:   " << cfg.idaas.endpoint << " instance "
      << cfg.idaas.instance_id << ", application " << cfg.idaas.application_id
      << ", client secret from " << cfg.idaas.client_secret.reference() << "\n"
      << "  source:  " << cfg.source.type << "\n"
      << "  mapping: " << cfg.mapping.fields.size() << " fields, "
      << cfg.mapping.custom_fields.size() << " custom fields\n"
      << "  target:  root OU " << cfg.target.root_ou << "\n"
      << "  policy:  on_missing " << cfg.policy.on_missing << ", max_deletes "
      << cfg.policy.max_deletes.count << " or " << cfg.policy.max_deletes.percent
      << "%\n"
      << "  store:   " << cfg.store.path << "\n";
  if (cfg.admin) {
    out << "  admin:   " << cfg.admin->endpoint << " instance " << cfg.admin->instance_id
        << ", AccessKey " << cfg.admin->access_key_id << ", secret from "
        << cfg.admin->access_key_secret.reference() << "\n";
  }
  if (options.connect) {
    out << "checking the connection:\n";
    if (!CheckConnection(cfg, out, err)) return kError;
  }
  if (options.admin) {
    out << "checking the application through the admin API:\n";
    return RunDoctor(cfg, out, err);
  }
  return kOk;
}

}  // namespace idsync::daemon
