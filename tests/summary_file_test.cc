// engine/summary_file.cc: a block's analysis summary round-trips through its file exactly, and
// any damage -- a flipped bit, a truncation, bytes that checksum but do not decode -- gives a
// clear status, never a crash or a wrong summary.

#include "engine/summary_file.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "format/block_builder.h"
#include "format/block_reader.h"
#include "gtest/gtest.h"
#include "query/span_table.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/temp_dir.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

const std::vector<Span>& Spans() {
  static const auto* spans = [] {
    GeneratorOptions o;
    o.traces = 300;
    o.error_rate = 0.05;
    // 10 minutes: traces of a second or so cross a bucket boundary now and then.
    o.duration_nanos = 600'000'000'000ull;
    CheckoutGenerator gen(o);
    auto* all = new std::vector<Span>;
    std::vector<Span> trace;
    for (int i = 0; gen.NextTrace(&trace); ++i) {
      // Every tenth trace moved to straddle a minute boundary (a spread trace).
      uint64_t lo = UINT64_MAX, hi = 0;
      for (const Span& s : trace) {
        lo = std::min(lo, s.start_time_unix_nano);
        hi = std::max(hi, s.start_time_unix_nano);
      }
      const uint64_t minute = 60'000'000'000ull;
      if (i % 10 == 0 && hi > lo) {
        const uint64_t to = (lo / minute + 1) * minute - (hi - lo) / 2 - 1;
        for (Span& s : trace) {
          s.start_time_unix_nano += to - lo;
          s.end_time_unix_nano += to - lo;
        }
      }
      all->insert(all->end(), trace.begin(), trace.end());
    }
    return all;
  }();
  return *spans;
}

const SpanTable& Table() {
  static const SpanTable* table = [] {
    auto* t = new SpanTable;
    for (const Span& s : Spans()) t->Add(s);
    t->Finish();
    return t;
  }();
  return *table;
}

// Every fifth trace open, so the file holds rows as well as cells.
bool IsOpenTrace(const TraceId& trace) { return trace.bytes[2] % 5 == 0; }

// With `sectioned`, as compaction builds a block's (two tables, as a big block's is).
AnalysisSummary MakeSummary(bool sectioned = true) {
  auto open_fn = [](absl::Span<const SpanRow> rows) { return IsOpenTrace(rows.front().trace); };
  AnalysisSummary::IsOpenFn is_open = open_fn;
  AnalysisSummary summary;
  if (!sectioned) {
    summary.AddTable(Table(), &is_open);
    return summary;
  }
  AnalysisSummary::SectionBuild build;
  SpanTable halves[2];
  for (const Span& s : Spans()) halves[s.trace_id.bytes[0] % 2].Add(s);
  for (SpanTable& half : halves) {
    half.Finish();
    summary.AddTable(half, &is_open, &build);
  }
  summary.FinishSections(std::move(build));
  return summary;
}

TEST(SummaryFileTest, RoundTrip) {
  const AnalysisSummary summary = MakeSummary();
  ASSERT_FALSE(summary.operations.empty());
  ASSERT_FALSE(summary.edges.empty());
  ASSERT_FALSE(summary.open_rows.empty());
  const SummaryIdentity id{7, 1234, 300, 5, 9, 4096};
  const std::string file = EncodeSummaryFile(id, summary);
  SummaryIdentity read;
  auto decoded = DecodeSummaryFile(file, &read);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == summary);
  EXPECT_TRUE(read == id);
}

