// engine/store_analysis.cc (with engine/summary_file.cc and the compaction hooks): the service
// graph and RED answered from per-block summaries plus a scan of the rest must equal the
// answer of a scan of every span -- same counts, same sketches -- with the spans in the WAL, in
// blocks, in both, after L0 merges, with traces split across blocks, over windows that cut
// blocks (at any nanosecond: the time sections), with summaries missing, damaged or of the
// older unsectioned version; and a window's edges scan only the sections they cut.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "engine/summary_file.h"
#include "gtest/gtest.h"
#include "spanstore/analysis.h"
#include "spanstore/store.h"
#include "spanstore/verify.h"
#include "tests/util/temp_dir.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

constexpr uint64_t kStart = 1'767'225'600'000'000'000ull;
constexpr uint64_t kHour = 3'600'000'000'000ull;
constexpr uint64_t kMinute = 60'000'000'000ull;

// Checkout traces, with a few things a plain generator run lacks: client spans naming their
// callee in peer.service (a virtual-node candidate until its server child is paired), orphans
// whose parent is nowhere, and spans of unset kind under another service.
std::vector<Span> Generate(uint64_t traces) {
  GeneratorOptions o;
  o.seed = 99;
  o.traces = traces;
  o.error_rate = 0.02;
  CheckoutGenerator gen(o);
  std::mt19937_64 rng(7);
  std::vector<Span> all, trace;
  while (gen.NextTrace(&trace)) {
    for (Span& s : trace) {
      const uint64_t r = rng() % 100;
      if (s.kind == SpanKind::kClient && r < 20) {
        s.attributes.push_back({"peer.service", AnyValue::String("peer-" + s.service_name)});
      } else if (r == 50 && s.parent_span_id.IsValid()) {
        s.parent_span_id.bytes[0] ^= 0x5a;  // an orphan
      } else if (r == 51) {
        s.kind = SpanKind::kUnspecified;
      }
      all.push_back(s);
    }
  }
  return all;
}

const std::vector<Span>& Spans() {
  static const auto* spans = new std::vector<Span>(Generate(2500));
  return *spans;
}

Options StoreOptions() {
  Options o;
  o.sync = SyncPolicy::kNone;
  o.background_compaction = false;
  o.segment_bytes = 2ull << 20;  // a dozen blocks
  return o;
}

absl::Status AppendAll(Store& store, const std::vector<Span>& spans) {
  for (size_t i = 0; i < spans.size(); i += 1000) {
    std::vector<Span> batch(spans.begin() + i, spans.begin() + std::min(spans.size(), i + 1000));
    if (absl::Status s = store.Append(batch); !s.ok()) return s;
  }
  return absl::OkStatus();
}

struct Split {
  uint64_t summaries = 0;
  uint64_t summarized_spans = 0;
  uint64_t scanned = 0;
};

Split Parts(Store& store, const AnalysisWindow& w) {
  Split p;
  SpanQuery q;
  q.start_min = w.start_unix_nano;
  q.start_max = w.end_unix_nano == UINT64_MAX ? UINT64_MAX : w.end_unix_nano - 1;
  EXPECT_TRUE(store
                  .ScanForAnalysis(
                      q, [&](const AnalysisSummary*) { ++p.summaries; },
                      [&](const Span&) {
                        ++p.scanned;
                        return true;
                      })
                  .ok());
  return p;
}

