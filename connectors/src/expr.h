// The mapping expression language (docs/mapping.md): templates with {attr}
// references, filter pipelines and {if}/{elif}/{else}/{end} blocks, and
// conditions (==, !=, =~, in, not in, and, or, not). An expression compiles
// once into a tree; evaluation allocates only for its result (a plain
// {column} reference copies the value and nothing else).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attrs.h"

namespace idsync::connectors {

namespace expr_detail {
struct Template;
struct Cond;
}  // namespace expr_detail

class Expr {
 public:
  enum class Mode { kTemplate, kCondition };

  // Compiles `text`. On error returns null and sets *error and *column
  // (1-based, in characters of `text`). Attribute names are interned in
  // `attrs`.
  static std::unique_ptr<Expr> Compile(std::string_view text, Mode mode,
                                       AttrTable* attrs, std::string* error,
                                       int* column);
  ~Expr();

  Mode mode() const { return mode_; }
  // Single string: a multi-valued result is joined with ",". Sets *error
  // (and returns "") when a filter fails at run time (e.g. a regex limit).
  std::string Eval(const AttrView& rec, std::string* error) const;
  // All values (a template that is exactly one pipeline keeps every value of
  // a multi-valued attribute; otherwise one value). Empty values dropped.
  std::vector<std::string> EvalList(const AttrView& rec, std::string* error) const;
  // Conditions evaluate directly; a template is true when its value is
  // truthy (not "", false, no, n, 0, off; case-insensitive).
  bool EvalBool(const AttrView& rec, std::string* error) const;
  // The attribute slot when the expression is a plain {attr}, else -1.
  int plain_slot() const { return plain_slot_; }
  // Every attribute slot the expression refers to. A caller that holds only
  // some of a record's attributes for certain (a malformed record) may
  // evaluate it only when all of these are among them.
  const std::vector<int>& slots() const { return slots_; }

 private:
  Expr() = default;
  Mode mode_ = Mode::kTemplate;
  int plain_slot_ = -1;
  std::vector<int> slots_;
  std::unique_ptr<expr_detail::Template> tmpl_;
  std::unique_ptr<expr_detail::Cond> cond_;
};

bool Truthy(std::string_view s);

}  // namespace idsync::connectors
