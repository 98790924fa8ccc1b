// The compiled form of a mapping expression (expr.h): what the parser
// (expr.cpp) builds and the evaluator (expr_eval.cpp) walks. Internal to
// connectors/src.
#pragma once

#include <boost/regex.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attrs.h"

namespace idsync::connectors::expr_detail {

using Values = std::vector<std::string>;

enum class FilterKind {
  kLower, kUpper, kTrim, kLocalPart, kDomain, kDefault, kReplace, kSplit,
  kJoin, kFirst, kLast, kTruncate,
};

struct FilterSpec {
  const char* name;
  FilterKind kind;
  int min_args;
  int max_args;
};

inline constexpr FilterSpec kFilters[] = {
    {"lower", FilterKind::kLower, 0, 0},
    {"upper", FilterKind::kUpper, 0, 0},
    {"trim", FilterKind::kTrim, 0, 0},
    {"local_part", FilterKind::kLocalPart, 0, 0},
    {"domain", FilterKind::kDomain, 0, 0},
    {"default", FilterKind::kDefault, 1, 1},
    {"replace", FilterKind::kReplace, 2, 2},
    {"split", FilterKind::kSplit, 1, 1},
    {"join", FilterKind::kJoin, 1, 1},
    {"first", FilterKind::kFirst, 0, 0},
    {"last", FilterKind::kLast, 0, 0},
    {"truncate", FilterKind::kTruncate, 1, 1},
};

struct Filter {
  FilterKind kind;
  std::vector<std::string> args;
  boost::regex re;
  size_t n = 0;
};

struct Pipeline {
  enum Kind { kAttr, kLiteral, kList } kind = kLiteral;
  int slot = -1;
  std::string literal;
  Values list;
  std::vector<Filter> filters;
};

struct Cond {
  enum Op { kOr, kAnd, kNot, kEq, kNe, kMatch, kIn, kNotIn, kTruthy } op = kTruthy;
  std::unique_ptr<Cond> a, b;
  Pipeline lhs, rhs;
  boost::regex re;
};

struct Template;

struct Part {
  enum Kind { kText, kPipe, kIf } kind = kText;
  std::string text;
  Pipeline pipe;
  std::vector<std::pair<std::unique_ptr<Cond>, std::unique_ptr<Template>>> branches;
  std::unique_ptr<Template> otherwise;
};

struct Template {
  std::vector<Part> parts;
};

// Evaluation (expr_eval.cpp).
std::string_view TrimView(std::string_view s);
bool EvalPipe(const Pipeline& p, const AttrView& rec, Values* out, std::string* error);
bool EvalCond(const Cond& c, const AttrView& rec, std::string* error);
bool EvalTemplate(const Template& t, const AttrView& rec, std::string* out, std::string* error);

}  // namespace idsync::connectors::expr_detail
