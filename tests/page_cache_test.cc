// The cache of decompressed block pages: its byte budget and LRU order, and that reads through
// it -- block readers and a whole store -- return exactly what reads without it return.

#include "format/page_cache.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/block_scan.h"
#include "format/block_reader.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

using test::SortedRandomSpans;
using test::TempDir;
using test::WriteBlock;

PageCache::Key KeyOf(uint32_t n) { return PageCache::Key{1, n}; }

TEST(PageCache, StaysWithinItsBudgetAndEvictsTheLeastRecentlyUsed) {
  constexpr uint64_t kCapacity = 256 << 10;
  PageCache cache(kCapacity);
  const std::string page(1000, 'x');
  // Key 0 is touched after every insert, so it is always its shard's most recent entry.
  cache.Insert(KeyOf(0), page);
  for (uint32_t i = 1; i < 5000; ++i) {
    cache.Insert(KeyOf(i), absl::StrCat(i, page));
    ASSERT_LE(cache.usage(), kCapacity);
    ASSERT_NE(cache.Lookup(KeyOf(0)), nullptr) << "evicted after " << i << " inserts";
  }
  // The budget holds ~200 such pages: the first ones inserted are gone, the last ones kept.
  int early = 0, late = 0;
  for (uint32_t i = 1; i < 100; ++i) early += cache.Lookup(KeyOf(i)) != nullptr;
  for (uint32_t i = 4990; i < 5000; ++i) {
    PageCache::Page p = cache.Lookup(KeyOf(i));
    ASSERT_NE(p, nullptr) << i;
    EXPECT_EQ(*p, absl::StrCat(i, page));
    ++late;
  }
  EXPECT_EQ(early, 0);
  EXPECT_EQ(late, 10);
  EXPECT_GT(cache.usage(), kCapacity / 2);
  EXPECT_GT(cache.hits(), 5000u);
  EXPECT_GE(cache.misses(), 99u);
}

TEST(PageCache, ReplacingAKeyChargesItOnce) {
  PageCache cache(1 << 20);
  cache.Insert(KeyOf(3), std::string(500, 'a'));
  const uint64_t one = cache.usage();
  cache.Insert(KeyOf(3), std::string(500, 'b'));
  EXPECT_EQ(cache.usage(), one);
  EXPECT_EQ(*cache.Lookup(KeyOf(3)), std::string(500, 'b'));
}

TEST(PageCache, ZeroCapacityAndOversizedPagesAreNotKept) {
  PageCache off(0);
  PageCache::Page p = off.Insert(KeyOf(1), "abc");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, "abc");
  EXPECT_EQ(off.Lookup(KeyOf(1)), nullptr);
  EXPECT_EQ(off.usage(), 0u);

  PageCache small(16 * 1024);  // 1 KiB per shard
  EXPECT_EQ(*small.Insert(KeyOf(2), std::string(4096, 'z')), std::string(4096, 'z'));
  EXPECT_EQ(small.Lookup(KeyOf(2)), nullptr);
  EXPECT_EQ(small.usage(), 0u);
}

// Fills every shard of `cache` (16 shards) with pages of `page_bytes` under keys of reader 999,
// so that no shard has room for another page of that size.
void FillEveryShard(PageCache* cache, size_t page_bytes) {
  for (uint32_t i = 0; i < 4096; ++i) {
    cache->Insert(PageCache::Key{999, i}, std::string(page_bytes, 'x'));
  }
}

// Admission: while a shard has room, a key is inserted on its first miss (nothing is evicted
// for it).
TEST(PageCache, AdmitsAKeyOnItsFirstMissWhileThereIsRoom) {
  PageCache cache(1 << 20);
  bool admit = false;
  EXPECT_EQ(cache.Lookup(KeyOf(7), &admit), nullptr);
  EXPECT_TRUE(admit);
  cache.Insert(KeyOf(7), "seven");
  EXPECT_NE(cache.Lookup(KeyOf(7), &admit), nullptr);
  EXPECT_FALSE(admit);  // a hit admits nothing
  EXPECT_EQ(cache.Lookup(KeyOf(8), &admit), nullptr);
  EXPECT_TRUE(admit);
}

