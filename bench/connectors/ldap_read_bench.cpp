// ldap_read_bench [USERS] [REPEATS] [PAGE_SIZE]: the ldap connector reading
// USERS inetOrgPerson entries (default 50,000) in 10 OUs and 10 groups from
// a throwaway local slapd (tests/connectors/slapd_server.h: mdb, seeded with
// slapadd) over ldap://127.0.0.1, paged, and mapping them. Prints one line
// with the median run:
//   ldap_read users=... ous=... groups=... page_size=... seconds=... users_per_s=...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "idsync/config/config.h"
#include "idsync/connectors/connectors.h"
#include "slapd_server.h"

namespace {

std::string Directory(int users) {
  std::string out = "dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n"
                    "dn: ou=Groups,dc=example,dc=com\nobjectClass: organizationalUnit\nou: Groups\n\n";
  const int kOus = 10;
  for (int d = 0; d < kOus; ++d) {
    out += "dn: ou=Dept" + std::to_string(d) + ",ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\n"
           "ou: Dept" + std::to_string(d) + "\ndescription: Department " + std::to_string(d) + "\n\n";
  }
  std::vector<std::string> members(kOus);
  for (int i = 0; i < users; ++i) {
    std::string n = std::to_string(i), dept = "Dept" + std::to_string(i % kOus);
    std::string dn = "uid=user" + n + ",ou=" + dept + ",ou=People,dc=example,dc=com";
    out += "dn: " + dn + "\nobjectClass: inetOrgPerson\nuid: user" + n + "\ncn: User " + n + "\nsn: User\n" +
           "givenName: Number " + n + "\nemployeeNumber: E" + n + "\nmail: user" + n + "@example.com\n" +
           "mobile: 138 0000 " + std::to_string(1000 + i % 9000) + "\ntitle: Engineer\n\n";
    members[static_cast<size_t>(i % kOus)] += "member: " + dn + "\n";
  }
  for (int g = 0; g < kOus; ++g) {
    out += "dn: cn=team" + std::to_string(g) + ",ou=Groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: team" +
           std::to_string(g) + "\n" + members[static_cast<size_t>(g)] + "\n";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int users = argc > 1 ? std::atoi(argv[1]) : 50000;
  int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  int page_size = argc > 3 ? std::atoi(argv[3]) : 500;
  if (users < 10 || repeats < 1 || page_size < 0) {
    std::fprintf(stderr, "usage: ldap_read_bench [USERS>=10] [REPEATS] [PAGE_SIZE]\n");
    return 2;
  }
  idsync::testing::Slapd slapd(Directory(users));
  if (!slapd.ok()) {
    std::fprintf(stderr, "%s\n", slapd.error().c_str());
    return 1;
  }
  ::setenv("IDSYNC_BENCH_LDAP_PW", "pw-idsync", 1);
  std::string yaml = std::string(R"(idaas:
  endpoint: http://127.0.0.1:18080
  instance_id: idaas_x
  application_id: app_x
  client_secret: env:X
target: {root_ou: ou_x}
source:
  type: ldap
  url: )") + slapd.Url() + R"(
  users: {key: employeeNumber}
  ous: {from: dn, base: "ou=People,dc=example,dc=com"}
  groups: {from: entries}
  ldap:
    bind_dn: ")" + idsync::testing::Slapd::kBindDn + R"("
    bind_password: env:IDSYNC_BENCH_LDAP_PW
    base_dn: "dc=example,dc=com"
    page_size: )" + std::to_string(page_size) + R"(
mapping:
  username: "{uid}"
  display_name: "{givenName} {sn}"
  email: "{mail}"
  phone_number: "{mobile}"
  description: "{title}"
)";
  idsync::config::Diagnostics d;
  idsync::config::LoadOptions lo;
  lo.resolve_secrets = false;
  auto cfg = idsync::config::LoadFromString(yaml, "bench.yaml", &d, lo);
  if (!d.empty()) {
    for (const auto& p : d.Sorted()) std::fprintf(stderr, "%s\n", p.ToString().c_str());
    return 1;
  }
  std::vector<double> secs;
  size_t read_users = 0, ous = 0, groups = 0;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = idsync::connectors::ReadSnapshot(cfg);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().message.c_str());
      return 1;
    }
    read_users = r->users.size();
    if (!r->rejected.empty()) {
      std::fprintf(stderr, "%zu rejected, e.g. %s: %s\n", r->rejected.size(), r->rejected[0].origin.ToString().c_str(),
                   r->rejected[0].reason.c_str());
    }
    ous = r->ous.size();
    groups = r->groups.size();
  }
  std::sort(secs.begin(), secs.end());
  double median = secs[secs.size() / 2];
  std::printf("ldap_read users=%zu ous=%zu groups=%zu page_size=%d seconds=%.3f users_per_s=%.0f\n", read_users, ous,
              groups, page_size, median, static_cast<double>(read_users) / median);
  return read_users == static_cast<size_t>(users) ? 0 : 1;
}
