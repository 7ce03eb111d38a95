// LoadFile / LoadBuffer and the OTLP JSON reader, on hand-made fixtures in tests/testdata.

#include "spanstore/loader.h"

#include <zlib.h>
#include <zstd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/formats.h"
#include "spanstore/otlp_proto.h"
#include "tests/util/random_spans.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return std::string(SPANSTORE_TESTDATA_DIR) + "/" + name;
}

std::string ReadFixture(const std::string& name) {
  std::ifstream in(Fixture(name), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Loaded {
  absl::StatusOr<LoadStats> stats;
  std::vector<Span> spans;
  int batches = 0;
};

Loaded Load(std::string_view data, LoadOptions options = {}) {
  Loaded out{LoadStats(), {}, 0};
  out.stats = LoadBuffer(data, "input.json", options, [&](std::vector<Span>& batch) {
    ++out.batches;
    out.spans.insert(out.spans.end(), batch.begin(), batch.end());
    return absl::OkStatus();
  });
  return out;
}

const Span* Find(const std::vector<Span>& spans, const std::string& name) {
  for (const Span& s : spans) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(LoaderTest, OtlpJsonEveryField) {
  auto loaded = LoadFile(Fixture("otlp_basic.json"), LoadOptions(), [](std::vector<Span>&) {
    return absl::OkStatus();
  });
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->spans, 3u);

  Loaded l = Load(ReadFixture("otlp_basic.json"));
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  ASSERT_EQ(l.spans.size(), 3u);
  const Span& root = *Find(l.spans, "POST /checkout");
  EXPECT_EQ(root.trace_id.ToHex(), "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(root.span_id.ToHex(), "eee19b7ec3c1b174");
  EXPECT_TRUE(root.is_root());
  EXPECT_EQ(root.trace_state, "congo=t61rcWkgMzE");
  EXPECT_EQ(root.flags, 257u);
  EXPECT_EQ(root.service_name, "checkout");
  EXPECT_EQ(root.resource_attributes.size(), 2u);
  EXPECT_EQ(root.resource_schema_url, "https://opentelemetry.io/schemas/1.24.0");
  EXPECT_EQ(root.scope_name, "io.opentelemetry.http");
  EXPECT_EQ(root.scope_version, "1.2.3");
  EXPECT_EQ(root.kind, SpanKind::kServer);
  EXPECT_EQ(root.start_time_unix_nano, 1544712660000000000u);
  EXPECT_EQ(root.end_time_unix_nano, 1544712661000000000u);
  EXPECT_EQ(root.status_code, StatusCode::kError);
  EXPECT_EQ(root.status_message, "payment timed out");
  EXPECT_EQ(root.dropped_attributes_count, 1u);
  EXPECT_EQ(*FindAttribute(root.attributes, "s"), AnyValue::String("h\xC3\xA9llo \xF0\x9F\x9A\x80"));
  EXPECT_EQ(*FindAttribute(root.attributes, "b"), AnyValue::Bool(true));
  EXPECT_EQ(*FindAttribute(root.attributes, "i"), AnyValue::Int(INT64_MIN));
  EXPECT_EQ(*FindAttribute(root.attributes, "n"), AnyValue::Int(42));
  EXPECT_EQ(*FindAttribute(root.attributes, "d"), AnyValue::Double(0.25));
  EXPECT_TRUE(std::isnan(FindAttribute(root.attributes, "nan")->double_value()));
  EXPECT_EQ(*FindAttribute(root.attributes, "raw"), AnyValue::BytesValue(std::string("\x00\x01\x02\xff", 4)));
  EXPECT_EQ(*FindAttribute(root.attributes, "arr"),
            AnyValue::ArrayValue({AnyValue::String("x"), AnyValue::Int(1)}));
  EXPECT_EQ(*FindAttribute(root.attributes, "map"),
            AnyValue::MapValue({{"k", AnyValue::Bool(false)}}));
  EXPECT_TRUE(FindAttribute(root.attributes, "empty")->empty());
  ASSERT_EQ(root.events.size(), 1u);
  EXPECT_EQ(root.events[0].name, "exception");
  EXPECT_EQ(root.events[0].time_unix_nano, 1544712660500000000u);
  ASSERT_EQ(root.links.size(), 1u);
  EXPECT_EQ(root.links[0].span_id.ToHex(), "0000000000000002");
  EXPECT_EQ(root.links[0].flags, 1u);

  const Span& child = *Find(l.spans, "charge");
  EXPECT_EQ(child.kind, SpanKind::kClient);
  EXPECT_EQ(child.parent_span_id, root.span_id);
  const Span& payment = *Find(l.spans, "POST /v1/charge");
  EXPECT_EQ(payment.service_name, "payment");
  EXPECT_EQ(payment.status_code, StatusCode::kOk);
  EXPECT_EQ(payment.scope_name, "manual");
}

TEST(LoaderTest, CollectorFileExporterAndVariants) {
  Loaded l = Load(ReadFixture("otlp_collector.jsonl"));
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  EXPECT_EQ(l.stats->documents, 3u);
  ASSERT_EQ(l.spans.size(), 3u);
  // Base64 ids (protobuf's canonical JSON mapping, as Tempo returns them).
  const Span& b64 = *Find(l.spans, "GET /");
  EXPECT_EQ(b64.trace_id.ToHex(), "5b8efff798038103d269b633813fc60c");
  EXPECT_EQ(b64.span_id.ToHex(), "eee19b7ec3c1b174");
  // The older instrumentationLibrarySpans key and snake_case field names.
  const Span& legacy = *Find(l.spans, "legacy-span");
  EXPECT_EQ(legacy.scope_name, "legacy");
  EXPECT_EQ(legacy.scope_version, "0.1");
  EXPECT_EQ(legacy.kind, SpanKind::kClient);
  EXPECT_EQ(legacy.start_time_unix_nano, 10u);
  // Tempo's {"batches": [...]}.
  EXPECT_EQ(Find(l.spans, "from-tempo")->service_name, "tempo");
}

TEST(LoaderTest, ConcatenatedDocuments) {
  const std::string basic = ReadFixture("otlp_basic.json");
  Loaded l = Load(basic + "\n" + basic + basic);
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  EXPECT_EQ(l.stats->documents, 3u);
  EXPECT_EQ(l.spans.size(), 9u);
}

TEST(LoaderTest, BadInputNamesLineAndPathAndKeepsWhatCameBefore) {
  Loaded l = Load(ReadFixture("otlp_bad.jsonl"));
  ASSERT_FALSE(l.stats.ok());
  EXPECT_EQ(l.stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(l.stats.status().message()), HasSubstr("input.json: line 2: invalid JSON"));
  ASSERT_EQ(l.spans.size(), 1u);  // line 1 was handed over before the error
  EXPECT_EQ(l.spans[0].name, "ok-1");

  LoadOptions skip;
  skip.skip_invalid = true;
  Loaded s = Load(ReadFixture("otlp_bad.jsonl"), skip);
  ASSERT_TRUE(s.stats.ok()) << s.stats.status();
  EXPECT_EQ(s.spans.size(), 2u);  // ok-1 and ok-4
  EXPECT_EQ(s.stats->skipped_documents, 1u);
  EXPECT_EQ(s.stats->skipped_spans, 1u);
  EXPECT_THAT(s.stats->first_error, HasSubstr("line 2"));
}

TEST(LoaderTest, SemanticErrorsNameTheJsonPath) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"0000000000000001"}]}]}]})",
       "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 32 hex digits or base64 of 16 bytes"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"0000000000000001"}]}]}]})",
       "spans[0]: missing traceId"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0000000000000001","kind":9}]}]}]})",
       "spans[0].kind: expected a span kind"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0000000000000001","startTimeUnixNano":"soon"}]}]}]})",
       "startTimeUnixNano: expected an unsigned integer"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0000000000000001","attributes":[{"key":"x","value":{"intValue":"1.5"}}]}]}]}]})",
       "attributes[0].value.intValue: expected a 64-bit integer"},
      {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"0000000000000001"}]}]}]})",
       "trace id is all zeros"},
      {R"({"something":"else"})", "not a known trace format"},
      {R"([{"traceId":"abc"}])", "zipkin-json: [0]: missing id"},
      {R"({"resourceSpans":[)", "the input ends inside a JSON document"},
  };
  for (const Case& c : cases) {
    Loaded l = Load(c.json);
    ASSERT_FALSE(l.stats.ok()) << c.json;
    EXPECT_THAT(std::string(l.stats.status().message()), HasSubstr(c.message)) << c.json;
  }
}

