// engine/recent_traces.h: the reading order and the stopping rule of a most-recent-first search.

#include "engine/recent_traces.h"

#include <vector>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

TraceId Id(uint8_t n) {
  TraceId id;
  id.bytes[15] = n;
  return id;
}

TEST(RecentTracesTest, OrderIsBoundDescendingThenTraceId) {
  std::vector<RecentTraces::Candidate> c = {{Id(3), 10}, {Id(1), 20}, {Id(2), 10}, {Id(4), 30}};
  RecentTraces::Order(&c);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].first, Id(4));
  EXPECT_EQ(c[1].first, Id(1));
  EXPECT_EQ(c[2].first, Id(2));  // equal bounds: smaller id first
  EXPECT_EQ(c[3].first, Id(3));
}

TEST(RecentTracesTest, DoneOnceNoCandidateCanEnter) {
  RecentTraces r(2);
  EXPECT_FALSE(r.Done(0));
  r.Add(Id(1), 100);
  EXPECT_FALSE(r.Done(0));  // fewer than the limit found
  r.Add(Id(2), 50);
  EXPECT_FALSE(r.Done(60));
  EXPECT_FALSE(r.Done(50));  // may start at 50 and win on trace id
  EXPECT_TRUE(r.Done(49));
  r.Add(Id(3), 80);  // pushes out the trace at 50
  EXPECT_FALSE(r.Done(80));
  EXPECT_TRUE(r.Done(79));
  r.Add(Id(4), 10);  // not among the best two: changes nothing
  EXPECT_TRUE(r.Done(79));
}

TEST(RecentTracesTest, NoLimitNeverStops) {
  RecentTraces r(0);
  r.Add(Id(1), 100);
  EXPECT_FALSE(r.Done(0));
}

TEST(RecentTracesTest, BeforeIsLaterStartThenSmallerId) {
  EXPECT_TRUE(RecentTraces::Before(2, Id(9), 1, Id(1)));
  EXPECT_TRUE(RecentTraces::Before(1, Id(1), 1, Id(2)));
  EXPECT_FALSE(RecentTraces::Before(1, Id(2), 1, Id(1)));
  EXPECT_FALSE(RecentTraces::Before(1, Id(1), 1, Id(1)));
}

}  // namespace
}  // namespace spanstore
