// Block files: what BlockBuilder writes, BlockReader returns exactly (every field, every codec,
// traces across row-group boundaries), and damage is DataLoss.

#include "format/block_reader.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "format/block_builder.h"
#include "format/block_footer.h"
#include "format/value_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "index/trace_index.h"
#include "index/value_filter.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"
#include "util/coding.h"

namespace spanstore {
namespace {

using test::RandomSpans;
using test::SortedRandomSpans;
using test::TempDir;
using test::WriteBlock;
using ::testing::HasSubstr;

class BlockReaderTest : public ::testing::TestWithParam<Codec> {};

TEST_P(BlockReaderTest, RoundTripsEveryRowAndTrace) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(7, 120);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("1.blk"), spans, GetParam(), 16, &props).ok());
  EXPECT_EQ(props.rows, spans.size());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->rows(), spans.size());
  EXPECT_GT((*block)->groups().size(), 5u);
  ASSERT_TRUE((*block)->Verify().ok());

  std::vector<Span> all;
  ASSERT_TRUE((*block)->ForEachRow([&](const Span& s, std::string_view context) {
    all.push_back(s);
    Span from_context;
    EXPECT_TRUE(DecodeSpanContext(context, &from_context));
    EXPECT_EQ(from_context.resource_attributes, s.resource_attributes);
    EXPECT_EQ(from_context.scope_name, s.scope_name);
    return true;
  }).ok());
  ASSERT_EQ(all.size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) ASSERT_EQ(all[i], spans[i]) << "row " << i;

  // Every trace, including those that straddle row groups.
  for (size_t i = 0; i < spans.size();) {
    size_t j = i;
    while (j < spans.size() && spans[j].trace_id == spans[i].trace_id) ++j;
    std::vector<Span> got;
    ASSERT_TRUE((*block)->ReadTrace(spans[i].trace_id, &got).ok());
    ASSERT_EQ(got, std::vector<Span>(spans.begin() + i, spans.begin() + j));
    EXPECT_TRUE((*block)->Contains(spans[i]));
    Span changed = spans[i];
    changed.name += "x";
    EXPECT_FALSE((*block)->Contains(changed));
    i = j;
  }
  std::vector<Span> none;
  ASSERT_TRUE((*block)->ReadTrace(RandomSpans(99).NextTraceId(), &none).ok());
  EXPECT_TRUE(none.empty());
}

INSTANTIATE_TEST_SUITE_P(Codecs, BlockReaderTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd));

// Spans without attributes give operations with empty key ranges, at the end of empty arrays.
// Decoded on a new thread (whose buffer pool is empty, so nothing has a capacity yet), they
// must round-trip without forming references past the end of an array (UBSan, fuzz finding).
TEST(BlockReader, SpansWithoutAttributesRoundTripOnAFreshThread) {
  TempDir dir;
  std::vector<Span> spans = SortedRandomSpans(31, 5, /*small=*/true);
  for (Span& s : spans) s.attributes.clear();
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("7.blk"), spans, Codec::kNone, 4, &props).ok());
  std::thread([&] {
    auto block = BlockReader::Open(Env::Default(), dir.Sub("7.blk"), 7);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_TRUE((*block)->Verify().ok());
    std::vector<Span> got;
    ASSERT_TRUE((*block)->ReadTrace(spans.front().trace_id, &got).ok());
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front(), spans.front());
  }).join();
}

// Two spans of one trace.
std::vector<Span> TwoSpanTrace(uint8_t id, uint64_t start) {
  std::vector<Span> spans(2);
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].trace_id.bytes[15] = id;
    spans[i].span_id.bytes[7] = static_cast<uint8_t>(i + 1);
    spans[i].start_time_unix_nano = start + i;
    spans[i].end_time_unix_nano = start + 10;
    spans[i].service_name = "svc";
    spans[i].name = "op";
  }
  return spans;
}

TEST(BlockBuilder, RefusesASpanBeforeThePreviousOneOfItsTrace) {
  TempDir dir;
  const std::vector<Span> trace = TwoSpanTrace(1, 100);
  BlockBuilder builder(Env::Default(), dir.Sub("x.blk"), BlockBuildOptions());
  ASSERT_TRUE(builder.Open().ok());
  ASSERT_TRUE(builder.Add(trace[1]).ok());
  EXPECT_EQ(builder.Add(trace[0]).code(), absl::StatusCode::kInvalidArgument);
  builder.Abandon();
  EXPECT_FALSE(Env::Default()->FileExists(dir.Sub("x.blk")));
}