// The sections add up to the summary's cells, every folded trace maps to the one section that
// holds all its spans, and a version 1 file reads back without sections.
TEST(SummaryFileTest, SectionsAddUpAndMapEveryFoldedTrace) {
  const AnalysisSummary summary = MakeSummary();
  ASSERT_TRUE(summary.sectioned);
  ASSERT_GE(summary.sections.size(), 10u);
  ASSERT_FALSE(summary.spread_traces.empty());  // traces over a minute boundary
  AnalysisSummary sum;
  for (size_t k = 0; k < summary.sections.size(); ++k) {
    auto cells = summary.DecodeSection(k);
    ASSERT_TRUE(cells.ok()) << cells.status();
    EXPECT_EQ(cells->spans, summary.sections[k].spans);
    sum.Merge(*cells);
  }
  EXPECT_EQ(sum.spans, summary.spans);
  EXPECT_EQ(sum.min_start, summary.min_start);
  EXPECT_EQ(sum.max_start, summary.max_start);
  EXPECT_TRUE(sum.operations == summary.operations);
  EXPECT_TRUE(sum.services == summary.services);
  EXPECT_TRUE(sum.edges == summary.edges);
  EXPECT_TRUE(sum.nodes == summary.nodes);
  uint64_t folded = 0;
  Table().ForEachTrace([&](absl::Span<const SpanRow> rows) {
    const TraceId& trace = rows.front().trace;
    EXPECT_EQ(summary.IsOpen(trace), IsOpenTrace(trace));
    if (IsOpenTrace(trace)) return;
    folded += rows.size();
    const ptrdiff_t k = summary.SectionOf(trace, rows.front().start);
    ASSERT_GE(k, 0);
    for (const SpanRow& r : rows) {
      EXPECT_EQ(summary.SectionOf(trace, r.start), k);
      EXPECT_GE(r.start, summary.sections[k].min_start);
      EXPECT_LE(r.start, summary.sections[k].max_start);
    }
  });
  EXPECT_EQ(folded, summary.spans);

  const SummaryIdentity id{7, 1234, 300, 5, 9, 4096};
  SummaryIdentity read;
  auto v1 = DecodeSummaryFile(EncodeSummaryFile(id, summary, 1), &read);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_FALSE(v1->sectioned);
  EXPECT_TRUE(v1->sections.empty());
  AnalysisSummary unsectioned = summary;
  unsectioned.sectioned = false;
  unsectioned.sections.clear();
  unsectioned.section_strings.clear();
  unsectioned.spread_traces.clear();
  unsectioned.spread_sections.clear();
  EXPECT_TRUE(*v1 == unsectioned);
  // A scan's summary (not sectioned) also round-trips in the current version.
  auto plain = DecodeSummaryFile(EncodeSummaryFile(id, MakeSummary(false)), &read);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(*plain == MakeSummary(false));
}

TEST(SummaryFileTest, NewerVersionIsNotDamage) {
  std::string file = EncodeSummaryFile({}, MakeSummary());
  file[4] = static_cast<char>(kSummaryFileVersion + 1);
  // Re-checksum so only the version differs.
  std::string body = file.substr(0, file.size() - 8);
  std::string fixed = body;
  const uint64_t h = XXH3_64bits(body.data(), body.size());
  for (int i = 0; i < 8; ++i) fixed.push_back(static_cast<char>(h >> (8 * i)));
  SummaryIdentity id;
  EXPECT_EQ(DecodeSummaryFile(fixed, &id).status().code(), absl::StatusCode::kFailedPrecondition);
}

