// Blocks of degenerate columns: what the block writer produces, the block reader must read,
// whatever the data. Low-entropy input (sequential small span ids, one repeated attribute set,
// equal times, empty strings, extreme values) compresses to far fewer bytes per row than
// random spans, and a reader that assumed a minimum size per row refused such blocks -- so
// compaction failed forever on them (hardening issue, item 1). Every pattern below, alone and
// mixed, with every codec and several group sizes, must round-trip row for row.

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "format/block_builder.h"
#include "format/block_reader.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/random_spans.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

enum class Pattern {
  kSequentialIds,  // span ids 1, 2, 3...; trace ids 1, 2...; one attribute set
  kAllEqual,       // every column as alike as the row order allows
  kEmptyStrings,   // every string empty, no attributes
  kMaxValues,      // extreme ids, times and attribute values
  kRandom,         // the random generator, for contrast
  kMixed,          // a row of each pattern in turn
};

const char* PatternName(Pattern p) {
  switch (p) {
    case Pattern::kSequentialIds:
      return "sequential_ids";
    case Pattern::kAllEqual:
      return "all_equal";
    case Pattern::kEmptyStrings:
      return "empty_strings";
    case Pattern::kMaxValues:
      return "max_values";
    case Pattern::kRandom:
      return "random";
    case Pattern::kMixed:
      return "mixed";
  }
  return "?";
}