TEST(BlockBuilder, RefusesATraceInTwoRowRanges) {
  TempDir dir;
  const std::vector<Span> a = TwoSpanTrace(1, 100), b = TwoSpanTrace(2, 50);
  BlockBuilder builder(Env::Default(), dir.Sub("x.blk"), BlockBuildOptions());
  ASSERT_TRUE(builder.Open().ok());
  ASSERT_TRUE(builder.Add(a[0]).ok());
  ASSERT_TRUE(builder.Add(b[0]).ok());
  ASSERT_TRUE(builder.Add(a[1]).ok());  // caught by Finish: Add keeps no set of traces
  BlockProperties props;
  const absl::Status s = builder.Finish(&props);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not contiguous"));
  builder.Abandon();
  EXPECT_FALSE(Env::Default()->FileExists(dir.Sub("x.blk")));
}

// Readers assume no order among traces: one in descending trace-id order with later traces
// starting earlier reads back whole.
TEST(BlockBuilder, AcceptsTracesInAnyOrder) {
  TempDir dir;
  std::vector<std::vector<Span>> traces;
  for (uint8_t id = 9; id >= 1; --id) traces.push_back(TwoSpanTrace(id, 1000 - id * 7 % 5));
  BlockBuildOptions options;
  options.rows_per_group = 3;  // traces cross row groups
  BlockBuilder builder(Env::Default(), dir.Sub("1.blk"), options);
  ASSERT_TRUE(builder.Open().ok());
  for (const auto& trace : traces) {
    for (const Span& s : trace) ASSERT_TRUE(builder.Add(s).ok());
  }
  BlockProperties props;
  ASSERT_TRUE(builder.Finish(&props).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("1.blk"), 1);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE((*block)->Verify().ok());
  for (const auto& trace : traces) {
    std::vector<Span> got;
    ASSERT_TRUE((*block)->ReadTrace(trace[0].trace_id, &got).ok());
    EXPECT_EQ(got, trace);
  }
}

// A reader refuses a group of more than kMaxRowsPerGroup rows, so the builder must never write
// one: it clamps rows_per_group (the store clamps Options::rows_per_group too, but BlockBuilder
// is used directly by tools and tests).
TEST(BlockBuilder, ClampsRowsPerGroupToWhatReadersAccept) {
  TempDir dir;
  BlockBuildOptions options;
  options.codec = Codec::kNone;
  options.rows_per_group = UINT32_MAX;
  BlockBuilder builder(Env::Default(), dir.Sub("big.blk"), options);
  ASSERT_TRUE(builder.Open().ok());
  Span span;
  span.service_name = "s";
  span.name = "n";
  constexpr uint32_t kRows = kMaxRowsPerGroup + 1;
  for (uint32_t i = 0; i < kRows; ++i) {
    std::memcpy(span.trace_id.bytes.data() + 12, &i, 4);
    std::reverse(span.trace_id.bytes.begin() + 12, span.trace_id.bytes.end());  // big-endian
    span.span_id.bytes[7] = 1;
    ASSERT_TRUE(builder.Add(span).ok());
  }
  BlockProperties props;
  ASSERT_TRUE(builder.Finish(&props).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("big.blk"), 1);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_EQ((*block)->groups().size(), 2u);
  EXPECT_EQ((*block)->groups()[0].rows, kMaxRowsPerGroup);
  EXPECT_EQ((*block)->groups()[1].rows, 1u);
}

TEST(BlockReader, EveryFlippedByteIsDetected) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(21, 4, /*small=*/true);
  BlockProperties props;
  const std::string path = dir.Sub("3.blk");
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kLz4, 8, &props).ok());
  auto original = Env::Default()->ReadFile(path);
  ASSERT_TRUE(original.ok());
  ASSERT_LT(original->size(), 20000u);  // keep the loop fast
  for (size_t i = 0; i < original->size(); ++i) {
    std::string damaged = *original;
    damaged[i] ^= 0x20;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
    auto block = BlockReader::Open(Env::Default(), path, 3);
    absl::Status s = block.ok() ? (*block)->Verify() : block.status();
    // The reserved header bytes are the only ones not covered by a checksum.
    if (i >= 12 && i < 16) continue;
    ASSERT_FALSE(s.ok()) << "flip at byte " << i << " went unnoticed";
    EXPECT_TRUE(s.code() == absl::StatusCode::kDataLoss ||
                s.code() == absl::StatusCode::kFailedPrecondition)
        << s;
  }
}

