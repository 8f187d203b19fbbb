#include "compiler/syntax/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "compiler/model/value.h"
#include "OrderFlowLexer.h"
#include "OrderFlowParser.h"
#include "antlr4-runtime.h"

namespace orderflow::syntax {

using generated::OrderFlowLexer;
using generated::OrderFlowParser;
using P = OrderFlowParser;

namespace {

constexpr size_t kMaxSyntaxErrorsPerFile = 25;

// The generated classes keep their token names private; their vocabulary is
// reachable through an instance.
const antlr4::dfa::Vocabulary& vocabulary() {
  static antlr4::ANTLRInputStream empty("");
  static OrderFlowLexer lexer(&empty);
  return lexer.getVocabulary();
}
constexpr int kMaxNesting = 200;
// The largest policy file read: far beyond any written by hand (the 1,000-rule
// benchmark bundle is a few hundred KB), far below what would take the
// checker seconds and gigabytes.
constexpr size_t kMaxSourceBytes = 4u << 20;

// How a token is named in a message: keywords in quotes, the rest by what
// they are to an analyst.
std::string describe_token_type(size_t type) {
  switch (type) {
    case antlr4::Token::EOF: return "the end of the file";
    case P::IDENT: return "a name";
    case P::STRING: return "a quoted text";
    case P::RAW_STRING: return "a \"\"\" block";
    case P::INT: return "a number";
    case P::DECIMAL: return "a decimal number";
    case P::PERCENTAGE: return "a percentage";
    case P::MONEY: return "an amount of money";
    case P::DURATION: return "a duration";
    case P::DISTANCE: return "a distance";
    default: break;
  }
  std::string literal = vocabulary().getLiteralName(type);
  if (!literal.empty()) {
    // '->' becomes `->`: backquotes read better around symbols and keywords.
    return "`" + literal.substr(1, literal.size() - 2) + "`";
  }
  return vocabulary().getSymbolicName(type);
}

std::string describe_token(const antlr4::Token* t) {
  if (t->getType() == antlr4::Token::EOF) return "the end of the file";
  std::string text = t->getText();
  if (text.size() > 30) text = text.substr(0, 27) + "...";
  return "'" + text + "'";
}

SourceRange token_range(FileId file, const antlr4::Token* t) {
  SourceRange r;
  r.file = file;
  r.begin.line = static_cast<uint32_t>(t->getLine());
  r.begin.column = static_cast<uint32_t>(t->getCharPositionInLine()) + 1;
  if (t->getType() == antlr4::Token::EOF) {
    r.end = r.begin;
    r.end.column += 1;
    return r;
  }
  // Only these tokens can span lines (a raw string, a string with an
  // escaped line break, a line break itself); every other one ends on its
  // line, as many code points on as it holds, without building its text.
  size_t type = t->getType();
  if (type != P::RAW_STRING && type != P::STRING && type != P::UNTERMINATED_STRING && type != P::NEWLINE &&
      t->getStopIndex() >= t->getStartIndex()) {
    r.end.line = r.begin.line;
    r.end.column = r.begin.column + static_cast<uint32_t>(t->getStopIndex() - t->getStartIndex() + 1);
    return r;
  }
  std::string text = t->getText();
  size_t newline = text.rfind('\n');
  if (newline == std::string::npos) {
    r.end.line = r.begin.line;
    r.end.column = r.begin.column + static_cast<uint32_t>(utf8_length(text));
  } else {
    r.end.line = r.begin.line + static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n'));
    r.end.column = static_cast<uint32_t>(utf8_length(std::string_view(text).substr(newline + 1))) + 1;
  }
  return r;
}

class SyntaxErrorListener : public antlr4::BaseErrorListener {
 public:
  SyntaxErrorListener(FileId file, Diagnostics& diagnostics, bool& had_errors)
      : file_(file), diagnostics_(diagnostics), had_errors_(had_errors) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t, size_t, const std::string&,
                   std::exception_ptr) override {
    had_errors_ = true;
    if (!offending) return;
    // Stray characters and unclosed strings were reported when lexing.
    if (offending->getType() == P::UNKNOWN_CHAR || offending->getType() == P::UNTERMINATED_STRING) return;
    // One message per spot: recovery can stumble over the same token again.
    if (offending->getTokenIndex() == last_index_) return;
    last_index_ = offending->getTokenIndex();
    if (++count_ > kMaxSyntaxErrorsPerFile) {
      if (count_ == kMaxSyntaxErrorsPerFile + 1)
        diagnostics_.error("E0001", token_range(file_, offending), "too many syntax errors in this file; the rest are not shown");
      return;
    }
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    std::vector<std::string> expected;
    std::set<size_t> expected_types;
    if (parser) {
      for (ssize_t t : parser->getExpectedTokens().toList()) {
        expected_types.insert(static_cast<size_t>(t));
        std::string d = describe_token_type(static_cast<size_t>(t));
        if (std::find(expected.begin(), expected.end(), d) == expected.end()) expected.push_back(d);
      }
    }
    SourceRange where = token_range(file_, offending);
    std::string message;
    std::string hint;
    if (offending->getType() == P::ASSIGN) {
      message = "'=' does not compare values";
      hint = "write `is` or `==` to compare; `=` only gives a constant or a test its value";
    } else if (offending->getType() == antlr4::Token::EOF) {
      message = "the file ends in the middle of an item";
      if (!expected.empty() && expected.size() <= 6) hint = "expected " + join(expected);
    } else {
      message = "unexpected " + describe_token(offending);
      if (!expected.empty() && expected.size() <= 6) message += "; expected " + join(expected);
      size_t previous = previous_type(recognizer, offending);
      std::string money = currency_hint(previous_token(recognizer, offending), offending);
      if (!money.empty())
        hint = money;
      else if (previous == P::PERCENTAGE && offending->getType() != P::PERCENTAGE &&
          (offending->getType() == P::INT || offending->getType() == P::DECIMAL || offending->getType() == P::IDENT ||
           offending->getType() == P::LPAREN))
        hint = "a number with % right after it is a percentage (30% is 0.30); a remainder is written with spaces: "
               "`7 % 2`";
      else if (expected_types.count(P::THEN) && expected.size() <= 6)
        hint = "a rule reads `rule \"name\" when <condition> then <what to do>`";
      else if (expected_types.count(P::STRING) && expected.size() == 1)
        hint = "put the text in double quotes";
      else if (offending->getType() == P::IDENT && previous_is_number(recognizer, offending))
        hint = "a number takes its unit right after it: money as 10 INR (an ISO currency code), a duration as 24h, "
               "a distance as 15 km";
      else if (offending->getType() == P::IDENT && expected_types.count(P::AND))
        hint = "join conditions with `and` or `or`";
    }
    diagnostics_.error("E0001", where, message, hint);
  }

 private:
  // The token before the offending one on its line, or null.
  static antlr4::Token* previous_token(antlr4::Recognizer* recognizer, antlr4::Token* offending) {
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (!parser || offending->getTokenIndex() == 0) return nullptr;
    auto* stream = dynamic_cast<antlr4::BufferedTokenStream*>(parser->getTokenStream());
    if (!stream) return nullptr;
    for (size_t i = offending->getTokenIndex(); i-- > 0;) {
      antlr4::Token* t = stream->get(i);
      if (t->getChannel() != antlr4::Token::DEFAULT_CHANNEL) {
        if (t->getType() == P::NEWLINE) return nullptr;
        continue;
      }
      return t;
    }
    return nullptr;
  }

  // The type of the token before the offending one on its line, or 0.
  static size_t previous_type(antlr4::Recognizer* recognizer, antlr4::Token* offending) {
    antlr4::Token* t = previous_token(recognizer, offending);
    if (t) return t->getType();
    return 0;
  }

