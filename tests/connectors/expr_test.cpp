#include <gtest/gtest.h>

#include "attrs.h"
#include "expr.h"

namespace idsync::connectors {
namespace {

class ExprTest : public ::testing::Test {
 protected:
  std::string Eval(const std::string& text) {
    auto e = Compile(text, Expr::Mode::kTemplate);
    if (!e) return "<compile error>";
    std::string err;
    std::string v = e->Eval(Rec(), &err);
    return err.empty() ? v : "<error: " + err + ">";
  }
  std::vector<std::string> List(const std::string& text) {
    auto e = Compile(text, Expr::Mode::kTemplate);
    std::string err;
    return e ? e->EvalList(Rec(), &err) : std::vector<std::string>{"<compile error>"};
  }
  bool Cond(const std::string& text) {
    auto e = Compile(text, Expr::Mode::kCondition);
    EXPECT_TRUE(e) << text;
    std::string err;
    return e && e->EvalBool(Rec(), &err);
  }
  std::string Error(const std::string& text, Expr::Mode mode = Expr::Mode::kTemplate) {
    std::string err;
    int col = 0;
    auto e = Expr::Compile(text, mode, &attrs_, &err, &col);
    if (e) return "<compiled>";
    return std::to_string(col) + ": " + err;
  }
  std::unique_ptr<Expr> Compile(const std::string& text, Expr::Mode mode) {
    std::string err;
    int col = 0;
    auto e = Expr::Compile(text, mode, &attrs_, &err, &col);
    EXPECT_TRUE(e) << text << " -> " << col << ": " << err;
    return e;
  }
  const OwnedRecord& Rec() {
    rec_ = OwnedRecord(attrs_.size());
    rec_.Add(attrs_.Intern("email"), "Ada.Lovelace@Example.com");
    rec_.Add(attrs_.Intern("first"), "  Ada ");
    rec_.Add(attrs_.Intern("status"), "terminated");
    rec_.Add(attrs_.Intern("empty"), "");
    rec_.Add(attrs_.Intern("groups"), "eng; ops ;;all");
    rec_.Add(attrs_.Intern("memberOf"), "cn=a");
    rec_.Add(attrs_.Intern("memberOf"), "cn=b");
    rec_.Add(attrs_.Intern("First Name"), "Zoë");
    rec_.Add(attrs_.Intern("phone"), "+86 138-0013-8000");
    return rec_;
  }
  AttrTable attrs_;
  OwnedRecord rec_;
};

TEST_F(ExprTest, PlainReferencesTakeTheFastPath) {
  auto e = Compile("{email}", Expr::Mode::kTemplate);
  EXPECT_EQ(e->plain_slot(), attrs_.Find("email"));
  EXPECT_EQ(Compile("{email | lower}", Expr::Mode::kTemplate)->plain_slot(), -1);
  EXPECT_EQ(Eval("{email}"), "Ada.Lovelace@Example.com");
  EXPECT_EQ(Eval("{missing}"), "");
  EXPECT_EQ(Eval("{`First Name`}"), "Zoë");
}

TEST_F(ExprTest, Filters) {
  EXPECT_EQ(Eval("{email | lower}"), "ada.lovelace@example.com");
  EXPECT_EQ(Eval("{email | upper}"), "ADA.LOVELACE@EXAMPLE.COM");
  EXPECT_EQ(Eval("[{first | trim}]"), "[Ada]");
  EXPECT_EQ(Eval("{email | local_part | lower}"), "ada.lovelace");
  EXPECT_EQ(Eval("{email | domain}"), "Example.com");
  EXPECT_EQ(Eval("{empty | default('n/a')}"), "n/a");
  EXPECT_EQ(Eval("{missing | default(\"x\")}"), "x");
  EXPECT_EQ(Eval("{first | default('x')}"), "  Ada ");
  EXPECT_EQ(Eval("{phone | replace('[^0-9]', '') }"), "8613800138000");
  EXPECT_EQ(Eval("{email | replace('^(\\w+)\\.(\\w+)@.*$', '$2_$1')}"), "Lovelace_Ada");
  EXPECT_EQ(List("{groups | split(';')}"), (std::vector<std::string>{"eng", "ops", "all"}));
  EXPECT_EQ(Eval("{groups | split(';') | join('+')}"), "eng+ops+all");
  EXPECT_EQ(Eval("{groups | split(';') | first}"), "eng");
  EXPECT_EQ(Eval("{groups | split(';') | last | upper}"), "ALL");
  EXPECT_EQ(Eval("{`First Name` | truncate(2)}"), "Zo");
  EXPECT_EQ(Eval("{{literal}} {first|trim}"), "{literal} Ada");
}

TEST_F(ExprTest, MultiValuedAttributes) {
  EXPECT_EQ(List("{memberOf}"), (std::vector<std::string>{"cn=a", "cn=b"}));
  EXPECT_EQ(Eval("{memberOf}"), "cn=a,cn=b");
  EXPECT_EQ(Eval("x{memberOf | join(';')}"), "xcn=a;cn=b");
  EXPECT_EQ(List("{memberOf | replace('cn=', 'g-')}"), (std::vector<std::string>{"g-a", "g-b"}));
  EXPECT_EQ(List("{empty}"), (std::vector<std::string>{}));
}

TEST_F(ExprTest, Conditions) {
  EXPECT_FALSE(Cond("{status} != 'terminated'"));
  EXPECT_TRUE(Cond("status == 'terminated'"));
  EXPECT_TRUE(Cond("status in ['left', 'terminated']"));
  EXPECT_FALSE(Cond("status not in ['left', 'terminated']"));
  EXPECT_TRUE(Cond("not (status == 'active') and email | lower =~ '@example\\.com$'"));
  EXPECT_FALSE(Cond("email =~ '@example\\.com$'"));
  EXPECT_TRUE(Cond("email | lower =~ 'example'"));
  EXPECT_TRUE(Cond("status == 'x' or first | trim == 'Ada'"));
  EXPECT_FALSE(Cond("empty"));
  EXPECT_TRUE(Cond("first"));
  EXPECT_TRUE(Cond("true"));
  EXPECT_FALSE(Cond("false"));
  EXPECT_TRUE(Cond("memberOf == 'cn=b'"));
  EXPECT_TRUE(Cond("missing == ''"));
}

TEST_F(ExprTest, IfElifElse) {
  EXPECT_EQ(Eval("{if status == 'terminated'}gone{else}here{end}"), "gone");
  EXPECT_EQ(Eval("a{if status == 'x'}1{elif first | trim == 'Ada'}2{else}3{end}b"), "a2b");
  EXPECT_EQ(Eval("{if empty}x{end}-"), "-");
  EXPECT_EQ(Eval("{if not empty}{email | local_part}{end}"), "Ada.Lovelace");
}

TEST_F(ExprTest, CompileErrorsNameTheColumn) {
  EXPECT_EQ(Error("{email | lowr}"), "10: unknown filter 'lowr' (did you mean 'lower'?)");
  EXPECT_EQ(Error("{email"), "1: unterminated '{'");
  EXPECT_EQ(Error("{email x}"), "8: expected '|' or '}'");
  EXPECT_EQ(Error("ab{email | default}"), "12: filter 'default' takes 1 argument(s), got 0");
  EXPECT_EQ(Error("{x | replace('(', 'y')}"), "14: invalid regular expression: Unmatched marking parenthesis ( or \\(.  The error occurred while parsing the regular expression: '(>>>HERE>>>'.");
  EXPECT_EQ(Error("x}"), "2: unmatched '}' (write '}}' for a literal brace)");
  EXPECT_EQ(Error("{if a}x"), "1: '{if}' without '{end}'");
  EXPECT_EQ(Error("{else}"), "1: '{else}' without a matching '{if}'");
  EXPECT_EQ(Error("{x | split('')}"), "12: split needs a non-empty separator");
  // Found by fuzz_expr: a non-number length used to throw out of the compiler.
  EXPECT_EQ(Error("{x | truncate('#')}"), "15: truncate needs a length between 1 and 999999");
  EXPECT_EQ(Error("{x | truncate('12x')}"), "15: truncate needs a length between 1 and 999999");
  EXPECT_EQ(Error("{x | truncate(0)}"), "15: truncate needs a length between 1 and 999999");
  EXPECT_EQ(Error("{'abc}"), "2: unterminated string literal");
  EXPECT_EQ(Error("ä{x | nope}"), "7: unknown filter 'nope'");
  EXPECT_EQ(Error("status = 'x'", Expr::Mode::kCondition), "8: unexpected '=' in condition");
  EXPECT_EQ(Error("a =~ b", Expr::Mode::kCondition), "6: =~ needs a string literal (a regular expression) on its right");
  EXPECT_EQ(Error("(a == 'b'", Expr::Mode::kCondition), "10: expected ')'");
}

TEST(Truthy, Values) {
  for (const char* t : {"true", "Yes", "1", "active", "Y"}) EXPECT_TRUE(Truthy(t)) << t;
  for (const char* f : {"", " ", "false", "NO", "n", "0", "off"}) EXPECT_FALSE(Truthy(f)) << f;
}

// Key recovery evaluates an expression over a malformed record only when it
// holds every attribute the expression refers to: none may be left out.
TEST_F(ExprTest, SlotsNameEveryAttributeReferredTo) {
  auto names = [&](const std::string& text, Expr::Mode mode) {
    auto e = Compile(text, mode);
    std::vector<std::string> out;
    if (e) {
      for (int slot : e->slots()) out.push_back(attrs_.name(slot));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("{id}", Expr::Mode::kTemplate), (V{"id"}));
  EXPECT_EQ(names("E{id}-{`dept code` | lower}{id}", Expr::Mode::kTemplate), (V{"id", "dept code"}));
  EXPECT_EQ(names("{if kind == 'x'}{a}{elif {b | trim} in ['y']}{'lit'}{else}{c}{end}", Expr::Mode::kTemplate),
            (V{"kind", "a", "b", "c"}));
  EXPECT_EQ(names("not (status =~ 'x') and mail", Expr::Mode::kCondition), (V{"status", "mail"}));
  EXPECT_EQ(names("{'constant'}", Expr::Mode::kTemplate), V{});
}

}  // namespace
}  // namespace idsync::connectors
