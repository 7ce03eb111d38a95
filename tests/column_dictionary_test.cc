#include "format/column_dictionary.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

std::vector<std::string_view> Views(const std::vector<std::string>& v) {
  return std::vector<std::string_view>(v.begin(), v.end());
}

TEST(DictionaryBuilder, AssignsDenseIdsInFirstAppearanceOrder) {
  DictionaryBuilder dict;
  EXPECT_EQ(dict.Add("checkout"), 0u);
  EXPECT_EQ(dict.Add("cart"), 1u);
  EXPECT_EQ(dict.Add("checkout"), 0u);
  EXPECT_EQ(dict.Add(""), 2u);
  EXPECT_EQ(dict.size(), 3u);
  // Many short strings force entries_ to reallocate; ids must stay stable.
  for (int i = 0; i < 1000; ++i) dict.Add(std::to_string(i));
  EXPECT_EQ(dict.Add("cart"), 1u);
  EXPECT_EQ(dict.Add("999"), 1002u);
}

TEST(DictionaryColumn, RoundTripsEdgeValues) {
  const std::vector<std::string> values = {"frontend",
                                           "",
                                           "frontend",
                                           std::string("a\0b", 3),
                                           std::string(100000, 'x'),
                                           "",
                                           "\xff\xfe not utf-8",
                                           "frontend"};
  std::string encoded;
  PutDictionaryColumn(Views(values), &encoded);
  encoded += "tail";
  std::string_view in = encoded;
  std::vector<std::string_view> decoded;
  ASSERT_TRUE(GetDictionaryColumn(&in, values.size(), &decoded));
  ASSERT_EQ(decoded.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(decoded[i], values[i]) << i;
  EXPECT_EQ(in, "tail");
}

TEST(DictionaryColumn, EmptyColumn) {
  std::string encoded;
  PutDictionaryColumn({}, &encoded);
  std::string_view in = encoded;
  std::vector<std::string_view> decoded = {"stale"};
  ASSERT_TRUE(GetDictionaryColumn(&in, 0, &decoded));
  EXPECT_TRUE(decoded.empty());
}

TEST(DictionaryColumn, RepeatedValuesCostBitsPerRow) {
  std::vector<std::string> values;
  for (int i = 0; i < 4000; ++i) values.push_back("service-" + std::to_string(i % 16));
  std::string encoded;
  PutDictionaryColumn(Views(values), &encoded);
  EXPECT_LT(encoded.size(), 4000 / 2 + 300);  // 4 bits per row plus the 16 names
}

TEST(DictionaryColumn, RejectsTruncationAndOutOfRangeIds) {
  const std::vector<std::string> values = {"a", "bb", "a", "ccc"};
  std::string encoded;
  PutDictionaryColumn(Views(values), &encoded);
  std::vector<std::string_view> decoded;
  for (size_t len = 0; len < encoded.size(); ++len) {
    std::string_view in(encoded.data(), len);
    EXPECT_FALSE(GetDictionaryColumn(&in, values.size(), &decoded)) << len;
  }
  // Three entries need two-bit ids; id 3 would be out of range. Ids 0,1,0,2 = 0b10'00'01'00.
  std::string bad = encoded;
  ASSERT_EQ(static_cast<uint8_t>(bad.back()), 0b10000100);
  bad.back() = static_cast<char>(0b11000100);
  std::string_view in = bad;
  EXPECT_FALSE(GetDictionaryColumn(&in, values.size(), &decoded));
  // A count larger than the bytes could hold is refused without allocating.
  std::string huge = "\xff\xff\xff\xff\x0f";
  in = huge;
  EXPECT_FALSE(GetDictionary(&in, &decoded));
}

}  // namespace
}  // namespace spanstore
