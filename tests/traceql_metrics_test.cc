// query/traceql_metrics.cc: parsing the metrics pipeline after a span filter, and evaluating
// rate, count_over_time, quantile_over_time, histogram_over_time and sum/min/max/avg_over_time by
// attributes over steps.

#include "spanstore/traceql_metrics.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/store.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr uint64_t kSecond = 1'000'000'000;

// Each of `queries` is refused with an error that names its column.
void ExpectColumnErrors(std::initializer_list<const char*> queries) {
  for (const char* bad : queries) {
    auto q = ParseMetricsQuery(bad);
    EXPECT_FALSE(q.ok()) << bad;
    EXPECT_THAT(q.status().message(), HasSubstr("column")) << bad;
  }
}

TEST(TraceqlMetricsTest, Parses) {
  auto q = ParseMetricsQuery(
      "{ resource.service.name = \"a|b}\" } | quantile_over_time(duration, .5, 0.99) by "
      "(resource.service.name, span.http.route)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->function, MetricsQuery::Function::kQuantileOverTime);
  EXPECT_THAT(q->quantiles, ElementsAre(0.5, 0.99));
  EXPECT_THAT(q->by, ElementsAre("resource.service.name", "span.http.route"));
  EXPECT_THAT(q->filter.services, ElementsAre("a|b}"));  // the quoted '|' and '}' are the filter's
  q = ParseMetricsQuery("{ } | rate()");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->function, MetricsQuery::Function::kRate);
  EXPECT_TRUE(q->by.empty());
  EXPECT_TRUE(ParseMetricsQuery("{status=error}|count_over_time()by(name)").ok());
  EXPECT_TRUE(ParseMetricsQuery("{ } | histogram_over_time(duration) by (.http.route)").ok());
}

TEST(TraceqlMetricsTest, ErrorsNameTheColumn) {
  auto error = [](std::string_view text) {
    auto q = ParseMetricsQuery(text);
    EXPECT_FALSE(q.ok()) << text;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(q.status().message());
  };
  EXPECT_THAT(error("{ } | rat()"), HasSubstr("column 7: expected rate()"));
  EXPECT_THAT(error("{ }"), HasSubstr("'|'"));
  EXPECT_THAT(error("rate()"), HasSubstr("span filter"));
  EXPECT_THAT(error("{ } | quantile_over_time(duration)"), HasSubstr("at least one quantile"));
  EXPECT_THAT(error("{ } | quantile_over_time(duration, 1.5)"), HasSubstr("between 0 and 1"));
  EXPECT_THAT(error("{ } | quantile_over_time(latency, .5)"), HasSubstr("'duration'"));
  EXPECT_THAT(error("{ } | rate() by (foo)"), HasSubstr("column 18: expected an attribute"));
  EXPECT_THAT(error("{ } | rate() by (name"), HasSubstr("')'"));
  EXPECT_THAT(error("{ } | rate() extra"), HasSubstr("'by (...)'"));
  EXPECT_THAT(error("{ name = } | rate()"), HasSubstr("column"));  // the filter's own error
}

Span MakeSpan(int id, const std::string& service, uint64_t start, uint64_t duration,
              bool error = false) {
  Span s;
  s.trace_id.bytes[0] = static_cast<uint8_t>(id);
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = 1;
  s.service_name = service;
  s.name = "op";
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + duration;
  if (error) s.status_code = StatusCode::kError;
  s.attributes.push_back({"http.route", AnyValue::String(service == "a" ? "/x" : "/y")});
  // A number for sum/min/max/avg_over_time: 0, 100, 200.5 (a double), then a string.
  if (id <= 2) s.attributes.push_back({"size", AnyValue::Int((id - 1) * 100)});
  if (id == 3) s.attributes.push_back({"size", AnyValue::Double(200.5)});
  if (id >= 4) s.attributes.push_back({"size", AnyValue::String("big")});
  return s;
}

class TraceqlMetricsEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open(Options(), dir_.Sub("db"));
    // Step 0 ([100 s, 110 s)): a, a, b; step 1: a (error); step 2: nothing; 130 s: outside.
    ASSERT_TRUE(
        store_
            ->Append({MakeSpan(1, "a", 100 * kSecond, 1000), MakeSpan(2, "a", 101 * kSecond, 3000),
                      MakeSpan(3, "b", 109 * kSecond, 2'000'000),
                      MakeSpan(4, "a", 115 * kSecond, 5000, true),
                      MakeSpan(5, "a", 130 * kSecond, 5000)})
            .ok());
  }
  absl::StatusOr<MetricsResult> Eval(std::string_view text) {
    auto q = ParseMetricsQuery(text);
    if (!q.ok()) return q.status();
    return EvaluateMetricsQuery(*store_, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(TraceqlMetricsEvalTest, RateAndCountBy) {
  auto r = Eval("{ } | rate() by (resource.service.name)");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans, 4u);
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("resource.service.name", "a")));
  EXPECT_THAT(r->series[0].values, ElementsAre(0.2, 0.1, 0));
  EXPECT_THAT(r->series[1].values, ElementsAre(0.1, 0, 0));
  r = Eval("{ status = error } | count_over_time() by (span.http.route, name)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("span.http.route", "/x"), Pair("name", "op")));
  EXPECT_THAT(r->series[0].values, ElementsAre(0, 1, 0));
  EXPECT_EQ(MetricsResultJson(*r),
            R"({"series":[{"labels":[{"key":"span.http.route","value":{"stringValue":"/x"}},)"
            R"({"key":"name","value":{"stringValue":"op"}}],)"
            R"("samples":[{"timestampMs":"110000","value":1}]}]})");
}

TEST_F(TraceqlMetricsEvalTest, QuantilesAndHistogram) {
  auto r = Eval("{ } | quantile_over_time(duration, 0, 1)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("p", "0")));
  EXPECT_THAT(r->series[0].values, ElementsAre(1000 / 1e9, 5000 / 1e9, 0));  // seconds
  EXPECT_THAT(r->series[1].values, ElementsAre(2'000'000 / 1e9, 5000 / 1e9, 0));
  r = Eval("{ } | histogram_over_time(duration)");
  ASSERT_TRUE(r.ok());
  // 1000 ns -> le 1024 ns; 3000 -> 4096; 5000 -> 8192; 2 ms -> 2^21 ns.
  ASSERT_EQ(r->series.size(), 4u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("le", "1.024e-06")));
  EXPECT_THAT(r->series[0].values, ElementsAre(1, 0, 0));
  EXPECT_THAT(r->series[2].values, ElementsAre(0, 1, 0));
}

// Tempo's sum/min/max/avg_over_time: per step over the spans that have the number; durations
// in seconds; a step without one is NaN, left out of the JSON, while a 0 stays in.
TEST_F(TraceqlMetricsEvalTest, SumMinMaxAvgOverTime) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto values = [](const MetricsSeries& s) {
    std::vector<std::string> out;  // NaN != NaN: compare as text
    for (double v : s.values) out.push_back(absl::StrFormat("%g", v));
    return out;
  };
  auto r = Eval("{ } | avg_over_time(duration)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_THAT(values(r->series[0]),
              ElementsAre(absl::StrFormat("%g", (1000 + 3000 + 2'000'000) / 3 / 1e9),
                          absl::StrFormat("%g", 5000 / 1e9), absl::StrFormat("%g", nan)));
  EXPECT_EQ(r->spans, 4u);

  r = Eval("{ } | min_over_time(span.size) by (resource.service.name)");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans, 3u);  // span 4's size is a string: left out
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_THAT(values(r->series[0]), ElementsAre("0", "nan", "nan"));
  EXPECT_THAT(values(r->series[1]), ElementsAre("200.5", "nan", "nan"));
  EXPECT_EQ(MetricsResultJson(*r),
            R"({"series":[{"labels":[{"key":"resource.service.name","value":{"stringValue":"a"}}],)"
            R"("samples":[{"timestampMs":"100000","value":0}]},)"
            R"({"labels":[{"key":"resource.service.name","value":{"stringValue":"b"}}],)"
            R"("samples":[{"timestampMs":"100000","value":200.5}]}]})");

  r = Eval("{ } | max_over_time(.size)");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(values(r->series[0]), ElementsAre("200.5", "nan", "nan"));
  r = Eval("{ } | sum_over_time(span.size)");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(values(r->series[0]), ElementsAre("300.5", "nan", "nan"));
  r = Eval("{ } | sum_over_time(resource.size)");  // no resource has it
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->series.empty());
  EXPECT_EQ(MetricsResultJson(*r), R"({"series":[]})");

  ExpectColumnErrors({"{ } | sum_over_time()", "{ } | max_over_time(name)",
                      "{ } | avg_over_time(size)", "{ } | min_over_time(duration, 1)"});
}

