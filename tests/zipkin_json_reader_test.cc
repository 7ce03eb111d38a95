// The Zipkin v2 reader (formats/zipkin_json_reader.cc), through LoadBuffer: times, spans without
// a timestamp, shared client/server halves and the tree they make.

#include "formats/zipkin_json_reader.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/loader.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

struct Loaded {
  absl::StatusOr<LoadStats> stats;
  std::vector<Span> spans;
};

Loaded Load(std::string_view json, LoadOptions options = {}) {
  Loaded out{LoadStats(), {}};
  out.stats = LoadBuffer(json, "z.json", options, [&](std::vector<Span>& batch) {
    out.spans.insert(out.spans.end(), batch.begin(), batch.end());
    return absl::OkStatus();
  });
  return out;
}

const Span* Named(const std::vector<Span>& spans, std::string_view name,
                  std::string_view service = "") {
  for (const Span& s : spans) {
    if (s.name == name && (service.empty() || s.service_name == service)) return &s;
  }
  return nullptr;
}

TEST(ZipkinJsonReaderTest, TimesThatOverflowOrAreNegativeAreRefused) {
  Loaded big = Load(R"([{"traceId":"1","id":"2","timestamp":20000000000000000}])");
  ASSERT_FALSE(big.stats.ok());
  EXPECT_THAT(std::string(big.stats.status().message()),
              HasSubstr("zipkin-json: [0].timestamp: 20000000000000000 microseconds overflows"));
  Loaded negative = Load(R"([{"traceId":"1","id":"2","timestamp":-7,"duration":1}])");
  ASSERT_FALSE(negative.stats.ok());
  EXPECT_THAT(std::string(negative.stats.status().message()),
              HasSubstr("[0].timestamp: negative time -7"));
  Loaded sum = Load(R"([{"traceId":"1","id":"2","timestamp":9223372036854775,"duration":9000}])");
  EXPECT_FALSE(sum.stats.ok());
}

TEST(ZipkinJsonReaderTest, SpansWithoutTimestampTakeTheirTimeFromTheirTrace) {
  // A late span with no timestamp used to start in 1970 and stretch its trace over 54 years.
  Loaded l = Load(R"([
    {"traceId":"a","id":"1","name":"root","timestamp":1700000000000000,"duration":9000,"localEndpoint":{"serviceName":"a"}},
    {"traceId":"a","id":"3","parentId":"2","name":"grandchild","duration":5,"localEndpoint":{"serviceName":"a"}},
    {"traceId":"a","id":"2","parentId":"1","name":"child","timestamp":1700000000002000,"duration":10,"localEndpoint":{"serviceName":"a"}},
    {"traceId":"a","id":"4","parentId":"99","name":"orphan","localEndpoint":{"serviceName":"a"}},
    {"traceId":"a","id":"5","name":"annotated","annotations":[{"timestamp":1700000000007000,"value":"cs"}]}
  ])");
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  ASSERT_EQ(l.spans.size(), 5u);
  for (const Span& s : l.spans) EXPECT_GE(s.start_time_unix_nano, 1700000000000000000u) << s.name;
  EXPECT_EQ(Named(l.spans, "grandchild")->start_time_unix_nano, 1700000000002000000u);  // parent
  EXPECT_EQ(Named(l.spans, "grandchild")->duration_nanos(), 5000u);
  EXPECT_EQ(*FindAttribute(Named(l.spans, "grandchild")->attributes, "zipkin.timestamp_from"),
            AnyValue::String("parent"));
  EXPECT_EQ(Named(l.spans, "orphan")->start_time_unix_nano, 1700000000000000000u);  // trace
  EXPECT_EQ(*FindAttribute(Named(l.spans, "orphan")->attributes, "zipkin.timestamp_from"),
            AnyValue::String("trace"));
  EXPECT_EQ(Named(l.spans, "annotated")->start_time_unix_nano, 1700000000007000000u);

  // No time anywhere in its trace: reported, or skipped and counted. (A document read whole is
  // named by its first line; the path names the span.)
  const std::string lonely = R"([{"traceId":"a","id":"1","name":"ok","timestamp":5},
    {"traceId":"b","id":"1","name":"lonely"}])";
  Loaded failed = Load(lonely);
  ASSERT_FALSE(failed.stats.ok());
  EXPECT_THAT(std::string(failed.stats.status().message()),
              HasSubstr("z.json: line 1: zipkin-json: [1]: span 0000000000000000000000000000000b/"
                        "0000000000000001 (lonely) has no timestamp"));
  LoadOptions skip;
  skip.skip_invalid = true;
  Loaded skipped = Load(lonely, skip);
  ASSERT_TRUE(skipped.stats.ok());
  EXPECT_EQ(skipped.spans.size(), 1u);
  EXPECT_EQ(skipped.stats->skipped_spans, 1u);
}

