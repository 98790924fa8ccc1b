#include "setup.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "idsync/daemon/cli.h"
#include "idsync/idaas/admin_client.h"
#include "private_file.h"

namespace idsync::daemon {
namespace {

namespace asio = boost::asio;
using idaas::RunSync;

// The permission values idsync's calls need (read and write users and
// departments), in the admin reference's spelling.
std::vector<std::string> NeededScopes() {
  return {std::string(idaas::kScopeOuManageAll), std::string(idaas::kScopeOuReadAll),
          std::string(idaas::kScopeUserManageAll), std::string(idaas::kScopeUserReadAll)};
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "(none)" : out;
}

bool NonEmptyFile(const std::string& path) {
  std::error_code ec;
  return !path.empty() && std::filesystem::is_regular_file(path, ec) &&
         std::filesystem::file_size(path, ec) > 0;
}

class Setup {
 public:
  Setup(const SetupOptions& options, std::ostream& out, std::ostream& err)
      : o_(options), out_(out), err_(err) {}

  ExitCode Run() {
    idaas::AdminOptions admin;
    admin.transport.endpoint =
        o_.endpoint.empty() ? "https://eiam." + o_.region + ".aliyuncs.com" : o_.endpoint;
    admin.transport.instance_id = o_.instance_id;
    admin.transport.ca_file = o_.ca_file;
    admin.access_key_id = Env("ALIBABA_CLOUD_ACCESS_KEY_ID");
    admin.access_key_secret = Env("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    admin.security_token = Env("ALIBABA_CLOUD_SECURITY_TOKEN");
    if (admin.access_key_id.empty() || admin.access_key_secret.empty()) {
      err_ << "idsync setup: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
              "(a RAM user with the policy in docs/admin-api.md)\n";
      return kError;
    }
    auto client = idaas::AdminClient::Create(io_.get_executor(), std::move(admin));
    if (!client) return Fail(client.error());
    admin_ = std::move(*client);

    std::string application_id;
    if (ExitCode rc = FindOrCreate(&application_id); rc != kOk) return rc;
    if (application_id.empty()) return Report("<new application id>", "<its client id>");
    if (ExitCode rc = ApiInvoke(application_id); rc != kOk) return rc;
    if (ExitCode rc = GrantScope(application_id); rc != kOk) return rc;
    if (ExitCode rc = ProvisioningScope(application_id); rc != kOk) return rc;
    std::string client_id = application_id;
    if (ExitCode rc = Secret(application_id, &client_id); rc != kOk) return rc;
    return Report(application_id, client_id);
  }

 private:
  ExitCode Fail(const base::Error& e) {
    err_ << "idsync setup: " << e.message << "\n";
    return kError;
  }

  // Says what changes (or would), and counts it.
  void Change(const std::string& what) {
    ++changes_;
    out_ << (o_.dry_run ? "would " : "") << what << "\n";
  }

  ExitCode FindOrCreate(std::string* application_id) {
    for (int page = 1;; ++page) {
      auto r = RunSync(io_, admin_->ListApplications(page, 100, o_.application_name));
      if (!r) return Fail(r.error());
      for (const auto& app : r->applications) {
        if (app.application_name == o_.application_name) {
          *application_id = app.application_id;
          out_ << "application " << o_.application_name << ": " << app.application_id << "\n";
          return kOk;
        }
      }
      if (r->applications.empty() || page * 100 >= r->total_count) break;
    }
    if (o_.ous.empty()) {
      err_ << "idsync setup: a new application needs its provisioning scope: give --ou OU\n";
      return kError;
    }
    Change("create application " + o_.application_name);
    if (o_.dry_run) {
      // Nothing to ask about an application that does not exist yet.
      Change("enable its Developer API");
      Change("grant " + Join(NeededScopes()));
      Change("set the provisioning scope to " + Join(o_.ous));
      Change("create a client secret in " + o_.secret_out);
      return kOk;
    }
    auto id = RunSync(io_, admin_->CreateApplication(o_.application_name,
                                                     "idsync: directory synchronization"));
    if (!id) return Fail(id.error());
    *application_id = *id;
    out_ << "application " << o_.application_name << ": " << *id << "\n";
    return kOk;
  }

  ExitCode ApiInvoke(const std::string& id) {
    auto app = RunSync(io_, admin_->GetApplication(id));
    if (!app) return Fail(app.error());
    if (app->api_invoke_status == "enabled") return kOk;
    Change("enable the Developer API of " + id);
    if (o_.dry_run) return kOk;
    auto r = RunSync(io_, admin_->EnableApplicationApiInvoke(id));
    return r ? kOk : Fail(r.error());
  }

  ExitCode GrantScope(const std::string& id) {
    auto current = RunSync(io_, admin_->GetApplicationGrantScope(id));
    if (!current) return Fail(current.error());
    std::vector<std::string> have = *current, want = NeededScopes();
    std::sort(have.begin(), have.end());
    if (have == want) return kOk;
    Change("grant " + Join(want) + " (was " + Join(have) + ")");
    if (o_.dry_run) return kOk;
    auto r = RunSync(io_, admin_->SetApplicationGrantScope(id, want));
    return r ? kOk : Fail(r.error());
  }

  ExitCode ProvisioningScope(const std::string& id) {
    auto current = RunSync(io_, admin_->GetApplicationProvisioningScope(id));
    if (!current) return Fail(current.error());
    std::set<std::string> have(current->organizational_unit_ids.begin(),
                               current->organizational_unit_ids.end());
    std::set<std::string> want(o_.ous.begin(), o_.ous.end());
    if (want.empty() || have == want) {
      if (have.empty()) {
        err_ << "idsync setup: the provisioning scope of " << id << " is empty: give --ou OU\n";
        return kError;
      }
      return kOk;
    }
    const bool widens = !have.empty() && !std::includes(have.begin(), have.end(),
                                                        want.begin(), want.end());
    if (widens && !o_.widen_scope) {
      err_ << "idsync setup: the provisioning scope of " << id << " is "
           << Join({have.begin(), have.end()}) << "; setting it to " << Join(o_.ous)
           << " would widen it. Pass --widen-scope to do that.\n";
      return kGuardBlocked;
    }
    Change("set the provisioning scope to " + Join(o_.ous) + " (was " +
           Join({have.begin(), have.end()}) + ")");
    if (o_.dry_run) return kOk;
    auto r = RunSync(io_, admin_->SetApplicationProvisioningScope(
                              id, o_.ous, current->group_ids));
    return r ? kOk : Fail(r.error());
  }

  ExitCode Secret(const std::string& id, std::string* client_id) {
    auto secrets = RunSync(io_, admin_->ListApplicationClientSecrets(id));
    if (!secrets) return Fail(secrets.error());
    const bool has_enabled =
        std::any_of(secrets->begin(), secrets->end(),
                    [](const idaas::ApplicationClientSecret& s) { return s.status == "enabled"; });
    if (!secrets->empty()) *client_id = secrets->front().client_id;
    if (has_enabled && NonEmptyFile(o_.secret_out)) return kOk;
    if (secrets->size() >= 2) {
      err_ << "idsync setup: " << id << " has 2 client secrets already (the most it may have) "
           << "and " << o_.secret_out << " holds none; delete one in the IDaaS console\n";
      return kError;
    }
    Change("create a client secret in " + o_.secret_out);
    if (o_.dry_run) return kOk;
    auto created = RunSync(io_, admin_->CreateApplicationClientSecret(id));
    if (!created) return Fail(created.error());
    *client_id = created->client_id.empty() ? id : created->client_id;
    std::string error;
    if (!WritePrivateFileAtomically(o_.secret_out, created->client_secret + "\n", &error)) {
      err_ << "idsync setup: " << error << " (the secret " << created->secret_id
           << " was created; delete it in the console)\n";
      return kError;
    }
    return kOk;
  }

  ExitCode Report(const std::string& application_id, const std::string& client_id) {
    if (o_.dry_run) {
      out_ << (changes_ == 0 ? "nothing to change\n" : "");
      return changes_ == 0 ? kOk : kChangesPending;
    }
    out_ << (changes_ == 0 ? "nothing changed: the application is ready\n" : "")
         << "\n# idsync.yaml\nidaas:\n  endpoint: "
         << (o_.developer_endpoint.empty()
                 ? (o_.endpoint.empty() ? "https://eiam-developerapi." + o_.region + ".aliyuncs.com"
                                        : o_.endpoint)
                 : o_.developer_endpoint)
         << "\n  instance_id: " << o_.instance_id << "\n  application_id: " << application_id
         << "\n  client_id: " << client_id << "\n  client_secret: file:"
         << std::filesystem::absolute(o_.secret_out).string() << "\ntarget:\n  root_ou: "
         << (o_.ous.empty() ? "<an OU of the provisioning scope>" : o_.ous.front()) << "\n";
    return kOk;
  }

  const SetupOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  asio::io_context io_;
  std::unique_ptr<idaas::AdminClient> admin_;
  int changes_ = 0;
};

}  // namespace

ExitCode RunSetup(const SetupOptions& options, std::ostream& out, std::ostream& err) {
  return Setup(options, out, err).Run();
}

}  // namespace idsync::daemon
