// Compaction as the store's user sees it: the same answers before and after, across reopen;
// duplicates, late spans, retention, sampling, back-pressure, snapshots that outlive a swap, and
// a power cut at every I/O step of a compaction.

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "format/block_builder.h"
#include "format/block_reader.h"
#include "format/filenames.h"
#include "format/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/fault_injection_env.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using test::FaultInjectionEnv;
using test::RandomSpans;
using test::TempDir;

test::RandomSpanOptions Small() {
  test::RandomSpanOptions o;
  o.awkward = 0.05;
  o.huge_string_bytes = 2000;
  o.max_attributes = 6;
  return o;
}

Options TestOptions() {
  Options o;
  o.sync = SyncPolicy::kNone;
  o.segment_bytes = 64 << 10;
  o.rows_per_group = 32;
  o.background_compaction = false;
  return o;
}

std::unique_ptr<Store> OpenOrDie(const Options& o, const std::string& dir) {
  auto store = Store::Open(o, dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::vector<Span> AllSpans(Store* store) {
  std::vector<Span> out;
  EXPECT_TRUE(store
                  ->Scan(SpanQuery(),
                         [&](const Span& s) {
                           out.push_back(s);
                           return true;
                         })
                  .ok());
  std::sort(out.begin(), out.end(), [](const Span& a, const Span& b) {
    if (a.trace_id != b.trace_id) return a.trace_id < b.trace_id;
    if (a.start_time_unix_nano != b.start_time_unix_nano) {
      return a.start_time_unix_nano < b.start_time_unix_nano;
    }
    return a.span_id < b.span_id;
  });
  return out;
}

std::set<std::string> FilesIn(const std::string& dir) {
  auto names = Env::Default()->GetChildren(dir);
  return names.ok() ? std::set<std::string>(names->begin(), names->end()) : std::set<std::string>();
}

// Every block file is named by the manifest and every manifest block exists, with its
// analysis summary beside it.
void ExpectNoOrphans(const std::string& dir) {
  auto manifest = ReadManifest(Env::Default(), dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  std::set<std::string> want;
  for (const ManifestBlock& b : manifest->blocks) {
    want.insert(absl::StrFormat("%06d.blk", b.number));
    want.insert(absl::StrFormat("%06d.sum", b.number));
  }
  EXPECT_EQ(FilesIn(BlockDirName(dir)), want);
  for (const std::string& name : FilesIn(WalDirName(dir))) {
    auto n = ParseSegmentFileName(name);
    ASSERT_TRUE(n.has_value()) << name;
    EXPECT_GE(*n, manifest->first_live_segment) << "compacted segment left behind: " << name;
  }
}

TEST(StoreCompaction, SameAnswersBeforeAndAfterAndAcrossReopen) {
  TempDir dir;
  RandomSpans gen(1, Small());
  std::vector<std::vector<Span>> traces;
  auto store = OpenOrDie(TestOptions(), dir.path());
  for (int i = 0; i < 300; ++i) {
    traces.push_back(gen.NextTrace(1 + i % 9));
    ASSERT_TRUE(store->Append(traces.back()).ok());
  }
  const std::vector<Span> before = AllSpans(store.get());
  std::map<TraceId, std::vector<Span>> by_trace;
  for (const auto& t : traces) {
    auto got = store->GetTrace(t[0].trace_id);
    ASSERT_TRUE(got.ok());
    by_trace[t[0].trace_id] = got->spans;
  }
  auto services = store->Services();

  ASSERT_TRUE(store->CompactAll().ok());
  StoreStats st = store->Stats();
  EXPECT_GT(st.blocks, 0u);
  EXPECT_EQ(st.memtable_spans, 0u);
  EXPECT_EQ(st.block_spans, before.size());
  EXPECT_GT(st.column_bytes["span_id"], 0u);
  EXPECT_EQ(AllSpans(store.get()), before);
  for (const auto& [id, spans] : by_trace) {
    auto got = store->GetTrace(id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->spans, spans);
  }
  EXPECT_EQ(*store->Services(), *services);
  ASSERT_TRUE(store->Close().ok());
  ExpectNoOrphans(dir.path());

  store = OpenOrDie(TestOptions(), dir.path());
  EXPECT_EQ(store->Stats().memtable_spans, 0u);
  EXPECT_EQ(AllSpans(store.get()), before);
  for (const auto& [id, spans] : by_trace) EXPECT_EQ(store->GetTrace(id)->spans, spans);
}

// Hardening issue, item 1: a batch of low-entropy spans (sequential small span ids, one
// attribute set) made the block writer emit a block the block reader refused, so every
// compaction of it failed and the WAL and memtables grew for ever. Compacted, it must read back
// span for span, with every codec.
constexpr size_t kColSpanIdForTest = 7;  // BlockColumnNames()[7] == "span_id"

// spanctl stats --codecs: recompressing the columns with the store's own codec gives exactly
// the bytes the blocks hold, and a sample measures fewer rows.
TEST(StoreCompaction, MeasureColumnCodecsMatchesTheBlocks) {
  TempDir dir;
  RandomSpans gen(2, Small());
  auto store = OpenOrDie(TestOptions(), dir.path());  // Zstd pages
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(store->Append(gen.NextTrace(1 + i % 9)).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  StoreStats st = store->Stats();
  auto all = store->MeasureColumnCodecs(0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), BlockColumnNames().size() - 2);  // not meta and trace_index
  for (const ColumnCodecBytes& c : *all) {
    EXPECT_EQ(c.rows, st.block_spans) << c.column;
    EXPECT_EQ(c.zstd, st.column_bytes[c.column]) << c.column;
    EXPECT_GT(c.lz4, 0u) << c.column;
  }
  EXPECT_EQ((*all)[kColSpanIdForTest].raw, 8 * st.block_spans);  // ids do not compress
  auto sample = store->MeasureColumnCodecs(3);
  ASSERT_TRUE(sample.ok()) << sample.status();
  EXPECT_GT((*sample)[0].rows, 0u);
  EXPECT_LT((*sample)[0].rows, st.block_spans);
  ASSERT_TRUE(store->Close().ok());
}

TEST(StoreCompaction, LowEntropySpansCompactAndReadBack) {
  for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    SCOPED_TRACE(static_cast<int>(codec));
    TempDir dir;
    Options o = TestOptions();
    o.codec = codec;
    auto store = OpenOrDie(o, dir.path());
    std::vector<Span> spans;
    for (uint64_t i = 0; i < 5000; ++i) {
      Span s;
      s.trace_id.bytes[15] = static_cast<uint8_t>(1 + i / 1000);
      s.span_id.bytes[6] = static_cast<uint8_t>((i + 1) >> 8);
      s.span_id.bytes[7] = static_cast<uint8_t>(i + 1);
      s.service_name = "svc";
      s.name = "op";
      s.start_time_unix_nano = 1'700'000'000'000'000'000 + i;
      s.end_time_unix_nano = s.start_time_unix_nano + 10;
      s.attributes = {{"http.method", AnyValue::String("GET")}};
      spans.push_back(s);
    }
    ASSERT_TRUE(store->Append(spans).ok());
    ASSERT_TRUE(store->CompactAll().ok()) << store->Stats().background_error;
    const StoreStats st = store->Stats();
    EXPECT_EQ(st.memtable_spans, 0u);
    EXPECT_EQ(st.block_spans, spans.size());
    EXPECT_EQ(st.background_error, "");
    std::vector<Span> got = AllSpans(store.get());
    std::sort(spans.begin(), spans.end(), BlockRowLess);
    ASSERT_EQ(got, spans);
    ASSERT_TRUE(store->Close().ok());
    auto report = VerifyStore(dir.path());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok());
  }
}

TEST(StoreCompaction, DuplicatesAndLateSpansAcrossBlocks) {
  TempDir dir;
  RandomSpans gen(2, Small());
  auto store = OpenOrDie(TestOptions(), dir.path());
  std::vector<Span> trace = gen.NextTrace(6);
  ASSERT_TRUE(store->Append(absl::MakeSpan(trace).subspan(0, 3)).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  // A retried Append of spans already compacted, plus the late rest of the trace.
  ASSERT_TRUE(store->Append(absl::MakeSpan(trace).subspan(0, 3)).ok());
  ASSERT_TRUE(store->Append(absl::MakeSpan(trace).subspan(3)).ok());
  auto got = store->GetTrace(trace[0].trace_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->spans.size(), 6u);
  size_t scanned = AllSpans(store.get()).size();
  EXPECT_EQ(scanned, 6u);

  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_EQ(store->Stats().duplicate_spans_dropped, 3u);
  EXPECT_EQ(store->GetTrace(trace[0].trace_id)->spans.size(), 6u);
  EXPECT_EQ(AllSpans(store.get()).size(), 6u);
}

TEST(StoreCompaction, LateSpansMergeBlocksAndOldFilesGoOnlyAfterTheLastReader) {
  TempDir dir;
  RandomSpans gen(3, Small());
  auto store = OpenOrDie(TestOptions(), dir.path());
  std::vector<std::vector<Span>> early;
  for (int i = 0; i < 20; ++i) {
    early.push_back(gen.NextTrace(6));
    ASSERT_TRUE(store->Append(absl::MakeSpan(early.back()).subspan(0, 3)).ok());
  }
  ASSERT_TRUE(store->CompactAll().ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Append(gen.NextTrace(4)).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  // Unrelated traces in two L0 blocks: nothing to merge.
  ASSERT_EQ(store->Stats().blocks, 2u);
  ASSERT_EQ(store->Stats().compactions, 2u);

  // The late halves of the first block's traces.
  for (const auto& t : early) ASSERT_TRUE(store->Append(absl::MakeSpan(t).subspan(3)).ok());
  const std::vector<Span> all = AllSpans(store.get());

  // A scan that started before the merge keeps reading the files it saw.
  size_t seen = 0;
  bool compacted = false;
  std::set<std::string> files_during;
  ASSERT_TRUE(store
                  ->Scan(SpanQuery(),
                         [&](const Span&) {
                           if (!compacted) {
                             compacted = true;
                             // A third L0 block, then the merge of the first and the third (they
                             // share traces).
                             EXPECT_TRUE(store->CompactAll().ok());
                             files_during = FilesIn(BlockDirName(dir.path()));
                           }
                           ++seen;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, all.size());
  const StoreStats st = store->Stats();
  EXPECT_EQ(st.compactions, 4u);
  EXPECT_EQ(st.blocks, 2u);
  const size_t blocks_during = static_cast<size_t>(
      std::count_if(files_during.begin(), files_during.end(),
                    [](const std::string& f) { return ParseBlockFileName(f).has_value(); }));
  EXPECT_GT(blocks_during, st.blocks) << "replaced files deleted too early";
  EXPECT_EQ(AllSpans(store.get()), all);
  for (const auto& t : early) EXPECT_EQ(store->GetTrace(t[0].trace_id)->spans.size(), 6u);
  ExpectNoOrphans(dir.path());  // the scan is over: the replaced files are gone now
}

TEST(StoreCompaction, RetentionDropsWholeExpiredBlocks) {
  TempDir dir;
  RandomSpans gen(4, Small());
  Options o = TestOptions();
  o.retention = absl::Hours(1);
  auto store = OpenOrDie(o, dir.path());
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  std::vector<Span> old_trace = gen.NextTrace(3), new_trace = gen.NextTrace(3);
  for (Span& s : old_trace) {
    s.start_time_unix_nano = now - 3 * 3600 * 1'000'000'000ull;
    s.end_time_unix_nano = s.start_time_unix_nano + 1000;
  }
  for (Span& s : new_trace) {
    s.start_time_unix_nano = now;
    s.end_time_unix_nano = now + 1000;
  }
  ASSERT_TRUE(store->Append(old_trace).ok());
  ASSERT_TRUE(store->CompactAll().ok());  // the old spans' block...
  ASSERT_TRUE(store->Append(new_trace).ok());
  ASSERT_TRUE(store->CompactAll().ok());  // ...is expired by the next step
  EXPECT_EQ(store->Stats().expired_blocks_dropped, 1u);
  EXPECT_EQ(store->GetTrace(old_trace[0].trace_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->GetTrace(new_trace[0].trace_id).ok());
  ASSERT_TRUE(store->Close().ok());
  ExpectNoOrphans(dir.path());
}

TEST(StoreCompaction, TailSamplingSeesWholeTracesAndKeepsErrors) {
  TempDir dir;
  RandomSpans gen(5, Small());
  Options o = TestOptions();
  o.sampling.enabled = true;
  o.sampling.keep_percent = 0;
  o.sampling.keep_errors = true;
  auto store = OpenOrDie(o, dir.path());
  std::vector<TraceId> with_error, without;
  for (int i = 0; i < 40; ++i) {
    std::vector<Span> t = gen.NextTrace(4);
    for (Span& s : t) s.status_code = StatusCode::kOk;
    if (i % 4 == 0) t[2].status_code = StatusCode::kError;
    (i % 4 == 0 ? with_error : without).push_back(t[0].trace_id);
    ASSERT_TRUE(store->Append(t).ok());
  }
  ASSERT_TRUE(store->CompactAll().ok());
  for (const TraceId& id : with_error) EXPECT_EQ(store->GetTrace(id)->spans.size(), 4u);
  for (const TraceId& id : without) EXPECT_FALSE(store->GetTrace(id).ok());
  EXPECT_EQ(store->Stats().sampled_out_traces, without.size());
}

TEST(StoreCompaction, CustomSamplingRuleGetsTheWholeTrace) {
  TempDir dir;
  RandomSpans gen(6, Small());
  Options o = TestOptions();
  o.sampling.enabled = true;
  std::map<TraceId, size_t> sizes_seen;
  o.sampling.keep = [&](const Trace& t) {
    sizes_seen[t.trace_id] = t.spans.size();
    return t.spans.size() >= 3;
  };
  auto store = OpenOrDie(o, dir.path());
  std::map<TraceId, size_t> sizes;
  for (int i = 0; i < 20; ++i) {
    std::vector<Span> t = gen.NextTrace(1 + i % 5);
    sizes[t[0].trace_id] = t.size();
    ASSERT_TRUE(store->Append(t).ok());
  }
  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_EQ(sizes_seen, sizes);
  for (const auto& [id, n] : sizes) EXPECT_EQ(store->GetTrace(id).ok(), n >= 3);
}

TEST(StoreCompaction, BackgroundCompactionAppliesBackPressure) {
  TempDir dir;
  RandomSpans gen(7, Small());
  Options o = TestOptions();
  o.background_compaction = true;
  o.segment_bytes = 16 << 10;
  o.max_memtable_bytes = 64 << 10;
  auto store = OpenOrDie(o, dir.path());
  std::vector<TraceId> ids;
  for (int i = 0; i < 400; ++i) {
    std::vector<Span> t = gen.NextTrace(3);
    ids.push_back(t[0].trace_id);
    ASSERT_TRUE(store->Append(t).ok());
  }
  StoreStats st = store->Stats();
  EXPECT_GT(st.blocks, 0u);
  EXPECT_GT(st.write_stalls, 0u);
  EXPECT_LE(st.memtable_bytes, 4 * o.max_memtable_bytes);
  for (const TraceId& id : ids) ASSERT_EQ(store->GetTrace(id)->spans.size(), 3u);
  ASSERT_TRUE(store->Close().ok());
  ExpectNoOrphans(dir.path());
}

// A compaction that keeps failing (here: the manifest cannot be installed) must not make
// back-pressure hang Append, must show in Stats, and must not let memory grow without bound
// (hardening issue, item 1): past twice the memtable budget Append is refused (Unavailable)
// until compaction recovers. Once the fault clears, compaction catches up, Append works again,
// and every acknowledged span is there.
TEST(StoreCompaction, FailingCompactionDoesNotHangAppends) {
  TempDir dir;
  FaultInjectionEnv env;
  RandomSpans gen(11, Small());
  Options o = TestOptions();
  o.env = &env;
  o.background_compaction = true;
  o.segment_bytes = 16 << 10;
  o.max_memtable_bytes = 32 << 10;
  auto store = OpenOrDie(o, dir.path());
  env.Fail(test::FaultOp::kRename, ENOSPC);
  std::vector<TraceId> ids;
  int refused = 0;
  for (int i = 0; i < 400; ++i) {
    std::vector<Span> t = gen.NextTrace(3);
    absl::Status s = store->Append(t);
    if (s.ok()) {
      ids.push_back(t[0].trace_id);
      continue;
    }
    ASSERT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("compaction is failing"));
    ++refused;
  }
  StoreStats st = store->Stats();
  EXPECT_GT(refused, 0);
  EXPECT_GT(ids.size(), 20u);
  EXPECT_EQ(st.appends_refused_compaction_failing, static_cast<uint64_t>(refused));
  EXPECT_GT(st.compaction_failures, 0u);
  EXPECT_THAT(st.compaction_error, ::testing::HasSubstr("rename"));
  EXPECT_THAT(st.background_error, ::testing::HasSubstr("compaction"));
  // Bounded: twice the budget, plus what one segment and one batch add before the check.
  EXPECT_LE(st.memtable_bytes, 2 * o.max_memtable_bytes + 2 * o.segment_bytes);
  env.ClearAll();
  absl::Status compacted = store->CompactAll();
  ASSERT_TRUE(compacted.ok()) << compacted;
  st = store->Stats();
  EXPECT_EQ(st.memtable_spans, 0u);
  EXPECT_EQ(st.compaction_failures, 0u);
  EXPECT_EQ(st.compaction_error, "");
  ASSERT_TRUE(store->Append(gen.NextTrace(3)).ok());
  for (const TraceId& id : ids) ASSERT_EQ(store->GetTrace(id)->spans.size(), 3u);
  ASSERT_TRUE(store->Close().ok());
  // The blocks of the failed installs are left for the next Open to judge (a failed directory
  // fsync cannot tell whether their manifest became durable); it deletes them.
  store = OpenOrDie(o, dir.path());
  for (const TraceId& id : ids) ASSERT_EQ(store->GetTrace(id)->spans.size(), 3u);
  ASSERT_TRUE(store->Close().ok());
  ExpectNoOrphans(dir.path());
}

TEST(StoreCompaction, ADamagedBlockFailsOpenWithItsName) {
  TempDir dir;
  RandomSpans gen(8, Small());
  {
    auto store = OpenOrDie(TestOptions(), dir.path());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Append(gen.NextTrace(3)).ok());
    ASSERT_TRUE(store->CompactAll().ok());
  }
  const std::string block = *FilesIn(BlockDirName(dir.path())).begin();
  const std::string path = BlockDirName(dir.path()) + "/" + block;
  std::string data = *Env::Default()->ReadFile(path);
  data[data.size() - 3] ^= 1;  // the footer magic
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto store = Store::Open(TestOptions(), dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(store.status().message()), ::testing::HasSubstr(block));
}

void StartAt(std::vector<Span>* trace, uint64_t start);

// A store of many blocks opens them on several threads (StoreImpl::OpenBlocksInParallel):
// every span is there after the reopen, and a damaged block still fails Open with its name.
TEST(StoreCompaction, ManyBlocksOpenOnSeveralThreads) {
  TempDir dir;
  RandomSpans gen(9, Small());
  Options o = TestOptions();
  o.retention = absl::Hours(80);  // merges only blocks within 10 hours of each other
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  constexpr int kBlocks = 24;
  std::vector<Span> before;
  {
    auto store = OpenOrDie(o, dir.path());
    for (int i = 0; i < kBlocks; ++i) {
      std::vector<Span> trace = gen.NextTrace(3);
      StartAt(&trace, now + static_cast<uint64_t>(i) * 11 * 3600 * 1'000'000'000ull);
      ASSERT_TRUE(store->Append(trace).ok());
      ASSERT_TRUE(store->CompactAll().ok());
    }
    ASSERT_EQ(store->Stats().blocks, static_cast<uint64_t>(kBlocks));
    before = AllSpans(store.get());
  }
  {
    auto store = OpenOrDie(o, dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Stats().blocks, static_cast<uint64_t>(kBlocks));
    EXPECT_EQ(AllSpans(store.get()), before);
    for (const Span& s : before) EXPECT_TRUE(store->GetTrace(s.trace_id).ok());
  }
  auto manifest = ReadManifest(Env::Default(), dir.path());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const std::string path = BlockFileName(dir.path(), manifest->blocks[kBlocks / 2].number);
  std::string data = *Env::Default()->ReadFile(path);
  data[data.size() - 3] ^= 1;  // the footer magic
  ASSERT_TRUE(Env::Default()->WriteFileAtomically(path, data).ok());
  auto store = Store::Open(o, dir.path());
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_THAT(std::string(store.status().message()),
              ::testing::HasSubstr(path.substr(path.rfind('/') + 1)));
}

// Moves a trace's times so that it starts at `start` (offsets within the trace are kept).
void StartAt(std::vector<Span>* trace, uint64_t start) {
  uint64_t first = UINT64_MAX;
  for (const Span& s : *trace) first = std::min(first, s.start_time_unix_nano);
  for (Span& s : *trace) {
    const uint64_t duration = s.end_time_unix_nano - s.start_time_unix_nano;
    s.start_time_unix_nano = start + (s.start_time_unix_nano - first);
    s.end_time_unix_nano = s.start_time_unix_nano + duration;
    for (SpanEvent& e : s.events) e.time_unix_nano = s.start_time_unix_nano;
  }
}

// Every block the manifest names opens and verifies (every page, every row).
void ExpectBlocksVerify(const std::string& dir) {
  auto manifest = ReadManifest(Env::Default(), dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  for (const ManifestBlock& b : manifest->blocks) {
    auto block = BlockReader::Open(Env::Default(), BlockFileName(dir, b.number), b.number);
    ASSERT_TRUE(block.ok()) << block.status();
    EXPECT_TRUE((*block)->Verify().ok());
    EXPECT_EQ((*block)->rows(), b.rows);
  }
}

// Options::rows_per_group sets the rows of a block's row groups; the deprecated spelling
// Options::rows_per_page still does, and wins when it is set.
TEST(StoreCompaction, RowsPerGroupAndItsDeprecatedSpelling) {
  struct Case {
    uint32_t rows_per_group;
    uint32_t rows_per_page;  // 0: unset
    uint32_t want;
  };
  for (const Case& c : {Case{10, 0, 10}, Case{50, 0, 50}, Case{50, 10, 10}, Case{10, 50, 50}}) {
    SCOPED_TRACE(
        absl::StrCat("rows_per_group ", c.rows_per_group, ", rows_per_page ", c.rows_per_page));
    TempDir dir;
    Options o = TestOptions();
    o.segment_bytes = 64 << 20;  // one segment, one block
    o.rows_per_group = c.rows_per_group;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    o.rows_per_page = c.rows_per_page;
#pragma GCC diagnostic pop
    {
      auto store = OpenOrDie(o, dir.path());
      ASSERT_NE(store, nullptr);
      RandomSpans r(7, Small());
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(store->Append(r.NextTrace(6)).ok());
      ASSERT_TRUE(store->CompactAll().ok());
      ASSERT_TRUE(store->Close().ok());
    }
    auto manifest = ReadManifest(Env::Default(), dir.path());
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    ASSERT_EQ(manifest->blocks.size(), 1u);
    const ManifestBlock& b = manifest->blocks[0];
    ASSERT_EQ(b.rows, 120u);
    auto block = BlockReader::Open(Env::Default(), BlockFileName(dir.path(), b.number), b.number);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_EQ((*block)->groups().size(), (120 + c.want - 1) / c.want);
    for (const BlockReader::Group& g : (*block)->groups()) {
      EXPECT_EQ(g.rows, std::min<uint64_t>(c.want, 120 - g.first_row));
    }
  }
}

// Power cut at every mutating I/O step of a workload with appends, rotations, compactions,
// merges and retention: the store opens, every acknowledged (kEveryBatch) span is there exactly
// once (an expired trace is gone whole), nothing never appended appears, every block verifies,
// and no orphan files remain.
TEST(StoreCompaction, PowerCutAtEveryIoStep) {
  auto options = [](Env* env) {
    Options o = TestOptions();
    o.sync = SyncPolicy::kEveryBatch;
    o.segment_bytes = 64 << 10;  // CompactAll seals: one segment (one L0 block) per round
    o.retention = absl::Hours(1);
    o.env = env;
    return o;
  };
  // Each trace arrives in two halves three traces apart, so L0 blocks share traces and merge.
  // Midway, two traces from three hours ago get a segment (a block) of their own, which
  // retention then drops.
  auto workload = [](Store* store, std::map<TraceId, size_t>* acked, std::set<TraceId>* attempted,
                     std::set<TraceId>* old) {
    const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    RandomSpans gen(9, Small());
    std::vector<std::vector<Span>> traces;
    for (int i = 0; i < 16; ++i) {
      traces.push_back(gen.NextTrace(4));
      StartAt(&traces.back(), now - 60'000'000'000ull + i * 1'000'000ull);
    }
    std::map<TraceId, size_t> halves;
    for (int i = 0; i < 19; ++i) {
      if (i == 8) {
        for (int k = 0; k < 2; ++k) {
          std::vector<Span> expired = gen.NextTrace(3);
          StartAt(&expired, now - 3 * 3'600'000'000'000ull);
          attempted->insert(expired[0].trace_id);
          old->insert(expired[0].trace_id);
          if (store->Append(expired).ok()) (*acked)[expired[0].trace_id] = expired.size();
        }
        (void)store->CompactAll();
      }
      if (i < 16) {
        attempted->insert(traces[i][0].trace_id);
        if (store->Append(absl::MakeSpan(traces[i]).subspan(0, 2)).ok()) {
          halves[traces[i][0].trace_id] += 2;
        }
      }
      if (i >= 3 && store->Append(absl::MakeSpan(traces[i - 3]).subspan(2)).ok()) {
        halves[traces[i - 3][0].trace_id] += 2;
      }
      if (i % 4 == 3) (void)store->CompactAll();
    }
    for (const auto& [id, n] : halves) (*acked)[id] = n;
  };
  uint64_t steps = 0;
  {
    TempDir probe_dir;
    FaultInjectionEnv probe;
    auto store = OpenOrDie(options(&probe), probe_dir.path());
    std::map<TraceId, size_t> acked;
    std::set<TraceId> attempted, old;
    const uint64_t before = probe.mutations();
    workload(store.get(), &acked, &attempted, &old);
    steps = probe.mutations() - before;
    const StoreStats st = store->Stats();
    ASSERT_GT(st.compactions, 4u);
    ASSERT_LT(st.blocks, st.compactions) << "no merge happened";
    ASSERT_GE(st.expired_blocks_dropped, 1u) << "retention dropped nothing";
    for (const TraceId& id : old) ASSERT_FALSE(store->GetTrace(id).ok());
  }
  ASSERT_GT(steps, 50u);
  for (uint64_t k = 1; k <= steps + 1; ++k) {
    TempDir dir;
    FaultInjectionEnv env;
    std::map<TraceId, size_t> acked;
    std::set<TraceId> attempted, old;
    {
      auto store = OpenOrDie(options(&env), dir.path());
      env.CrashAfter(k);
      workload(store.get(), &acked, &attempted, &old);
    }
    ASSERT_TRUE(env.PowerCut().ok());
    auto store = Store::Open(options(&env), dir.path());
    ASSERT_TRUE(store.ok()) << "crash at step " << k << ": " << store.status();
    for (const auto& [id, n] : acked) {
      auto t = (*store)->GetTrace(id);
      if (old.contains(id) && !t.ok()) continue;  // expired: gone whole
      ASSERT_TRUE(t.ok()) << "crash at step " << k << ": acknowledged trace lost";
      ASSERT_EQ(t->spans.size(), n) << "crash at step " << k;
    }
    for (const Span& s : AllSpans(store->get())) {
      ASSERT_TRUE(attempted.contains(s.trace_id)) << "crash at step " << k << ": invented span";
    }
    ASSERT_TRUE((*store)->Close().ok());
    ExpectNoOrphans(dir.path());
    ExpectBlocksVerify(dir.path());
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace spanstore
