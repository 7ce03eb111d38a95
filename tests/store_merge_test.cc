// Time-window merges as the store's user sees them (compaction/merge_policy.h): many flushes
// leave a logarithmic number of blocks, every span stays readable with the same answers (against
// a store that never compacted), merges respect the retention window and retention still drops
// whole blocks, and a power cut at every I/O step of a run of merges loses nothing.

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "format/block_reader.h"
#include "format/filenames.h"
#include "format/manifest.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "tests/util/fault_injection_env.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"
#include "util/coding.h"

namespace spanstore {
namespace {

using test::FaultInjectionEnv;
using test::RandomSpans;
using test::TempDir;

test::RandomSpanOptions Small() {
  test::RandomSpanOptions o;
  o.awkward = 0.05;
  o.huge_string_bytes = 500;
  o.max_attributes = 4;
  return o;
}

Options TestOptions() {
  Options o;
  o.sync = SyncPolicy::kNone;
  o.segment_bytes = 1 << 20;  // never reached: CompactAll seals one segment per round
  o.rows_per_group = 16;
  o.background_compaction = false;
  return o;
}

std::unique_ptr<Store> OpenOrDie(const Options& o, const std::string& dir) {
  auto store = Store::Open(o, dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Moves a trace to `start`, its spans a microsecond apart (random spans lie anywhere in a
// quarter of an hour): merges follow block times, and a test of them needs blocks whose times
// follow their arrival, as a live store's do.
void StartAt(std::vector<Span>* trace, uint64_t start) {
  for (size_t i = 0; i < trace->size(); ++i) {
    Span& s = (*trace)[i];
    const uint64_t duration = s.end_time_unix_nano - s.start_time_unix_nano;  // may wrap: skew
    s.start_time_unix_nano = start + i * 1000;
    s.end_time_unix_nano = s.start_time_unix_nano + duration;
    for (SpanEvent& e : s.events) e.time_unix_nano = s.start_time_unix_nano;
  }
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

// A search's answer as trace id -> its spansets, each the sorted span ids.
using SearchAnswer = std::map<TraceId, std::vector<std::vector<std::string>>>;

SearchAnswer SearchOrDie(Store* store, const char* text) {
  auto q = ParseTraceQuery(text);
  EXPECT_TRUE(q.ok()) << q.status();
  SearchOptions options;
  options.limit = 0;
  auto got = store->Search(*q, options);
  EXPECT_TRUE(got.ok()) << got.status();
  SearchAnswer out;
  if (!got.ok()) return out;
  for (const TraceSearchResult& r : *got) {
    for (const Spanset& set : r.spansets) {
      std::vector<std::string> ids;
      for (const Span& s : set.spans) ids.push_back(s.span_id.ToHex());
      std::sort(ids.begin(), ids.end());
      out[r.summary.trace_id].push_back(ids);
    }
  }
  return out;
}

constexpr const char* kQueries[] = {"{ }", "{ span.k1 = \"a\" }", "{ .k3 >= 2 }",
                                    "{ status = error }", "{ resource.k2 = 3 }"};

// Every block file is named by the manifest and every manifest block exists, with its summary.
void ExpectNoOrphans(const std::string& dir) {
  auto manifest = ReadManifest(Env::Default(), dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  std::set<std::string> want;
  for (const ManifestBlock& b : manifest->blocks) {
    want.insert(absl::StrFormat("%06d.blk", b.number));
    want.insert(absl::StrFormat("%06d.sum", b.number));
  }
  auto names = Env::Default()->GetChildren(BlockDirName(dir));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(std::set<std::string>(names->begin(), names->end()), want);
}

uint32_t MaxLevel(const std::string& dir) {
  auto manifest = ReadManifest(Env::Default(), dir);
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  uint32_t level = 0;
  if (manifest.ok()) {
    for (const ManifestBlock& b : manifest->blocks) level = std::max(level, b.level);
  }
  return level;
}

TEST(StoreMerge, ManyFlushesLeaveALogarithmicBlockCountAndTheSameAnswers) {
  TempDir dir, reference_dir;
  RandomSpans gen(11, Small());
  auto store = OpenOrDie(TestOptions(), dir.path());
  Options never = TestOptions();
  never.segment_bytes = 64 << 20;  // the reference keeps every span in its memtable
  auto reference = OpenOrDie(never, reference_dir.path());
  std::vector<std::vector<Span>> traces;
  constexpr int kRounds = 70;
  constexpr uint64_t kBase = 1'700'000'000'000'000'000ull;
  for (int round = 1; round <= kRounds; ++round) {
    for (int i = 0; i < 3; ++i) {
      traces.push_back(gen.NextTrace(1 + (round + i) % 6));
      StartAt(&traces.back(), kBase + round * 1'000'000'000ull + i * 1'000'000ull);
      // Some traces arrive in two halves a round apart: late spans across blocks.
      const size_t half = round % 4 == 0 ? traces.back().size() / 2 : traces.back().size();
      ASSERT_TRUE(store->Append(absl::MakeSpan(traces.back()).subspan(0, half)).ok());
      ASSERT_TRUE(reference->Append(absl::MakeSpan(traces.back()).subspan(0, half)).ok());
      if (half < traces.back().size() && traces.size() > 3) {
        auto& late = traces[traces.size() - 4];
        ASSERT_TRUE(store->Append(late).ok());  // its first half again: duplicates dropped
        ASSERT_TRUE(reference->Append(late).ok());
      }
    }
    ASSERT_TRUE(store->CompactAll().ok());  // one L0 block, then every merge it makes due
    // A base-4 counter of flushes: at most 3 blocks wait at each level (the late-span rule may
    // merge a few L0 blocks early, which only lowers the count).
    const double digits = std::floor(std::log(static_cast<double>(round)) / std::log(4.0)) + 1;
    ASSERT_LE(store->Stats().blocks, 3 * digits) << "after round " << round;
  }
  for (const auto& t : traces) ASSERT_TRUE(store->Append(t).ok());  // every late half
  for (const auto& t : traces) ASSERT_TRUE(reference->Append(t).ok());
  ASSERT_TRUE(store->CompactAll().ok());
  const StoreStats st = store->Stats();
  EXPECT_GT(st.merges, 10u);
  EXPECT_GT(st.merged_spans, st.block_spans);  // spans rewritten more than once on average
  EXPECT_GT(st.compaction_bytes_written, st.block_bytes);
  EXPECT_GE(MaxLevel(dir.path()), 3u);
  auto bytes = Env::Default()->ReadFile(ManifestFileName(dir.path()));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(DecodeFixed32(bytes->data() + 8), 3u);

  const std::vector<Span> all = AllSpans(reference.get());
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "after the merges" : "after reopening");
    EXPECT_EQ(AllSpans(store.get()), all);
    for (const auto& t : traces) {
      auto got = store->GetTrace(t[0].trace_id);
      auto want = reference->GetTrace(t[0].trace_id);
      ASSERT_TRUE(got.ok() && want.ok());
      EXPECT_EQ(got->spans, want->spans);
      EXPECT_EQ(got->spans.size(), t.size());
    }
    for (const char* q : kQueries) {
      EXPECT_EQ(SearchOrDie(store.get(), q), SearchOrDie(reference.get(), q)) << q;
    }
    ASSERT_TRUE(store->Close().ok());
    ExpectNoOrphans(dir.path());
    store = OpenOrDie(TestOptions(), dir.path());
  }
  // A read-only open changes nothing.
  ASSERT_TRUE(store->Close().ok());
  const auto before = Env::Default()->ReadFile(ManifestFileName(dir.path()));
  Options ro = TestOptions();
  ro.read_only = true;
  store = OpenOrDie(ro, dir.path());
  EXPECT_EQ(AllSpans(store.get()), all);
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(*Env::Default()->ReadFile(ManifestFileName(dir.path())), *before);
}

// Merges never join blocks whose newest spans lie further apart than retention/8, so no span
// outlives its retention by more than that; retention still drops whole blocks, merged or not.
TEST(StoreMerge, RetentionWindowBoundsMergesAndExpiredBlocksGoWhole) {
  TempDir dir;
  RandomSpans gen(12, Small());
  Options o = TestOptions();
  o.retention = absl::Hours(8);  // merge window: one hour
  auto store = OpenOrDie(o, dir.path());
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  constexpr uint64_t kMinute = 60'000'000'000ull;
  std::vector<TraceId> expired, kept;
  // Rounds 90 minutes or more apart, from 12 h ago to now: no two of them may merge.
  const int kMinutesAgo[] = {720, 600, 420, 300, 90, 0};
  for (int minutes : kMinutesAgo) {
    std::vector<Span> t = gen.NextTrace(3);
    StartAt(&t, now - minutes * kMinute);
    (minutes > 8 * 60 ? expired : kept).push_back(t[0].trace_id);
    ASSERT_TRUE(store->Append(t).ok());
    ASSERT_TRUE(store->CompactAll().ok());
  }
  EXPECT_EQ(store->Stats().merges, 0u);
  EXPECT_EQ(store->Stats().expired_blocks_dropped, 2u);
  // Sixteen rounds a minute apart, 200 to 185 minutes ago (more than an hour from the rounds
  // beside them): four merges into level 1, then one into level 2.
  for (int round = 0; round < 16; ++round) {
    std::vector<Span> t = gen.NextTrace(2);
    StartAt(&t, now - (200 - round) * kMinute);
    kept.push_back(t[0].trace_id);
    ASSERT_TRUE(store->Append(t).ok());
    ASSERT_TRUE(store->CompactAll().ok());
  }
  EXPECT_EQ(store->Stats().merges, 5u);
  EXPECT_EQ(MaxLevel(dir.path()), 2u);
  EXPECT_EQ(store->Stats().blocks, 5u);
  for (const TraceId& id : expired) {
    EXPECT_EQ(store->GetTrace(id).status().code(), absl::StatusCode::kNotFound);
  }
  for (const TraceId& id : kept) EXPECT_TRUE(store->GetTrace(id).ok());
  ASSERT_TRUE(store->Close().ok());

  // With a 30-minute retention every block but the newest round's expires, the merged one
  // whole.
  o.retention = absl::Minutes(30);
  store = OpenOrDie(o, dir.path());
  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_EQ(store->Stats().blocks, 1u);
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i == 3) continue;  // the round of "now"
    EXPECT_EQ(store->GetTrace(kept[i]).status().code(), absl::StatusCode::kNotFound) << i;
  }
  EXPECT_TRUE(store->GetTrace(kept[3]).ok());
  ASSERT_TRUE(store->Close().ok());
  ExpectNoOrphans(dir.path());
}

// A power cut at every mutating I/O step of sixteen flushes and the merges they set off (four
// into level 1, then one into level 2): the store opens, every acknowledged span is there once,
// every block verifies, and no orphan files remain.
TEST(StoreMerge, PowerCutAtEveryIoStepOfTieredMerges) {
  auto options = [](Env* env) {
    Options o = TestOptions();
    o.sync = SyncPolicy::kEveryBatch;
    o.env = env;
    return o;
  };
  auto workload = [](Store* store, std::map<TraceId, size_t>* acked) {
    RandomSpans gen(13, Small());
    for (int round = 0; round < 16; ++round) {
      for (int i = 0; i < 2; ++i) {
        std::vector<Span> t = gen.NextTrace(2);
        StartAt(&t, 1'700'000'000'000'000'000ull + round * 1'000'000'000ull + i);
        if (store->Append(t).ok()) (*acked)[t[0].trace_id] = t.size();
      }
      (void)store->CompactAll();
    }
  };
  uint64_t steps = 0;
  {
    TempDir probe_dir;
    FaultInjectionEnv probe;
    auto store = OpenOrDie(options(&probe), probe_dir.path());
    std::map<TraceId, size_t> acked;
    const uint64_t before = probe.mutations();
    workload(store.get(), &acked);
    steps = probe.mutations() - before;
    ASSERT_EQ(store->Stats().merges, 5u);
    ASSERT_EQ(store->Stats().blocks, 1u);
    ASSERT_TRUE(store->Close().ok());
    ASSERT_EQ(MaxLevel(probe_dir.path()), 2u);
  }
  ASSERT_GT(steps, 100u);
  for (uint64_t k = 1; k <= steps + 1; ++k) {
    TempDir dir;
    FaultInjectionEnv env;
    std::map<TraceId, size_t> acked;
    {
      auto store = OpenOrDie(options(&env), dir.path());
      env.CrashAfter(k);
      workload(store.get(), &acked);
    }
    ASSERT_TRUE(env.PowerCut().ok());
    auto store = Store::Open(options(&env), dir.path());
    ASSERT_TRUE(store.ok()) << "crash at step " << k << ": " << store.status();
    size_t spans = 0;
    for (const auto& [id, n] : acked) {
      auto t = (*store)->GetTrace(id);
      ASSERT_TRUE(t.ok()) << "crash at step " << k << ": acknowledged trace lost";
      ASSERT_EQ(t->spans.size(), n) << "crash at step " << k;
      spans += n;
    }
    // Nothing twice (a merge's output and its inputs both live would double every span).
    ASSERT_EQ(AllSpans(store->get()).size(), spans) << "crash at step " << k;
    ASSERT_TRUE((*store)->Close().ok());
    ExpectNoOrphans(dir.path());
    auto manifest = ReadManifest(Env::Default(), dir.path());
    ASSERT_TRUE(manifest.ok());
    for (const ManifestBlock& b : manifest->blocks) {
      auto block = BlockReader::Open(Env::Default(), BlockFileName(dir.path(), b.number), b.number);
      ASSERT_TRUE(block.ok()) << block.status();
      EXPECT_TRUE((*block)->Verify().ok());
    }
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace spanstore