TEST(LoaderTest, DeepNestingIsRefused) {
  std::string value = "{\"intValue\":\"1\"}";
  for (int i = 0; i < 40; ++i) value = "{\"arrayValue\":{\"values\":[" + value + "]}}";
  const std::string json =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0000000000000001","attributes":[{"key":"deep","value":)" +
      value + "}]}]}]}]}";
  Loaded l = Load(json);
  ASSERT_FALSE(l.stats.ok());
  EXPECT_THAT(std::string(l.stats.status().message()), HasSubstr("nested too deeply"));
}

TEST(LoaderTest, RoundTripThroughOtlpJson) {
  test::RandomSpanOptions o;
  o.awkward = 0;  // arbitrary bytes are not UTF-8 and cannot survive JSON strings
  test::RandomSpans gen(21, o);
  std::vector<Span> spans;
  for (int i = 0; i < 30; ++i) {
    for (Span& s : gen.NextTrace(4)) spans.push_back(std::move(s));
  }
  std::string json;
  WriteOtlpJson(spans, &json);
  Loaded l = Load(json);
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  ASSERT_EQ(l.spans.size(), spans.size());
  // The writer groups by resource and scope, so compare as sets.
  auto key = [](const Span& s) { return std::make_pair(s.trace_id, s.span_id); };
  std::sort(spans.begin(), spans.end(), [&](const Span& a, const Span& b) { return key(a) < key(b); });
  std::sort(l.spans.begin(), l.spans.end(), [&](const Span& a, const Span& b) { return key(a) < key(b); });
  for (size_t i = 0; i < spans.size(); ++i) ASSERT_EQ(l.spans[i], spans[i]) << i;
}

