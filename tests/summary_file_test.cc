// engine/summary_file.cc: a block's analysis summary round-trips through its file exactly, and
// any damage -- a flipped bit, a truncation, bytes that checksum but do not decode -- gives a
// clear status, never a crash or a wrong summary.

#include "engine/summary_file.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <random>

#include "gtest/gtest.h"
#include "query/span_table.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

AnalysisSummary MakeSummary() {
  GeneratorOptions o;
  o.traces = 300;
  o.error_rate = 0.05;
  CheckoutGenerator gen(o);
  SpanTable table;
  std::vector<Span> trace;
  while (gen.NextTrace(&trace)) {
    for (const Span& s : trace) table.Add(s);
  }
  table.Finish();
  AnalysisSummary summary;
  // Every fifth trace open, so the file holds rows as well as cells.
  auto open_fn = [](absl::Span<const SpanRow> rows) {
    return rows.front().trace.bytes[2] % 5 == 0;
  };
  absl::FunctionRef<bool(absl::Span<const SpanRow>)> is_open = open_fn;
  summary.AddTable(table, &is_open);
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
  for (int round = 0; round < 3000; ++round) {
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
    } else {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
    }
  }
  EXPECT_LT(decoded, 3000);
}

}  // namespace
}  // namespace spanstore
