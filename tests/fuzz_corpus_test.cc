// The seed corpora of fuzz/block_reader_fuzz.cc and fuzz/manifest_fuzz.cc: small valid block
// files (every codec, several row groups, every span field) and manifests.
//
// The committed seeds must stay valid -- a fuzzer seeded with files the reader rejects never
// reaches the column decoders -- so this test fails when a format change makes them stale.
// To (re)write them:
//   SPANSTORE_WRITE_FUZZ_CORPUS=1 build/tests/fuzz_corpus_test
// which writes into fuzz/corpus/{block_reader,manifest}/ of the source tree.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "format/block_builder.h"
#include "format/block_reader.h"
#include "format/manifest.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;

// Each seed stays small so that the fuzzer mutates fast and the repository stays lean.
constexpr uintmax_t kMaxSeedBytes = 20 * 1024;

const std::string kCorpusDir = std::string(SPANSTORE_TESTDATA_DIR) + "/../../fuzz/corpus";

struct BlockSeed {
  std::string name;
  Codec codec;
  uint32_t rows_per_group;
  std::vector<Span> spans;  // in block row order
  size_t max_dictionary_bytes = 0;  // 0: the default
};

std::vector<Span> RandomTraces(uint64_t seed, int traces, int max_spans) {
  test::RandomSpanOptions o;
  o.awkward = 0.1;
  o.huge_string_bytes = 200;
  o.max_attributes = 5;
  o.max_events = 2;
  o.max_links = 2;
  o.max_nesting = 2;
  test::RandomSpans gen(seed, o);
  std::vector<Span> spans;
  for (int t = 0; t < traces; ++t) {
    for (Span& s : gen.NextTrace(1 + static_cast<int>(gen.rng()() % max_spans))) {
      spans.push_back(std::move(s));
    }
  }
  return spans;
}

// The first `max_spans` spans of `traces` checkout traces (half of them with an error).
std::vector<Span> CheckoutTraces(uint64_t seed, int traces, size_t max_spans) {
  GeneratorOptions o;
  o.seed = seed;
  o.traces = static_cast<uint64_t>(traces);
  o.error_rate = 0.5;
  CheckoutGenerator gen(o);
  std::vector<Span> spans, trace;
  while (gen.NextTrace(&trace)) spans.insert(spans.end(), trace.begin(), trace.end());
  spans.resize(std::min(spans.size(), max_spans));
  return spans;
}

std::vector<BlockSeed> BlockSeeds() {
  std::vector<BlockSeed> seeds = {
      // Uncompressed pages: a mutation reaches the column bytes directly.
      {"random_none.blk", Codec::kNone, 4, RandomTraces(1, 4, 4)},
      {"checkout_none.blk", Codec::kNone, 8, CheckoutTraces(2, 2, 14)},
      {"random_lz4.blk", Codec::kLz4, 8, RandomTraces(3, 6, 5)},
      {"checkout_zstd.blk", Codec::kZstd, 32, CheckoutTraces(4, 3, 200)},
      // Enough groups to train column dictionaries (small ones): the fuzzer reaches them.
      {"checkout_zstd_dicts.blk", Codec::kZstd, 8, CheckoutTraces(7, 40, 200), 512},
      {"one_span.blk", Codec::kNone, 4096, {}},
  };
  Span one;
  one.trace_id.bytes[15] = 1;
  one.span_id.bytes[7] = 1;
  one.service_name = "svc";
  one.name = "op";
  one.start_time_unix_nano = 1'767'225'600'000'000'000ull;
  one.end_time_unix_nano = one.start_time_unix_nano + 1000;
  seeds.back().spans.push_back(one);
  for (BlockSeed& s : seeds) std::sort(s.spans.begin(), s.spans.end(), BlockRowLess);
  return seeds;
}

