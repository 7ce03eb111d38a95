// SpanMatches / FilterMatches (query/span_matcher.cc): the reference semantics of a SpanQuery,
// field by field, without the parser.

#include <limits>

#include "gtest/gtest.h"
#include "spanstore/query.h"

namespace spanstore {
namespace {

Span Sample() {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = 2;
  s.service_name = "cart";
  s.name = "GET /cart";
  s.kind = SpanKind::kServer;
  s.status_code = StatusCode::kOk;
  s.start_time_unix_nano = 1000;
  s.end_time_unix_nano = 1500;
  s.attributes = {{"http.status_code", AnyValue::Int(200)},
                  {"ratio", AnyValue::Double(0.5)},
                  {"cached", AnyValue::Bool(true)},
                  {"blob", AnyValue::BytesValue("ab")},
                  {"shared", AnyValue::String("span")}};
  s.resource_attributes = {{"shared", AnyValue::String("resource")},
                           {"k8s.pod", AnyValue::String("cart-1")}};
  return s;
}

AttributePredicate Attr(AttributeScope scope, std::string key, CompareOp op, AnyValue v) {
  AttributePredicate p;
  p.scope = scope;
  p.key = std::move(key);
  p.op = op;
  p.value = std::move(v);
  if (op == CompareOp::kRegex || op == CompareOp::kNotRegex) {
    p.regex = *Regex::Compile(p.value.string_value());
  }
  return p;
}

bool MatchesAttr(AttributePredicate p) {
  SpanQuery q;
  q.attributes.push_back(std::move(p));
  return SpanMatches(q, Sample());
}

TEST(SpanMatcherTest, EmptyQueryMatchesEverything) {
  EXPECT_TRUE(SpanMatches(SpanQuery(), Sample()));
  EXPECT_TRUE(SpanMatches(SpanQuery(), Span()));
}

TEST(SpanMatcherTest, TimeWindowAndDurationAreInclusive) {
  SpanQuery q;
  q.start_min = 1000;
  q.start_max = 1000;
  EXPECT_TRUE(SpanMatches(q, Sample()));
  q.start_min = 1001;
  q.start_max = UINT64_MAX;
  EXPECT_FALSE(SpanMatches(q, Sample()));
  q = SpanQuery();
  q.min_duration_nanos = 500;
  q.max_duration_nanos = 500;
  EXPECT_TRUE(SpanMatches(q, Sample()));
  q.min_duration_nanos = 501;
  EXPECT_FALSE(SpanMatches(q, Sample()));
  Span skewed = Sample();
  skewed.end_time_unix_nano = 10;  // end before start: duration 0
  q = SpanQuery();
  q.max_duration_nanos = 0;
  EXPECT_TRUE(SpanMatches(q, skewed));
}

TEST(SpanMatcherTest, ListsAreDisjunctions) {
  SpanQuery q;
  q.services = {"checkout", "cart"};
  q.names = {"GET /cart"};
  q.kinds = {SpanKind::kClient, SpanKind::kServer};
  q.status = StatusCode::kOk;
  EXPECT_TRUE(SpanMatches(q, Sample()));
  q.status = StatusCode::kError;
  EXPECT_FALSE(SpanMatches(q, Sample()));
  q.status.reset();
  q.services = {"checkout"};
  EXPECT_FALSE(SpanMatches(q, Sample()));
}

TEST(SpanMatcherTest, AttributeScopes) {
  // `.key` holds when it holds for the span attribute or for the resource attribute (Tempo's
  // unscoped attributes): both values of a key the two carry can be found.
  EXPECT_TRUE(MatchesAttr(Attr(AttributeScope::kAny, "shared", CompareOp::kEq, AnyValue::String("span"))));
  EXPECT_TRUE(MatchesAttr(
      Attr(AttributeScope::kAny, "shared", CompareOp::kEq, AnyValue::String("resource"))));
  EXPECT_FALSE(
      MatchesAttr(Attr(AttributeScope::kAny, "shared", CompareOp::kEq, AnyValue::String("other"))));
  EXPECT_FALSE(MatchesAttr(
      Attr(AttributeScope::kSpan, "shared", CompareOp::kEq, AnyValue::String("resource"))));
  EXPECT_TRUE(MatchesAttr(Attr(AttributeScope::kResource, "shared", CompareOp::kEq, AnyValue::String("resource"))));
  EXPECT_TRUE(MatchesAttr(Attr(AttributeScope::kAny, "k8s.pod", CompareOp::kEq, AnyValue::String("cart-1"))));
  EXPECT_FALSE(MatchesAttr(Attr(AttributeScope::kSpan, "k8s.pod", CompareOp::kExists, AnyValue())));
  EXPECT_TRUE(MatchesAttr(Attr(AttributeScope::kResource, "k8s.pod", CompareOp::kExists, AnyValue())));
}

TEST(SpanMatcherTest, TypedComparisons) {
  const auto span = AttributeScope::kSpan;
  EXPECT_TRUE(MatchesAttr(Attr(span, "http.status_code", CompareOp::kGe, AnyValue::Int(200))));
  EXPECT_FALSE(MatchesAttr(Attr(span, "http.status_code", CompareOp::kGt, AnyValue::Int(200))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "http.status_code", CompareOp::kLt, AnyValue::Double(200.5))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "ratio", CompareOp::kEq, AnyValue::Double(0.5))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "ratio", CompareOp::kLt, AnyValue::Int(1))));
  EXPECT_FALSE(MatchesAttr(Attr(span, "http.status_code", CompareOp::kEq, AnyValue::String("200"))));
  EXPECT_FALSE(MatchesAttr(Attr(span, "http.status_code", CompareOp::kNe, AnyValue::String("200"))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "cached", CompareOp::kEq, AnyValue::Bool(true))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "cached", CompareOp::kNe, AnyValue::Bool(false))));
  EXPECT_FALSE(MatchesAttr(Attr(span, "cached", CompareOp::kGt, AnyValue::Bool(false))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "blob", CompareOp::kEq, AnyValue::BytesValue("ab"))));
  EXPECT_TRUE(MatchesAttr(Attr(span, "shared", CompareOp::kLt, AnyValue::String("spao"))));
  // Comparisons with a missing attribute are false, whatever the operator.
  EXPECT_FALSE(MatchesAttr(Attr(span, "missing", CompareOp::kNe, AnyValue::Int(1))));
  EXPECT_FALSE(MatchesAttr(Attr(span, "missing", CompareOp::kNotRegex, AnyValue::String("x"))));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(MatchesAttr(Attr(span, "ratio", CompareOp::kEq, AnyValue::Double(nan))));
}