TEST(LoaderTest, UnicodeAndControlCharactersSurviveJson) {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = 1;
  const char kName[] = "nul\0 tab\t quote\" backslash\\ \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x9A\x80";
  s.name = std::string(kName, sizeof kName - 1);
  std::string json;
  WriteOtlpJson({s}, &json);
  Loaded l = Load(json);
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  ASSERT_EQ(l.spans.size(), 1u);
  EXPECT_EQ(l.spans[0].name, s.name);
}

TEST(LoaderTest, GzipAndZstdInput) {
  const std::string json = ReadFixture("otlp_basic.json");
  // gzip
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string gz(deflateBound(&z, json.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(json.data()));
  z.avail_in = json.size();
  z.next_out = reinterpret_cast<Bytef*>(gz.data());
  z.avail_out = gz.size();
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  gz.resize(z.total_out);
  deflateEnd(&z);
  Loaded g = Load(gz);
  ASSERT_TRUE(g.stats.ok()) << g.stats.status();
  EXPECT_EQ(g.spans.size(), 3u);
  EXPECT_FALSE(Load(gz.substr(0, gz.size() / 2)).stats.ok());
  // zstd
  std::string zst(ZSTD_compressBound(json.size()), '\0');
  zst.resize(ZSTD_compress(zst.data(), zst.size(), json.data(), json.size(), 3));
  Loaded zs = Load(zst);
  ASSERT_TRUE(zs.stats.ok()) << zs.stats.status();
  EXPECT_EQ(zs.spans.size(), 3u);
  Loaded truncated = Load(zst.substr(0, zst.size() - 5));
  ASSERT_FALSE(truncated.stats.ok());
  // A decompression bomb is refused.
  LoadOptions small;
  small.max_input_bytes = 100;
  EXPECT_EQ(Load(gz, small).stats.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(LoaderTest, DocumentOverTheLimitIsRefused) {
  const std::string small_doc =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",)"
      R"("spanId":"0102030405060708","name":"a"}]}]}]})";
  // A document over the limit is split at its resourceSpans: the element is what is too big.
  const std::string big_doc =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10",)"
      R"("spanId":"0102030405060709","name":")" +
      std::string(300, 'x') + R"("}]}]}]})";
  LoadOptions o;
  o.max_document_bytes = 200;
  // Newline-delimited: the big line is refused by line number; what came before stays loaded.
  Loaded l = Load(small_doc + "\n" + big_doc + "\n" + small_doc + "\n", o);
  ASSERT_FALSE(l.stats.ok());
  EXPECT_EQ(std::string(l.stats.status().message()),
            "input.json: line 2: a resourceSpans element of more than 200 bytes is over the "
            "limit (LoadOptions::max_document_bytes) (byte 153)");
  EXPECT_EQ(l.spans.size(), 1u);
  o.skip_invalid = true;
  l = Load(small_doc + "\n" + big_doc + "\n" + small_doc + "\n", o);
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  EXPECT_EQ(l.spans.size(), 2u);
  EXPECT_EQ(l.stats->skipped_documents, 1u);
  EXPECT_THAT(l.stats->first_error, HasSubstr("line 2: a resourceSpans element"));
  // Concatenated documents (not newline-delimited), and a document with nothing to split.
  o.skip_invalid = false;
  l = Load(small_doc + " " + R"({"other":")" + std::string(300, 'x') + R"("})", o);
  ASSERT_FALSE(l.stats.ok());
  EXPECT_THAT(std::string(l.stats.status().message()),
              HasSubstr("line 1: a JSON document is larger than the 200-byte document limit"));
  EXPECT_EQ(l.spans.size(), 1u);
}