// Tempo's topk/bottomk: per step, the k series with the largest (smallest) values keep them;
// series never among those are dropped; ties go to the series whose labels sort first.
TEST_F(TraceqlMetricsEvalTest, TopkAndBottomkPerStep) {
  auto q = ParseMetricsQuery("{ } | count_over_time() by (span.size) | topk(1)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->second_stage, MetricsQuery::SecondStage::kTopK);
  EXPECT_EQ(q->k, 1u);
  // Series by span.size: "0" (step 0: 1), "100" (step 0: 1), "200.5" (step 0: 1), "big"
  // (step 1: 1). Step 0 is a three-way tie: the first labels win.
  auto r = Eval("{ } | count_over_time() by (span.size) | topk(1)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("span.size", "0")));
  EXPECT_THAT(r->series[0].values, ElementsAre(1, 0, 0));
  EXPECT_THAT(r->series[1].labels, ElementsAre(Pair("span.size", "big")));
  EXPECT_THAT(r->series[1].values, ElementsAre(0, 1, 0));
  // By duration: step 0 holds a (1 µs, 3 µs) and b (2 ms); step 1 holds a (5 µs).
  r = Eval("{ } | max_over_time(duration) by (resource.service.name) | bottomk(1)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("resource.service.name", "a")));
  r = Eval("{ } | max_over_time(duration) by (resource.service.name) | topk(1)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 2u);                  // b wins step 0, a (alone) step 1
  EXPECT_TRUE(std::isnan(r->series[0].values[0]));  // a lost step 0
  EXPECT_DOUBLE_EQ(r->series[0].values[1], 5000 / 1e9);
  EXPECT_DOUBLE_EQ(r->series[1].values[0], 2'000'000 / 1e9);
  r = Eval("{ } | rate() by (resource.service.name) | topk(5)");  // fewer series than k
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->series.size(), 2u);
  ExpectColumnErrors({"{ } | rate() | topk(0)", "{ } | rate() | topk()", "{ } | rate() | top(3)",
                      "{ } | rate() | topk(2) | topk(1)", "{ } | rate() by (name) topk(2)"});
}

// "... > x": only the data points that meet the threshold stay; series left empty go.
TEST_F(TraceqlMetricsEvalTest, ThresholdsKeepThePointsThatMeetThem) {
  auto r = Eval("{ } | count_over_time() by (resource.service.name) >= 2");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);  // a: 2, 1, 0; b: 1, 0, 0
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("resource.service.name", "a")));
  EXPECT_THAT(r->series[0].values, ElementsAre(2, 0, 0));
  r = Eval("{ } | count_over_time()>1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->series[0].values, ElementsAre(3, 0, 0));
  r = Eval("{ } | min_over_time(span.size) by (resource.service.name) != 0 | topk(5)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);  // a's only value is 0
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("resource.service.name", "b")));
  r = Eval("{ } | rate() < 0");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->series.empty());
  ExpectColumnErrors(
      {"{ } | rate() > x", "{ } | rate() >", "{ } | rate() => 1", "{ } | rate() ! 1"});
}

