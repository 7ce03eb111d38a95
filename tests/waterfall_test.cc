// Tests of spanctl's text rendering (tools/spanctl/render.h): the trace waterfall with its
// critical path and gaps, and the time, duration, byte and table formats.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/spanctl/render.h"

namespace spanstore::spanctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kT0 = 1'767'225'600'000'000'000ull;  // 2026-01-01T00:00:00Z
constexpr uint64_t kMs = 1'000'000;

SpanId Id(uint8_t n) {
  SpanId id;
  id.bytes[7] = n;
  return id;
}

// A span `n` (parent `parent`, 0 for a root) running [start_ms, end_ms) after kT0.
Span MakeSpan(uint8_t n, uint8_t parent, const std::string& service, const std::string& name,
              uint64_t start_ms, uint64_t end_ms) {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id = Id(n);
  if (parent != 0) s.parent_span_id = Id(parent);
  s.service_name = service;
  s.name = name;
  s.start_time_unix_nano = kT0 + start_ms * kMs;
  s.end_time_unix_nano = kT0 + end_ms * kMs;
  return s;
}

// frontend GET /checkout [0, 100)
//   checkout PlaceOrder [5, 95)
//     cart GetCart [10, 20)
//     payment Charge [60, 90)   <- 40 ms idle before it
//   ad GetAds [2, 8)
Trace CheckoutTrace() {
  Trace t;
  t.trace_id.bytes[15] = 1;
  t.spans = {MakeSpan(1, 0, "frontend", "GET /checkout", 0, 100),
             MakeSpan(6, 1, "ad", "GetAds", 2, 8), MakeSpan(2, 1, "checkout", "PlaceOrder", 5, 95),
             MakeSpan(3, 2, "cart", "GetCart", 10, 20),
             MakeSpan(4, 2, "payment", "Charge", 60, 90)};
  t.total_spans = t.spans.size();
  return t;
}

TEST(WaterfallTest, CriticalPathFollowsTheLastFinishingChildren) {
  const Trace t = CheckoutTrace();
  // Walking back from the root's end: PlaceOrder, inside it Charge then GetCart (which finished
  // before Charge started), then GetAds, which the root was waiting on before PlaceOrder began.
  EXPECT_THAT(CriticalPath(t), ElementsAre(0u, 2u, 4u, 3u, 1u));
}

TEST(WaterfallTest, LargestGapIsTheIdleTimeBeforePayment) {
  const std::vector<Gap> gaps = LargestGaps(CheckoutTrace(), 3);
  ASSERT_FALSE(gaps.empty());
  EXPECT_EQ(gaps[0].span, 4u);
  EXPECT_EQ(gaps[0].nanos, 40 * kMs);
  for (size_t i = 1; i < gaps.size(); ++i) EXPECT_LE(gaps[i].nanos, gaps[i - 1].nanos);
  EXPECT_EQ(LargestGaps(CheckoutTrace(), 1).size(), 1u);
}

TEST(WaterfallTest, RenderShowsTreeBarsDurationsAndMarks) {
  const std::string out = RenderWaterfall(CheckoutTrace(), WaterfallOptions{});
  EXPECT_THAT(out, HasSubstr("trace 00000000000000000000000000000001  5 spans  100.00ms  "
                             "started 2026-01-01T00:00:00.000Z"));
  // Children are indented under their parent, in start order; the critical path is starred.
  const size_t root = out.find("* frontend GET /checkout");
  const size_t ad = out.find("  * ad GetAds");
  const size_t place = out.find("  * checkout PlaceOrder");
  const size_t cart = out.find("cart GetCart");
  const size_t pay = out.find("    * payment Charge");
  ASSERT_NE(root, std::string::npos) << out;
  ASSERT_NE(ad, std::string::npos) << out;
  ASSERT_NE(place, std::string::npos) << out;
  ASSERT_NE(cart, std::string::npos) << out;
  ASSERT_NE(pay, std::string::npos) << out;
  EXPECT_LT(root, ad);
  EXPECT_LT(ad, place);
  EXPECT_LT(place, cart);
  EXPECT_LT(cart, pay);
  EXPECT_THAT(out, HasSubstr("30.00ms  <- gap 40.00ms"));
  EXPECT_THAT(out, HasSubstr("█"));
  EXPECT_THAT(out, Not(HasSubstr("\033[")));  // no color unless asked
  EXPECT_THAT(RenderWaterfall(CheckoutTrace(), WaterfallOptions{.color = true}),
              HasSubstr("\033[0m"));
}

