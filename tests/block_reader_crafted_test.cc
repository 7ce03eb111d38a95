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
// The later findings, from reading the v2 decoders, are buffers sized by a claim before the
// claim was checked; the reader refused the block either way, so an AllocationWatch (below)
// is what makes those tests fail without their fix, in any build.

#include <xxhash.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "engine/block_scan.h"
#include "format/block_builder.h"
#include "format/block_format.h"
#include "format/block_reader.h"
#include "format/block_tables.h"
#include "format/column_dictionary.h"
#include "format/group_page.h"
#include "format/page_codec.h"
#include "gtest/gtest.h"
#include "index/zone_map.h"
#include "spanstore/env.h"
#include "tests/util/temp_dir.h"
#include "util/coding.h"

// Allocation accounting for the tests that must show a claim is refused *before* the reader
// allocates for it: a refusal after a 256 MiB resize returns the same DataLoss, so only the
// allocator can tell the two apart. Every operator new of this binary is counted while an
// AllocationWatch lives; a request past the watch's limits throws std::bad_alloc, so a reader
// that sizes a buffer by a claim fails the test (an exception in the test body) instead of
// exhausting the machine.
namespace {

std::atomic<size_t> g_request_limit{SIZE_MAX};  // largest single request allowed
std::atomic<size_t> g_total_limit{SIZE_MAX};    // bytes requested in all allowed
std::atomic<size_t> g_largest{0};
std::atomic<size_t> g_total{0};

void* CountedAlloc(size_t n) {
  if (n > g_request_limit.load(std::memory_order_relaxed)) return nullptr;
  const size_t total = g_total.fetch_add(n, std::memory_order_relaxed) + n;
  if (total > g_total_limit.load(std::memory_order_relaxed)) return nullptr;
  size_t largest = g_largest.load(std::memory_order_relaxed);
  while (n > largest && !g_largest.compare_exchange_weak(largest, n)) {
  }
  return std::malloc(n == 0 ? 1 : n);
}

void* CountedNew(size_t n) {
  void* p = CountedAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Out of line: g++ flags a free() it sees inlined next to the operator new of the same pointer
// (-Wmismatched-new-delete), not knowing that the two replacements pair up.
[[gnu::noinline]] void CountedFree(void* p) noexcept { std::free(p); }

}  // namespace

void* operator new(size_t n) { return CountedNew(n); }
void* operator new[](size_t n) { return CountedNew(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void operator delete(void* p) noexcept { CountedFree(p); }
void operator delete[](void* p) noexcept { CountedFree(p); }
void operator delete(void* p, size_t) noexcept { CountedFree(p); }
void operator delete[](void* p, size_t) noexcept { CountedFree(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { CountedFree(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { CountedFree(p); }

namespace spanstore {
namespace {

using test::TempDir;

// Counts allocations from construction to destruction (one watch at a time; the tests are
// single-threaded). `request_limit` bounds each request, `total_limit` their sum.
class AllocationWatch {
 public:
  explicit AllocationWatch(size_t request_limit, size_t total_limit = SIZE_MAX) {
    g_largest = 0;
    g_total = 0;
    g_request_limit = request_limit;
    g_total_limit = total_limit;
  }
  ~AllocationWatch() {
    g_request_limit = SIZE_MAX;
    g_total_limit = SIZE_MAX;
  }
  AllocationWatch(const AllocationWatch&) = delete;
  AllocationWatch& operator=(const AllocationWatch&) = delete;

  size_t largest() const { return g_largest; }
  size_t total() const { return g_total; }
};

constexpr size_t kMiB = size_t{1} << 20;

// A valid one-span block with uncompressed pages. The span has one string attribute, so the
// key dictionary and the attribute columns are not empty.
std::string OneSpanBlock(const TempDir& dir, uint32_t version = kBlockFormatVersion) {
  Span span;
  span.trace_id.bytes[15] = 1;
  span.span_id.bytes[7] = 1;
  span.service_name = "service";
  span.name = "operation";
  span.start_time_unix_nano = 1'767'225'600'000'000'000ull;
  span.end_time_unix_nano = span.start_time_unix_nano + 1000;
  span.attributes.push_back({"http.route", AnyValue::String("/cart")});
  BlockBuildOptions options;
  options.codec = Codec::kNone;
  options.format_version = version;
  BlockBuilder builder(Env::Default(), dir.Sub("one.blk"), options);
  BlockProperties props;
  EXPECT_TRUE(builder.Open().ok());
  EXPECT_TRUE(builder.Add(span).ok());
  EXPECT_TRUE(builder.Finish(&props).ok());
  auto data = Env::Default()->ReadFile(dir.Sub("one.blk"));
  EXPECT_TRUE(data.ok());
  return *data;
}

// The parts of a block file, as its footer locates them.
struct BlockParts {
  std::string pages;  // header, group pages and value filters: everything before the meta page
  std::string meta;   // the decoded meta page
  std::string index;  // the trace index, with its checksum
};

BlockParts SplitBlock(const std::string& block) {
  const char* f = block.data() + block.size() - kBlockFooterSize;
  const uint64_t meta_offset = DecodeFixed64(f), meta_size = DecodeFixed64(f + 8);
  const uint64_t index_offset = DecodeFixed64(f + 16), index_size = DecodeFixed64(f + 24);
  BlockParts parts;
  parts.pages = block.substr(0, meta_offset);
  std::string_view page = std::string_view(block).substr(meta_offset, meta_size);
  EXPECT_TRUE(DecodePage(&page, PageLocation{"crafted", 0, meta_offset}, &parts.meta).ok());
  parts.index = block.substr(index_offset, index_size);
  return parts;
}

// A block file of `pages`, the encoded meta page `meta_page`, `index` and a footer naming them
// and the version in the header that starts `pages`, every checksum valid.
std::string JoinBlock(std::string_view pages, std::string_view meta_page, std::string_view index) {
  std::string out(pages);
  out += meta_page;
  out += index;
  std::string footer;
  PutFixed64(&footer, pages.size());
  PutFixed64(&footer, meta_page.size());
  PutFixed64(&footer, pages.size() + meta_page.size());
  PutFixed64(&footer, index.size());
  PutFixed32(&footer, DecodeFixed32(pages.data() + kBlockMagic.size()));
  PutFixed32(&footer, kNumBlockColumns);
  PutFixed64(&footer, XXH3_64bits(footer.data(), footer.size()));
  footer.append(kBlockMagic);
  return out + footer;
}

// A meta page as page_codec.h lays it out, with any header the test wants.
std::string HandMadePage(uint8_t codec, uint64_t raw_size, std::string_view payload) {
  std::string page;
  page.push_back(static_cast<char>(codec));
  PutVarint64(&page, raw_size);
  PutVarint64(&page, payload.size());
  page.append(payload);
  PutFixed64(&page, XXH3_64bits(page.data(), page.size()));
  return page;
}

// Replaces the meta page of `block` with edit(decoded meta), re-encoding the page with `codec`
// and moving the trace index and footer after it, every checksum valid.
std::string RewriteMeta(const std::string& block,
                        const std::function<std::string(std::string_view)>& edit,
                        Codec codec = Codec::kNone) {
  const BlockParts parts = SplitBlock(block);
  std::string new_page;
  EXPECT_TRUE(EncodePage(codec, 3, edit(parts.meta), &new_page).ok());
  return JoinBlock(parts.pages, new_page, parts.index);
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

// Copies the block-wide tables (format/block_tables.h) unchanged.
void CopyTables(std::string_view* in, std::string* out) {
  const std::string_view before = *in;
  BlockTables tables;
  ASSERT_TRUE(tables.Parse(in, UINT32_MAX));
  out->append(before.substr(0, before.size() - in->size()));
}

// Writing and opening apart, so that an AllocationWatch can cover the Open alone.
void WriteCrafted(const TempDir& dir, const std::string& data) {
  EXPECT_TRUE(Env::Default()->WriteFileAtomically(dir.Sub("crafted.blk"), data).ok());
}

absl::StatusOr<std::shared_ptr<BlockReader>> OpenWritten(const TempDir& dir) {
  return BlockReader::Open(Env::Default(), dir.Sub("crafted.blk"), 2);
}

absl::StatusOr<std::shared_ptr<BlockReader>> OpenCrafted(const TempDir& dir,
                                                         const std::string& data) {
  WriteCrafted(dir, data);
  return OpenWritten(dir);
}

// The fields of a decoded meta page (docs/block_format.md), each kept as its serialized bytes
// so that a test can change one and keep the others.
struct MetaFields {
  uint64_t rows = 0;
  std::string zone;                         // the block's zone map
  std::array<std::string, 4> dictionaries;  // services, names, keys, contexts
  std::string ops_and_strings;              // the operation table, then the block strings
  std::vector<std::string> group_zones;     // compact zone maps
  std::vector<uint64_t> page_sizes;
  std::string column_bytes;  // the per-column byte counts
};

std::string_view Consumed(std::string_view before, std::string_view after) {
  return before.substr(0, before.size() - after.size());
}

MetaFields ParseMetaFields(std::string_view in) {
  MetaFields m;
  uint64_t groups = 0;
  EXPECT_TRUE(GetVarint64(&in, &m.rows) && GetVarint64(&in, &groups));
  std::string_view before = in;
  ZoneMap zone;
  EXPECT_TRUE(zone.Parse(&in));
  m.zone = Consumed(before, in);
  const std::string_view tables_start = in;
  for (std::string& d : m.dictionaries) {
    before = in;
    std::vector<std::string_view> entries;
    EXPECT_TRUE(GetDictionary(&in, &entries));
    d = Consumed(before, in);
  }
  const std::string_view ops_start = in;
  in = tables_start;
  BlockTables tables;
  EXPECT_TRUE(tables.Parse(&in, UINT32_MAX));
  m.ops_and_strings = Consumed(ops_start, in);
  for (uint64_t g = 0; g < groups; ++g) {
    before = in;
    ZoneMap z;
    EXPECT_TRUE(z.ParseCompact(&in, zone.min_start(), tables.services));
    m.group_zones.emplace_back(Consumed(before, in));
    EXPECT_TRUE(GetVarint64(&in, &m.page_sizes.emplace_back()));
  }
  m.column_bytes = in;
  return m;
}

std::string SerializeMetaFields(const MetaFields& m) {
  std::string out;
  PutVarint64(&out, m.rows);
  PutVarint64(&out, m.group_zones.size());
  out += m.zone;
  for (const std::string& d : m.dictionaries) out += d;
  out += m.ops_and_strings;
  for (size_t g = 0; g < m.group_zones.size(); ++g) {
    out += m.group_zones[g];
    PutVarint64(&out, m.page_sizes[g]);
  }
  return out + m.column_bytes;
}

// One column of a hand-made group page: what its column table entry says, and its payload.
struct ColumnEntry {
  uint8_t codec = 0;
  uint64_t raw_size = 0;
  std::string payload;
};
using GroupColumns = std::array<ColumnEntry, kNumBlockColumns>;

// The columns of group page `page`, decompressed, as uncompressed entries.
GroupColumns DecodedColumns(std::string_view page) {
  GroupPage parsed;
  EXPECT_TRUE(parsed.Parse(page, PageLocation{"crafted", 0, 0}).ok());
  GroupColumns columns;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    std::string scratch;
    std::string_view raw;
    EXPECT_TRUE(parsed.Column(c, &scratch, &raw).ok());
    columns[c] = ColumnEntry{0, raw.size(), std::string(raw)};
  }
  return columns;
}

// Sets column `c` to `raw` stored uncompressed.
void SetRawColumn(GroupColumns* columns, int c, std::string raw) {
  (*columns)[c] = ColumnEntry{0, raw.size(), std::move(raw)};
}

// `raw` as a group page column compressed with `codec` (a bare Zstd frame, as the writer does).
ColumnEntry CompressedColumn(Codec codec, const std::string& raw) {
  ColumnEntry e;
  absl::StatusOr<Codec> used = CompressPayload(codec, 3, raw, true, &e.payload);
  EXPECT_TRUE(used.ok() && *used == codec);
  e.codec = static_cast<uint8_t>(codec);
  e.raw_size = raw.size();
  return e;
}

std::string HandMadeGroupPage(const GroupColumns& columns) {
  std::string page;
  for (const ColumnEntry& e : columns) {
    page.push_back(static_cast<char>(e.codec));
    PutVarint64(&page, e.raw_size);
    PutVarint64(&page, e.payload.size());
  }
  for (const ColumnEntry& e : columns) page += e.payload;
  PutFixed64(&page, XXH3_64bits(page.data(), page.size()));
  return page;
}

// The only group page of the one-group `block`.
std::string OnlyGroupPage(const std::string& block) {
  const BlockParts parts = SplitBlock(block);
  return parts.pages.substr(kBlockHeaderSize, ParseMetaFields(parts.meta).page_sizes.at(0));
}

// Replaces the only group page of the one-group `block` by `page`, fixing the page size in the
// meta page, the offsets after it and every checksum.
std::string ReplaceOnlyGroupPage(const std::string& block, std::string_view page) {
  const BlockParts parts = SplitBlock(block);
  MetaFields meta = ParseMetaFields(parts.meta);
  EXPECT_EQ(meta.page_sizes.size(), 1u);
  const uint64_t old_size = meta.page_sizes[0];
  meta.page_sizes[0] = page.size();
  std::string meta_page;
  EXPECT_TRUE(EncodePage(Codec::kNone, 0, SerializeMetaFields(meta), &meta_page).ok());
  std::string pages = parts.pages.substr(0, kBlockHeaderSize);
  pages += page;
  pages += parts.pages.substr(kBlockHeaderSize + old_size);  // the value filters
  return JoinBlock(pages, meta_page, parts.index);
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

// The same claim for a group small enough to be plausible (a few hundred rows): a group page of
// compressed columns may hold many rows in few bytes (low-entropy data does; see
// block_degenerate_test), so Open cannot refuse it by size. Reading it must then fail with
// DataLoss -- its columns do not hold the rows -- without allocating for the claim.
TEST(BlockReaderCraftedTest, GroupRowsBeyondItsColumnsAreDataLossWhenRead) {
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
  if (!opened.ok()) {
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
    return;
  }
  AllocationWatch watch(16 * kMiB);
  const absl::Status verified = (*opened)->Verify();
  EXPECT_EQ(verified.code(), absl::StatusCode::kDataLoss) << verified;
  // A scan that reads the group (one the zone maps prune reads nothing, and is fine).
  const absl::Status scanned = ScanBlock(**opened, SpanQuery(), [](const Span&) { return true; });
  EXPECT_EQ(scanned.code(), absl::StatusCode::kDataLoss) << scanned;
  EXPECT_LT(watch.largest(), kMiB);
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
  // Format 4 reads the trace index on first use, not at Open.
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto loaded = (*opened)->LoadTraceIndex();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << loaded.status();
  std::vector<Span> spans;
  const absl::Status read = (*opened)->ReadTrace(TraceId(), &spans);
  EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss) << read;
}

TEST(BlockReaderCraftedTest, TheHelpersKeepABlockValid) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  const BlockParts parts = SplitBlock(block);
  EXPECT_EQ(SerializeMetaFields(ParseMetaFields(parts.meta)), parts.meta);
  const std::string page = OnlyGroupPage(block);
  EXPECT_EQ(HandMadeGroupPage(DecodedColumns(page)), page);  // OneSpanBlock stores them raw
  EXPECT_EQ(ReplaceOnlyGroupPage(block, page), block);
}

// Finding (format/page_codec.cc, DecodePage): the meta page's buffer was resized to its
// claimed raw_size (up to 256 MiB) before anything checked that the payload could decode to
// it: a page stored uncompressed whose raw_size disagrees with its stored size, or an LZ4 or
// Zstd payload of a few dozen bytes claiming 256 MiB, made Open allocate and zero 256 MiB to
// return DataLoss. The codec bounds what a payload can decode to (none: its size; LZ4: 255
// bytes per byte; Zstd: 128 KiB per 4-byte block), so such a claim is refused first.
TEST(BlockReaderCraftedTest, MetaPageClaimingMoreThanItsPayloadIsRefusedBeforeAllocating) {
  TempDir dir;
  const BlockParts parts = SplitBlock(OneSpanBlock(dir));
  for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    SCOPED_TRACE(static_cast<int>(codec));
    const std::string crafted = JoinBlock(
        parts.pages, HandMadePage(static_cast<uint8_t>(codec), kMaxPageRawSize, parts.meta),
        parts.index);
    WriteCrafted(dir, crafted);
    AllocationWatch watch(16 * kMiB);
    auto opened = OpenWritten(dir);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
    EXPECT_LT(watch.largest(), kMiB);
  }
}

// Finding (format/group_page.cc, GroupPage::Column): the same for a column of a group page:
// an LZ4 or Zstd column of a few bytes claiming 256 MiB was given a 256 MiB scratch buffer
// before decompression failed.
TEST(BlockReaderCraftedTest, GroupColumnClaimingMoreThanItsPayloadIsRefusedBeforeAllocating) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    SCOPED_TRACE(static_cast<int>(codec));
    GroupColumns columns = DecodedColumns(OnlyGroupPage(block));
    columns[kColLinks] = ColumnEntry{static_cast<uint8_t>(codec), kMaxPageRawSize, "tiny"};
    const std::string crafted = ReplaceOnlyGroupPage(block, HandMadeGroupPage(columns));
    auto opened = OpenCrafted(dir, crafted);
    ASSERT_TRUE(opened.ok()) << opened.status();
    AllocationWatch watch(16 * kMiB);
    const absl::Status s = (*opened)->Verify();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_LT(watch.largest(), kMiB);
  }
}

// Finding (format/group_data.cc, GroupData::Load): a fixed-width column's size follows
// from the group's row count (8 bytes of span id per row, one class byte per row, ...), but a
// column was decompressed into a buffer of whatever raw_size its table entry claimed, and its
// length checked only afterwards: a 16 MiB span_id column of a one-row group, Zstd-compressed
// to a few hundred bytes, cost 16 MiB to refuse (up to 256 MiB per column, for each of the nine
// such columns of a group). Load now checks the claim against the row count first.
TEST(BlockReaderCraftedTest, FixedWidthColumnLargerThanItsRowsIsRefusedBeforeDecompressing) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  const ColumnEntry bomb = CompressedColumn(Codec::kZstd, std::string(16 * kMiB, '\0'));
  ASSERT_LT(bomb.payload.size(), 4096u);
  for (int c : {kColParent, kColOp, kColContext, kColStatus, kColStartClass, kColEndClass,
                kColTimeBits, kColSpanId, kColParentId}) {
    SCOPED_TRACE(BlockColumnName(c));
    GroupColumns columns = DecodedColumns(OnlyGroupPage(block));
    columns[c] = bomb;
    auto opened = OpenCrafted(dir, ReplaceOnlyGroupPage(block, HandMadeGroupPage(columns)));
    ASSERT_TRUE(opened.ok()) << opened.status();
    AllocationWatch watch(4 * kMiB);
    const absl::Status s = (*opened)->Verify();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_NE(std::string(s.message()).find(BlockColumnName(c)), std::string::npos) << s;
    EXPECT_LT(watch.largest(), kMiB);
  }
}

// Finding (format/group_data.cc, GroupData::ParseValues): attr.values starts with its
// number of key streams, which was bounded only by the column's bytes before the stream table
// was sized for it (24 bytes a stream): a 1 MiB column claiming a million streams cost 24 MiB
// before the first stream failed to parse. A group has at most one stream per key of the block.
TEST(BlockReaderCraftedTest, AttrValuesStreamCountIsBoundedByTheKeys) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  GroupColumns columns = DecodedColumns(OnlyGroupPage(block));
  std::string values;
  PutVarint64(&values, kMiB);
  values.append(kMiB, '\0');
  SetRawColumn(&columns, kColAttrValues, values);
  auto opened = OpenCrafted(dir, ReplaceOnlyGroupPage(block, HandMadeGroupPage(columns)));
  ASSERT_TRUE(opened.ok()) << opened.status();
  AllocationWatch watch(4 * kMiB);
  const absl::Status s = (*opened)->Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_LT(watch.largest(), 2 * kMiB);  // the page itself, read whole
}

// Finding (format/group_data.cc, kColMisc): the span flags and the three dropped counts
// are uint32 in a Span but varints in the column, and Materialize truncated a larger value
// silently, so Verify passed a block whose spans came back different from what was written.
// The events and links columns already refused such values.
TEST(BlockReaderCraftedTest, MiscValuesBeyondUint32AreDataLoss) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  for (int field = 0; field < 4; ++field) {  // flags, then the three dropped counts
    SCOPED_TRACE(field);
    GroupColumns columns = DecodedColumns(OnlyGroupPage(block));
    std::string misc;
    PutVarint64(&misc, field == 0 ? uint64_t{1} << 33 : 0);
    PutLengthPrefixed(&misc, "");
    PutLengthPrefixed(&misc, "");
    for (int i = 1; i < 4; ++i) PutVarint64(&misc, field == i ? uint64_t{1} << 33 : 0);
    SetRawColumn(&columns, kColMisc, misc);
    auto opened = OpenCrafted(dir, ReplaceOnlyGroupPage(block, HandMadeGroupPage(columns)));
    ASSERT_TRUE(opened.ok()) << opened.status();
    const absl::Status s = (*opened)->Verify();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  }
}

// Appends `extra` empty entries to a serialized dictionary (column_dictionary.h).
std::string WithEmptyEntries(std::string_view dictionary, uint64_t extra) {
  uint64_t count = 0;
  EXPECT_TRUE(GetVarint64(&dictionary, &count));
  std::string out;
  PutVarint64(&out, count + extra);
  out += dictionary;
  return out.append(extra, '\0');  // each a zero length
}

// Finding (format/block_tables.cc and block_reader.cc, ParseMeta): the block-wide tables
// bounded each count only by the meta page's bytes, and the reader then sized structures far
// larger than an entry: a dictionary reserved 16 bytes per claimed entry, and every context --
// one byte when empty -- got a decoded 472-byte Span before DecodeSpanContext looked at the
// first one. A million empty contexts in a 1 MB file cost 472 MB, a million empty services or
// names 16 MB; the meta page may decompress to 256 MiB. Services, names, contexts and
// operations each come from at least one row, so the block's row count (itself bounded by the
// file size) bounds them before anything is sized, and contexts are decoded one at a time.
TEST(BlockReaderCraftedTest, DictionariesLargerThanTheRowsAreRefusedBeforeAllocating) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  const BlockParts parts = SplitBlock(block);
  for (int d : {0, 1, 3}) {  // services, names, contexts
    SCOPED_TRACE(d);
    MetaFields meta = ParseMetaFields(parts.meta);
    meta.dictionaries[d] = WithEmptyEntries(meta.dictionaries[d], 1'000'000);
    std::string page;
    ASSERT_TRUE(EncodePage(Codec::kNone, 0, SerializeMetaFields(meta), &page).ok());
    WriteCrafted(dir, JoinBlock(parts.pages, page, parts.index));
    AllocationWatch watch(4 * kMiB);
    auto opened = OpenWritten(dir);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
    EXPECT_LT(watch.largest(), 2 * kMiB);  // the meta page itself, read and decoded
  }
}

// Finding (format/block_tables.cc, BlockTables::Parse): the operation table was assigned
// its claimed count of 96-byte operations (bounded by one per 6 bytes) before the first one
// was parsed, and an operation's templates were sized by its key count before a template byte
// was read: 200,000 operations claimed in a 1.2 MB meta page cost 19 MB, and one operation of
// 200,000 keys with no template bytes after them 8 MB.
TEST(BlockReaderCraftedTest, OperationCountsAreRefusedBeforeAllocating) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  const BlockParts parts = SplitBlock(block);
  constexpr uint64_t kClaim = 200'000;
  std::string many_ops;
  PutVarint64(&many_ops, kClaim);
  many_ops.append(6 * kClaim, '\0');
  std::string many_keys;
  PutVarint64(&many_keys, 1);  // one operation: service 0, name 0, kind 0, then its keys
  many_keys.append(3, '\0');
  PutVarint64(&many_keys, kClaim);
  many_keys.append(kClaim, '\0');  // key id 0, kClaim times; no template follows
  for (const std::string& ops : {many_ops, many_keys}) {
    MetaFields meta = ParseMetaFields(parts.meta);
    meta.ops_and_strings = ops;
    std::string page;
    ASSERT_TRUE(EncodePage(Codec::kNone, 0, SerializeMetaFields(meta), &page).ok());
    WriteCrafted(dir, JoinBlock(parts.pages, page, parts.index));
    AllocationWatch watch(4 * kMiB);
    auto opened = OpenWritten(dir);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
    EXPECT_LT(watch.largest(), 2 * kMiB);
  }
}

