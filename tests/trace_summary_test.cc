// SummarizeTrace (query/trace_summary.cc): the summary FindTraces returns per trace, checked
// field by field against hand-computed values (the store and the model both use it).

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/query.h"

namespace spanstore {
namespace {

Span MakeSpan(uint8_t id, uint8_t parent, std::string service, std::string name, uint64_t start,
              uint64_t end, StatusCode status = StatusCode::kUnset) {
  Span s;
  s.trace_id.bytes[15] = 9;
  s.span_id.bytes[7] = id;
  s.parent_span_id.bytes[7] = parent;  // 0: a root
  s.service_name = std::move(service);
  s.name = std::move(name);
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = end;
  s.status_code = status;
  return s;
}

TEST(TraceSummaryTest, SummarizesEveryField) {
  const std::vector<Span> spans = {
      MakeSpan(1, 0, "frontend", "GET /", 100, 900),
      MakeSpan(2, 1, "cart", "get", 150, 400, StatusCode::kError),
      MakeSpan(3, 1, "payment", "charge", 200, 1200),
      MakeSpan(4, 3, "cart", "put", 300, 350, StatusCode::kError),
  };
  const TraceSummary sum = SummarizeTrace(spans[0].trace_id, spans);
  EXPECT_EQ(sum.trace_id, spans[0].trace_id);
  EXPECT_EQ(sum.root_service, "frontend");
  EXPECT_EQ(sum.root_name, "GET /");
  EXPECT_EQ(sum.start_time_unix_nano, 100u);
  EXPECT_EQ(sum.duration_nanos, 1100u);  // the latest end (1200) - the earliest start
  EXPECT_EQ(sum.span_count, 4u);
  EXPECT_EQ(sum.error_count, 2u);
  EXPECT_THAT(sum.services, testing::ElementsAre("cart", "frontend", "payment"));
  EXPECT_EQ(sum.matched_spans, 0u);  // the caller's to set
}

TEST(TraceSummaryTest, RootMissingLeavesRootEmpty) {
  const std::vector<Span> spans = {MakeSpan(2, 1, "cart", "get", 150, 400)};
  const TraceSummary sum = SummarizeTrace(spans[0].trace_id, spans);
  EXPECT_EQ(sum.root_service, "");
  EXPECT_EQ(sum.root_name, "");
  EXPECT_EQ(sum.duration_nanos, 250u);
}

TEST(TraceSummaryTest, FirstRootInTraceOrderWins) {
  const std::vector<Span> spans = {MakeSpan(1, 0, "a", "first", 100, 200),
                                   MakeSpan(2, 0, "b", "second", 150, 250)};
  const TraceSummary sum = SummarizeTrace(spans[0].trace_id, spans);
  EXPECT_EQ(sum.root_service, "a");
  EXPECT_EQ(sum.root_name, "first");
}

TEST(TraceSummaryTest, SpanEndingBeforeItStartsEndsAtItsStart) {
  // Clock skew: the end before the start counts as the start, never as a negative duration.
  const std::vector<Span> spans = {MakeSpan(1, 0, "a", "x", 500, 100)};
  const TraceSummary sum = SummarizeTrace(spans[0].trace_id, spans);
  EXPECT_EQ(sum.start_time_unix_nano, 500u);
  EXPECT_EQ(sum.duration_nanos, 0u);
}

TEST(TraceSummaryTest, NoSpans) {
  TraceId id;
  id.bytes[0] = 1;
  const TraceSummary sum = SummarizeTrace(id, {});
  EXPECT_EQ(sum.trace_id, id);
  EXPECT_EQ(sum.span_count, 0u);
  EXPECT_EQ(sum.start_time_unix_nano, 0u);
  EXPECT_EQ(sum.duration_nanos, 0u);
  EXPECT_TRUE(sum.services.empty());
}

}  // namespace
}  // namespace spanstore
