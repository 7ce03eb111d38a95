// Span queries over one block: ScanBlock returns exactly what a brute-force SpanMatches filter
// over the block's spans returns, and ScanBlockKeys names the same spans from the columns.

#include "engine/block_scan.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "format/block_builder.h"
#include "format/block_reader.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using test::SortedRandomSpans;
using test::TempDir;
using test::WriteBlock;

class BlockScanTest : public ::testing::TestWithParam<Codec> {};

TEST_P(BlockScanTest, ScanEqualsBruteForce) {
  TempDir dir;
  const std::vector<Span> spans = SortedRandomSpans(11, 200, /*small=*/true);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("2.blk"), spans, GetParam(), 32, &props).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("2.blk"), 2);
  ASSERT_TRUE(block.ok()) << block.status();
  std::mt19937_64 rng(3);
  for (int q = 0; q < 200; ++q) {
    SpanQuery query;
    const Span& pick = spans[rng() % spans.size()];
    if (rng() % 2) query.start_min = pick.start_time_unix_nano - rng() % 1000000;
    if (rng() % 2) query.start_max = pick.start_time_unix_nano + rng() % 1000000;
    if (rng() % 3 == 0) query.min_duration_nanos = pick.duration_nanos();
    if (rng() % 3 == 0) query.services = {pick.service_name, "absent"};
    if (rng() % 4 == 0) query.names = {pick.name};
    if (rng() % 4 == 0) query.status = pick.status_code;
    if (rng() % 4 == 0) query.kinds = {pick.kind};
    if (rng() % 4 == 0 && !pick.attributes.empty()) {
      AttributePredicate p;
      p.scope = AttributeScope::kSpan;
      p.key = pick.attributes[0].key;
      p.value = pick.attributes[0].value;
      query.attributes.push_back(p);
    }
    std::vector<Span> want, got;
    for (const Span& s : spans) {
      if (SpanMatches(query, s)) want.push_back(s);
    }
    ASSERT_TRUE(ScanBlock(**block, query, [&](const Span& s) {
                  got.push_back(s);
                  return true;
                }).ok());
    ASSERT_EQ(got, want) << "query " << q;
    // The key-only scan (columns only when it can) names the same spans.
    std::vector<std::pair<TraceId, uint64_t>> want_keys, got_keys;
    for (const Span& s : want) want_keys.emplace_back(s.trace_id, s.start_time_unix_nano);
    if (!ScanKeysFromColumns(query)) continue;
    ASSERT_TRUE(ScanBlockKeys(**block, query, [&](const TraceId& id, uint64_t start) {
                  got_keys.emplace_back(id, start);
                  return true;
                }).ok());
    ASSERT_EQ(got_keys, want_keys) << "query " << q;
  }
}

// Spans whose attribute values take every form a block stores them in: operation templates,
// block strings (seen in several groups), heap strings (one group), ints, integral doubles,
// bools, and arrays of strings and ints; resources that share keys with the spans; keys
// repeated within a span.
std::vector<Span> ValueSpans(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> common = {"prod", "staging", "eu", "us", "500", "true"};
  auto value = [&](int i) -> AnyValue {
    switch (rng() % 10) {
      case 8: {
        // Extremes and signs: what an int stream and double comparisons get wrong first.
        static const int64_t kInts[] = {std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max(), -1, 0, -500};
        return AnyValue::Int(kInts[rng() % std::size(kInts)]);
      }
      case 9: {
        static const double kDoubles[] = {-0.0, 0.0, -1.5, 499.5, 1e300, -1e-300};
        if (rng() % 3 == 0) return AnyValue::String("");
        return AnyValue::Double(kDoubles[rng() % std::size(kDoubles)]);
      }
      case 0:
        return AnyValue::String(common[rng() % common.size()]);
      case 1:
        return AnyValue::String("unique-" + std::to_string(i));  // a needle
      case 2:
        return AnyValue::Int(static_cast<int64_t>(rng() % 8) + 498);
      case 3:
        return AnyValue::Double(static_cast<double>(rng() % 4 + 498));
      case 4:
        return AnyValue::Bool(rng() % 2 == 0);
      case 5: {
        AnyValue::Array a;
        a.push_back(AnyValue::String(common[rng() % common.size()]));
        a.push_back(AnyValue::String("elem-" + std::to_string(i)));
        a.push_back(AnyValue::Int(static_cast<int64_t>(i)));
        return AnyValue::ArrayValue(std::move(a));
      }
      default:
        return AnyValue::String("fixed");  // constant per key: usually the template
    }
  };
  std::vector<Span> spans;
  for (int t = 0; t < 40; ++t) {
    TraceId trace;
    for (auto& b : trace.bytes) b = static_cast<uint8_t>(rng());
    for (int k = 0; k < 12; ++k) {
      Span s;
      s.trace_id = trace;
      for (auto& b : s.span_id.bytes) b = static_cast<uint8_t>(rng());
      s.service_name = rng() % 2 ? "api" : "db";
      s.name = "op" + std::to_string(rng() % 3);
      s.start_time_unix_nano = 1'700'000'000'000'000'000 + static_cast<uint64_t>(t * 100 + k);
      s.end_time_unix_nano = s.start_time_unix_nano + 10;
      const int i = t * 12 + k;
      for (const char* key : {"a", "b", "c"}) s.attributes.push_back({key, value(i)});
      // A repeated key (lookups see the first occurrence; the block keeps both): a row with
      // two values in a key's stream must not shift the rows after it.
      if (rng() % 6 == 0) {
        s.attributes.push_back({rng() % 2 ? "a" : "b", value(i + 300000)});
      }
      if (rng() % 4 == 0) s.resource_attributes.push_back({"a", value(i + 100000)});
      if (rng() % 5 == 0) {
        SpanEvent e;
        e.time_unix_nano = s.start_time_unix_nano + 1;
        e.name = rng() % 2 ? "exception" : "retry";
        e.attributes.push_back({"a", value(i + 200000)});
        s.events.push_back(std::move(e));
        s.status_message = "failed";
      }
      s.resource_attributes.push_back({"service.name", AnyValue::String(s.service_name)});
      spans.push_back(std::move(s));
    }
  }
  std::sort(spans.begin(), spans.end(), BlockRowLess);
  return spans;
}