// Finding (format/block_reader.cc, ParseMeta): group pages were bounded by the footer, not
// by the meta page that follows them, so a page size reaching into the meta page and the trace
// index was accepted at Open (docs/block_format.md: page sizes must fit between the header and
// the meta page); only reading the group failed, on its checksum. Reads stayed inside the file,
// but the row bound (8 bytes per row) counted the meta page and index as room for span ids.
TEST(BlockReaderCraftedTest, GroupPagesReachingIntoTheMetaPageAreRefused) {
  TempDir dir;
  const BlockParts parts = SplitBlock(OneSpanBlock(dir));
  MetaFields meta = ParseMetaFields(parts.meta);
  ASSERT_EQ(meta.page_sizes.size(), 1u);
  meta.page_sizes[0] += 1;
  std::string page;
  ASSERT_TRUE(EncodePage(Codec::kNone, 0, SerializeMetaFields(meta), &page).ok());
  auto opened = OpenCrafted(dir, JoinBlock(parts.pages, page, parts.index));
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
}

// Finding (index/zone_map.cc, ParseCompact): a row group's zone map names its services by ids
// into the block's service dictionary, but the reader copied each named service into every
// group's zone map. A block of 2,000 one-row groups whose service name is 64 KiB -- written by
// BlockBuilder itself, and about 300 KB on disk since the meta page compresses the repeats --
// cost 128 MiB at Open; a crafted one could name many long services in every group. The
// groups now keep the ids (at most one per row of the group), and a scan resolves the query's
// services to ids once per block.
TEST(BlockReaderCraftedTest, GroupZoneMapsDoNotCopyServiceNames) {
  TempDir dir;
  BlockBuildOptions options;
  options.rows_per_group = 1;
  BlockBuilder builder(Env::Default(), dir.Sub("long.blk"), options);
  ASSERT_TRUE(builder.Open().ok());
  Span span;
  span.service_name = std::string(64 << 10, 's');
  span.name = "operation";
  span.start_time_unix_nano = 1'767'225'600'000'000'000ull;
  span.end_time_unix_nano = span.start_time_unix_nano + 1000;
  constexpr int kRows = 2000;
  for (int i = 0; i < kRows; ++i) {
    span.trace_id.bytes[14] = static_cast<uint8_t>(i >> 8);
    span.trace_id.bytes[15] = static_cast<uint8_t>(i);
    span.span_id.bytes[7] = 1;
    ASSERT_TRUE(builder.Add(span).ok());
  }
  BlockProperties props;
  ASSERT_TRUE(builder.Finish(&props).ok());
  ASSERT_LT(props.file_bytes, 1 << 20);

  absl::StatusOr<std::shared_ptr<BlockReader>> opened;
  {
    AllocationWatch watch(16 * kMiB, 32 * kMiB);
    opened = BlockReader::Open(Env::Default(), dir.Sub("long.blk"), 2);
    ASSERT_TRUE(opened.ok()) << opened.status();
  }
  // The groups still answer for their services.
  const BlockReader& block = **opened;
  SpanQuery query;
  query.services = {span.service_name};
  size_t found = 0;
  ASSERT_TRUE(ScanBlock(block, query, [&](const Span&) { return ++found < kRows; }).ok());
  EXPECT_EQ(found, kRows);
  query.services = {"other"};
  found = 0;
  ASSERT_TRUE(ScanBlock(block, query, [&](const Span&) { return ++found < kRows; }).ok());
  EXPECT_EQ(found, 0u);
}

