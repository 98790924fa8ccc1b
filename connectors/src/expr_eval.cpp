// Evaluating a compiled mapping expression (expr.h) over one record: filter
// pipelines, conditions and templates. The parser is expr.cpp.
#include <algorithm>
#include <boost/regex.hpp>
#include <cctype>
#include <charconv>
#include <optional>

#include "expr.h"
#include "expr_ast.h"

namespace idsync::connectors {
namespace expr_detail {

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Join(const Values& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.append(sep);
    out.append(v[i]);
  }
  return out;
}

bool AllEmpty(const Values& v) {
  for (const auto& s : v) {
    if (!s.empty()) return false;
  }
  return true;
}

bool ApplyFilter(const Filter& f, Values* v, std::string* error) {
  switch (f.kind) {
    case FilterKind::kLower:
      for (auto& s : *v) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      return true;
    case FilterKind::kUpper:
      for (auto& s : *v) {
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      return true;
    case FilterKind::kTrim:
      for (auto& s : *v) s = std::string(TrimView(s));
      return true;
    case FilterKind::kLocalPart:
      for (auto& s : *v) {
        size_t at = s.rfind('@');
        if (at != std::string::npos) s.resize(at);
      }
      return true;
    case FilterKind::kDomain:
      for (auto& s : *v) {
        size_t at = s.rfind('@');
        s = at == std::string::npos ? std::string() : s.substr(at + 1);
      }
      return true;
    case FilterKind::kDefault:
      if (AllEmpty(*v)) *v = Values{f.args[0]};
      return true;
    case FilterKind::kReplace:
      try {
        for (auto& s : *v) {
          s = boost::regex_replace(s, f.re, f.args[1],
                                   boost::format_perl | boost::match_default);
        }
      } catch (const std::exception& e) {
        *error = std::string("replace failed: ") + e.what();
        return false;
      }
      return true;
    case FilterKind::kSplit: {
      Values out;
      const std::string& sep = f.args[0];
      for (const auto& s : *v) {
        std::string_view rest = s;
        while (true) {
          size_t k = rest.find(sep);
          std::string_view piece = TrimView(rest.substr(0, k));
          if (!piece.empty()) out.emplace_back(piece);
          if (k == std::string_view::npos) break;
          rest.remove_prefix(k + sep.size());
        }
      }
      *v = std::move(out);
      return true;
    }
    case FilterKind::kJoin: {
      Values out;
      for (auto& s : *v) {
        if (!s.empty()) out.push_back(std::move(s));
      }
      *v = Values{Join(out, f.args[0])};
      return true;
    }
    case FilterKind::kFirst:
      if (v->size() > 1) v->resize(1);
      return true;
    case FilterKind::kLast:
      if (v->size() > 1) *v = Values{std::move(v->back())};
      return true;
    case FilterKind::kTruncate:
      for (auto& s : *v) {
        size_t cps = 0;
        for (size_t i = 0; i < s.size(); ++i) {
          if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
            if (cps == f.n) {
              s.resize(i);
              break;
            }
            ++cps;
          }
        }
      }
      return true;
  }
  return true;
}

bool EvalPipe(const Pipeline& p, const AttrView& rec, Values* out, std::string* error) {
  out->clear();
  switch (p.kind) {
    case Pipeline::kAttr: {
      size_t n = rec.Count(p.slot);
      for (size_t i = 0; i < n; ++i) out->emplace_back(rec.Value(p.slot, i));
      break;
    }
    case Pipeline::kLiteral:
      out->push_back(p.literal);
      break;
    case Pipeline::kList:
      *out = p.list;
      break;
  }
  for (const auto& f : p.filters) {
    if (!ApplyFilter(f, out, error)) return false;
  }
  return true;
}

bool EvalCond(const Cond& c, const AttrView& rec, std::string* error) {
  switch (c.op) {
    case Cond::kOr:
      return EvalCond(*c.a, rec, error) || (error->empty() && EvalCond(*c.b, rec, error));
    case Cond::kAnd:
      return EvalCond(*c.a, rec, error) && (error->empty() && EvalCond(*c.b, rec, error));
    case Cond::kNot:
      return !EvalCond(*c.a, rec, error);
    case Cond::kTruthy: {
      Values v;
      if (!EvalPipe(c.lhs, rec, &v, error)) return false;
      return Truthy(Join(v, ","));
    }
    default:
      break;
  }
  // Fast path: attr ==/!= 'literal' without filters, no allocation.
  if ((c.op == Cond::kEq || c.op == Cond::kNe) && c.lhs.kind == Pipeline::kAttr &&
      c.lhs.filters.empty() && c.rhs.kind == Pipeline::kLiteral && c.rhs.filters.empty()) {
    size_t n = rec.Count(c.lhs.slot);
    bool any = n == 0 && c.rhs.literal.empty();
    for (size_t i = 0; i < n && !any; ++i) any = rec.Value(c.lhs.slot, i) == c.rhs.literal;
    return c.op == Cond::kEq ? any : !any;
  }
  Values l, r;
  if (!EvalPipe(c.lhs, rec, &l, error)) return false;
  if (l.empty()) l.emplace_back();
  if (c.op == Cond::kMatch) {
    try {
      for (const auto& s : l) {
        if (boost::regex_search(s, c.re)) return true;
      }
    } catch (const std::exception& e) {
      *error = std::string("=~ failed: ") + e.what();
    }
    return false;
  }
  if (!EvalPipe(c.rhs, rec, &r, error)) return false;
  if (r.empty() && c.op != Cond::kIn && c.op != Cond::kNotIn) r.emplace_back();
  bool any = false;
  for (const auto& a : l) {
    for (const auto& b : r) {
      if (a == b) {
        any = true;
        break;
      }
    }
    if (any) break;
  }
  return (c.op == Cond::kEq || c.op == Cond::kIn) ? any : !any;
}

bool EvalTemplate(const Template& t, const AttrView& rec, std::string* out, std::string* error) {
  Values v;
  for (const auto& part : t.parts) {
    switch (part.kind) {
      case Part::kText:
        out->append(part.text);
        break;
      case Part::kPipe:
        if (part.pipe.kind == Pipeline::kAttr && part.pipe.filters.empty()) {
          size_t n = rec.Count(part.pipe.slot);  // plain {attr}: no copies
          for (size_t i = 0; i < n; ++i) {
            if (i) out->push_back(',');
            out->append(rec.Value(part.pipe.slot, i));
          }
          break;
        }
        if (!EvalPipe(part.pipe, rec, &v, error)) return false;
        out->append(Join(v, ","));
        break;
      case Part::kIf: {
        bool taken = false;
        for (const auto& [cond, body] : part.branches) {
          bool yes = EvalCond(*cond, rec, error);
          if (!error->empty()) return false;
          if (yes) {
            taken = true;
            if (!EvalTemplate(*body, rec, out, error)) return false;
            break;
          }
        }
        if (!taken && part.otherwise &&
            !EvalTemplate(*part.otherwise, rec, out, error)) {
          return false;
        }
        break;
      }
    }
  }
  return true;
}

}  // namespace expr_detail