// quantile_over_time and histogram_over_time of an int attribute: in its own unit; doubles,
// strings and negative ints are left out.
TEST_F(TraceqlMetricsEvalTest, QuantilesAndHistogramsOfAnAttribute) {
  auto r = Eval("{ } | quantile_over_time(span.size, 0, 1)");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans, 2u);  // sizes 0 and 100; 200.5 (a double) and "big" are left out
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_THAT(r->series[0].values, ElementsAre(0, 0, 0));
  ASSERT_EQ(r->series[1].values.size(), 3u);
  EXPECT_NEAR(r->series[1].values[0], 100, 1);  // within the sketch's 1 %
  r = Eval("{ } | histogram_over_time(.size)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 2u);  // 0 -> le 1; 100 -> le 128
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("le", "1")));
  EXPECT_THAT(r->series[1].labels, ElementsAre(Pair("le", "128")));
  EXPECT_THAT(r->series[1].values, ElementsAre(1, 0, 0));
  EXPECT_FALSE(ParseMetricsQuery("{ } | histogram_over_time(name)").ok());
}

TEST_F(TraceqlMetricsEvalTest, BadRanges) {
  auto q = *ParseMetricsQuery("{ } | rate()");
  EXPECT_EQ(EvaluateMetricsQuery(*store_, q, 10, 10, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EvaluateMetricsQuery(*store_, q, 0, 10, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(EvaluateMetricsQuery(*store_, q, 0, 100 * kSecond, 1000).status().message(),
              HasSubstr("steps is more than"));
}

TEST(TraceqlMetricsTest, QueryHints) {
  auto q = ParseMetricsQuery("{ } | rate() with(exemplars=true)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->exemplars, MetricsQuery::kDefaultExemplars);
  q = ParseMetricsQuery("{ } | rate() by (name) | topk(2) with(exemplars=false, sample=0.1)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->exemplars, 0u);
  EXPECT_EQ(q->k, 2u);
  q = ParseMetricsQuery("{ } | count_over_time() with (most_recent=true)");
  ASSERT_TRUE(q.ok()) << q.status();
  ExpectColumnErrors({"{ } | rate() with(exemplars=maybe)", "{ } | rate() with(exemplars)",
                      "{ } | rate() with(exemplars=true", "{ } | rate() with exemplars=true",
                      "{ } | rate() with(=true)"});
}

// Exemplars: at most the limit, one per trace, each on the series (and step) its span counted
// in; for counts the value is the series' value there, for quantiles the span's duration.
TEST_F(TraceqlMetricsEvalTest, Exemplars) {
  auto q = ParseMetricsQuery("{ } | count_over_time() by (resource.service.name)");
  ASSERT_TRUE(q.ok());
  auto none = EvaluateMetricsQuery(*store_, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(none.ok());
  for (const MetricsSeries& s : none->series) EXPECT_TRUE(s.exemplars.empty());
  EXPECT_EQ(MetricsResultJson(*none).find("exemplars"), std::string::npos);

  q->exemplars = 100;
  auto r = EvaluateMetricsQuery(*store_, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(r.ok());
  size_t total = 0;
  for (const MetricsSeries& s : r->series) {
    for (const MetricsExemplar& e : s.exemplars) {
      ++total;
      const size_t step = (e.time_unix_nano - 100 * kSecond) / (10 * kSecond);
      EXPECT_EQ(e.value, s.values[step]);
      EXPECT_EQ(s.labels[0].second, e.trace_id.bytes[0] == 3 ? "b" : "a");
    }
  }
  EXPECT_EQ(total, 4u);  // the four spans in the range, each its own trace
  const std::string json = MetricsResultJson(*r);
  EXPECT_THAT(json, HasSubstr(R"("exemplars":[{"labels":[{"key":"trace:id","value":)"
                              R"({"stringValue":"03000000000000000000000000000001"}},)"
                              R"({"key":"span:id","value":{"stringValue":"0000000000000001"}}],)"
                              R"("value":1,"timestampMs":"109000"})"));

  // An exemplar at a step a threshold emptied is not sent.
  auto t = ParseMetricsQuery("{ } | count_over_time() > 2 with(exemplars=true)");
  ASSERT_TRUE(t.ok());
  auto kept = EvaluateMetricsQuery(*store_, *t, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->series.size(), 1u);
  EXPECT_EQ(kept->series[0].exemplars.size(), 4u);  // kept in the result ...
  const std::string kept_json = MetricsResultJson(*kept);
  size_t sent = 0;
  for (size_t at = kept_json.find("trace:id"); at != std::string::npos;
       at = kept_json.find("trace:id", at + 1)) {
    ++sent;
  }
  EXPECT_EQ(sent, 3u);  // ... but only step 0's three (count 3 > 2) are sent

  q->exemplars = 1;
  r = EvaluateMetricsQuery(*store_, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(r.ok());
  total = 0;
  for (const MetricsSeries& s : r->series) total += s.exemplars.size();
  EXPECT_EQ(total, 1u);

  q = ParseMetricsQuery("{ } | quantile_over_time(duration, .5) with(exemplars=true)");
  ASSERT_TRUE(q.ok());
  r = EvaluateMetricsQuery(*store_, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 1u);
  ASSERT_EQ(r->series[0].exemplars.size(), 4u);
  EXPECT_DOUBLE_EQ(r->series[0].exemplars[2].value, 2'000'000 / 1e9);  // span 3, in seconds
}

// Tempo's JSON types label values: "p" and "__bucket" (our "le") are doubles, an int
// attribute's value an int.
TEST_F(TraceqlMetricsEvalTest, JsonTypesLabelValues) {
  auto r = Eval("{ } | histogram_over_time(duration)");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(MetricsResultJson(*r), HasSubstr(R"({"key":"__bucket","value":{"doubleValue":)"));
  r = Eval("{ } | quantile_over_time(duration, .9)");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(MetricsResultJson(*r), HasSubstr(R"({"key":"p","value":{"doubleValue":0.9)"));
  r = Eval("{ span.size = 100 } | count_over_time() by (span.size)");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(MetricsResultJson(*r),
              HasSubstr(R"({"key":"span.size","value":{"intValue":"100"}})"));
  EXPECT_THAT(MetricsInstantJson(*r),
              HasSubstr(R"({"key":"span.size","value":{"intValue":"100"}})"));
  // A double attribute's value: typed, and in its shortest form.
  r = Eval("{ span.size = 200.5 } | count_over_time() by (span.size)");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(MetricsResultJson(*r),
              HasSubstr(R"({"key":"span.size","value":{"doubleValue":200.5}})"));
}

// A by() attribute a span lacks is TraceQL's nil: Tempo leaves that label out, and when every
// by() value is nil keeps the first with the value "nil" (never an empty string).
TEST_F(TraceqlMetricsEvalTest, NilByValuesAreLeftOut) {
  // span.size is an int on spans 1, 2, a double on 3, a string on 4: no span lacks it, and
  // none has span.missing.
  auto r = Eval("{ } | count_over_time() by (span.missing)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("span.missing", "nil")));
  EXPECT_THAT(r->series[0].values, ElementsAre(3, 1, 0));
  r = Eval("{ } | count_over_time() by (span.missing, resource.service.name)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("resource.service.name", "a")));
  EXPECT_THAT(r->series[1].labels, ElementsAre(Pair("resource.service.name", "b")));
  r = Eval("{ } | quantile_over_time(duration, .5) by (span.missing)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_THAT(r->series[0].labels, ElementsAre(Pair("span.missing", "nil"), Pair("p", "0.5")));
}

}  // namespace
}  // namespace spanstore
