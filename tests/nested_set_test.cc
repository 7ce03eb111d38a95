// query/nested_set.cc: Tempo's nested-set numbers of a trace's spans, for select().

#include "query/nested_set.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/traceql.h"

namespace spanstore {
namespace {

Span MakeSpan(uint8_t id, uint8_t parent, uint64_t start) {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = id;
  s.parent_span_id.bytes[7] = parent;
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + 10;
  return s;
}

// A (root) -> B -> D, A -> C; E's parent is missing; F another root. In trace order.
std::vector<Span> Trace() {
  return {MakeSpan(1, 0, 0), MakeSpan(2, 1, 1), MakeSpan(3, 1, 2),
          MakeSpan(4, 2, 3), MakeSpan(5, 9, 4), MakeSpan(6, 0, 5)};
}

TEST(NestedSetTest, DepthFirstFromEachRootInTraceOrder) {
  const std::vector<NestedSetNumbers> n = NumberNestedSet(Trace());
  ASSERT_EQ(n.size(), 6u);
  EXPECT_EQ(n[0], (NestedSetNumbers{1, 8, -1}));   // A
  EXPECT_EQ(n[1], (NestedSetNumbers{2, 5, 1}));    // B
  EXPECT_EQ(n[3], (NestedSetNumbers{3, 4, 2}));    // D, under B
  EXPECT_EQ(n[2], (NestedSetNumbers{6, 7, 1}));    // C
  EXPECT_EQ(n[4], (NestedSetNumbers{0, 0, 0}));    // E: no root reaches it
  EXPECT_EQ(n[5], (NestedSetNumbers{9, 10, -1}));  // F
}

TEST(NestedSetTest, HostileShapesEndAndNumberEachSpanOnce) {
  // A cycle with no root, a span its own parent, a repeated id, and a chain 100,000 deep.
  std::vector<Span> t = {MakeSpan(1, 2, 0), MakeSpan(2, 1, 1), MakeSpan(3, 3, 2)};
  for (const NestedSetNumbers& n : NumberNestedSet(t)) EXPECT_EQ(n, NestedSetNumbers());
  t = {MakeSpan(1, 0, 0), MakeSpan(2, 1, 1), MakeSpan(2, 1, 2)};
  const auto n = NumberNestedSet(t);
  EXPECT_EQ(n[1], (NestedSetNumbers{2, 3, 1}));
  EXPECT_EQ(n[2], (NestedSetNumbers{4, 5, 1}));  // a repeated id is a span of its own
  std::vector<Span> chain;
  for (uint32_t i = 0; i < 100'000; ++i) {
    Span s;
    s.span_id.bytes[0] = static_cast<uint8_t>(i);
    s.span_id.bytes[1] = static_cast<uint8_t>(i >> 8);
    s.span_id.bytes[2] = static_cast<uint8_t>(i >> 16);
    s.span_id.bytes[7] = 1;
    if (i > 0) s.parent_span_id = chain.back().span_id;
    chain.push_back(s);
  }
  const auto deep = NumberNestedSet(chain);
  EXPECT_EQ(deep.back(), (NestedSetNumbers{100'000, 100'001, 99'999}));
  EXPECT_EQ(deep.front().right, 200'000);
}

TEST(NestedSetTest, SelectedNumbersBecomeSpanAttributes) {
  auto q = ParseTraceQuery("{ nestedSetParent < 0 } | select(nestedSetLeft, nestedSetParent)");
  ASSERT_TRUE(q.ok()) << q.status();
  std::vector<Spanset> sets(1);
  sets[0].spans = {Trace()[3]};  // D
  AddSelectedNestedSet(*q, Trace(), &sets);
  ASSERT_EQ(sets[0].spans[0].attributes.size(), 2u);
  EXPECT_EQ(sets[0].spans[0].attributes[0].key, "nestedSetLeft");
  EXPECT_EQ(sets[0].spans[0].attributes[0].value, AnyValue::Int(3));
  EXPECT_EQ(sets[0].spans[0].attributes[1].key, "nestedSetParent");
  EXPECT_EQ(sets[0].spans[0].attributes[1].value, AnyValue::Int(2));
  // Not selected: nothing added.
  q = ParseTraceQuery("{ } | select(name)");
  ASSERT_TRUE(q.ok());
  sets[0].spans = {Trace()[0]};
  AddSelectedNestedSet(*q, Trace(), &sets);
  EXPECT_TRUE(sets[0].spans[0].attributes.empty());
  // Only nestedSetParent can be compared, and only where root-ness decides.
  EXPECT_FALSE(ParseTraceQuery("{ nestedSetLeft > 3 }").ok());
  EXPECT_FALSE(ParseQuery("{ nestedSetRight = 1 }").ok());
}

}  // namespace
}  // namespace spanstore
