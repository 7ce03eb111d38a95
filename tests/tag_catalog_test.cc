// query/tag_catalog.cc: tag names and values by scanning the store.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/store.h"
#include "spanstore/tempo.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;

class TagCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *Store::Open(Options(), dir_.Sub("db"));
    std::vector<Span> spans;
    for (int i = 0; i < 4; ++i) {
      Span s;
      s.trace_id.bytes[15] = static_cast<uint8_t>(i + 1);
      s.span_id.bytes[7] = 1;
      s.service_name = i < 2 ? "a" : "b";
      s.resource_attributes = {{"service.name", AnyValue::String(s.service_name)}};
      s.name = "op" + std::to_string(i);
      s.kind = i == 0 ? SpanKind::kServer : SpanKind::kClient;
      s.start_time_unix_nano = 1000 + i;
      s.end_time_unix_nano = 2000;
      s.scope_name = "lib";
      s.scope_attributes = {{"lib.x", AnyValue::Bool(true)}};
      s.attributes = {{"code", AnyValue::Int(200 + i % 2)},
                      {"ratio", AnyValue::Double(0.5)},
                      {"blob", AnyValue::BytesValue("z")}};
      s.events = {{1500, "retry", {{"attempt", AnyValue::Int(i)}}, 0}};
      spans.push_back(s);
    }
    ASSERT_TRUE(store_->Append(spans).ok());
  }
  void TearDown() override { ASSERT_TRUE(store_->Close().ok()); }
  std::vector<std::string> Values(const std::string& tag, const SpanQuery& q = SpanQuery(),
                                  TagSearchOptions o = TagSearchOptions()) {
    std::vector<std::string> out;
    auto values = CollectTagValues(*store_, tag, false, q, o);
    EXPECT_TRUE(values.ok()) << values.status();
    for (const TagValue& v : *values) out.push_back(v.type + ":" + v.value);
    return out;
  }
  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(TagCatalogTest, NamesPerScope) {
  auto names = CollectTagNames(*store_, SpanQuery(), TagSearchOptions());
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(names->span, ElementsAre("blob", "code", "ratio"));
  EXPECT_THAT(names->resource, ElementsAre("service.name"));
  EXPECT_THAT(names->event, ElementsAre("attempt"));
  EXPECT_THAT(names->instrumentation, ElementsAre("lib.x"));
  EXPECT_FALSE(names->truncated);
  TagSearchOptions small;
  small.limit = 2;
  names = CollectTagNames(*store_, SpanQuery(), small);
  EXPECT_EQ(names->span.size(), 2u);  // the first two seen
  EXPECT_TRUE(names->truncated);
}

TEST_F(TagCatalogTest, ValuesByScopeTypeAndIntrinsic) {
  EXPECT_THAT(Values("resource.service.name"), ElementsAre("string:a", "string:b"));
  EXPECT_THAT(Values("span.code"), ElementsAre("int:200", "int:201"));
  EXPECT_THAT(Values(".ratio"), ElementsAre("float:0.5"));
  EXPECT_THAT(Values("span.blob"), ElementsAre());  // bytes: no completion
  EXPECT_THAT(Values("event.attempt"), ElementsAre("int:0", "int:1", "int:2", "int:3"));
  EXPECT_THAT(Values("instrumentation.lib.x"), ElementsAre("bool:true"));
  EXPECT_THAT(Values("kind"), ElementsAre("keyword:client", "keyword:server"));
  EXPECT_THAT(Values("rootServiceName"), ElementsAre("string:a", "string:b"));
  EXPECT_THAT(Values("instrumentation:name"), ElementsAre("string:lib"));
  EXPECT_THAT(Values("duration"), ElementsAre());
  SpanQuery q = *ParseQuery(R"({ resource.service.name = "b" })");
  EXPECT_THAT(Values("name", q), ElementsAre("string:op2", "string:op3"));
  TagSearchOptions one;
  one.limit = 1;
  EXPECT_EQ(Values("name", SpanQuery(), one).size(), 1u);
  EXPECT_EQ(
      CollectTagValues(*store_, "code", false, SpanQuery(), TagSearchOptions()).status().code(),
      absl::StatusCode::kInvalidArgument);
  auto legacy = CollectTagValues(*store_, "service.name", true, SpanQuery(), TagSearchOptions());
  ASSERT_TRUE(legacy.ok());
  EXPECT_THAT(*legacy, ElementsAre(TagValue{"string", "a"}, TagValue{"string", "b"}));
}

}  // namespace
}  // namespace spanstore
