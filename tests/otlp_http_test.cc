// formats/otlp_http.cc: media types, content encodings with a capped output, decoding with
// per-span validation, partial appends and response bodies.

#include "spanstore/otlp_http.h"

#include <zlib.h>
#include <zstd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

std::string Deflate(const std::string& data, int window_bits) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
std::string Gzip(const std::string& data) { return Deflate(data, 16 + MAX_WBITS); }
std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

TEST(OtlpHttpTest, ContentTypes) {
  EXPECT_EQ(OtlpEncodingFromContentType("application/x-protobuf"), OtlpEncoding::kProtobuf);
  EXPECT_EQ(OtlpEncodingFromContentType("application/protobuf"), OtlpEncoding::kProtobuf);
  EXPECT_EQ(OtlpEncodingFromContentType(" Application/JSON ; charset=utf-8"), OtlpEncoding::kJson);
  EXPECT_EQ(OtlpEncodingFromContentType("text/plain"), std::nullopt);
  EXPECT_EQ(OtlpEncodingFromContentType(""), std::nullopt);
  EXPECT_EQ(OtlpContentType(OtlpEncoding::kJson), "application/json");
}

TEST(OtlpHttpTest, ContentEncodingsRoundTrip) {
  const std::string data = std::string(100000, 'a') + "tail";
  std::string out;
  for (const auto& [encoding, body] :
       std::vector<std::pair<std::string, std::string>>{{"", data},
                                                        {"identity", data},
                                                        {"gzip", Gzip(data)},
                                                        {"X-GZIP", Gzip(data)},
                                                        {"deflate", Deflate(data, MAX_WBITS)},
                                                        {"zstd", Zstd(data)}}) {
    ASSERT_TRUE(DecodeContentEncoding(encoding, body, data.size(), &out).ok()) << encoding;
    EXPECT_EQ(out, data) << encoding;
  }
  // Concatenated gzip members are one body.
  ASSERT_TRUE(DecodeContentEncoding("gzip", Gzip("ab") + Gzip("cd"), 10, &out).ok());
  EXPECT_EQ(out, "abcd");
}

TEST(OtlpHttpTest, OutputIsCappedAtTheLimit) {
  const std::string data(1 << 20, '\0');
  std::string out;
  for (const auto& [encoding, body] : std::vector<std::pair<std::string, std::string>>{
           {"gzip", Gzip(data)}, {"zstd", Zstd(data)}, {"identity", data}}) {
    EXPECT_TRUE(DecodeContentEncoding(encoding, body, data.size(), &out).ok()) << encoding;
    absl::Status s = DecodeContentEncoding(encoding, body, data.size() - 1, &out);
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << encoding;
    EXPECT_THAT(s.message(), HasSubstr("1048575 bytes")) << encoding;
    EXPECT_TRUE(out.empty());
    EXPECT_LE(out.capacity(), 64u);  // the bomb's buffer is gone
  }
}