// Arrays against a scalar compare element by element (Tempo's array semantics): `=`, `=~`
// and the orderings hold when some element does, `!=` and `!~` when none is equal (matches).
TEST(SpanMatcherTest, ArraysCompareElementByElement) {
  AnyValue::Array hosts = {AnyValue::String("a.prod"), AnyValue::String("b.staging")};
  AnyValue::Array codes = {AnyValue::Int(200), AnyValue::Int(503)};
  Span s = Sample();
  s.attributes.push_back({"hosts", AnyValue::ArrayValue(hosts)});
  s.attributes.push_back({"codes", AnyValue::ArrayValue(codes)});
  auto matches = [&](AttributePredicate p) {
    SpanQuery q;
    q.attributes.push_back(std::move(p));
    return SpanMatches(q, s);
  };
  const auto span = AttributeScope::kSpan;
  EXPECT_TRUE(matches(Attr(span, "hosts", CompareOp::kEq, AnyValue::String("b.staging"))));
  EXPECT_FALSE(matches(Attr(span, "hosts", CompareOp::kEq, AnyValue::String("c"))));
  EXPECT_TRUE(matches(Attr(span, "hosts", CompareOp::kRegex, AnyValue::String(".*staging"))));
  EXPECT_FALSE(matches(Attr(span, "hosts", CompareOp::kNotRegex, AnyValue::String(".*staging"))));
  EXPECT_TRUE(matches(Attr(span, "hosts", CompareOp::kNotRegex, AnyValue::String("dev.*"))));
  EXPECT_FALSE(matches(Attr(span, "hosts", CompareOp::kNe, AnyValue::String("a.prod"))));
  EXPECT_TRUE(matches(Attr(span, "hosts", CompareOp::kNe, AnyValue::String("c"))));
  EXPECT_TRUE(matches(Attr(span, "codes", CompareOp::kGe, AnyValue::Int(500))));
  EXPECT_FALSE(matches(Attr(span, "codes", CompareOp::kGt, AnyValue::Int(503))));
  EXPECT_TRUE(matches(Attr(span, "codes", CompareOp::kEq, AnyValue::Double(503.0))));
  // An array literal compares whole.
  EXPECT_TRUE(matches(Attr(span, "codes", CompareOp::kEq, AnyValue::ArrayValue(codes))));
}

