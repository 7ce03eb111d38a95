// The block value filter: it covers the keys of fewest distinct values within the budget, finds
// every entry of a covered key (a miss would make a search skip a block holding the value),
// says "maybe" for keys it does not cover, and its serialized form is checked before a reader
// trusts it.

#include "index/block_value_filter.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "index/value_filter.h"
#include "util/coding.h"

namespace spanstore {
namespace {

std::string Build(BlockValueFilterBuilder* b, uint32_t keys, size_t budget) {
  std::string out;
  b->Finish(keys, budget, &out);
  return out;
}

TEST(BlockValueFilter, CoversTheKeysOfFewestValuesWithinTheBudget) {
  BlockValueFilterBuilder b;
  // Key 0: 3 hosts on many rows; key 1: 500 ids; key 2: 50 routes; key 3: never added (only
  // template values); key 4: a session id per row.
  for (int row = 0; row < 20000; ++row) {
    b.Add(0, ValueFilterHash(0, "host-" + std::to_string(row % 3)));
    b.Add(1, ValueFilterHash(1, static_cast<int64_t>(row % 500)));
    b.Add(2, ValueFilterHash(2, "/route/" + std::to_string(row % 50)));
    b.Add(4, ValueFilterHash(4, "session-" + std::to_string(row)));
  }
  BlockValueFilter f;
  const std::string data = Build(&b, 5, 100);  // room for keys 3, 0 and 2, not for 1
  ASSERT_TRUE(f.Parse(data, 5));
  EXPECT_EQ(f.covered_keys(), 3u);
  EXPECT_TRUE(f.Covers(0));
  EXPECT_FALSE(f.Covers(1));
  EXPECT_TRUE(f.Covers(2));
  EXPECT_TRUE(f.Covers(3));
  EXPECT_FALSE(f.Covers(4));
  EXPECT_FALSE(f.Covers(5));  // not a key of the block
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(f.MayContain(ValueFilterHash(0, "host-" + std::to_string(i))));
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(f.MayContain(ValueFilterHash(2, "/route/" + std::to_string(i))));
  }
  int rejected = 0;
  for (int i = 0; i < 1000; ++i) {
    if (!f.MayContain(ValueFilterHash(0, "staging-" + std::to_string(i)))) ++rejected;
  }
  EXPECT_GT(rejected, 950);  // ~1% false positives at 10 bits per entry

  BlockValueFilterBuilder all;
  for (int row = 0; row < 2000; ++row) all.Add(1, ValueFilterHash(1, static_cast<int64_t>(row)));
  const std::string all_data = Build(&all, 2, 1 << 20);
  ASSERT_TRUE(f.Parse(all_data, 2));
  EXPECT_TRUE(f.Covers(0));  // no entry at all: covered, and nothing is in it
  EXPECT_TRUE(f.Covers(1));
  for (int row = 0; row < 2000; ++row) {
    ASSERT_TRUE(f.MayContain(ValueFilterHash(1, static_cast<int64_t>(row))));
  }
}

// The builder's memory is bounded: past kMaxTrackedEntries the key with the most entries is
// dropped (never covered), and the others are still covered and complete.
TEST(BlockValueFilter, DropsTheLargestKeyPastTheTrackingBound) {
  BlockValueFilterBuilder b;
  const size_t n = BlockValueFilterBuilder::kMaxTrackedEntries + 10;
  for (size_t i = 0; i < n; ++i) {
    b.Add(1, ValueFilterHash(1, static_cast<int64_t>(i)));
    if (i % 1000 == 0) b.Add(0, ValueFilterHash(0, static_cast<int64_t>(i)));
  }
  BlockValueFilter f;
  const std::string data = Build(&b, 2, n);
  ASSERT_TRUE(f.Parse(data, 2));
  EXPECT_TRUE(f.Covers(0));
  EXPECT_FALSE(f.Covers(1));
  for (size_t i = 0; i < n; i += 1000) {
    ASSERT_TRUE(f.MayContain(ValueFilterHash(0, static_cast<int64_t>(i))));
  }
}

TEST(BlockValueFilter, FindsEveryEntryOfACoveredKey) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 30; ++round) {
    BlockValueFilterBuilder b;
    std::vector<std::pair<uint32_t, uint64_t>> added;
    const int n = static_cast<int>(rng() % 5000);
    for (int i = 0; i < n; ++i) {
      const uint32_t key = static_cast<uint32_t>(rng() % 8);
      const uint64_t h = ValueFilterHash(key, "v" + std::to_string(rng() % (key * 300 + 1)));
      b.Add(key, h);
      added.emplace_back(key, h);
    }
    BlockValueFilter f;
    const std::string data = Build(&b, 8, rng() % 3000);  // Parse keeps a view
    ASSERT_TRUE(f.Parse(data, 8));
    for (const auto& [key, h] : added) {
      if (f.Covers(key)) {
        ASSERT_TRUE(f.MayContain(h)) << "round " << round;
      }
    }
  }
}

