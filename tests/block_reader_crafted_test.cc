// Block files crafted with valid checksums (XXH3 is no secret: anyone, or a buggy writer, can
// produce them): BlockReader must refuse counts the file cannot back, without allocating what
// they claim. Random damage never gets here -- the checksums catch it -- so these are the
// inputs fuzz/block_reader_fuzz.cc reaches by recomputing checksums.
//
// Each test was a finding (the first one the fuzzer's, input kept in
// fuzz/findings/block_reader/oom_huge_group_count); all are fixed and run as regression tests.
// Without its fix the overflow test fails only in the -fsanitize=undefined build. Replay the
// fuzzer's input with
//   build-asan/fuzz/block_reader_fuzz -malloc_limit_mb=512 fuzz/findings/block_reader/*

#include <xxhash.h>

#include <functional>
#include <string>

#include "compaction/block_builder.h"
#include "compaction/block_format.h"
#include "compaction/block_reader.h"
#include "compaction/block_tables.h"
#include "compaction/page_codec.h"
#include "engine/coding.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using testing::TempDir;

// A valid one-span block with uncompressed pages.
std::string OneSpanBlock(const TempDir& dir) {
  Span span;
  span.trace_id.bytes[15] = 1;
  span.span_id.bytes[7] = 1;
  span.service_name = "service";
  span.name = "operation";
  span.start_time_unix_nano = 1'767'225'600'000'000'000ull;
  span.end_time_unix_nano = span.start_time_unix_nano + 1000;
  BlockBuildOptions options;
  options.codec = Codec::kNone;
  BlockBuilder builder(Env::Default(), dir.Sub("one.blk"), options);
  BlockProperties props;
  EXPECT_TRUE(builder.Open().ok());
  EXPECT_TRUE(builder.Add(span).ok());
  EXPECT_TRUE(builder.Finish(&props).ok());
  auto data = Env::Default()->ReadFile(dir.Sub("one.blk"));
  EXPECT_TRUE(data.ok());
  return *data;
}

// Replaces the meta page of `block` with edit(decoded meta), re-encoding the page and moving the
// trace index and footer after it, every checksum valid.
std::string RewriteMeta(const std::string& block,
                        const std::function<std::string(std::string_view)>& edit) {
  const char* f = block.data() + block.size() - kBlockFooterSize;
  const uint64_t meta_offset = DecodeFixed64(f), meta_size = DecodeFixed64(f + 8);
  const uint64_t index_offset = DecodeFixed64(f + 16), index_size = DecodeFixed64(f + 24);
  std::string_view page = std::string_view(block).substr(meta_offset, meta_size);
  std::string meta;
  EXPECT_TRUE(DecodePage(&page, PageLocation{"crafted", 0, meta_offset}, &meta).ok());

  std::string out = block.substr(0, meta_offset);
  std::string new_page;
  EXPECT_TRUE(EncodePage(Codec::kNone, 0, edit(meta), &new_page).ok());
  out += new_page;
  const uint64_t new_index_offset = out.size();
  out += block.substr(index_offset, index_size);
  std::string footer;
  PutFixed64(&footer, meta_offset);
  PutFixed64(&footer, new_page.size());
  PutFixed64(&footer, new_index_offset);
  PutFixed64(&footer, index_size);
  PutFixed32(&footer, DecodeFixed32(f + 32));
  PutFixed32(&footer, DecodeFixed32(f + 36));
  PutFixed64(&footer, XXH3_64bits(footer.data(), footer.size()));
  footer.append(kBlockMagic);
  return out + footer;
}

// Replaces the trace index of `block` with `index` (its checksum appended here), fixing the
// footer.
std::string ReplaceIndex(const std::string& block, std::string index) {
  PutFixed64(&index, XXH3_64bits(index.data(), index.size()));
  const char* f = block.data() + block.size() - kBlockFooterSize;
  const uint64_t index_offset = DecodeFixed64(f + 16);
  std::string footer(f, 40);
  EncodeFixed64(footer.data() + 24, index.size());
  PutFixed64(&footer, XXH3_64bits(footer.data(), footer.size()));
  footer.append(kBlockMagic);
  return block.substr(0, index_offset) + index + footer;
}

// Copies one varint from *in to *out, or replaces it with `value` when given.
void CopyVarint(std::string_view* in, std::string* out, std::optional<uint64_t> value = {}) {
  uint64_t v = 0;
  ASSERT_TRUE(GetVarint64(in, &v));
  PutVarint64(out, value.value_or(v));
}

// Copies a serialized zone map (index/zone_map.h), setting its row count to `rows`.
void CopyZoneMap(std::string_view* in, std::string* out, uint64_t rows) {
  for (int i = 0; i < 6; ++i) CopyVarint(in, out);
  CopyVarint(in, out, rows);
  uint64_t services = 0;
  ASSERT_TRUE(GetVarint64(in, &services));
  PutVarint64(out, services);
  for (uint64_t i = 0; i < services; ++i) {
    std::string_view s;
    ASSERT_TRUE(GetLengthPrefixed(in, &s));
    PutLengthPrefixed(out, s);
  }
}

// Copies a row group's compact zone map (ZoneMap::SerializeCompact), setting its row count.
void CopyCompactZoneMap(std::string_view* in, std::string* out, uint64_t rows) {
  for (int i = 0; i < 6; ++i) CopyVarint(in, out);
  CopyVarint(in, out, rows);
  uint64_t services = 0;
  ASSERT_TRUE(GetVarint64(in, &services));
  PutVarint64(out, services);
  for (uint64_t i = 0; i < services; ++i) CopyVarint(in, out);
}

