// OtlpProtoDecoder (formats/otlp_proto_decoder.cc): refilled spans equal freshly decoded ones
// whatever the decoder held before, fields that come after the spans, DecodeInto's contract,
// reuse of buffers, and hostile input (every truncation, byte mutations, huge lengths).

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/otlp_proto.h"
#include "tests/util/random_spans.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

// OTLP carries service.name only as a resource attribute; make generated spans agree.
std::vector<Span> WithServiceNames(std::vector<Span> spans) {
  for (Span& s : spans) {
    s.service_name.clear();
    const AnyValue* name = FindAttribute(s.resource_attributes, "service.name");
    if (name != nullptr && name->type() == AnyValue::Type::kString) {
      s.service_name = name->string_value();
    }
  }
  return spans;
}

std::vector<Span> Sorted(std::vector<Span> v) {
  std::sort(v.begin(), v.end(), [](const Span& a, const Span& b) {
    return std::tie(a.trace_id, a.span_id) < std::tie(b.trace_id, b.span_id);
  });
  return v;
}

std::vector<Span> Fresh(std::string_view message) {
  std::vector<Span> spans;
  absl::Status s = DecodeOtlpTraces(message, &spans);
  EXPECT_TRUE(s.ok()) << s;
  return spans;
}

std::vector<Span> Copy(absl::Span<const Span> spans) { return {spans.begin(), spans.end()}; }

// Protobuf by hand, for layouts EncodeOtlpTraces does not write.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Field(uint32_t number, std::string_view payload) {
  return Varint(uint64_t{number} << 3 | 2) + Varint(payload.size()) + std::string(payload);
}
std::string StringKeyValue(std::string_view key, std::string_view value) {
  return Field(1, key) + Field(2, Field(1, value));
}
std::string MinimalSpan(uint8_t id, std::string_view name) {
  std::string trace_id(16, '\0'), span_id(8, '\0');
  trace_id[15] = 1;
  span_id[7] = static_cast<char>(id);
  return Field(1, trace_id) + Field(2, span_id) + Field(5, name);
}

TEST(OtlpProtoDecoderTest, RefilledSpansEqualFreshOnes) {
  // Messages of every shape one after the other: each must decode as if into new objects,
  // whatever the previous one left in them (more attributes, events, nested values, ...).
  test::RandomSpanOptions o;
  o.huge_string_bytes = 300;
  test::RandomSpans gen(11, o);
  OtlpProtoDecoder decoder;
  for (int round = 0; round < 60; ++round) {
    std::vector<Span> spans;
    const int traces = round % 7 == 0 ? 0 : 1 + static_cast<int>(gen.rng()() % 6);
    for (int t = 0; t < traces; ++t) {
      for (Span& s : gen.NextTrace(1 + static_cast<int>(gen.rng()() % 8))) {
        if (round % 3 == 1) {  // sparse spans after rich ones
          s.events.clear();
          s.links.clear();
          s.attributes.resize(s.attributes.size() / 2);
          s.status_message.clear();
          s.trace_state.clear();
        }
        spans.push_back(std::move(s));
      }
    }
    spans = WithServiceNames(std::move(spans));
    std::string message;
    EncodeOtlpTraces(spans, &message);
    auto got = decoder.Decode(message);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(Copy(*got), Fresh(message)) << "round " << round;
    EXPECT_EQ(Sorted(Copy(*got)), Sorted(spans)) << "round " << round;
  }
}

TEST(OtlpProtoDecoderTest, FieldsAfterTheSpansReachEverySpan) {
  // ResourceSpans { scope_spans { spans, spans, scope, schema_url }, resource, schema_url }:
  // protobuf fields may come in any order.
  const std::string late_scope_spans =
      Field(2, MinimalSpan(1, "a")) + Field(2, MinimalSpan(2, "b")) +
      Field(1, Field(1, "lib") + Field(2, "1.0")) + Field(3, "scope-schema");
  const std::string late = Field(2, late_scope_spans) +
                           Field(1, Field(1, StringKeyValue("service.name", "late")) +
                                        Field(1, StringKeyValue("host.name", "h1"))) +
                           Field(3, "resource-schema");
  // Then the usual order, with another resource: nothing of the first may leak into it.
  const std::string usual = Field(1, Field(1, StringKeyValue("service.name", "usual"))) +
                            Field(2, Field(1, Field(1, "other")) + Field(2, MinimalSpan(3, "c")));
  const std::string message = Field(1, late) + Field(1, usual);

  OtlpProtoDecoder decoder;
  // Fill the decoder's objects with something else first.
  test::RandomSpans gen(3);
  std::string previous;
  EncodeOtlpTraces(WithServiceNames(gen.NextTrace(5)), &previous);
  ASSERT_TRUE(decoder.Decode(previous).ok());

  auto got = decoder.Decode(message);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 3u);
  for (int i = 0; i < 2; ++i) {
    const Span& s = (*got)[i];
    EXPECT_EQ(s.service_name, "late");
    ASSERT_EQ(s.resource_attributes.size(), 2u);
    EXPECT_EQ(*FindAttribute(s.resource_attributes, "host.name"), AnyValue::String("h1"));
    EXPECT_EQ(s.resource_schema_url, "resource-schema");
    EXPECT_EQ(s.scope_name, "lib");
    EXPECT_EQ(s.scope_version, "1.0");
    EXPECT_EQ(s.scope_schema_url, "scope-schema");
  }
  const Span& c = (*got)[2];
  EXPECT_EQ(c.name, "c");
  EXPECT_EQ(c.service_name, "usual");
  EXPECT_EQ(c.resource_attributes.size(), 1u);
  EXPECT_EQ(c.resource_schema_url, "");
  EXPECT_EQ(c.scope_name, "other");
  EXPECT_EQ(c.scope_version, "");
  EXPECT_EQ(c.scope_schema_url, "");
  EXPECT_EQ(Copy(*got), Fresh(message));
}