// Once a shard is full, a key is worth inserting on its second miss within the shard's window
// of recent misses, and only misses of callers that would insert count.
TEST(PageCache, AdmitsAKeyOnItsSecondRecentMissOnceFull) {
  PageCache cache(16 * 4000);    // 4,000 bytes a shard
  FillEveryShard(&cache, 1500);  // two pages of ~1,660 bytes a shard: no room for a third
  bool admit = true;
  EXPECT_EQ(cache.Lookup(KeyOf(7), &admit), nullptr);
  EXPECT_FALSE(admit);
  EXPECT_EQ(cache.Lookup(KeyOf(7), &admit), nullptr);
  EXPECT_TRUE(admit);
  cache.Insert(KeyOf(7), std::string(1500, '7'));
  EXPECT_NE(cache.Lookup(KeyOf(7), &admit), nullptr);
  EXPECT_FALSE(admit);  // a hit admits nothing

  // A lookup that would not insert (a scan's) leaves no trace.
  EXPECT_EQ(cache.Lookup(KeyOf(8)), nullptr);
  EXPECT_EQ(cache.Lookup(KeyOf(8), &admit), nullptr);
  EXPECT_FALSE(admit);

  // A miss ages out of the window: 16 shards of at least 64 keys each, so after 16,384 other
  // keys missed (~1,000 a shard) key 8's first miss is forgotten, and its next one is a first.
  for (uint32_t i = 1000; i < 1000 + 16384; ++i) cache.Lookup(KeyOf(i), &admit);
  EXPECT_EQ(cache.Lookup(KeyOf(8), &admit), nullptr);
  EXPECT_FALSE(admit);
  EXPECT_EQ(cache.Lookup(KeyOf(8), &admit), nullptr);
  EXPECT_TRUE(admit);

  PageCache off(0);
  EXPECT_EQ(off.Lookup(KeyOf(1), &admit), nullptr);
  EXPECT_EQ(off.Lookup(KeyOf(1), &admit), nullptr);
  EXPECT_FALSE(admit);
}

TEST(PageCache, EraseDropsAnEntryButNotAPageInUse) {
  PageCache cache(1 << 20);
  PageCache::Page held = cache.Insert(KeyOf(1), "one");
  cache.Insert(KeyOf(2), "two");
  const uint64_t both = cache.usage();
  cache.Erase(KeyOf(1));
  EXPECT_EQ(cache.Lookup(KeyOf(1)), nullptr);
  EXPECT_NE(cache.Lookup(KeyOf(2)), nullptr);
  EXPECT_LT(cache.usage(), both);
  EXPECT_EQ(*held, "one");
  cache.Erase(KeyOf(1));  // absent: nothing happens
  cache.Erase(KeyOf(2));
  EXPECT_EQ(cache.usage(), 0u);
}

TEST(PageCache, KeysOfDifferentReadersNeverMeet) {
  EXPECT_NE(PageCache::NewReaderId(), PageCache::NewReaderId());
  PageCache cache(1 << 20);
  cache.Insert(PageCache::Key{1, 0}, "first");
  EXPECT_EQ(cache.Lookup(PageCache::Key{2, 0}), nullptr);
  EXPECT_EQ(cache.Lookup(PageCache::Key{1, 1}), nullptr);
  EXPECT_NE(cache.Lookup(PageCache::Key{1, 0}), nullptr);
}

TEST(PageCache, PagesOutliveTheirEviction) {
  PageCache cache(16 * 2048);
  PageCache::Page held = cache.Insert(KeyOf(0), std::string(1500, 'h'));
  for (uint32_t i = 1; i < 200; ++i) cache.Insert(KeyOf(i), std::string(1500, 'o'));
  EXPECT_EQ(*held, std::string(1500, 'h'));  // still valid for the query holding it
}