TraceId SmallTraceId(uint64_t n) {
  TraceId id;
  for (int i = 0; i < 8; ++i) id.bytes[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

SpanId SmallSpanId(uint64_t n) {
  SpanId id;
  for (int i = 0; i < 8; ++i) id.bytes[7 - i] = static_cast<uint8_t>(n >> (8 * i));
  return id;
}

Span Degenerate(Pattern p, uint64_t i, test::RandomSpans* random) {
  Span s;
  switch (p) {
    case Pattern::kSequentialIds:
      s.trace_id = SmallTraceId(1 + i / 10);
      s.span_id = SmallSpanId(1 + i);
      if (i % 10 != 0) s.parent_span_id = SmallSpanId(i);
      s.service_name = "svc";
      s.name = "op";
      s.kind = SpanKind::kServer;
      s.start_time_unix_nano = 1'700'000'000'000'000'000 + i;
      s.end_time_unix_nano = s.start_time_unix_nano + 1000;
      s.attributes = {{"http.method", AnyValue::String("GET")},
                      {"http.status_code", AnyValue::Int(200)}};
      s.resource_attributes = {{"service.name", AnyValue::String("svc")}};
      break;
    case Pattern::kAllEqual:
      s.trace_id = SmallTraceId(7);
      s.span_id = SmallSpanId(1 + i);  // a span id must differ within a trace
      s.service_name = "svc";
      s.name = "op";
      s.start_time_unix_nano = 1'700'000'000'000'000'000;
      s.end_time_unix_nano = s.start_time_unix_nano;
      s.attributes = {{"k", AnyValue::String("v")}};
      break;
    case Pattern::kEmptyStrings:
      s.trace_id = SmallTraceId(1 + i / 50);
      s.span_id = SmallSpanId(1 + i);
      s.start_time_unix_nano = 1;
      s.end_time_unix_nano = 1;
      break;
    case Pattern::kMaxValues: {
      for (auto& b : s.trace_id.bytes) b = 0xff;
      s.trace_id.bytes[0] = static_cast<uint8_t>(0xff - i / 100);
      for (auto& b : s.span_id.bytes) b = 0xff;
      s.span_id.bytes[0] = static_cast<uint8_t>(i % 256);
      s.span_id.bytes[1] = static_cast<uint8_t>(i / 256);
      s.service_name = std::string(300, 'x');
      s.name = std::string(300, 'y');
      s.kind = static_cast<SpanKind>(5);
      s.status_code = StatusCode::kError;
      s.start_time_unix_nano = std::numeric_limits<uint64_t>::max() - 10;
      s.end_time_unix_nano = std::numeric_limits<uint64_t>::max();
      s.attributes = {{"i", AnyValue::Int(std::numeric_limits<int64_t>::max())},
                      {"j", AnyValue::Int(std::numeric_limits<int64_t>::min())},
                      // Extremes that are not the operation's template (its first value): an
                      // int stream once coded INT64_MIN as the template's code.
                      {"k", AnyValue::Int(i % 3 == 0   ? 0
                                          : i % 3 == 1 ? std::numeric_limits<int64_t>::min()
                                                       : std::numeric_limits<int64_t>::max())},
                      {"d", AnyValue::Double(std::numeric_limits<double>::max())},
                      {"b", AnyValue::Bool(true)}};
      s.dropped_attributes_count = UINT32_MAX;
      s.dropped_events_count = UINT32_MAX;
      s.dropped_links_count = UINT32_MAX;
      break;
    }
    case Pattern::kRandom:
      s = random->NextSpan();
      break;
    case Pattern::kMixed: {
      static constexpr Pattern kCycle[] = {Pattern::kSequentialIds, Pattern::kAllEqual,
                                           Pattern::kEmptyStrings, Pattern::kMaxValues,
                                           Pattern::kRandom};
      s = Degenerate(kCycle[i % 5], i, random);
      break;
    }
  }
  return s;
}

struct Case {
  Pattern pattern;
  Codec codec;
  uint32_t rows_per_group;
};

class BlockDegenerateTest : public ::testing::TestWithParam<Case> {};

TEST_P(BlockDegenerateTest, WhatTheWriterWritesTheReaderReads) {
  const Case c = GetParam();
  test::TempDir dir;
  test::RandomSpanOptions small;
  small.awkward = 0;
  small.max_attributes = 4;
  test::RandomSpans random(5, small);
  std::vector<Span> spans;
  for (uint64_t i = 0; i < 3000; ++i) spans.push_back(Degenerate(c.pattern, i, &random));
  std::sort(spans.begin(), spans.end(), BlockRowLess);
  // Exact copies cannot share a block (compaction drops them): keep the first of each.
  spans.erase(std::unique(spans.begin(), spans.end(),
                          [](const Span& a, const Span& b) {
                            return a.trace_id == b.trace_id && a.span_id == b.span_id &&
                                   a.start_time_unix_nano == b.start_time_unix_nano;
                          }),
              spans.end());

  BlockProperties props;
  const std::string path = dir.Sub("1.blk");
  ASSERT_TRUE(test::WriteBlock(path, spans, c.codec, c.rows_per_group, &props).ok());
  auto block = BlockReader::Open(Env::Default(), path, 1);
  ASSERT_TRUE(block.ok()) << block.status() << " (" << props.file_bytes << " bytes for "
                          << props.rows << " rows)";
  ASSERT_TRUE((*block)->Verify().ok());
  const std::vector<Span> all = test::AllRows(**block);
  ASSERT_EQ(all.size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) ASSERT_EQ(all[i], spans[i]) << "row " << i;
  std::vector<Span> trace;
  ASSERT_TRUE((*block)->ReadTrace(spans.back().trace_id, &trace).ok());
  ASSERT_FALSE(trace.empty());
  EXPECT_EQ(trace.back(), spans.back());
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (Pattern p : {Pattern::kSequentialIds, Pattern::kAllEqual, Pattern::kEmptyStrings,
                    Pattern::kMaxValues, Pattern::kRandom, Pattern::kMixed}) {
    for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
      for (uint32_t rows : {1u, 256u, 4096u}) cases.push_back({p, codec, rows});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Patterns, BlockDegenerateTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(PatternName(info.param.pattern)) + "_codec" +
                                  std::to_string(static_cast<int>(info.param.codec)) + "_rows" +
                                  std::to_string(info.param.rows_per_group);
                         });

}  // namespace
}  // namespace spanstore
