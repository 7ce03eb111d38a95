// query/dependencies.cc: service links from parent/child spans.

#include "spanstore/dependencies.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;

Span MakeSpan(int trace, int id, int parent, const std::string& service, uint64_t start) {
  Span s;
  s.trace_id.bytes[0] = static_cast<uint8_t>(trace);
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = static_cast<uint8_t>(id);
  if (parent != 0) s.parent_span_id.bytes[7] = static_cast<uint8_t>(parent);
  s.service_name = service;
  s.name = "op";
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + 10;
  return s;
}

TEST(DependenciesTest, CallsBetweenServicesInTheWindow) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  ASSERT_TRUE(store
                  ->Append({MakeSpan(1, 1, 0, "web", 100), MakeSpan(1, 2, 1, "api", 110),
                            MakeSpan(1, 3, 2, "db", 120), MakeSpan(1, 4, 2, "db", 130),
                            MakeSpan(1, 5, 2, "api", 140),  // same service: no link
                            MakeSpan(1, 6, 9, "api", 150),  // parent not in the store
                            MakeSpan(2, 1, 0, "web", 1000), MakeSpan(2, 2, 1, "api", 1010)})
                  .ok());
  auto links = ComputeDependencies(*store, 0, 500, 0);
  ASSERT_TRUE(links.ok());
  EXPECT_THAT(*links, ElementsAre(DependencyLink{"api", "db", 2}, DependencyLink{"web", "api", 1}));
  links = ComputeDependencies(*store, 0, 2000, 0);
  EXPECT_THAT(*links, ElementsAre(DependencyLink{"api", "db", 2}, DependencyLink{"web", "api", 2}));
  bool truncated = false;
  links = ComputeDependencies(*store, 0, 2000, 3, &truncated);
  EXPECT_TRUE(truncated);
  // A deadline already past (spanstored passes now + --query-timeout): no answer, a clear error.
  links = ComputeDependencies(*store, 0, 2000, 0, nullptr, absl::Now() - absl::Seconds(1));
  EXPECT_EQ(links.status().code(), absl::StatusCode::kDeadlineExceeded) << links.status();
  std::string out;
  AppendJaegerDependencies({DependencyLink{"a\"", "b", 3}}, &out);
  EXPECT_EQ(out, R"([{"parent":"a\"","child":"b","callCount":3}])");
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace spanstore
