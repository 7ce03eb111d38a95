#include "spanstore/span.h"

#include <cmath>
#include <limits>

#include "absl/hash/hash_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

TEST(TraceIdTest, HexRoundTripEitherCase) {
  auto id = TraceId::FromHex("4BF92F3577B34DA6A3CE929D0E0E4736");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(id->IsValid());
  EXPECT_EQ(*TraceId::FromHex(id->ToHex()), *id);
}

TEST(TraceIdTest, RejectsMalformed) {
  EXPECT_THAT(TraceId::FromHex("4bf92f").status().message(), HasSubstr("32 hex digits"));
  EXPECT_THAT(TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e473g").status().message(),
              HasSubstr("'g' at position 32"));
  EXPECT_FALSE(TraceId::FromHex("").ok());
  EXPECT_FALSE(TraceId::FromHex(std::string(33, 'a')).ok());
}

TEST(TraceIdTest, ShortHexIsLeftPadded) {
  auto id = TraceId::FromShortHex("e0e4736");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->ToHex(), "0000000000000000000000000e0e4736");
  auto zipkin64 = TraceId::FromShortHex("a3ce929d0e0e4736");
  ASSERT_TRUE(zipkin64.ok());
  EXPECT_EQ(zipkin64->ToHex(), "0000000000000000a3ce929d0e0e4736");
  EXPECT_EQ(zipkin64->Low64(), 0xa3ce929d0e0e4736ull);
}

TEST(TraceIdTest, AllZeroIsInvalid) {
  EXPECT_FALSE(TraceId().IsValid());
  EXPECT_FALSE(SpanId().IsValid());
}

TEST(TraceIdTest, FromBytes) {
  EXPECT_TRUE(TraceId::FromBytes(std::string(16, '\x01')).ok());
  EXPECT_FALSE(TraceId::FromBytes(std::string(15, '\x01')).ok());
  EXPECT_TRUE(SpanId::FromBytes(std::string(8, '\x01')).ok());
  EXPECT_FALSE(SpanId::FromBytes("").ok());
}

TEST(TraceIdTest, Hashable) {
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(
      {TraceId(), *TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736"),
       *TraceId::FromShortHex("1")}));
}

TEST(TraceparentTest, ParsesValid) {
  auto tp = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(tp.ok()) << tp.status();
  EXPECT_EQ(tp->version, 0);
  EXPECT_EQ(tp->trace_id.ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tp->span_id.ToHex(), "00f067aa0ba902b7");
  EXPECT_EQ(tp->flags, 1);
}

TEST(TraceparentTest, FutureVersionMayHaveMoreFields) {
  EXPECT_TRUE(
      ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future")
          .ok());
  EXPECT_FALSE(
      ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").ok());
}

TEST(TraceparentTest, RejectsMalformedWithColumn) {
  struct Case {
    const char* header;
    const char* message;
  } cases[] = {
      {"", "too short"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "too short"},
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "column 5"},
      {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "column 3: expected '-'"},
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version ff"},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "trace id is all zeros"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "parent id is all zeros"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", "column 55"},
  };
  for (const Case& c : cases) {
    auto tp = ParseTraceparent(c.header);
    EXPECT_FALSE(tp.ok()) << c.header;
    EXPECT_THAT(tp.status().message(), HasSubstr(c.message)) << c.header;
    EXPECT_EQ(tp.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(AnyValueTest, EqualityIsBitwiseForDoubles) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(AnyValue::Double(nan), AnyValue::Double(nan));
  EXPECT_NE(AnyValue::Double(0.0), AnyValue::Double(-0.0));
  EXPECT_NE(AnyValue::Int(1), AnyValue::Double(1.0));
  EXPECT_NE(AnyValue::String("a"), AnyValue::BytesValue("a"));
  AnyValue nested = AnyValue::ArrayValue({AnyValue::Double(nan), AnyValue::MapValue({{"k", AnyValue()}})});
  EXPECT_EQ(nested, nested);
}

TEST(AnyValueTest, ToString) {
  EXPECT_EQ(AnyValue::String("x").ToString(), "x");
  EXPECT_EQ(AnyValue::Int(-5).ToString(), "-5");
  EXPECT_EQ(AnyValue::Bool(true).ToString(), "true");
  EXPECT_EQ(AnyValue::ArrayValue({AnyValue::String("a"), AnyValue::Int(1)}).ToString(),
            "[\"a\",1]");
  EXPECT_EQ(AnyValue::MapValue({{"k", AnyValue::Bool(false)}}).ToString(), "{\"k\":false}");
}

TEST(SpanTest, DurationNeverNegative) {
  Span s;
  s.start_time_unix_nano = 100;
  s.end_time_unix_nano = 50;
  EXPECT_EQ(s.duration_nanos(), 0u);
  s.end_time_unix_nano = 150;
  EXPECT_EQ(s.duration_nanos(), 50u);
  EXPECT_TRUE(s.is_root());
}

}  // namespace
}  // namespace spanstore
