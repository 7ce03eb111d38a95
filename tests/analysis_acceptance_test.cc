// The acceptance test of issue 17: a generated checkout store with planted faults whose truth
// is known -- a 4.5 s gap between checkout and payment, shipping dropping the trace context on
// 5% of its calls to quote, 0.1% error traces, recommendation's clock 80 ms ahead, and the
// api-gateway -> ad edge slow at p99 -- analysed by ComputeServiceGraph, ComputeRed and
// RunDoctor. Every planted fault must be found and attributed to the right services, edge call
// counts and error counts must be exact, quantiles within the sketch's stated error of the
// exact values computed here, and every result identical whether the spans are in the WAL, in
// blocks, in both, or in blocks that compaction merged.

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/analysis.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

constexpr uint64_t kTraces = 10000;
constexpr uint64_t kGap = 4'500'000'000;   // planted idle time before payment is called
constexpr int64_t kSkew = 80'000'000;      // recommendation's clock is this far ahead
constexpr uint64_t kSlowAd = 300'000'000;  // added to 1.5% of ad's server spans
constexpr double kDropRate = 0.05;         // shipping -> quote calls losing the context

// Everything that starts at or after t moves by `extra`; what runs across t (the ancestors)
// ends `extra` later: a delay inserted at t, the tree kept consistent.
void DelayFrom(std::vector<Span>* spans, uint64_t t, uint64_t extra) {
  for (Span& s : *spans) {
    if (s.start_time_unix_nano >= t) {
      s.start_time_unix_nano += extra;
      s.end_time_unix_nano += extra;
    } else if (s.end_time_unix_nano >= t) {
      s.end_time_unix_nano += extra;
    }
  }
}

struct Planted {
  TraceId gap_trace;
  uint64_t dropped_calls = 0;
  uint64_t shipping_client_spans = 0;
  std::set<TraceId> dropped_traces;
  uint64_t slow_ad_calls = 0;
  uint64_t ad_calls = 0;
};

std::vector<Span> Generate(Planted* planted) {
  GeneratorOptions o;
  o.seed = 17;
  o.traces = kTraces;
  o.error_rate = 0.001;
  o.slow_rate = 0;
  CheckoutGenerator gen(o);
  std::mt19937_64 rng(1717);
  auto chance = [&](double p) { return static_cast<double>(rng() >> 11) / 9007199254740992.0 < p; };
  std::vector<Span> all, trace;
  bool gap_planted = false;
  while (gen.NextTrace(&trace)) {
    // Slow ad calls: the server span takes kSlowAd longer (and so its client and ancestors).
    for (size_t i = 0; i < trace.size(); ++i) {
      if (trace[i].service_name != "ad" || trace[i].kind != SpanKind::kServer) continue;
      ++planted->ad_calls;
      if (!chance(0.015)) continue;
      ++planted->slow_ad_calls;
      DelayFrom(&trace, trace[i].end_time_unix_nano, kSlowAd);
    }
    // The gap: in one checkout past the middle of the run, payment starts 4.5 s late.
    if (!gap_planted && gen.traces_generated() > kTraces / 2) {
      for (size_t i = 0; i < trace.size(); ++i) {
        if (trace[i].service_name != "payment" || trace[i].kind != SpanKind::kServer) continue;
        DelayFrom(&trace, trace[i].start_time_unix_nano, kGap);
        planted->gap_trace = trace[i].trace_id;
        gap_planted = true;
        break;
      }
    }
    // The clock skew: every recommendation span is stamped 80 ms late.
    for (Span& s : trace) {
      if (s.service_name != "recommendation") continue;
      s.start_time_unix_nano += kSkew;
      s.end_time_unix_nano += kSkew;
    }
    // Dropped context: the quote server span of 5% of shipping's calls starts a new trace.
    for (size_t i = 0; i < trace.size(); ++i) {
      if (trace[i].service_name != "shipping" || trace[i].kind != SpanKind::kClient) continue;
      ++planted->shipping_client_spans;
      if (!chance(kDropRate)) continue;
      for (Span& s : trace) {
        if (s.parent_span_id != trace[i].span_id) continue;
        s.trace_id.bytes[15] ^= 0x5a;
        s.trace_id.bytes[7] ^= 0xa5;
        s.parent_span_id = SpanId();
      }
      ++planted->dropped_calls;
      planted->dropped_traces.insert(trace[i].trace_id);
    }
    all.insert(all.end(), trace.begin(), trace.end());
  }
  EXPECT_TRUE(gap_planted);
  return all;
}

