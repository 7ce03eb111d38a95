// OTLP protobuf decoding/encoding (formats/otlp_proto.cc): round trips, hand-assembled bytes, the
// same traces as JSON, hostile input, and the length-prefixed file format through the loader.

#include "spanstore/otlp_proto.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/formats.h"
#include "spanstore/loader.h"
#include "tests/util/random_spans.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

std::vector<Span> Sorted(std::vector<Span> v) {
  std::sort(v.begin(), v.end(), [](const Span& a, const Span& b) {
    return std::tie(a.trace_id, a.span_id) < std::tie(b.trace_id, b.span_id);
  });
  return v;
}

TEST(OtlpProtoTest, RandomSpansRoundTrip) {
  test::RandomSpans gen(5);
  std::vector<Span> spans;
  for (int i = 0; i < 40; ++i) {
    for (Span& s : gen.NextTrace(5)) {
      // OTLP carries service.name only as a resource attribute; make them agree.
      s.service_name.clear();
      for (const KeyValue& kv : s.resource_attributes) {
        if (kv.key == "service.name" && kv.value.type() == AnyValue::Type::kString) {
          s.service_name = kv.value.string_value();
          break;
        }
      }
      spans.push_back(std::move(s));
    }
  }
  std::string bytes;
  EncodeOtlpTraces(spans, &bytes);
  std::vector<Span> decoded;
  ASSERT_TRUE(DecodeOtlpTraces(bytes, &decoded).ok());
  ASSERT_EQ(decoded.size(), spans.size());
  EXPECT_EQ(Sorted(decoded), Sorted(spans));
}

TEST(OtlpProtoTest, HandAssembledBytes) {
  // ExportTraceServiceRequest { resource_spans { resource { attributes { key: "service.name"
  // value { string_value: "svc" } } } scope_spans { scope { name: "lib" } spans { trace_id,
  // span_id, name: "op", kind: SERVER, start 1, end 3, attributes { key: "n" value {
  // int_value: -2 } }, status { code: ERROR } } } } }, written out by hand.
  const std::string kv_service = std::string("\x0a\x0c" "service.name" "\x12\x05\x0a\x03" "svc", 21);
  const std::string resource = std::string("\x0a\x15", 2) + kv_service;
  const std::string scope = std::string("\x0a\x03" "lib", 5);
  std::string span;
  span += std::string("\x0a\x10", 2) + std::string(15, '\0') + "\x01";  // trace_id ...01
  span += std::string("\x12\x08", 2) + std::string(7, '\0') + "\x02";   // span_id ...02
  span += std::string("\x2a\x02" "op", 4);                               // name
  span += std::string("\x30\x02", 2);                                    // kind = SERVER
  span += std::string("\x39\x01\0\0\0\0\0\0\0", 9);                      // start = 1
  span += std::string("\x41\x03\0\0\0\0\0\0\0", 9);                      // end = 3
  const std::string int_kv = std::string("\x0a\x01" "n" "\x12\x0b\x18", 6) +
                             std::string("\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);
  span += std::string("\x4a", 1) + static_cast<char>(int_kv.size()) + int_kv;  // attributes
  span += std::string("\x7a\x02\x18\x02", 4);                            // status.code = ERROR
  std::string scope_spans = std::string("\x0a", 1) + static_cast<char>(scope.size()) + scope;
  scope_spans += std::string("\x12", 1) + static_cast<char>(span.size()) + span;
  std::string resource_spans = std::string("\x0a", 1) + static_cast<char>(resource.size()) + resource;
  resource_spans += std::string("\x12", 1) + static_cast<char>(scope_spans.size()) + scope_spans;
  const std::string request =
      std::string("\x0a", 1) + static_cast<char>(resource_spans.size()) + resource_spans;

  std::vector<Span> spans;
  absl::Status s = DecodeOtlpTraces(request, &spans);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(spans.size(), 1u);
  const Span& got = spans[0];
  EXPECT_EQ(got.trace_id.ToHex(), "00000000000000000000000000000001");
  EXPECT_EQ(got.span_id.ToHex(), "0000000000000002");
  EXPECT_EQ(got.name, "op");
  EXPECT_EQ(got.kind, SpanKind::kServer);
  EXPECT_EQ(got.start_time_unix_nano, 1u);
  EXPECT_EQ(got.end_time_unix_nano, 3u);
  EXPECT_EQ(got.service_name, "svc");
  EXPECT_EQ(got.scope_name, "lib");
  EXPECT_EQ(*FindAttribute(got.attributes, "n"), AnyValue::Int(-2));
  EXPECT_EQ(got.status_code, StatusCode::kError);
}

TEST(OtlpProtoTest, SameTracesAsJson) {
  test::RandomSpanOptions o;
  o.awkward = 0;
  test::RandomSpans gen(9, o);
  std::vector<Span> spans;
  for (int i = 0; i < 20; ++i) {
    for (Span& s : gen.NextTrace(3)) spans.push_back(std::move(s));
  }
  std::string json, proto;
  WriteOtlpJson(spans, &json);
  EncodeOtlpTraces(spans, &proto);
  std::vector<Span> from_json, from_proto;
  auto collect = [](std::vector<Span>* into) {
    return [into](std::vector<Span>& batch) {
      into->insert(into->end(), batch.begin(), batch.end());
      return absl::OkStatus();
    };
  };
  auto a = LoadBuffer(json, "j", LoadOptions(), collect(&from_json));
  auto b = LoadBuffer(proto, "p", LoadOptions(), collect(&from_proto));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->format, TraceFormat::kOtlpProto);
  EXPECT_EQ(Sorted(from_json), Sorted(from_proto));
}

