// Contract tests for the Tempo API: the requests Grafana's Tempo data source sends (paths,
// query strings and headers as in grafana/grafana pkg/tsdb/tempo trace.go and search.go, and
// the language provider's tag requests), and the shapes of Tempo's responses (Tempo's API
// documentation, docs/sources/tempo/api_docs).

#include <simdjson.h>

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/otlp_proto.h"
#include "tests/spanstored/test_support.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSecond = 1000000000;
constexpr uint64_t kStart = 1700000000 * kSecond;

class TempoHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    orders_ = SampleTrace("orders", kStart, 1);
    payments_ = SampleTrace("payments", kStart + kSecond, 2);
    routed_ = SampleTrace("orders", kStart + 2 * kSecond, 3);
    routed_[0].attributes.push_back({"http/route", AnyValue::String("/orders/{id}")});
    for (const auto* t : {&orders_, &payments_, &routed_}) ASSERT_TRUE(s_.store().Append(*t).ok());
  }

  HttpResult Get(const std::string& target, Headers headers = {}) {
    return HttpFetch(s_.Address("tempo"), "GET", target, headers);
  }
  simdjson::dom::element Json(const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    simdjson::dom::element e;
    EXPECT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
    return e;
  }
  static std::string Window() {
    return "&start=" + std::to_string(kStart / kSecond - 60) +
           "&end=" + std::to_string(kStart / kSecond + 60);
  }

  InProcessServer s_;
  simdjson::dom::parser parser_;
  std::vector<Span> orders_, payments_, routed_;
};

TEST_F(TempoHandlerTest, EchoAndBuildInfo) {
  HttpResult r = Get("/api/echo");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "echo\n");
  std::string_view version;
  EXPECT_EQ(Json(Get("/api/status/buildinfo"))["version"].get(version), simdjson::SUCCESS);
  EXPECT_FALSE(version.empty());
}