TEST(LoaderTest, BatchesAndSinkErrors) {
  const std::string basic = ReadFixture("otlp_basic.json");
  LoadOptions o;
  o.batch_spans = 2;
  Loaded l = Load(basic + basic, o);
  ASSERT_TRUE(l.stats.ok());
  EXPECT_EQ(l.batches, 3);
  int calls = 0;
  auto stats = LoadBuffer(basic, "x", o, [&](std::vector<Span>&) {
    ++calls;
    return absl::ResourceExhaustedError("disk full");
  });
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(LoadFile("/nonexistent/file.json", o, [](std::vector<Span>&) {
                 return absl::OkStatus();
               }).ok());
}

// The Collector's length-prefixed protobuf file of the given messages.
std::string LengthPrefixed(const std::vector<std::string>& messages) {
  std::string out;
  for (const std::string& m : messages) {
    const uint32_t n = m.size();
    const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
    out.append(len, 4);
    out += m;
  }
  return out;
}

TEST(LoaderTest, OtlpProtoBatchesAreExactAcrossMessages) {
  // Protobuf messages are decoded in place into the batch; batches still hold exactly
  // batch_spans spans (the last fewer), in input order, whatever the message sizes, and a bad
  // message (skipped) contributes nothing.
  test::RandomSpanOptions ro;
  ro.huge_string_bytes = 100;
  test::RandomSpans gen(21, ro);
  std::vector<std::string> messages;
  std::vector<Span> want;
  for (int size : {1, 7, 3, 12, 0, 5, 9, 4, 2}) {
    std::vector<Span> trace = size == 0 ? std::vector<Span>() : gen.NextTrace(size);
    std::string m;
    EncodeOtlpTraces(trace, &m);
    std::vector<Span> decoded;
    ASSERT_TRUE(DecodeOtlpTraces(m, &decoded).ok());
    want.insert(want.end(), decoded.begin(), decoded.end());
    messages.push_back(std::move(m));
    if (size == 12) messages.push_back(messages.back().substr(0, messages.back().size() / 2));
  }
  LoadOptions o;
  o.batch_spans = 4;
  o.skip_invalid = true;
  std::vector<Span> got;
  std::vector<size_t> sizes;
  int call = 0;
  auto stats = LoadBuffer(LengthPrefixed(messages), "p.pb", o, [&](std::vector<Span>& batch) {
    sizes.push_back(batch.size());
    got.insert(got.end(), batch.begin(), batch.end());
    // A sink may do what it likes with the vector; later batches must not care.
    switch (call++ % 4) {
      case 0:
        for (Span& s : batch) Span moved = std::move(s);
        break;
      case 1:
        batch.clear();
        break;
      case 2:
        batch.emplace_back().name = "added by the sink";
        break;
      default:
        batch.resize(1);
        batch[0].attributes.clear();
        break;
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->format, TraceFormat::kOtlpProtoStream);
  EXPECT_EQ(stats->documents, messages.size());
  EXPECT_EQ(stats->skipped_documents, 1u);
  EXPECT_EQ(stats->spans, want.size());
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got, want);
  for (size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 4u) << i;
  EXPECT_EQ(sizes.back(), want.size() % 4 == 0 ? 4u : want.size() % 4);

  // Without skip_invalid the bad message stops the load; what came before was handed on.
  o.skip_invalid = false;
  size_t handed = 0;
  auto failed = LoadBuffer(LengthPrefixed(messages), "p.pb", o, [&](std::vector<Span>& batch) {
    handed += batch.size();
    return absl::OkStatus();
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(std::string(failed.status().message()),
              HasSubstr("p.pb: otlp-proto-stream message at byte"));
  EXPECT_EQ(handed, 1u + 7 + 3 + 12);
}

// Hardening issue, item 4: input that is not a trace file, or that would take unbounded memory.
TEST(LoaderTest, ZerosGarbageAndBombsAreRefusedQuickly) {
  // 100 MB of zeros used to load as 26 million empty protobuf messages (exit 0).
  const std::string zeros(100 << 20, '\0');
  Loaded z = Load(zeros);
  ASSERT_FALSE(z.stats.ok());
  EXPECT_THAT(std::string(z.stats.status().message()), HasSubstr("unknown or empty format"));
  // Text is "unknown format", not a protobuf length error.
  for (const std::string& garbage : {std::string("hello, world\n"), std::string("\n\n  hello"),
                                     std::string("\x37\x81\x02garbage")}) {
    Loaded g = Load(garbage);
    ASSERT_FALSE(g.stats.ok()) << garbage;
    EXPECT_THAT(std::string(g.stats.status().message()), HasSubstr("unknown or empty format"))
        << garbage;
  }
  // A gzip of 64 MiB of zeros is refused at its first bytes, not inflated into memory.
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string gz(1 << 20, '\0');
  const std::string chunk(1 << 20, '\0');
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = gz.size();
  for (int i = 0; i < 64; ++i) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    zs.avail_in = chunk.size();
    ASSERT_EQ(deflate(&zs, i == 63 ? Z_FINISH : Z_NO_FLUSH), i == 63 ? Z_STREAM_END : Z_OK);
  }
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  Loaded bomb = Load(gz);
  ASSERT_FALSE(bomb.stats.ok());
  EXPECT_THAT(std::string(bomb.stats.status().message()), HasSubstr("unknown or empty format"));
  // One JSON string that inflates past the piece limit: refused with line, byte and limit.
  const std::string doc = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":")" +
                          std::string(8 << 20, 'a') + R"("}]}]}]})";
  LoadOptions o;
  o.max_document_bytes = 1 << 20;
  Loaded big = Load(doc, o);
  ASSERT_FALSE(big.stats.ok());
  EXPECT_EQ(std::string(big.stats.status().message()),
            "input.json: line 1: a resourceSpans element of more than 1048576 bytes is over the "
            "limit (LoadOptions::max_document_bytes) (byte 18)");
}