// The shape of Zipkin's own test data (zipkin-lens testdata/yelp.json): a proxy's server span
// shared with no client half (the root), and two shared RPCs whose halves have both sides.
constexpr char kSharedTrace[] = R"([
  {"traceId":"A03EE8FFF1DCD9B9","id":"00000000000000f5","parentId":"0000000000000002","kind":"SERVER","shared":true,"name":"post /update","timestamp":1000050,"duration":40,"localEndpoint":{"serviceName":"mobile"}},
  {"traceId":"a03ee8fff1dcd9b9","id":"00000000000000f5","parentId":"0000000000000002","kind":"CLIENT","name":"post","timestamp":1000040,"duration":60,"localEndpoint":{"serviceName":"main"}},
  {"traceId":"a03ee8fff1dcd9b9","id":"0000000000000002","kind":"SERVER","shared":true,"name":"post /update","timestamp":1000000,"duration":100,"localEndpoint":{"serviceName":"routing"}},
  {"traceId":"a03ee8fff1dcd9b9","id":"0000000000000015","parentId":"00000000000000f5","kind":"CLIENT","name":"get","timestamp":1000060,"duration":5,"localEndpoint":{"serviceName":"mobile"}},
  {"traceId":"a03ee8fff1dcd9b9","id":"0000000000000016","parentId":"00000000000000f5","kind":"CLIENT","name":"get","localEndpoint":{"serviceName":"main"}},
  {"traceId":"a03ee8fff1dcd9b9","id":"0000000000000015","parentId":"00000000000000f5","kind":"SERVER","shared":true,"name":"get","timestamp":1000061,"duration":3,"localEndpoint":{"serviceName":"spectre"}}
])";

TEST(ZipkinJsonReaderTest, SharedHalvesAreTwoSpansInOneTree) {
  Loaded l = Load(kSharedTrace);
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  ASSERT_EQ(l.spans.size(), 6u);
  std::map<SpanId, const Span*> by_id;
  for (const Span& s : l.spans) {
    EXPECT_TRUE(by_id.emplace(s.span_id, &s).second) << "two spans with id " << s.span_id.ToHex();
  }
  int roots = 0;
  for (const Span& s : l.spans) {
    if (s.is_root()) {
      ++roots;
      continue;
    }
    EXPECT_TRUE(by_id.count(s.parent_span_id)) << s.name << " has no parent in the trace";
  }
  EXPECT_EQ(roots, 1);  // the proxy's server span, whose client is not in the trace
  const Span& routing = *Named(l.spans, "post /update", "routing");
  EXPECT_TRUE(routing.is_root());
  EXPECT_EQ(routing.span_id.ToHex(), "0000000000000002");
  // mobile's server half: its own id, under the client half in main.
  const Span& client = *Named(l.spans, "post", "main");
  const Span& server = *Named(l.spans, "post /update", "mobile");
  EXPECT_EQ(client.span_id.ToHex(), "00000000000000f5");
  EXPECT_NE(server.span_id, client.span_id);
  EXPECT_EQ(server.parent_span_id, client.span_id);
  EXPECT_EQ(*FindAttribute(server.attributes, "zipkin.shared"), AnyValue::Bool(true));
  // A child with parentId f5 in mobile hangs under mobile's server half; in main, under the
  // client half (Zipkin matches the local endpoint the same way).
  EXPECT_EQ(Named(l.spans, "get", "mobile")->parent_span_id, server.span_id);
  EXPECT_EQ(Named(l.spans, "get", "main")->parent_span_id, client.span_id);
  EXPECT_EQ(Named(l.spans, "get", "main")->start_time_unix_nano, client.start_time_unix_nano);
  EXPECT_EQ(Named(l.spans, "get", "spectre")->parent_span_id,
            Named(l.spans, "get", "mobile")->span_id);

  // Deterministic: the same input gives the same ids; an id already in the trace is not reused.
  Loaded again = Load(kSharedTrace);
  EXPECT_EQ(Named(again.spans, "post /update", "mobile")->span_id, server.span_id);
  std::string taken = kSharedTrace;
  taken.pop_back();
  taken += absl::StrFormat(
      R"(,{"traceId":"a03ee8fff1dcd9b9","id":"%s","parentId":"2","name":"squatter","timestamp":1000001}])",
      server.span_id.ToHex());
  Loaded collided = Load(taken);
  ASSERT_TRUE(collided.stats.ok()) << collided.stats.status();
  EXPECT_NE(Named(collided.spans, "post /update", "mobile")->span_id, server.span_id);
}

TEST(ZipkinJsonReaderTest, IdShapesAndListOfTraces) {
  // Upper-case hex, 16- and 32-digit trace ids, ids without leading zeros, and the API's list
  // of traces ([[...], [...]]).
  Loaded l = Load(R"([[{"traceId":"463AC35C9F6413AD48485A3953BB6124","id":"A","timestamp":1}],
                      [{"traceId":"48485a3953bb6124","id":"0000000000000b","timestamp":2}]])");
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  ASSERT_EQ(l.spans.size(), 2u);
  EXPECT_EQ(l.spans[0].trace_id.ToHex(), "463ac35c9f6413ad48485a3953bb6124");
  EXPECT_EQ(l.spans[0].span_id.ToHex(), "000000000000000a");
  EXPECT_EQ(l.spans[1].trace_id.ToHex(), "000000000000000048485a3953bb6124");
}

}  // namespace
}  // namespace spanstore