// Summary-answered == scan-answered, field by field (sketches compared bucket by bucket).
void ExpectSame(Store& store, AnalysisWindow w, const std::string& what) {
  SCOPED_TRACE(what);
  AnalysisWindow scan = w;
  scan.use_summaries = false;
  auto g1 = ComputeServiceGraph(store, w);
  auto g2 = ComputeServiceGraph(store, scan);
  ASSERT_TRUE(g1.ok()) << g1.status();
  ASSERT_TRUE(g2.ok()) << g2.status();
  EXPECT_EQ(g1->spans, g2->spans);
  EXPECT_EQ(g1->services, g2->services);
  ASSERT_EQ(g1->edges.size(), g2->edges.size());
  for (size_t i = 0; i < g1->edges.size(); ++i) {
    const ServiceEdge &a = g1->edges[i], &b = g2->edges[i];
    SCOPED_TRACE(b.client + " -> " + b.server);
    EXPECT_EQ(a.client, b.client);
    EXPECT_EQ(a.server, b.server);
    EXPECT_EQ(a.virtual_server, b.virtual_server);
    EXPECT_EQ(a.calls, b.calls);
    EXPECT_EQ(a.errors, b.errors);
    EXPECT_TRUE(a.latency == b.latency);
  }
  EXPECT_EQ(ServiceGraphJson(*g1), ServiceGraphJson(*g2));
  for (RedGrouping grouping : {RedGrouping::kService, RedGrouping::kOperation}) {
    auto r1 = ComputeRed(store, w, grouping);
    auto r2 = ComputeRed(store, scan, grouping);
    ASSERT_TRUE(r1.ok()) << r1.status();
    ASSERT_TRUE(r2.ok()) << r2.status();
    EXPECT_EQ(r1->spans, r2->spans);
    EXPECT_EQ(r1->window_seconds, r2->window_seconds);
    ASSERT_EQ(r1->rows.size(), r2->rows.size());
    for (size_t i = 0; i < r1->rows.size(); ++i) {
      const RedRow &a = r1->rows[i], &b = r2->rows[i];
      SCOPED_TRACE(b.service + " " + b.operation);
      EXPECT_EQ(a.service, b.service);
      EXPECT_EQ(a.operation, b.operation);
      EXPECT_EQ(a.kind, b.kind);
      EXPECT_EQ(a.calls, b.calls);
      EXPECT_EQ(a.errors, b.errors);
      EXPECT_TRUE(a.duration == b.duration);
    }
    EXPECT_EQ(RedJson(*r1), RedJson(*r2));
  }
}

std::vector<AnalysisWindow> Windows() {
  std::vector<AnalysisWindow> ws(1);  // unbounded
  for (auto [from, to] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, kHour / 2},
           {7 * kMinute + 12345, 41 * kMinute + 999},
           {kHour / 3, 2 * kHour},
           // Edges a nanosecond either side of a bucket boundary, and one window inside a
           // single bucket.
           {13 * kMinute - 1, 29 * kMinute + 1},
           {52 * kMinute + 17'000'000'001, 52 * kMinute + 43'999'999'999}}) {
    AnalysisWindow w;
    w.start_unix_nano = kStart + from;
    w.end_unix_nano = kStart + to;
    ws.push_back(w);
  }
  return ws;
}

void ExpectSameEverywhere(Store& store, const std::string& what) {
  for (const AnalysisWindow& w : Windows()) {
    ExpectSame(store, w, what + absl::StrFormat(" [%d, %d)", w.start_unix_nano, w.end_unix_nano));
  }
}

class StoreAnalysisTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
};

TEST_F(StoreAnalysisTest, WalOnly) {
  auto store = *Store::Open(StoreOptions(), dir_.Sub("db"));
  ASSERT_TRUE(AppendAll(*store, Spans()).ok());
  ExpectSameEverywhere(*store, "wal");
  const Split p = Parts(*store, AnalysisWindow());
  EXPECT_EQ(p.summaries, 0u);
  EXPECT_EQ(p.scanned, Spans().size());
}

