// The mapping expression compiler and evaluator: the first line is the
// expression, the rest are attribute values.
#include "attrs.h"
#include "expr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace idsync::connectors;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view text = in.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  for (auto mode : {Expr::Mode::kTemplate, Expr::Mode::kCondition}) {
    AttrTable attrs;
    std::string err;
    int col = 0;
    auto e = Expr::Compile(text, mode, &attrs, &err, &col);
    if (!e) continue;
    OwnedRecord rec(attrs.size());
    size_t slot = 0;
    std::string_view r = rest;
    while (!r.empty() && attrs.size() > 0) {
      size_t k = r.find('\n');
      rec.Add(static_cast<int>(slot % attrs.size()), std::string(r.substr(0, k)));
      ++slot;
      if (k == std::string_view::npos) break;
      r.remove_prefix(k + 1);
    }
    std::string eerr;
    (void)e->Eval(rec, &eerr);
    (void)e->EvalList(rec, &eerr);
    (void)e->EvalBool(rec, &eerr);
  }
  return 0;
}
