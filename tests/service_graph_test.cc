// query/service_graph.cc: edges from client/server, producer/consumer and parent/child pairs;
// RED rows per service and per operation; the JSON and DOT forms.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/analysis.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

Span MakeSpan(int trace, int id, int parent, const std::string& service, SpanKind kind,
              uint64_t start, uint64_t end, bool error = false, const std::string& name = "op") {
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
  if (error) s.status_code = StatusCode::kError;
  return s;
}

class ServiceGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open(Options(), dir_.Sub("db"));
    using K = SpanKind;
    ASSERT_TRUE(store_
                    ->Append({
                        // web (server) -> web client -> api server: a call taking 100 (client).
                        MakeSpan(1, 1, 0, "web", K::kServer, 1000, 2000, false, "GET /"),
                        MakeSpan(1, 2, 1, "web", K::kClient, 1100, 1200, false, "call api"),
                        MakeSpan(1, 3, 2, "api", K::kServer, 1110, 1190, true, "serve"),
                        // api publishes, worker consumes later: a message; latency = consumer's.
                        MakeSpan(1, 4, 3, "api", K::kProducer, 1150, 1160, false, "publish"),
                        MakeSpan(1, 5, 4, "worker", K::kConsumer, 5000, 5300, false, "consume"),
                        // Kinds unset: parent/child across services (Jaeger's rule).
                        MakeSpan(1, 6, 5, "db", K::kUnspecified, 5100, 5150, false, "query"),
                        // Same service: not an edge.
                        MakeSpan(1, 7, 5, "worker", K::kInternal, 5160, 5170, false, "work"),
                        // A second trace, later: web -> api again.
                        MakeSpan(2, 1, 0, "web", K::kServer, 9000, 9900, false, "GET /"),
                        MakeSpan(2, 2, 1, "web", K::kClient, 9100, 9400, false, "call api"),
                        MakeSpan(2, 3, 2, "api", K::kServer, 9150, 9350, false, "serve"),
                    })
                    .ok());
  }
  void TearDown() override { ASSERT_TRUE(store_->Close().ok()); }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ServiceGraphTest, EdgesFromPairs) {
  auto graph = ComputeServiceGraph(*store_, AnalysisWindow());
  ASSERT_TRUE(graph.ok()) << graph.status();
  EXPECT_THAT(graph->services, ::testing::ElementsAre("api", "db", "web", "worker"));
  ASSERT_EQ(graph->edges.size(), 3u);
  const ServiceEdge& api_worker = graph->edges[0];
  EXPECT_EQ(api_worker.client, "api");
  EXPECT_EQ(api_worker.server, "worker");
  EXPECT_EQ(api_worker.calls, 1u);
  EXPECT_EQ(api_worker.latency.Quantile(0.5), 300u);  // the consumer's duration
  const ServiceEdge& web_api = graph->edges[1];
  EXPECT_EQ(web_api.client, "web");
  EXPECT_EQ(web_api.server, "api");
  EXPECT_EQ(web_api.calls, 2u);
  EXPECT_EQ(web_api.errors, 1u);                 // the server side failed
  EXPECT_EQ(web_api.latency.Quantile(0), 100u);  // the client's durations: 100 and 300
  EXPECT_EQ(web_api.latency.Quantile(1), 300u);
  EXPECT_EQ(graph->edges[2].client, "worker");
  EXPECT_EQ(graph->edges[2].server, "db");
  EXPECT_EQ(graph->spans, 10u);
  EXPECT_FALSE(graph->truncated);

  EXPECT_EQ(ServiceGraphJson(*graph),
            R"({"nodes":[{"service":"api"},{"service":"db"},{"service":"web"},)"
            R"({"service":"worker"}],"edges":[)"
            R"({"client":"api","server":"worker","calls":1,"errors":0,"p50_ns":300,"p99_ns":300},)"
            R"({"client":"web","server":"api","calls":2,"errors":1,"p50_ns":100,"p99_ns":100},)"
            R"({"client":"worker","server":"db","calls":1,"errors":0,"p50_ns":50,"p99_ns":50}]})");
  const std::string dot = ServiceGraphDot(*graph);
  EXPECT_THAT(dot, ::testing::HasSubstr("\"web\" -> \"api\" [label=\"2 calls, 1 error\\n"));
  EXPECT_THAT(dot, ::testing::HasSubstr("color=red"));
}