TEST(LoaderTest, DocumentLargerThanThePieceLimitStreams) {
  // 30,000 resourceSpans in one ~6 MiB document, loaded with a 64 KiB piece limit: the old
  // loader refused it (or held it whole); now it is read element by element.
  std::string doc = "{\"resourceSpans\": [\n";
  for (int i = 0; i < 30000; ++i) {
    doc += absl::StrFormat(
        R"(%s{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s%d"}}]},)"
        R"("scopeSpans":[{"spans":[{"traceId":"%032x","spanId":"%016x","name":"op"}]}]})",
        i ? ",\n" : "", i % 7, i + 1, i + 1);
  }
  doc += "\n]}";
  ASSERT_GT(doc.size(), 4u << 20);
  LoadOptions o;
  o.max_document_bytes = 64 << 10;
  Loaded l = Load(doc, o);
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  EXPECT_EQ(l.spans.size(), 30000u);
  EXPECT_EQ(l.stats->documents, 1u);
  EXPECT_EQ(l.spans[29999].service_name, "s" + std::to_string(29999 % 7));
  // An error deep inside names the element's line and index; what came before was handed on.
  const size_t bad = doc.find("\"spanId\":\"0000000000004e20\"");  // element 19999
  ASSERT_NE(bad, std::string::npos);
  std::string broken = doc;
  broken.replace(bad + 10, 16, "zzzzzzzzzzzzzzzz");
  Loaded b = Load(broken, o);
  ASSERT_FALSE(b.stats.ok());
  EXPECT_THAT(std::string(b.stats.status().message()),
              HasSubstr("input.json: line 20001: otlp-json: resourceSpans[19999].scopeSpans[0]."
                        "spans[0].spanId"));
  EXPECT_EQ(b.spans.size(), 19999u);
}