using namespace expr_detail;

bool Truthy(std::string_view s) {
  s = TrimView(s);
  if (s.empty()) return false;
  std::string l(s);
  for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !(l == "false" || l == "no" || l == "n" || l == "0" || l == "off");
}

std::string Expr::Eval(const AttrView& rec, std::string* error) const {
  if (plain_slot_ >= 0) {
    // Fast path: a plain {attr}.
    size_t n = rec.Count(plain_slot_);
    if (n == 1) return std::string(rec.Value(plain_slot_, 0));
    if (n == 0) return std::string();
  }
  if (cond_) return EvalCond(*cond_, rec, error) ? "true" : "false";
  std::string out;
  if (!EvalTemplate(*tmpl_, rec, &out, error)) return std::string();
  return out;
}

std::vector<std::string> Expr::EvalList(const AttrView& rec, std::string* error) const {
  Values v;
  if (tmpl_ && tmpl_->parts.size() == 1 && tmpl_->parts[0].kind == Part::kPipe) {
    if (!EvalPipe(tmpl_->parts[0].pipe, rec, &v, error)) return {};
  } else {
    v.push_back(Eval(rec, error));
  }
  Values out;
  for (auto& s : v) {
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

bool Expr::EvalBool(const AttrView& rec, std::string* error) const {
  if (cond_) return EvalCond(*cond_, rec, error);
  return Truthy(Eval(rec, error));
}

}  // namespace idsync::connectors
