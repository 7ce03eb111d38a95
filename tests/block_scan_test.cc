// Span queries over one block: ScanBlock returns exactly what a brute-force SpanMatches filter
// over the block's spans returns, and ScanBlockKeys names the same spans from the columns.

#include "engine/block_scan.h"

#include <random>
#include <utility>
#include <vector>

#include "format/block_builder.h"
#include "format/block_reader.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using test::SortedRandomSpans;
using test::TempDir;
using test::WriteBlock;

class BlockScanTest : public ::testing::TestWithParam<Codec> {};

TEST_P(BlockScanTest, ScanEqualsBruteForce) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(11, 200, /*small=*/true);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("2.blk"), spans, GetParam(), 32, &props).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("2.blk"), 2);
  ASSERT_TRUE(block.ok()) << block.status();
  std::mt19937_64 rng(3);
  for (int q = 0; q < 200; ++q) {
    SpanQuery query;
    const Span& pick = spans[rng() % spans.size()];
    if (rng() % 2) query.start_min = pick.start_time_unix_nano - rng() % 1000000;
    if (rng() % 2) query.start_max = pick.start_time_unix_nano + rng() % 1000000;
    if (rng() % 3 == 0) query.min_duration_nanos = pick.duration_nanos();
    if (rng() % 3 == 0) query.services = {pick.service_name, "absent"};
    if (rng() % 4 == 0) query.names = {pick.name};
    if (rng() % 4 == 0) query.status = pick.status_code;
    if (rng() % 4 == 0) query.kinds = {pick.kind};
    if (rng() % 4 == 0 && !pick.attributes.empty()) {
      AttributePredicate p;
      p.scope = AttributeScope::kSpan;
      p.key = pick.attributes[0].key;
      p.value = pick.attributes[0].value;
      query.attributes.push_back(p);
    }
    std::vector<Span> want, got;
    for (const Span& s : spans) {
      if (SpanMatches(query, s)) want.push_back(s);
    }
    ASSERT_TRUE(ScanBlock(**block, query, [&](const Span& s) {
                  got.push_back(s);
                  return true;
                }).ok());
    ASSERT_EQ(got, want) << "query " << q;
    // The key-only scan (columns only when it can) names the same spans.
    std::vector<std::pair<TraceId, uint64_t>> want_keys, got_keys;
    for (const Span& s : want) want_keys.emplace_back(s.trace_id, s.start_time_unix_nano);
    if (!ScanKeysFromColumns(query)) continue;
    ASSERT_TRUE(ScanBlockKeys(**block, query, [&](const TraceId& id, uint64_t start) {
                  got_keys.emplace_back(id, start);
                  return true;
                }).ok());
    ASSERT_EQ(got_keys, want_keys) << "query " << q;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, BlockScanTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd));

}  // namespace
}  // namespace spanstore