// Hardening issue, item 8: a span the store would refuse is found where it is read.
TEST(LoaderTest, ValidateNamesThePositionAndSkipCountsExactly) {
  std::string jsonl;
  for (int i = 0; i < 5; ++i) {
    jsonl += absl::StrFormat(
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%032x","spanId":"%016x","name":"%s"}]}]}]})"
        "\n",
        i + 1, i + 1, i == 2 || i == 4 ? std::string(300, 'x') : "ok");
  }
  LoadOptions o;
  o.validate = [](const Span& s) {
    return s.name.size() > 100 ? absl::InvalidArgumentError("name longer than 100 bytes")
                               : absl::OkStatus();
  };
  Loaded l = Load(jsonl, o);
  ASSERT_FALSE(l.stats.ok());
  EXPECT_EQ(std::string(l.stats.status().message()),
            "input.json: line 3: otlp-json: resourceSpans[0].scopeSpans[0].spans[0]: name longer "
            "than 100 bytes");
  EXPECT_EQ(l.spans.size(), 2u);
  o.skip_invalid = true;
  l = Load(jsonl, o);
  ASSERT_TRUE(l.stats.ok());
  EXPECT_EQ(l.spans.size(), 3u);
  EXPECT_EQ(l.stats->skipped_spans, 2u);
  EXPECT_THAT(l.stats->first_error, HasSubstr("line 3"));
  // Protobuf: the message's byte offset.
  std::vector<Span> spans(1);
  spans[0].trace_id.bytes[15] = 1;
  spans[0].span_id.bytes[7] = 1;
  spans[0].name = std::string(300, 'x');
  std::string message;
  EncodeOtlpTraces(spans, &message);
  o.skip_invalid = false;
  Loaded p = Load(LengthPrefixed({message, message}), o);
  ASSERT_FALSE(p.stats.ok());
  EXPECT_THAT(std::string(p.stats.status().message()),
              HasSubstr("otlp-proto-stream message at byte 0: name longer than 100 bytes"));
}

