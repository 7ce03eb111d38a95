// JsonSplitter (formats/json_splitter.cc): how a stream of JSON is cut into pieces, with
// positions, limits and recovery.

#include "formats/json_splitter.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

// An OTLP element with one span; about 150 bytes plus `pad`.
std::string Element(int i, size_t pad = 0) {
  return absl::StrFormat(
      R"({"scopeSpans":[{"spans":[{"traceId":"%032x","spanId":"%016x","name":"s%d%s"}]}]})", i + 1,
      i + 1, i, std::string(pad, 'x'));
}

struct Split {
  absl::Status status;
  std::vector<JsonPiece> pieces;
  std::vector<std::string> texts;
};

Split SplitAll(std::string_view input, TraceFormat format = TraceFormat::kAuto,
               uint64_t max_piece = 64 << 20) {
  auto in = MemoryInput(input);
  JsonSplitter splitter(in.get(), "in.json", format, max_piece);
  Split out;
  JsonPiece piece;
  while (true) {
    auto more = splitter.Next(&piece);
    if (!more.ok()) {
      out.status = more.status();
      break;
    }
    if (!*more) break;
    out.pieces.push_back(piece);
    out.texts.emplace_back(piece.text);
  }
  return out;
}

TEST(JsonSplitterTest, SmallDocumentsAreWhole) {
  Split s = SplitAll("{\"resourceSpans\":[" + Element(0) + "]}\n  [1, 2]\n{\"data\":[]}");
  ASSERT_TRUE(s.status.ok()) << s.status;
  ASSERT_EQ(s.pieces.size(), 3u);
  for (const JsonPiece& p : s.pieces) EXPECT_EQ(p.kind, JsonPiece::Kind::kDocument);
  EXPECT_EQ(s.texts[1], "[1, 2]");
  EXPECT_EQ(s.pieces[1].line, 2u);
  EXPECT_EQ(s.pieces[1].offset, s.texts[0].size() + 3);
  EXPECT_EQ(s.pieces[2].document, 3u);
}

TEST(JsonSplitterTest, LargeOtlpDocumentIsSplitAtResourceSpans) {
  // ~6 MiB, one element per line, with another member before and after the array.
  std::string doc = "{\"other\": {\"x\": [1]},\n \"resourceSpans\": [\n";
  const int n = 40000;
  for (int i = 0; i < n; ++i) doc += (i ? ",\n" : "") + Element(i);
  doc += "\n], \"after\": \"]}\"}";
  ASSERT_GT(doc.size(), JsonSplitter::kWholeDocumentBytes);
  Split s = SplitAll(doc);
  ASSERT_TRUE(s.status.ok()) << s.status;
  ASSERT_GE(s.pieces.size(), 3u);
  EXPECT_EQ(s.pieces.back().kind, JsonPiece::Kind::kDocumentEnd);
  size_t next = 0;
  for (size_t k = 0; k + 1 < s.pieces.size(); ++k) {
    const JsonPiece& p = s.pieces[k];
    EXPECT_EQ(p.kind, JsonPiece::Kind::kResourceSpans);
    EXPECT_LE(p.text.size(), JsonSplitter::kPieceBytes + 1024);  // bounded, whatever the input
    EXPECT_THAT(s.texts[k], ::testing::StartsWith("{\"resourceSpans\":["));
    EXPECT_EQ(p.first_index, next);
    for (const JsonPiece::Element& e : p.elements) {
      // Element i sits on line i + 3, and the offsets point at it in the input.
      EXPECT_EQ(e.line, next + 3);
      EXPECT_EQ(doc.substr(e.offset, e.end - e.begin), s.texts[k].substr(e.begin, e.end - e.begin));
      ++next;
    }
  }
  EXPECT_EQ(next, static_cast<size_t>(n));
}