TEST(OtlpProtoDecoderTest, DecodeIntoFillsFromCountAndKeepsItOnError) {
  test::RandomSpans gen(4);
  std::vector<Span> trace = WithServiceNames(gen.NextTrace(3));
  std::string message;
  EncodeOtlpTraces(trace, &message);

  OtlpProtoDecoder decoder;
  std::vector<Span> spans(5);  // objects to refill
  spans[0].name = "kept";
  size_t count = 1;
  ASSERT_TRUE(decoder.DecodeInto(message, &spans, &count).ok());
  EXPECT_EQ(count, 4u);
  EXPECT_EQ(spans[0].name, "kept");
  EXPECT_EQ(Sorted({spans.begin() + 1, spans.begin() + 4}), Sorted(trace));

  ASSERT_TRUE(decoder.DecodeInto(message, &spans, &count).ok());  // grows the vector
  EXPECT_EQ(count, 7u);
  ASSERT_GE(spans.size(), 7u);
  EXPECT_EQ(Sorted({spans.begin() + 4, spans.begin() + 7}), Sorted(trace));

  absl::Status s = decoder.DecodeInto(message.substr(0, message.size() - 1), &spans, &count);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(count, 7u);
  EXPECT_EQ(Sorted({spans.begin() + 1, spans.begin() + 4}), Sorted(trace));
}

TEST(OtlpProtoDecoderTest, RefillingReusesBuffers) {
  // The point of the decoder: the second request of the same shape lands in the same memory.
  Span span;
  span.trace_id.bytes[0] = 1;
  span.span_id.bytes[0] = 1;
  span.name = "a span name longer than the small-string buffer";
  span.attributes = {{"an.attribute.key.longer.than.sso", AnyValue::String(std::string(40, 'v'))}};
  span.resource_attributes = {{"service.name", AnyValue::String(std::string(30, 's'))}};
  std::string first, second;
  EncodeOtlpTraces({span}, &first);
  span.name[0] = 'A';
  span.attributes[0].value = AnyValue::String(std::string(20, 'w'));  // shorter: fits
  EncodeOtlpTraces({span}, &second);

  OtlpProtoDecoder decoder;
  auto a = decoder.Decode(first);
  ASSERT_TRUE(a.ok());
  const Span* object = &(*a)[0];
  const char* name = (*a)[0].name.data();
  const KeyValue* attribute = (*a)[0].attributes.data();
  const char* value = (*a)[0].attributes[0].value.string_value().data();
  const char* resource = (*a)[0].resource_attributes[0].value.string_value().data();
  auto b = decoder.Decode(second);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(&(*b)[0], object);
  EXPECT_EQ((*b)[0].name.data(), name);
  EXPECT_EQ((*b)[0].attributes.data(), attribute);
  EXPECT_EQ((*b)[0].attributes[0].value.string_value().data(), value);
  EXPECT_EQ((*b)[0].resource_attributes[0].value.string_value().data(), resource);
  EXPECT_EQ((*b)[0].attributes[0].value, AnyValue::String(std::string(20, 'w')));
  EXPECT_EQ(Copy(*b), Fresh(second));
}

TEST(OtlpProtoDecoderTest, StringsOfEveryLengthRefill) {
  // Refilling copies short strings by word moves and grows or shrinks them in place: every pair
  // of old and new lengths across those paths (0-3, 4-7, 8-15, 16-32, longer), for keys, string
  // values (canonical and general encodings) and the resource copied into each span.
  auto message = [](size_t n, uint8_t seed) {
    std::string text(n, '\0');
    for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>('a' + (seed + i * 7) % 26);
    std::string span = MinimalSpan(1, text) + Field(9, StringKeyValue(text, text)) +
                       Field(9, Field(2, Field(1, text)) + Field(1, text));  // value before key
    return Field(1, Field(1, Field(1, StringKeyValue("k", text))) + Field(2, Field(2, span)));
  };
  OtlpProtoDecoder decoder;
  for (size_t a = 0; a <= 40; ++a) {
    for (size_t b = 0; b <= 40; b += (b < 34 ? 1 : 6)) {
      ASSERT_TRUE(decoder.Decode(message(a, static_cast<uint8_t>(a))).ok());
      const std::string second = message(b, static_cast<uint8_t>(a + b + 1));
      auto got = decoder.Decode(second);
      ASSERT_TRUE(got.ok()) << got.status();
      ASSERT_EQ(Copy(*got), Fresh(second)) << a << " then " << b;
    }
  }
}

