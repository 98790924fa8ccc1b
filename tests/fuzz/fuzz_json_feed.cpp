// JSON-feed page parsing (document and JSON Lines) on arbitrary input.
#include "idsync/connectors/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace idsync::connectors;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  FeedParseOptions o;
  o.max_value_bytes = 1024;
  o.records_pointer = "/data";
  o.next_pointer = "/links/next";
  o.cursor_pointer = "/meta/cursor";
  o.total_pages_pointer = "/meta/pages";
  (void)ParseFeed(in, "fuzz", o);
  o.records_pointer = "";
  (void)ParseFeed(in, "fuzz", o);
  o.jsonl = true;
  (void)ParseFeed(in, "fuzz", o);
  return 0;
}
