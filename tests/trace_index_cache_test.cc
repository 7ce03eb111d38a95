// TraceIndexCache: whole trace indexes within a byte budget, least recently used evicted
// first; and block readers that keep their index there answer exactly as readers that keep it
// themselves, whatever the budget.

#include "format/trace_index_cache.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "format/block_reader.h"
#include "gtest/gtest.h"
#include "index/trace_index.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using test::SortedRandomSpans;
using test::TempDir;
using test::WriteBlock;

// Trace `i` of the index MakeIndex(tag, ...) builds.
TraceId IdOf(uint8_t tag, uint32_t i) {
  TraceId id;
  id.bytes.fill(tag);
  id.bytes[8] = static_cast<uint8_t>(i);
  id.bytes[9] = static_cast<uint8_t>(i >> 8);
  return id;
}

// An index of `traces` one-row traces, trace i in row i.
TraceIndex MakeIndex(uint8_t tag, uint32_t traces) {
  TraceIndexBuilder builder;
  for (uint32_t i = 0; i < traces; ++i) EXPECT_TRUE(builder.Add(IdOf(tag, i), RowRange{i, 1}).ok());
  return builder.Build();
}

uint64_t Charge(uint32_t traces) {
  return MakeIndex(1, traces).MemoryBytes() + TraceIndexCache::kEntryOverhead;
}

TEST(TraceIndexCacheTest, KeepsWhatFitsAndEvictsTheLeastRecentlyUsed) {
  const uint64_t charge = Charge(100);
  TraceIndexCache cache(2 * charge + charge / 2);  // room for two
  EXPECT_EQ(cache.Lookup(1), nullptr);
  const TraceIndexCache::Ref first = cache.Insert(1, MakeIndex(1, 100));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->size(), 100u);
  cache.Insert(2, MakeIndex(2, 100));
  EXPECT_EQ(cache.usage(), 2 * charge);
  EXPECT_EQ(cache.Lookup(1), first);  // 1 is now the most recently used
  cache.Insert(3, MakeIndex(3, 100));
  EXPECT_EQ(cache.usage(), 2 * charge);
  EXPECT_NE(cache.Lookup(1), nullptr);
  EXPECT_EQ(cache.Lookup(2), nullptr) << "the least recently used entry stays";
  EXPECT_NE(cache.Lookup(3), nullptr);
  EXPECT_EQ(cache.hits(), 3u);
  EXPECT_EQ(cache.misses(), 2u);

  cache.Erase(1);
  EXPECT_EQ(cache.Lookup(1), nullptr);
  EXPECT_EQ(cache.usage(), charge);
  cache.Erase(1);  // nothing left to erase
  EXPECT_EQ(cache.usage(), charge);
}

TEST(TraceIndexCacheTest, AnEvictedIndexLivesWhileItsUserHoldsIt) {
  TraceIndexCache cache(Charge(50) + 10);
  const TraceIndexCache::Ref held = cache.Insert(1, MakeIndex(1, 50));
  cache.Insert(2, MakeIndex(2, 50));
  EXPECT_EQ(cache.Lookup(1), nullptr);
  ASSERT_TRUE(held->Lookup(IdOf(1, 7)).has_value());  // ASan: not freed by the eviction
  EXPECT_EQ(held->Lookup(IdOf(1, 7))->first_row, 7u);
}

TEST(TraceIndexCacheTest, ReplacesAnEntryAndReturnsWhatDoesNotFitUncached) {
  const uint64_t charge = Charge(100);
  TraceIndexCache cache(charge + 10);
  cache.Insert(1, MakeIndex(1, 100));
  cache.Insert(1, MakeIndex(5, 100));
  EXPECT_EQ(cache.usage(), charge);
  EXPECT_TRUE(cache.Lookup(1)->Lookup(IdOf(5, 3)).has_value());
  EXPECT_FALSE(cache.Lookup(1)->Lookup(IdOf(1, 3)).has_value());

  const TraceIndexCache::Ref big = cache.Insert(2, MakeIndex(2, 1000));
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->size(), 1000u);
  EXPECT_EQ(cache.Lookup(2), nullptr);
  EXPECT_NE(cache.Lookup(1), nullptr) << "an entry too big for the budget evicts nothing";

  TraceIndexCache none(0);
  EXPECT_NE(none.Insert(1, MakeIndex(1, 10)), nullptr);
  EXPECT_EQ(none.Lookup(1), nullptr);
  EXPECT_EQ(none.usage(), 0u);
}

