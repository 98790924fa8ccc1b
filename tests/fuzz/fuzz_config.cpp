// The YAML config loader (R11): arbitrary text yields problems, never a crash.
#include "idsync/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string yaml(reinterpret_cast<const char*>(data), size);
  idsync::config::Diagnostics d;
  idsync::config::LoadOptions o;
  o.resolve_secrets = false;
  (void)idsync::config::LoadFromString(yaml, "fuzz.yaml", &d, o);
  return 0;
}
