// LDIF parser and libldap DN parsing on arbitrary input.
#include <cstdlib>

#include "idsync/connectors/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace idsync::connectors;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  LdifOptions o;
  o.max_value_bytes = 1024;
  std::string fatal;
  ParseLdif(in, o, [&](const LdifEntry& e) {
    // A rejected record keeps the values it could read: they obey the
    // same limits as a good record's (key recovery evaluates over them).
    for (const auto& a : e.attributes) {
      if (a.value.size() > o.max_value_bytes || !ValidUtf8(a.value)) std::abort();
    }
    if (!e.error.empty()) return;
    if (e.dn.empty()) std::abort();
    std::vector<Rdn> rdns;
    std::string err;
    if (ParseDn(e.dn, &rdns, &err)) (void)NormalizeDn(rdns);
    for (const auto& a : e.attributes) {
      if (a.value.size() > o.max_value_bytes || !ValidUtf8(a.value)) std::abort();
    }
  }, &fatal);
  return 0;
}