// Copies the block-wide tables (compaction/block_tables.h) unchanged.
void CopyTables(std::string_view* in, std::string* out) {
  const std::string_view before = *in;
  BlockTables tables;
  ASSERT_TRUE(tables.Parse(in));
  out->append(before.substr(0, before.size() - in->size()));
}

absl::StatusOr<std::shared_ptr<BlockReader>> OpenCrafted(const TempDir& dir,
                                                         const std::string& data) {
  EXPECT_TRUE(Env::Default()->WriteFileAtomically(dir.Sub("crafted.blk"), data).ok());
  return BlockReader::Open(Env::Default(), dir.Sub("crafted.blk"), 2);
}

TEST(BlockReaderCraftedTest, TheRewriteItselfKeepsABlockValid) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  const std::string same =
      RewriteMeta(block, [](std::string_view meta) { return std::string(meta); });
  EXPECT_EQ(same, block);
  auto opened = OpenCrafted(dir, same);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE((*opened)->Verify().ok());
}

// Finding: ParseMeta resized its group vector to the claimed group count before reading a single
// group entry. rows = groups = 2^32 - 2 passed every check and asked for ~4 billion Group
// structs (about a terabyte): std::bad_alloc, i.e. std::terminate, in Store::Open of a store
// whose manifest names such a block. A group page takes at least its column table and checksum,
// and every row 8 bytes of span id, so the file size bounds both counts.
TEST(BlockReaderCraftedTest, HugeGroupCountIsRefusedWithoutAllocating) {
  TempDir dir;
  const std::string crafted = RewriteMeta(OneSpanBlock(dir), [](std::string_view meta) {
    std::string out;
    PutVarint64(&out, UINT32_MAX - 1);  // rows
    PutVarint64(&out, UINT32_MAX - 1);  // groups
    uint64_t skip;
    GetVarint64(&meta, &skip);
    GetVarint64(&meta, &skip);
    return out.append(meta);
  });
  auto opened = OpenCrafted(dir, crafted);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
}

// Finding: a single group could claim 2^32 - 2 rows (its zone map agreeing) although its page
// held one. Open accepted it; then Scan sized its candidate list by the claim before loading any
// column (`rows.resize(data.rows())`, 16 GiB), and a status predicate decoded a width-0
// bit-packed column of the claimed count (another 16 GiB) without a byte to back it. Open must
// refuse a group whose row count its page cannot hold (8 bytes of span id per row).
TEST(BlockReaderCraftedTest, HugeGroupRowCountIsRefused) {
  TempDir dir;
  constexpr uint64_t kRows = UINT32_MAX - 1;
  const std::string crafted = RewriteMeta(OneSpanBlock(dir), [&](std::string_view meta) {
    std::string out;
    CopyVarint(&meta, &out, kRows);  // rows
    CopyVarint(&meta, &out);         // groups (1)
    CopyZoneMap(&meta, &out, kRows);  // the block's zone map
    CopyTables(&meta, &out);
    CopyCompactZoneMap(&meta, &out, kRows);  // the group's zone map
    return out.append(meta);                 // its page size, the column sizes
  });
  auto opened = OpenCrafted(dir, crafted);
  // Do not go on to Scan: without the check it would allocate 16 GiB.
  ASSERT_FALSE(opened.ok()) << "a group of " << kRows << " rows in a " << crafted.size()
                            << "-byte file was accepted";
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
}

// The same claim for a group of a block whose row count is small enough to pass the file-size
// bound: the group's page size must back its rows.
TEST(BlockReaderCraftedTest, GroupRowsBeyondItsPageAreRefused) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  const uint64_t rows = (block.size() - kBlockFooterSize) / 8;
  const std::string crafted = RewriteMeta(block, [&](std::string_view meta) {
    std::string out;
    CopyVarint(&meta, &out, rows);
    CopyVarint(&meta, &out);
    CopyZoneMap(&meta, &out, rows);
    CopyTables(&meta, &out);
    CopyCompactZoneMap(&meta, &out, rows);
    return out.append(meta);
  });
  auto opened = OpenCrafted(dir, crafted);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
}

// Finding (index/trace_index.cc, TraceIndex::Parse): an entry's first row is computed as
// `previous_end + ZigZagDecode(gap)` in int64, so a gap decoding to INT64_MAX after a non-empty
// entry is signed overflow -- undefined behaviour, which UBSan aborts on (the ASan+UBSan job of
// scripts/test.sh, and block_reader_fuzz once it finds it). A Release build happens to wrap and
// then refuses the range, so this test passes there: run it under -fsanitize=undefined. Checking
// the gap against [-previous_end, UINT32_MAX - previous_end] before adding fixes it.
TEST(BlockReaderCraftedTest, TraceIndexGapDoesNotOverflow) {
  TempDir dir;
  std::string index;
  PutFixed32(&index, 2);
  index.append(16, '\1');
  PutVarint64(&index, ZigZagEncode(0));  // rows [0, 1)
  PutVarint64(&index, 1);
  index.append(16, '\2');
  PutVarint64(&index, ZigZagEncode(INT64_MAX));
  PutVarint64(&index, 1);
  auto opened = OpenCrafted(dir, ReplaceIndex(OneSpanBlock(dir), index));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
}

}  // namespace
}  // namespace spanstore