TEST(PageCache, ConcurrentReadersAndWritersSeeWholePages) {
  PageCache cache(64 << 10);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (uint32_t i = 0; i < 3000; ++i) {
        const uint32_t n = (i * 7 + t) % 300;
        const std::string want(100 + n, static_cast<char>('a' + n % 26));
        if (PageCache::Page p = cache.Lookup(KeyOf(n))) {
          ASSERT_EQ(*p, want);
        } else {
          cache.Insert(KeyOf(n), want);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(cache.usage(), 64u << 10);
}

// Reads through a cache return what reads without one return, trace by trace and by scans,
// and a repeated lookup is answered from the cache.
class BlockReaderCacheTest : public ::testing::TestWithParam<Codec> {};

TEST_P(BlockReaderCacheTest, ReadsThroughTheCacheAreExact) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(11, 150);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("1.blk"), spans, GetParam(), 16, &props).ok());
  PageCache cache(256 << 20);  // random spans are large: the whole block fits
  auto plain = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1);
  auto cached = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1, &cache);
  ASSERT_TRUE(plain.ok() && cached.ok());
  EXPECT_FALSE((*cached)->has_cached_pages());

  for (int round = 0; round < 2; ++round) {
    const uint64_t misses_before = cache.misses();
    for (size_t i = 0; i < spans.size();) {
      size_t j = i;
      while (j < spans.size() && spans[j].trace_id == spans[i].trace_id) ++j;
      std::vector<Span> want, got;
      ASSERT_TRUE((*plain)->ReadTrace(spans[i].trace_id, &want).ok());
      ASSERT_TRUE((*cached)->ReadTrace(spans[i].trace_id, &got).ok());
      ASSERT_EQ(got, want) << "round " << round << " row " << i;
      ASSERT_EQ(got, std::vector<Span>(spans.begin() + i, spans.begin() + j));
      i = j;
    }
    // The block is a few hundred KiB decompressed, and every group holds several traces (so
    // is read more than once in the first round, and cached): the second round misses nothing.
    if (round == 1) {
      EXPECT_EQ(cache.misses(), misses_before);
    }
  }
  EXPECT_TRUE((*cached)->has_cached_pages());
  EXPECT_GT(cache.hits(), 0u);
  EXPECT_GT(cache.usage(), 0u);

  // A scan over a block with cached pages reads through them and matches a plain scan.
  SpanQuery query;
  query.min_duration_nanos = 1000;
  std::vector<Span> want, got;
  ASSERT_TRUE(ScanBlock(**plain, query, [&](const Span& s) {
                want.push_back(s);
                return true;
              }).ok());
  const uint64_t hits_before = cache.hits();
  ASSERT_TRUE(ScanBlock(**cached, query, [&](const Span& s) {
                got.push_back(s);
                return true;
              }).ok());
  EXPECT_EQ(got, want);
  EXPECT_GT(cache.hits(), hits_before);
}

INSTANTIATE_TEST_SUITE_P(Codecs, BlockReaderCacheTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd));

// Block `number` in `dir` holding `spans` (Zstd, 16-row groups), opened to read through `cache`.
absl::StatusOr<std::unique_ptr<BlockReader>> CachedBlock(const TempDir& dir, uint64_t number,
                                                         const std::vector<Span>& spans,
                                                         PageCache* cache) {
  const std::string path = dir.Sub(absl::StrCat(number, ".blk"));
  BlockProperties props;
  if (absl::Status s = WriteBlock(path, spans, Codec::kZstd, 16, &props); !s.ok()) return s;
  return BlockReader::Open(Env::Default(), path, number, cache);
}

// The spans of trace `id` in `block`, which must be `expected` many.
std::vector<Span> ReadWholeTrace(const BlockReader& block, const TraceId& id, size_t expected) {
  std::vector<Span> got;
  absl::Status s = block.ReadTrace(id, &got);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(got.size(), expected);
  return got;
}

size_t SpansOf(const std::vector<Span>& spans, const TraceId& id) {
  return std::count_if(spans.begin(), spans.end(), [&](const Span& s) { return s.trace_id == id; });
}