// What a file of another format version says in its checksummed footer too (a header alone
// that disagrees with the footer is damage: BlockReader.DamagedHeaderVersionIsDataLoss).
void SetFooterVersion(std::string* data, uint32_t version) {
  BlockFooter footer;
  std::string what;
  const size_t at = data->size() - kBlockFooterSize;
  ASSERT_TRUE(footer.DecodeFrom(std::string_view(*data).substr(at), &what)) << what;
  footer.version = version;
  data->resize(at);
  footer.EncodeTo(data);
}

TEST(BlockReader, DamagedHeaderVersionIsDataLoss) {
  TempDir dir;
  const std::string path = dir.Sub("4.blk");
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, SortedRandomSpans(2, 2), Codec::kZstd, 8, &props).ok());
  std::string data = *Env::Default()->ReadFile(path);
  data[9] ^= 0x08;  // one bit: version 2050
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto block = BlockReader::Open(Env::Default(), path, 4);
  ASSERT_EQ(block.status().code(), absl::StatusCode::kDataLoss) << block.status();
  EXPECT_NE(block.status().message().find("the header is damaged"), std::string::npos);
}

TEST(BlockReader, RefusesANewerFormatVersion) {
  TempDir dir;
  const std::string path = dir.Sub("4.blk");
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, SortedRandomSpans(2, 2), Codec::kZstd, 8, &props).ok());
  std::string data = *Env::Default()->ReadFile(path);
  data[8] = static_cast<char>(kBlockFormatVersion + 1);
  SetFooterVersion(&data, static_cast<uint8_t>(data[8]));
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto block = BlockReader::Open(Env::Default(), path, 4);
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(block.status().message().find("newer"), std::string::npos) << block.status();
}

// Version 3 added the row groups' value filters; blocks an older build wrote (version 2)
// read, verify and answer lookups as before, without filters.
TEST(BlockReader, ReadsVersion2Blocks) {
  TempDir dir;
  const std::string path = dir.Sub("5.blk");
  const std::vector<Span> spans = SortedRandomSpans(5, 20);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kZstd, 8, &props, 2).ok());
  auto block = BlockReader::Open(Env::Default(), path, 5);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->format_version(), 2u);
  for (const BlockReader::Group& g : (*block)->groups()) EXPECT_FALSE(g.has_filter);
  ASSERT_TRUE((*block)->Verify().ok());
  std::vector<Span> got;
  ASSERT_TRUE((*block)->ReadTrace(spans.front().trace_id, &got).ok());
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), spans.front());
}

// Version 4 keeps the groups' value filters in a section of their own, read on the first call
// of ValueFilters (a block's first attribute search), not at Open: damage there is found then
// (and by Verify), naming the file and offset, and does not stop trace lookups.
TEST(BlockReader, ValueFiltersAreReadOnFirstUse) {
  TempDir dir;
  const std::string path = dir.Sub("7.blk");
  const std::vector<Span> spans = SortedRandomSpans(7, 40);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kZstd, 8, &props).ok());
  {
    auto block = BlockReader::Open(Env::Default(), path, 7);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_EQ((*block)->format_version(), kBlockFormatVersion);
    const uint64_t before = (*block)->memory_bytes();
    auto filters = (*block)->ValueFilters();
    ASSERT_TRUE(filters.ok()) << filters.status();
    ASSERT_EQ(filters->get().size(), (*block)->groups().size());
    for (std::string_view f : filters->get()) EXPECT_FALSE(f.empty());
    EXPECT_GT((*block)->memory_bytes(), before);
  }
  uint64_t last_filter_byte = 0;
  {
    auto block = BlockReader::Open(Env::Default(), path, 7);
    ASSERT_TRUE(block.ok()) << block.status();
    const auto [offset, size] = (*block)->group_filters_extent();
    last_filter_byte = offset + size - 9;  // before the groups' filters' checksum
  }
  std::string data = *Env::Default()->ReadFile(path);
  data[last_filter_byte] ^= 0x10;
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto block = BlockReader::Open(Env::Default(), path, 7);
  ASSERT_TRUE(block.ok()) << block.status();
  std::vector<Span> got;
  ASSERT_TRUE((*block)->ReadTrace(spans.front().trace_id, &got).ok());
  EXPECT_EQ(got.front(), spans.front());
  for (int attempt = 0; attempt < 2; ++attempt) {  // a failure is not remembered as success
    auto filters = (*block)->ValueFilters();
    ASSERT_EQ(filters.status().code(), absl::StatusCode::kDataLoss) << filters.status();
    EXPECT_THAT(std::string(filters.status().message()),
                ::testing::AllOf(::testing::HasSubstr(path), ::testing::HasSubstr("value filters"),
                                 ::testing::HasSubstr("checksum")));
  }
  EXPECT_EQ((*block)->Verify().code(), absl::StatusCode::kDataLoss);
}

