// Writes a synthetic HR export: csv_gen FILE ROWS [--ous N] [--groups N].
// Realistic widths, ~1 in 8 fields quoted (embedded commas, doubled quotes, a
// few embedded newlines), some non-ASCII names. Deterministic.
//
// By default the departments are 5 paths and every row is in the same two
// groups (the csv_bench/csv_snapshot_bench input). --ous N spreads the rows
// over a 4-level department tree of N OUs (20 divisions, 980 departments,
// teams below), every OU used once ROWS >= N; --groups N puts each row in one
// of N - 5 team groups and a quarter of the rows also in one of 5 big site
// groups (about 1.25 memberships a row). This is the P1 directory
// (bench/plan).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Every OU path of a tree with `total` OUs, leaves (the teams) last.
std::vector<std::string> DepartmentTree(long total, size_t* first_leaf) {
  const long divisions = 20, departments = 980;
  std::vector<std::string> paths;
  for (long d = 0; d < divisions && static_cast<long>(paths.size()) < total; ++d) {
    paths.push_back("Division " + std::to_string(d));
  }
  for (long d = 0; d < departments && static_cast<long>(paths.size()) < total; ++d) {
    paths.push_back(paths[static_cast<size_t>(d % divisions)] + "/Dept " + std::to_string(d));
  }
  *first_leaf = paths.size();
  for (long t = 0; static_cast<long>(paths.size()) < total; ++t) {
    paths.push_back(paths[static_cast<size_t>(divisions + t % departments)] + "/Team " +
                    std::to_string(t));
  }
  if (*first_leaf == paths.size()) *first_leaf = 0;  // a tree too small for teams
  return paths;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: csv_gen FILE ROWS [--ous N] [--groups N]\n");
    return 2;
  }
  long ous = 0, groups = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--ous") == 0) ous = std::strtol(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--groups") == 0) groups = std::strtol(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "csv_gen: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (groups != 0 && groups < 6) {
    std::fprintf(stderr, "csv_gen: --groups needs at least 6\n");
    return 2;
  }
  FILE* f = std::fopen(argv[1], "wb");
  if (!f) {
    std::perror(argv[1]);
    return 1;
  }
  long rows = std::strtol(argv[2], nullptr, 10);
  const char* firsts[] = {"Ada", "Grace", "Alan", "José", "Zoë", "伟", "Margaret", "Linus"};
  const char* lasts[] = {"Lovelace", "Hopper", "Turing", "Álvarez", "Müller", "张", "Hamilton", "Torvalds"};
  const char* depts[] = {"Engineering/Platform/SRE", "Engineering/Applications", "Sales/Sales APAC",
                         "Finance", "People Operations"};
  size_t first_leaf = 0;
  const std::vector<std::string> tree = ous > 0 ? DepartmentTree(ous, &first_leaf) : std::vector<std::string>{};
  const size_t leaves = tree.size() - first_leaf;
  std::fputs("employee_id,first_name,last_name,email,mobile,department,title,status,groups,cost_center\r\n", f);
  unsigned long x = 12345;
  std::string line;
  for (long i = 0; i < rows; ++i) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    unsigned r = static_cast<unsigned>(x >> 33);
    const char* fn = firsts[r % 8];
    const char* ln = lasts[(r >> 3) % 8];
    line = std::to_string(100000 + i) + "," + fn + "," + ln + ",user" + std::to_string(i) +
           "@example.com,138" + std::to_string(10000000 + (r % 89999999)) + ",";
    if (tree.empty()) {
      line += depts[(r >> 6) % 5];
    } else if (static_cast<size_t>(i) < first_leaf) {
      line += tree[static_cast<size_t>(i)];  // the inner OUs hold a few people too
    } else {
      // A multiplier coprime to the leaf count visits every team.
      line += tree[first_leaf + static_cast<size_t>(i) * 7919 % leaves];
    }
    line += ",";
    switch ((r >> 9) % 8) {
      case 0: line += "\"Director, Sales\""; break;
      case 1: line += "\"The \"\"Fixer\"\"\""; break;
      case 2: line += ((r >> 12) % 16 == 0) ? "\"Line one\nline two\"" : "Engineer"; break;
      default: line += "Senior Engineer"; break;
    }
    line += ((r >> 16) % 20 == 0) ? ",terminated," : ",active,";
    if (groups == 0) {
      line += "all-staff;engineering";
    } else {
      line += "team-" + std::to_string(static_cast<unsigned long>(i) * 7919 % static_cast<unsigned long>(groups - 5));
      if ((r >> 20) % 4 == 0) line += ";site-" + std::to_string((r >> 22) % 5);
    }
    line += ",CC-" + std::to_string(100 + r % 50) + "\r\n";
    std::fwrite(line.data(), 1, line.size(), f);
  }
  return std::fclose(f) == 0 ? 0 : 1;
}