  // Money written the way people write it on paper, not as the language
  // reads it: `8000 INRR`, `8000 Rs`, `8000 inr`, `INR 8000`, `8,000 INR`.
  static std::string currency_hint(antlr4::Token* previous, antlr4::Token* offending) {
    if (!previous) return {};
    bool after_number = previous->getType() == P::INT || previous->getType() == P::DECIMAL;
    std::string word = offending->getText(), upper = word;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (after_number && offending->getType() == P::IDENT) {
      std::string amount = previous->getText();
      if (upper == "RS" || upper == "RUPEES" || upper == "RUPEE")
        return fmt::format("rupees are written with their ISO code: {} INR", amount);
      if (upper.size() == 3 && model::currency_from_code(upper))
        return fmt::format("a currency code is written in capitals: {} {}", amount, upper);
      if (upper.size() == 4 && model::currency_from_code(upper.substr(0, 3)))
        return fmt::format("did you mean {} {}? A currency is its three-letter ISO code", amount, upper.substr(0, 3));
    }
    if (after_number && offending->getType() == P::COMMA)
      return "write amounts without separators between thousands: 12500 INR, not 12,500 INR";
    if (previous->getType() == P::IDENT && (offending->getType() == P::INT || offending->getType() == P::DECIMAL) &&
        model::currency_from_code(previous->getText()))
      return fmt::format("the amount comes first: {} {}", offending->getText(), previous->getText());
    return {};
  }

  static bool previous_is_number(antlr4::Recognizer* recognizer, antlr4::Token* offending) {
    size_t type = previous_type(recognizer, offending);
    return type == P::INT || type == P::DECIMAL || type == P::PERCENTAGE;
  }

  static std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += (i + 1 == items.size()) ? " or " : ", ";
      out += items[i];
    }
    return out;
  }

  FileId file_;
  Diagnostics& diagnostics_;
  bool& had_errors_;
  size_t count_ = 0;
  size_t last_index_ = SIZE_MAX;
};

bool contains_error(antlr4::tree::ParseTree* tree) {
  if (!tree) return true;
  if (dynamic_cast<antlr4::tree::ErrorNode*>(tree)) return true;
  if (auto* ctx = dynamic_cast<antlr4::ParserRuleContext*>(tree)) {
    if (ctx->exception) return true;
  }
  for (auto* child : tree->children)
    if (contains_error(child)) return true;
  return false;
}

class AstBuilder {
 public:
  AstBuilder(FileId file, Diagnostics& diagnostics, antlr4::CommonTokenStream& tokens)
      : file_(file), diagnostics_(diagnostics), tokens_(tokens) {}

  void build(P::BundleFileContext* root, ParsedFile& out) {
    Policy* policy = nullptr;
    for (P::ItemContext* item : root->item()) {
      if (contains_error(item)) continue;
      if (auto* c = item->policyHeader()) {
        out.policies.push_back(policy_header(c));
        policy = &out.policies.back();
      } else if (auto* c = item->versionDecl()) {
        if (!policy) {
          outside_policy(range(c), "`version`");
        } else if (policy->version) {
          diagnostics_.error("E0006", range(c), "this policy's version is already given", "keep one `version` line");
        } else {
          policy->version = unquote(c->STRING()->getText());
          policy->version_range = range(c->STRING());
        }
      } else if (auto* c = item->ownerDecl()) {
        if (!policy) {
          outside_policy(range(c), "`owner`");
        } else if (policy->owner) {
          diagnostics_.error("E0006", range(c), "this policy's owner is already given", "keep one `owner` line");
        } else {
          policy->owner = unquote(c->STRING()->getText());
          policy->owner_range = range(c->STRING());
        }
      } else if (auto* c = item->timezoneDecl()) {
        out.timezones.push_back({unquote(c->STRING()->getText()), range(c->STRING())});
      } else if (auto* c = item->ruleDecl()) {
        if (!policy)
          outside_policy(range(c->RULE()), "a rule");
        else
          policy->rules.push_back(rule(c));
      } else if (auto* c = item->otherwiseDecl()) {
        if (!policy) {
          outside_policy(range(c->OTHERWISE()), "`otherwise`");
        } else {
          Otherwise o;
          o.range = range(c);
          for (auto* a : c->action()) o.actions.push_back(action(a));
          policy->otherwise.push_back(std::move(o));
        }
      } else if (auto* c = item->useDecl()) {
        out.uses.push_back(use(c));
      } else if (auto* c = item->constDecl()) {
        ConstDecl d;
        d.name = name(c->name());
        d.name_range = range(c->name());
        if (c->typeRef()) d.type = type_ref(c->typeRef());
        d.value = expr(c->expr());
        d.range = range(c);
        d.doc = doc_before(c);
        out.consts.push_back(std::move(d));
      } else if (auto* c = item->tableDecl()) {
        out.tables.push_back(table(c));
      } else if (auto* c = item->machineDecl()) {
        out.machines.push_back(machine(c));
      } else if (auto* c = item->recordDecl()) {
        out.records.push_back(record(c, c->name(), c->fieldDecl(), false));
      } else if (auto* c = item->extendRecordDecl()) {
        out.records.push_back(record(c, c->name(), c->fieldDecl(), true));
      } else if (auto* c = item->enumDecl()) {
        out.enums.push_back(enum_decl(c, c->enumName, c->values, false));
      } else if (auto* c = item->extendEnumDecl()) {
        out.enums.push_back(enum_decl(c, c->enumName, c->values, true));
      } else if (auto* c = item->testDecl()) {
        out.tests.push_back(test(c));
      }
    }
  }

 private:
  // ---------------------------------------------------------- ranges, names

  SourceRange range(antlr4::Token* t) const { return token_range(file_, t); }
  SourceRange range(antlr4::tree::TerminalNode* n) const { return token_range(file_, n->getSymbol()); }
  SourceRange range(antlr4::ParserRuleContext* ctx) const {
    SourceRange r = token_range(file_, ctx->getStart());
    antlr4::Token* stop = ctx->getStop();
    if (stop && stop->getTokenIndex() >= ctx->getStart()->getTokenIndex()) r.end = token_range(file_, stop).end;
    return r;
  }

  // The text of a one-token rule from its token (a rule context's getText
  // walks and joins its children).
  static std::string token_text(antlr4::ParserRuleContext* c) {
    if (!c) return {};
    return c->getStart() == c->getStop() ? c->getStart()->getText() : c->getText();
  }
  static std::string name(P::NameContext* c) { return token_text(c); }
  static std::string member_name(P::MemberNameContext* c) { return token_text(c); }

  void outside_policy(SourceRange where, const std::string& what) {
    diagnostics_.error("E0006", where, what + " must come after a `policy` line",
                       "start the file with `policy acceptance \"<title>\"` (or routing, or escalation)");
  }

  // Comment lines directly above an item, without a blank line between,
  // are its documentation.
  std::string doc_before(antlr4::ParserRuleContext* ctx) {
    size_t index = ctx->getStart()->getTokenIndex();
    std::vector<std::string> lines;
    int newlines = 0;
    for (size_t i = index; i-- > 0;) {
      antlr4::Token* t = tokens_.get(i);
      if (t->getType() == P::SPACE) continue;
      if (t->getType() == P::NEWLINE) {
        if (++newlines > 1) break;
        continue;
      }
      if (t->getType() != P::COMMENT) break;
      // A comment that ends a line of code documents that line, not this item.
      size_t j = i;
      while (j > 0 && tokens_.get(j - 1)->getType() == P::SPACE) --j;
      if (j > 0 && tokens_.get(j - 1)->getType() != P::NEWLINE) break;
      std::string text = t->getText().substr(1);
      if (!text.empty() && text[0] == ' ') text.erase(0, 1);
      lines.push_back(text);
      newlines = 0;
    }
    std::reverse(lines.begin(), lines.end());
    std::string doc;
    for (const std::string& l : lines) {
      if (!doc.empty()) doc += "\n";
      doc += l;
    }
    return doc;
  }