// The truth, computed from the spans directly with the definitions of analysis.h.
struct TrueEdge {
  uint64_t calls = 0, errors = 0;
  std::vector<uint64_t> latencies;
};
struct TrueRed {
  uint64_t calls = 0, errors = 0;
  std::vector<uint64_t> durations;
};

uint64_t Duration(const Span& s) {
  return s.end_time_unix_nano > s.start_time_unix_nano
             ? s.end_time_unix_nano - s.start_time_unix_nano
             : 0;
}

std::map<std::pair<std::string, std::string>, TrueEdge> TrueEdges(const std::vector<Span>& spans) {
  std::map<std::pair<std::string, std::string>, TrueEdge> edges;
  absl::flat_hash_map<std::pair<TraceId, SpanId>, const Span*> by_id;
  std::set<std::pair<TraceId, SpanId>> parents;
  for (const Span& s : spans) {
    by_id[{s.trace_id, s.span_id}] = &s;
    parents.insert({s.trace_id, s.parent_span_id});
  }
  for (const Span& c : spans) {
    // A client span nobody answers, naming its database: an edge to a virtual node.
    if (c.kind == SpanKind::kClient && !parents.contains({c.trace_id, c.span_id})) {
      for (const KeyValue& kv : c.attributes) {
        if (kv.key != "db.system") continue;
        TrueEdge& e = edges[{c.service_name, kv.value.string_value()}];
        ++e.calls;
        if (c.status_code == StatusCode::kError) ++e.errors;
        e.latencies.push_back(Duration(c));
      }
    }
    if (c.is_root()) continue;
    auto it = by_id.find({c.trace_id, c.parent_span_id});
    if (it == by_id.end()) continue;
    const Span& p = *it->second;
    if (p.service_name == c.service_name) continue;
    TrueEdge& e = edges[{p.service_name, c.service_name}];
    ++e.calls;
    if (p.status_code == StatusCode::kError || c.status_code == StatusCode::kError) ++e.errors;
    const bool call = p.kind == SpanKind::kClient && c.kind == SpanKind::kServer;
    e.latencies.push_back(call ? Duration(p) : Duration(c));
  }
  return edges;
}

uint64_t Exact(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

void ExpectQuantile(const QuantileSketch& sketch, const std::vector<uint64_t>& exact, double q,
                    const std::string& what) {
  const double want = static_cast<double>(Exact(exact, q));
  const double got = static_cast<double>(sketch.Quantile(q));
  EXPECT_LE(std::abs(got - want), QuantileSketch::kRelativeAccuracy * want + 1.0)
      << what << " q=" << q << " exact=" << want << " sketch=" << got;
}

const Finding* FindFinding(const DoctorReport& r, FindingKind kind) {
  for (const Finding& f : r.findings) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

class AnalysisAcceptanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    planted_ = new Planted;
    spans_ = new std::vector<Span>(Generate(planted_));
  }
  static void TearDownTestSuite() {
    delete spans_;
    delete planted_;
  }

  static absl::Status Append(Store& store, size_t begin, size_t end,
                             bool (*keep)(size_t) = nullptr) {
    std::vector<Span> batch;
    for (size_t i = begin; i < end; ++i) {
      if (keep != nullptr && !keep(i)) continue;
      batch.push_back((*spans_)[i]);
      if (batch.size() == 2000) {
        if (absl::Status s = store.Append(batch); !s.ok()) return s;
        batch.clear();
      }
    }
    return batch.empty() ? absl::OkStatus() : store.Append(batch);
  }

  static Options StoreOptions() {
    Options o;
    o.sync = SyncPolicy::kNone;
    o.background_compaction = false;
    return o;
  }

  struct Results {
    std::string graph, red_service, red_operation, doctor;
  };
  static Results Analyse(Store& store) {
    Results r;
    auto graph = ComputeServiceGraph(store, AnalysisWindow());
    EXPECT_TRUE(graph.ok()) << graph.status();
    if (graph.ok()) r.graph = ServiceGraphJson(*graph);
    auto red = ComputeRed(store, AnalysisWindow(), RedGrouping::kService);
    EXPECT_TRUE(red.ok()) << red.status();
    if (red.ok()) r.red_service = RedJson(*red);
    red = ComputeRed(store, AnalysisWindow(), RedGrouping::kOperation);
    if (red.ok()) r.red_operation = RedJson(*red);
    auto doctor = RunDoctor(store, AnalysisWindow());
    EXPECT_TRUE(doctor.ok()) << doctor.status();
    if (doctor.ok()) r.doctor = DoctorJson(*doctor);
    return r;
  }

  static Planted* planted_;
  static std::vector<Span>* spans_;
  test::TempDir dir_;
};