TEST(BlockValueFilter, NoKeyFitsNoBytes) {
  BlockValueFilterBuilder b;
  for (int i = 0; i < 100; ++i) b.Add(0, ValueFilterHash(0, static_cast<int64_t>(i)));
  EXPECT_EQ(Build(&b, 1, 10), "");
  BlockValueFilter f;
  ASSERT_TRUE(f.Parse("", 1));
  EXPECT_FALSE(f.Covers(0));
  EXPECT_EQ(f.covered_keys(), 0u);
  // The builder starts over after Finish.
  b.Add(0, ValueFilterHash(0, "x"));
  const std::string one = Build(&b, 1, 10);
  ASSERT_TRUE(f.Parse(one, 1));
  EXPECT_TRUE(f.Covers(0));
  EXPECT_TRUE(f.MayContain(ValueFilterHash(0, "x")));
}

TEST(BlockValueFilter, RefusesMalformedInput) {
  BlockValueFilter f;
  std::string valid;
  PutVarint64(&valid, 2);
  PutVarint64(&valid, 1);
  PutVarint64(&valid, 2);  // keys 1 and 3
  valid += std::string("\x07\xff", 2);
  ASSERT_TRUE(f.Parse(valid, 4));
  EXPECT_TRUE(f.Covers(1) && f.Covers(3) && !f.Covers(0) && !f.Covers(2));

  EXPECT_FALSE(f.Parse(valid, 3)) << "key 3 of a block with 3 keys";
  EXPECT_FALSE(f.Covers(1)) << "a failed parse covers nothing";
  auto with = [](std::initializer_list<uint64_t> varints, std::string_view filter) {
    std::string out;
    for (uint64_t v : varints) PutVarint64(&out, v);
    return out + std::string(filter);
  };
  const std::string bits("\x07\x01", 2);
  EXPECT_FALSE(f.Parse(with({0}, bits), 4)) << "no key";
  EXPECT_FALSE(f.Parse(with({5, 0, 1, 1, 1, 1}, bits), 4)) << "more keys than the block has";
  EXPECT_FALSE(f.Parse(with({2, 1, 0}, bits), 4)) << "a key twice";
  EXPECT_FALSE(f.Parse(with({1, 4}, bits), 4)) << "key out of range";
  EXPECT_FALSE(f.Parse(with({1, UINT64_MAX}, bits), 4)) << "delta overflow";
  EXPECT_FALSE(f.Parse(with({1, 0}, ""), 4)) << "no filter";
  EXPECT_FALSE(f.Parse(with({1, 0}, std::string("\x00\x01", 2)), 4)) << "zero probes";
  EXPECT_FALSE(f.Parse(std::string("\x81", 1), 4)) << "truncated varint";
}

}  // namespace
}  // namespace spanstore
