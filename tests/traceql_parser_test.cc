// ParseTraceQuery (query/traceql_parser.cc): the shape of spanset expressions and pipelines,
// errors that name the column, and limits over the whole query.

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/traceql.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

TraceQuery MustParse(const std::string& text) {
  auto q = ParseTraceQuery(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status();
  return q.ok() ? *q : TraceQuery();
}

TEST(TraceQLParserTest, PrecedenceAndAssociativity) {
  // || < && < structural; structural associates to the left.
  TraceQuery q = MustParse("{ name = \"a\" } || { } && { } > { } > { status = error }");
  const SpansetExpr& e = q.spansets;
  ASSERT_EQ(e.op, SpansetOp::kOr);
  EXPECT_EQ(e.children[0].op, SpansetOp::kFilter);
  ASSERT_EQ(e.children[1].op, SpansetOp::kAnd);
  const SpansetExpr& chain = e.children[1].children[1];
  ASSERT_EQ(chain.op, SpansetOp::kChild);
  EXPECT_EQ(chain.children[0].op, SpansetOp::kChild);  // ({ } > { }) > { status = error }
  EXPECT_EQ(chain.children[1].filter.status, StatusCode::kError);

  q = MustParse("({ } || { }) >> { }");
  EXPECT_EQ(q.spansets.op, SpansetOp::kDescendant);
  EXPECT_EQ(q.spansets.children[0].op, SpansetOp::kOr);
}

TEST(TraceQLParserTest, EveryStructuralOperator) {
  struct Case {
    const char* op;
    SpansetOp want;
    bool negated, both;
  };
  const Case cases[] = {
      {">", SpansetOp::kChild, false, false},       {">>", SpansetOp::kDescendant, false, false},
      {"<", SpansetOp::kParent, false, false},      {"<<", SpansetOp::kAncestor, false, false},
      {"~", SpansetOp::kSibling, false, false},     {"!>", SpansetOp::kChild, true, false},
      {"!>>", SpansetOp::kDescendant, true, false}, {"!<", SpansetOp::kParent, true, false},
      {"!<<", SpansetOp::kAncestor, true, false},   {"!~", SpansetOp::kSibling, true, false},
      {"&>", SpansetOp::kChild, false, true},       {"&>>", SpansetOp::kDescendant, false, true},
      {"&<", SpansetOp::kParent, false, true},      {"&<<", SpansetOp::kAncestor, false, true},
      {"&~", SpansetOp::kSibling, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    TraceQuery q = MustParse(absl::StrCat("{ kind = server } ", c.op, " { kind = client }"));
    EXPECT_EQ(q.spansets.op, c.want);
    EXPECT_EQ(q.spansets.negated, c.negated);
    EXPECT_EQ(q.spansets.both, c.both);
  }
}

TEST(TraceQLParserTest, Pipelines) {
  TraceQuery q = MustParse(
      "{ status = error } | by(resource.service.name, name) | avg(duration) > 1.5ms | "
      "count() >= 2 | select(span.http.url) | { kind = server }");
  ASSERT_EQ(q.pipeline.size(), 5u);
  EXPECT_EQ(q.pipeline[0].kind, PipelineStage::Kind::kBy);
  EXPECT_EQ(q.pipeline[0].fields.size(), 2u);
  EXPECT_EQ(q.pipeline[1].fn, AggregateFn::kAvg);
  EXPECT_EQ(q.pipeline[1].field.intrinsic, Intrinsic::kDuration);
  EXPECT_EQ(q.pipeline[1].value.int_value(), 1'500'000);
  EXPECT_EQ(q.pipeline[2].fn, AggregateFn::kCount);
  EXPECT_EQ(q.pipeline[2].op, CompareOp::kGe);
  ASSERT_EQ(q.selected.size(), 1u);
  EXPECT_EQ(q.selected[0].text, "span.http.url");
  EXPECT_EQ(q.pipeline[4].kind, PipelineStage::Kind::kFilter);
}

TEST(TraceQLParserTest, ScopesAndIntrinsics) {
  TraceQuery q = MustParse(
      "{ event.exception.type = \"IOError\" && link.peer != nil && instrumentation.lib = 1 && "
      "event:name = \"x\" && instrumentation:name = \"y\" && instrumentation:version = \"2\" && "
      "trace:duration > 2s && trace:rootService = \"api\" && trace:rootName = \"GET\" && "
      "link:traceID = \"ab\" && link:spanID = \"cd\" }");
  const SpanQuery& f = q.spansets.filter;
  ASSERT_EQ(f.attributes.size(), 3u);
  EXPECT_EQ(f.attributes[0].scope, AttributeScope::kEvent);
  EXPECT_EQ(f.attributes[1].scope, AttributeScope::kLink);
  EXPECT_EQ(f.attributes[2].scope, AttributeScope::kInstrumentation);
  ASSERT_TRUE(f.filter.has_value());
}

TEST(TraceQLParserTest, ErrorsNameTheColumn) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"{ } >", "column 6: expected '{' to start a span filter or '('"},
      {"{ } | count() >", "column 16: expected a number or a duration"},
      {"{ } | cnt() > 1", "column 7: unknown pipeline stage 'cnt'"},
      {"{ } | by(foo)", "column 10: unknown field 'foo'"},
      {"{ } !! { }", "column 5: expected a negated structural operator"},
      {"{ } { }", "column 5: expected '&&', '||', a structural operator"},
      {"({ } || { }", "column 12: expected ')'"},
      {"{ name = } > { }", "column 10: expected a quoted string"},
      {"{ } | avg() > 1", "column 11: expected a field"},
  };
  for (const Case& c : cases) {
    auto q = ParseTraceQuery(c.text);
    ASSERT_FALSE(q.ok()) << c.text;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(q.status().message(), HasSubstr(c.error)) << c.text;
  }
}

TEST(TraceQLParserTest, LimitsCoverTheWholeQuery) {
  QueryLimits limits;
  limits.max_terms = 3;
  EXPECT_TRUE(
      ParseTraceQuery("{ name = \"a\" } && { name = \"b\" } > { name = \"c\" }", limits).ok());
  auto q = ParseTraceQuery(
      "{ name = \"a\" } && { name = \"b\" } > { name = \"c\" && kind = server }", limits);
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(q.status().message(), HasSubstr("too many comparisons"));
  std::string nested(200, '(');
  EXPECT_THAT(ParseTraceQuery(nested + "{ }").status().message(), HasSubstr("nested too deeply"));
  limits = QueryLimits();
  limits.max_query_bytes = 10;
  EXPECT_THAT(ParseTraceQuery("{ } && { } && { }", limits).status().message(),
              HasSubstr("longer than the limit"));
}

}  // namespace
}  // namespace spanstore