// Finding (format/span_codec.cc, BodyDecoder): attribute lists and arrays in the WAL value
// encoding -- which blocks use for templates, inline attribute values, contexts and the
// attributes of events and links -- were resized to their claimed element count before the
// first element was decoded. The count is bounded by the bytes left, but an element is 40
// (AnyValue) or 72 (KeyValue) bytes in memory against one or two encoded, and a block column
// may decompress to 256 MiB: an inline array value claiming a million elements in a 1 MiB
// attr.values column cost 40 MB (a map 72 MB) before its first element failed to decode.
// Elements are now added as they decode.
TEST(BlockReaderCraftedTest, InlineValueElementCountIsNotAllocatedAhead) {
  TempDir dir;
  const std::string block = OneSpanBlock(dir);
  for (AnyValue::Type type : {AnyValue::Type::kArray, AnyValue::Type::kMap}) {
    SCOPED_TRACE(static_cast<int>(type));
    std::string value;
    value.push_back(static_cast<char>(type));
    PutVarint64(&value, kMiB);
    value.append(kMiB, '\xff');  // not a value type, nor a string length that fits
    std::string codes;
    PutVarint64(&codes, kValueInline);
    codes += value;
    std::string values;
    PutVarint64(&values, 1);  // one stream: key 0 (http.route), generic form
    PutVarint64(&values, 0);
    values.push_back(static_cast<char>(kFormGeneric));
    PutLengthPrefixed(&values, codes);
    GroupColumns columns = DecodedColumns(OnlyGroupPage(block));
    SetRawColumn(&columns, kColAttrValues, values);
    auto opened = OpenCrafted(dir, ReplaceOnlyGroupPage(block, HandMadeGroupPage(columns)));
    ASSERT_TRUE(opened.ok()) << opened.status();
    AllocationWatch watch(4 * kMiB);
    const absl::Status s = (*opened)->Verify();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    // The page itself, read whole, into a pooled buffer that may grow to twice the previous
    // page (a string's capacity doubles): never the 40-72 MB the counts claim.
    EXPECT_LT(watch.largest(), 3 * kMiB);
  }
}

