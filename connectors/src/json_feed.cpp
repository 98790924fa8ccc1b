// JSON / JSON Lines feed pages: records found at a JSON pointer, flattened
// to attributes (nested keys joined with ".", arrays multi-valued).
#include <boost/json.hpp>

#include "idsync/connectors/parsers.h"

namespace idsync::connectors {
namespace {

namespace json = boost::json;

using Attrs = std::vector<std::pair<std::string, std::vector<std::string>>>;

void AddValue(Attrs* out, const std::string& name, std::string v) {
  for (auto& [n, vals] : *out) {
    if (n == name) {
      vals.push_back(std::move(v));
      return;
    }
  }
  out->emplace_back(name, std::vector<std::string>{std::move(v)});
}

// Flattens v under `name` into out. A value that cannot be used (too long,
// nested too deep) sets *error (the first one) and names its attribute in
// *unreadable; the rest of the record is still flattened, so that a
// rejected record can keep its key.
void Flatten(const json::value& v, const std::string& name, size_t max_bytes, int depth, Attrs* out,
             std::string* error, std::vector<std::string>* unreadable) {
  auto fail = [&](std::string why) {
    if (error->empty()) *error = std::move(why);
    unreadable->push_back(name);
  };
  if (depth > 32) return fail("nested deeper than 32 levels");
  switch (v.kind()) {
    case json::kind::null:
      return;
    case json::kind::bool_:
      AddValue(out, name, v.get_bool() ? "true" : "false");
      return;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      AddValue(out, name, json::serialize(v));
      return;
    case json::kind::string: {
      const json::string& s = v.get_string();
      if (s.size() > max_bytes) {
        return fail("value of '" + name + "' is longer than " + std::to_string(max_bytes) + " bytes");
      }
      AddValue(out, name, std::string(s.data(), s.size()));
      return;
    }
    case json::kind::array:
      for (const auto& e : v.get_array()) Flatten(e, name, max_bytes, depth + 1, out, error, unreadable);
      return;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        std::string key(kv.key().data(), kv.key().size());
        Flatten(kv.value(), name.empty() ? key : name + "." + key, max_bytes, depth + 1, out, error,
                unreadable);
      }
      return;
  }
}

FeedRecord MakeRecord(const json::value& v, std::string origin, int64_t line, size_t max_bytes) {
  FeedRecord r;
  r.origin = std::move(origin);
  r.line = line;
  if (!v.is_object()) {
    r.error = "record is not a JSON object";
    r.unreadable_all = true;
    return r;
  }
  Flatten(v, "", max_bytes, 0, &r.attributes, &r.error, &r.unreadable);
  return r;
}

std::string PointerString(const json::value& doc, const std::string& ptr) {
  if (ptr.empty()) return {};
  boost::system::error_code ec;
  const json::value* v = doc.find_pointer(ptr, ec);
  if (!v || ec) return {};
  if (v->is_string()) return std::string(v->get_string().data(), v->get_string().size());
  if (v->is_int64() || v->is_uint64()) return json::serialize(*v);
  return {};
}

}  // namespace

bool FeedRecord::AttributeUnreadable(std::string_view name) const {
  if (unreadable_all) return true;
  // "a.b" dropped: "a.b", "a.b.c" and (for a key joined with dots in the
  // other direction) "a" may all miss values.
  auto below = [](std::string_view longer, std::string_view prefix) {
    return prefix.empty() ||
           (longer.size() > prefix.size() && longer.substr(0, prefix.size()) == prefix &&
            longer[prefix.size()] == '.');
  };
  for (std::string_view u : unreadable) {
    if (u == name || below(name, u) || below(u, name)) return true;
  }
  return false;
}

FeedPage ParseFeed(std::string_view body, const std::string& origin, const FeedParseOptions& o) {
  FeedPage page;
  json::parse_options po;
  po.max_depth = 64;
  if (o.jsonl) {
    size_t pos = 0;
    int64_t line = 0;
    if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
    while (pos < body.size()) {
      size_t nl = body.find('\n', pos);
      std::string_view l = body.substr(pos, nl == std::string_view::npos ? body.size() - pos : nl - pos);
      pos = nl == std::string_view::npos ? body.size() : nl + 1;
      ++line;
      while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) l.remove_suffix(1);
      if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
      boost::system::error_code ec;
      json::value v = json::parse(l, ec, {}, po);
      if (ec) {
        FeedRecord r;
        r.origin = origin;
        r.line = line;
        r.error = "not valid JSON: " + ec.message();
        r.unreadable_all = true;
        page.records.push_back(std::move(r));
        continue;
      }
      page.records.push_back(MakeRecord(v, origin, line, o.max_value_bytes));
    }
    return page;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec, {}, po);
  if (ec) {
    page.error = "not valid JSON: " + ec.message();
    return page;
  }
  const json::value* recs = &doc;
  if (!o.records_pointer.empty()) {
    recs = doc.find_pointer(o.records_pointer, ec);
    if (!recs || ec) {
      // A missing records array on a page after the first is an empty page
      // only if the document says so explicitly (null); otherwise an error.
      page.error = "no value at the records pointer '" + o.records_pointer + "'";
      return page;
    }
  }
  if (recs->is_null()) {
    // explicit "no records"
  } else if (!recs->is_array()) {
    page.error = "the value at the records pointer '" + o.records_pointer + "' is not an array";
    return page;
  } else {
    const auto& arr = recs->get_array();
    page.records.reserve(arr.size());
    for (size_t i = 0; i < arr.size(); ++i) {
      page.records.push_back(
          MakeRecord(arr[i], origin + "#" + o.records_pointer + "/" + std::to_string(i), 0, o.max_value_bytes));
    }
  }
  page.next_link = PointerString(doc, o.next_pointer);
  page.next_cursor = PointerString(doc, o.cursor_pointer);
  std::string tp = PointerString(doc, o.total_pages_pointer);
  if (!tp.empty()) {
    try {
      page.total_pages = std::stoll(tp);
    } catch (...) {
      page.total_pages = -1;
    }
  }
  return page;
}

}  // namespace idsync::connectors
