// ldap_read_bench [USERS] [REPEATS] [PAGE_SIZE]: the ldap connector reading
// USERS inetOrgPerson entries (default 50,000) in 10 OUs and 10 groups from
// a throwaway local slapd (tests/support/slapd_server.h: mdb, seeded with
// slapadd) over ldap://127.0.0.1, paged, and mapping them. Prints one line
// with the median run:
//   ldap_read users=... ous=... groups=... page_size=... seconds=... users_per_s=...
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "slapd_server.h"
#include "snapshot_timing.h"

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
  std::string yaml = std::string(idsync::bench::kCommonSections) + R"(source:
  type: ldap
  url: )" + slapd.Url() + R"(
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
  auto t = idsync::bench::TimeSnapshots(yaml, repeats);
  if (!t) return 1;
  const auto& s = t->last;
  if (!s.rejected.empty()) {
    std::fprintf(stderr, "%zu rejected, e.g. %s: %s\n", s.rejected.size(), s.rejected[0].origin.ToString().c_str(),
                 s.rejected[0].reason.c_str());
  }
  std::printf("ldap_read users=%zu ous=%zu groups=%zu page_size=%d seconds=%.3f users_per_s=%.0f\n", s.users.size(),
              s.ous.size(), s.groups.size(), page_size, t->median_seconds,
              static_cast<double>(s.users.size()) / t->median_seconds);
  return s.users.size() == static_cast<size_t>(users) ? 0 : 1;
}