// With a filter cache, a block's value filters live there (within its budget) rather than in
// the reader: read once, then answered from the cache, read again once evicted -- always the
// same filters -- and a damaged section is reported on every call and never cached.
TEST(BlockReader, ValueFiltersLiveInTheFilterCacheWithinItsBudget) {
  TempDir dir;
  const std::string path = dir.Sub("9.blk");
  const std::vector<Span> spans = SortedRandomSpans(9, 40);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kZstd, 8, &props).ok());
  auto plain = BlockReader::Open(Env::Default(), path, 9);
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto expected = (*plain)->ValueFilters();
  ASSERT_TRUE(expected.ok()) << expected.status();
  const std::vector<std::string> want(expected->get().begin(), expected->get().end());
  auto same = [&](const GroupValueFilters& got) {
    return std::equal(want.begin(), want.end(), got.get().begin(), got.get().end());
  };

  PageCache cache(64 << 20, 1);
  auto block = BlockReader::Open(Env::Default(), path, 9, nullptr, &cache);
  ASSERT_TRUE(block.ok()) << block.status();
  const uint64_t memory = (*block)->memory_bytes();
  auto first = (*block)->ValueFilters();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(same(*first));
  EXPECT_GT(cache.usage(), 0u);
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ((*block)->memory_bytes(), memory);  // held by the cache, not the reader
  auto second = (*block)->ValueFilters();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(same(*second));
  EXPECT_EQ(cache.hits(), 1u);
  {
    // A closed reader's filters leave the cache at once.
    auto another = BlockReader::Open(Env::Default(), path, 9, nullptr, &cache);
    ASSERT_TRUE(another.ok()) << another.status();
    const uint64_t before = cache.usage();
    ASSERT_TRUE((*another)->ValueFilters().ok());
    EXPECT_GT(cache.usage(), before);
    another->reset();
    EXPECT_EQ(cache.usage(), before);
  }

  // A budget smaller than the filters: nothing is kept, every call reads them, and what a
  // caller holds stays valid.
  PageCache tiny(16, 1);
  auto small = BlockReader::Open(Env::Default(), path, 9, nullptr, &tiny);
  ASSERT_TRUE(small.ok()) << small.status();
  auto held = (*small)->ValueFilters();
  ASSERT_TRUE(held.ok()) << held.status();
  for (int i = 0; i < 3; ++i) {
    auto again = (*small)->ValueFilters();
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(same(*again));
  }
  EXPECT_TRUE(same(*held));
  EXPECT_EQ(tiny.usage(), 0u);
  EXPECT_EQ(tiny.hits(), 0u);
  ASSERT_TRUE((*small)->Verify().ok());

  const auto [offset, size] = (*block)->group_filters_extent();
  std::string data = *Env::Default()->ReadFile(path);
  data[offset + size - 9] ^= 0x10;  // the last filter byte, before the section's checksum
  const std::string damaged = dir.Sub("10.blk");
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(damaged, data).ok());
  PageCache other(64 << 20, 1);
  auto bad = BlockReader::Open(Env::Default(), damaged, 10, nullptr, &other);
  ASSERT_TRUE(bad.ok()) << bad.status();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto filters = (*bad)->ValueFilters();
    ASSERT_EQ(filters.status().code(), absl::StatusCode::kDataLoss) << filters.status();
    EXPECT_THAT(
        std::string(filters.status().message()),
        ::testing::AllOf(::testing::HasSubstr(damaged), ::testing::HasSubstr("value filters")));
  }
  EXPECT_EQ(other.usage(), 0u);
}