TEST_F(TempoHandlerTest, TraceByIdAsGrafanaAsksForIt) {
  const std::string id = orders_[0].trace_id.ToHex();
  const std::string range = "?start=" + std::to_string(kStart / kSecond - 3600) +
                            "&end=" + std::to_string(kStart / kSecond + 3600);
  // Version 2 first: a tempopb.TraceByIDResponse whose field 1 is the trace.
  HttpResult r = Get("/api/v2/traces/" + id + range, {{"Accept", "application/protobuf"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/protobuf");
  ASSERT_EQ(r.body[0], 0x0a);
  size_t header = 2;
  while (static_cast<uint8_t>(r.body[header - 1]) & 0x80) ++header;  // the length varint
  std::vector<Span> decoded;
  ASSERT_TRUE(DecodeOtlpTraces(std::string_view(r.body).substr(header), &decoded).ok());
  EXPECT_EQ(decoded, orders_);
  // Version 1 (Grafana's fallback on 404): tempopb.Trace, the layout of OTLP TracesData.
  r = Get("/api/traces/" + id + range, {{"Accept", "application/protobuf"}});
  ASSERT_EQ(r.status, 200);
  decoded.clear();
  ASSERT_TRUE(DecodeOtlpTraces(r.body, &decoded).ok());
  EXPECT_EQ(decoded, orders_);
  // JSON.
  simdjson::dom::element v2 = Json(Get("/api/v2/traces/" + id));
  EXPECT_EQ(v2["trace"]["resourceSpans"].get_array().size(), 1u);
  simdjson::dom::element v1 = Json(Get("/api/traces/" + id));
  std::string_view span_id;
  ASSERT_EQ(v1["batches"].at(0)["scopeSpans"].at(0)["spans"].at(0)["spanId"].get(span_id),
            simdjson::SUCCESS);
  EXPECT_EQ(span_id, orders_[0].span_id.ToHex());
  // A 64-bit id (Jaeger and Zipkin clients make them) is taken, left-padded: here it names no
  // trace, so 404 and not 400.
  EXPECT_EQ(Get("/api/traces/" + id.substr(16)).status, 404);
}

TEST_F(TempoHandlerTest, AbsentAndMalformedTraceIds) {
  EXPECT_EQ(
      Get("/api/v2/traces/0123456789abcdef0123456789abcdef", {{"Accept", "application/protobuf"}})
          .status,
      404);
  EXPECT_EQ(Get("/api/traces/0123456789abcdef0123456789abcdef").status, 404);
  EXPECT_EQ(Get("/api/traces/not-hex").status, 400);
}

TEST_F(TempoHandlerTest, TraceQLSearchWithSpanSets) {
  const std::string q = UrlEncode(
      "{ resource.service.name = \"orders\" && span.db.system = \"postgresql\" && duration > 100ms "
      "}");
  simdjson::dom::element body = Json(
      Get("/api/search?q=" + q + "&limit=20&spss=3" + Window(), {{"Accept", "application/json"}}));
  simdjson::dom::array traces = body["traces"];
  ASSERT_EQ(traces.size(), 2u);
  // Most recent first.
  std::string_view trace_id, root_service, root_name, start;
  uint64_t duration_ms = 0;
  ASSERT_EQ(traces.at(0)["traceID"].get(trace_id), simdjson::SUCCESS);
  EXPECT_EQ(trace_id, routed_[0].trace_id.ToHex());
  ASSERT_EQ(traces.at(1)["traceID"].get(trace_id), simdjson::SUCCESS);
  EXPECT_EQ(trace_id, orders_[0].trace_id.ToHex());
  simdjson::dom::element t = traces.at(1);
  ASSERT_EQ(t["rootServiceName"].get(root_service), simdjson::SUCCESS);
  ASSERT_EQ(t["rootTraceName"].get(root_name), simdjson::SUCCESS);
  ASSERT_EQ(t["startTimeUnixNano"].get(start), simdjson::SUCCESS);
  ASSERT_EQ(t["durationMs"].get(duration_ms), simdjson::SUCCESS);
  EXPECT_EQ(root_service, "orders");
  EXPECT_EQ(root_name, "GET /orders");
  EXPECT_EQ(start, std::to_string(kStart));
  EXPECT_EQ(duration_ms, 250u);
  simdjson::dom::element set = t["spanSets"].at(0);
  uint64_t matched = 0;
  ASSERT_EQ(set["matched"].get(matched), simdjson::SUCCESS);
  EXPECT_EQ(matched, 1u);
  simdjson::dom::element span = set["spans"].at(0);
  std::string_view span_id, duration_nanos;
  ASSERT_EQ(span["spanID"].get(span_id), simdjson::SUCCESS);
  ASSERT_EQ(span["durationNanos"].get(duration_nanos), simdjson::SUCCESS);
  EXPECT_EQ(span_id, orders_[1].span_id.ToHex());
  EXPECT_EQ(duration_nanos, "200000000");
  // The attributes the query names, OTLP/JSON-valued.
  std::vector<std::string> keys;
  for (simdjson::dom::element a : span["attributes"].get_array()) {
    keys.emplace_back(std::string_view(a["key"]));
  }
  EXPECT_THAT(keys, ElementsAre("service.name", "db.system"));
  EXPECT_EQ(std::string_view(span["attributes"].at(1)["value"]["stringValue"]), "postgresql");
  // Grafana before 10 reads "spanSet".
  EXPECT_EQ(t["spanSet"]["matched"].get_uint64().value(), 1u);
  EXPECT_TRUE(body["metrics"].is_object());
}

// Grafana Traces Drilldown's structure view: root spans over error spans, with the nested-set
// numbers it builds the tree from, as span attributes.
TEST_F(TempoHandlerTest, StructureSearchSelectsNestedSetNumbers) {
  const std::string q = UrlEncode(
      "{nestedSetParent<0 && true} &>> {status = error} | select(status, resource.service.name, "
      "name, nestedSetParent, nestedSetLeft, nestedSetRight)");
  simdjson::dom::element body = Json(Get("/api/search?q=" + q + "&limit=20&spss=10" + Window()));
  simdjson::dom::array traces = body["traces"];
  ASSERT_EQ(traces.size(), 3u);
  for (simdjson::dom::element t : traces) {
    simdjson::dom::array spans = t["spanSets"].at(0)["spans"];
    ASSERT_EQ(spans.size(), 2u);  // the root and its failed child
    for (simdjson::dom::element span : spans) {
      std::map<std::string, int64_t> numbers;
      for (simdjson::dom::element a : span["attributes"].get_array()) {
        const std::string key = std::string(std::string_view(a["key"]));
        std::string_view v;
        if (key.rfind("nestedSet", 0) == 0 && a["value"]["intValue"].get(v) == simdjson::SUCCESS) {
          numbers[key] = std::stoll(std::string(v));
        }
      }
      const bool root = std::string_view(span["spanID"]) == orders_[0].span_id.ToHex() ||
                        std::string_view(span["spanID"]) == payments_[0].span_id.ToHex() ||
                        std::string_view(span["spanID"]) == routed_[0].span_id.ToHex();
      if (root) {
        EXPECT_EQ(numbers,
                  (std::map<std::string, int64_t>{
                      {"nestedSetLeft", 1}, {"nestedSetParent", -1}, {"nestedSetRight", 4}}));
      } else {
        EXPECT_EQ(numbers,
                  (std::map<std::string, int64_t>{
                      {"nestedSetLeft", 2}, {"nestedSetParent", 1}, {"nestedSetRight", 3}}));
      }
    }
  }
}

TEST_F(TempoHandlerTest, SearchWindowsLimitsAndErrors) {
  auto count = [&](const std::string& target) {
    return Json(Get(target))["traces"].get_array().size();
  };
  EXPECT_EQ(count("/api/search?q=" + UrlEncode("{}") + Window()), 3u);
  EXPECT_EQ(count("/api/search?q=" + UrlEncode("{}") + Window() + "&limit=1"), 1u);
  EXPECT_EQ(count("/api/search?q=" + UrlEncode("{ status = error }") + Window()), 3u);
  EXPECT_EQ(count("/api/search?q=" + UrlEncode("{ .http.status_code = 200 }") + Window()), 3u);
  // Outside the window.
  EXPECT_EQ(count("/api/search?q=" + UrlEncode("{}") + "&start=1000&end=2000"), 0u);
  // Legacy tag search: case-insensitive substrings, and durations.
  EXPECT_EQ(count("/api/search?tags=" + UrlEncode("service.name=PAY") + Window()), 1u);
  EXPECT_EQ(count("/api/search?tags=" + UrlEncode("service.name=orders") + "&minDuration=300ms" +
                  Window()),
            0u);
  // TraceQL beyond one filter.
  EXPECT_EQ(count("/api/search?q=" +
                  UrlEncode("{ resource.service.name = \"orders\" } || { status = error } | "
                            "count() > 0") +
                  Window()),
            3u);
  EXPECT_EQ(count("/api/search?q=" +
                  UrlEncode("{ resource.service.name = \"orders\" } && "
                            "{ resource.service.name = \"payments\" }") +
                  Window()),
            0u);
  HttpResult bad = Get("/api/search?q=" + UrlEncode("{ duration > }"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("column"));
  EXPECT_EQ(Get("/api/search?q=%7B%7D&start=abc").status, 400);
}

TEST_F(TempoHandlerTest, TagNames) {
  simdjson::dom::element v2 = Json(Get("/api/v2/search/tags?limit=5000" + Window()));
  std::map<std::string, std::vector<std::string>> scopes;
  for (simdjson::dom::element scope : v2["scopes"].get_array()) {
    auto& tags = scopes[std::string(std::string_view(scope["name"]))];
    for (simdjson::dom::element t : scope["tags"].get_array())
      tags.emplace_back(std::string_view(t));
  }
  EXPECT_THAT(scopes["resource"], ElementsAre("host.name", "k8s.pod.restarts", "service.name"));
  EXPECT_THAT(scopes["span"], ElementsAre("cached", "db.rows", "db.system", "http.method",
                                          "http.status_code", "http/route", "load"));
  EXPECT_THAT(scopes["event"], ElementsAre("attempt"));
  EXPECT_THAT(scopes["link"], ElementsAre("link.reason"));
  EXPECT_THAT(scopes["instrumentation"], ElementsAre("scope.attr"));
  EXPECT_THAT(scopes["intrinsic"], ::testing::Contains("status"));
  // One scope.
  simdjson::dom::element span_only = Json(Get("/api/v2/search/tags?scope=span"));
  EXPECT_EQ(span_only["scopes"].get_array().size(), 1u);
  // Version 1: span and resource keys in one list.
  simdjson::dom::element v1 = Json(Get("/api/search/tags"));
  EXPECT_EQ(v1["tagNames"].get_array().size(), 10u);
  EXPECT_EQ(Get("/api/v2/search/tags?scope=nonsense").status, 400);
}

TEST_F(TempoHandlerTest, TagValues) {
  auto values = [&](const std::string& target) {
    std::vector<std::string> out;
    for (simdjson::dom::element v : Json(Get(target))["tagValues"].get_array()) {
      out.push_back(std::string(std::string_view(v["type"])) + ":" +
                    std::string(std::string_view(v["value"])));
    }
    return out;
  };
  EXPECT_THAT(values("/api/v2/search/tag/resource.service.name/values?limit=5000"),
              ElementsAre("string:orders", "string:payments"));
  // Filtered by a TraceQL query.
  EXPECT_THAT(values("/api/v2/search/tag/resource.service.name/values?q=" +
                     UrlEncode("{ resource.service.name != \"payments\" }")),
              ElementsAre("string:orders"));
  // Unscoped, typed, and intrinsic.
  EXPECT_THAT(values("/api/v2/search/tag/.http.status_code/values"), ElementsAre("int:200"));
  EXPECT_THAT(values("/api/v2/search/tag/status/values"),
              ElementsAre("keyword:error", "keyword:unset"));
  EXPECT_THAT(values("/api/v2/search/tag/event:name/values"), ElementsAre("string:retry"));
  // Grafana encodes tag names twice: "span.http/route" arrives as span.http%252Froute.
  EXPECT_THAT(values("/api/v2/search/tag/span.http%252Froute/values"),
              ElementsAre("string:/orders/{id}"));
  HttpResult bad = Get("/api/v2/search/tag/service.name/values");  // unscoped, not intrinsic
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("not valid intrinsic or scoped attribute"));
  // Version 1: a bare key, strings.
  simdjson::dom::element v1 = Json(Get("/api/search/tag/service.name/values"));
  std::vector<std::string> v1_values;
  for (simdjson::dom::element v : v1["tagValues"].get_array())
    v1_values.emplace_back(std::string_view(v));
  EXPECT_THAT(v1_values, ElementsAre("orders", "payments"));
}

TEST_F(TempoHandlerTest, OnlyGetOnKnownPaths) {
  EXPECT_EQ(HttpFetch(s_.Address("tempo"), "POST", "/api/search").status, 405);
  EXPECT_EQ(Get("/api/nothing").status, 404);
  EXPECT_EQ(Get("/").status, 404);
}

}  // namespace
}  // namespace spanstore::spanstored::testing
