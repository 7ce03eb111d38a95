#include "format/span_codec.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/util/random_spans.h"

namespace spanstore {
namespace {

TEST(SpanCodecTest, RandomSpansRoundTrip) {
  test::RandomSpans gen(42);
  for (int i = 0; i < 3000; ++i) {
    const Span span = gen.NextSpan();
    std::string encoded;
    EncodeSpan(span, &encoded);
    auto size = EncodedSpanSize(encoded);
    ASSERT_TRUE(size.ok()) << size.status();
    ASSERT_EQ(*size, encoded.size());
    auto header = PeekSpanHeader(encoded);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->trace_id, span.trace_id);
    EXPECT_EQ(header->span_id, span.span_id);
    EXPECT_EQ(header->start_time_unix_nano, span.start_time_unix_nano);
    EXPECT_EQ(header->end_time_unix_nano, span.end_time_unix_nano);
    EXPECT_EQ(header->kind, span.kind);
    EXPECT_EQ(header->status_code, span.status_code);
    Span decoded;
    ASSERT_TRUE(DecodeSpan(encoded, &decoded).ok()) << i;
    ASSERT_EQ(decoded, span) << "span " << i;
  }
}

// A compaction or a scan decodes every span into one object: lists then grow or shrink in
// place (attributes, arrays and maps keep their elements' buffers), and what comes out must be
// exactly what a fresh decode gives. A decode that fails midway leaves the object reusable.
TEST(SpanCodecTest, DecodingIntoAUsedSpanEqualsAFreshDecode) {
  test::RandomSpans gen(7);
  Span reused;
  for (int i = 0; i < 2000; ++i) {
    const Span span = gen.NextSpan();
    std::string encoded;
    EncodeSpan(span, &encoded);
    if (i % 10 == 9) {  // a truncated one in between
      EXPECT_FALSE(DecodeSpan(std::string_view(encoded).substr(0, encoded.size() / 2), &reused)
                       .ok());
      continue;
    }
    ASSERT_TRUE(DecodeSpan(encoded, &reused).ok()) << i;
    ASSERT_EQ(reused, span) << "span " << i;
  }
}

TEST(SpanCodecTest, EmptySpanRoundTrips) {
  Span span;
  std::string encoded;
  EncodeSpan(span, &encoded);
  Span decoded;
  decoded.name = "stale";
  decoded.attributes.push_back({"stale", AnyValue::Int(1)});
  ASSERT_TRUE(DecodeSpan(encoded, &decoded).ok());
  EXPECT_EQ(decoded, span);
}

TEST(SpanCodecTest, BatchRoundTrip) {
  test::RandomSpans gen(7);
  std::vector<Span> spans = gen.NextTrace(25);
  std::string payload;
  EncodeSpanBatch(spans, &payload);
  std::vector<Span> decoded;
  ASSERT_TRUE(DecodeSpanBatch(payload, &decoded).ok());
  EXPECT_EQ(decoded, spans);
  SpanBatchView parts;
  ASSERT_TRUE(SplitSpanBatch(payload, &parts).ok());
  EXPECT_EQ(parts.spans.size(), spans.size());
}

TEST(SpanCodecTest, BatchStoresEachContextOnce) {
  test::RandomSpanOptions o;
  o.awkward = 0;
  test::RandomSpans gen(8, o);
  std::vector<Span> spans = gen.NextTrace(40);
  // Two services' worth of context, interleaved.
  for (size_t i = 0; i < spans.size(); ++i) {
    spans[i].resource_attributes = spans[i % 2].resource_attributes;
    spans[i].resource_schema_url = spans[i % 2].resource_schema_url;
    spans[i].scope_name = spans[i % 2].scope_name;
    spans[i].scope_version = spans[i % 2].scope_version;
    spans[i].scope_attributes = spans[i % 2].scope_attributes;
    spans[i].scope_schema_url = spans[i % 2].scope_schema_url;
  }
  std::string payload;
  EncodeSpanBatch(spans, &payload);
  SpanBatchView view;
  ASSERT_TRUE(SplitSpanBatch(payload, &view).ok());
  EXPECT_EQ(view.contexts.size(), 2u);
  std::vector<Span> decoded;
  ASSERT_TRUE(DecodeSpanBatch(payload, &decoded).ok());
  EXPECT_EQ(decoded, spans);
  // A context reference without its context is an error, not a crash.
  Span lone;
  EXPECT_EQ(DecodeSpan(view.spans[0], &lone).code(), absl::StatusCode::kDataLoss);
}

TEST(SpanCodecTest, BatchTruncatedOrCorruptContextTable) {
  test::RandomSpans gen(12);
  std::vector<Span> spans = gen.NextTrace(5);
  std::string payload;
  EncodeSpanBatch(spans, &payload);
  SpanBatchView view;
  ASSERT_TRUE(SplitSpanBatch(payload, &view).ok());
  ASSERT_FALSE(view.contexts.empty());
  // The context table is the tail of the payload, from its count on (after the last span).
  const size_t table = view.spans.back().data() + view.spans.back().size() - payload.data();
  ASSERT_EQ(static_cast<uint8_t>(payload[table]), view.contexts.size());
  // Cut anywhere inside the table: always damage.
  for (size_t n = table; n < payload.size(); ++n) {
    std::vector<Span> out;
    EXPECT_EQ(DecodeSpanBatch(std::string_view(payload).substr(0, n), &out).code(),
              absl::StatusCode::kDataLoss)
        << "cut at " << n;
  }
  // A byte of the table replaced: damage, or (a changed string byte) other valid spans; never a
  // crash (the sanitizer builds check the reads) or another kind of error.
  std::mt19937_64 rng(1);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = payload;
    bad[table + rng() % (bad.size() - table)] = static_cast<char>(rng());
    std::vector<Span> out;
    const absl::Status s = DecodeSpanBatch(bad, &out);
    if (!s.ok()) {
      ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      ++rejected;
    } else {
      EXPECT_EQ(out.size(), spans.size());
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(SpanCodecTest, TruncationAtEveryOffsetIsAnError) {
  test::RandomSpanOptions options;
  options.huge_string_bytes = 100;
  test::RandomSpans gen(9, options);
  std::vector<Span> spans = gen.NextTrace(3);
  std::string payload;
  EncodeSpanBatch(spans, &payload);
  for (size_t n = 0; n < payload.size(); ++n) {
    std::vector<Span> decoded;
    absl::Status s = DecodeSpanBatch(std::string_view(payload).substr(0, n), &decoded);
    ASSERT_FALSE(s.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  }
}

TEST(SpanCodecTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(3);
  test::RandomSpanOptions options;
  options.huge_string_bytes = 200;
  test::RandomSpans gen(11, options);
  for (int i = 0; i < 2000; ++i) {
    std::string encoded;
    EncodeSpan(gen.NextSpan(), &encoded);
    // Flip a few bytes of the body (the header's sizes are checked separately).
    for (int k = 0; k < 3; ++k) {
      const size_t pos = rng() % encoded.size();
      encoded[pos] = static_cast<char>(rng());
    }
    // Damage is DataLoss, never a crash (the sanitizer builds check the reads) or another code.
    Span decoded;
    auto size = EncodedSpanSize(encoded);
    if (size.ok() && *size == encoded.size()) {
      const absl::Status s = DecodeSpan(encoded, &decoded);
      ASSERT_TRUE(s.ok() || s.code() == absl::StatusCode::kDataLoss) << s;
    }
    std::vector<Span> batch;
    const absl::Status s = DecodeSpanBatch(encoded, &batch);
    ASSERT_TRUE(s.ok() || s.code() == absl::StatusCode::kDataLoss) << s;
  }
}

TEST(SpanCodecTest, HugeCountsDoNotAllocate) {
  // A batch claiming 2^60 spans, and a span whose attribute count is 2^60.
  std::string payload = "\x80\x80\x80\x80\x80\x80\x80\x80\x10";
  std::vector<Span> spans;
  EXPECT_EQ(DecodeSpanBatch(payload, &spans).code(), absl::StatusCode::kDataLoss);

  Span span;
  std::string encoded;
  EncodeSpan(span, &encoded);
  // Body: trace_state "", service "", name "", status_message "", flags 0, then attr count.
  const size_t attr_count_at = kEncodedSpanHeaderSize + 5;
  ASSERT_EQ(encoded[attr_count_at], 0);
  encoded.replace(attr_count_at, 1, "\xff\xff\xff\xff\xff\xff\xff\xff\x7f");
  const uint32_t body = encoded.size() - kEncodedSpanHeaderSize;
  std::memcpy(encoded.data() + 44, &body, 4);
  Span decoded;
  absl::Status s = DecodeSpan(encoded, &decoded);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("count"));
}

TEST(SpanCodecTest, DeepNestingIsRejected) {
  AnyValue v = AnyValue::Int(1);
  for (int i = 0; i < 100; ++i) v = AnyValue::ArrayValue({v});
  Span span;
  span.attributes.push_back({"deep", v});
  std::string encoded;
  EncodeSpan(span, &encoded);
  Span decoded;
  EXPECT_EQ(DecodeSpan(encoded, &decoded).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace spanstore