  // ---------------------------------------------------------- items

  Policy policy_header(P::PolicyHeaderContext* c) {
    Policy p;
    p.kind = name(c->name());
    p.kind_range = range(c->name());
    if (c->STRING()) p.title = unquote(c->STRING()->getText());
    p.range = range(c);
    p.doc = doc_before(c);
    return p;
  }

  Rule rule(P::RuleDeclContext* c) {
    Rule r;
    r.name = unquote(c->STRING()->getText());
    r.name_range = range(c->STRING());
    r.range = range(c);
    if (c->expr()) r.when = expr(c->expr());
    for (auto* a : c->action()) r.actions.push_back(action(a));
    r.doc = doc_before(c);
    return r;
  }

  Decision decision(P::DecisionContext* c) {
    Decision d;
    d.range = range(c);
    if (dynamic_cast<P::AcceptDecisionContext*>(c)) {
      d.kind = DecisionKind::Accept;
    } else if (auto* h = dynamic_cast<P::HoldDecisionContext*>(c)) {
      d.kind = DecisionKind::Hold;
      d.reason = unquote(h->STRING()->getText());
      d.reason_range = range(h->STRING());
      if (auto* limit = h->holdLimit()) {
        if (auto* f = dynamic_cast<P::HoldForContext*>(limit)) {
          d.hold_for = expr(f->expr());
        } else if (auto* u = dynamic_cast<P::HoldUntilContext*>(limit)) {
          d.hold_until = expr(u->expr());
          d.hold_until_range = range(u);
        } else if (auto* n = dynamic_cast<P::HoldUntilClockContext*>(limit)) {
          d.hold_until_range = range(n);
          d.hold_until_clock = clock_of_day(n->CLOCK());
        }
      }
      if (h->decision()) d.on_timeout = std::make_unique<Decision>(decision(h->decision()));
    } else if (auto* r = dynamic_cast<P::RejectDecisionContext*>(c)) {
      d.kind = DecisionKind::Reject;
      d.reason = unquote(r->STRING()->getText());
      d.reason_range = range(r->STRING());
    } else if (auto* x = dynamic_cast<P::CancelDecisionContext*>(c)) {
      d.kind = DecisionKind::Cancel;
      d.reason = unquote(x->STRING()->getText());
      d.reason_range = range(x->STRING());
    } else if (auto* a = dynamic_cast<P::ApproveDecisionContext*>(c)) {
      d.kind = DecisionKind::Approve;
      if (a->refundTiming()) d.refund = refund_timing(a->refundTiming());
      if (a->kept) {
        expect_word(a->kept, "item", "`keep item`: the customer keeps what they would have sent back");
        d.keep_item = true;
      }
    } else if (auto* r = dynamic_cast<P::RestockDecisionContext*>(c)) {
      d.kind = DecisionKind::Restock;
      if (r->STRING()) {
        d.restock_node = unquote(r->STRING()->getText());
        d.restock_node_range = range(r->STRING());
      }
    } else if (dynamic_cast<P::QuarantineDecisionContext*>(c)) {
      d.kind = DecisionKind::Quarantine;
    } else if (auto* w = dynamic_cast<P::WriteOffDecisionContext*>(c)) {
      d.kind = DecisionKind::WriteOff;
      expect_word(w->off, "off", "`write off`: the unit is lost to stock");
    } else if (auto* t = dynamic_cast<P::ReturnToDecisionContext*>(c)) {
      std::string where = name(t->destination);
      if (where == "origin") {
        d.kind = DecisionKind::ReturnToOrigin;
      } else {
        d.kind = DecisionKind::ReturnToVendor;
        expect_word(t->destination, "vendor",
                    "`return to vendor` sends a returned unit to its maker; `return to origin` sends an undelivered "
                    "order back");
      }
    } else if (dynamic_cast<P::ReattemptDecisionContext*>(c)) {
      d.kind = DecisionKind::Reattempt;
    } else if (auto* rs = dynamic_cast<P::RescheduleDecisionContext*>(c)) {
      d.kind = DecisionKind::Reschedule;
      d.reschedule_to = expr(rs->expr());
    } else {
      d.kind = DecisionKind::Backorder;
    }
    return d;
  }

  RefundTiming refund_timing(P::RefundTimingContext* c) {
    if (dynamic_cast<P::RefundNowContext*>(c)) return RefundTiming::Now;
    auto* after = dynamic_cast<P::RefundAfterContext*>(c);
    std::string when = name(after->when);
    if (when == "receipt") return RefundTiming::AfterReceipt;
    expect_word(after->when, "inspection", "a refund is made `now`, `after receipt` or `after inspection`");
    return RefundTiming::AfterInspection;
  }

  // A story step's `at "..."`, when written.
  void step_time(antlr4::tree::TerminalNode* at, StoryStep& s) {
    if (!at) return;
    s.at = unquote(at->getText());
    s.at_range = range(at);
  }

  // Words of the language that are not keywords (`write off`, `keep item`):
  // anything else in their place is a syntax error.
  void expect_word(P::NameContext* n, std::string_view word, std::string_view hint) {
    if (name(n) != word)
      diagnostics_.error("E0001", range(n), fmt::format("expected '{}' here, not '{}'", word, name(n)), std::string(hint));
  }

  Action action(P::ActionContext* c) {
    Action a;
    a.range = range(c);
    if (auto* d = dynamic_cast<P::DecisionActionContext*>(c)) {
      a.kind = ActionKind::Decision;
      a.decision = decision(d->decision());
    } else if (auto* s = dynamic_cast<P::SetPriorityActionContext*>(c)) {
      a.kind = ActionKind::SetPriority;
      a.value = expr(s->expr());
    } else if (auto* f = dynamic_cast<P::SetFieldActionContext*>(c)) {
      a.kind = ActionKind::SetField;
      a.field = f->field->getText();
      a.field_range = range(f->field);
      a.value = expr(f->expr());
    } else if (auto* t = dynamic_cast<P::TagActionContext*>(c)) {
      a.kind = ActionKind::Tag;
      a.value = expr(t->expr());
    } else if (auto* n = dynamic_cast<P::NotifyActionContext*>(c)) {
      a.kind = ActionKind::Notify;
      a.value = expr(n->target);
      if (n->priority) a.priority = expr(n->priority);
    } else if (auto* e = dynamic_cast<P::EscalateActionContext*>(c)) {
      a.kind = ActionKind::Escalate;
      a.value = expr(e->target);
      if (e->priority) a.priority = expr(e->priority);
    } else if (auto* r = dynamic_cast<P::RouteActionContext*>(c)) {
      a.kind = ActionKind::Route;
      a.route = route(r);
    } else if (auto* rf = dynamic_cast<P::RefundActionContext*>(c)) {
      a.kind = ActionKind::RefundShipping;
      expect_word(rf->what, "shipping", "`refund shipping`: the refund includes what the customer paid for shipping");
    } else if (auto* ch = dynamic_cast<P::ChargeActionContext*>(c)) {
      a.kind = ActionKind::Charge;
      if (ch->label) {
        a.field = name(ch->label);
        a.field_range = range(ch->label);
      }
      a.value = expr(ch->expr());
    }
    return a;
  }