// Corrupt files: every single-bit flip and every truncation is caught by the checksum; and
// payloads mutated behind a valid checksum (what a fuzzer reaches) decode or fail cleanly.
TEST(SummaryFileTest, DamageGivesAStatusNotACrash) {
  const std::string file = EncodeSummaryFile({1, 2, 3, 4, 5, 6}, MakeSummary());
  SummaryIdentity id;
  for (size_t i = 0; i < file.size(); i += 7) {
    std::string bad = file;
    bad[i] ^= static_cast<char>(1 << (i % 8));
    EXPECT_EQ(DecodeSummaryFile(bad, &id).status().code(), absl::StatusCode::kDataLoss) << i;
  }
  for (size_t n = 0; n < file.size(); n += 13) {
    EXPECT_FALSE(DecodeSummaryFile(file.substr(0, n), &id).ok()) << n;
  }
  std::string payload;
  MakeSummary().EncodeTo(&payload);
  std::mt19937_64 rng(3);
  int decoded = 0;
  for (int round = 0; round < 6000; ++round) {
    std::string bad = payload;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bad.size();
      switch (rng() % 3) {
        case 0:
          bad[at] = static_cast<char>(rng());
          break;
        case 1:
          bad.resize(at);
          break;
        default:
          bad.insert(at, 1, static_cast<char>(rng()));
          break;
      }
      if (bad.empty()) break;
    }
    auto s = AnalysisSummary::Decode(bad);
    if (s.ok()) {
      ++decoded;
      // Whatever decodes is usable: merging and re-encoding must not crash.
      AnalysisSummary sum;
      sum.Merge(*s);
      std::string again;
      s->EncodeTo(&again);
      SpanTable table;
      s->AddOpenRowsTo(&table);
      table.Finish();
      for (size_t k = 0; k < s->sections.size(); ++k) {
        auto cells = s->DecodeSection(k);
        if (cells.ok()) sum.Merge(*cells);
      }
      if (s->sectioned) {
        for (const TraceId& t : s->spread_traces) (void)s->SectionOf(t, 0);
      }
    } else {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_LT(decoded, 6000);
}

// ReopenTraces (what compaction does when a newer block shares traces an older block's summary
// folded) gives the summary that building it with those traces open would: the same cells, per
// section and in total, the same open traces, the same open rows.
TEST(SummaryFileTest, ReopenTracesEqualsBuildingWithThemOpen) {
  test::TempDir dir;
  std::vector<Span> rows = Spans();
  SortBlockRows(&rows);
  BlockProperties props;
  ASSERT_TRUE(test::WriteBlock(dir.Sub("b.blk"), rows, Codec::kZstd, 64, &props).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("b.blk"), 1);
  ASSERT_TRUE(block.ok()) << block.status();
  TEST_SetSpansPerSection(300);  // minute sections over the ten minutes
  auto none = [](const TraceId&) { return false; };
  auto before = BuildBlockSummary(**block, none);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_GT(before->sections.size(), 5u);
  // Every seventh trace closed in `before` (spread ones among them), and one the block lacks.
  std::vector<TraceId> reopen;
  int closed = 0;
  auto index = (*block)->LoadTraceIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  (*index)->ForEach([&](const TraceId& id, RowRange) {
    if (!before->IsOpen(id) && closed++ % 7 == 0) reopen.push_back(id);
  });
  ASSERT_GT(reopen.size(), 20u);
  TraceId absent;
  absent.bytes.fill(0xee);
  reopen.push_back(absent);
  auto reopened = ReopenTraces(**block, *before, reopen);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto built = BuildBlockSummary(**block, [&](const TraceId& t) {
    return std::find(reopen.begin(), reopen.end(), t) != reopen.end();
  });
  TEST_SetSpansPerSection(0);
  ASSERT_TRUE(built.ok()) << built.status();

  EXPECT_EQ(reopened->spans, built->spans);
  EXPECT_EQ(reopened->min_start, built->min_start);
  EXPECT_EQ(reopened->max_start, built->max_start);
  EXPECT_TRUE(reopened->operations == built->operations);
  EXPECT_TRUE(reopened->services == built->services);
  EXPECT_TRUE(reopened->edges == built->edges);
  EXPECT_EQ(reopened->nodes, built->nodes);
  EXPECT_EQ(reopened->open_traces, built->open_traces);
  ASSERT_EQ(reopened->sections.size(), built->sections.size());
  for (size_t k = 0; k < built->sections.size(); ++k) {
    SCOPED_TRACE(k);
    auto a = reopened->DecodeSection(k);
    auto b = built->DecodeSection(k);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->spans, b->spans);
    EXPECT_TRUE(a->operations == b->operations);
    EXPECT_TRUE(a->edges == b->edges);
    EXPECT_TRUE(a->services == b->services);
  }
  // Open rows: the same spans, with the same strings.
  auto open_rows = [](const AnalysisSummary& s) {
    std::vector<std::tuple<TraceId, SpanId, std::string, std::string, std::string>> out;
    for (const SpanRow& r : s.open_rows) {
      out.emplace_back(r.trace, r.id, s.open_strings[r.service], s.open_strings[r.operation],
                       s.open_strings[r.peer]);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(open_rows(*reopened), open_rows(*built));
  // What decodes back is what was encoded.
  SummaryIdentity id;
  auto file = DecodeSummaryFile(EncodeSummaryFile(IdentityOf(**block), *reopened), &id);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(*file == *reopened);
  // An unsectioned summary is built again whole, not patched.
  EXPECT_EQ(ReopenTraces(**block, MakeSummary(false), reopen).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spanstore
