// ParseQuery: the TraceQL span filter `{ ... }` into a SpanQuery (docs/query_language.md).
//
// Recursive descent with precedence ! > comparison > && > ||, and a depth limit so that hostile
// input ("((((((...") cannot exhaust the stack.

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/filter_parser.h"
#include "query/lexer.h"
#include "query/span_matcher.h"
#include "spanstore/query.h"
#include "spanstore/traceql.h"

namespace spanstore {
namespace {

using query::Lexer;
using query::ParseState;
using query::Token;
using query::TokenKind;

constexpr int kMaxDepth = 100;

class Parser {
 public:
  Parser(ParseState* st, const QueryLimits& limits)
      : lexer_(st->lexer),
        tok_(st->tok),
        terms_(st->terms),
        regex_program_size_(st->regex_program_size),
        limits_(limits) {}

  absl::StatusOr<FilterExpr> Parse() {
    absl::Status s = Advance();
    if (!s.ok()) return s;
    auto expr = ParseBraced();
    if (!expr.ok()) return expr;
    if (tok_.kind != TokenKind::kEnd) {
      return Error(tok_, absl::StrCat("expected end of input after '}', found ", Describe(tok_),
                                      " (ParseQuery takes one span filter; ParseTraceQuery the "
                                      "whole of TraceQL)"));
    }
    return expr;
  }

  // `{ ... }` from the current token; leaves the token after '}' current.
  absl::StatusOr<FilterExpr> ParseBraced() {
    if (tok_.kind != TokenKind::kLBrace) return Expected("'{' to start the span filter");
    absl::Status s = Advance();
    if (!s.ok()) return s;
    FilterExpr expr;
    if (tok_.kind == TokenKind::kRBrace) {
      expr.kind = FilterExpr::Kind::kTrue;  // { } matches every span
    } else {
      auto e = Or(0);
      if (!e.ok()) return e.status();
      expr = std::move(*e);
      if (tok_.kind != TokenKind::kRBrace) return Expected("'&&', '||' or '}'");
    }
    if (s = Advance(); !s.ok()) return s;
    return expr;
  }

 private:
  absl::Status Advance() { return lexer_.Next(&tok_); }

  absl::Status Error(const Token& at, std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", at.column, ": ", absl::string_view(what.data(), what.size())));
  }
  absl::Status Expected(std::string_view what) {
    return Error(tok_, absl::StrCat("expected ", absl::string_view(what.data(), what.size()),
                                    ", found ", Describe(tok_)));
  }

  absl::StatusOr<FilterExpr> Or(int depth) {
    return Chain(TokenKind::kOr, FilterExpr::Kind::kOr, [&] { return And(depth); });
  }

  absl::StatusOr<FilterExpr> And(int depth) {
    return Chain(TokenKind::kAnd, FilterExpr::Kind::kAnd, [&] { return Unary(depth); });
  }

  // `operand (op operand)*`: one node of `kind` holding the operands, or the lone operand.
  template <typename Operand>
  absl::StatusOr<FilterExpr> Chain(TokenKind op, FilterExpr::Kind kind, Operand operand) {
    auto left = operand();
    if (!left.ok() || tok_.kind != op) return left;
    FilterExpr node;
    node.kind = kind;
    node.children.push_back(std::move(*left));
    while (tok_.kind == op) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto right = operand();
      if (!right.ok()) return right;
      node.children.push_back(std::move(*right));
    }
    return node;
  }

  absl::StatusOr<FilterExpr> Unary(int depth) {
    if (depth > kMaxDepth) return Error(tok_, "expression nested too deeply");
    if (tok_.kind == TokenKind::kNot) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto inner = Unary(depth + 1);
      if (!inner.ok()) return inner;
      FilterExpr node;
      node.kind = FilterExpr::Kind::kNot;
      node.children.push_back(std::move(*inner));
      return node;
    }
    if (tok_.kind == TokenKind::kLParen) {
      if (absl::Status s = Advance(); !s.ok()) return s;
      auto inner = Or(depth + 1);
      if (!inner.ok()) return inner;
      if (tok_.kind != TokenKind::kRParen) return Expected("')'");
      if (absl::Status s = Advance(); !s.ok()) return s;
      return inner;
    }
    if (tok_.kind == TokenKind::kIdentifier && (tok_.text == "true" || tok_.text == "false")) {
      FilterExpr node;  // a bare boolean literal
      node.kind = FilterExpr::Kind::kTrue;
      if (tok_.text == "false") {
        FilterExpr negated;
        negated.kind = FilterExpr::Kind::kNot;
        negated.children.push_back(std::move(node));
        node = std::move(negated);
      }
      if (absl::Status s = Advance(); !s.ok()) return s;
      return node;
    }
    return Comparison();
  }