TEST(OtlpProtoTest, LengthPrefixedStream) {
  test::RandomSpans gen(2);
  std::string stream;
  size_t total = 0;
  for (int i = 0; i < 5; ++i) {
    std::vector<Span> trace = gen.NextTrace(4);
    total += trace.size();
    std::string msg;
    EncodeOtlpTraces(trace, &msg);
    const uint32_t n = msg.size();
    const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
    stream.append(len, 4);
    stream += msg;
  }
  size_t loaded = 0;
  auto stats = LoadBuffer(stream, "s.pb", LoadOptions(), [&](std::vector<Span>& b) {
    loaded += b.size();
    return absl::OkStatus();
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->format, TraceFormat::kOtlpProtoStream);
  EXPECT_EQ(stats->documents, 5u);
  EXPECT_EQ(loaded, total);
  auto truncated = LoadBuffer(stream.substr(0, stream.size() - 3), "s.pb", LoadOptions(),
                              [](std::vector<Span>&) { return absl::OkStatus(); });
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("s.pb: "));
}

TEST(OtlpProtoTest, HostileInputIsAnErrorWithOffset) {
  std::vector<Span> spans;
  struct Case {
    std::string bytes;
    const char* message;
  } cases[] = {
      {std::string("\x0a\x7f", 2), "runs past the end"},
      {std::string("\x0a\x80", 2), "truncated length"},
      {std::string("\x0b", 1), "field resource_spans has wire type 3, expected 2"},
      {std::string("\x13", 1), "unsupported wire type 3"},
      {std::string("\x10\xff\xff", 3), "truncated varint"},
      {std::string("\x0a\x06\x12\x04\x12\x02\x0a\x00", 8), "span without a valid trace_id"},
      {std::string("\x0a\x08\x12\x06\x12\x04\x12\x02\x0a\x01", 10), "span_id is 2 bytes"},
      {std::string("\x0a\x0a\x12\x08\x12\x06\x0a\x02\x01\x02\x12\x00", 12), "trace_id is 2 bytes, expected 16"},
  };
  for (const Case& c : cases) {
    spans.clear();
    absl::Status s = DecodeOtlpTraces(c.bytes, &spans);
    ASSERT_FALSE(s.ok()) << c.message;
    EXPECT_THAT(std::string(s.message()), HasSubstr("byte offset"));
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message));
    EXPECT_TRUE(spans.empty());
  }
  // Deeply nested arrays are refused, not recursed into without bound.
  Span deep;
  deep.trace_id.bytes[0] = 1;
  deep.span_id.bytes[0] = 1;
  AnyValue v = AnyValue::Int(1);
  for (int i = 0; i < 40; ++i) v = AnyValue::ArrayValue({v});
  deep.attributes.push_back({"deep", v});
  std::string bytes;
  EncodeOtlpTraces({deep}, &bytes);
  spans.clear();
  EXPECT_THAT(std::string(DecodeOtlpTraces(bytes, &spans).message()), HasSubstr("nested too deeply"));
  std::vector<Span> random;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    random.clear();
    (void)DecodeOtlpTraces(junk, &random);
  }
}

}  // namespace
}  // namespace spanstore
