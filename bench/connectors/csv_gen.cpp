// Writes a synthetic HR export: csv_gen FILE ROWS. Realistic widths, ~1 in 8
// fields quoted (embedded commas, doubled quotes, a few embedded newlines),
// some non-ASCII names. Deterministic.
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: csv_gen FILE ROWS\n");
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
  std::fputs("employee_id,first_name,last_name,email,mobile,department,title,status,groups,cost_center\r\n", f);
  unsigned long x = 12345;
  std::string line;
  for (long i = 0; i < rows; ++i) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    unsigned r = static_cast<unsigned>(x >> 33);
    const char* fn = firsts[r % 8];
    const char* ln = lasts[(r >> 3) % 8];
    line = std::to_string(100000 + i) + "," + fn + "," + ln + ",user" + std::to_string(i) +
           "@example.com,138" + std::to_string(10000000 + (r % 89999999)) + "," + depts[(r >> 6) % 5] + ",";
    switch ((r >> 9) % 8) {
      case 0: line += "\"Director, Sales\""; break;
      case 1: line += "\"The \"\"Fixer\"\"\""; break;
      case 2: line += ((r >> 12) % 16 == 0) ? "\"Line one\nline two\"" : "Engineer"; break;
      default: line += "Senior Engineer"; break;
    }
    line += ((r >> 16) % 20 == 0) ? ",terminated," : ",active,";
    line += "all-staff;engineering,CC-" + std::to_string(100 + r % 50) + "\r\n";
    std::fwrite(line.data(), 1, line.size(), f);
  }
  return std::fclose(f) == 0 ? 0 : 1;
}
