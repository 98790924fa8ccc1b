// Parsing the mapping expression language (expr.h) into its compiled form
// (expr_ast.h); Expr::Compile. Evaluation is expr_eval.cpp.
#include <algorithm>
#include <boost/regex.hpp>
#include <cctype>
#include <charconv>
#include <optional>

#include "expr.h"
#include "expr_ast.h"
#include "idsync/config/yaml_reader.h"

namespace idsync::connectors {
namespace expr_detail {

// ---- parsing -------------------------------------------------------------

class Parser {
 public:
  Parser(std::string_view text, AttrTable* attrs) : s_(text), attrs_(attrs) {}
  // The slots the expression refers to, each once, in order of first use.
  const std::vector<int>& used() const { return used_; }

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  int column() const {
    int col = 1;
    for (size_t i = 0; i < error_pos_ && i < s_.size(); ++i) {
      if ((static_cast<unsigned char>(s_[i]) & 0xC0) != 0x80) ++col;
    }
    return col;
  }

  // Whole text as a template.
  std::unique_ptr<Template> TopTemplate() {
    std::string stop;
    auto t = ParseTemplate(&stop);
    if (failed()) return nullptr;
    if (!stop.empty()) {
      Fail(stop_pos_, "'{" + stop + "}' without a matching '{if}'");
      return nullptr;
    }
    return t;
  }

  // Whole text as a condition.
  std::unique_ptr<Cond> TopCond() {
    auto c = ParseOr();
    if (failed()) return nullptr;
    SkipWs();
    if (pos_ < s_.size()) {
      Fail(pos_, "unexpected '" + std::string(1, s_[pos_]) + "' in condition");
      return nullptr;
    }
    return c;
  }

 private:
  void Fail(size_t at, std::string msg) {
    if (error_.empty()) {
      error_ = std::move(msg);
      error_pos_ = at;
    }
  }
  void SkipWs() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Peek(std::string_view tok) {
    SkipWs();
    return s_.substr(pos_, tok.size()) == tok;
  }
  static bool IdStart(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '@' ||
           (static_cast<unsigned char>(c) & 0x80);
  }
  static bool IdChar(char c) {
    return IdStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
           c == '-' || c == ':' || c == '/';
  }
  // A keyword followed by a non-identifier character.
  bool PeekWord(std::string_view w) {
    SkipWs();
    if (s_.substr(pos_, w.size()) != w) return false;
    size_t e = pos_ + w.size();
    return e >= s_.size() || !IdChar(s_[e]);
  }
  std::string Identifier() {
    size_t b = pos_;
    while (pos_ < s_.size() && IdChar(s_[pos_])) ++pos_;
    return std::string(s_.substr(b, pos_ - b));
  }
  std::optional<std::string> StringLit() {
    char q = s_[pos_];
    size_t start = pos_++;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      char c = s_[pos_++];
      if (c == '\\' && pos_ < s_.size()) {
        char e = s_[pos_++];
        switch (e) {
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          case '\\': case '\'': case '"': out.push_back(e); break;
          default:  // kept: regular expressions need their backslashes
            out.push_back('\\');
            out.push_back(e);
            break;
        }
      } else {
        out.push_back(c);
      }
    }
    if (pos_ >= s_.size()) {
      Fail(start, "unterminated string literal");
      return std::nullopt;
    }
    ++pos_;
    return out;
  }
  // A literal argument: string or number.
  std::optional<std::string> Literal() {
    SkipWs();
    if (pos_ < s_.size() && (s_[pos_] == '\'' || s_[pos_] == '"')) return StringLit();
    size_t b = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ == b || (pos_ == b + 1 && s_[b] == '-')) {
      pos_ = b;
      Fail(pos_, "expected a string ('...') or a number");
      return std::nullopt;
    }
    return std::string(s_.substr(b, pos_ - b));
  }