TEST_F(ServiceGraphTest, WindowIsHalfOpenAndBounded) {
  AnalysisWindow w;
  w.start_unix_nano = 9000;
  w.end_unix_nano = 9150;  // the api server span at 9150 is outside
  auto graph = ComputeServiceGraph(*store_, w);
  ASSERT_TRUE(graph.ok());
  EXPECT_TRUE(graph->edges.empty());
  w.end_unix_nano = 9151;
  graph = ComputeServiceGraph(*store_, w);
  ASSERT_EQ(graph->edges.size(), 1u);
  EXPECT_EQ(graph->edges[0].calls, 1u);
  w.max_spans = 2;
  graph = ComputeServiceGraph(*store_, w);
  EXPECT_TRUE(graph->truncated);
  w.start_unix_nano = w.end_unix_nano;
  EXPECT_EQ(ComputeServiceGraph(*store_, w).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServiceGraphTest, RedByService) {
  AnalysisWindow w;
  w.start_unix_nano = 1000;
  w.end_unix_nano = 1000 + 10'000'000'000ull;  // ten seconds
  auto red = ComputeRed(*store_, w, RedGrouping::kService);
  ASSERT_TRUE(red.ok()) << red.status();
  EXPECT_DOUBLE_EQ(red->window_seconds, 10.0);
  // Entry spans: web's two roots; api's two server spans; worker's consumer; db's span (parent
  // in another service). Client, producer and internal spans are not requests served.
  ASSERT_EQ(red->rows.size(), 4u);
  EXPECT_EQ(red->rows[0].service, "api");
  EXPECT_EQ(red->rows[0].calls, 2u);
  EXPECT_EQ(red->rows[0].errors, 1u);
  EXPECT_DOUBLE_EQ(red->rows[0].rate_per_s, 0.2);
  EXPECT_EQ(red->rows[1].service, "db");
  EXPECT_EQ(red->rows[1].calls, 1u);
  EXPECT_EQ(red->rows[2].service, "web");
  EXPECT_EQ(red->rows[2].calls, 2u);
  EXPECT_EQ(red->rows[2].p50_ns, 900u);  // durations 1000 and 900: x[floor(0.5 * 1)] = 900
  EXPECT_EQ(red->rows[2].p99_ns, 900u);
  EXPECT_EQ(red->rows[3].service, "worker");
  EXPECT_EQ(red->rows[3].calls, 1u);
}

TEST_F(ServiceGraphTest, RedByOperation) {
  auto red = ComputeRed(*store_, AnalysisWindow(), RedGrouping::kOperation);
  ASSERT_TRUE(red.ok());
  ASSERT_EQ(red->rows.size(), 7u);
  EXPECT_EQ(red->rows[0].service, "api");
  EXPECT_EQ(red->rows[0].operation, "publish");
  EXPECT_EQ(red->rows[0].kind, SpanKind::kProducer);
  EXPECT_EQ(red->rows[1].operation, "serve");
  EXPECT_EQ(red->rows[1].calls, 2u);
  EXPECT_EQ(red->rows[1].errors, 1u);
  // The unbounded window's rate is over the start times found: 1000 .. 9150, at least 1 s.
  EXPECT_DOUBLE_EQ(red->window_seconds, 1.0);
  const std::string json = RedJson(*red);
  EXPECT_THAT(json, ::testing::StartsWith(
                        R"([{"service":"api","operation":"publish","kind":"producer","calls":1,)"
                        R"("errors":0,"rate_per_s":1,"p50_ns":10,"p90_ns":10,"p99_ns":10},)"));
}

}  // namespace
}  // namespace spanstore
