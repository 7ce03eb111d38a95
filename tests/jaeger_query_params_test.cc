// formats/jaeger_query_params.cc: Go durations and the tag parameters of Jaeger's query API.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/jaeger.h"

namespace spanstore {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(JaegerQueryParamsTest, GoDurations) {
  EXPECT_EQ(*ParseGoDuration("0"), 0u);
  EXPECT_EQ(*ParseGoDuration("1ns"), 1u);
  EXPECT_EQ(*ParseGoDuration("1.5s"), 1500000000u);
  EXPECT_EQ(*ParseGoDuration("1.2s"), 1200000000u);
  EXPECT_EQ(*ParseGoDuration("250ms"), 250000000u);
  EXPECT_EQ(*ParseGoDuration("10us"), 10000u);
  EXPECT_EQ(*ParseGoDuration("10\xC2\xB5s"), 10000u);  // µs
  EXPECT_EQ(*ParseGoDuration("1h2m3.5s"), 3723500000000u);
  EXPECT_EQ(*ParseGoDuration(".5m"), 30000000000u);
  EXPECT_EQ(*ParseGoDuration("+2s"), 2000000000u);
  for (const char* bad :
       {"", "5", "ms", "1.s.", "-1s", "1d", "1 s", "s1", "99999999999999999999h"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
  EXPECT_THAT(ParseGoDuration("3parsecs").status().message(), HasSubstr("unknown unit"));
}

TEST(JaegerQueryParamsTest, Tags) {
  auto tags = ParseJaegerTags({"a:1", "url:http://x:80/y"}, {R"({"b":"2","a":"3"})"});
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre(JaegerTag{"a", "3"}, JaegerTag{"url", "http://x:80/y"},
                                 JaegerTag{"b", "2"}));
  EXPECT_THAT(ParseJaegerTags({"nocolon"}, {}).status().message(), HasSubstr("key:value"));
  EXPECT_FALSE(ParseJaegerTags({}, {"{bad"}).ok());
  EXPECT_FALSE(ParseJaegerTags({}, {"[1]"}).ok());
  EXPECT_THAT(ParseJaegerTags({}, {R"({"n":5})"}).status().message(), HasSubstr("not a string"));
  EXPECT_TRUE(ParseJaegerTags({}, {"{}"})->empty());
}

}  // namespace
}  // namespace spanstore