TEST(SpanMatcherTest, RegexIsAFullMatch) {
  const auto any = AttributeScope::kAny;
  EXPECT_TRUE(MatchesAttr(Attr(any, "k8s.pod", CompareOp::kRegex, AnyValue::String("cart-[0-9]+"))));
  EXPECT_FALSE(MatchesAttr(Attr(any, "k8s.pod", CompareOp::kRegex, AnyValue::String("cart"))));
  EXPECT_TRUE(MatchesAttr(Attr(any, "k8s.pod", CompareOp::kNotRegex, AnyValue::String("cart"))));
  // Regexes apply to strings only.
  EXPECT_FALSE(MatchesAttr(Attr(any, "http.status_code", CompareOp::kRegex, AnyValue::String("2.*"))));
  EXPECT_FALSE(Regex::Compile("(unclosed").ok());
}

TEST(SpanMatcherTest, FilterExpressions) {
  FilterExpr ok;
  ok.kind = FilterExpr::Kind::kIntrinsic;
  ok.intrinsic = Intrinsic::kStatus;
  ok.value = AnyValue::Int(static_cast<int64_t>(StatusCode::kOk));
  FilterExpr slow;
  slow.kind = FilterExpr::Kind::kIntrinsic;
  slow.intrinsic = Intrinsic::kDuration;
  slow.op = CompareOp::kGt;
  slow.value = AnyValue::Int(1000);
  FilterExpr both;
  both.kind = FilterExpr::Kind::kAnd;
  both.children = {ok, slow};
  FilterExpr either = both;
  either.kind = FilterExpr::Kind::kOr;
  FilterExpr negated;
  negated.kind = FilterExpr::Kind::kNot;
  negated.children = {slow};
  const Span s = Sample();
  EXPECT_TRUE(FilterMatches(ok, s));
  EXPECT_FALSE(FilterMatches(slow, s));
  EXPECT_FALSE(FilterMatches(both, s));
  EXPECT_TRUE(FilterMatches(either, s));
  EXPECT_TRUE(FilterMatches(negated, s));
  EXPECT_TRUE(FilterMatches(FilterExpr(), s));  // kTrue

  FilterExpr id;
  id.kind = FilterExpr::Kind::kIntrinsic;
  id.intrinsic = Intrinsic::kTraceId;
  id.value = AnyValue::String("00000000000000000000000000000001");
  EXPECT_TRUE(FilterMatches(id, s));
  FilterExpr root = id;
  root.intrinsic = Intrinsic::kParentSpanId;
  root.value = AnyValue::String("");
  EXPECT_TRUE(FilterMatches(root, s));

  SpanQuery q;
  q.filter = either;
  q.services = {"checkout"};  // the structured fields and the filter must both hold
  EXPECT_FALSE(SpanMatches(q, s));
}

}  // namespace
}  // namespace spanstore