  bool ParsePrimary(Pipeline* p, bool in_cond) {
    SkipWs();
    if (pos_ >= s_.size()) {
      Fail(pos_, "expected an attribute name or a literal");
      return false;
    }
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      auto lit = StringLit();
      if (!lit) return false;
      p->kind = Pipeline::kLiteral;
      p->literal = *lit;
      return true;
    }
    if (c == '`') {
      size_t start = pos_++;
      size_t e = s_.find('`', pos_);
      if (e == std::string_view::npos) {
        Fail(start, "unterminated `name`");
        return false;
      }
      p->kind = Pipeline::kAttr;
      p->slot = Use(attrs_->Intern(s_.substr(pos_, e - pos_)));
      pos_ = e + 1;
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      auto lit = Literal();
      if (!lit) return false;
      p->kind = Pipeline::kLiteral;
      p->literal = *lit;
      return true;
    }
    if (in_cond && c == '{') {
      ++pos_;
      if (!ParsePipeline(p, true)) return false;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '}') {
        Fail(pos_, "expected '}'");
        return false;
      }
      ++pos_;
      return true;
    }
    if (in_cond && c == '[') {
      ++pos_;
      p->kind = Pipeline::kList;
      SkipWs();
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      while (true) {
        auto lit = Literal();
        if (!lit) return false;
        p->list.push_back(*lit);
        SkipWs();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ']') {
          ++pos_;
          return true;
        }
        Fail(pos_, "expected ',' or ']' in list");
        return false;
      }
    }
    if (!IdStart(c)) {
      Fail(pos_, "expected an attribute name or a literal, got '" + std::string(1, c) + "'");
      return false;
    }
    std::string id = Identifier();
    if (id == "true" || id == "false") {
      p->kind = Pipeline::kLiteral;
      p->literal = id;
      return true;
    }
    p->kind = Pipeline::kAttr;
    p->slot = Use(attrs_->Intern(id));
    return true;
  }

  bool ParseFilter(Pipeline* p) {
    SkipWs();
    size_t at = pos_;
    if (pos_ >= s_.size() || !IdStart(s_[pos_])) {
      Fail(pos_, "expected a filter name after '|'");
      return false;
    }
    std::string name = Identifier();
    const FilterSpec* spec = nullptr;
    for (const auto& f : kFilters) {
      if (name == f.name) spec = &f;
    }
    if (!spec) {
      std::vector<std::string> names;
      for (const auto& f : kFilters) names.emplace_back(f.name);
      std::string hint = config::Suggest(name, names);
      Fail(at, "unknown filter '" + name + "'" +
                   (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      return false;
    }
    Filter f;
    f.kind = spec->kind;
    std::vector<size_t> arg_pos;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      SkipWs();
      if (pos_ < s_.size() && s_[pos_] == ')') {
        ++pos_;
      } else {
        while (true) {
          SkipWs();
          arg_pos.push_back(pos_);
          auto lit = Literal();
          if (!lit) return false;
          f.args.push_back(*lit);
          SkipWs();
          if (pos_ < s_.size() && s_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < s_.size() && s_[pos_] == ')') {
            ++pos_;
            break;
          }
          Fail(pos_, "expected ',' or ')' in the arguments of '" + name + "'");
          return false;
        }
      }
    }
    int n = static_cast<int>(f.args.size());
    if (n < spec->min_args || n > spec->max_args) {
      Fail(at, "filter '" + name + "' takes " + std::to_string(spec->min_args) +
                   (spec->max_args != spec->min_args ? "-" + std::to_string(spec->max_args) : "") +
                   " argument(s), got " + std::to_string(n));
      return false;
    }
    if (f.kind == FilterKind::kReplace) {
      try {
        f.re = boost::regex(f.args[0], boost::regex::perl);
      } catch (const boost::regex_error& e) {
        Fail(arg_pos[0], std::string("invalid regular expression: ") + e.what());
        return false;
      }
    }
    if (f.kind == FilterKind::kSplit && f.args[0].empty()) {
      Fail(arg_pos[0], "split needs a non-empty separator");
      return false;
    }
    if (f.kind == FilterKind::kTruncate) {
      // from_chars, not stoul: a non-number here is a config error to
      // report, never an exception.
      const std::string& a = f.args[0];
      unsigned long n = 0;
      auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), n);
      if (ec != std::errc() || end != a.data() + a.size() || n == 0 || n > 999999) {
        Fail(arg_pos[0], "truncate needs a length between 1 and 999999");
        return false;
      }
      f.n = n;
      if (f.n == 0) {
        Fail(arg_pos[0], "truncate needs a length between 1 and 999999");
        return false;
      }
    }
    p->filters.push_back(std::move(f));
    return true;
  }

  bool ParsePipeline(Pipeline* p, bool in_cond) {
    if (!ParsePrimary(p, in_cond)) return false;
    while (true) {
      SkipWs();
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        if (!ParseFilter(p)) return false;
        continue;
      }
      return true;
    }
  }

  std::unique_ptr<Cond> ParseOr() {
    auto left = ParseAnd();
    while (left && PeekWord("or")) {
      pos_ += 2;
      auto right = ParseAnd();
      if (!right) return nullptr;
      auto c = std::make_unique<Cond>();
      c->op = Cond::kOr;
      c->a = std::move(left);
      c->b = std::move(right);
      left = std::move(c);
    }
    return left;
  }
  std::unique_ptr<Cond> ParseAnd() {
    auto left = ParseNot();
    while (left && PeekWord("and")) {
      pos_ += 3;
      auto right = ParseNot();
      if (!right) return nullptr;
      auto c = std::make_unique<Cond>();
      c->op = Cond::kAnd;
      c->a = std::move(left);
      c->b = std::move(right);
      left = std::move(c);
    }
    return left;
  }
  std::unique_ptr<Cond> ParseNot() {
    if (PeekWord("not")) {
      pos_ += 3;
      auto inner = ParseNot();
      if (!inner) return nullptr;
      auto c = std::make_unique<Cond>();
      c->op = Cond::kNot;
      c->a = std::move(inner);
      return c;
    }
    return ParseCmp();
  }
  std::unique_ptr<Cond> ParseCmp() {
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '(') {
      ++pos_;
      auto inner = ParseOr();
      if (!inner) return nullptr;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ')') {
        Fail(pos_, "expected ')'");
        return nullptr;
      }
      ++pos_;
      return inner;
    }
    auto c = std::make_unique<Cond>();
    if (!ParsePipeline(&c->lhs, true)) return nullptr;
    SkipWs();
    if (Peek("==")) {
      c->op = Cond::kEq;
      pos_ += 2;
    } else if (Peek("!=")) {
      c->op = Cond::kNe;
      pos_ += 2;
    } else if (Peek("=~")) {
      c->op = Cond::kMatch;
      pos_ += 2;
    } else if (PeekWord("in")) {
      c->op = Cond::kIn;
      pos_ += 2;
    } else if (PeekWord("not")) {
      size_t save = pos_;
      pos_ += 3;
      if (!PeekWord("in")) {
        pos_ = save;
        Fail(pos_, "expected 'not in'");
        return nullptr;
      }
      pos_ += 2;
      c->op = Cond::kNotIn;
    } else {
      c->op = Cond::kTruthy;
      return c;
    }
    SkipWs();
    size_t rhs_at = pos_;
    if (!ParsePipeline(&c->rhs, true)) return nullptr;
    if (c->op == Cond::kMatch) {
      if (c->rhs.kind != Pipeline::kLiteral || !c->rhs.filters.empty()) {
        Fail(rhs_at, "=~ needs a string literal (a regular expression) on its right");
        return nullptr;
      }
      try {
        c->re = boost::regex(c->rhs.literal, boost::regex::perl);
      } catch (const boost::regex_error& e) {
        Fail(rhs_at, std::string("invalid regular expression: ") + e.what());
        return nullptr;
      }
    }
    return c;
  }

  // Parses template text until EOF or a block keyword ({elif}, {else},
  // {end}); *stop receives the keyword ("" at EOF).
  std::unique_ptr<Template> ParseTemplate(std::string* stop) {
    auto t = std::make_unique<Template>();
    std::string text;
    auto flush = [&] {
      if (!text.empty()) {
        Part p;
        p.kind = Part::kText;
        p.text = std::move(text);
        t->parts.push_back(std::move(p));
        text.clear();
      }
    };
    stop->clear();
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '}') {
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '}') {
          text.push_back('}');
          pos_ += 2;
          continue;
        }
        Fail(pos_, "unmatched '}' (write '}}' for a literal brace)");
        return nullptr;
      }
      if (c != '{') {
        text.push_back(c);
        ++pos_;
        continue;
      }
      if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '{') {
        text.push_back('{');
        pos_ += 2;
        continue;
      }
      size_t open = pos_;
      ++pos_;
      flush();
      if (PeekWord("else") || PeekWord("end")) {
        std::string kw = Identifier();
        SkipWs();
        if (pos_ >= s_.size() || s_[pos_] != '}') {
          Fail(pos_, "expected '}' after '" + kw + "'");
          return nullptr;
        }
        ++pos_;
        *stop = kw;
        stop_pos_ = open;
        return t;
      }
      if (PeekWord("elif")) {
        pos_ += 4;
        *stop = "elif";
        stop_pos_ = open;
        return t;  // the caller parses the condition
      }
      if (PeekWord("if")) {
        pos_ += 2;
        Part part;
        part.kind = Part::kIf;
        while (true) {
          auto cond = ParseOr();
          if (!cond) return nullptr;
          SkipWs();
          if (pos_ >= s_.size() || s_[pos_] != '}') {
            Fail(pos_, "expected '}' after the condition");
            return nullptr;
          }
          ++pos_;
          std::string inner_stop;
          auto body = ParseTemplate(&inner_stop);
          if (!body) return nullptr;
          part.branches.emplace_back(std::move(cond), std::move(body));
          if (inner_stop == "elif") continue;
          if (inner_stop == "else") {
            std::string else_stop;
            part.otherwise = ParseTemplate(&else_stop);
            if (!part.otherwise) return nullptr;
            if (else_stop != "end") {
              Fail(open, else_stop.empty() ? "'{if}' without '{end}'"
                                           : "'{" + else_stop + "}' after '{else}'");
              return nullptr;
            }
            break;
          }
          if (inner_stop == "end") break;
          Fail(open, "'{if}' without '{end}'");
          return nullptr;
        }
        t->parts.push_back(std::move(part));
        continue;
      }
      Part part;
      part.kind = Part::kPipe;
      if (!ParsePipeline(&part.pipe, false)) return nullptr;
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '}') {
        Fail(pos_ < s_.size() ? pos_ : open,
             pos_ < s_.size() ? "expected '|' or '}'" : "unterminated '{'");
        return nullptr;
      }
      ++pos_;
      t->parts.push_back(std::move(part));
    }
    flush();
    return t;
  }

  int Use(int slot) {
    if (std::find(used_.begin(), used_.end(), slot) == used_.end()) used_.push_back(slot);
    return slot;
  }

  std::string_view s_;
  AttrTable* attrs_;
  std::vector<int> used_;
  size_t pos_ = 0;
  size_t stop_pos_ = 0;
  std::string error_;
  size_t error_pos_ = 0;
};
}  // namespace expr_detail

using namespace expr_detail;

Expr::~Expr() = default;

std::unique_ptr<Expr> Expr::Compile(std::string_view text, Mode mode, AttrTable* attrs,
                                    std::string* error, int* column) {
  Parser parser(text, attrs);
  std::unique_ptr<Expr> e(new Expr());
  e->mode_ = mode;
  if (mode == Mode::kCondition) {
    e->cond_ = parser.TopCond();
    if (!e->cond_ && !parser.failed()) {
      *error = "empty condition";
      *column = 1;
      return nullptr;
    }
  } else {
    e->tmpl_ = parser.TopTemplate();
  }
  if (parser.failed()) {
    *error = parser.error();
    *column = parser.column();
    return nullptr;
  }
  if (e->tmpl_ && e->tmpl_->parts.size() == 1 && e->tmpl_->parts[0].kind == Part::kPipe &&
      e->tmpl_->parts[0].pipe.kind == Pipeline::kAttr && e->tmpl_->parts[0].pipe.filters.empty()) {
    e->plain_slot_ = e->tmpl_->parts[0].pipe.slot;
  }
  e->slots_ = parser.used();
  return e;
}

}  // namespace idsync::connectors
