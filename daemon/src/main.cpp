#include "idsync/daemon/cli.h"

int main(int argc, char** argv) { return idsync::daemon::Main(argc, argv); }
