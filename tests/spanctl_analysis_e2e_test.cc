// Drives the built spanctl's analysis commands (tools/spanctl/commands_analysis.cc) end to end:
// graph, red, doctor and critical-path on a generated store with the planted gap trace, their
// JSON shapes, and the usage errors.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
  int exit_code;
  std::string out;  // stdout and stderr
};

Result Spanctl(const std::string& args) {
  const std::string cmd = std::string(SPANCTL_PATH) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class SpanctlAnalysisE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Result gen = Spanctl("gen --db " + Db() + " --traces 1000 --seed 7 --plant-gap");
    ASSERT_EQ(gen.exit_code, 0) << gen.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Db() { return dir_->Sub("store"); }
  static test::TempDir* dir_;
};

test::TempDir* SpanctlAnalysisE2eTest::dir_ = nullptr;

TEST_F(SpanctlAnalysisE2eTest, Graph) {
  Result r = Spanctl("graph --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Every trace calls the gateway once; the databases are virtual nodes.
  EXPECT_THAT(r.out, ::testing::ContainsRegex("frontend +api-gateway +1000 "));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("cart +redis "));
  r = Spanctl("graph --json --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("{\"nodes\":[{\"service\":\"accounting\"}"));
  EXPECT_THAT(r.out,
              HasSubstr("{\"client\":\"frontend\",\"server\":\"api-gateway\",\"calls\":1000,"));
  r = Spanctl("graph --dot --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("digraph services {"));
  EXPECT_THAT(r.out, HasSubstr("\"frontend\" -> \"api-gateway\""));
  EXPECT_THAT(r.out, HasSubstr("\"redis\" [shape=cylinder, style=dashed];"));
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    const std::string svg = dir_->Sub("graph.svg");
    r = Spanctl("graph --db " + Db() + " --svg " + svg);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::ifstream in(svg);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr("<svg"));
    EXPECT_THAT(text, HasSubstr("api&#45;gateway"));
  }
  // A window holding nothing: no edges, still a valid answer.
  r = Spanctl("graph --json --db " + Db() +
              " --start 2030-01-01T00:00:00Z --end 2030-01-02T00:00:00Z");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"nodes\":[],\"edges\":[]}\n");
}

TEST_F(SpanctlAnalysisE2eTest, Red) {
  Result r = Spanctl("red --json --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out,
              HasSubstr("{\"service\":\"frontend\",\"operation\":\"\",\"kind\":\"unspecified\","
                        "\"calls\":1000,"));
  EXPECT_THAT(r.out, HasSubstr("\"rate_per_s\":"));
  EXPECT_THAT(r.out, HasSubstr("\"p90_ns\":"));
  r = Spanctl("red --by operation --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("SERVICE"));
  EXPECT_THAT(r.out, HasSubstr("POST /v1/charge"));
}

TEST_F(SpanctlAnalysisE2eTest, DoctorFindsThePlantedGap) {
  Result r = Spanctl("doctor --json --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("{\"kind\":\"gap\",\"service\":\"checkout\",\"peer\":\"payment\","
                               "\"count\":1,"));
  r = Spanctl("doctor --db " + Db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("checkout waited up to"));
}

TEST_F(SpanctlAnalysisE2eTest, CriticalPath) {
  Result r = Spanctl("critical-path --json --db " + Db() + " '{ name = \"POST /api/checkout\" }'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("{\"traces\":"));
  EXPECT_THAT(r.out, HasSubstr("\"service\":\"checkout\""));
  r = Spanctl("critical-path --db " + Db() + " '{ name = '");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("filter:"));
}

TEST_F(SpanctlAnalysisE2eTest, Metrics) {
  const std::string range = " --start 2026-01-01T00:00:00Z --end 2026-01-01T01:00:00Z";
  Result r = Spanctl("metrics --db " + Db() + range +
                     " --step 10m '{ } | rate() by (resource.service.name)'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("resource.service.name=frontend"));
  r = Spanctl("metrics --json --db " + Db() + range +
              " '{ resource.service.name = \"frontend\" } | count_over_time()'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("{\"series\":[{\"labels\":[],\"samples\":[{\"timestampMs\":"));
  r = Spanctl("metrics --db " + Db() + " '{ } | rate()'");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--start and --end are required"));
  r = Spanctl("metrics --db " + Db() + range + " --step 0s '{ } | rate()'");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Spanctl("metrics --json --db " + Db() + range +
              " '{ kind = server } | avg_over_time(duration) by (resource.service.name)'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"stringValue\":\"checkout\""));
  r = Spanctl("metrics --db " + Db() + range + " '{ } | max_over_time(name)'");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("numeric attribute"));
  // --since: the last hour of wall time, which this 2026-01-01 store has nothing in.
  r = Spanctl("metrics --db " + Db() + " --since 1h '{ } | rate()'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(", 0 spans"));
  r = Spanctl("metrics --db " + Db() + range + " --since 1h '{ } | rate()'");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--since is instead of --start and --end"));
}

TEST_F(SpanctlAnalysisE2eTest, UsageErrorsAndMissingStores) {
  const std::string missing = dir_->Sub("missing");
  Result r = Spanctl("graph --db " + missing);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("no spanstore store there"));
  EXPECT_FALSE(std::filesystem::exists(missing));  // a read command creates nothing
  r = Spanctl("red --by host --db " + Db());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--by"));
  r = Spanctl("graph --db " + Db() + " --start yesterday");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--start"));
  r = Spanctl("graph --db " + Db() + " --start 1767225700 --end 1767225600");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Spanctl("doctor --db " + Db() + " --max-spans -3");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = Spanctl("graph --db " + Db() + " --json --dot");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

}  // namespace
}  // namespace spanstore