void CheckAttributeSearches(Codec codec, uint32_t version);

// Equality searches skip row groups by their value filters and test attribute predicates on
// the columns before building spans: neither may lose a match, whatever the value's form. A
// version 3 block (filters in the meta page) and a version 2 block (no filters) answer the same.
TEST_P(BlockScanTest, AttributeSearchesEqualBruteForce) {
  for (uint32_t version : {kBlockFormatVersion, 4u, 3u, kOldestBlockFormatVersion}) {
    SCOPED_TRACE(version);
    CheckAttributeSearches(GetParam(), version);
  }
}

void CheckAttributeSearches(Codec codec, uint32_t version) {
  TempDir dir;
  const std::vector<Span> spans = ValueSpans(7);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("3.blk"), spans, codec, 16, &props, version).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("3.blk"), 3);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_EQ((*block)->format_version(), version);
  ASSERT_TRUE((*block)->Verify().ok());
  std::mt19937_64 rng(11);
  const std::vector<AnyValue> literals = {
      AnyValue::String("prod"),
      AnyValue::String("staging"),
      AnyValue::String("fixed"),
      AnyValue::String("unique-17"),
      AnyValue::String("unique-300"),
      AnyValue::String("elem-42"),
      AnyValue::String("absent"),
      AnyValue::String("500"),
      AnyValue::String("true"),
      AnyValue::Int(500),
      AnyValue::Int(499),
      AnyValue::Int(42),
      AnyValue::Int(7),
      AnyValue::Double(500.0),
      AnyValue::Bool(true),
      AnyValue::Int(0),
      AnyValue::Int(-1),
      AnyValue::Int(std::numeric_limits<int64_t>::min()),
      AnyValue::Double(0.0),
      AnyValue::Double(-0.0),
      AnyValue::Double(499.5),
      AnyValue::String(""),
  };
  const CompareOp ops[] = {CompareOp::kEq, CompareOp::kEq,     CompareOp::kEq,      CompareOp::kNe,
                           CompareOp::kGt, CompareOp::kExists, CompareOp::kLt,      CompareOp::kLe,
                           CompareOp::kGe, CompareOp::kRegex,  CompareOp::kNotRegex};
  const char* const patterns[] = {"unique-1.*", "prod|eu", ".*", "", "elem-4.", "5.."};
  // A predicate's value: a literal, or for a regex a pattern (compiled, as the parser does).
  auto fill = [&](CompareOp op, AnyValue* value, std::shared_ptr<const Regex>* regex) {
    if (op != CompareOp::kRegex && op != CompareOp::kNotRegex) {
      *value = literals[rng() % literals.size()];
      return;
    }
    const char* pattern = patterns[rng() % std::size(patterns)];
    *value = AnyValue::String(pattern);
    auto compiled = Regex::Compile(pattern);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    *regex = *compiled;
  };
  int matched_queries = 0;
  for (int q = 0; q < 2000; ++q) {
    SpanQuery query;
    const int terms = 1 + static_cast<int>(rng() % 2);
    for (int t = 0; t < terms; ++t) {
      AttributePredicate p;
      p.scope = rng() % 2 ? AttributeScope::kSpan : AttributeScope::kAny;
      p.key = std::string(1, static_cast<char>('a' + rng() % 4));  // "d": no span has it
      p.op = ops[rng() % std::size(ops)];
      fill(p.op, &p.value, &p.regex);
      p.as_string = p.value.type() == AnyValue::Type::kString && p.regex == nullptr &&
                    (p.op == CompareOp::kEq || p.op == CompareOp::kNe) && rng() % 4 == 0;
      query.attributes.push_back(p);
    }
    // Half the queries also carry a filter expression over attributes, events and intrinsics.
    if (rng() % 2 == 0) {
      auto leaf = [&]() {
        FilterExpr e;
        switch (rng() % 4) {
          case 0:
            e.kind = FilterExpr::Kind::kIntrinsic;
            e.intrinsic = Intrinsic::kEventName;
            e.value = AnyValue::String("exception");
            break;
          case 1:
            e.kind = FilterExpr::Kind::kIntrinsic;
            e.intrinsic = Intrinsic::kStatusMessage;
            e.value = AnyValue::String("failed");
            break;
          default:
            e.kind = FilterExpr::Kind::kAttribute;
            e.attribute.scope =
                static_cast<AttributeScope>(rng() % 4);  // any, span, resource, event
            e.attribute.key = std::string(1, static_cast<char>('a' + rng() % 3));
            e.attribute.op = ops[rng() % std::size(ops)];
            fill(e.attribute.op, &e.attribute.value, &e.attribute.regex);
            break;
        }
        return e;
      };
      FilterExpr f;
      f.kind = rng() % 2 ? FilterExpr::Kind::kOr : FilterExpr::Kind::kAnd;
      f.children.push_back(leaf());
      f.children.push_back(leaf());
      if (rng() % 3 == 0) {
        FilterExpr n;
        n.kind = FilterExpr::Kind::kNot;
        n.children.push_back(std::move(f));
        f = std::move(n);
      }
      query.filter = std::move(f);
    }
    std::vector<Span> want, got;
    for (const Span& s : spans) {
      if (SpanMatches(query, s)) want.push_back(s);
    }
    matched_queries += !want.empty();
    ASSERT_TRUE(ScanBlock(**block, query, [&](const Span& s) {
                  got.push_back(s);
                  return true;
                }).ok());
    ASSERT_EQ(got, want) << "query " << q << ": " << query.attributes[0].key;
    if (!ScanKeysFromColumns(query)) continue;
    std::vector<std::pair<TraceId, uint64_t>> want_keys, got_keys;
    for (const Span& s : want) want_keys.emplace_back(s.trace_id, s.start_time_unix_nano);
    ASSERT_TRUE(ScanBlockKeys(**block, query, [&](const TraceId& id, uint64_t start) {
                  got_keys.emplace_back(id, start);
                  return true;
                }).ok());
    ASSERT_EQ(got_keys, want_keys) << "query " << q;
  }
  EXPECT_GT(matched_queries, 100);  // the queries do find things
}

