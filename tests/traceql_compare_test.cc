// query/traceql_compare.cc: compare() splits the matching spans into a selection and a
// baseline and counts every attribute value of each side per step, as Tempo answers it.

#include "query/traceql_compare.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/store.h"
#include "spanstore/traceql_metrics.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1'000'000'000;

// Span i of 30: one a second from 100 s (steps of 10 s: 0-9, 10-19, 20-29). Every third is an
// error; routes cycle /a /b /c /d /e; the int attribute code is 500 on errors, else 200; even
// spans are of service "even", odd of "odd".
Span MakeSpan(int i) {
  Span s;
  s.trace_id.bytes[0] = static_cast<uint8_t>(i + 1);
  s.span_id.bytes[7] = 1;
  s.service_name = i % 2 == 0 ? "even" : "odd";
  s.resource_attributes.push_back({"service.name", AnyValue::String(s.service_name)});
  s.name = "op";
  s.kind = SpanKind::kServer;
  s.start_time_unix_nano = (100 + i) * kSecond;
  s.end_time_unix_nano = s.start_time_unix_nano + 1000;
  const bool error = i % 3 == 0;
  if (error) s.status_code = StatusCode::kError;
  s.attributes.push_back({"route", AnyValue::String(std::string("/") + char('a' + i % 5))});
  s.attributes.push_back({"code", AnyValue::Int(error ? 500 : 200)});
  s.attributes.push_back({"amount", AnyValue::Double(115.21)});
  return s;
}

class TraceqlCompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open(Options(), dir_.Sub("db"));
    std::vector<Span> spans;
    for (int i = 0; i < 30; ++i) spans.push_back(MakeSpan(i));
    ASSERT_TRUE(store_->Append(spans).ok());
  }
  absl::StatusOr<MetricsResult> Eval(std::string_view text) {
    auto q = ParseMetricsQuery(text);
    if (!q.ok()) return q.status();
    return EvaluateMetricsQuery(*store_, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  }
  // "type attribute=value" -> values per step.
  static std::map<std::string, std::vector<double>> ByLabel(const MetricsResult& r) {
    std::map<std::string, std::vector<double>> out;
    for (const MetricsSeries& s : r.series) {
      EXPECT_EQ(s.labels.size(), 2u);
      EXPECT_EQ(s.labels[0].first, "__meta_type");
      out[s.labels[0].second + " " + s.labels[1].first + "=" + s.labels[1].second] = s.values;
    }
    return out;
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(TraceqlCompareTest, CountsEveryAttributeOnEachSide) {
  auto r = Eval("{ } | compare({ status = error })");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans, 30u);
  EXPECT_FALSE(r->zero_is_empty);  // a count of 0 is a value here
  auto by = ByLabel(*r);
  // Errors are spans 0, 3, ..., 27: four in the first step (0, 3, 6, 9), three in each other.
  EXPECT_THAT(by["selection status=error"], ElementsAre(4, 3, 3));
  EXPECT_THAT(by["baseline status=unset"], ElementsAre(6, 7, 7));
  EXPECT_EQ(by.count("selection status=unset"), 0u);
  EXPECT_THAT(by["selection span.code=500"], ElementsAre(4, 3, 3));
  EXPECT_THAT(by["baseline span.code=200"], ElementsAre(6, 7, 7));
  // Routes of errors: i%5 for i = 0,3,...,27 -> a d b e c a d b e c.
  EXPECT_THAT(by["selection span.route=/a"], ElementsAre(1, 1, 0));  // spans 0 and 15
  EXPECT_THAT(by["selection kind=server"], ElementsAre(4, 3, 3));
  EXPECT_THAT(by["selection name=op"], ElementsAre(4, 3, 3));
  EXPECT_THAT(by["selection resource.service.name=even"], ElementsAre(2, 2, 1));
  EXPECT_THAT(by["baseline resource.service.name=odd"], ElementsAre(3, 4, 3));
  // Totals: every span has every attribute, so a total is its side's span count per step.
  EXPECT_THAT(by["selection_total span.route=nil"], ElementsAre(4, 3, 3));
  EXPECT_THAT(by["baseline_total span.route=nil"], ElementsAre(6, 7, 7));
  EXPECT_THAT(by["baseline_total resource.service.name=nil"], ElementsAre(6, 7, 7));
  // The service appears once, not twice (it is both a column and a resource attribute).
  double all = 0;
  for (double v : by["selection resource.service.name=even"]) all += v;
  for (double v : by["selection resource.service.name=odd"]) all += v;
  EXPECT_EQ(all, 10);
  // Int values keep their type for Tempo's JSON (intValue).
  for (const MetricsSeries& s : r->series) {
    if (s.labels[1].first == "span.code" && s.labels[0].second == "selection") {
      EXPECT_THAT(s.label_types, ElementsAre(AnyValue::Type::kString, AnyValue::Type::kInt));
    }
  }
  const std::string json = MetricsResultJson(*r);
  EXPECT_THAT(json, HasSubstr(R"([{"key":"__meta_type","value":{"stringValue":"selection"}},)"
                              R"({"key":"span.code","value":{"intValue":"500"}}])"));
  EXPECT_THAT(json, HasSubstr(R"({"key":"span.route","value":{"stringValue":"nil"}})"));
  // Doubles in their shortest form, typed.
  EXPECT_THAT(by["selection span.amount=115.21"], ElementsAre(4, 3, 3));
  EXPECT_THAT(json, HasSubstr(R"({"key":"span.amount","value":{"doubleValue":115.21}})"));
}

TEST_F(TraceqlCompareTest, TopNKeepsTheMostFrequentValuesAndTotalsKeepAll) {
  // The baseline's 20 spans by route, to know which two are the most frequent.
  std::map<std::string, int> baseline;
  for (int i = 0; i < 30; ++i) {
    if (i % 3 != 0) ++baseline[std::string("/") + char('a' + i % 5)];
  }
  auto r = Eval("{ } | compare({ status = error }, 2)");
  ASSERT_TRUE(r.ok()) << r.status();
  auto by = ByLabel(*r);
  int routes = 0;
  for (const auto& [label, values] : by) {
    if (label.rfind("baseline span.route=", 0) != 0) continue;
    ++routes;
    double sum = 0;
    for (double v : values) sum += v;
    const std::string route = label.substr(std::string("baseline span.route=").size());
    EXPECT_EQ(sum, baseline[route]) << route;
    for (const auto& [other, n] : baseline) {
      EXPECT_TRUE(n <= baseline[route] || by.count("baseline span.route=" + other))
          << other << " is more frequent than the kept " << route;
    }
  }
  EXPECT_EQ(routes, 2);
  double total = 0;
  for (double v : by["baseline_total span.route=nil"]) total += v;
  EXPECT_EQ(total, 20);  // all of the baseline's values, not only the top two
}

TEST_F(TraceqlCompareTest, TimeBoundedSelection) {
  // Only errors starting in [110 s, 120 s) are selected; the other errors are baseline.
  auto r = Eval("{ } | compare({ status = error }, 10, 110000000000, 120000000000)");
  ASSERT_TRUE(r.ok()) << r.status();
  auto by = ByLabel(*r);
  EXPECT_THAT(by["selection status=error"], ElementsAre(0, 3, 0));
  EXPECT_THAT(by["baseline status=error"], ElementsAre(4, 0, 3));
}

TEST_F(TraceqlCompareTest, TheFilterChoosesThePopulation) {
  auto r = Eval("{ resource.service.name = \"even\" } | compare({ span.code = 500 })");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spans, 15u);
  auto by = ByLabel(*r);
  EXPECT_EQ(by.count("baseline resource.service.name=odd"), 0u);
  EXPECT_THAT(by["selection status=error"], ElementsAre(2, 2, 1));  // 0 6 | 12 18 | 24
}

TEST_F(TraceqlCompareTest, SameAnswerFromBlocks) {
  auto wal = Eval("{ } | compare({ status = error })");
  ASSERT_TRUE(wal.ok());
  ASSERT_TRUE(store_->CompactAll().ok());
  auto blocks = Eval("{ } | compare({ status = error })");
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(MetricsResultJson(*wal), MetricsResultJson(*blocks));
}