Planted* AnalysisAcceptanceTest::planted_ = nullptr;
std::vector<Span>* AnalysisAcceptanceTest::spans_ = nullptr;

TEST_F(AnalysisAcceptanceTest, GraphAndRedAreExact) {
  auto store = *Store::Open(StoreOptions(), dir_.Sub("db"));
  ASSERT_TRUE(Append(*store, 0, spans_->size()).ok());
  ASSERT_TRUE(store->CompactAll().ok());

  auto graph = ComputeServiceGraph(*store, AnalysisWindow());
  ASSERT_TRUE(graph.ok()) << graph.status();
  const auto truth = TrueEdges(*spans_);
  ASSERT_EQ(graph->edges.size(), truth.size());
  for (const ServiceEdge& e : graph->edges) {
    auto it = truth.find({e.client, e.server});
    ASSERT_NE(it, truth.end()) << e.client << " -> " << e.server;
    const std::string what = e.client + " -> " + e.server;
    EXPECT_EQ(e.calls, it->second.calls) << what;
    EXPECT_EQ(e.errors, it->second.errors) << what;
    for (double q : {0.5, 0.9, 0.99}) ExpectQuantile(e.latency, it->second.latencies, q, what);
  }
  // The slow edge: api-gateway -> ad, and only it, has a p99 past 200 ms.
  for (const ServiceEdge& e : graph->edges) {
    const bool slow = e.client == "api-gateway" && e.server == "ad";
    EXPECT_EQ(e.latency.Quantile(0.99) > 200'000'000, slow) << e.client << " -> " << e.server;
    if (slow) {
      EXPECT_LT(e.latency.Quantile(0.5), 20'000'000u);
    }
  }
  // Shipping -> quote lost exactly the dropped calls.
  const uint64_t shipping_quote = truth.at({"shipping", "quote"}).calls;
  EXPECT_EQ(shipping_quote + planted_->dropped_calls, planted_->shipping_client_spans);

  // RED per operation: exact calls and errors, quantiles within the bound.
  auto red = ComputeRed(*store, AnalysisWindow(), RedGrouping::kOperation);
  ASSERT_TRUE(red.ok());
  std::map<std::tuple<std::string, std::string, SpanKind>, TrueRed> true_red;
  uint64_t error_spans = 0;
  std::set<TraceId> error_traces;
  for (const Span& s : *spans_) {
    TrueRed& t = true_red[{s.service_name, s.name, s.kind}];
    ++t.calls;
    if (s.status_code == StatusCode::kError) {
      ++t.errors;
      ++error_spans;
      error_traces.insert(s.trace_id);
    }
    t.durations.push_back(Duration(s));
  }
  // About 0.1% of the traces have errors.
  EXPECT_GE(error_traces.size(), 3u);
  EXPECT_LE(error_traces.size(), 30u);
  ASSERT_EQ(red->rows.size(), true_red.size());
  uint64_t red_errors = 0;
  for (const RedRow& row : red->rows) {
    const TrueRed& t = true_red.at({row.service, row.operation, row.kind});
    const std::string what = row.service + " " + row.operation;
    EXPECT_EQ(row.calls, t.calls) << what;
    EXPECT_EQ(row.errors, t.errors) << what;
    red_errors += row.errors;
    ExpectQuantile(row.duration, t.durations, 0.5, what);
    ExpectQuantile(row.duration, t.durations, 0.9, what);
    ExpectQuantile(row.duration, t.durations, 0.99, what);
    EXPECT_EQ(row.p99_ns, row.duration.Quantile(0.99));
  }
  EXPECT_EQ(red_errors, error_spans);
  ASSERT_TRUE(store->Close().ok());
}

