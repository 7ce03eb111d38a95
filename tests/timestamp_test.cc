// ParseTimestamp: RFC 3339 and unix times with units; everything ambiguous, negative, before
// 1970 or past what unix nanoseconds hold is an error, never wrapped or guessed (hardening
// issue, item 6: values > 1e11 were silently taken as nanoseconds, pre-1970 ones wrapped).

#include "spanstore/timestamp.h"

#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t k2026 = 1'767'225'600ull * 1'000'000'000ull;  // 2026-01-01T00:00:00Z

TEST(ParseTimestamp, AcceptsRfc3339AndUnixTimesWithUnits) {
  EXPECT_EQ(*ParseTimestamp("2026-01-01T00:00:00Z"), k2026);
  EXPECT_EQ(*ParseTimestamp("2026-01-01T01:00:00+01:00"), k2026);
  EXPECT_EQ(*ParseTimestamp("2026-01-01T00:00:00.000000123Z"), k2026 + 123);
  EXPECT_EQ(*ParseTimestamp("1767225600"), k2026);
  EXPECT_EQ(*ParseTimestamp(" 1767225600.25 "), k2026 + 250'000'000);
  EXPECT_EQ(*ParseTimestamp("1767225600s"), k2026);
  EXPECT_EQ(*ParseTimestamp("1767225600000ms"), k2026);
  EXPECT_EQ(*ParseTimestamp("1767225600000000us"), k2026);
  EXPECT_EQ(*ParseTimestamp("1767225600000000000ns"), k2026);
  EXPECT_EQ(*ParseTimestamp("1767225600000000", TimeUnit::kMicroseconds), k2026);
  EXPECT_EQ(*ParseTimestamp("0"), 0u);
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:00Z"), 0u);
  EXPECT_EQ(*ParseTimestamp("18446744073709551615ns"), UINT64_MAX);
  EXPECT_EQ(*ParseTimestamp("2554-07-21T23:34:33Z"), 18'446'744'073'000'000'000ull);
}

TEST(ParseTimestamp, RefusesWhatItWouldHaveToGuessOrWrap) {
  for (const char* bad : {"1767225600000",                      // ms without a unit: not seconds
                          "1767225600000000000",                // ns without a unit
                          "-1", "-5s", "1969-12-31T23:59:59Z",  // before 1970
                          "18446744073709551616ns",             // past UINT64_MAX
                          "20000000000000000us",                // 2e16 us: past 2554
                          "2600-01-01T00:00:00Z", "", "yesterday", "12abc", "1.2.3", "1.0000000001",
                          "2026-13-01T00:00:00Z"}) {
    auto t = ParseTimestamp(bad);
    ASSERT_FALSE(t.ok()) << bad << " -> " << *t;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("is not a time")) << bad;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("RFC 3339")) << bad;
  }
  EXPECT_THAT(std::string(ParseTimestamp("1767225600000").status().message()),
              HasSubstr("needs its unit"));
  EXPECT_THAT(std::string(ParseTimestamp("-1").status().message()), HasSubstr("negative"));
  EXPECT_THAT(std::string(ParseTimestamp("1969-12-31T23:59:59Z").status().message()),
              HasSubstr("before 1970"));
}

}  // namespace
}  // namespace spanstore
