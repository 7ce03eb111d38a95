// The block-wide tables: operations (one per service, name, kind and key list, with the first
// span's values as template and its contexts in first-seen order), successors, block strings
// (a value gets a block id only once seen in a second row group), and a serialized form that
// parses back exactly and refuses damage.

#include "format/block_tables.h"

#include <algorithm>

#include "format/block_format.h"
#include "format/value_codec.h"
#include "gtest/gtest.h"

namespace spanstore {
namespace {

Span MakeSpan(std::string service, std::string name, std::vector<KeyValue> attributes,
              std::string pod = "pod-1") {
  Span s;
  s.service_name = std::move(service);
  s.name = std::move(name);
  s.kind = SpanKind::kServer;
  s.attributes = std::move(attributes);
  s.resource_attributes = {{"service.name", AnyValue::String(s.service_name)},
                           {"k8s.pod.name", AnyValue::String(std::move(pod))}};
  s.scope_name = "io.opentelemetry.http";
  return s;
}

TEST(BlockTables, OneOperationPerServiceNameKindAndKeyList) {
  BlockTablesBuilder b;
  uint32_t op1, op2, op3, op4, rank;
  const Span a = MakeSpan("cart", "GET", {{"k", AnyValue::Int(1)}, {"m", AnyValue::String("x")}});
  b.Classify(a, {}, &op1, &rank);
  Span same = a;
  same.attributes[0].value = AnyValue::Int(2);  // other values: the same operation
  b.Classify(same, {}, &op2, &rank);
  Span reordered = a;
  std::swap(reordered.attributes[0], reordered.attributes[1]);
  b.Classify(reordered, {}, &op3, &rank);
  Span client = a;
  client.kind = SpanKind::kClient;
  b.Classify(client, {}, &op4, &rank);
  EXPECT_EQ(op1, op2);
  EXPECT_NE(op1, op3);
  EXPECT_NE(op1, op4);
  EXPECT_NE(op3, op4);
  // The template is the first span's values.
  ASSERT_EQ(b.op(op1).templates.size(), 2u);
  EXPECT_EQ(b.op(op1).templates[0], AnyValue::Int(1));
  EXPECT_EQ(b.op(op1).templates[1], AnyValue::String("x"));
}

TEST(BlockTables, ContextsAreRankedPerOperationByEncodingOrAddress) {
  BlockTablesBuilder b;
  uint32_t op, rank;
  const Span p1 = MakeSpan("cart", "GET", {}, "pod-1");
  const Span p2 = MakeSpan("cart", "GET", {}, "pod-2");
  b.Classify(p1, {}, &op, &rank);
  EXPECT_EQ(rank, 0u);
  b.Classify(p2, {}, &op, &rank);
  EXPECT_EQ(rank, 1u);
  // An encoded context given by the caller maps to the same context as encoding the span.
  std::string encoded;
  EncodeSpanContext(p2, &encoded);
  b.Classify(p2, encoded, &op, &rank);
  EXPECT_EQ(rank, 1u);
  b.Classify(p2, encoded, &op, &rank);  // the same view again: recognised by address
  EXPECT_EQ(rank, 1u);
  EXPECT_EQ(b.op(op).contexts.size(), 2u);
  // Another operation has its own list.
  uint32_t other;
  b.Classify(MakeSpan("cart", "POST", {}, "pod-2"), {}, &other, &rank);
  EXPECT_EQ(rank, 0u);
}

TEST(BlockTables, SuccessorIsSetOnce) {
  BlockTablesBuilder b;
  uint32_t a, c, d, rank;
  b.Classify(MakeSpan("s", "a", {}), {}, &a, &rank);
  b.Classify(MakeSpan("s", "c", {}), {}, &c, &rank);
  b.Classify(MakeSpan("s", "d", {}), {}, &d, &rank);
  EXPECT_EQ(b.Follow(a, c), kNoOp);
  EXPECT_EQ(b.Follow(a, d), c);  // the first successor stays
  EXPECT_EQ(b.Follow(a, c), c);
  EXPECT_EQ(b.op(a).successor, c);
}

TEST(BlockTables, BlockStringsAreValuesSeenInASecondGroup) {
  BlockTablesBuilder b;
  EXPECT_EQ(b.BlockString(0, "10.0.0.1", 0), -1);  // first sighting: the group's heap
  EXPECT_EQ(b.BlockString(0, "10.0.0.1", 0), -1);  // again in the same group: still the heap
  EXPECT_EQ(b.BlockString(0, "10.0.0.1", 1), 0);   // a second group: block-wide
  EXPECT_EQ(b.BlockString(0, "10.0.0.1", 5), 0);
  EXPECT_EQ(b.BlockString(1, "10.0.0.1", 5), -1);  // per key
  EXPECT_EQ(b.BlockString(0, "10.0.0.2", 1), -1);
  EXPECT_EQ(b.BlockString(0, "10.0.0.2", 2), 1);
}

TEST(BlockTables, BlockStringsStopAtTheirLimit) {
  BlockTablesBuilder b;
  for (size_t i = 0; i < kMaxBlockStrings + 10; ++i) {
    const std::string v = std::to_string(i);
    EXPECT_EQ(b.BlockString(0, v, 0), -1);
    const int64_t id = b.BlockString(0, v, 1);
    if (i < kMaxBlockStrings) {
      EXPECT_EQ(id, static_cast<int64_t>(i));
    } else {
      EXPECT_EQ(id, -1) << i;
    }
  }
  // A long value that would take the block past its byte budget stays in heaps.
  BlockTablesBuilder c;
  const std::string big(kMaxBlockStringBytes, 'x');
  EXPECT_EQ(c.BlockString(0, big, 0), -1);
  EXPECT_EQ(c.BlockString(0, big, 1), 0);
  const std::string more = "y";
  EXPECT_EQ(c.BlockString(0, more, 0), -1);
  EXPECT_EQ(c.BlockString(0, more, 1), -1);
}

std::string SampleTables(BlockTablesBuilder* b) {
  uint32_t op, next, rank;
  b->Classify(MakeSpan("cart", "GET", {{"k", AnyValue::Int(1)}, {"m", AnyValue::String("x")}}),
              {}, &op, &rank);
  b->Classify(MakeSpan("cart", "PUT", {{"arr", AnyValue::ArrayValue({AnyValue::Bool(true)})}},
                       "pod-9"),
              {}, &next, &rank);
  b->Follow(op, next);
  b->BlockString(3, "v", 0);
  b->BlockString(0, "w", 0);
  b->BlockString(0, "w", 1);
  std::string out;
  b->Serialize(&out);
  return out;
}

TEST(BlockTables, SerializedTablesParseBack) {
  BlockTablesBuilder b;
  const std::string serialized = SampleTables(&b);
  std::string_view in = serialized;
  BlockTables t;
  ASSERT_TRUE(t.Parse(&in, UINT32_MAX));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(t.services, std::vector<std::string_view>{"cart"});
  EXPECT_EQ(t.names, (std::vector<std::string_view>{"GET", "PUT"}));
  EXPECT_EQ(t.keys, (std::vector<std::string_view>{"k", "m", "arr"}));
  ASSERT_EQ(t.ops.size(), 2u);
  auto vec = [](auto span) { return std::vector(span.begin(), span.end()); };
  EXPECT_EQ(vec(t.keys_of(t.ops[0])), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(t.templates_of(t.ops[0])[1], AnyValue::String("x"));
  // A string template is also a view of its bytes in the serialized tables.
  EXPECT_EQ(t.op_template_strings[t.ops[0].key_begin + 1], "x");
  EXPECT_GE(t.op_template_strings[t.ops[0].key_begin + 1].data(), serialized.data());
  EXPECT_LT(t.op_template_strings[t.ops[0].key_begin + 1].data(),
            serialized.data() + serialized.size());
  EXPECT_TRUE(t.op_template_strings[t.ops[0].key_begin].empty());  // an int template
  EXPECT_EQ(t.ops[0].successor, 1u);
  EXPECT_EQ(t.ops[1].successor, kNoOp);
  EXPECT_EQ(t.templates_of(t.ops[1])[0], AnyValue::ArrayValue({AnyValue::Bool(true)}));
  EXPECT_EQ(t.ops[1].kind, SpanKind::kServer);
  EXPECT_EQ(vec(t.contexts_of(t.ops[1])), std::vector<uint32_t>{1});
  EXPECT_EQ(vec(t.strings_of(0)), std::vector<std::string_view>{"w"});
  EXPECT_TRUE(t.strings_of(3).empty());
  EXPECT_TRUE(t.strings_of(99).empty());
  Span c;
  ASSERT_TRUE(DecodeSpanContext(t.contexts[1], &c));
  EXPECT_EQ(c.resource_attributes[1].value, AnyValue::String("pod-9"));
}

// Every service, name, context and operation comes from a row: a block's row count bounds
// them, and Parse refuses a table that claims more before sizing anything for it.
TEST(BlockTables, CountsAboveTheRowCountAreRefused) {
  BlockTablesBuilder b;
  const std::string serialized = SampleTables(&b);
  std::string_view in = serialized;
  BlockTables t;
  ASSERT_TRUE(t.Parse(&in, UINT32_MAX));
  const uint64_t most =
      std::max({t.services.size(), t.names.size(), t.contexts.size(), t.ops.size()});
  // Keys are not bounded by the rows (one span has many attribute keys): the sample has more
  // keys than the others, and still parses with `most` rows.
  EXPECT_GT(t.keys.size(), most);
  in = serialized;
  EXPECT_TRUE(t.Parse(&in, most));
  in = serialized;
  EXPECT_FALSE(t.Parse(&in, most - 1));
}

TEST(BlockTables, TruncationsAndBadIdsAreRefused) {
  BlockTablesBuilder b;
  const std::string serialized = SampleTables(&b);
  for (size_t len = 0; len < serialized.size(); ++len) {
    std::string_view in(serialized.data(), len);
    BlockTables t;
    EXPECT_FALSE(t.Parse(&in, UINT32_MAX)) << len;
  }
  // Every single-byte change either parses (some bytes are string contents) or is refused;
  // never a crash or an id out of range.
  for (size_t i = 0; i < serialized.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = serialized;
      damaged[i] ^= static_cast<char>(1 << bit);
      std::string_view in = damaged;
      BlockTables t;
      if (!t.Parse(&in, UINT32_MAX)) continue;
      EXPECT_EQ(t.op_templates.size(), t.op_keys.size());
      EXPECT_EQ(t.op_template_strings.size(), t.op_keys.size());
      for (const BlockTables::Op& op : t.ops) {
        EXPECT_LT(op.service, t.services.size());
        EXPECT_LT(op.name, t.names.size());
        EXPECT_LE(op.key_end, t.op_keys.size());
        EXPECT_LT(op.context_begin, op.context_end);
        EXPECT_LE(op.context_end, t.op_contexts.size());
        for (uint32_t k : t.keys_of(op)) EXPECT_LT(k, t.keys.size());
        for (uint32_t c : t.contexts_of(op)) EXPECT_LT(c, t.contexts.size());
        EXPECT_TRUE(op.successor == kNoOp || op.successor < t.ops.size());
      }
    }
  }
}

}  // namespace
}  // namespace spanstore