  RouteSpec route(P::RouteActionContext* c) {
    RouteSpec r;
    if (c->expr()) r.filter = expr(c->expr());
    for (P::RouteClauseContext* clause : c->routeClause()) {
      if (auto* p = dynamic_cast<P::PreferClauseContext*>(clause)) {
        if (!r.prefer.empty()) r.repeated_clauses.push_back(range(p));
        r.prefer.clear();
        r.prefer_range = range(p);
        for (P::PreferenceContext* pc : p->preference()) {
          Preference pref;
          pref.range = range(pc);
          if (dynamic_cast<P::NearestPreferenceContext*>(pc)) {
            pref.kind = Preference::Kind::Nearest;
          } else if (dynamic_cast<P::CheapestPreferenceContext*>(pc)) {
            pref.kind = Preference::Kind::Cheapest;
          } else if (auto* l = dynamic_cast<P::LowestPreferenceContext*>(pc)) {
            pref.kind = Preference::Kind::Lowest;
            pref.expr = expr(l->expr());
          } else if (auto* h = dynamic_cast<P::HighestPreferenceContext*>(pc)) {
            pref.kind = Preference::Kind::Highest;
            pref.expr = expr(h->expr());
          }
          r.prefer.push_back(std::move(pref));
        }
      } else if (auto* n = dynamic_cast<P::NoSplitClauseContext*>(clause)) {
        if (r.split != RouteSpec::Split::Unspecified) r.repeated_clauses.push_back(range(n));
        r.split = RouteSpec::Split::None;
        r.split_range = range(n);
      } else if (auto* s = dynamic_cast<P::SplitClauseContext*>(clause)) {
        if (r.split != RouteSpec::Split::Unspecified) r.repeated_clauses.push_back(range(s));
        r.split = RouteSpec::Split::AtMost;
        r.split_limit = expr(s->expr());
        r.split_range = range(s);
      } else if (auto* k = dynamic_cast<P::SafetyStockClauseContext*>(clause)) {
        if (r.safety_stock) r.repeated_clauses.push_back(range(k));
        r.safety_stock = expr(k->expr());
        r.safety_stock_range = range(k);
      }
    }
    if (c->routeElse()) {
      r.has_else = true;
      r.else_range = range(c->routeElse());
      if (auto* d = dynamic_cast<P::ElseDecisionContext*>(c->routeElse()))
        r.else_decision = std::make_unique<Decision>(decision(d->decision()));
      else
        r.else_continue = true;
    }
    return r;
  }

  // `07:00` as milliseconds after midnight; a clock that does not exist
  // (`25:00`, `07:60`) is an error at it, read as midnight.
  int64_t clock_of_day(antlr4::tree::TerminalNode* clock) {
    std::string text = clock->getText();
    size_t colon = text.find(':');
    int hours = std::stoi(text.substr(0, colon)), minutes = std::stoi(text.substr(colon + 1));
    if (hours > 23 || minutes > 59) {
      diagnostics_.error("E0309", range(clock), fmt::format("{} is not a time of day", text),
                         "write hours 00 to 23 and minutes 00 to 59, as in 07:00 or 18:30");
      return 0;
    }
    return (static_cast<int64_t>(hours) * 60 + minutes) * 60'000;
  }

  UseDecl use(P::UseDeclContext* c) {
    UseDecl u;
    u.range = range(c);
    u.doc = doc_before(c);
    antlr4::tree::TerminalNode* path = nullptr;
    if (auto* l = dynamic_cast<P::UseListContext*>(c)) {
      u.kind = UseDecl::Kind::List;
      u.name = name(l->name());
      u.name_range = range(l->name());
      if (l->typeRef()) u.element = type_ref(l->typeRef());
      path = l->STRING();
    } else if (auto* g = dynamic_cast<P::UseGeoContext*>(c)) {
      u.kind = UseDecl::Kind::Geo;
      u.name = name(g->name());
      u.name_range = range(g->name());
      path = g->STRING();
    } else if (auto* r = dynamic_cast<P::UseRatesContext*>(c)) {
      u.kind = UseDecl::Kind::Rates;
      u.name = name(r->name());
      u.name_range = range(r->name());
      path = r->STRING();
    } else if (auto* t = dynamic_cast<P::UseTableContext*>(c)) {
      u.kind = UseDecl::Kind::Table;
      u.name = name(t->table);
      u.name_range = range(t->table);
      u.record = name(t->record);
      u.record_range = range(t->record);
      if (t->key) {
        u.key = name(t->key);
        u.key_range = range(t->key);
      }
      path = t->STRING();
    } else if (auto* n = dynamic_cast<P::UseNodesContext*>(c)) {
      u.kind = UseDecl::Kind::Nodes;
      u.name_range = range(n->NODES());
      path = n->STRING();
    } else if (auto* s = dynamic_cast<P::UseStockContext*>(c)) {
      u.kind = UseDecl::Kind::Stock;
      u.name_range = range(s->STOCK());
      path = s->STRING();
    } else if (auto* k = dynamic_cast<P::UseCalendarContext*>(c)) {
      u.kind = UseDecl::Kind::Calendar;
      u.name = name(k->name());
      u.name_range = range(k->name());
      path = k->STRING();
    } else if (auto* h = dynamic_cast<P::UseHoursContext*>(c)) {
      u.kind = UseDecl::Kind::Hours;
      u.name = name(h->name(0));
      u.name_range = range(h->name(0));
      if (h->closed) {
        u.closed_on = name(h->closed);
        u.closed_on_range = range(h->closed);
      }
      path = h->STRING();
    }
    if (path) {
      u.path = unquote(path->getText());
      u.path_range = range(path);
    }
    return u;
  }

  Table table(P::TableDeclContext* c) {
    Table t;
    t.name = name(c->name());
    t.name_range = range(c->name());
    t.range = range(c);
    t.doc = doc_before(c);
    for (P::TableParamContext* p : c->tableParam()) {
      TableParam param;
      param.name = name(p->name());
      param.name_range = range(p->name());
      param.type = type_ref(p->typeRef());
      t.params.push_back(std::move(param));
    }
    t.result = type_ref(c->typeRef());
    for (P::TableRowContext* r : c->tableRow()) {
      TableRow row;
      row.range = range(r);
      for (P::TableCellContext* cell : r->tableCell()) {
        TableCell tc;
        tc.range = range(cell);
        if (dynamic_cast<P::AnyCellContext*>(cell)) {
          tc.kind = TableCell::Kind::Any;
        } else if (dynamic_cast<P::RuleCellContext*>(cell)) {
          tc.kind = TableCell::Kind::Dashes;
        } else if (auto* cmp = dynamic_cast<P::CompareCellContext*>(cell)) {
          tc.kind = TableCell::Kind::Compare;
          tc.op = compare_op(cmp->op->getType());
          tc.expr = expr(cmp->expr());
        } else if (auto* n = dynamic_cast<P::NotCellContext*>(cell)) {
          tc.kind = TableCell::Kind::Not;
          tc.expr = expr(n->expr());
        } else if (auto* v = dynamic_cast<P::ValueCellContext*>(cell)) {
          tc.kind = TableCell::Kind::Value;
          tc.expr = expr(v->expr());
        }
        row.cells.push_back(std::move(tc));
      }
      t.rows.push_back(std::move(row));
    }
    return t;
  }

  NameRef name_ref(P::NameContext* c) { return {name(c), range(c)}; }