TEST(OtlpHttpTest, CorruptTruncatedAndUnknownEncodings) {
  const std::string gz = Gzip(std::string(5000, 'x'));
  std::string out;
  EXPECT_EQ(DecodeContentEncoding("gzip", gz.substr(0, gz.size() / 2), 1 << 20, &out).code(),
            absl::StatusCode::kInvalidArgument);
  std::string flipped = gz;
  flipped[12] ^= 0x55;
  EXPECT_EQ(DecodeContentEncoding("gzip", flipped, 1 << 20, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeContentEncoding("gzip", "", 1 << 20, &out).code(),
            absl::StatusCode::kInvalidArgument);
  const std::string zs = Zstd(std::string(5000, 'x'));
  EXPECT_EQ(DecodeContentEncoding("zstd", zs.substr(0, zs.size() - 3), 1 << 20, &out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeContentEncoding("br", "x", 1 << 20, &out).code(),
            absl::StatusCode::kUnimplemented);
}

TEST(OtlpHttpTest, DecoderDropsAndCountsInvalidSpansInBothEncodings) {
  test::RandomSpans gen(7);
  std::vector<Span> spans = gen.NextTrace(5);
  spans[2].span_id = SpanId();
  Options limits;
  limits.max_string_bytes = 1 << 20;
  spans[3].attributes.push_back({"huge", AnyValue::String(std::string(2 << 20, 'h'))});
  std::string proto, json;
  EncodeOtlpTraces(spans, &proto);
  WriteOtlpJson(spans, &json);
  OtlpExportDecoder decoder(limits);
  for (auto [encoding, body] :
       {std::pair{OtlpEncoding::kProtobuf, proto}, std::pair{OtlpEncoding::kJson, json}}) {
    OtlpExportResult result;
    auto decoded = decoder.Decode(encoding, body, &result);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(result.received_spans, 5u);
    EXPECT_EQ(result.rejected_spans, 2u);
    EXPECT_THAT(result.error_message, HasSubstr("span id is all zeros"));
    // (Spans come back grouped by resource and scope, so not necessarily in request order.)
    EXPECT_THAT(std::vector<Span>(decoded->begin(), decoded->end()),
                ::testing::UnorderedElementsAre(spans[0], spans[1], spans[4]));
  }
  OtlpExportResult result;
  EXPECT_EQ(decoder.Decode(OtlpEncoding::kProtobuf, proto.substr(0, 10), &result).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.Decode(OtlpEncoding::kJson, "[]", &result).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto empty = decoder.Decode(OtlpEncoding::kProtobuf, "", &result);
  ASSERT_TRUE(empty.ok());  // an empty request is a valid one
  EXPECT_TRUE(empty->empty());
}

TEST(OtlpHttpTest, AppendPartiallyIsolatesSpansTheStoreRefuses) {
  test::TempDir dir;
  Options options;
  options.max_span_bytes = 4096;  // checked by the store on the encoding only
  auto store = *Store::Open(options, dir.Sub("db"));
  test::RandomSpanOptions o;
  o.awkward = 0;
  o.max_attributes = 2;
  o.max_events = 0;
  o.max_links = 0;
  test::RandomSpans gen(3, o);
  std::vector<Span> spans = gen.NextTrace(40);
  for (int i : {5, 6, 31}) {
    spans[i].attributes.push_back({"big", AnyValue::String(std::string(8000, 'b'))});
  }
  OtlpExportResult result;
  ASSERT_TRUE(AppendPartially(*store, spans, &result, /*batch_spans=*/16).ok());
  EXPECT_EQ(result.rejected_spans, 3u);
  EXPECT_THAT(result.error_message, HasSubstr("max_span_bytes"));
  EXPECT_EQ(store->GetTrace(spans[0].trace_id)->spans.size(), 37u);
  ASSERT_TRUE(store->Close().ok());
}

TEST(OtlpHttpTest, ResponseBodies) {
  OtlpExportResult ok;
  EXPECT_EQ(EncodeOtlpExportResponse(OtlpEncoding::kProtobuf, ok), "");
  EXPECT_EQ(EncodeOtlpExportResponse(OtlpEncoding::kJson, ok), "{}");
  OtlpExportResult partial;
  partial.rejected_spans = 300;
  partial.error_message = "bad \"id\"";
  EXPECT_EQ(EncodeOtlpExportResponse(OtlpEncoding::kProtobuf, partial),
            std::string("\x0a\x0d\x08\xac\x02\x12\x08"
                        "bad \"id\"",
                        15));
  EXPECT_EQ(EncodeOtlpExportResponse(OtlpEncoding::kJson, partial),
            R"({"partialSuccess":{"rejectedSpans":"300","errorMessage":"bad \"id\""}})");
  EXPECT_EQ(EncodeOtlpStatus(OtlpEncoding::kJson, 14, "later"), R"({"code":14,"message":"later"})");
  EXPECT_EQ(EncodeOtlpStatus(OtlpEncoding::kProtobuf, 14, "later"),
            std::string("\x08\x0e\x12\x05later", 9));
}

}  // namespace
}  // namespace spanstore