 public:
  // The current token as a pipeline's field (no Advance).
  absl::Status ParseFieldHere(TraceQLField* out) {
    auto f = ParseField();
    if (!f.ok()) return f.status();
    out->is_attribute = f->is_attribute;
    out->intrinsic = f->intrinsic;
    out->scope = f->scope;
    out->key = f->key;
    out->text = tok_.text;
    return absl::OkStatus();
  }

 private:
  // A field: an intrinsic or a scoped attribute.
  struct Field {
    bool is_attribute = false;
    Intrinsic intrinsic = Intrinsic::kName;
    AttributeScope scope = AttributeScope::kAny;
    std::string key;
  };

  absl::StatusOr<Field> ParseField() {
    if (tok_.kind != TokenKind::kIdentifier) {
      return Expected("a field such as name, duration, status, span.<attribute>");
    }
    const std::string& t = tok_.text;
    Field f;
    struct Named {
      const char* name;
      Intrinsic intrinsic;
    };
    static constexpr Named kIntrinsics[] = {
        {"name", Intrinsic::kName},
        {"span:name", Intrinsic::kName},
        {"status", Intrinsic::kStatus},
        {"span:status", Intrinsic::kStatus},
        {"kind", Intrinsic::kKind},
        {"span:kind", Intrinsic::kKind},
        {"duration", Intrinsic::kDuration},
        {"span:duration", Intrinsic::kDuration},
        {"statusMessage", Intrinsic::kStatusMessage},
        {"span:statusMessage", Intrinsic::kStatusMessage},
        {"resource.service.name", Intrinsic::kServiceName},
        {"trace:id", Intrinsic::kTraceId},
        {"span:id", Intrinsic::kSpanId},
        {"span:parentID", Intrinsic::kParentSpanId},
        {"event:name", Intrinsic::kEventName},
        {"instrumentation:name", Intrinsic::kScopeName},
        {"instrumentation:version", Intrinsic::kScopeVersion},
        {"link:traceID", Intrinsic::kLinkTraceId},
        {"link:spanID", Intrinsic::kLinkSpanId},
        {"trace:duration", Intrinsic::kTraceDuration},
        {"trace:rootService", Intrinsic::kTraceRootService},
        {"trace:rootName", Intrinsic::kTraceRootName},
        // Tempo's older unscoped names of the trace intrinsics.
        {"traceDuration", Intrinsic::kTraceDuration},
        {"rootServiceName", Intrinsic::kTraceRootService},
        {"rootName", Intrinsic::kTraceRootName},
        // select() only (NestedSetParentComparison takes nestedSetParent in a filter).
        {"nestedSetLeft", Intrinsic::kNestedSetLeft},
        {"nestedSetRight", Intrinsic::kNestedSetRight},
        {"nestedSetParent", Intrinsic::kNestedSetParent},
    };
    for (const Named& n : kIntrinsics) {
      if (t == n.name) {
        f.intrinsic = n.intrinsic;
        return f;
      }
    }
    auto strip_quotes = [](std::string key) {
      if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
        key = key.substr(1, key.size() - 2);
      }
      return key;
    };
    f.is_attribute = true;
    if (t.rfind("span.", 0) == 0) {
      f.scope = AttributeScope::kSpan;
      f.key = t.substr(5);
    } else if (t.rfind("resource.", 0) == 0) {
      f.scope = AttributeScope::kResource;
      f.key = t.substr(9);
    } else if (t.rfind("event.", 0) == 0) {
      f.scope = AttributeScope::kEvent;
      f.key = t.substr(6);
    } else if (t.rfind("link.", 0) == 0) {
      f.scope = AttributeScope::kLink;
      f.key = t.substr(5);
    } else if (t.rfind("instrumentation.", 0) == 0) {
      f.scope = AttributeScope::kInstrumentation;
      f.key = t.substr(16);
    } else if (t.rfind(".", 0) == 0) {
      f.scope = AttributeScope::kAny;
      f.key = t.substr(1);
    } else {
      return Error(tok_, absl::StrCat("unknown field '", t,
                                      "': attributes need a scope (span., resource., event., "
                                      "link., instrumentation. or .); intrinsics are name, "
                                      "status, kind, duration, statusMessage, span:id, "
                                      "span:parentID, event:name, instrumentation:name, "
                                      "instrumentation:version, link:traceID, link:spanID, "
                                      "trace:id, trace:duration, trace:rootName, "
                                      "trace:rootService"));
    }
    f.key = strip_quotes(f.key);
    if (f.key.empty()) return Error(tok_, "attribute name is empty");
    return f;
  }

  // `nestedSetParent OP n`. Tempo numbers a trace's spans as a nested set, and a root's
  // parent number is -1 while every other span's is its parent's left number (>= 1). Blocks do
  // not keep the numbering, only whether a span is a root, so a comparison is accepted when
  // that decides it for every span -- which covers what Grafana sends ("nestedSetParent<0"
  // for root spans) -- and is an error naming the field otherwise.
  absl::StatusOr<FilterExpr> NestedSetParentComparison() {
    const Token field_token = tok_;
    if (absl::Status s = Advance(); !s.ok()) return s;
    const Token op_token = tok_;
    if (absl::Status s = Advance(); !s.ok()) return s;
    if (tok_.kind != TokenKind::kInt) return Expected("an integer to compare nestedSetParent with");
    const int64_t n = tok_.int_value;
    if (absl::Status s = Advance(); !s.ok()) return s;
    static constexpr std::pair<TokenKind, CompareOp> kOps[] = {
        {TokenKind::kEq, CompareOp::kEq}, {TokenKind::kNe, CompareOp::kNe},
        {TokenKind::kLt, CompareOp::kLt}, {TokenKind::kLe, CompareOp::kLe},
        {TokenKind::kGt, CompareOp::kGt}, {TokenKind::kGe, CompareOp::kGe}};
    const auto* op = std::find_if(std::begin(kOps), std::end(kOps),
                                  [&](const auto& o) { return o.first == op_token.kind; });
    // holds(v): the comparison for a span whose nestedSetParent is v.
    auto holds = [&](int64_t v) -> std::optional<bool> {
      if (op == std::end(kOps)) return std::nullopt;
      return CompareNumbers(static_cast<double>(v), op->second, static_cast<double>(n));
    };
    const std::optional<bool> root = holds(-1);
    if (!root.has_value()) {
      return Error(op_token, "nestedSetParent is compared with =, !=, <, <=, > or >=");
    }
    // A non-root's number is some value >= 1: the answer must be the same for all of them.
    const bool child = *holds(1);
    if (n > 1 || (n == 1 && (op_token.kind == TokenKind::kEq || op_token.kind == TokenKind::kNe ||
                             op_token.kind == TokenKind::kGt || op_token.kind == TokenKind::kLe))) {
      return Error(field_token,
                   "nestedSetParent can only be compared with -1, 0 or 1 here: the store keeps "
                   "which spans are roots (nestedSetParent -1), not the nested-set numbers");
    }
    FilterExpr e;
    if (*root == child) {
      if (!*root) {
        FilterExpr never;
        never.kind = FilterExpr::Kind::kNot;
        never.children.push_back(std::move(e));
        return never;
      }
      return e;  // kTrue
    }
    e.kind = FilterExpr::Kind::kIntrinsic;
    e.intrinsic = Intrinsic::kParentSpanId;
    e.op = *root ? CompareOp::kEq : CompareOp::kNe;
    e.value = AnyValue::String("");  // roots have no parent id
    return e;
  }

  absl::StatusOr<FilterExpr> Comparison() {
    const Token field_token = tok_;
    if (++terms_ > limits_.max_terms) {
      return Error(tok_,
                   absl::StrFormat("too many comparisons: the limit is %d", limits_.max_terms));
    }
    if (tok_.kind == TokenKind::kIdentifier &&
        (tok_.text == "nestedSetParent" || tok_.text == "span:nestedSetParent")) {
      return NestedSetParentComparison();
    }
    auto field = ParseField();
    if (!field.ok()) return field.status();
    if (!field->is_attribute && (field->intrinsic == Intrinsic::kNestedSetLeft ||
                                 field->intrinsic == Intrinsic::kNestedSetRight)) {
      return Error(tok_,
                   "nestedSetLeft and nestedSetRight can be selected, not compared: the "
                   "store does not keep the nested-set numbers");
    }
    if (absl::Status s = Advance(); !s.ok()) return s;

    CompareOp op;
    switch (tok_.kind) {
      case TokenKind::kEq:
        op = CompareOp::kEq;
        break;
      case TokenKind::kNe:
        op = CompareOp::kNe;
        break;
      case TokenKind::kLt:
        op = CompareOp::kLt;
        break;
      case TokenKind::kLe:
        op = CompareOp::kLe;
        break;
      case TokenKind::kGt:
        op = CompareOp::kGt;
        break;
      case TokenKind::kGe:
        op = CompareOp::kGe;
        break;
      case TokenKind::kRegex:
        op = CompareOp::kRegex;
        break;
      case TokenKind::kNotRegex:
        op = CompareOp::kNotRegex;
        break;
      default:
        return Expected(absl::StrCat("a comparison operator after '", field_token.text,
                                     "' (=, !=, <, <=, >, >=, =~, !~)"));
    }
    const Token op_token = tok_;
    if (absl::Status s = Advance(); !s.ok()) return s;
    const Token value_token = tok_;
    auto value = Value(*field, op);
    if (!value.ok()) return value.status();
    if (absl::Status s = Advance(); !s.ok()) return s;

    FilterExpr e;
    std::shared_ptr<const Regex> regex;
    if (op == CompareOp::kRegex || op == CompareOp::kNotRegex) {
      if (value->type() != AnyValue::Type::kString) {
        return Error(value_token, "a regular expression must be a quoted string");
      }
      auto compiled = Regex::Compile(value->string_value());
      if (!compiled.ok()) {
        return Error(value_token, std::string(compiled.status().message()));
      }
      regex = *compiled;
      const int size = regex->ProgramSize();
      if (size > limits_.max_regex_program_size) {
        return Error(value_token,
                     absl::StrFormat("regular expression too complex: its program has %d "
                                     "states, more than the limit of %d",
                                     size, limits_.max_regex_program_size));
      }
      regex_program_size_ += size;
      if (regex_program_size_ > limits_.max_total_regex_program_size) {
        return Error(value_token, absl::StrFormat("the query's regular expressions are too complex "
                                                  "together: more than %d program states",
                                                  limits_.max_total_regex_program_size));
      }
    }
    const bool is_nil = value->empty();
    if (is_nil && op != CompareOp::kEq && op != CompareOp::kNe) {
      return Error(op_token, "nil can only be compared with = or !=");
    }
    if (field->is_attribute) {
      e.kind = FilterExpr::Kind::kAttribute;
      e.attribute.scope = field->scope;
      e.attribute.key = field->key;
      e.attribute.op = is_nil ? CompareOp::kExists : op;
      e.attribute.value = *value;
      e.attribute.regex = regex;
      if (is_nil && op == CompareOp::kEq) {  // `= nil`: the attribute is absent
        FilterExpr absent;
        absent.kind = FilterExpr::Kind::kNot;
        absent.children.push_back(std::move(e));
        return absent;
      }
      return e;
    }
    if (is_nil) return Error(value_token, "intrinsics are never nil");
    e.kind = FilterExpr::Kind::kIntrinsic;
    e.intrinsic = field->intrinsic;
    e.op = op;
    e.value = *value;
    e.regex = regex;
    return e;
  }

  static const char* FieldName(const Field& f) {
    switch (f.intrinsic) {
      case Intrinsic::kName:
        return "name";
      case Intrinsic::kStatusMessage:
        return "statusMessage";
      case Intrinsic::kServiceName:
        return "resource.service.name";
      case Intrinsic::kTraceId:
        return "trace:id";
      case Intrinsic::kSpanId:
        return "span:id";
      case Intrinsic::kParentSpanId:
        return "span:parentID";
      default:
        return "the field";
    }
  }

  // The literal after an operator, checked against the field's type.
  absl::StatusOr<AnyValue> Value(const Field& field, CompareOp op) {
    const Token& t = tok_;
    auto enum_only = [&](std::string_view what) -> absl::Status {
      if (op != CompareOp::kEq && op != CompareOp::kNe) {
        return Error(t, absl::StrCat(absl::string_view(what.data(), what.size()),
                                     " can only be compared with = or !="));
      }
      return absl::OkStatus();
    };
    if (!field.is_attribute && field.intrinsic == Intrinsic::kStatus) {
      if (absl::Status s = enum_only("status"); !s.ok()) return s;
      static constexpr std::pair<const char*, StatusCode> kStatus[] = {
          {"ok", StatusCode::kOk}, {"error", StatusCode::kError}, {"unset", StatusCode::kUnset}};
      for (const auto& [name, code] : kStatus) {
        if (t.kind == TokenKind::kIdentifier && t.text == name) {
          return AnyValue::Int(static_cast<int64_t>(code));
        }
      }
      return Expected("ok, error or unset");
    }
    if (!field.is_attribute && field.intrinsic == Intrinsic::kKind) {
      if (absl::Status s = enum_only("kind"); !s.ok()) return s;
      static constexpr std::pair<const char*, SpanKind> kKinds[] = {
          {"unspecified", SpanKind::kUnspecified}, {"internal", SpanKind::kInternal},
          {"server", SpanKind::kServer},           {"client", SpanKind::kClient},
          {"producer", SpanKind::kProducer},       {"consumer", SpanKind::kConsumer}};
      for (const auto& [name, kind] : kKinds) {
        if (t.kind == TokenKind::kIdentifier && t.text == name) {
          return AnyValue::Int(static_cast<int64_t>(kind));
        }
      }
      return Expected("server, client, producer, consumer, internal or unspecified");
    }
    if (!field.is_attribute &&
        (field.intrinsic == Intrinsic::kDuration || field.intrinsic == Intrinsic::kTraceDuration)) {
      if (t.kind == TokenKind::kDuration) return AnyValue::Int(t.int_value);
      return Expected("a duration such as 300ms, 1.5s or 2m");
    }
    if (!field.is_attribute) {  // the remaining intrinsics are strings
      if (t.kind == TokenKind::kString) return AnyValue::String(t.text);
      return Expected(absl::StrCat("a quoted string to compare with '", FieldName(field), "'"));
    }
    switch (t.kind) {
      case TokenKind::kString:
        return AnyValue::String(t.text);
      case TokenKind::kInt:
        return AnyValue::Int(t.int_value);
      case TokenKind::kFloat:
        return AnyValue::Double(t.float_value);
      case TokenKind::kDuration:
        return AnyValue::Int(t.int_value);
      case TokenKind::kIdentifier:
        if (t.text == "true") return AnyValue::Bool(true);
        if (t.text == "false") return AnyValue::Bool(false);
        if (t.text == "nil") {
          if (!field.is_attribute) return Error(t, "intrinsics are never nil");
          return AnyValue();
        }
        // Bare status/kind words compared with attributes are almost always a typo.
        return Error(t, absl::StrCat("expected a value (a quoted string, number, duration, "
                                     "true, false or nil), found '",
                                     t.text, "'; quote strings: \"", t.text, "\""));
      default:
        return Expected("a value (a quoted string, number, duration, true, false or nil)");
    }
  }

  Lexer& lexer_;
  Token& tok_;
  size_t& terms_;
  int& regex_program_size_;
  const QueryLimits& limits_;
};