std::vector<std::pair<std::string, Manifest>> ManifestSeeds() {
  Manifest empty;
  Manifest some;
  some.next_block_number = 9;
  some.first_live_segment = 14;
  some.blocks = {
      {3, 1, 2'000'000, 97'000, 1'767'225'600'000'000'000ull, 1'767'229'199'000'000'000ull,
       61'000'000},
      {7, 0, 5758, 300, 1'767'229'200'000'000'000ull, 1'767'229'260'000'000'000ull, 189'160},
      {8, 0, 1, 1, 5, 5, 300}};
  Manifest huge;
  huge.next_block_number = UINT64_MAX;
  huge.first_live_segment = UINT64_MAX - 1;
  huge.blocks = {{UINT64_MAX - 1, 1, UINT64_MAX, UINT64_MAX, 0, UINT64_MAX, UINT64_MAX}};
  return {{"empty", empty}, {"three_blocks", some}, {"huge_numbers", huge}};
}

absl::Status WriteBlock(const std::string& path, const BlockSeed& seed) {
  BlockBuildOptions options;
  options.codec = seed.codec;
  options.rows_per_group = seed.rows_per_group;
  if (seed.max_dictionary_bytes != 0) options.max_dictionary_bytes = seed.max_dictionary_bytes;
  BlockBuilder builder(Env::Default(), path, options);
  absl::Status s = builder.Open();
  for (const Span& span : seed.spans) {
    if (s.ok()) s = builder.Add(span);
  }
  BlockProperties props;
  if (s.ok()) s = builder.Finish(&props);
  return s;
}

// A valid, small block: opens, verifies, and holds every row.
void ExpectValidBlock(const std::string& path, size_t rows) {
  SCOPED_TRACE(path);
  EXPECT_LE(fs::file_size(path), kMaxSeedBytes);
  auto block = BlockReader::Open(Env::Default(), path, 1);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_TRUE((*block)->Verify().ok());
  if (rows != 0) {
    EXPECT_EQ((*block)->rows(), rows);
  }
}

void WriteSeeds(const std::string& dir) {
  fs::create_directories(dir + "/block_reader");
  fs::create_directories(dir + "/manifest");
  for (const BlockSeed& seed : BlockSeeds()) {
    ASSERT_TRUE(WriteBlock(dir + "/block_reader/" + seed.name, seed).ok()) << seed.name;
  }
  for (const auto& [name, manifest] : ManifestSeeds()) {
    ASSERT_TRUE(
        Env::Default()->WriteFileAtomically(dir + "/manifest/" + name, manifest.Encode()).ok());
  }
}

// The generator writes what the fuzzers need: valid, small, several row groups where asked.
TEST(FuzzCorpusTest, GeneratedSeedsAreValidAndSmall) {
  test::TempDir tmp;
  WriteSeeds(tmp.path());
  for (const BlockSeed& seed : BlockSeeds()) {
    ExpectValidBlock(tmp.Sub("block_reader/" + seed.name), seed.spans.size());
    if (seed.rows_per_group < seed.spans.size()) {
      auto block = BlockReader::Open(Env::Default(), tmp.Sub("block_reader/" + seed.name), 1);
      ASSERT_TRUE(block.ok());
      EXPECT_GT((*block)->groups().size(), 1u) << seed.name;
      if (seed.max_dictionary_bytes != 0) {
        EXPECT_FALSE((*block)->dictionaries()->empty()) << seed.name;
      }
    }
  }
  for (const auto& [name, manifest] : ManifestSeeds()) {
    auto data = Env::Default()->ReadFile(tmp.Sub("manifest/" + name));
    ASSERT_TRUE(data.ok());
    auto decoded = Manifest::Decode(*data, name);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, manifest);
  }
}

// The committed seeds are still valid for the current format. If this fails after a format
// change, rewrite them (see the top of this file). Other files in the corpus directories
// (reproducers of fixed bugs, inputs the fuzzer kept) need not be valid.
TEST(FuzzCorpusTest, CommittedSeedsAreValid) {
  if (std::getenv("SPANSTORE_WRITE_FUZZ_CORPUS") != nullptr) WriteSeeds(kCorpusDir);
  SCOPED_TRACE(
      "stale seeds? rewrite them: SPANSTORE_WRITE_FUZZ_CORPUS=1 build/tests/fuzz_corpus_test");
  for (const BlockSeed& seed : BlockSeeds()) {
    const std::string path = kCorpusDir + "/block_reader/" + seed.name;
    ASSERT_TRUE(fs::exists(path)) << path;
    ExpectValidBlock(path, seed.spans.size());
  }
  for (const auto& [name, manifest] : ManifestSeeds()) {
    const std::string path = kCorpusDir + "/manifest/" + name;
    ASSERT_TRUE(fs::exists(path)) << path;
    auto data = Env::Default()->ReadFile(path);
    ASSERT_TRUE(data.ok());
    auto decoded = Manifest::Decode(*data, path);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, manifest) << path;
  }
}

}  // namespace
}  // namespace spanstore
