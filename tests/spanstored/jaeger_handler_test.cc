// Contract tests for Jaeger's query HTTP API: the requests Jaeger UI sends (its search form
// sends empty minDuration/maxDuration and a lookback next to start/end), checked against the
// response shapes of Jaeger's query service (http_handler.go, uimodel/model.go).

#include <simdjson.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/spanstored/test_support.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr uint64_t kSecond = 1000000000;
constexpr uint64_t kStart = 1700000000 * kSecond;

class JaegerHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    orders_ = SampleTrace("orders", kStart, 1);
    payments_ = SampleTrace("payments", kStart + kSecond, 2);
    routed_ = SampleTrace("orders", kStart + 2 * kSecond, 3);
    routed_[0].attributes.push_back({"http/route", AnyValue::String("/orders/{id}")});
    cross_ = SampleTrace("frontend", kStart + 3 * kSecond, 4);
    cross_[1].service_name = "backend";
    cross_[1].resource_attributes = {{"service.name", AnyValue::String("backend")}};
    for (const auto* t : {&orders_, &payments_, &routed_, &cross_}) {
      ASSERT_TRUE(s_.store().Append(*t).ok());
    }
  }
  HttpResult Get(const std::string& target) {
    return HttpFetch(s_.Address("jaeger-query"), "GET", target);
  }
  simdjson::dom::element Json(const HttpResult& r, int status = 200) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json");
    simdjson::dom::element e;
    EXPECT_EQ(parser_.parse(r.body).get(e), simdjson::SUCCESS) << r.body;
    return e;
  }
  // The trace ids of a search response, in order.
  std::vector<std::string> Found(const std::string& query) {
    std::vector<std::string> ids;
    for (simdjson::dom::element t : Json(Get("/api/traces?" + query))["data"].get_array()) {
      ids.emplace_back(std::string_view(t["traceID"]));
    }
    return ids;
  }
  // What Jaeger UI sends for a search over the minute around the test data (empty duration
  // fields are sent as bare names).
  static std::string Ui(const std::string& service, const std::string& more = "",
                        const std::string& min = "", const std::string& max = "",
                        const std::string& limit = "20") {
    auto param = [](const std::string& name, const std::string& value) {
      return value.empty() ? "&" + name : "&" + name + "=" + value;
    };
    return "end=" + std::to_string(kStart / 1000 + 60000000) + "&limit=" + limit + "&lookback=1h" +
           param("maxDuration", max) + param("minDuration", min) + "&service=" + service +
           "&start=" + std::to_string(kStart / 1000 - 60000000) + more;
  }
  std::string Id(const std::vector<Span>& t) { return t[0].trace_id.ToHex(); }

  InProcessServer s_;
  simdjson::dom::parser parser_;
  std::vector<Span> orders_, payments_, routed_, cross_;
};

