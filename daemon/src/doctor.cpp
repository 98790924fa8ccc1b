#include "doctor.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <set>

#include "idsync/daemon/cli.h"
#include "idsync/idaas/admin_client.h"
#include "idsync/idaas/client.h"

namespace idsync::daemon {
namespace {

using idaas::RunSync;

class Doctor {
 public:
  Doctor(const config::Config& config, std::ostream& out) : c_(config), out_(out) {}

  ExitCode Run(std::ostream& err) {
    auto admin = idaas::AdminClient::Create(
        io_.get_executor(), idaas::AdminOptionsFromConfig(c_.idaas, *c_.admin));
    if (!admin) {
      err << "idsync doctor: " << admin.error().message << "\n";
      return kError;
    }
    admin_ = std::move(*admin);
    const std::string& app = c_.idaas.application_id;
    const std::string setup = "idsync setup --instance " + c_.idaas.instance_id + " --ou " +
                              c_.target.root_ou + " --secret-out FILE";

    auto application = RunSync(io_, admin_->GetApplication(app));
    Check("application", application.has_value(),
          application ? app + " (" + application->application_name + ")"
                      : application.error().message,
          "check idaas.application_id, or create the application: " + setup);
    if (!application) return Verdict();
    Check("developer_api", application->api_invoke_status == "enabled",
          "API invoke is " + application->api_invoke_status,
          "enable it (console: the application's API access toggle), or run " + setup);

    auto scopes = RunSync(io_, admin_->GetApplicationGrantScope(app));
    std::vector<std::string> missing;
    if (scopes) {
      for (std::string_view need : {idaas::kScopeOuManageAll, idaas::kScopeOuReadAll,
                                    idaas::kScopeUserManageAll, idaas::kScopeUserReadAll}) {
        if (std::find(scopes->begin(), scopes->end(), need) == scopes->end()) {
          missing.emplace_back(need);
        }
      }
    }
    Check("grant_scope", scopes && missing.empty(),
          scopes ? (missing.empty() ? "all four permission values" : "missing " + Join(missing))
                 : scopes.error().message,
          "grant them: " + setup);

    auto scope = RunSync(io_, admin_->GetApplicationProvisioningScope(app));
    std::string inside = scope ? ScopeHolding(*scope) : "";
    Check("provisioning_scope", !inside.empty(),
          scope ? (inside.empty() ? "target.root_ou " + c_.target.root_ou + " is not within " +
                                        Join(scope->organizational_unit_ids)
                                  : "target.root_ou is within " + inside)
                : scope.error().message,
          "add it: " + setup + " --widen-scope");

    auto secrets = RunSync(io_, admin_->ListApplicationClientSecrets(app));
    const bool enabled = secrets && std::any_of(secrets->begin(), secrets->end(), [](auto& s) {
                           return s.status == "enabled";
                         });
    std::string token_problem = TokenProblem();
    Check("client_secret", enabled && token_problem.empty(),
          !secrets ? secrets.error().message
                   : !enabled ? "the application has no enabled client secret"
                              : token_problem.empty() ? "a token was issued with " +
                                                            c_.idaas.client_secret.reference()
                                                      : token_problem,
          "write a new secret to the file idaas.client_secret names: " + setup);

    if (scope && scope->max_quota > 0) {
      Check("quota", scope->used_quota < scope->max_quota,
            std::to_string(scope->used_quota) + " of " + std::to_string(scope->max_quota) +
                " accounts used",
            "free accounts or raise the instance's account quota; creates beyond it fail");
    }
    return Verdict();
  }

 private:
  static std::string Join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out.empty() ? "(nothing)" : out;
  }

  void Check(const std::string& name, bool ok, const std::string& detail,
             const std::string& fix) {
    out_ << (ok ? "ok   " : "FAIL ") << name << ": " << detail << "\n";
    if (!ok) {
      out_ << "     fix: " << fix << "\n";
      ++failed_;
    }
  }

  ExitCode Verdict() {
    out_ << (failed_ == 0 ? "all checks hold\n"
                          : std::to_string(failed_) + " check(s) failed\n");
    return failed_ == 0 ? kOk : kError;
  }

  // The scope OU that is target.root_ou or one of its ancestors; "" if none.
  std::string ScopeHolding(const idaas::ApplicationProvisioningScope& scope) {
    std::set<std::string> ids(scope.organizational_unit_ids.begin(),
                              scope.organizational_unit_ids.end());
    std::string at = c_.target.root_ou;
    for (int depth = 0; !at.empty() && depth < 64; ++depth) {
      if (ids.contains(at)) return at;
      auto ou = RunSync(io_, admin_->GetOrganizationalUnit(at));
      if (!ou) return "";
      at = ou->parent_id;
    }
    return "";
  }

  // Asks the Developer API for a token with the configured secret.
  std::string TokenProblem() {
    auto client = idaas::Client::Create(io_.get_executor(), idaas::OptionsFromConfig(c_.idaas));
    if (!client) return client.error().message;
    auto token = RunSync(io_, (*client)->GenerateToken());
    return token ? "" : token.error().message;
  }

  const config::Config& c_;
  std::ostream& out_;
  boost::asio::io_context io_;
  std::unique_ptr<idaas::AdminClient> admin_;
  int failed_ = 0;
};

}  // namespace

ExitCode RunDoctor(const config::Config& config, std::ostream& out, std::ostream& err) {
  if (!config.admin) {
    err << "idsync doctor: the configuration has no admin: section (an AccessKey for the "
           "admin API; docs/configuration.md)\n";
    return kError;
  }
  return Doctor(config, out).Run(err);
}

}  // namespace idsync::daemon