bool IsPlainAttribute(const FilterExpr& e) { return e.kind == FilterExpr::Kind::kAttribute; }

// Moves top-level conjuncts that a structured SpanQuery field expresses exactly into `q`, so
// that storage can prune by them; returns false for a conjunct that must stay in the filter.
bool Lift(const FilterExpr& e, SpanQuery* q) {
  if (IsPlainAttribute(e)) {
    q->attributes.push_back(e.attribute);
    return true;
  }
  if (e.kind != FilterExpr::Kind::kIntrinsic) return false;
  const bool eq = e.op == CompareOp::kEq;
  switch (e.intrinsic) {
    case Intrinsic::kServiceName:
      if (!eq || !q->services.empty()) return false;
      q->services.push_back(e.value.string_value());
      return true;
    case Intrinsic::kName:
      if (!eq || !q->names.empty()) return false;
      q->names.push_back(e.value.string_value());
      return true;
    case Intrinsic::kKind:
      if (!eq || !q->kinds.empty()) return false;
      q->kinds.push_back(static_cast<SpanKind>(e.value.int_value()));
      return true;
    case Intrinsic::kStatus:
      if (!eq || q->status.has_value()) return false;
      q->status = static_cast<StatusCode>(e.value.int_value());
      return true;
    case Intrinsic::kDuration: {
      const int64_t v = e.value.int_value();
      switch (e.op) {
        case CompareOp::kGt:
          q->min_duration_nanos = std::max<uint64_t>(q->min_duration_nanos, v + 1);
          return true;
        case CompareOp::kGe:
          q->min_duration_nanos = std::max<uint64_t>(q->min_duration_nanos, v);
          return true;
        case CompareOp::kLt:
          if (v <= 0) return false;  // matches nothing; keep the filter to say so
          q->max_duration_nanos = std::min<uint64_t>(q->max_duration_nanos, v - 1);
          return true;
        case CompareOp::kLe:
          q->max_duration_nanos = std::min<uint64_t>(q->max_duration_nanos, v);
          return true;
        default:
          return false;
      }
    }
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<SpanQuery> ParseQuery(std::string_view text) {
  return ParseQuery(text, QueryLimits());
}

absl::StatusOr<SpanQuery> ParseQuery(std::string_view text, const QueryLimits& limits) {
  if (text.size() > limits.max_query_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("query of %d bytes is longer than the limit of %d bytes", text.size(),
                        limits.max_query_bytes));
  }
  ParseState st(text);
  Parser parser(&st, limits);
  auto expr = parser.Parse();
  if (!expr.ok()) return expr.status();
  return query::LiftConjuncts(*std::move(expr));
}

namespace query {

absl::StatusOr<FilterExpr> ParseSpanFilter(ParseState* st, const QueryLimits& limits) {
  Parser parser(st, limits);
  return parser.ParseBraced();
}

absl::Status ParseFieldHere(ParseState* st, const QueryLimits& limits, TraceQLField* out) {
  Parser parser(st, limits);
  return parser.ParseFieldHere(out);
}

SpanQuery LiftConjuncts(FilterExpr expr) {
  SpanQuery q;
  std::vector<FilterExpr> rest;
  if (expr.kind == FilterExpr::Kind::kAnd) {
    for (FilterExpr& c : expr.children) {
      if (!Lift(c, &q)) rest.push_back(std::move(c));
    }
  } else if (expr.kind != FilterExpr::Kind::kTrue && !Lift(expr, &q)) {
    rest.push_back(std::move(expr));
  }
  if (rest.size() == 1) {
    q.filter = std::move(rest[0]);
  } else if (rest.size() > 1) {
    FilterExpr all;
    all.kind = FilterExpr::Kind::kAnd;
    all.children = std::move(rest);
    q.filter = std::move(all);
  }
  return q;
}

}  // namespace query

absl::StatusOr<uint64_t> ParseDuration(std::string_view text) {
  Lexer lexer(text);
  query::Token t;
  absl::Status s = lexer.Next(&t);
  if (!s.ok()) return s;
  if (t.kind != TokenKind::kDuration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a duration such as 300ms, 1.5s, 15m or 2h, found ", Describe(t)));
  }
  query::Token end;
  s = lexer.Next(&end);
  if (!s.ok()) return s;
  if (end.kind != TokenKind::kEnd) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", end.column, ": unexpected ", Describe(end), " after the duration"));
  }
  return static_cast<uint64_t>(t.int_value);
}

}  // namespace spanstore
