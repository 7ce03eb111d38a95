// The Jaeger JSON reader (formats/jaeger_json_reader.cc), through LoadBuffer: times, references,
// warnings, process tags, and errors in documents split into pieces.

#include "formats/jaeger_json_reader.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/loader.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::vector<Span>> Load(std::string_view json, LoadOptions options = {}) {
  std::vector<Span> spans;
  auto stats = LoadBuffer(json, "j.json", options, [&](std::vector<Span>& batch) {
    spans.insert(spans.end(), batch.begin(), batch.end());
    return absl::OkStatus();
  });
  if (!stats.ok()) return stats.status();
  return spans;
}

std::string OneSpan(const std::string& fields) {
  return R"({"data":[{"traceID":"a1","processes":{"p1":{"serviceName":"svc","tags":[{"key":"host","type":"string","value":"h1"}]}},"spans":[{"traceID":"a1","spanID":"b1","processID":"p1",)" +
         fields + "}]}]}";
}

TEST(JaegerJsonReaderTest, TimesThatOverflowOrAreNegativeAreRefused) {
  // 2e16 us is past 2262 in nanoseconds: it used to wrap to 2019.
  auto big = Load(OneSpan(R"("startTime":20000000000000000,"duration":1)"));
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(std::string(big.status().message()),
              HasSubstr("data[0].spans[0].startTime: 20000000000000000 microseconds overflows"));
  auto negative = Load(OneSpan(R"("startTime":-5,"duration":1)"));
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(std::string(negative.status().message()), HasSubstr("startTime: negative time -5"));
  auto negative_duration = Load(OneSpan(R"("startTime":5,"duration":-1)"));
  ASSERT_FALSE(negative_duration.ok());
  EXPECT_THAT(std::string(negative_duration.status().message()), HasSubstr("duration: negative"));
  auto ok = Load(OneSpan(R"("startTime":1700000000000000,"duration":2.5)"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)[0].start_time_unix_nano, 1700000000000000000u);
  EXPECT_EQ((*ok)[0].duration_nanos(), 2500u);
}

TEST(JaegerJsonReaderTest, ReferencesWarningsAndProcessTags) {
  auto spans = Load(
      OneSpan(R"("startTime":1,"duration":1,"warnings":["clock skew adjusted","invalid parent"],)"
              R"("references":[{"refType":"FOLLOWS_FROM","traceID":"a1","spanID":"c1"},)"
              R"({"refType":"CHILD_OF","traceID":"ff","spanID":"d1"}])"));
  ASSERT_TRUE(spans.ok()) << spans.status();
  const Span& s = (*spans)[0];
  // FOLLOWS_FROM alone makes the parent (not a second root), and stays as a link.
  EXPECT_EQ(s.parent_span_id.ToHex(), "00000000000000c1");
  ASSERT_EQ(s.links.size(), 2u);
  EXPECT_EQ(*FindAttribute(s.links[0].attributes, "opentracing.ref_type"),
            AnyValue::String("follows_from"));
  EXPECT_EQ(s.links[1].trace_id.ToHex(), "000000000000000000000000000000ff");  // other trace
  EXPECT_EQ(*FindAttribute(s.links[1].attributes, "opentracing.ref_type"),
            AnyValue::String("child_of"));
  const AnyValue* warnings = FindAttribute(s.attributes, "jaeger.warnings");
  ASSERT_NE(warnings, nullptr);
  EXPECT_EQ(*warnings, AnyValue::ArrayValue({AnyValue::String("clock skew adjusted"),
                                             AnyValue::String("invalid parent")}));
  EXPECT_EQ(s.service_name, "svc");
  EXPECT_EQ(*FindAttribute(s.resource_attributes, "host"), AnyValue::String("h1"));
  // CHILD_OF wins over an earlier FOLLOWS_FROM.
  auto both =
      Load(OneSpan(R"("references":[{"refType":"FOLLOWS_FROM","traceID":"a1","spanID":"c1"},)"
                   R"({"refType":"CHILD_OF","traceID":"a1","spanID":"d1"}])"));
  ASSERT_TRUE(both.ok());
  EXPECT_EQ((*both)[0].parent_span_id.ToHex(), "00000000000000d1");
  EXPECT_EQ((*both)[0].links.size(), 1u);
  EXPECT_FALSE(
      Load(OneSpan(R"("references":[{"refType":"SIBLING","traceID":"a1","spanID":"c1"}])")).ok());
}

TEST(JaegerJsonReaderTest, LargeResponseIsReadTraceByTraceWithPositions) {
  // Over the whole-document size, so it is split at "data": an error names the trace's index
  // in the input and its line; with skip_invalid the other traces load.
  std::string doc = "{\"data\":[\n";
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const std::string start = i == 15000 ? "-1" : "1700000000000000";
    doc +=
        (i ? ",\n" : "") +
        absl::StrFormat(
            R"({"traceID":"%x","spans":[{"traceID":"%x","spanID":"1","startTime":%s,"duration":5,"operationName":"%0200d"}],"processes":{}})",
            i + 1, i + 1, start, i);
  }
  doc += "\n]}";
  LoadOptions o;
  o.max_document_bytes = 1 << 20;  // smaller than the document: it must be split
  auto failed = Load(doc, o);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(
      std::string(failed.status().message()),
      HasSubstr("j.json: line 15002: jaeger-json: data[15000].spans[0].startTime: negative"));
  o.skip_invalid = true;
  std::vector<Span> spans;
  auto stats = LoadBuffer(doc, "j.json", o, [&](std::vector<Span>& batch) {
    spans.insert(spans.end(), batch.begin(), batch.end());
    return absl::OkStatus();
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(spans.size(), static_cast<size_t>(n - 1));
  EXPECT_EQ(stats->skipped_spans, 1u);
  EXPECT_EQ(stats->documents, 1u);
  EXPECT_THAT(stats->first_error, HasSubstr("line 15002"));
}

}  // namespace
}  // namespace spanstore
