#include "format/column_ints.h"

#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

TEST(BitPacked, RoundTripsEveryWidthAndLength) {
  std::mt19937 rng(7);
  for (int width = 0; width <= 32; ++width) {
    for (size_t n : {0, 1, 2, 7, 8, 9, 63, 1000}) {
      std::vector<uint32_t> values(n);
      const uint64_t mask = width == 0 ? 0 : ((uint64_t{1} << width) - 1);
      for (auto& v : values) v = static_cast<uint32_t>(rng() & mask);
      if (n > 0) values[n / 2] = static_cast<uint32_t>(mask);  // force the width
      std::string encoded;
      PutBitPacked(values, &encoded);
      const size_t expected_bytes = 1 + (n * (n > 0 ? width : 0) + 7) / 8;
      EXPECT_EQ(encoded.size(), expected_bytes) << width << " " << n;
      encoded += "tail";
      std::string_view in = encoded;
      std::vector<uint32_t> decoded;
      ASSERT_TRUE(GetBitPacked(&in, n, &decoded)) << width << " " << n;
      EXPECT_EQ(decoded, values);
      EXPECT_EQ(in, "tail");
    }
  }
}

TEST(BitPacked, AllZeroCostsOneByte) {
  std::vector<uint32_t> zeros(5000, 0);
  std::string encoded;
  PutBitPacked(zeros, &encoded);
  EXPECT_EQ(encoded.size(), 1u);
}

TEST(BitPacked, RejectsShortInputBadWidthAndHugeCounts) {
  std::vector<uint32_t> values = {1, 2, 3, 4, 5, 6, 7};
  std::string encoded;
  PutBitPacked(values, &encoded);
  std::vector<uint32_t> out;
  for (size_t len = 0; len < encoded.size(); ++len) {
    std::string_view in(encoded.data(), len);
    EXPECT_FALSE(GetBitPacked(&in, values.size(), &out)) << len;
  }
  std::string bad = encoded;
  bad[0] = 33;
  std::string_view in = bad;
  EXPECT_FALSE(GetBitPacked(&in, values.size(), &out));
  in = encoded;
  EXPECT_FALSE(GetBitPacked(&in, size_t{1} << 60, &out));
}

TEST(DeltaVarints, RoundTripsExtremesAndSmallDeltas) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> values = {0, kMax, kMin, kMin, kMax, -1, 1, 0, 42, -42, kMin + 1};
  for (int64_t base : {int64_t{0}, kMin, kMax, int64_t{123456789}}) {
    std::string encoded;
    PutDeltaVarints(values, base, &encoded);
    std::string_view in = encoded;
    std::vector<int64_t> decoded;
    ASSERT_TRUE(GetDeltaVarints(&in, values.size(), base, &decoded));
    EXPECT_EQ(decoded, values);
    EXPECT_TRUE(in.empty());
  }
}

TEST(DeltaVarints, ClusteredTimesTakeAboutTwoBytes) {
  std::vector<int64_t> starts;
  int64_t t = 1'700'000'000'000'000'000;
  for (int i = 0; i < 1000; ++i) starts.push_back(t += 1000 + i % 7);  // ~1 us apart
  std::string encoded;
  PutDeltaVarints(starts, starts[0], &encoded);
  EXPECT_LE(encoded.size(), 2 * starts.size());
}

TEST(DeltaVarints, RejectsTruncation) {
  const std::vector<int64_t> values = {5, 500000, -7, 1 << 30};
  std::string encoded;
  PutDeltaVarints(values, 0, &encoded);
  std::vector<int64_t> out;
  for (size_t len = 0; len < encoded.size(); ++len) {
    std::string_view in(encoded.data(), len);
    EXPECT_FALSE(GetDeltaVarints(&in, values.size(), 0, &out)) << len;
  }
  std::string_view in = encoded;
  EXPECT_FALSE(GetDeltaVarints(&in, size_t{1} << 60, 0, &out));
}

}  // namespace
}  // namespace spanstore
