// tools/spanstored/tempo_metrics.cc: Tempo's /api/metrics/query_range and /api/metrics/query
// answer TraceQL metrics queries with Tempo's response shapes.

#include <simdjson.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/spanstored/test_support.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1000000000;
constexpr uint64_t kStart = 1700000000 * kSecond;

class TempoMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(s_.store().Append(SampleTrace("orders", kStart, 1)).ok());
    ASSERT_TRUE(s_.store().Append(SampleTrace("payments", kStart + 70 * kSecond, 2)).ok());
  }
  HttpResult Get(const std::string& target) {
    return HttpFetch(s_.Address("tempo"), "GET", target, {});
  }
  static std::string Range() {
    return "&start=" + std::to_string(kStart / kSecond) +
           "&end=" + std::to_string(kStart / kSecond + 120);
  }
  InProcessServer s_;
  simdjson::dom::parser parser_;
};

TEST_F(TempoMetricsTest, QueryRange) {
  HttpResult r = Get("/api/metrics/query_range?q=" + UrlEncode("{ } | count_over_time()") +
                     Range() + "&step=60s");
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::element e;
  ASSERT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
  simdjson::dom::array series = e["series"].get_array();
  ASSERT_EQ(series.size(), 1u);
  simdjson::dom::array samples = series.at(0)["samples"].get_array();
  ASSERT_EQ(samples.size(), 2u);  // one trace in each minute
  EXPECT_EQ(std::string_view(samples.at(0)["timestampMs"]), std::to_string(kStart / 1000000));
  EXPECT_GT(samples.at(0)["value"].get_double().value(), 0);
}

TEST_F(TempoMetricsTest, InstantQueryBy) {
  HttpResult r = Get("/api/metrics/query?q=" +
                     UrlEncode("{ } | count_over_time() by (resource.service.name)") + Range());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body,
              HasSubstr(R"({"key":"resource.service.name","value":{"stringValue":"orders"}})"));
  EXPECT_THAT(r.body, HasSubstr(R"("value":)"));
}

// max_over_time(duration) in seconds, per series; an attribute no span has gives no series
// (never a NaN, which JSON cannot carry).
TEST_F(TempoMetricsTest, ValueFunctions) {
  HttpResult r =
      Get("/api/metrics/query?q=" +
          UrlEncode("{ } | max_over_time(duration) by (resource.service.name)") + Range());
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::element e;
  ASSERT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
  simdjson::dom::array series = e["series"].get_array();
  ASSERT_EQ(series.size(), 2u) << r.body;
  for (simdjson::dom::element s : series) {
    const double v = s["value"].get_double().value();
    EXPECT_GT(v, 0) << r.body;
    EXPECT_LT(v, 3600) << "seconds, not nanoseconds: " << r.body;
  }
  r = Get("/api/metrics/query?q=" + UrlEncode("{ } | avg_over_time(span.no.such.key)") + Range());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"series":[]})");
  r = Get("/api/metrics/query_range?q=" + UrlEncode("{ } | sum_over_time(span.no.such.key)") +
          Range() + "&step=60s");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"series":[]})");
}