// A search for a value of a key the block value filter covers, that the block lacks, is decided
// by that filter alone: the groups' filters are not even read. A value the block holds is found
// through them as before.
TEST(BlockScan, BlockValueFilterRulesOutABlockAlone) {
  TempDir dir;
  const std::vector<Span> spans = ValueSpans(7);
  BlockProperties props;
  ASSERT_TRUE(WriteBlock(dir.Sub("4.blk"), spans, Codec::kZstd, 16, &props).ok());
  auto block = BlockReader::Open(Env::Default(), dir.Sub("4.blk"), 4);
  ASSERT_TRUE(block.ok()) << block.status();
  const BlockTables& tables = (*block)->tables();
  const uint32_t key_a = static_cast<uint32_t>(
      std::find(tables.keys.begin(), tables.keys.end(), "a") - tables.keys.begin());
  auto filter = (*block)->LoadBlockValueFilter();
  ASSERT_TRUE(filter.ok()) << filter.status();
  ASSERT_TRUE((*filter)->Covers(key_a));
  const uint64_t before = (*block)->memory_bytes();
  auto search = [&](std::string value) {
    SpanQuery query;
    AttributePredicate p;
    p.scope = AttributeScope::kSpan;
    p.key = "a";
    p.value = AnyValue::String(std::move(value));
    query.attributes.push_back(p);
    size_t found = 0;
    EXPECT_TRUE(ScanBlock(**block, query, [&](const Span&) { return ++found > 0; }).ok());
    return found;
  };
  EXPECT_EQ(search("payments.staging.internal"), 0u);
  EXPECT_EQ((*block)->memory_bytes(), before) << "the groups' filters were read";
  const Span& holder = *std::find_if(spans.begin() + 1, spans.end(), [](const Span& s) {
    return s.attributes[0].value.type() == AnyValue::Type::kString &&
           s.attributes[0].value.string_value().rfind("unique-", 0) == 0;
  });
  EXPECT_GT(search(holder.attributes[0].value.string_value()), 0u);
  EXPECT_GT((*block)->memory_bytes(), before);
}

INSTANTIATE_TEST_SUITE_P(Codecs, BlockScanTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd));

}  // namespace
}  // namespace spanstore
