#include <cstdio>
int main() {
  std::fputs("idaas-emulator: not built yet\n", stderr);
  return 1;
}