TEST_F(JaegerHandlerTest, ServicesAndOperations) {
  simdjson::dom::element body = Json(Get("/api/services"));
  std::vector<std::string> services;
  for (simdjson::dom::element s : body["data"].get_array())
    services.emplace_back(std::string_view(s));
  EXPECT_THAT(services, ElementsAre("backend", "frontend", "orders", "payments"));
  EXPECT_EQ(body["total"].get_uint64().value(), 4u);
  EXPECT_EQ(body["limit"].get_uint64().value(), 0u);
  EXPECT_EQ(body["offset"].get_uint64().value(), 0u);
  EXPECT_TRUE(body["errors"].is_null());

  std::vector<std::string> ops;
  for (simdjson::dom::element s :
       Json(Get("/api/services/orders/operations"))["data"].get_array()) {
    ops.emplace_back(std::string_view(s));
  }
  EXPECT_THAT(ops, ElementsAre("GET /orders", "SELECT orders"));

  simdjson::dom::element kinds = Json(Get("/api/operations?service=orders&spanKind=server"));
  ASSERT_EQ(kinds["data"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(kinds["data"].at(0)["name"]), "GET /orders");
  EXPECT_EQ(std::string_view(kinds["data"].at(0)["spanKind"]), "server");
  EXPECT_EQ(Json(Get("/api/operations?service=orders"))["data"].get_array().size(), 2u);

  simdjson::dom::element error = Json(Get("/api/operations"), 400);
  EXPECT_TRUE(error["data"].is_null());
  EXPECT_EQ(error["errors"].at(0)["code"].get_uint64().value(), 400u);
  EXPECT_THAT(std::string(std::string_view(error["errors"].at(0)["msg"])),
              HasSubstr("'service' is required"));
}

TEST_F(JaegerHandlerTest, TraceByIdInTheUiModel) {
  simdjson::dom::element body = Json(Get("/api/traces/" + Id(orders_)));
  simdjson::dom::element trace = body["data"].at(0);
  EXPECT_EQ(std::string_view(trace["traceID"]), Id(orders_));
  ASSERT_EQ(trace["spans"].get_array().size(), 2u);
  simdjson::dom::element child = trace["spans"].at(1);
  EXPECT_EQ(std::string_view(child["spanID"]), orders_[1].span_id.ToHex());
  EXPECT_EQ(std::string_view(child["operationName"]), "SELECT orders");
  EXPECT_EQ(child["startTime"].get_uint64().value(), orders_[1].start_time_unix_nano / 1000);
  EXPECT_EQ(child["duration"].get_uint64().value(), 200000u);
  EXPECT_EQ(std::string_view(child["references"].at(0)["refType"]), "CHILD_OF");
  EXPECT_EQ(std::string_view(child["references"].at(0)["spanID"]), orders_[0].span_id.ToHex());
  EXPECT_EQ(std::string_view(child["references"].at(1)["refType"]), "FOLLOWS_FROM");
  std::map<std::string, std::string> tags;
  for (simdjson::dom::element t : child["tags"].get_array()) {
    tags[std::string(std::string_view(t["key"]))] =
        std::string(std::string_view(t["type"])) + ":" + simdjson::minify(t["value"]);
  }
  EXPECT_EQ(tags["db.rows"], "int64:42");
  EXPECT_EQ(tags["db.system"], "string:\"postgresql\"");
  EXPECT_EQ(tags["span.kind"], "string:\"client\"");
  EXPECT_EQ(tags["error"], "bool:true");
  EXPECT_EQ(tags["otel.status_code"], "string:\"ERROR\"");
  EXPECT_EQ(tags["otel.status_description"], "string:\"timeout\"");
  EXPECT_EQ(tags["otel.scope.name"], "string:\"io.example.http\"");
  EXPECT_EQ(std::string_view(child["logs"].at(0)["fields"].at(0)["value"]), "retry");
  EXPECT_TRUE(child["warnings"].is_null());
  std::string_view process = child["processID"];
  simdjson::dom::element p = trace["processes"][process];
  EXPECT_EQ(std::string_view(p["serviceName"]), "orders");
  EXPECT_EQ(p["tags"].get_array().size(), 2u);  // host.name, k8s.pod.restarts

  simdjson::dom::element missing = Json(Get("/api/traces/0123456789abcdef0123456789abcdef"), 404);
  EXPECT_EQ(missing["errors"].at(0)["code"].get_uint64().value(), 404u);
  EXPECT_EQ(Get("/api/traces/xyz").status, 400);
}

TEST_F(JaegerHandlerTest, SearchAsTheUiSendsIt) {
  EXPECT_THAT(Found(Ui("orders")), ElementsAre(Id(routed_), Id(orders_)));  // most recent first
  EXPECT_THAT(Found(Ui("orders", "&operation=SELECT%20orders")),
              ElementsAre(Id(routed_), Id(orders_)));
  EXPECT_THAT(Found(Ui("orders", "", "", "", "1")), ElementsAre(Id(routed_)));
  // Durations are Go duration strings.
  EXPECT_THAT(Found(Ui("payments", "", "240ms")), ElementsAre(Id(payments_)));
  EXPECT_THAT(Found(Ui("payments", "", "251ms")), ElementsAre());
  EXPECT_THAT(Found(Ui("payments", "", "150ms", "0.21s")), ElementsAre(Id(payments_)));
  // Outside the window.
  EXPECT_THAT(Found("service=orders&start=1000&end=2000"), ElementsAre());
  // By id, several at once; a missing one is reported in "errors".
  simdjson::dom::element byid =
      Json(Get("/api/traces?traceID=" + Id(orders_) + "&traceID=" + Id(payments_) +
               "&traceID=00000000000000000000000000000abc"));
  EXPECT_EQ(byid["data"].get_array().size(), 2u);
  EXPECT_EQ(std::string_view(byid["errors"].at(0)["msg"]), "trace not found");
}

TEST_F(JaegerHandlerTest, TagsMatchInEverySpotAndTogetherOnOneSpan) {
  auto tags = [](const std::string& json) { return "&tags=" + UrlEncode(json); };
  const std::vector<std::string> both = {Id(routed_), Id(orders_)};
  EXPECT_EQ(Found(Ui("orders", tags(R"({"db.system":"postgresql"})"))), both);  // span
  EXPECT_EQ(Found(Ui("orders", tags(R"({"host.name":"node-1"})"))), both);      // resource
  EXPECT_EQ(Found(Ui("orders", tags(R"({"scope.attr":"s1"})"))), both);         // scope
  EXPECT_EQ(Found(Ui("orders", tags(R"({"attempt":"2"})"))), both);             // event, int
  EXPECT_EQ(Found(Ui("orders", tags(R"({"link.reason":"batch"})"))), both);     // link
  EXPECT_EQ(Found(Ui("orders", tags(R"({"error":"true"})"))), both);            // status
  EXPECT_EQ(Found(Ui("orders", tags(R"({"http.status_code":"200","cached":"true"})"))), both);
  EXPECT_EQ(Found(Ui("orders", tags(R"({"load":"0.5"})"))), both);  // double
  // The older form, tag=key:value (the value may hold colons).
  EXPECT_THAT(Found(Ui("orders", "&tag=http/route:" + UrlEncode("/orders/{id}"))),
              ElementsAre(Id(routed_)));
  // Both tags exist in the trace, but on different spans: no match.
  EXPECT_THAT(Found(Ui("orders", tags(R"({"db.system":"postgresql","http.method":"GET"})"))),
              ElementsAre());
  EXPECT_THAT(Found(Ui("orders", tags(R"({"db.system":"mysql"})"))), ElementsAre());
}

TEST_F(JaegerHandlerTest, Dependencies) {
  const std::string end = std::to_string(kStart / 1000000 + 60000);
  simdjson::dom::element body = Json(Get("/api/dependencies?endTs=" + end + "&lookback=3600000"));
  ASSERT_EQ(body["data"].get_array().size(), 1u);
  simdjson::dom::element link = body["data"].at(0);
  EXPECT_EQ(std::string_view(link["parent"]), "frontend");
  EXPECT_EQ(std::string_view(link["child"]), "backend");
  EXPECT_EQ(link["callCount"].get_uint64().value(), 1u);
  EXPECT_EQ(Json(Get("/api/dependencies?endTs=1000&lookback=1000"))["data"].get_array().size(), 0u);
}

TEST_F(JaegerHandlerTest, BadParametersAre400WithJaegersErrorShape) {
  for (const std::string query :
       {"service=orders&limit=abc", "service=orders&minDuration=5parsecs",
        "service=orders&tags=%7Bbad", "service=orders&start=10&end=5",
        "service=orders&minDuration=2s&maxDuration=1s", "service=orders&tag=nocolon"}) {
    simdjson::dom::element e = Json(Get("/api/traces?" + query), 400);
    EXPECT_EQ(e["errors"].at(0)["code"].get_uint64().value(), 400u) << query;
  }
  EXPECT_EQ(Get("/api/nothing").status, 404);
  EXPECT_EQ(HttpFetch(s_.Address("jaeger-query"), "POST", "/api/services").status, 405);
}

}  // namespace
}  // namespace spanstore::spanstored::testing