// The json_loader fuzzer's seed corpus through the streaming path, whole and split into tiny
// pieces (fuzz/json_loader_fuzz.cc does the same on mutated input): nothing crashes, and a
// split load hands over the same spans as a whole one when both succeed.
TEST(LoaderTest, FuzzCorpusLoadsTheSameWholeAndSplit) {
  int files = 0;
  for (const std::string& dir :
       {std::string(SPANSTORE_TESTDATA_DIR) + "/../../fuzz/corpus/json_loader",
        std::string(SPANSTORE_TESTDATA_DIR)}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string data((std::istreambuf_iterator<char>(in)), {});
      ++files;
      LoadOptions whole, split;
      split.max_document_bytes = 512;
      for (bool skip : {false, true}) {
        whole.skip_invalid = split.skip_invalid = skip;
        Loaded a = Load(data, whole);
        Loaded b = Load(data, split);
        if (a.stats.ok() && b.stats.ok() &&
            b.stats->skipped_documents == a.stats->skipped_documents) {
          EXPECT_EQ(a.spans, b.spans) << entry.path();
        }
      }
    }
  }
  EXPECT_GT(files, 5);
}

TEST(LoaderTest, EmptyInputLoadsNothing) {
  Loaded l = Load("  \n ");
  ASSERT_TRUE(l.stats.ok());
  EXPECT_EQ(l.spans.size(), 0u);
}

}  // namespace
}  // namespace spanstore