// Readers of three blocks sharing a cache that holds one index: every lookup, scan and
// verify answers as with a reader that keeps its index, the budget holds, and a reader's
// entry goes when it closes.
TEST(TraceIndexCacheTest, BlockReadersAnswerTheSameUnderAnyBudget) {
  TempDir dir;
  std::vector<std::vector<Span>> blocks;
  for (uint64_t b = 0; b < 3; ++b) {
    blocks.push_back(SortedRandomSpans(100 + b, 40, /*small=*/true));
    BlockProperties props;
    ASSERT_TRUE(
        WriteBlock(dir.Sub(absl::StrCat(b, ".blk")), blocks.back(), Codec::kZstd, 16, &props).ok());
  }
  uint64_t all_indexes = 0, largest = 0;
  for (uint64_t b = 0; b < 3; ++b) {
    auto plain = BlockReader::Open(Env::Default(), dir.Sub(absl::StrCat(b, ".blk")), b);
    ASSERT_TRUE(plain.ok()) << plain.status();
    auto index = (*plain)->LoadTraceIndex();
    ASSERT_TRUE(index.ok()) << index.status();
    const uint64_t charge = (*index)->MemoryBytes() + TraceIndexCache::kEntryOverhead;
    all_indexes += charge;
    largest = std::max(largest, charge);
  }
  for (const uint64_t budget : {uint64_t{0}, largest + largest / 4, uint64_t{1} << 30}) {
    SCOPED_TRACE(budget);
    TraceIndexCache cache(budget);
    std::vector<std::unique_ptr<BlockReader>> readers;
    for (uint64_t b = 0; b < 3; ++b) {
      auto reader = BlockReader::Open(Env::Default(), dir.Sub(absl::StrCat(b, ".blk")), b, nullptr,
                                      nullptr, &cache);
      ASSERT_TRUE(reader.ok()) << reader.status();
      readers.push_back(std::move(*reader));
    }
    EXPECT_EQ(cache.usage(), 0u) << "opening reads no index";
    // Round-robin over the blocks, so a small budget evicts on every lookup.
    for (size_t i = 0; i < blocks[0].size(); i += 7) {
      for (size_t b = 0; b < 3; ++b) {
        const Span& want = blocks[b][std::min(i, blocks[b].size() - 1)];
        std::vector<Span> got;
        ASSERT_TRUE(readers[b]->ReadTrace(want.trace_id, &got).ok());
        ASSERT_FALSE(got.empty());
        EXPECT_TRUE(std::find(got.begin(), got.end(), want) != got.end());
        EXPECT_TRUE(readers[b]->MayContainTrace(want.trace_id));
        EXPECT_TRUE(readers[b]->Contains(want));
        EXPECT_FALSE(readers[(b + 1) % 3]->Contains(want));
        EXPECT_LE(cache.usage(), budget);
      }
    }
    for (size_t b = 0; b < 3; ++b) {
      EXPECT_EQ(test::AllRows(*readers[b]), blocks[b]);
      EXPECT_TRUE(readers[b]->Verify().ok());
    }
    if (budget > all_indexes) {
      EXPECT_EQ(cache.usage(), all_indexes);
    }
    readers.clear();
    EXPECT_EQ(cache.usage(), 0u) << "closed readers leave nothing behind";
  }
}

// A merge or verify reads a block once: it uses a cached index but does not cache one.
TEST(TraceIndexCacheTest, ReadsThatDoNotKeepLeaveTheCacheAlone) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(9, 30, /*small=*/true);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("1.blk"), spans, Codec::kLz4, 16, &props).ok());
  TraceIndexCache cache(uint64_t{1} << 30);
  auto reader = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1, nullptr, nullptr, &cache);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto once = (*reader)->LoadTraceIndex(/*keep=*/false);
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ((*once)->size(), props.traces);
  EXPECT_TRUE((*reader)->Verify().ok());
  EXPECT_EQ(cache.usage(), 0u);
  auto kept = (*reader)->LoadTraceIndex();
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_GT(cache.usage(), 0u);
  auto again = (*reader)->LoadTraceIndex(/*keep=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *kept) << "a cached index is used";
}

// Concurrent lookups through a cache too small to keep anything: each reads the index itself
// and none sees another's freed one (TSan/ASan).
TEST(TraceIndexCacheTest, ConcurrentLookupsUnderEviction) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(11, 30, /*small=*/true);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("1.blk"), spans, Codec::kZstd, 16, &props).ok());
  auto plain = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1);
  ASSERT_TRUE(plain.ok());
  const uint64_t one =
      (*(*plain)->LoadTraceIndex())->MemoryBytes() + TraceIndexCache::kEntryOverhead;
  TraceIndexCache cache(one);  // one entry: the two readers evict each other
  auto a = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1, nullptr, nullptr, &cache);
  auto b = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 2, nullptr, nullptr, &cache);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const BlockReader& reader = t % 2 == 0 ? **a : **b;
      for (size_t i = 0; i < spans.size(); i += 3) {
        std::vector<Span> got;
        EXPECT_TRUE(reader.ReadTrace(spans[i].trace_id, &got).ok());
        EXPECT_FALSE(got.empty());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(cache.usage(), one);
}

}  // namespace
}  // namespace spanstore