TEST(JsonSplitterTest, JaegerAndZipkinAreSplitPerTraceAndSpan) {
  std::string jaeger = "{\"data\":[";
  std::string zipkin = "[";
  for (int i = 0; i < 30000; ++i) {
    jaeger +=
        (i ? "," : "") +
        absl::StrFormat(R"({"traceID":"%x","spans":[],"processes":{},"pad":"%0120d"})", i + 1, i);
    zipkin += (i ? "," : "") +
              absl::StrFormat(R"({"traceId":"%x","id":"%x","name":"%0150d"})", i + 1, i + 1, i);
  }
  jaeger += "],\"total\":0,\"errors\":null}";
  zipkin += "]";
  Split j = SplitAll(jaeger);
  ASSERT_TRUE(j.status.ok()) << j.status;
  EXPECT_EQ(j.pieces[0].kind, JsonPiece::Kind::kJaegerTraces);
  Split z = SplitAll(zipkin);
  ASSERT_TRUE(z.status.ok()) << z.status;
  EXPECT_EQ(z.pieces[0].kind, JsonPiece::Kind::kZipkinSpans);
  EXPECT_THAT(z.texts[0], ::testing::StartsWith("[{\"traceId\":\"1\""));
  size_t total = 0;
  for (const JsonPiece& p : z.pieces) total += p.elements.size();
  EXPECT_EQ(total, 30000u);
  // A format given up front splits only its own shape.
  Split forced = SplitAll(zipkin, TraceFormat::kOtlpJson, 8 << 20);
  ASSERT_TRUE(forced.status.ok());
  EXPECT_EQ(forced.pieces.size(), 1u);
  EXPECT_EQ(forced.pieces[0].kind, JsonPiece::Kind::kDocument);
}

TEST(JsonSplitterTest, ElementOverTheLimitNamesItsPlaceAndCanBeSkipped) {
  std::string doc =
      "{\"resourceSpans\":[\n" + Element(0) + ",\n" + Element(1, 5000) + ",\n" + Element(2) + "]}";
  auto in = MemoryInput(doc);
  JsonSplitter splitter(in.get(), "in.json", TraceFormat::kAuto, 1000);
  JsonPiece piece;
  auto more = splitter.Next(&piece);  // element 0, handed over before the problem
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(piece.elements.size(), 1u);
  more = splitter.Next(&piece);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(std::string(more.status().message()),
              HasSubstr("in.json: line 3: a resourceSpans element of more than 1000 bytes"));
  ASSERT_TRUE(splitter.Recover());
  more = splitter.Next(&piece);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(piece.first_index, 2u);
}

TEST(JsonSplitterTest, BrokenStructure) {
  struct Case {
    std::string input;
    const char* message;
  } cases[] = {
      {"{\"resourceSpans\":[", "line 1: the input ends inside a JSON document"},
      {"\n\nhello", "line 3: invalid JSON: expected a document"},
      {"{\"a\":\"unterminated", "the input ends inside a JSON document"},
  };
  for (const Case& c : cases) {
    Split s = SplitAll(c.input);
    ASSERT_FALSE(s.status.ok()) << c.input;
    EXPECT_THAT(std::string(s.status.message()), HasSubstr(c.message)) << c.input;
  }
  // Split documents check the commas between elements.
  std::string doc = "{\"resourceSpans\":[" + Element(0, 5 << 20) + " " + Element(1) + "]}";
  Split s = SplitAll(doc);
  ASSERT_FALSE(s.status.ok());
  EXPECT_THAT(std::string(s.status.message()), HasSubstr("expected ',' or ']'"));
}

TEST(JsonSplitterTest, NewlineDelimitedInputIsTakenLineByLine) {
  // Once the input is seen to be one document per line, a line is a document: a broken one is
  // handed over as it is (simdjson reports it, the loader names the line) and does not swallow
  // the lines after it.
  const std::string good = "{\"resourceSpans\":[" + Element(0) + "]}";
  const std::string input = good + "\n{\"resourceSpans\":[\r\n\n" + good + "\n" + good;
  Split s = SplitAll(input);
  ASSERT_TRUE(s.status.ok()) << s.status;
  ASSERT_EQ(s.pieces.size(), 4u);
  EXPECT_EQ(s.texts[1], "{\"resourceSpans\":[");
  EXPECT_EQ(s.pieces[1].line, 2u);
  EXPECT_EQ(s.texts[2], good);
  EXPECT_EQ(s.pieces[2].line, 4u);
  EXPECT_EQ(s.pieces[3].line, 5u);
  EXPECT_EQ(s.texts[3], good);
}

TEST(JsonSplitterTest, PrettyPrintedDocumentsAreNotNewlineDelimited) {
  const std::string pretty = "{\n  \"resourceSpans\": [\n    " + Element(0) + "\n  ]\n}\n";
  Split s = SplitAll("{}\n" + pretty + pretty);
  ASSERT_FALSE(s.status.ok());  // "{}" on one line made it look newline-delimited: said so
  Split t = SplitAll(pretty + pretty);
  ASSERT_TRUE(t.status.ok()) << t.status;
  ASSERT_EQ(t.pieces.size(), 2u);
  EXPECT_EQ(t.pieces[1].line, 6u);
}

}  // namespace
}  // namespace spanstore