  Machine machine(P::MachineDeclContext* c) {
    Machine m;
    m.name = name(c->name());
    m.name_range = range(c->name());
    m.range = range(c);
    m.doc = doc_before(c);
    for (P::MachineItemContext* item : c->machineItem()) {
      if (auto* i = dynamic_cast<P::InitialStateContext*>(item)) {
        m.initial = name_ref(i->name());
      } else if (auto* t = dynamic_cast<P::TerminalStatesContext*>(item)) {
        for (auto* n : t->name()) m.terminals.push_back(name_ref(n));
      } else if (auto* tr = dynamic_cast<P::TransitionContext*>(item)) {
        Transition x;
        x.range = range(tr);
        if (auto* single = dynamic_cast<P::SingleStateContext*>(tr->stateSet()))
          x.sources.push_back(name_ref(single->name()));
        else if (auto* many = dynamic_cast<P::StateListContext*>(tr->stateSet()))
          for (auto* n : many->name()) x.sources.push_back(name_ref(n));
        for (auto* n : tr->targets) x.targets.push_back(name_ref(n));
        if (tr->event) x.event = name_ref(tr->event);
        if (tr->policy) x.by_policy = name_ref(tr->policy);
        if (tr->wait) x.after = expr(tr->wait);
        if (tr->guard) x.guard = expr(tr->guard);
        m.transitions.push_back(std::move(x));
      }
    }
    return m;
  }

  RecordDecl record(antlr4::ParserRuleContext* c, P::NameContext* n, const std::vector<P::FieldDeclContext*>& fields,
                    bool extend) {
    RecordDecl r;
    r.extend = extend;
    r.name = name(n);
    r.name_range = range(n);
    r.range = range(c);
    r.doc = doc_before(c);
    for (P::FieldDeclContext* f : fields) {
      FieldDecl fd;
      fd.name = name(f->name());
      fd.name_range = range(f->name());
      fd.type = type_ref(f->typeRef());
      fd.optional = f->QUESTION() != nullptr;
      if (f->expr()) fd.default_value = expr(f->expr());
      fd.range = range(f);
      fd.doc = doc_before(f);
      r.fields.push_back(std::move(fd));
    }
    return r;
  }

  EnumDecl enum_decl(antlr4::ParserRuleContext* c, P::NameContext* n, const std::vector<P::NameContext*>& values,
                     bool extend) {
    EnumDecl e;
    e.extend = extend;
    e.name = name(n);
    e.name_range = range(n);
    e.range = range(c);
    e.doc = doc_before(c);
    for (P::NameContext* v : values) e.values.push_back({name(v), range(v), {}});
    return e;
  }

  Test test(P::TestDeclContext* c) {
    Test t;
    t.name = unquote(c->STRING()->getText());
    t.name_range = range(c->STRING());
    t.range = range(c);
    for (P::TestClauseContext* clause : c->testClause()) {
      if (auto* f = dynamic_cast<P::TestOrderFileContext*>(clause); f && name(f->name()) == "history") {
        if (t.history_file)
          diagnostics_.error("E0803", range(clause), fmt::format("test \"{}\" already names its history", t.name),
                             "put every earlier order and event in one file");
        t.history_file = unquote(f->STRING()->getText());
        t.history_range = range(f->STRING());
        continue;
      }
      if ((dynamic_cast<P::TestOrderFileContext*>(clause) || dynamic_cast<P::TestOrderInlineContext*>(clause)) &&
          (t.order_file || t.order_inline)) {
        diagnostics_.error("E0803", range(clause), fmt::format("test \"{}\" already names its order", t.name),
                           "a test has one order; change its fields with `with`");
        continue;
      }
      if (auto* f = dynamic_cast<P::TestOrderFileContext*>(clause)) {
        check_order_word(f->name());
        t.order_file = unquote(f->STRING()->getText());
        t.order_range = range(f->STRING());
      } else if (auto* i = dynamic_cast<P::TestOrderInlineContext*>(clause)) {
        check_order_word(i->name());
        std::string raw = i->RAW_STRING()->getText();
        t.order_inline = raw.substr(3, raw.size() - 6);
        t.order_range = range(i->RAW_STRING());
      } else if (auto* w = dynamic_cast<P::TestWithContext*>(clause)) {
        for (P::AssignmentContext* a : w->assignment()) t.assignments.push_back(assignment(a));
      } else if (auto* at = dynamic_cast<P::TestAtContext*>(clause)) {
        // The story's start is an `at` before anything happens or is
        // expected; any later one moves the clock on.
        if (t.steps.empty() && t.expectations.empty() && !t.at) {
          t.at = unquote(at->STRING()->getText());
          t.at_range = range(at->STRING());
        } else {  // later in a story: the clock moves to then
          StoryStep s;
          s.kind = StoryStep::Kind::At;
          s.range = range(at);
          s.at = unquote(at->STRING()->getText());
          s.at_range = range(at->STRING());
          t.steps.push_back(std::move(s));
        }
      } else if (auto* ev = dynamic_cast<P::TestThenEventContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::Event;
        s.range = range(ev);
        s.event = name(ev->name());
        for (P::ReturnLineContext* l : ev->returnLine()) s.returned.push_back(story_line(l, "then event cancel of line \"1\" quantity 1"));
        step_time(ev->STRING(), s);
        t.steps.push_back(std::move(s));
      } else if (auto* up = dynamic_cast<P::TestThenUpdateContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::Update;
        s.range = range(up);
        for (P::AssignmentContext* a : up->assignment()) s.changes.push_back(assignment(a));
        step_time(up->STRING(), s);
        t.steps.push_back(std::move(s));
      } else if (auto* ret = dynamic_cast<P::TestThenReturnContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::Return;
        s.range = range(ret);
        for (P::ReturnLineContext* l : ret->returnLine())
          s.returned.push_back(story_line(l, "a return takes back units of lines: `then return of line \"1\" quantity 1`"));
        if (ret->word) {
          expect_word(ret->word, "reason", "`then return of line \"1\" reason size`");
          s.reason = name(ret->reason);
          s.reason_range = range(ret->reason);
        }
        step_time(ret->STRING(), s);
        t.steps.push_back(std::move(s));
      } else if (auto* grade = dynamic_cast<P::TestThenGradeContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::Grade;
        s.range = range(grade);
        for (P::GradedUnitContext* u : grade->gradedUnit()) {
          StoryStep::GradedUnit unit;
          unit.grade = name(u->grade);
          unit.range = range(u);
          if (u->word) {
            expect_word(u->word, "reason", "`then grade C reason defective`");
            unit.reason = name(u->reason);
          }
          s.grades.push_back(std::move(unit));
        }
        t.steps.push_back(std::move(s));
      } else if (auto* ndr = dynamic_cast<P::TestThenNdrContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::Ndr;
        s.range = range(ndr);
        s.reason = name(ndr->reason);
        s.reason_range = range(ndr->reason);
        if (ndr->word) {
          expect_word(ndr->word, "attempt", "`then ndr customer_unavailable attempt 2`");
          s.attempt = std::stoll(ndr->attempt->getText());
        }
        step_time(ndr->STRING(), s);
        t.steps.push_back(std::move(s));
      } else if (auto* routed = dynamic_cast<P::TestThenRoutedContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::Routed;
        s.range = range(routed);
        t.steps.push_back(std::move(s));
      } else if (auto* after = dynamic_cast<P::TestAfterContext*>(clause)) {
        StoryStep s;
        s.kind = StoryStep::Kind::After;
        s.range = range(after);
        s.after = expr(after->expr());
        t.steps.push_back(std::move(s));
      } else if (auto* e = dynamic_cast<P::TestExpectContext*>(clause)) {
        TestExpectation x;
        x.range = range(e);
        x.after_steps = t.steps.size();
        P::ExpectationContext* ex = e->expectation();
        if (auto* d = dynamic_cast<P::ExpectDecisionContext*>(ex)) {
          x.kind = TestExpectation::Kind::Decision;
          x.decision = decision(d->decision());
        } else if (auto* p = dynamic_cast<P::ExpectPriorityContext*>(ex)) {
          x.kind = TestExpectation::Kind::Priority;
          x.value = expr(p->expr());
        } else if (auto* tg = dynamic_cast<P::ExpectTagContext*>(ex)) {
          x.kind = TestExpectation::Kind::Tag;
          x.strings.push_back(unquote(tg->STRING()->getText()));
        } else if (auto* r = dynamic_cast<P::ExpectRouteContext*>(ex)) {
          x.kind = TestExpectation::Kind::Route;
          for (auto* s : r->STRING()) x.strings.push_back(unquote(s->getText()));
        } else if (auto* n = dynamic_cast<P::ExpectNotifyContext*>(ex)) {
          x.kind = TestExpectation::Kind::Notify;
          x.strings.push_back(unquote(n->STRING()->getText()));
        } else if (auto* es = dynamic_cast<P::ExpectEscalateContext*>(ex)) {
          x.kind = TestExpectation::Kind::Escalate;
          x.strings.push_back(unquote(es->STRING()->getText()));
        } else if (auto* th = dynamic_cast<P::ExpectThatContext*>(ex)) {
          x.kind = TestExpectation::Kind::That;
          x.value = expr(th->expr());
        } else if (auto* f = dynamic_cast<P::ExpectFieldContext*>(ex)) {
          std::string field = name(f->field);
          if (field != "delivery" && field != "refund")
            diagnostics_.error("E0001", range(f->field), fmt::format("a test cannot expect '{}'", field),
                               "expect a decision (accept, hold \"reason\", ...), priority, delivery, tag, route to, "
                               "notify, escalate to, state, return, disposition, refund, ndr, or that CONDITION");
          x.kind = field == "refund" ? TestExpectation::Kind::Refund : TestExpectation::Kind::Delivery;
          x.value = expr(f->expr());
        } else if (auto* rt = dynamic_cast<P::ExpectReturnContext*>(ex)) {
          x.kind = TestExpectation::Kind::Return;
          x.strings.push_back(name(rt->state));
          x.by_rule_range = range(rt->state);
          if (rt->refundTiming()) x.refund = refund_timing(rt->refundTiming());
          if (rt->kept) {
            expect_word(rt->kept, "item", "`expect return approved, keep item`");
            x.keep_item = true;
          }
        } else if (auto* dp = dynamic_cast<P::ExpectDispositionContext*>(ex)) {
          x.kind = TestExpectation::Kind::Disposition;
          x.decision = decision(dp->decision());
        } else if (auto* nd = dynamic_cast<P::ExpectNdrContext*>(ex)) {
          x.kind = TestExpectation::Kind::Ndr;
          x.decision = decision(nd->decision());
        } else if (auto* st = dynamic_cast<P::ExpectStateContext*>(ex)) {
          x.kind = TestExpectation::Kind::State;
          x.strings.push_back(name(st->name()));
          x.by_rule_range = range(st->name());
        } else if (auto* none = dynamic_cast<P::ExpectNoneContext*>(ex)) {
          switch (none->what->getType()) {
            case P::PRIORITY: x.kind = TestExpectation::Kind::NoPriority; break;
            case P::TAG: x.kind = TestExpectation::Kind::NoTag; break;
            case P::NOTIFY: x.kind = TestExpectation::Kind::NoNotify; break;
            default: x.kind = TestExpectation::Kind::NoEscalate; break;
          }
        }
        x.negated = e->NOT() != nullptr;
        if (e->STRING()) {
          x.by_rule = unquote(e->STRING()->getText());
          x.by_rule_range = range(e->STRING());
        }
        t.expectations.push_back(std::move(x));
      }
    }
    return t;
  }

