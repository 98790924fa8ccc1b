// Opens a state database as the writer, prints "locked" and holds it until
// killed (or for argv[2] seconds). Used by store_test's lock tests.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "idsync/store/store.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: store_lock_helper DB [SECONDS]\n";
    return 2;
  }
  auto store = idsync::store::Store::Open(argv[1]);
  if (!store) {
    std::cout << "error " << idsync::store::CodeName(store.error().code) << ": "
              << store.error().message << std::endl;
    return 1;
  }
  std::cout << "locked" << std::endl;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 60;
  for (int i = 0; i < seconds * 10; ++i) ::usleep(100000);
  return 0;
}
