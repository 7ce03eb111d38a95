// Column dictionaries (block format 7): trained on a block's first groups where they pay, kept
// in the meta page, and used for every group page of the block. A damaged dictionary or a
// column that names one the block lacks is DataLoss, never a bad read.

#include "format/zstd_dictionaries.h"

#include <random>

#include "format/block_builder.h"
#include "format/block_reader.h"
#include "format/group_page.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/temp_dir.h"
#include "util/coding.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

using Groups = std::vector<ZstdDictionaries::GroupColumns>;

// Groups whose even columns repeat a small vocabulary in varying order (what a dictionary
// learns) and whose odd columns are random bytes (which it cannot).
Groups SampleGroups(size_t n, uint64_t seed) {
  static constexpr const char* kWords[] = {"oteldemo.CartService/GetCart",  "HGETALL cart:",
                                           "SELECT id, name FROM products", "grpc-worker-",
                                           "shop-prod.svc.cluster.local",   "POST /v1/charge"};
  std::mt19937_64 rng(seed);
  Groups groups(n);
  for (auto& g : groups) {
    for (int c = 0; c < kNumBlockColumns; ++c) {
      for (int i = 0; i < 40; ++i) {
        if (c % 2 == 0) {
          g[c] += kWords[rng() % 6];
          g[c].push_back(static_cast<char>('0' + rng() % 10));
        } else {
          for (int k = 0; k < 8; ++k) g[c].push_back(static_cast<char>(rng()));
        }
      }
    }
  }
  return groups;
}

TEST(ZstdDictionaries, TrainsWhereADictionaryPaysAndRoundTrips) {
  const Groups groups = SampleGroups(64, 1);
  ZstdDictionaries dicts;
  dicts.Train(groups, 3, /*more_groups_follow=*/true);
  for (int c = 0; c < kNumBlockColumns; ++c) {
    if (c % 2 == 0) {
      EXPECT_NE(dicts.compress_dict(c), nullptr) << c;
    } else {
      EXPECT_EQ(dicts.compress_dict(c), nullptr) << c;  // random bytes: nothing to learn
    }
  }
  std::string meta = "before";
  dicts.Serialize(&meta);
  meta += "after";
  std::string_view in = std::string_view(meta).substr(6);
  ZstdDictionaries read;
  ASSERT_TRUE(read.Parse(&in));
  EXPECT_EQ(in, "after");
  EXPECT_FALSE(read.empty());
  EXPECT_GT(read.MemoryBytes(), 0u);

  // Every group page of new groups compresses with them and reads back through the parsed copy.
  uint64_t with = 0, without = 0;
  for (const auto& columns : SampleGroups(20, 2)) {
    std::string page, plain;
    std::array<uint64_t, kNumBlockColumns> stored{}, plain_stored{};
    ASSERT_TRUE(EncodeGroupPage(Codec::kZstd, 3, columns, &page, &stored, &dicts).ok());
    ASSERT_TRUE(EncodeGroupPage(Codec::kZstd, 3, columns, &plain, &plain_stored).ok());
    with += page.size();
    without += plain.size();
    GroupPage parsed;
    ASSERT_TRUE(parsed.Parse(page, PageLocation{"t.blk", 0, 16}, &read).ok());
    for (int c = 0; c < kNumBlockColumns; ++c) {
      std::string scratch;
      std::string_view raw;
      ASSERT_TRUE(parsed.Column(c, &scratch, &raw).ok()) << c;
      EXPECT_EQ(raw, columns[c]) << c;
      std::string into(columns[c].size(), '\0');
      ASSERT_TRUE(parsed.ColumnInto(c, into.data()).ok()) << c;
      EXPECT_EQ(into, columns[c]) << c;
    }
    // Without the block's dictionaries the page is refused, naming the column.
    const absl::Status s = parsed.Parse(page, PageLocation{"t.blk", 0, 16});
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(std::string(s.message()).find("dictionary"), std::string::npos) << s;
  }
  EXPECT_LT(with, without * 9 / 10);
}

TEST(ZstdDictionaries, TooLittleToLearnFromTrainsNothing) {
  ZstdDictionaries dicts;
  dicts.Train(SampleGroups(3, 3), 3, false);
  EXPECT_TRUE(dicts.empty());
  std::string meta;
  dicts.Serialize(&meta);
  EXPECT_EQ(meta.size(), static_cast<size_t>(kNumBlockColumns));  // an empty string each
}

TEST(ZstdDictionaries, MalformedDictionariesAreRefused) {
  ZstdDictionaries dicts;
  dicts.Train(SampleGroups(64, 4), 3, true);
  std::string meta;
  dicts.Serialize(&meta);
  ZstdDictionaries read;
  for (size_t len = 0; len < meta.size(); len += 97) {
    const std::string prefix = meta.substr(0, len);
    std::string_view in = prefix;
    EXPECT_FALSE(read.Parse(&in)) << len;
  }
  // Larger than a writer makes.
  std::string big;
  PutLengthPrefixed(&big, std::string(ZstdDictionaries::kMaxDictionaryBytes + 1, 'x'));
  std::string_view in = big;
  EXPECT_FALSE(read.Parse(&in));
  // A dictionary header with damaged entropy tables: Zstd refuses it, or it decodes nothing
  // wrongly (checked against the sizes); either way no crash.
  std::string bad;
  std::string dict(300, '\xff');
  const char magic[] = {'\x37', '\xa4', '\x30', '\xec'};
  dict.replace(0, 4, magic, 4);
  for (int c = 0; c < kNumBlockColumns; ++c) PutLengthPrefixed(&bad, c == 0 ? dict : "");
  in = bad;
  EXPECT_FALSE(read.Parse(&in));
}

// A Zstd block of checkout spans trains its dictionaries on its first groups, reads back every
// row, and is smaller than the same block at version 6 (no dictionaries).
TEST(ZstdDictionaries, ABlockUsesThemForEveryGroup) {
  GeneratorOptions o;
  o.seed = 5;
  o.traces = 300;
  CheckoutGenerator gen(o);
  std::vector<Span> spans, trace;
  while (gen.NextTrace(&trace)) spans.insert(spans.end(), trace.begin(), trace.end());
  SortBlockRows(&spans);
  test::TempDir dir;
  BlockProperties v7, v6;
  ASSERT_TRUE(test::WriteBlock(dir.Sub("7.blk"), spans, Codec::kZstd, 16, &v7).ok());
  ASSERT_TRUE(test::WriteBlock(dir.Sub("6.blk"), spans, Codec::kZstd, 16, &v6, 6).ok());
  EXPECT_LT(v7.file_bytes, v6.file_bytes * 95 / 100);
  auto block = BlockReader::Open(Env::Default(), dir.Sub("7.blk"), 7);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_GT((*block)->groups().size(), ZstdDictionaries::kTrainingGroups);
  EXPECT_FALSE((*block)->dictionaries()->empty());
  ASSERT_TRUE((*block)->Verify().ok());
  EXPECT_EQ(test::AllRows(**block), spans);
  // LZ4 blocks have none.
  BlockProperties lz4;
  ASSERT_TRUE(test::WriteBlock(dir.Sub("l.blk"), spans, Codec::kLz4, 16, &lz4).ok());
  auto l = BlockReader::Open(Env::Default(), dir.Sub("l.blk"), 8);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_TRUE((*l)->dictionaries()->empty());
}

}  // namespace
}  // namespace spanstore