TEST_F(AnalysisAcceptanceTest, DoctorFindsEveryPlantedFault) {
  auto store = *Store::Open(StoreOptions(), dir_.Sub("db"));
  ASSERT_TRUE(Append(*store, 0, spans_->size()).ok());
  auto report = RunDoctor(*store, AnalysisWindow());
  ASSERT_TRUE(report.ok()) << report.status();
  for (const Finding& f : report->findings) {
    SCOPED_TRACE(f.detail);
    // Nothing but the planted faults is reported.
    EXPECT_THAT(f.kind, ::testing::AnyOf(FindingKind::kClockSkew, FindingKind::kDroppedContext,
                                         FindingKind::kGap));
  }
  const Finding* skew = FindFinding(*report, FindingKind::kClockSkew);
  ASSERT_NE(skew, nullptr);
  EXPECT_EQ(skew->service, "recommendation");
  EXPECT_NEAR(static_cast<double>(skew->value_ns), static_cast<double>(kSkew), 1e6);
  EXPECT_GT(skew->count, 0u);

  const Finding* dropped = FindFinding(*report, FindingKind::kDroppedContext);
  ASSERT_NE(dropped, nullptr);
  EXPECT_EQ(dropped->service, "shipping");
  EXPECT_EQ(dropped->peer, "quote");
  EXPECT_EQ(dropped->count, planted_->dropped_traces.size());
  EXPECT_DOUBLE_EQ(dropped->fraction, static_cast<double>(planted_->dropped_calls) /
                                          static_cast<double>(planted_->shipping_client_spans));
  EXPECT_NEAR(dropped->fraction, kDropRate, 0.02);
  ASSERT_FALSE(dropped->example_trace_ids.empty());
  EXPECT_TRUE(planted_->dropped_traces.contains(dropped->example_trace_ids[0]));

  const Finding* gap = FindFinding(*report, FindingKind::kGap);
  ASSERT_NE(gap, nullptr);
  EXPECT_EQ(gap->service, "checkout");
  EXPECT_EQ(gap->peer, "payment");
  EXPECT_EQ(gap->count, 1u);
  EXPECT_GE(gap->value_ns, static_cast<int64_t>(kGap));
  EXPECT_LT(gap->value_ns, static_cast<int64_t>(kGap + 10'000'000));
  EXPECT_THAT(gap->example_trace_ids, ::testing::ElementsAre(planted_->gap_trace));

  // Ranked by traces broken: the skew touches every browse, the drops 5% of the checkouts,
  // the gap one trace.
  EXPECT_EQ(report->findings.front().kind, FindingKind::kClockSkew);
  EXPECT_EQ(report->findings.back().kind, FindingKind::kGap);
  ASSERT_TRUE(store->Close().ok());
}

bool Even(size_t i) { return i % 2 == 0; }
bool Odd(size_t i) { return i % 2 == 1; }

TEST_F(AnalysisAcceptanceTest, SameResultsInWalBlocksBothAndMerged) {
  const size_t n = spans_->size();
  Results wal, blocks, both, merged;
  {
    auto store = *Store::Open(StoreOptions(), dir_.Sub("wal"));
    ASSERT_TRUE(Append(*store, 0, n).ok());
    ASSERT_EQ(store->Stats().blocks, 0u);
    wal = Analyse(*store);
    ASSERT_TRUE(store->CompactAll().ok());
    ASSERT_EQ(store->Stats().memtable_spans, 0u);
    blocks = Analyse(*store);
    ASSERT_TRUE(store->Close().ok());
  }
  {
    auto store = *Store::Open(StoreOptions(), dir_.Sub("both"));
    ASSERT_TRUE(Append(*store, 0, n / 2).ok());
    ASSERT_TRUE(store->CompactAll().ok());
    ASSERT_TRUE(Append(*store, n / 2, n).ok());
    both = Analyse(*store);
    ASSERT_TRUE(store->Close().ok());
  }
  {
    // Every trace's spans split over two compactions: two L0 blocks holding the same traces,
    // which compaction merges.
    auto store = *Store::Open(StoreOptions(), dir_.Sub("merged"));
    ASSERT_TRUE(Append(*store, 0, n, Even).ok());
    ASSERT_TRUE(store->CompactAll().ok());
    const uint64_t first = store->Stats().blocks;
    ASSERT_TRUE(Append(*store, 0, n, Odd).ok());
    ASSERT_TRUE(store->CompactAll().ok());
    // The second half's L0 blocks were merged with the first's: fewer blocks than written.
    EXPECT_LT(store->Stats().blocks, 2 * first);
    merged = Analyse(*store);
    ASSERT_TRUE(store->Close().ok());
  }
  EXPECT_FALSE(wal.graph.empty());
  for (const Results* r : {&blocks, &both, &merged}) {
    EXPECT_EQ(r->graph, wal.graph);
    EXPECT_EQ(r->red_service, wal.red_service);
    EXPECT_EQ(r->red_operation, wal.red_operation);
    EXPECT_EQ(r->doctor, wal.doctor);
  }
}

}  // namespace
}  // namespace spanstore
