#include "tools/spanctl/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spanstore::spanctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

CommandSpec QuerySpec() {
  CommandSpec spec;
  spec.name = "query";
  spec.synopsis = "query '<filter>' [flags]";
  spec.summary = "spans matching a filter";
  spec.flags = {{"db", "DIR", "./spanstore-data", "the store directory"},
                {"limit", "N", "20", "at most N spans"},
                {"ratio", "X", "0.5", "a fraction"},
                {"json", "", "", "print OTLP JSON"}};
  spec.min_args = 1;
  spec.max_args = 1;
  return spec;
}

// Runs ParseFlags over a list of strings (argv without the program and command names).
absl::StatusOr<ParsedFlags> Parse(const CommandSpec& spec, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseFlags(spec, static_cast<int>(argv.size()), argv.data());
}

TEST(FlagsTest, SpaceAndEqualsForms) {
  const CommandSpec spec = QuerySpec();
  auto f = Parse(spec, {"{ .a = 1 }", "--limit", "5", "--db=/tmp/x"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(f->args, ElementsAre("{ .a = 1 }"));
  EXPECT_EQ(*f->GetInt("limit", -100, 100), 5);
  EXPECT_EQ(f->Get("db"), "/tmp/x");
  EXPECT_TRUE(f->Has("db"));
  EXPECT_FALSE(f->Has("json"));
  EXPECT_FALSE(f->help);
}

TEST(FlagsTest, DefaultsApplyWhenAbsent) {
  const CommandSpec spec = QuerySpec();
  auto f = Parse(spec, {"x"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Get("db"), "./spanstore-data");
  EXPECT_EQ(*f->GetInt("limit", -100, 100), 20);
  EXPECT_DOUBLE_EQ(*f->GetDouble("ratio", 0, 1), 0.5);
  EXPECT_FALSE(f->GetBool("json"));
  EXPECT_EQ(f->Get("no-such-flag"), "");
}

TEST(FlagsTest, BooleanFlags) {
  const CommandSpec spec = QuerySpec();
  auto on = Parse(spec, {"--json", "x"});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->GetBool("json"));
  // A boolean flag does not swallow the next argument.
  EXPECT_THAT(on->args, ElementsAre("x"));
  auto off = Parse(spec, {"--json=false", "x"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->GetBool("json"));
  auto bad = Parse(spec, {"--json=yes", "x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("--json takes no value"));
}

TEST(FlagsTest, UnknownFlagNamesTheFlagAndTheCommand) {
  const CommandSpec spec = QuerySpec();
  auto f = Parse(spec, {"x", "--foo"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(f.status().message()), "unknown flag --foo (see 'spanctl query --help')");
  auto g = Parse(spec, {"x", "--foo=3"});
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(std::string(g.status().message()), HasSubstr("unknown flag --foo "));
  auto single = Parse(spec, {"x", "-l"});
  ASSERT_FALSE(single.ok());
  EXPECT_THAT(std::string(single.status().message()), HasSubstr("unknown flag -l"));
}

TEST(FlagsTest, MissingValue) {
  const CommandSpec spec = QuerySpec();
  auto f = Parse(spec, {"x", "--limit"});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(std::string(f.status().message()), HasSubstr("--limit needs a value (N)"));
}

TEST(FlagsTest, MalformedNumbers) {
  const CommandSpec spec = QuerySpec();
  auto f = Parse(spec, {"x", "--limit", "ten", "--ratio=half"});
  ASSERT_TRUE(f.ok()) << f.status();
  auto limit = f->GetInt("limit", 0, 100);
  ASSERT_FALSE(limit.ok());
  EXPECT_THAT(std::string(limit.status().message()),
              HasSubstr("--limit must be a whole number from 0 to 100, got 'ten'"));
  auto ratio = f->GetDouble("ratio", 0, 1);
  ASSERT_FALSE(ratio.ok());
  EXPECT_THAT(std::string(ratio.status().message()), HasSubstr("--ratio must be a number"));
}

// Hardening issue, item 7: `--limit -1` returned everything. Numbers outside a flag's range,
// fractions and non-numbers are usage errors naming the range.
TEST(FlagsTest, NumbersOutsideTheirRangeAreUsageErrors) {
  const CommandSpec spec = QuerySpec();
  for (const char* bad : {"-1", "1.5", "9999999999999999999999", "1e3", "", "0x10"}) {
    auto f = Parse(spec, {"x", "--limit", bad});
    ASSERT_TRUE(f.ok()) << f.status();
    auto limit = f->GetInt("limit", 0, 1000);
    ASSERT_FALSE(limit.ok()) << bad << " -> " << *limit;
    EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(limit.status().message()), HasSubstr("from 0 to 1000")) << bad;
  }
  for (const char* bad : {"-0.1", "1.01", "nan", "inf", "x"}) {
    auto f = Parse(spec, {"x", "--ratio", bad});
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_FALSE(f->GetDouble("ratio", 0, 1).ok()) << bad;
  }
  auto ok = Parse(spec, {"x", "--limit", "1000"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok->GetInt("limit", 0, 1000), 1000);
}

TEST(FlagsTest, ArgumentCounts) {
  const CommandSpec spec = QuerySpec();
  auto none = Parse(spec, {});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("missing argument: usage: spanctl query '<filter>'"));
  auto extra = Parse(spec, {"a", "b"});
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(std::string(extra.status().message()), HasSubstr("unexpected argument 'b'"));
  // --help needs no arguments.
  auto help = Parse(spec, {"--help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_TRUE(help->help);
  auto h = Parse(spec, {"-h"});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->help);
}

TEST(FlagsTest, DoubleDashEndsFlagsAndDashIsAnArgument) {
  CommandSpec spec = QuerySpec();
  spec.max_args = SIZE_MAX;
  auto f = Parse(spec, {"-", "--", "--limit", "-h"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(f->args, ElementsAre("-", "--limit", "-h"));
  EXPECT_FALSE(f->help);
  EXPECT_EQ(*f->GetInt("limit", -100, 100), 20);
}

TEST(FlagsTest, ValueMayStartWithADash) {
  const CommandSpec spec = QuerySpec();
  auto f = Parse(spec, {"x", "--limit", "-3"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(*f->GetInt("limit", -100, 100), -3);
}

TEST(FlagsTest, UsageListsEveryFlagWithDefaults) {
  const std::string usage = Usage(QuerySpec());
  EXPECT_THAT(usage, HasSubstr("usage: spanctl query '<filter>' [flags]"));
  EXPECT_THAT(usage, HasSubstr("--limit N"));
  EXPECT_THAT(usage, HasSubstr("(default: 20)"));
  EXPECT_THAT(usage, HasSubstr("--json"));
  EXPECT_THAT(usage, HasSubstr("-h, --help"));
}

}  // namespace
}  // namespace spanstore::spanctl