  // `line "1" [quantity 2]`: units of a line in a story's step.
  StoryStep::ReturnedLine story_line(P::ReturnLineContext* l, const char* example) {
    expect_word(l->what, "line", example);
    StoryStep::ReturnedLine line;
    line.line_id = unquote(l->id->getText());
    line.range = range(l);
    if (l->word) {
      expect_word(l->word, "quantity", "`line \"1\" quantity 2`");
      line.quantity = std::stoll(l->quantity->getText());
    }
    return line;
  }

  // `order.ship_to.postal_code = "560034"`: a field a test sets on its order.
  TestAssignment assignment(P::AssignmentContext* a) {
    TestAssignment ta;
    ta.range = range(a);
    ta.path.push_back(name_ref(a->path()->name()));
    for (P::MemberNameContext* m : a->path()->memberName()) ta.path.push_back({member_name(m), range(m)});
    ta.value = expr(a->expr());
    return ta;
  }

  void check_order_word(P::NameContext* n) {
    if (name(n) != "order")
      diagnostics_.error("E0001", range(n), "unexpected '" + name(n) + "' in a test",
                         "a test names its order with `order from \"file.json\"` or `order \"\"\" {...} \"\"\"`, and what "
                         "came before it with `history from \"file.jsonl\"`");
  }

  std::unique_ptr<TypeRef> type_ref(P::TypeRefContext* c) {
    auto t = std::make_unique<TypeRef>();
    t->range = range(c);
    if (auto* l = dynamic_cast<P::ListTypeContext*>(c)) {
      t->kind = TypeRef::Kind::List;
      t->element = type_ref(l->typeRef());
    } else if (auto* s = dynamic_cast<P::SetTypeContext*>(c)) {
      t->kind = TypeRef::Kind::Set;
      t->element = type_ref(s->typeRef());
    } else if (auto* n = dynamic_cast<P::NamedTypeContext*>(c)) {
      t->kind = TypeRef::Kind::Named;
      t->name = name(n->name());
    }
    return t;
  }

  // ---------------------------------------------------------- expressions

  static BinaryOp compare_op(size_t token) {
    switch (token) {
      case P::LT: return BinaryOp::Lt;
      case P::LE: return BinaryOp::Le;
      case P::GT: return BinaryOp::Gt;
      case P::GE: return BinaryOp::Ge;
      case P::EQ: return BinaryOp::Eq;
      case P::NE: return BinaryOp::Ne;
      case P::PLUS: return BinaryOp::Add;
      case P::MINUS: return BinaryOp::Sub;
      case P::STAR: return BinaryOp::Mul;
      case P::SLASH: return BinaryOp::Div;
      case P::PERCENT: return BinaryOp::Mod;
      default: return BinaryOp::Eq;
    }
  }

