#include "index/trace_index.h"

#include <random>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

TraceId RandomId(std::mt19937_64& rng) {
  TraceId id;
  for (auto& b : id.bytes) b = static_cast<uint8_t>(rng());
  return id;
}

TEST(TraceIndex, FindsEveryAddedTraceAndNoOther) {
  std::mt19937_64 rng(11);
  for (size_t n : {0, 1, 2, 3, 100, 5000}) {
    TraceIndexBuilder builder;
    std::vector<TraceId> ids;
    uint32_t row = 0;
    for (size_t i = 0; i < n; ++i) {
      ids.push_back(RandomId(rng));
      ASSERT_TRUE(builder.Add(ids.back(), {row, static_cast<uint32_t>(i % 30 + 1)}).ok());
      row += i % 30 + 1;
    }
    std::string serialized;
    builder.Serialize(&serialized);
    absl::StatusOr<TraceIndex> parsed = TraceIndex::Parse(serialized, "blk-1");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    const TraceIndex built = builder.Build();
    EXPECT_EQ(parsed->size(), n);
    row = 0;
    for (size_t i = 0; i < n; ++i) {
      const RowRange want{row, static_cast<uint32_t>(i % 30 + 1)};
      EXPECT_EQ(parsed->Lookup(ids[i]), want);
      EXPECT_EQ(built.Lookup(ids[i]), want);
      row += want.count;
    }
    for (int i = 0; i < 1000; ++i) EXPECT_FALSE(parsed->Lookup(RandomId(rng)).has_value());
    EXPECT_FALSE(parsed->Lookup(TraceId{}).has_value());
  }
}

TEST(TraceIndex, MapsEveryRowToItsTraceInRowOrder) {
  std::mt19937_64 rng(5);
  TraceIndexBuilder builder;
  std::vector<std::pair<TraceId, RowRange>> want;
  uint32_t row = 0;
  for (int i = 0; i < 300; ++i) {
    const RowRange r{row, static_cast<uint32_t>(rng() % 7 + 1)};
    want.emplace_back(RandomId(rng), r);
    ASSERT_TRUE(builder.Add(want.back().first, r).ok());
    row += r.count;
  }
  std::string serialized;
  builder.Serialize(&serialized);
  auto index = TraceIndex::Parse(serialized, "blk");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE(index->CoversRowsInOrder(row));
  EXPECT_FALSE(index->CoversRowsInOrder(row + 1));
  ASSERT_EQ(index->entries().size(), want.size());
  for (size_t e = 0; e < want.size(); ++e) {
    EXPECT_EQ(index->entries()[e].id, want[e].first);
    for (uint32_t r = 0; r < want[e].second.count; ++r) {
      EXPECT_EQ(index->EntryOfRow(want[e].second.first_row + r), e);
    }
  }
  // Prefetch is only a hint: safe on any hash and on an empty index. MayHold never misses a
  // trace the index holds, and refuses most others (a 32-bit fingerprint).
  index->filter().Prefetch(TraceIndex::Hash(RandomId(rng)));
  TraceIndex().filter().Prefetch(TraceIndex::Hash(RandomId(rng)));
  EXPECT_FALSE(TraceIndex().filter().MayHold(TraceIndex::Hash(RandomId(rng))));
  for (const auto& [id, range] : want) EXPECT_TRUE(index->filter().MayHold(TraceIndex::Hash(id)));
  int false_positives = 0;
  for (int i = 0; i < 10000; ++i)
    false_positives += index->filter().MayHold(TraceIndex::Hash(RandomId(rng)));
  EXPECT_LE(false_positives, 1);
}

TEST(TraceIndex, GapsOrOverlapsDoNotCoverRowsInOrder) {
  TraceIndexBuilder gap, overlap;
  ASSERT_TRUE(gap.Add(TraceId::FromHex("0102030405060708090a0b0c0d0e0f10").value(), {0, 2}).ok());
  ASSERT_TRUE(gap.Add(TraceId::FromHex("1102030405060708090a0b0c0d0e0f10").value(), {3, 1}).ok());
  EXPECT_FALSE(gap.Build().CoversRowsInOrder(4));
  ASSERT_TRUE(
      overlap.Add(TraceId::FromHex("0102030405060708090a0b0c0d0e0f10").value(), {0, 2}).ok());
  ASSERT_TRUE(
      overlap.Add(TraceId::FromHex("1102030405060708090a0b0c0d0e0f10").value(), {1, 2}).ok());
  EXPECT_FALSE(overlap.Build().CoversRowsInOrder(3));
}

TEST(TraceIndex, IdsDifferingInOneByteAreDistinct) {
  TraceIndexBuilder builder;
  TraceId a, b;
  b.bytes[15] = 1;
  ASSERT_TRUE(builder.Add(a, {0, 2}).ok());
  const TraceIndex index = builder.Build();
  EXPECT_EQ(index.Lookup(a), (RowRange{0, 2}));
  EXPECT_FALSE(index.Lookup(b).has_value());
}

TEST(TraceIndex, EmptyRangeIsRefused) {
  TraceIndexBuilder builder;
  EXPECT_TRUE(absl::IsInvalidArgument(builder.Add(TraceId{}, {5, 0})));
}

TEST(TraceIndex, EveryFlippedByteAndTruncationIsDataLoss) {
  std::mt19937_64 rng(3);
  TraceIndexBuilder builder;
  for (uint32_t i = 0; i < 20; ++i) ASSERT_TRUE(builder.Add(RandomId(rng), {i * 4, 4}).ok());
  std::string serialized;
  builder.Serialize(&serialized);
  for (size_t i = 0; i < serialized.size(); ++i) {
    std::string damaged = serialized;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    const absl::Status s = TraceIndex::Parse(damaged, "blk-000007").status();
    ASSERT_TRUE(absl::IsDataLoss(s)) << i;
    EXPECT_NE(s.message().find("blk-000007"), absl::string_view::npos);
  }
  for (size_t len = 0; len < serialized.size(); ++len) {
    EXPECT_TRUE(absl::IsDataLoss(
        TraceIndex::Parse(std::string_view(serialized.data(), len), "f").status()));
  }
}

}  // namespace
}  // namespace spanstore