// Memory stays bounded with an attribute unique to every span: past 100,000 values per
// attribute and side, new values count only in the total.
TEST(TraceqlCompareMemoryTest, DistinctValuesPerAttributeAreCapped) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  constexpr int kSpans = 100'005;
  std::vector<Span> batch;
  for (int i = 0; i < kSpans; ++i) {
    Span s = MakeSpan(i % 30);
    s.trace_id.bytes[4] = static_cast<uint8_t>(i);
    s.trace_id.bytes[5] = static_cast<uint8_t>(i >> 8);
    s.trace_id.bytes[6] = static_cast<uint8_t>(i >> 16);
    s.status_code = StatusCode::kUnset;  // all baseline
    s.attributes.push_back({"uid", AnyValue::Int(i)});
    batch.push_back(std::move(s));
    if (batch.size() == 10'000) {
      ASSERT_TRUE(store->Append(batch).ok());
      batch.clear();
    }
  }
  ASSERT_TRUE(store->Append(batch).ok());
  auto q = ParseMetricsQuery("{ } | compare({ status = error }, 100000)");
  ASSERT_TRUE(q.ok()) << q.status();
  auto r = EvaluateMetricsQuery(*store, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(r.ok()) << r.status();
  size_t uid_series = 0;
  double total = 0;
  for (const MetricsSeries& s : r->series) {
    if (s.labels[1].first != "span.uid") continue;
    if (s.labels[0].second == "baseline") ++uid_series;
    if (s.labels[0].second == "baseline_total") {
      for (double v : s.values) total += v;
    }
  }
  EXPECT_EQ(uid_series, 100'000u);
  EXPECT_EQ(total, kSpans);
}

// Keys made of ids (11,000 distinct attributes here): at most 10,000 attributes are counted.
TEST(TraceqlCompareMemoryTest, AttributesAreCapped) {
  test::TempDir dir;
  auto store = *Store::Open(Options(), dir.Sub("db"));
  std::vector<Span> spans;
  for (int i = 0; i < 1000; ++i) {
    Span s = MakeSpan(i % 30);
    s.trace_id.bytes[4] = static_cast<uint8_t>(i);
    s.trace_id.bytes[5] = static_cast<uint8_t>(i >> 8);
    s.status_code = StatusCode::kUnset;
    for (int k = 0; k < 11; ++k) {
      s.attributes.push_back({"k" + std::to_string(i * 11 + k), AnyValue::Bool(true)});
    }
    spans.push_back(std::move(s));
  }
  ASSERT_TRUE(store->Append(spans).ok());
  auto q = ParseMetricsQuery("{ } | compare({ status = error })");
  ASSERT_TRUE(q.ok());
  auto r = EvaluateMetricsQuery(*store, *q, 100 * kSecond, 130 * kSecond, 10 * kSecond);
  ASSERT_TRUE(r.ok()) << r.status();
  size_t totals = 0;
  for (const MetricsSeries& s : r->series) totals += s.labels[0].second == "baseline_total";
  EXPECT_EQ(totals, 10'000u);
}

TEST(TraceqlCompareParseTest, ArgumentsAndErrors) {
  auto q = ParseMetricsQuery("{ kind = server } | compare({ status = error }, 5, 100, 200)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->function, MetricsQuery::Function::kCompare);
  EXPECT_EQ(q->top_n, 5u);
  EXPECT_EQ(q->selection_start_unix_nano, 100u);
  EXPECT_EQ(q->selection_end_unix_nano, 200u);
  ASSERT_TRUE(q->selection.status.has_value());
  q = ParseMetricsQuery("{} | compare({status=error}) with(exemplars=true)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->top_n, 10u);  // Tempo's default
  for (const char* bad : {
           "{ } | compare()",
           "{ } | compare(status = error)",
           "{ } | compare({ status = error }, 0)",
           "{ } | compare({ status = error }, x)",
           "{ } | compare({ status = error }, 5, 200)",
           "{ } | compare({ status = error }, 5, 200, 100)",
           "{ } | compare({ status = error }) | topk(3)",
           "{ } | compare({ status = error }) by (name)",
           "{ } | compare({ trace:duration > 1s })",
           "{ } | compare({ status = error }",
       }) {
    auto bad_q = ParseMetricsQuery(bad);
    EXPECT_FALSE(bad_q.ok()) << bad;
    EXPECT_THAT(bad_q.status().message(), HasSubstr("column")) << bad;
  }
}

}  // namespace
}  // namespace spanstore