// Version 4 reads the trace index on first use: Open holds only the meta page's trace count and
// id filter, a lookup the filter turns away reads nothing, the first one it lets through reads
// the index, and damage in the index is found then (and by Verify), not at Open.
TEST(BlockReader, TraceIndexIsReadOnFirstUse) {
  TempDir dir;
  const std::string path = dir.Sub("9.blk");
  const std::vector<Span> spans = SortedRandomSpans(9, 60);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kZstd, 8, &props).ok());
  {
    auto block = BlockReader::Open(Env::Default(), path, 9);
    ASSERT_TRUE(block.ok()) << block.status();
    EXPECT_EQ((*block)->traces(), props.traces);
    for (const Span& s : spans) EXPECT_TRUE((*block)->MayHoldTrace(TraceIndex::Hash(s.trace_id)));
    const uint64_t before = (*block)->memory_bytes();
    int turned_away = 0;
    for (uint8_t i = 0; i < 100; ++i) {
      TraceId absent;
      absent.bytes.fill(i);
      if (!(*block)->MayHoldTrace(TraceIndex::Hash(absent))) ++turned_away;
    }
    EXPECT_GT(turned_away, 90);  // ~1% false positives
    EXPECT_EQ((*block)->memory_bytes(), before) << "probing the filter read the index";
    std::vector<Span> got;
    ASSERT_TRUE((*block)->ReadTrace(spans.back().trace_id, &got).ok());
    EXPECT_EQ(got.back(), spans.back());
    EXPECT_GT((*block)->memory_bytes(), before);
    auto index = (*block)->LoadTraceIndex();
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ((*index)->size(), props.traces);
    EXPECT_TRUE((*block)->Verify().ok());
  }
  std::string data = *Env::Default()->ReadFile(path);
  const uint64_t index_offset = DecodeFixed64(data.data() + data.size() - kBlockFooterSize + 16);
  data[index_offset + 4] ^= 0x01;  // the first trace id
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto block = BlockReader::Open(Env::Default(), path, 9);
  ASSERT_TRUE(block.ok()) << block.status();
  std::vector<Span> got;
  const absl::Status read = (*block)->ReadTrace(spans.front().trace_id, &got);
  EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss) << read;
  EXPECT_THAT(std::string(read.message()), ::testing::HasSubstr("trace index"));
  EXPECT_TRUE((*block)->MayContainTrace(spans.front().trace_id));  // unreadable: "may"
  EXPECT_EQ((*block)->Verify().code(), absl::StatusCode::kDataLoss);
}

// Version 3 blocks (filters in the meta page) are read, verified and searched as before.
TEST(BlockReader, ReadsVersion3Blocks) {
  TempDir dir;
  const std::string path = dir.Sub("8.blk");
  const std::vector<Span> spans = SortedRandomSpans(8, 20);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kZstd, 8, &props, 3).ok());
  auto block = BlockReader::Open(Env::Default(), path, 8);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->format_version(), 3u);
  auto filters = (*block)->ValueFilters();
  ASSERT_TRUE(filters.ok()) << filters.status();
  ASSERT_EQ(filters->get().size(), (*block)->groups().size());
  for (const BlockReader::Group& g : (*block)->groups()) EXPECT_TRUE(g.has_filter);
  ASSERT_TRUE((*block)->Verify().ok());
}