namespace spanstore {
namespace {

TEST(LoaderTest, JaegerMapping) {
  Loaded l = Load(ReadFixture("jaeger_trace.json"));
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  EXPECT_EQ(l.stats->format, TraceFormat::kJaegerJson);
  ASSERT_EQ(l.spans.size(), 2u);
  const Span& root = *Find(l.spans, "HTTP GET /dispatch");
  EXPECT_EQ(root.trace_id.ToHex(), "0000000000000000a3ce929d0e0e4736");  // leading zeros dropped
  EXPECT_EQ(root.span_id.ToHex(), "0000000000000001");
  EXPECT_TRUE(root.is_root());
  EXPECT_EQ(root.kind, SpanKind::kServer);
  EXPECT_EQ(root.start_time_unix_nano, 1700000000000000000u);
  EXPECT_EQ(root.duration_nanos(), 730000000u);
  EXPECT_EQ(root.service_name, "frontend");
  EXPECT_EQ(*FindAttribute(root.resource_attributes, "hostname"), AnyValue::String("host-1"));
  EXPECT_EQ(*FindAttribute(root.attributes, "http.status_code"), AnyValue::Int(200));
  EXPECT_EQ(*FindAttribute(root.attributes, "sampler.param"), AnyValue::Bool(true));
  EXPECT_EQ(*FindAttribute(root.attributes, "ratio"), AnyValue::Double(0.5));
  EXPECT_EQ(*FindAttribute(root.attributes, "blob"), AnyValue::BytesValue("\x01\x02\x03"));
  EXPECT_EQ(FindAttribute(root.attributes, "span.kind"), nullptr);  // consumed
  EXPECT_EQ(root.scope_name, "jaeger-go");
  ASSERT_EQ(root.events.size(), 1u);
  EXPECT_EQ(root.events[0].name, "cache miss");
  EXPECT_EQ(root.events[0].time_unix_nano, 1700000000100000000u);
  EXPECT_EQ(root.flags, 1u);

  const Span& child = *Find(l.spans, "SQL SELECT");
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_EQ(child.kind, SpanKind::kClient);
  EXPECT_EQ(child.status_code, StatusCode::kError);
  EXPECT_EQ(child.service_name, "mysql");
  ASSERT_EQ(child.links.size(), 1u);  // FOLLOWS_FROM becomes a link
  EXPECT_EQ(child.links[0].span_id.ToHex(), "0000000000000009");
  EXPECT_EQ(*FindAttribute(child.links[0].attributes, "opentracing.ref_type"),
            AnyValue::String("follows_from"));
}

TEST(LoaderTest, ZipkinMapping) {
  Loaded l = Load(ReadFixture("zipkin_spans.json"));
  ASSERT_TRUE(l.stats.ok()) << l.stats.status();
  EXPECT_EQ(l.stats->format, TraceFormat::kZipkinJson);
  ASSERT_EQ(l.spans.size(), 4u);
  const Span& root = *Find(l.spans, "get /api");
  EXPECT_EQ(root.trace_id.ToHex(), "0000000000000000a3ce929d0e0e4736");  // 64-bit id
  EXPECT_EQ(root.kind, SpanKind::kServer);
  EXPECT_EQ(root.service_name, "frontend");
  EXPECT_EQ(root.duration_nanos(), 50000000u);
  EXPECT_EQ(*FindAttribute(root.attributes, "http.method"), AnyValue::String("GET"));
  EXPECT_EQ(*FindAttribute(root.attributes, "net.host.port"), AnyValue::Int(8080));
  ASSERT_EQ(root.events.size(), 1u);
  EXPECT_EQ(root.events[0].name, "wr");

  const Span* client = nullptr;
  const Span* server = nullptr;
  for (const Span& s : l.spans) {
    if (s.name == "get /backend") (s.kind == SpanKind::kClient ? client : server) = &s;
  }
  ASSERT_TRUE(client && server);
  EXPECT_EQ(client->status_code, StatusCode::kError);
  EXPECT_EQ(client->status_message, "connection reset");
  EXPECT_EQ(*FindAttribute(client->attributes, "peer.service"), AnyValue::String("backend"));
  // The shared server half gets its own id, under the client half.
  EXPECT_NE(server->span_id, client->span_id);
  EXPECT_EQ(server->parent_span_id, client->span_id);
  EXPECT_EQ(server->service_name, "backend");

  // Without a timestamp, the span starts with its parent (not in 1970).
  const Span& untimed = *Find(l.spans, "no timestamp");
  EXPECT_EQ(untimed.start_time_unix_nano, root.start_time_unix_nano);
  EXPECT_EQ(*FindAttribute(untimed.attributes, "zipkin.timestamp_from"),
            AnyValue::String("parent"));
  EXPECT_EQ(untimed.kind, SpanKind::kUnspecified);
}

TEST(LoaderTest, JaegerAndZipkinErrors) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"zz"}],"processes":{}}]})",
       "jaeger-json: data[0].spans[0].spanID: span id: 'z' at position 1 is not a hex digit"},
      {R"({"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"2","processID":"p9"}],"processes":{}}]})",
       "processID: no process \"p9\""},
      {R"({"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"2","tags":[{"key":"x","type":"int64","value":"many"}]}],"processes":{}}]})",
       "tags[0].value: value does not match its type int64"},
      {R"([{"traceId":"1","id":"2","kind":"SIDEWAYS"}])",
       "zipkin-json: [0].kind: expected CLIENT, SERVER, PRODUCER or CONSUMER"},
      {R"([{"id":"2"}])", "zipkin-json: [0]: missing traceId"},
      {R"([{"traceId":"1","id":"2","tags":{"n":5}}])", "tag \"n\" is not a string"},
      {R"({"neither":"format"})", "not a known trace format"},
  };
  for (const Case& c : cases) {
    Loaded l = Load(c.json);
    ASSERT_FALSE(l.stats.ok()) << c.json;
    EXPECT_THAT(std::string(l.stats.status().message()), HasSubstr(c.message)) << c.json;
  }
}

}  // namespace
}  // namespace spanstore
