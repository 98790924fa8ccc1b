#include <cstdio>
int main() {
  std::fputs("idsync: not built yet\n", stderr);
  return 1;
}