  ExprPtr make(ExprKind kind, antlr4::ParserRuleContext* c) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->range = range(c);
    return e;
  }

  ExprPtr binary(antlr4::ParserRuleContext* c, BinaryOp op, P::ExprContext* l, P::ExprContext* r) {
    auto e = make(ExprKind::Binary, c);
    e->binary_op = op;
    e->args.push_back(expr(l));
    e->args.push_back(expr(r));
    return e;
  }

  ExprPtr expr(P::ExprContext* c) {
    struct DepthGuard {
      int& depth;
      explicit DepthGuard(int& d) : depth(++d) {}
      ~DepthGuard() { --depth; }
    } guard(depth_);
    if (depth_ > kMaxNesting) {
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::Name;
      e->range = range(c);
      if (!nesting_reported_) {
        nesting_reported_ = true;
        diagnostics_.error("E0004", range(c), "this expression is nested too deeply",
                           fmt::format("split it into constants or simpler rules (at most {} levels)", kMaxNesting));
      }
      return e;
    }
    if (auto* x = dynamic_cast<P::ParenExprContext*>(c)) {
      ExprPtr inner = expr(x->expr());
      inner->parenthesized = true;
      inner->range = range(x);
      return inner;
    }
    if (auto* x = dynamic_cast<P::MemberExprContext*>(c)) {
      auto e = make(ExprKind::Member, x);
      e->args.push_back(expr(x->expr()));
      e->text = member_name(x->memberName());
      e->name_range = range(x->memberName());
      return e;
    }
    if (auto* x = dynamic_cast<P::ComprehensionExprContext*>(c)) {
      // sum(line.quantity for line in order.lines where ...): a call of one
      // argument, the list the comprehension makes.
      auto call = make(ExprKind::Call, x);
      call->text = name(x->name(0));
      call->name_range = range(x->name(0));
      auto list = make(ExprKind::Comprehension, x);
      list->range = SourceRange::cover(range(x->expr(0)), range(x->expr().back()));
      list->text = name(x->name(1));
      list->name_range = range(x->name(1));
      for (auto* a : x->expr()) list->args.push_back(expr(a));
      call->args.push_back(std::move(list));
      return call;
    }
    if (auto* x = dynamic_cast<P::CallExprContext*>(c)) {
      auto e = make(ExprKind::Call, x);
      e->text = name(x->name());
      e->name_range = range(x->name());
      for (auto* a : x->expr()) e->args.push_back(expr(a));
      return e;
    }
    if (auto* x = dynamic_cast<P::NegateExprContext*>(c)) {
      auto e = make(ExprKind::Negate, x);
      e->args.push_back(expr(x->expr()));
      return e;
    }
    if (auto* x = dynamic_cast<P::MultiplyExprContext*>(c)) return binary(x, compare_op(x->op->getType()), x->expr(0), x->expr(1));
    if (auto* x = dynamic_cast<P::AddExprContext*>(c)) return binary(x, compare_op(x->op->getType()), x->expr(0), x->expr(1));
    if (auto* x = dynamic_cast<P::CompareExprContext*>(c))
      return binary(x, compare_op(x->op->getType()), x->expr(0), x->expr(1));
    if (auto* x = dynamic_cast<P::PresenceExprContext*>(c)) {
      auto e = make(ExprKind::Presence, x);
      e->negated = x->NOT() != nullptr;
      e->tests_present = x->PRESENT() != nullptr;
      e->args.push_back(expr(x->expr()));
      return e;
    }
    if (auto* x = dynamic_cast<P::IsExprContext*>(c)) {
      auto e = make(ExprKind::Is, x);
      e->negated = x->NOT() != nullptr;
      e->args.push_back(expr(x->expr(0)));
      e->args.push_back(expr(x->expr(1)));
      return e;
    }
    if (auto* x = dynamic_cast<P::InExprContext*>(c)) {
      auto e = make(ExprKind::In, x);
      e->negated = x->NOT() != nullptr;
      e->args.push_back(expr(x->expr(0)));
      e->args.push_back(expr(x->expr(1)));
      return e;
    }
    if (auto* x = dynamic_cast<P::MethodExprContext*>(c)) {
      auto e = make(ExprKind::Method, x);
      e->text = member_name(x->memberName());
      e->name_range = range(x->memberName());
      for (auto* a : x->expr()) e->args.push_back(expr(a));
      return e;
    }
    if (auto* x = dynamic_cast<P::MatchesExprContext*>(c)) {
      auto e = make(ExprKind::Matches, x);
      e->args.push_back(expr(x->expr(0)));
      e->args.push_back(expr(x->expr(1)));
      return e;
    }
    if (auto* x = dynamic_cast<P::NotExprContext*>(c)) {
      auto e = make(ExprKind::Not, x);
      e->args.push_back(expr(x->expr()));
      return e;
    }
    if (auto* x = dynamic_cast<P::AndExprContext*>(c)) return binary(x, BinaryOp::And, x->expr(0), x->expr(1));
    if (auto* x = dynamic_cast<P::OrExprContext*>(c)) return binary(x, BinaryOp::Or, x->expr(0), x->expr(1));
    if (auto* x = dynamic_cast<P::QuantifierExprContext*>(c)) {
      auto e = make(ExprKind::Quantifier, x);
      e->quantifier_all = x->quantifier->getType() == P::ALL;
      e->text = name(x->name());
      e->name_range = range(x->name());
      e->args.push_back(expr(x->expr(0)));
      e->args.push_back(expr(x->expr(1)));
      return e;
    }
    if (auto* x = dynamic_cast<P::ListExprContext*>(c)) {
      auto e = make(ExprKind::List, x);
      for (auto* a : x->expr()) e->args.push_back(expr(a));
      return e;
    }
    if (auto* x = dynamic_cast<P::LiteralExprContext*>(c)) return literal(x->literal());
    if (auto* x = dynamic_cast<P::NowExprContext*>(c)) return make(ExprKind::Now, x);
    if (auto* x = dynamic_cast<P::NodesExprContext*>(c)) return make(ExprKind::Nodes, x);
    if (auto* x = dynamic_cast<P::NameExprContext*>(c)) {
      auto e = make(ExprKind::Name, x);
      e->text = name(x->name());
      e->name_range = e->range;
      return e;
    }
    auto e = make(ExprKind::Name, c);
    return e;
  }

  ExprPtr literal(P::LiteralContext* c) {
    auto e = make(ExprKind::Literal, c);
    e->text = token_text(c);
    antlr4::Token* t = c->getStart();
    switch (t->getType()) {
      case P::INT: e->literal_kind = LiteralKind::Int; break;
      case P::DECIMAL: e->literal_kind = LiteralKind::Decimal; break;
      case P::PERCENTAGE: e->literal_kind = LiteralKind::Percentage; break;
      case P::MONEY: e->literal_kind = LiteralKind::Money; break;
      case P::DURATION: e->literal_kind = LiteralKind::Duration; break;
      case P::DISTANCE: e->literal_kind = LiteralKind::Distance; break;
      case P::STRING:
        e->literal_kind = LiteralKind::String;
        e->string_value = unquote(e->text);
        break;
      case P::TRUE:
      case P::FALSE: e->literal_kind = LiteralKind::Bool; break;
      default: break;
    }
    return e;
  }

  FileId file_;
  Diagnostics& diagnostics_;
  antlr4::CommonTokenStream& tokens_;
  int depth_ = 0;
  bool nesting_reported_ = false;
};

// Input that would recurse too deeply in ANTLR's own parser: brackets, and
// runs of prefix operators, nested beyond kMaxNesting.
class NestingWatch {
 public:
  // Whether the file is too deep once `t` is read.
  bool too_deep(const antlr4::Token& t) {
    switch (t.getType()) {
      case P::LPAREN:
      case P::LBRACK: ++depth_; break;
      case P::RPAREN:
      case P::RBRACK: depth_ = std::max(0, depth_ - 1); break;
      default: break;
    }
    if (t.getChannel() == antlr4::Token::DEFAULT_CHANNEL)
      prefix_run_ = (t.getType() == P::NOT || t.getType() == P::MINUS) ? prefix_run_ + 1 : 0;
    return depth_ > kMaxNesting || prefix_run_ > kMaxNesting;
  }

 private:
  int depth_ = 0;
  int prefix_run_ = 0;
};

void report_too_deep(const antlr4::Token& t, FileId file, Diagnostics& diagnostics) {
  diagnostics.error("E0004", token_range(file, &t), "this file nests brackets or operators too deeply to read",
                    fmt::format("at most {} levels", kMaxNesting));
}