// A trace read through a cache with room is cached on its first read, and the second read is
// answered from the cache.
TEST(BlockReaderCache, CachesAGroupOnItsFirstReadWhileThereIsRoom) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(13, 100);
  PageCache cache(64 << 20);
  auto block = CachedBlock(dir, 3, spans, &cache);
  ASSERT_TRUE(block.ok()) << block.status();
  const TraceId& id = spans.back().trace_id;
  const std::vector<Span> got = ReadWholeTrace(**block, id, SpansOf(spans, id));
  EXPECT_GT(cache.usage(), 0u);
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(ReadWholeTrace(**block, id, got.size()), got);
  EXPECT_GT(cache.hits(), 0u);
  block->reset();  // a closed reader's pages leave the cache at once
  EXPECT_EQ(cache.usage(), 0u);
}

// In a full cache, a trace read once leaves its groups uncached; read again, they are cached,
// and a third read is answered from the cache.
TEST(BlockReaderCache, CachesAGroupOnItsSecondReadOnceFull) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(13, 100);
  PageCache cache(16 << 20);          // 1 MiB a shard
  FillEveryShard(&cache, 400 << 10);  // two pages a shard: no room for a third
  const uint64_t filled = cache.usage();
  auto block = CachedBlock(dir, 3, spans, &cache);
  ASSERT_TRUE(block.ok()) << block.status();
  const TraceId& id = spans.back().trace_id;
  const std::vector<Span> got = ReadWholeTrace(**block, id, SpansOf(spans, id));
  EXPECT_EQ(cache.usage(), filled);
  EXPECT_FALSE((*block)->has_cached_pages());
  EXPECT_EQ(ReadWholeTrace(**block, id, got.size()), got);
  EXPECT_TRUE((*block)->has_cached_pages());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(ReadWholeTrace(**block, id, got.size()), got);
  EXPECT_GT(cache.hits(), 0u);
}

// Scans do not fill the cache: a lookup's pages are not pushed out by a pass over the store.
TEST(BlockReaderCache, ScansDoNotFillTheCache) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(12, 100);
  PageCache cache(8 << 20);
  auto block = CachedBlock(dir, 2, spans, &cache);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(ScanBlock(**block, SpanQuery{}, [](const Span&) { return true; }).ok());
  EXPECT_EQ(cache.usage(), 0u);
  EXPECT_FALSE((*block)->has_cached_pages());
}

// Through the public API: repeated lookups are answered from the cache (Stats says so), and a
// store with the cache off returns the same traces.
TEST(StorePageCache, RepeatedLookupsHitAndTheCacheChangesNoResult) {
  TempDir dir_on, dir_off;
  GeneratorOptions gen_options;
  gen_options.traces = 300;
  CheckoutGenerator gen(gen_options);
  std::vector<Span> spans, trace;
  std::vector<TraceId> ids;
  while (gen.NextTrace(&trace)) {
    ids.push_back(trace.front().trace_id);
    spans.insert(spans.end(), trace.begin(), trace.end());
  }
  Options on, off;
  on.background_compaction = off.background_compaction = false;
  off.page_cache_bytes = 0;
  auto a = Store::Open(on, dir_on.path());
  auto b = Store::Open(off, dir_off.path());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Append(spans).ok());
  ASSERT_TRUE((*b)->Append(spans).ok());
  ASSERT_TRUE((*a)->CompactAll().ok() && (*b)->CompactAll().ok());
  for (int round = 0; round < 2; ++round) {
    for (const TraceId& id : ids) {
      auto x = (*a)->GetTrace(id);
      auto y = (*b)->GetTrace(id);
      ASSERT_TRUE(x.ok() && y.ok());
      ASSERT_EQ(x->spans, y->spans);
    }
  }
  const StoreStats with = (*a)->Stats(), without = (*b)->Stats();
  EXPECT_GT(with.page_cache_hits, 0u);
  EXPECT_GT(with.page_cache_bytes, 0u);
  EXPECT_LE(with.page_cache_bytes, on.page_cache_bytes);
  EXPECT_EQ(without.page_cache_hits, 0u);
  EXPECT_EQ(without.page_cache_bytes, 0u);
}

}  // namespace
}  // namespace spanstore
