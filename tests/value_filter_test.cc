// The row groups' value filters: every entry added is found (a miss would make a search skip
// a matching span), absent entries are rejected about as often as the bits per entry promise,
// and the serialized form is checked before a reader trusts it.

#include "index/value_filter.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

// Both layouts: standard (false) and blocked (true, block format 5).
class ValueFilterLayoutTest : public ::testing::TestWithParam<bool> {};

TEST_P(ValueFilterLayoutTest, FindsEveryEntryAdded) {
  std::mt19937_64 rng(1);
  for (int round = 0; round < 50; ++round) {
    ValueFilterBuilder b;
    const int n = static_cast<int>(rng() % 500);
    std::vector<uint64_t> added;
    for (int i = 0; i < n; ++i) {
      const uint32_t key = static_cast<uint32_t>(rng() % 20);
      const uint64_t h = rng() % 2 ? ValueFilterHash(key, "v" + std::to_string(rng() % 1000))
                                   : ValueFilterHash(key, static_cast<int64_t>(rng() % 1000));
      b.Add(h);
      added.push_back(h);
    }
    std::string filter;
    b.Finish(&filter, GetParam());
    ASSERT_TRUE(ValueFilterValid(filter));
    if (GetParam() && n > 0) {
      EXPECT_EQ(static_cast<uint8_t>(filter[0]), 0x80 | ValueFilterBuilder::kProbes);
      EXPECT_EQ((filter.size() - 1) % 32, 0u);
    }
    for (uint64_t h : added) ASSERT_TRUE(ValueFilterMayContain(filter, h));
  }
}

TEST_P(ValueFilterLayoutTest, RejectsMostAbsentEntries) {
  ValueFilterBuilder b;
  for (int i = 0; i < 1000; ++i) b.Add(ValueFilterHash(1, "present-" + std::to_string(i)));
  std::string filter;
  b.Finish(&filter, GetParam());
  EXPECT_LE(filter.size(), 1 + 1000 * ValueFilterBuilder::kBitsPerEntry / 8 + 32);
  int false_positives = 0;
  for (int i = 0; i < 100000; ++i) {
    false_positives +=
        ValueFilterMayContain(filter, ValueFilterHash(1, "absent-" + std::to_string(i)));
  }
  // 10 bits and 7 probes per entry: about 0.8 % (standard), ~1.2 % (blocked).
  EXPECT_LT(false_positives, 2000);
}

INSTANTIATE_TEST_SUITE_P(Layouts, ValueFilterLayoutTest, ::testing::Bool());

TEST(ValueFilter, TypesAndKeysAreDistinctEntries) {
  EXPECT_NE(ValueFilterHash(1, "500"), ValueFilterHash(1, int64_t{500}));
  EXPECT_NE(ValueFilterHash(1, "x"), ValueFilterHash(2, "x"));
  EXPECT_NE(ValueFilterOtherTypesHash(1), ValueFilterHash(1, ""));
}

TEST(ValueFilter, ValuesAddTheirEntries) {
  ValueFilterBuilder b;
  b.AddValue(3, AnyValue::String("s"));
  b.AddValue(3, AnyValue::Int(-7));
  AnyValue::Array a;
  a.push_back(AnyValue::String("elem"));
  a.push_back(AnyValue::Int(9));
  a.push_back(AnyValue::Double(1.5));
  b.AddValue(4, AnyValue::ArrayValue(a));
  b.AddValue(5, AnyValue::Bool(true));
  std::string filter;
  b.Finish(&filter);
  EXPECT_TRUE(ValueFilterMayContain(filter, ValueFilterHash(3, "s")));
  EXPECT_TRUE(ValueFilterMayContain(filter, ValueFilterHash(3, int64_t{-7})));
  EXPECT_TRUE(ValueFilterMayContain(filter, ValueFilterHash(4, "elem")));
  EXPECT_TRUE(ValueFilterMayContain(filter, ValueFilterHash(4, int64_t{9})));
  EXPECT_TRUE(ValueFilterMayContain(filter, ValueFilterOtherTypesHash(4)));
  EXPECT_TRUE(ValueFilterMayContain(filter, ValueFilterOtherTypesHash(5)));
}

TEST(ValueFilter, EmptyFilterHoldsNothingAndBadFormsAreRefused) {
  ValueFilterBuilder b;
  std::string filter;
  b.Finish(&filter);
  ASSERT_TRUE(ValueFilterValid(filter));
  EXPECT_FALSE(ValueFilterMayContain(filter, ValueFilterHash(0, "x")));
  EXPECT_FALSE(ValueFilterValid(""));
  EXPECT_FALSE(ValueFilterValid(std::string(1, '\0')));    // no probes
  EXPECT_FALSE(ValueFilterValid(std::string(1, '\x11')));  // 17 probes
  filter.clear();
  b.Finish(&filter, /*blocked=*/true);
  ASSERT_TRUE(ValueFilterValid(filter));
  EXPECT_FALSE(ValueFilterMayContain(filter, ValueFilterHash(0, "x")));
  EXPECT_TRUE(ValueFilterValid(std::string("\x87") + std::string(64, '\0')));
  EXPECT_FALSE(
      ValueFilterValid(std::string("\x87") + std::string(40, '\0')));  // not 32-byte blocks
  EXPECT_FALSE(ValueFilterValid(std::string(1, '\x80')));              // blocked, no probes
  EXPECT_FALSE(ValueFilterValid(std::string(1, '\x91')));              // blocked, 17 probes
}

}  // namespace
}  // namespace spanstore
