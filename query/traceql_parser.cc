// ParseTraceQuery: TraceQL's spanset expressions and pipelines around `{ ... }` filters
// (docs/traceql.md). The filters themselves are ParseQuery's grammar (query/parser.cc).
//
// Precedence, loosest first: `|` (pipeline) < `||` < `&&` < the structural operators, which
// associate to the left: `{A} > {B} > {C}` is `({A} > {B}) > {C}`, the C spans whose parent is a
// B span whose parent is an A span. Parentheses group spanset expressions.

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/filter_parser.h"
#include "query/lexer.h"
#include "spanstore/traceql.h"

namespace spanstore {
namespace {

using query::ParseState;
using query::Token;
using query::TokenKind;

constexpr int kMaxDepth = 100;

class TraceQLParser {
 public:
  TraceQLParser(std::string_view text, const QueryLimits& limits) : st_(text), limits_(limits) {}

  absl::StatusOr<TraceQuery> Parse() {
    if (absl::Status s = Advance(); !s.ok()) return s;
    TraceQuery q;
    auto e = Or(0);
    if (!e.ok()) return e.status();
    q.spansets = *std::move(e);
    while (tok().kind == TokenKind::kPipe) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto stage = Stage();
      if (!stage.ok()) return stage.status();
      if (stage->kind == PipelineStage::Kind::kSelect) {
        for (const TraceQLField& f : stage->fields) q.selected.push_back(f);
      }
      q.pipeline.push_back(*std::move(stage));
    }
    if (tok().kind != TokenKind::kEnd) {
      return Error(tok(), absl::StrCat("expected '&&', '||', a structural operator (> >> < << ~), "
                                       "'|' or end of input, found ",
                                       query::Describe(tok())));
    }
    return q;
  }

 private:
  const Token& tok() const { return st_.tok; }
  absl::Status Advance() { return st_.lexer.Next(&st_.tok); }
  static absl::Status Error(const Token& at, std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", at.column, ": ", absl::string_view(what.data(), what.size())));
  }

  static SpansetExpr Node(SpansetOp op, SpansetExpr a, SpansetExpr b) {
    SpansetExpr n;
    n.op = op;
    n.children.push_back(std::move(a));
    n.children.push_back(std::move(b));
    return n;
  }

  absl::StatusOr<SpansetExpr> Or(int depth) {
    auto left = And(depth);
    while (left.ok() && tok().kind == TokenKind::kOr) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto right = And(depth);
      if (!right.ok()) return right;
      left = Node(SpansetOp::kOr, *std::move(left), *std::move(right));
    }
    return left;
  }

