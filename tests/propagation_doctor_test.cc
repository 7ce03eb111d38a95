// query/propagation_doctor.cc: each kind of finding on a small hand-made store (the planted
// faults of a generated store are tests/analysis_acceptance_test.cc's).

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/analysis.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kMinute = 60'000 * kMs;

Span MakeSpan(int trace, int id, int parent, const std::string& service, SpanKind kind,
              uint64_t start, uint64_t end, const std::string& name = "op") {
  Span s;
  s.trace_id.bytes[0] = static_cast<uint8_t>(trace);
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = static_cast<uint8_t>(id);
  if (parent != 0) s.parent_span_id.bytes[7] = static_cast<uint8_t>(parent);
  s.service_name = service;
  s.name = name;
  s.kind = kind;
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = end;
  return s;
}

std::vector<const Finding*> Of(const DoctorReport& r, FindingKind kind) {
  std::vector<const Finding*> out;
  for (const Finding& f : r.findings) {
    if (f.kind == kind) out.push_back(&f);
  }
  return out;
}

TEST(PropagationDoctorTest, EachKindOfFinding) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  using K = SpanKind;
  std::vector<Span> spans;
  // Trace 1: web calls api (paired) twice; api's call to db gets no answer -- but db is never
  // answered anywhere, so it is not a dropped context.
  for (int t = 1; t <= 4; ++t) {
    const uint64_t b = t * kMinute;
    spans.push_back(MakeSpan(t, 1, 0, "web", K::kServer, b, b + 100 * kMs, "GET"));
    spans.push_back(MakeSpan(t, 2, 1, "web", K::kClient, b + 10 * kMs, b + 90 * kMs, "call"));
    if (t != 4) {
      spans.push_back(MakeSpan(t, 3, 2, "api", K::kServer, b + 11 * kMs, b + 89 * kMs, "serve"));
    }
  }
  // Trace 4's call to api got no server span; api started a new trace instead.
  spans.push_back(
      MakeSpan(40, 3, 0, "api", K::kServer, 4 * kMinute + 11 * kMs, 4 * kMinute + 89 * kMs));
  // Trace 5: an orphan, two roots, a span ending before it starts, a child (same service)
  // outside its parent, and a 400 ms gap before web calls api.
  const uint64_t b = 5 * kMinute;
  spans.push_back(MakeSpan(5, 1, 0, "web", K::kServer, b, b + 1000 * kMs));
  spans.push_back(MakeSpan(5, 2, 1, "web", K::kClient, b + 10 * kMs, b + 900 * kMs, "call"));
  spans.push_back(MakeSpan(5, 3, 2, "api", K::kServer, b + 410 * kMs, b + 890 * kMs, "serve"));
  spans.push_back(MakeSpan(5, 4, 9, "cache", K::kInternal, b + 20 * kMs, b + 30 * kMs));
  spans.push_back(MakeSpan(5, 5, 0, "batch", K::kInternal, b + 40 * kMs, b + 50 * kMs));
  spans.push_back(MakeSpan(5, 6, 3, "api", K::kInternal, b + 500 * kMs, b + 400 * kMs));
  spans.push_back(MakeSpan(5, 7, 3, "api", K::kInternal, b + 520 * kMs, b + 950 * kMs));
  // A later trace, so that trace 5 is past the late-span window.
  spans.push_back(MakeSpan(6, 1, 0, "web", K::kServer, 10 * kMinute, 10 * kMinute + kMs));
  ASSERT_TRUE(store->Append(spans).ok());

  auto report = RunDoctor(*store, AnalysisWindow());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->traces, 7u);
  auto dropped = Of(*report, FindingKind::kDroppedContext);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0]->service, "web");
  EXPECT_EQ(dropped[0]->peer, "api");
  EXPECT_EQ(dropped[0]->count, 1u);
  EXPECT_DOUBLE_EQ(dropped[0]->fraction, 1.0 / 5);  // 1 of web's 5 "call" spans
  auto orphans = Of(*report, FindingKind::kOrphanSpan);
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0]->service, "cache");
  auto roots = Of(*report, FindingKind::kMultipleRoots);
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0]->service, "batch");
  auto negative = Of(*report, FindingKind::kNegativeDuration);
  ASSERT_EQ(negative.size(), 1u);
  EXPECT_EQ(negative[0]->service, "api");
  auto outside = Of(*report, FindingKind::kChildOutsideParent);
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0]->service, "api");
  EXPECT_EQ(outside[0]->peer, "api");
  EXPECT_TRUE(Of(*report, FindingKind::kClockSkew).empty());
  auto gaps = Of(*report, FindingKind::kGap);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]->service, "web");
  EXPECT_EQ(gaps[0]->peer, "api");
  EXPECT_EQ(gaps[0]->value_ns, static_cast<int64_t>(400 * kMs));
  EXPECT_EQ(gaps[0]->example_trace_ids.size(), 1u);

  // Within the late-span window the orphan may yet find its parent: not reported.
  DoctorOptions patient;
  patient.late_span_window_nanos = 10 * kMinute;
  report = RunDoctor(*store, AnalysisWindow(), patient);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(Of(*report, FindingKind::kOrphanSpan).empty());
  // A higher gap threshold drops the gap.
  DoctorOptions lenient;
  lenient.min_gap_nanos = 500 * kMs;
  report = RunDoctor(*store, AnalysisWindow(), lenient);
  EXPECT_TRUE(Of(*report, FindingKind::kGap).empty());
  EXPECT_THAT(DoctorJson(*report), ::testing::HasSubstr("\"kind\":\"dropped_context\""));
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace spanstore