TEST_F(StoreAnalysisTest, BlocksOnlyAnswerMostlyFromSummaries) {
  auto store = *Store::Open(StoreOptions(), dir_.Sub("db"));
  ASSERT_TRUE(AppendAll(*store, Spans()).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  // A dozen L0 blocks, which time-window merges (compaction/merge_policy.h) leave as three.
  ASSERT_GE(store->Stats().blocks, 3u);
  ExpectSameEverywhere(*store, "blocks");
  const Split p = Parts(*store, AnalysisWindow());
  EXPECT_GE(p.summaries, store->Stats().blocks - 1);
  // Only the open traces' rows (running at a block's end, split, orphans) are paired again.
  EXPECT_LT(p.scanned, Spans().size() / 5) << p.summaries << " summaries";
  EXPECT_EQ(store->Stats().summary_write_failures, 0u);
}

TEST_F(StoreAnalysisTest, Mixed) {
  auto store = *Store::Open(StoreOptions(), dir_.Sub("db"));
  const std::vector<Span>& all = Spans();
  const size_t half = all.size() / 2 + 7;  // cuts a trace
  ASSERT_TRUE(AppendAll(*store, {all.begin(), all.begin() + half}).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  ASSERT_TRUE(AppendAll(*store, {all.begin() + half, all.end()}).ok());
  ExpectSameEverywhere(*store, "blocks + wal");
  EXPECT_GT(Parts(*store, AnalysisWindow()).summaries, 0u);
}

// Late spans: some traces' spans arrive after the rest of the store has been compacted, so
// those traces are split between an old block and a new one. Few: no merge; many: merged.
void LateSpans(const std::string& dir, uint64_t every, bool expect_merge) {
  auto store = *Store::Open(StoreOptions(), dir);
  std::vector<Span> early, late;
  for (const Span& s : Spans()) {
    const bool late_trace = s.trace_id.bytes[3] % every == 0;
    // A late trace's server and consumer spans come late: the call's two halves are split.
    ((late_trace && (s.kind == SpanKind::kServer || s.kind == SpanKind::kConsumer)) ? late : early)
        .push_back(s);
  }
  ASSERT_TRUE(AppendAll(*store, early).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectSame(*store, AnalysisWindow(), "early only");
  ASSERT_TRUE(AppendAll(*store, late).ok());
  ExpectSameEverywhere(*store, "late spans in the wal");
  const uint64_t blocks_before = store->Stats().blocks;
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectSameEverywhere(*store, "late spans compacted");
  if (expect_merge) {
    EXPECT_LT(store->Stats().blocks, blocks_before + 1);
  }
  ASSERT_TRUE(store->Close().ok());
  // Reopened: summaries read back from their files.
  store = *Store::Open(StoreOptions(), dir);
  ExpectSameEverywhere(*store, "reopened");
  const Split p = Parts(*store, AnalysisWindow());
  EXPECT_GT(p.summaries, 0u);
  EXPECT_LT(p.scanned, Spans().size() / 2) << p.summaries << " summaries";
  ASSERT_TRUE(store->Close().ok());
  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->warnings, 0u);
}

TEST_F(StoreAnalysisTest, FewLateSpansSplitTracesAcrossBlocks) {
  LateSpans(dir_.Sub("db"), 64, false);
}

TEST_F(StoreAnalysisTest, ManyLateSpansAreMerged) { LateSpans(dir_.Sub("db"), 3, true); }

TEST_F(StoreAnalysisTest, MissingOrDamagedSummaryFallsBackToScanning) {
  const std::string db = dir_.Sub("db");
  {
    auto store = *Store::Open(StoreOptions(), db);
    ASSERT_TRUE(AppendAll(*store, Spans()).ok());
    ASSERT_TRUE(store->CompactAll().ok());
    ASSERT_TRUE(store->Close().ok());
  }
  std::vector<std::string> sums;
  for (const auto& e : std::filesystem::directory_iterator(db + "/blocks")) {
    if (e.path().extension() == ".sum") sums.push_back(e.path());
  }
  std::sort(sums.begin(), sums.end());
  ASSERT_GE(sums.size(), 3u);
  std::filesystem::remove(sums[0]);
  {
    std::fstream f(sums[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  std::filesystem::resize_file(sums[2], 30);

  auto report = VerifyStore(db);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->warnings, 3u);
  {
    auto store = *Store::Open(StoreOptions(), db);
    ExpectSameEverywhere(*store, "damaged summaries");
    EXPECT_EQ(Parts(*store, AnalysisWindow()).summaries, 0u);  // the window overlaps them
    // A window clear of the damaged blocks still uses summaries.
    AnalysisWindow late;
    late.start_unix_nano = kStart + kHour / 2;
    ExpectSame(*store, late, "late half");
    ASSERT_TRUE(store->Close().ok());
  }
  // Repair writes them again.
  Options repair = StoreOptions();
  repair.recovery = RecoveryMode::kSalvage;
  {
    auto store = *Store::Open(repair, db);
    ASSERT_TRUE(store->Close().ok());
  }
  report = VerifyStore(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->warnings, 0u);
  auto store = *Store::Open(StoreOptions(), db);
  ExpectSameEverywhere(*store, "repaired");
  EXPECT_GT(Parts(*store, AnalysisWindow()).summaries, 0u);
}

TEST_F(StoreAnalysisTest, MergedBlocksReplaceTheirSummaries) {
  const std::string db = dir_.Sub("db");
  auto store = *Store::Open(StoreOptions(), db);
  // Every trace split in two: the merge policy merges the blocks.
  std::vector<Span> a, b;
  for (const Span& s : Spans()) (s.span_id.bytes[7] % 2 ? a : b).push_back(s);
  ASSERT_TRUE(AppendAll(*store, a).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  ASSERT_TRUE(AppendAll(*store, b).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectSameEverywhere(*store, "merged");
  // One summary per live block, no leftovers.
  size_t sums = 0, blocks = 0;
  for (const auto& e : std::filesystem::directory_iterator(db + "/blocks")) {
    sums += e.path().extension() == ".sum";
    blocks += e.path().extension() == ".blk";
  }
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(sums, blocks);
}

// Analyses while spans arrive and background compaction writes, merges and rewrites summaries:
// every answer succeeds, and once everything is compacted summary and scan agree.
TEST_F(StoreAnalysisTest, WhileBackgroundCompactionRuns) {
  Options o = StoreOptions();
  o.background_compaction = true;
  o.segment_bytes = 1ull << 20;
  auto store = *Store::Open(o, dir_.Sub("db"));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    // Late halves, so that compaction shares traces between blocks and merges some.
    std::vector<Span> early, late;
    for (const Span& s : Spans()) (s.trace_id.bytes[4] % 8 == 0 ? late : early).push_back(s);
    EXPECT_TRUE(AppendAll(*store, early).ok());
    EXPECT_TRUE(AppendAll(*store, late).ok());
    done = true;
  });
  int rounds = 0;
  while (!done || rounds < 3) {
    auto g = ComputeServiceGraph(*store, AnalysisWindow());
    ASSERT_TRUE(g.ok()) << g.status();
    auto r = ComputeRed(*store, AnalysisWindow(), RedGrouping::kService);
    ASSERT_TRUE(r.ok()) << r.status();
    ++rounds;
  }
  writer.join();
  ASSERT_TRUE(store->CompactAll().ok());
  ExpectSameEverywhere(*store, "after background compaction");
  EXPECT_GT(Parts(*store, AnalysisWindow()).summaries, 0u);
}

// Blocks built meanwhile get minute buckets, as a store of 100M spans a day has (the small
// blocks of a test would otherwise get buckets of up to an hour).
struct MinuteBuckets {
  MinuteBuckets() { TEST_SetSpansPerSection(1); }
  ~MinuteBuckets() { TEST_SetSpansPerSection(0); }
};

// Traces planted across a bucket boundary: a root in service "edge-a" calling "edge-b", whose
// client span starts just before the minute and whose server span starts just after it, with
// a child of the server span a little later; one in five fails.
std::vector<Span> Straddlers() {
  std::vector<Span> out;
  for (uint64_t m = 1; m < 60; m += 2) {
    for (uint64_t k = 0; k < 3; ++k) {
      const uint64_t boundary = kStart + m * kMinute;
      const uint64_t t0 = boundary - 3'000'000 + k * 1'000'000;  // 3, 2, 1 ms before
      TraceId trace{};
      trace.bytes[0] = 0xee;
      trace.bytes[1] = static_cast<uint8_t>(m);
      trace.bytes[2] = static_cast<uint8_t>(k);
      auto span = [&](uint8_t id, uint8_t parent, const char* service, const char* name,
                      SpanKind kind, uint64_t start, uint64_t end) {
        Span s;
        s.trace_id = trace;
        s.span_id.bytes[0] = id;
        if (parent != 0) s.parent_span_id.bytes[0] = parent;
        s.service_name = service;
        s.name = name;
        s.kind = kind;
        s.start_time_unix_nano = start;
        s.end_time_unix_nano = end;
        if ((m + k) % 5 == 0 && id == 3) s.status_code = StatusCode::kError;
        out.push_back(s);
      };
      span(1, 0, "edge-a", "GET /edge", SpanKind::kServer, t0, t0 + 20'000'000);
      span(2, 1, "edge-a", "call b", SpanKind::kClient, t0 + 1'000'000, t0 + 15'000'000);
      span(3, 2, "edge-b", "serve", SpanKind::kServer, boundary + 1'000'000, t0 + 14'000'000);
      span(4, 3, "edge-b", "work", SpanKind::kInternal, boundary + 2'000'000, t0 + 13'000'000);
    }
  }
  return out;
}

const std::vector<Span>& SpansAndStraddlers() {
  static const auto* spans = [] {
    auto* all = new std::vector<Span>(Spans());
    const std::vector<Span> planted = Straddlers();
    all->insert(all->end(), planted.begin(), planted.end());
    std::sort(all->begin(), all->end(), [](const Span& a, const Span& b) {
      return a.start_time_unix_nano < b.start_time_unix_nano;
    });
    return all;
  }();
  return *spans;
}

// Windows with edges at arbitrary nanoseconds, some of them right between a straddler's
// client and server spans (a bucket boundary), some inside one bucket.
std::vector<AnalysisWindow> RandomWindows(int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<AnalysisWindow> ws;
  for (int i = 0; i < count; ++i) {
    uint64_t a = rng() % (kHour + 2 * kMinute), b = rng() % (kHour + 2 * kMinute);
    if (i % 3 == 0) a = (a / kMinute) * kMinute + rng() % 2'000'000;  // just after a boundary
    if (i % 4 == 1) b = a + 1 + rng() % kMinute;                      // within a minute or two
    if (a > b) std::swap(a, b);
    if (a == b) ++b;
    AnalysisWindow w;
    w.start_unix_nano = kStart + a;
    w.end_unix_nano = kStart + b;
    ws.push_back(w);
  }
  return ws;
}

// Spans the scan side may visit for window w at most: the window's spans in the buckets next
// to its edges (the sections an edge cuts hold traces of at most two adjacent buckets here).
uint64_t EdgeBound(const std::vector<Span>& spans, const AnalysisWindow& w) {
  const uint64_t lo_end = (w.start_unix_nano / kMinute + 2) * kMinute;
  const uint64_t hi_begin = (w.end_unix_nano / kMinute - 1) * kMinute;
  uint64_t n = 0;
  for (const Span& s : spans) {
    const uint64_t t = s.start_time_unix_nano;
    if (t < w.start_unix_nano || t >= w.end_unix_nano) continue;
    n += t < lo_end || t >= hi_begin;
  }
  return n;
}

// One block holds the whole hour: every bounded window cuts it. Each answer must equal a full
// scan's, and the scan side must visit only the spans of the sections the edges cut -- never
// the block whole.
TEST_F(StoreAnalysisTest, EdgesCutABlockAtAnyNanosecondAndScanOnlyTheirSections) {
  const MinuteBuckets minutes;
  Options o = StoreOptions();
  o.segment_bytes = 256ull << 20;  // one block
  auto store = *Store::Open(o, dir_.Sub("db"));
  const std::vector<Span>& all = SpansAndStraddlers();
  ASSERT_TRUE(AppendAll(*store, all).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  ASSERT_EQ(store->Stats().blocks, 1u);
  ExpectSameEverywhere(*store, "one block");
  uint64_t scanned = 0, in_windows = 0;
  for (const AnalysisWindow& w : RandomWindows(40, 11)) {
    const std::string what = absl::StrFormat("[%d, %d)", w.start_unix_nano, w.end_unix_nano);
    ExpectSame(*store, w, what);
    const Split p = Parts(*store, w);
    EXPECT_LE(p.scanned, EdgeBound(all, w)) << what;
    scanned += p.scanned;
    for (const Span& s : all) {
      in_windows +=
          s.start_time_unix_nano >= w.start_unix_nano && s.start_time_unix_nano < w.end_unix_nano;
    }
  }
  // Summed over the windows, most spans come from the sections' cells.
  EXPECT_LT(scanned, in_windows / 5) << scanned << " of " << in_windows;
  // A window from one nanosecond past the first span to one before the last: two edge scans.
  AnalysisWindow most;
  most.start_unix_nano = all.front().start_time_unix_nano + 1;
  most.end_unix_nano = all.back().start_time_unix_nano;
  ExpectSame(*store, most, "all but the ends");
  EXPECT_LE(Parts(*store, most).scanned, EdgeBound(all, most));
}

// The same with a dozen blocks, with the WAL holding the straddlers' server halves (so a
// block's closed traces are shared with a memtable), then compacted and merged.
TEST_F(StoreAnalysisTest, CutSectionsWithTheWalAndAfterMerges) {
  const MinuteBuckets minutes;
  auto store = *Store::Open(StoreOptions(), dir_.Sub("db"));
  std::vector<Span> early, late;
  for (const Span& s : SpansAndStraddlers()) {
    const bool straddler = s.trace_id.bytes[0] == 0xee;
    const bool late_half = straddler && s.service_name == "edge-b";
    (late_half || (!straddler && s.trace_id.bytes[5] % 16 == 0) ? late : early).push_back(s);
  }
  ASSERT_TRUE(AppendAll(*store, early).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  ASSERT_TRUE(AppendAll(*store, late).ok());
  const std::vector<AnalysisWindow> windows = RandomWindows(12, 5);
  for (const AnalysisWindow& w : windows) ExpectSame(*store, w, "blocks + wal");
  ASSERT_TRUE(store->CompactAll().ok());
  for (const AnalysisWindow& w : windows) ExpectSame(*store, w, "compacted");
  ExpectSameEverywhere(*store, "compacted");
}

// A summary file of version 1 (no sections) still answers a block wholly inside a window;
// a cut block is scanned as before; repair rewrites it as the current version.
TEST_F(StoreAnalysisTest, VersionOneSummariesStillWorkAndRepairUpgradesThem) {
  const MinuteBuckets minutes;
  const std::string db = dir_.Sub("db");
  {
    auto store = *Store::Open(StoreOptions(), db);
    ASSERT_TRUE(AppendAll(*store, SpansAndStraddlers()).ok());
    ASSERT_TRUE(store->CompactAll().ok());
    ASSERT_TRUE(store->Close().ok());
  }
  auto version_of = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string head(8, '\0');
    f.read(head.data(), 8);
    return static_cast<uint8_t>(head[4]);
  };
  size_t rewritten = 0;
  for (const auto& e : std::filesystem::directory_iterator(db + "/blocks")) {
    if (e.path().extension() != ".sum") continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SummaryIdentity id;
    auto summary = DecodeSummaryFile(data, &id);
    ASSERT_TRUE(summary.ok()) << summary.status();
    ASSERT_TRUE(summary->sectioned);
    std::ofstream(e.path(), std::ios::binary | std::ios::trunc)
        << EncodeSummaryFile(id, *summary, 1);
    EXPECT_EQ(version_of(e.path()), 1);
    ++rewritten;
  }
  ASSERT_GE(rewritten, 3u);
  {
    auto store = *Store::Open(StoreOptions(), db);
    ExpectSameEverywhere(*store, "version 1");
    EXPECT_GE(Parts(*store, AnalysisWindow()).summaries, rewritten - 1);
    ASSERT_TRUE(store->Close().ok());
  }
  auto report = VerifyStore(db);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->warnings, 0u);
  Options repair = StoreOptions();
  repair.recovery = RecoveryMode::kSalvage;
  {
    auto store = *Store::Open(repair, db);
    ASSERT_TRUE(store->Close().ok());
  }
  for (const auto& e : std::filesystem::directory_iterator(db + "/blocks")) {
    if (e.path().extension() == ".sum") {
      EXPECT_EQ(version_of(e.path()), kSummaryFileVersion);
    }
  }
  auto store = *Store::Open(StoreOptions(), db);
  ExpectSameEverywhere(*store, "repaired");
}

}  // namespace
}  // namespace spanstore