// The requests Grafana's Traces Drilldown sends: root spans by service, the comparison view
// (compare()), the duration heatmap (histogram_over_time, read by its "__bucket" label) and
// exemplars (the `exemplars` parameter).
TEST_F(TempoMetricsTest, TracesDrilldownRequests) {
  HttpResult r = Get("/api/metrics/query_range?q=" +
                     UrlEncode("{nestedSetParent<0 && true} | rate() by(resource.service.name)") +
                     Range() + "&step=60s");
  ASSERT_EQ(r.status, 200) << r.body;
  simdjson::dom::element e;
  ASSERT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
  ASSERT_EQ(e["series"].get_array().size(), 2u) << r.body;  // orders and payments, roots only
  for (simdjson::dom::element s : e["series"].get_array()) {
    simdjson::dom::array samples = s["samples"].get_array();
    ASSERT_EQ(samples.size(), 1u) << r.body;
    EXPECT_DOUBLE_EQ(samples.at(0)["value"].get_double().value(), 1.0 / 60) << r.body;
  }

  r = Get("/api/metrics/query_range?q=" + UrlEncode("{true} | compare({status = error})") +
          Range() + "&step=60s");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
  double selected_errors = 0, baseline_200 = 0, selection_total = 0;
  for (simdjson::dom::element s : e["series"].get_array()) {
    simdjson::dom::array labels = s["labels"].get_array();
    ASSERT_EQ(labels.size(), 2u) << r.body;
    EXPECT_EQ(std::string_view(labels.at(0)["key"]), "__meta_type");
    const std::string_view type = labels.at(0)["value"]["stringValue"];
    const std::string_view key = labels.at(1)["key"];
    double sum = 0;
    for (simdjson::dom::element sample : s["samples"].get_array()) {
      sum += sample["value"].get_double().value();
    }
    if (type == "selection" && key == "status") {
      EXPECT_EQ(std::string_view(labels.at(1)["value"]["stringValue"]), "error");
      selected_errors += sum;
    }
    if (type == "baseline" && key == "span.http.status_code") {
      EXPECT_EQ(std::string_view(labels.at(1)["value"]["intValue"]), "200") << r.body;
      baseline_200 += sum;
    }
    if (type == "selection_total" && key == "name") selection_total += sum;
  }
  EXPECT_EQ(selected_errors, 2);  // the two failed queries
  EXPECT_EQ(baseline_200, 2);     // the two roots
  EXPECT_EQ(selection_total, 2);

  r = Get("/api/metrics/query_range?q=" + UrlEncode("{ } | histogram_over_time(duration)") +
          Range() + "&step=60s");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"({"key":"__bucket","value":{"doubleValue":0.268435456}})"));

  r = Get("/api/metrics/query_range?q=" + UrlEncode("{ } | rate()") + Range() +
          "&step=60s&exemplars=10");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
  simdjson::dom::array exemplars = e["series"].at(0)["exemplars"].get_array();
  EXPECT_EQ(exemplars.size(), 2u) << r.body;  // one per trace
  for (simdjson::dom::element x : exemplars) {
    EXPECT_EQ(std::string_view(x["labels"].at(0)["key"]), "trace:id");
    EXPECT_EQ(std::string_view(x["labels"].at(0)["value"]["stringValue"]).size(), 32u);
    EXPECT_GT(x["value"].get_double().value(), 0);
  }
  EXPECT_EQ(
      Get("/api/metrics/query_range?q=" + UrlEncode("{ } | rate()") + Range() + "&exemplars=lots")
          .status,
      400);
}

// step as Prometheus takes it, a number of seconds, as well as a duration.
TEST_F(TempoMetricsTest, StepInSeconds) {
  HttpResult a = Get("/api/metrics/query_range?q=" + UrlEncode("{ } | count_over_time()") +
                     Range() + "&step=60");
  HttpResult b = Get("/api/metrics/query_range?q=" + UrlEncode("{ } | count_over_time()") +
                     Range() + "&step=1m");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(
      Get("/api/metrics/query_range?q=" + UrlEncode("{ } | rate()") + Range() + "&step=-5").status,
      400);
}

TEST_F(TempoMetricsTest, BadRequestsAre400) {
  EXPECT_EQ(Get("/api/metrics/query_range?q=" + UrlEncode("{ } | nope()") + Range()).status, 400);
  EXPECT_EQ(Get("/api/metrics/query_range?q=" + UrlEncode("{ } | rate()") + "&start=x").status,
            400);
  EXPECT_EQ(
      Get("/api/metrics/query_range?q=" + UrlEncode("{ } | rate()") + Range() + "&step=0s").status,
      400);
}

}  // namespace
}  // namespace spanstore::spanstored::testing