// Packed value streams (format/value_codes.h) came with version 6: an older block holding
// one is damaged, and a packed generic stream cannot hold an inline value (no encoded value
// follows its code). Both are DataLoss naming the column, never a read of bytes that are not
// there.
TEST(BlockReaderCraftedTest, PackedValueStreamsAreCheckedAgainstTheVersionAndTheirForm) {
  struct Case {
    uint32_t version;
    uint64_t base;  // the one occurrence's code
    std::string_view error;
  };
  for (const Case& c : {Case{5, BlockStringCode(0), "malformed key column"},
                        Case{kBlockFormatVersion, kValueInline, "inline value code"},
                        Case{kBlockFormatVersion, HeapStringCode(3), "heap string out of range"}}) {
    SCOPED_TRACE(c.version);
    TempDir dir;
    const std::string block = OneSpanBlock(dir, c.version);
    std::string packed;
    packed.push_back(0);  // no bitmap
    packed.push_back(0);  // width 0: every code is the base
    packed.push_back(0);
    PutVarint64(&packed, c.base);
    PutVarint64(&packed, 1);
    std::string values;
    PutVarint64(&values, 1);  // one stream: key 0 (http.route)
    PutVarint64(&values, 0);
    values.push_back(static_cast<char>(kFormGeneric | kFormPacked));
    PutLengthPrefixed(&values, packed);
    GroupColumns columns = DecodedColumns(OnlyGroupPage(block));
    SetRawColumn(&columns, kColAttrValues, values);
    auto opened = OpenCrafted(dir, ReplaceOnlyGroupPage(block, HandMadeGroupPage(columns)));
    ASSERT_TRUE(opened.ok()) << opened.status();
    const absl::Status s = (*opened)->Verify();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_NE(std::string(s.message()).find("attr.values"), std::string::npos) << s;
    EXPECT_NE(std::string(s.message()).find(c.error), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace spanstore