  absl::StatusOr<SpansetExpr> And(int depth) {
    auto left = Structural(depth);
    while (left.ok() && tok().kind == TokenKind::kAnd) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto right = Structural(depth);
      if (!right.ok()) return right;
      left = Node(SpansetOp::kAnd, *std::move(left), *std::move(right));
    }
    return left;
  }

  // The structural operator at the current token, consuming it; false when there is none.
  absl::StatusOr<bool> StructuralOp(SpansetExpr* node) {
    auto simple = [](TokenKind k, SpansetOp* op) {
      switch (k) {
        case TokenKind::kGt:
          *op = SpansetOp::kChild;
          return true;
        case TokenKind::kDescendant:
          *op = SpansetOp::kDescendant;
          return true;
        case TokenKind::kLt:
          *op = SpansetOp::kParent;
          return true;
        case TokenKind::kAncestor:
          *op = SpansetOp::kAncestor;
          return true;
        case TokenKind::kSibling:
          *op = SpansetOp::kSibling;
          return true;
        default:
          return false;
      }
    };
    const Token at = tok();
    if (simple(at.kind, &node->op)) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      return true;
    }
    if (at.kind == TokenKind::kNotRegex) {  // `!~` between spansets: not a sibling
      node->op = SpansetOp::kSibling;
      node->negated = true;
      if (absl::Status s = Advance(); !s.ok()) return s;
      return true;
    }
    if (at.kind == TokenKind::kNot) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      if (!simple(tok().kind, &node->op) || node->op == SpansetOp::kSibling) {
        return Error(at, absl::StrCat("expected a negated structural operator (!> !>> !< !<< !~), "
                                      "found '!' then ",
                                      query::Describe(tok())));
      }
      node->negated = true;
      if (absl::Status s = Advance(); !s.ok()) return s;
      return true;
    }
    if (at.kind == TokenKind::kUnionStructural) {
      const std::string& t = at.text;
      node->op = t == "&>"    ? SpansetOp::kChild
                 : t == "&>>" ? SpansetOp::kDescendant
                 : t == "&<"  ? SpansetOp::kParent
                 : t == "&<<" ? SpansetOp::kAncestor
                              : SpansetOp::kSibling;
      node->both = true;
      if (absl::Status s = Advance(); !s.ok()) return s;
      return true;
    }
    return false;
  }

  absl::StatusOr<SpansetExpr> Structural(int depth) {
    auto left = Primary(depth);
    while (left.ok()) {
      SpansetExpr node;
      auto is_op = StructuralOp(&node);
      if (!is_op.ok()) return is_op.status();
      if (!*is_op) break;
      auto right = Primary(depth);
      if (!right.ok()) return right;
      node.children.push_back(*std::move(left));
      node.children.push_back(*std::move(right));
      left = std::move(node);
    }
    return left;
  }

  absl::StatusOr<SpansetExpr> Primary(int depth) {
    if (depth > kMaxDepth) return Error(tok(), "expression nested too deeply");
    if (tok().kind == TokenKind::kLParen) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto inner = Or(depth + 1);
      if (!inner.ok()) return inner;
      if (tok().kind != TokenKind::kRParen) {
        return Error(tok(), absl::StrCat("expected ')', found ", query::Describe(tok())));
      }
      if (absl::Status s = Advance(); !s.ok()) return s;
      return inner;
    }
    if (tok().kind != TokenKind::kLBrace) {
      return Error(tok(), absl::StrCat("expected '{' to start a span filter or '(', found ",
                                       query::Describe(tok())));
    }
    auto filter = query::ParseSpanFilter(&st_, limits_);
    if (!filter.ok()) return filter.status();
    SpansetExpr leaf;
    leaf.filter = query::LiftConjuncts(*std::move(filter));
    return leaf;
  }

  // `( field, field... )` after by/select.
  absl::Status FieldList(std::vector<TraceQLField>* fields) {
    if (tok().kind != TokenKind::kLParen) {
      return Error(tok(), absl::StrCat("expected '(', found ", query::Describe(tok())));
    }
    do {
      if (absl::Status s = Advance(); !s.ok()) return s;
      TraceQLField f;
      if (absl::Status s = query::ParseFieldHere(&st_, limits_, &f); !s.ok()) return s;
      fields->push_back(std::move(f));
      if (absl::Status s = Advance(); !s.ok()) return s;
    } while (tok().kind == TokenKind::kComma);
    if (tok().kind != TokenKind::kRParen) {
      return Error(tok(), absl::StrCat("expected ',' or ')', found ", query::Describe(tok())));
    }
    return Advance();
  }

  absl::StatusOr<PipelineStage> Stage() {
    PipelineStage stage;
    if (tok().kind == TokenKind::kLBrace) {
      auto filter = query::ParseSpanFilter(&st_, limits_);
      if (!filter.ok()) return filter.status();
      stage.kind = PipelineStage::Kind::kFilter;
      stage.filter = query::LiftConjuncts(*std::move(filter));
      return stage;
    }
    const Token name = tok();
    if (name.kind != TokenKind::kIdentifier) {
      return Error(name, absl::StrCat("expected a pipeline stage (count(), avg(), min(), max(), "
                                      "sum(), by(), select() or a span filter), found ",
                                      query::Describe(name)));
    }
    if (absl::Status s = Advance(); !s.ok()) return s;
    if (name.text == "by" || name.text == "select") {
      stage.kind = name.text == "by" ? PipelineStage::Kind::kBy : PipelineStage::Kind::kSelect;
      if (absl::Status s = FieldList(&stage.fields); !s.ok()) return s;
      return stage;
    }
    static constexpr std::pair<const char*, AggregateFn> kFns[] = {{"count", AggregateFn::kCount},
                                                                   {"avg", AggregateFn::kAvg},
                                                                   {"min", AggregateFn::kMin},
                                                                   {"max", AggregateFn::kMax},
                                                                   {"sum", AggregateFn::kSum}};
    bool known = false;
    for (const auto& [n, fn] : kFns) {
      if (name.text == n) {
        stage.fn = fn;
        known = true;
      }
    }
    if (!known) {
      return Error(name, absl::StrCat("unknown pipeline stage '", name.text,
                                      "': expected count, avg, min, max, sum, by or select"));
    }
    stage.kind = PipelineStage::Kind::kAggregate;
    if (tok().kind != TokenKind::kLParen) {
      return Error(tok(), absl::StrCat("expected '(' after ", name.text, ", found ",
                                       query::Describe(tok())));
    }
    if (absl::Status s = Advance(); !s.ok()) return s;
    if (stage.fn != AggregateFn::kCount) {
      if (absl::Status s = query::ParseFieldHere(&st_, limits_, &stage.field); !s.ok()) return s;
      if (absl::Status s = Advance(); !s.ok()) return s;
    }
    if (tok().kind != TokenKind::kRParen) {
      return Error(tok(), absl::StrCat("expected ')', found ", query::Describe(tok())));
    }
    if (absl::Status s = Advance(); !s.ok()) return s;
    switch (tok().kind) {
      case TokenKind::kEq:
        stage.op = CompareOp::kEq;
        break;
      case TokenKind::kNe:
        stage.op = CompareOp::kNe;
        break;
      case TokenKind::kLt:
        stage.op = CompareOp::kLt;
        break;
      case TokenKind::kLe:
        stage.op = CompareOp::kLe;
        break;
      case TokenKind::kGt:
        stage.op = CompareOp::kGt;
        break;
      case TokenKind::kGe:
        stage.op = CompareOp::kGe;
        break;
      default:
        return Error(tok(), absl::StrCat("expected a comparison (= != < <= > >=) after ", name.text,
                                         "(), found ", query::Describe(tok())));
    }
    if (absl::Status s = Advance(); !s.ok()) return s;
    switch (tok().kind) {
      case TokenKind::kInt:
      case TokenKind::kDuration:
        stage.value = AnyValue::Int(tok().int_value);
        break;
      case TokenKind::kFloat:
        stage.value = AnyValue::Double(tok().float_value);
        break;
      default:
        return Error(tok(), absl::StrCat("expected a number or a duration to compare ", name.text,
                                         "() with, found ", query::Describe(tok())));
    }
    if (absl::Status s = Advance(); !s.ok()) return s;
    return stage;
  }

  ParseState st_;
  const QueryLimits& limits_;
};

}  // namespace

absl::StatusOr<TraceQuery> ParseTraceQuery(std::string_view text) {
  return ParseTraceQuery(text, QueryLimits());
}

absl::StatusOr<TraceQuery> ParseTraceQuery(std::string_view text, const QueryLimits& limits) {
  if (text.size() > limits.max_query_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("query of %d bytes is longer than the limit of %d bytes", text.size(),
                        limits.max_query_bytes));
  }
  TraceQLParser parser(text, limits);
  return parser.Parse();
}

}  // namespace spanstore