TEST(WaterfallTest, BarsArePlacedOnTheTraceTimeAxis) {
  WaterfallOptions o;
  o.width = 100;
  const std::string out = RenderWaterfall(CheckoutTrace(), o);
  auto bar_of = [&](const std::string& label) {
    const size_t found = out.find(label);
    EXPECT_NE(found, std::string::npos) << label;
    const size_t at = out.rfind('\n', found) + 1;  // the start of the label's line
    const std::string line = out.substr(at, out.find('\n', at) - at);
    // Where the bar starts (labels and blanks are ASCII) and how many blocks it has (each block
    // is 3 bytes of UTF-8).
    const size_t first = line.find("█");
    const size_t last = line.rfind("█");
    return std::pair<size_t, size_t>(first, (last - first) / 3 + 1);
  };
  const auto root = bar_of("frontend GET /checkout");
  const auto pay = bar_of("payment Charge");
  // The root spans the whole axis; payment covers [60%, 90%) of it.
  EXPECT_NEAR(static_cast<double>(pay.second) / root.second, 0.3, 0.05);
  EXPECT_NEAR(static_cast<double>(pay.first - root.first) / root.second, 0.6, 0.05);
}

TEST(WaterfallTest, ErrorsAndMissingParents) {
  Trace t = CheckoutTrace();
  t.spans[4].status_code = StatusCode::kError;
  // A span whose parent was never stored is shown as a root of its own.
  t.spans.push_back(MakeSpan(9, 42, "email", "Send", 96, 99));
  const std::string out = RenderWaterfall(t, WaterfallOptions{});
  EXPECT_THAT(out, HasSubstr("*!payment Charge"));
  EXPECT_THAT(out, HasSubstr("\n  email Send"));
}

TEST(WaterfallTest, ParentCyclesAndSelfParentsDoNotLoseSpans) {
  // Damaged input: 1 and 2 name each other as parent, 3 names itself.
  Trace t;
  t.trace_id.bytes[15] = 1;
  t.spans = {MakeSpan(1, 2, "a", "one", 0, 10), MakeSpan(2, 1, "b", "two", 1, 5),
             MakeSpan(3, 3, "c", "three", 2, 4)};
  const std::string out = RenderWaterfall(t, WaterfallOptions{});
  EXPECT_THAT(out, HasSubstr("a one"));
  EXPECT_THAT(out, HasSubstr("b two"));
  EXPECT_THAT(out, HasSubstr("c three"));
  EXPECT_FALSE(CriticalPath(t).empty());
  LargestGaps(t, 3);
}

TEST(WaterfallTest, EmptyAndTruncatedTraces) {
  EXPECT_EQ(RenderWaterfall(Trace{}, WaterfallOptions{}), "");
  EXPECT_TRUE(CriticalPath(Trace{}).empty());
  EXPECT_TRUE(LargestGaps(Trace{}, 3).empty());
  Trace t = CheckoutTrace();
  t.truncated = true;
  t.total_spans = 5000;
  EXPECT_THAT(RenderWaterfall(t, WaterfallOptions{}), HasSubstr("(showing 5 of 5000 spans)"));
}

TEST(WaterfallTest, LongLabelsAreCut) {
  Trace t = CheckoutTrace();
  t.spans[0].name = std::string(200, 'x');
  WaterfallOptions o;
  o.width = 80;
  const std::string out = RenderWaterfall(t, o);
  EXPECT_THAT(out, HasSubstr("x~ "));
  EXPECT_THAT(out, Not(HasSubstr(std::string(200, 'x'))));
}

TEST(RenderFormatTest, TimesDurationsBytes) {
  EXPECT_EQ(FormatTime(kT0 + 1'234 * kMs), "2026-01-01T00:00:01.234Z");
  EXPECT_EQ(FormatDuration(850), "850ns");
  EXPECT_EQ(FormatDuration(12'300), "12.3us");
  EXPECT_EQ(FormatDuration(1'230'000), "1.23ms");
  EXPECT_EQ(FormatDuration(5'010'000'000ull), "5.01s");
  EXPECT_EQ(FormatDuration(123'000'000'000ull), "2m03s");
  EXPECT_EQ(FormatDuration(7'380'000'000'000ull), "2h03m");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(35ull << 20), "35.0 MiB");
}

TEST(RenderFormatTest, TableAlignsColumnsAndRightAlignsNumbers) {
  const std::string out =
      FormatTable({"service", "spans", "name"}, {{"frontend", "7", "GET /"}, {"ad", "1234", "x"}});
  EXPECT_EQ(out,
            "service   spans  name\n"
            "frontend      7  GET /\n"
            "ad         1234  x\n");
}

}  // namespace
}  // namespace spanstore::spanctl