// A message of a few random spans, small enough to cut at every byte.
std::string SmallMessage(uint64_t seed) {
  test::RandomSpanOptions o;
  o.huge_string_bytes = 40;
  o.max_attributes = 4;
  test::RandomSpans gen(seed, o);
  std::string message;
  EncodeOtlpTraces(WithServiceNames(gen.NextTrace(3)), &message);
  return message;
}

TEST(OtlpProtoDecoderTest, TruncatedAtEveryLength) {
  const std::string message = SmallMessage(7);
  const std::vector<Span> whole = Fresh(message);
  OtlpProtoDecoder decoder;
  ASSERT_TRUE(decoder.Decode(message).ok());
  for (size_t n = 0; n < message.size(); ++n) {
    const std::string_view prefix(message.data(), n);
    std::vector<Span> fresh;
    const absl::Status want = DecodeOtlpTraces(prefix, &fresh);
    auto got = decoder.Decode(prefix);
    ASSERT_EQ(got.status(), want) << "prefix " << n;
    if (got.ok()) {
      // Cut between two ResourceSpans: a shorter, valid request.
      EXPECT_EQ(Copy(*got), fresh) << "prefix " << n;
    } else {
      EXPECT_THAT(std::string(got.status().message()), HasSubstr("byte offset")) << n;
    }
  }
  // Nothing is left over from the failures.
  auto again = decoder.Decode(message);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Copy(*again), whole);
}

TEST(OtlpProtoDecoderTest, MutatedBytesDecodeAsIntoNewObjects) {
  // Whatever bytes come, a reused decoder answers exactly as a fresh decode: same error or
  // same spans (a stale field from an earlier request would show up here).
  std::mt19937_64 rng(5);
  OtlpProtoDecoder decoder;
  int decoded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string message = SmallMessage(i % 17);
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) {
      message[rng() % message.size()] = static_cast<char>(rng());
    }
    std::vector<Span> fresh;
    const absl::Status want = DecodeOtlpTraces(message, &fresh);
    auto got = decoder.Decode(message);
    ASSERT_EQ(got.status(), want) << i;
    if (got.ok()) {
      ++decoded;
      ASSERT_EQ(Copy(*got), fresh) << i;
    }
  }
  EXPECT_GT(decoded, 100);  // the comparison of spans did happen
}

TEST(OtlpProtoDecoderTest, HugeLengthsAreErrorsNotAllocations) {
  const std::string huge[] = {Varint(uint64_t{1} << 63), Varint(0xffffffffu),
                              Varint(uint64_t{1} << 40), std::string(10, '\xff') + "\x01"};
  OtlpProtoDecoder decoder;
  for (const std::string& len : huge) {
    const std::string span_prefix = MinimalSpan(1, "s");
    const std::string cases[] = {
        "\x0a" + len,                                                        // resource_spans
        Field(1, "\x12" + len),                                              // scope_spans
        Field(1, "\x0a" + len),                                              // resource
        Field(1, Field(2, "\x12" + len)),                                    // a span
        Field(1, Field(2, Field(2, span_prefix + "\x4a" + len))),            // an attribute
        Field(1, Field(2, Field(2, span_prefix + Field(9, "\x0a" + len)))),  // its key
        Field(1, Field(2, Field(2, span_prefix + "\x5a" + len))),            // an event
        Field(1, Field(2, Field(2, span_prefix + "\x6a" + len))),            // a link
    };
    for (const std::string& message : cases) {
      auto got = decoder.Decode(message);
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(got.status().message()), HasSubstr("byte offset"));
      const std::string text(got.status().message());
      EXPECT_TRUE(text.find("runs past the end") != std::string::npos ||
                  text.find("truncated length") != std::string::npos)
          << text;
    }
  }
}

TEST(OtlpProtoDecoderTest, ErrorsMatchDecodeOtlpTraces) {
  const std::string cases[] = {
      std::string("\x0a\x7f", 2),
      std::string("\x0b", 1),
      std::string("\x0a\x06\x12\x04\x12\x02\x0a\x00", 8),
      Field(1, Field(2, Field(2, MinimalSpan(1, "s") + "\x30\x09"))),             // kind 9
      Field(1, Field(2, Field(2, MinimalSpan(1, "s") + Field(15, "\x18\x05")))),  // status 5
  };
  OtlpProtoDecoder decoder;
  for (const std::string& message : cases) {
    std::vector<Span> fresh;
    const absl::Status want = DecodeOtlpTraces(message, &fresh);
    ASSERT_FALSE(want.ok());
    EXPECT_EQ(decoder.Decode(message).status(), want);
  }
}

}  // namespace
}  // namespace spanstore