// Version 5 ends the filters' section with a block value filter over the keys whose values fit
// its budget (rows / 4, fewest first): a host is covered, a per-span id is not, every host of
// the block is in it, Verify finds a filter that lacks one (a search would skip the block), and
// damage is found when the filter is first read.
TEST(BlockReader, BlockValueFilterCoversTheKeysWithinItsBudget) {
  TempDir dir;
  const std::string path = dir.Sub("10.blk");
  std::vector<Span> spans(3000);
  for (size_t i = 0; i < spans.size(); ++i) {
    Span& s = spans[i];
    s.trace_id.bytes.fill(0);
    s.trace_id.bytes[0] = static_cast<uint8_t>(1 + i / 4 / 256);
    s.trace_id.bytes[1] = static_cast<uint8_t>(i / 4 % 256);
    s.span_id.bytes.fill(0);
    s.span_id.bytes[6] = static_cast<uint8_t>((i + 1) / 256);
    s.span_id.bytes[7] = static_cast<uint8_t>((i + 1) % 256);
    s.start_time_unix_nano = 1'700'000'000'000'000'000 + i;
    s.end_time_unix_nano = s.start_time_unix_nano + 1000;
    s.service_name = "checkout";
    s.name = "GET /cart";
    s.attributes = {{"http.host", AnyValue::String("host-" + std::to_string(i % 200))},
                    {"user.id", AnyValue::String("user-" + std::to_string(i))}};
  }
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, spans, Codec::kZstd, 64, &props).ok());
  {
    auto block = BlockReader::Open(Env::Default(), path, 10);
    ASSERT_TRUE(block.ok()) << block.status();
    const uint64_t before = (*block)->memory_bytes();
    auto loaded = (*block)->LoadBlockValueFilter();
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_LT((*block)->memory_bytes() - before, 4096u) << "the groups' filters were read too";
    const BlockTables& tables = (*block)->tables();
    const auto key = [&](std::string_view k) {
      return static_cast<uint32_t>(std::find(tables.keys.begin(), tables.keys.end(), k) -
                                   tables.keys.begin());
    };
    const BlockValueFilter& f = **loaded;
    EXPECT_TRUE(f.Covers(key("http.host")));
    EXPECT_FALSE(f.Covers(key("user.id")));  // 3000 values, over the budget
    for (int h = 1; h < 200; ++h) {          // host-0 is the operation's template: in no filter
      EXPECT_TRUE(f.MayContain(ValueFilterHash(key("http.host"), "host-" + std::to_string(h))));
    }
    EXPECT_FALSE(f.MayContain(ValueFilterHash(key("http.host"), "payments.staging.internal")));
    ASSERT_TRUE((*block)->Verify().ok());
  }
  // Clear the last 64 bytes of the block filter's bits (~a quarter of the hosts' probes), and
  // give it a checksum that matches again.
  auto block = BlockReader::Open(Env::Default(), path, 10);
  ASSERT_TRUE(block.ok()) << block.status();
  const auto [offset, size] = (*block)->block_filter_extent();
  ASSERT_GT(size, 64u + 8);
  std::string data = *Env::Default()->ReadFile(path);
  const uint64_t end = offset + size - 8;
  std::memset(&data[end - 64], 0, 64);
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  block = BlockReader::Open(Env::Default(), path, 10);  // the filter is not read at Open
  ASSERT_TRUE(block.ok()) << block.status();
  const absl::Status damaged = (*block)->LoadBlockValueFilter().status();
  EXPECT_EQ(damaged.code(), absl::StatusCode::kDataLoss) << damaged;
  EXPECT_THAT(std::string(damaged.message()),
              ::testing::AllOf(HasSubstr(path), HasSubstr("block value filter: checksum")));
  EncodeFixed64(&data[end], XXH3_64bits(data.data() + offset, size - 8));
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  block = BlockReader::Open(Env::Default(), path, 10);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE((*block)->LoadBlockValueFilter().ok());
  const absl::Status verify = (*block)->Verify();
  EXPECT_EQ(verify.code(), absl::StatusCode::kDataLoss) << verify;
  EXPECT_THAT(std::string(verify.message()), HasSubstr("block value filter lacks the value of "
                                                       "http.host"));
}

TEST(BlockReader, RefusesAnOlderFormatVersion) {
  TempDir dir;
  const std::string path = dir.Sub("6.blk");
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, SortedRandomSpans(2, 2), Codec::kZstd, 8, &props).ok());
  std::string data = *Env::Default()->ReadFile(path);
  data[8] = 1;
  SetFooterVersion(&data, static_cast<uint8_t>(data[8]));
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto block = BlockReader::Open(Env::Default(), path, 6);
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(block.status().message().find("version 1"), std::string::npos) << block.status();
}

TEST(BlockReader, TruncatedFileIsDataLoss) {
  TempDir dir;
  const std::string path = dir.Sub("5.blk");
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(path, SortedRandomSpans(4, 4), Codec::kZstd, 8, &props).ok());
  const std::string data = *Env::Default()->ReadFile(path);
  for (size_t cut : {size_t{0}, size_t{10}, data.size() / 2, data.size() - 1}) {
    ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data.substr(0, cut)).ok());
    auto block = BlockReader::Open(Env::Default(), path, 5);
    ASSERT_FALSE(block.ok()) << cut;
    EXPECT_EQ(block.status().code(), absl::StatusCode::kDataLoss) << block.status();
  }
}

}  // namespace
}  // namespace spanstore