bool nesting_too_deep(antlr4::CommonTokenStream& tokens, FileId file, Diagnostics& diagnostics) {
  NestingWatch watch;
  for (antlr4::Token* t : tokens.getTokens())
    if (watch.too_deep(*t)) {
      report_too_deep(*t, file, diagnostics);
      return true;
    }
  return false;
}

// A large file is looked at token by token, keeping none, before it is
// read whole: five million brackets are refused in a fraction of a second
// and a few MB, not after gigabytes of tokens.
bool large_and_too_deep(const std::string& text, FileId file, Diagnostics& diagnostics) {
  constexpr size_t kLarge = 64u << 10;
  if (text.size() < kLarge) return false;
  antlr4::ANTLRInputStream input(text);
  OrderFlowLexer lexer(&input);
  lexer.removeErrorListeners();
  NestingWatch watch;
  for (;;) {
    std::unique_ptr<antlr4::Token> t = lexer.nextToken();
    if (t->getType() == antlr4::Token::EOF) return false;
    if (watch.too_deep(*t)) {
      report_too_deep(*t, file, diagnostics);
      return true;
    }
  }
}

void report_lexical_errors(antlr4::CommonTokenStream& tokens, FileId file, Diagnostics& diagnostics, bool& had_errors) {
  const auto& all = tokens.getTokens();
  for (size_t i = 0; i < all.size(); ++i) {
    antlr4::Token* t = all[i];
    if (t->getType() == P::UNKNOWN_CHAR) {
      had_errors = true;
      // Report a run of stray characters (`&&`) once.
      SourceRange range = token_range(file, t);
      std::string text = t->getText();
      while (i + 1 < all.size() && all[i + 1]->getType() == P::UNKNOWN_CHAR) {
        ++i;
        text += all[i]->getText();
        range.end = token_range(file, all[i]).end;
      }
      std::string hint;
      if (text == "&" || text == "&&") hint = "write `and`";
      else if (text == "|" || text == "||") hint = "write `or`";
      else if (text == "!") hint = "write `not`, or `!=` for not equal";
      else if (text == "'") hint = "texts are written in double quotes";
      else if (text == "\u20b9" || text == "$" || text == "\u20ac" || text == "\u00a3")
        hint = "money is an amount and an ISO currency code after it: 8000 INR, 25 USD";
      else if (text.find("\xe2\x80\x9c") != std::string::npos || text.find("\xe2\x80\x9d") != std::string::npos)
        hint = "use straight double quotes (\"), not curly ones";
      diagnostics.error("E0003", range,
                        fmt::format("unexpected character{} '{}'", utf8_length(text) > 1 ? "s" : "", text), hint);
    } else if (t->getType() == P::UNTERMINATED_STRING) {
      had_errors = true;
      diagnostics.error("E0002", token_range(file, t), "this text has no closing quote",
                        "add a \" at the end of the text, on the same line");
    }
  }
}

TokenClass classify(size_t type) {
  if (type >= P::POLICY && type <= P::FALSE) return TokenClass::Keyword;
  switch (type) {
    case P::IDENT: return TokenClass::Name;
    case P::STRING:
    case P::RAW_STRING: return TokenClass::String;
    case P::INT:
    case P::DECIMAL:
    case P::PERCENTAGE: return TokenClass::Number;
    case P::MONEY: return TokenClass::Money;
    case P::DURATION: return TokenClass::Duration;
    case P::DISTANCE: return TokenClass::Distance;
    case P::COMMENT: return TokenClass::Comment;
    case P::NEWLINE:
    case P::SPACE: return TokenClass::Whitespace;
    case P::UNKNOWN_CHAR:
    case P::UNTERMINATED_STRING: return TokenClass::Invalid;
    case P::LPAREN:
    case P::RPAREN:
    case P::LBRACK:
    case P::RBRACK:
    case P::COMMA:
    case P::COLON:
    case P::DOT:
    case P::PIPE:
    case P::QUESTION: return TokenClass::Punctuation;
    default: return TokenClass::Operator;
  }
}

}  // namespace

std::string unquote(std::string_view quoted) {
  if (quoted.size() >= 2 && quoted.front() == '"' && quoted.back() == '"') quoted = quoted.substr(1, quoted.size() - 2);
  std::string out;
  out.reserve(quoted.size());
  for (size_t i = 0; i < quoted.size(); ++i) {
    char c = quoted[i];
    if (c == '\\' && i + 1 < quoted.size()) {
      char n = quoted[++i];
      switch (n) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        default: out += n; break;
      }
    } else {
      out += c;
    }
  }
  return out;
}

ParsedFile parse_file(const SourceManager& sources, FileId file, Diagnostics& diagnostics) {
  ParsedFile out;
  out.file = file;
  const SourceFile& source = sources.file(file);
  // Read on with such bytes as U+FFFD, so that the file's other mistakes are still found.
  if (report_not_utf8(source, file, diagnostics)) out.had_syntax_errors = true;
  if (source.text().size() > kMaxSourceBytes) {
    out.had_syntax_errors = true;
    diagnostics.error("E0008", SourceRange{file, {1, 1}, {1, 2}},
                      fmt::format("this file is {:.1f} MB; a policy file may be at most {} MB", source.text().size() / 1048576.0,
                                  kMaxSourceBytes >> 20),
                      "split it into several files of the bundle, or move its data into a data file (`use ...`)");
    return out;
  }
  if (large_and_too_deep(source.text(), file, diagnostics)) {
    out.had_syntax_errors = true;
    return out;
  }
  antlr4::ANTLRInputStream input(source.text());
  OrderFlowLexer lexer(&input);
  lexer.removeErrorListeners();
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();

  report_lexical_errors(tokens, file, diagnostics, out.had_syntax_errors);
  if (nesting_too_deep(tokens, file, diagnostics)) {
    out.had_syntax_errors = true;
    return out;
  }

  OrderFlowParser parser(&tokens);
  // Two stages: the fast SLL prediction parses almost every file; only a
  // file it cannot handle is parsed again with full LL and error reporting.
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  P::BundleFileContext* root = nullptr;
  try {
    root = parser.bundleFile();
  } catch (const antlr4::ParseCancellationException&) {
    root = nullptr;
  }
  SyntaxErrorListener listener(file, diagnostics, out.had_syntax_errors);
  if (!root || out.had_syntax_errors) {
    tokens.seek(0);
    parser.reset();
    parser.addErrorListener(&listener);
    parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
    root = parser.bundleFile();
  }
  AstBuilder(file, diagnostics, tokens).build(root, out);
  return out;
}

std::vector<Token> tokenize(const SourceManager& sources, FileId file) {
  antlr4::ANTLRInputStream input(sources.file(file).text());
  OrderFlowLexer lexer(&input);
  lexer.removeErrorListeners();
  antlr4::CommonTokenStream stream(&lexer);
  stream.fill();
  std::vector<Token> out;
  for (antlr4::Token* t : stream.getTokens()) {
    if (t->getType() == antlr4::Token::EOF) break;
    Token tok;
    tok.token_class = classify(t->getType());
    tok.kind = vocabulary().getSymbolicName(t->getType());
    tok.text = t->getText();
    tok.range = token_range(file, t);
    out.push_back(std::move(tok));
  }
  return out;
}

std::string dump_tokens(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (t.token_class == TokenClass::Whitespace) continue;
    out += fmt::format("{}:{} {} {}\n", t.range.begin.line, t.range.begin.column, t.kind, t.text);
  }
  return out;
}

const std::vector<std::string>& keywords() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> w;
    for (size_t t = P::POLICY; t <= P::FALSE; ++t) {
      std::string lit = vocabulary().getLiteralName(t);
      w.push_back(lit.substr(1, lit.size() - 2));
    }
    return w;
  }();
  return words;
}

}  // namespace orderflow::syntax
