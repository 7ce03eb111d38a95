// Drives the built spanctl binary end to end: gen -> search -> trace -> query -> services ->
// stats -> verify, plus usage errors and exit codes.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/otlp_proto.h"
#include "tests/util/store_damage.h"
#include "tests/util/temp_dir.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

class SpanctlE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Result gen = Spanctl("gen --db " + Db() + " --traces 2000 --seed 7 --plant-gap");
    ASSERT_EQ(gen.exit_code, 0) << gen.out;
    std::smatch m;
    const std::regex planted("payments.staging.internal\\): ([0-9a-f]{32})");
    ASSERT_TRUE(std::regex_search(gen.out, m, planted)) << gen.out;
    planted_ = new std::string(m[1]);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete planted_;
  }
  static std::string Db() { return dir_->Sub("store"); }

  static test::TempDir* dir_;
  static std::string* planted_;
};
test::TempDir* SpanctlE2eTest::dir_ = nullptr;
std::string* SpanctlE2eTest::planted_ = nullptr;

TEST_F(SpanctlE2eTest, SearchFindsThePlantedSlowCheckout) {
  const Result r =
      Spanctl("search --db " + Db() +
              " '{ resource.service.name = \"checkout\" && duration > 4s }' --limit 0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(*planted_));
  EXPECT_THAT(r.out, HasSubstr("ROOT SERVICE"));
  EXPECT_THAT(r.out, HasSubstr("POST /api/checkout"));
}

TEST_F(SpanctlE2eTest, TraceShowsTheGapAndCriticalPath) {
  const Result r = Spanctl("trace --db " + Db() + " " + *planted_ + " --no-color");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("trace " + *planted_));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("payment POST /v1/charge .*<- gap [45]\\.[0-9]+s"));
  EXPECT_THAT(r.out, HasSubstr("* frontend POST /api/checkout"));
  // A traceparent works as well as a trace id.
  const Result tp =
      Spanctl("trace --db " + Db() + " 00-" + *planted_ + "-00f067aa0ba902b7-01 --no-color");
  EXPECT_EQ(tp.exit_code, 0) << tp.out;
}

TEST_F(SpanctlE2eTest, TraceJsonIsOtlp) {
  const Result r = Spanctl("trace --db " + Db() + " " + *planted_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("{\"resourceSpans\":[", 0), 0u) << r.out.substr(0, 200);
  EXPECT_THAT(r.out, HasSubstr("\"traceId\":\"" + *planted_ + "\""));
}

TEST_F(SpanctlE2eTest, QueryFindsTheStagingHost) {
  const Result r = Spanctl("query --db " + Db() + " '{ span.http.host =~ \".*staging.*\" }'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(*planted_));
  EXPECT_THAT(r.out, HasSubstr("1 spans"));
  const Result window = Spanctl(
      "query --db " + Db() + " '{ span.http.host =~ \".*staging.*\" }' --end 2020-01-01T00:00:00Z");
  ASSERT_EQ(window.exit_code, 0) << window.out;
  EXPECT_THAT(window.out, HasSubstr("0 spans"));
}

TEST_F(SpanctlE2eTest, TraceQLBeyondOneFilter) {
  // The planted slow payment call sits below checkout: a structural query finds it.
  Result r = Spanctl("search --db " + Db() +
                     " '{ resource.service.name = \"checkout\" } >> { span.http.host = "
                     "\"payments.staging.internal\" }' --limit 0");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(*planted_));
  EXPECT_THAT(r.out, HasSubstr("1 traces"));
  r = Spanctl("query --db " + Db() +
              " '{ resource.service.name = \"frontend\" } >> { } | count() > 2' --limit 5");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("5 spans"));
  // Errors name the column; a usage error exits 2.
  r = Spanctl("search --db " + Db() + " '{ } >> { } | cnt() > 1'");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("column 14: unknown pipeline stage 'cnt'"));
  // A deadline: a timeout too short for any search fails with exit code 1.
  r = Spanctl("search --db " + Db() + " '{ .http.host =~ \".*x.*\" } >> { }' --timeout 1ns");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("deadline"));
}

TEST_F(SpanctlE2eTest, ServicesStatsVerify) {
  const Result services = Spanctl("services --db " + Db());
  ASSERT_EQ(services.exit_code, 0);
  EXPECT_THAT(services.out, HasSubstr("checkout\n"));
  EXPECT_THAT(services.out, HasSubstr("payment\n"));
  const Result stats = Spanctl("stats --db " + Db());
  ASSERT_EQ(stats.exit_code, 0) << stats.out;
  EXPECT_THAT(stats.out, HasSubstr("traces           2000"));
  EXPECT_THAT(stats.out, HasSubstr("app.session.id"));
  const Result verify = Spanctl("verify --db " + Db());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("OK:"));
}

TEST_F(SpanctlE2eTest, VerifyFindsDamage) {
  test::TempDir damaged;
  const std::string db = damaged.Sub("s");
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 200 --batch 100").exit_code, 0);
  std::string seg;
  for (const auto& e : std::filesystem::directory_iterator(db + "/wal")) {
    if (std::filesystem::file_size(e.path()) > 10000) seg = e.path().string();
  }
  ASSERT_FALSE(seg.empty());
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x5a');
  }
  const Result r = Spanctl("verify --db " + db);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("DAMAGED"));
  // Opening it fails with the file and offset.
  const Result open = Spanctl("services --db " + db);
  EXPECT_EQ(open.exit_code, 1);
  EXPECT_THAT(open.out, ::testing::ContainsRegex("wal/[0-9]+\\.log: offset [0-9]+"));
}

TEST_F(SpanctlE2eTest, UsageErrorsExitTwo) {
  Result r = Spanctl("query --db " + Db() + " --frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("unknown flag --frobnicate (see 'spanctl query --help')"));
  r = Spanctl("query --db " + Db() + " '{ duration > }'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("column 14"));
  r = Spanctl("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  r = Spanctl("trace --db " + Db());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("missing argument"));
  r = Spanctl("trace --db " + Db() + " nothex");
  EXPECT_EQ(r.exit_code, 2);
  r = Spanctl("gen --db " + Db() + " --traces lots");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--traces must be a whole number"));
  // Hardening issue, items 6 and 7: negative or garbage numbers and times are usage errors,
  // never "everything" or a guessed unit.
  r = Spanctl("query --db " + Db() + " --limit -1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--limit must be a whole number from 0"));
  r = Spanctl("search --db " + Db() + " --limit 1.5");
  EXPECT_EQ(r.exit_code, 2);
  for (const char* t :
       {"-5", "1767225600000", "1969-12-31T00:00:00Z", "99999999999999999999ns", "tomorrow"}) {
    r = Spanctl("search --db " + Db() + " --start " + t);
    EXPECT_EQ(r.exit_code, 2) << t;
    EXPECT_THAT(r.out, HasSubstr("--start: '")) << t;
  }
  r = Spanctl("query --db " + Db() + " --end 1767225600000ms --start 2026-01-01T00:00:00Z");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST_F(SpanctlE2eTest, MissingTraceExitsOne) {
  const Result r = Spanctl("trace --db " + Db() + " 0123456789abcdef0123456789abcdef");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("not found"));
}

TEST_F(SpanctlE2eTest, HelpEverywhere) {
  for (const char* cmd : {"gen", "load", "trace", "query", "search", "services", "stats", "verify",
                          "repair", "compact", "bench"}) {
    const Result r = Spanctl(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_THAT(r.out, HasSubstr(std::string("usage: spanctl ") + cmd)) << cmd;
  }
  EXPECT_EQ(Spanctl("--help").exit_code, 0);
}

TEST_F(SpanctlE2eTest, LoadFixtures) {
  test::TempDir d;
  const std::string db = d.Sub("s");
  const std::string data = SPANSTORE_TESTDATA_DIR;
  Result r = Spanctl("load --db " + db + " " + data + "/otlp_basic.json " + data +
                     "/otlp_collector.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("loaded 6 spans"));
  r = Spanctl("trace --db " + db + " 5b8efff798038103d269b633813fc60c --no-color");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("!checkout POST /checkout"));
  EXPECT_THAT(r.out, HasSubstr("payment POST /v1/charge"));
  r = Spanctl("load --db " + db + " " + data + "/jaeger_trace.json " + data + "/zipkin_spans.json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("jaeger_trace.json: 2 spans from 1 documents (jaeger-json)"));
  EXPECT_THAT(r.out, HasSubstr("zipkin_spans.json: 4 spans from 1 documents (zipkin-json)"));
  r = Spanctl("services --db " + db);
  EXPECT_THAT(r.out, HasSubstr("mysql"));
  EXPECT_THAT(r.out, HasSubstr("backend"));
  // stdin
  r = Spanctl("load --db " + db + " - < " + data + "/otlp_basic.json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Bad input: exit 1 with line and path; what came before stays.
  r = Spanctl("load --db " + db + " " + data + "/otlp_bad.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("otlp_bad.jsonl: line 2: invalid JSON"));
  r = Spanctl("load --db " + db + " --skip-invalid " + data + "/otlp_bad.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("skipped 1 invalid spans and 1 invalid documents"));
  r = Spanctl("query --db " + db + " '{ name =~ \"ok-.*\" }'");
  EXPECT_THAT(r.out, HasSubstr("2 spans"));
  r = Spanctl("load --db " + db + " /nonexistent.json");
  EXPECT_EQ(r.exit_code, 1);
}

// Hardening issue, item 8: a load that fails says where, and exactly what was committed before.
TEST_F(SpanctlE2eTest, LoadErrorsNamePositionAndCommittedSpans) {
  test::TempDir d;
  const std::string db = d.Sub("s");
  auto span = [](int i, const std::string& name) {
    char ids[80];
    std::snprintf(ids, sizeof ids, R"("traceId":"%032x","spanId":"%016x")", i + 1, i + 1);
    return std::string(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)") + ids + R"(,"name":")" +
           name +
           R"(","startTimeUnixNano":"1700000000000000000"}]}]}]})"
           "\n";
  };
  {
    std::ofstream f(d.Sub("bad.jsonl"));
    f << span(0, "a") << span(1, "b") << span(2, "c") << "{not json\n" << span(4, "e");
  }
  // Batches of one: three spans are committed before line 4; the old message said 0.
  Result r = Spanctl("load --db " + db + " --batch 1 --sync every-batch " + d.Sub("bad.jsonl"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("bad.jsonl: line 4: invalid JSON"));
  EXPECT_THAT(r.out, HasSubstr("3 spans of " + d.Sub("bad.jsonl") +
                               " before the error were committed and kept (3 in all, "
                               "sync=every-batch)"));
  r = Spanctl("query --db " + db + " '{ }'");
  EXPECT_THAT(r.out, HasSubstr("3 spans"));

  // A span over a store limit (max_string_bytes) is named by line and path, and skipped and
  // counted exactly with --skip-invalid.
  {
    std::ofstream f(d.Sub("limit.jsonl"));
    f << span(10, "ok") << span(11, std::string(3 << 19, 'x')) << span(12, "ok2");
  }
  r = Spanctl("load --db " + d.Sub("l") + " " + d.Sub("limit.jsonl"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("limit.jsonl: line 2: otlp-json: resourceSpans[0].scopeSpans[0]."
                               "spans[0]: span "));
  EXPECT_THAT(r.out, HasSubstr("max_string_bytes"));
  r = Spanctl("load --db " + d.Sub("l2") + " --skip-invalid " + d.Sub("limit.jsonl"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("limit.jsonl: 2 spans from 3 documents (otlp-json), skipped 1 "
                               "invalid spans and 0 invalid documents; first: "));
  EXPECT_THAT(r.out, HasSubstr("loaded 2 spans"));

  // Garbage is an unknown format, not a protobuf length error; zeros do not load as nothing.
  std::ofstream(d.Sub("garbage.txt")) << "this is not a trace file\n";
  r = Spanctl("load --db " + d.Sub("g") + " " + d.Sub("garbage.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("unknown or empty format"));
  std::ofstream(d.Sub("zeros.bin"), std::ios::binary) << std::string(1 << 20, '\0');
  r = Spanctl("load --db " + d.Sub("g") + " " + d.Sub("zeros.bin"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("unknown or empty format"));
  r = Spanctl("load --db " + d.Sub("g") + " --sync sometimes " + d.Sub("bad.jsonl"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--sync must be every-batch, interval or none"));
}

// --json output is OTLP that spanctl itself loads back: the planted trace keeps its spans and gap.
TEST_F(SpanctlE2eTest, JsonOutputLoadsBack) {
  test::TempDir d;
  const std::string db = d.Sub("s");
  Result r = Spanctl("trace --db " + Db() + " " + *planted_ + " --json > " + d.Sub("t.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Spanctl("query --db " + Db() + " '{ status = error }' --limit 5 --json > " + d.Sub("q.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Spanctl("load --db " + db + " " + d.Sub("t.json") + " " + d.Sub("q.json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("(otlp-json)"));
  const Result original = Spanctl("trace --db " + Db() + " " + *planted_ + " --no-color");
  const Result reloaded = Spanctl("trace --db " + db + " " + *planted_ + " --no-color");
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.out;
  EXPECT_EQ(reloaded.out, original.out);
  r = Spanctl("query --db " + db + " '{ status = error }' --limit 0");
  EXPECT_THAT(r.out, HasSubstr("5 spans"));
  r = Spanctl("search --db " + Db() + " '{ duration > 4s }' --limit 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("{\"traces\":[{\"traceID\":\"", 0), 0u) << r.out;
}

// Binary OTLP protobuf, as an SDK's OTLP/HTTP exporter sends it, detected and loaded.
TEST_F(SpanctlE2eTest, LoadOtlpProtobuf) {
  test::TempDir d;
  GeneratorOptions o;
  o.traces = 20;
  o.seed = 11;
  CheckoutGenerator gen(o);
  std::vector<Span> spans, all;
  while (gen.NextTrace(&spans)) all.insert(all.end(), spans.begin(), spans.end());
  std::string encoded;
  EncodeOtlpTraces(all, &encoded);
  std::ofstream(d.Sub("req.pb"), std::ios::binary) << encoded;
  Result r = Spanctl("load --db " + d.Sub("a") + " " + d.Sub("req.pb"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("loaded " + std::to_string(all.size()) + " spans"));
  r = Spanctl("load --db " + d.Sub("b") + " --format otlp-proto - < " + d.Sub("req.pb"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Spanctl("trace --db " + d.Sub("b") + " " + all[0].trace_id.ToHex() + " --no-color");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(all[0].service_name + " " + all[0].name));
}

// The single block file of a compacted store.
std::string OnlyBlock(const std::string& db) {
  std::string block;
  for (const auto& e : std::filesystem::directory_iterator(db + "/blocks")) {
    if (e.path().extension() == ".sum") continue;  // its analysis summary
    if (!block.empty()) return "";
    block = e.path().string();
  }
  return block;
}

TEST_F(SpanctlE2eTest, CompactThenVerifyStatsAndSearch) {
  test::TempDir d;
  const std::string db = d.Sub("s");
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 300 --plant-gap").exit_code, 0);
  Result r = Spanctl("compact --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("compacted"));
  ASSERT_FALSE(OnlyBlock(db).empty());
  r = Spanctl("verify --db " + db);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("ok +MANIFEST: 1 blocks"));
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("ok +blocks/[0-9]{6}\\.blk: [0-9]+ rows, 300 traces"));
  EXPECT_THAT(r.out, HasSubstr("OK: manifest ok, 1 blocks"));
  EXPECT_THAT(r.out, HasSubstr("0 problems, 0 warnings"));
  r = Spanctl("search --db " + db + " '{ span.http.host = \"payments.staging.internal\" }'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("1 traces"));
  // stats: the block, bytes per column in file order with per-span figures, and a total.
  r = Spanctl("stats --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("blocks +1 \\([0-9.]+ KiB\\)"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("bytes per span +[0-9]+\\.[0-9]"));
  EXPECT_THAT(r.out, HasSubstr("COLUMN        BYTES"));
  ASSERT_NE(r.out.find("\nstart.class "), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("\nstart.class "), r.out.find("\nspan_id ")) << "not in file order";
  EXPECT_LT(r.out.find("\nlinks "), r.out.find("\ntrace_index ")) << "not in file order";
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("attr\\.values +[0-9.]+ KiB +[0-9]+\\.[0-9] +[0-9.]+%"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("total +[0-9.]+ KiB +[0-9]+\\.[0-9] +100\\.0%"));
}

// A copy of a compacted store, damaged in turn: verify names each file and exits 1; what a crash
// legitimately leaves behind is a warning (exit 0).
TEST_F(SpanctlE2eTest, VerifyFindsDamageInBlocksAndManifest) {
  namespace fs = std::filesystem;
  test::TempDir d;
  const std::string clean = d.Sub("clean");
  ASSERT_EQ(Spanctl("gen --db " + clean + " --traces 300").exit_code, 0);
  ASSERT_EQ(Spanctl("compact --db " + clean).exit_code, 0);
  auto copy = [&](const std::string& name) {
    const std::string db = d.Sub(name);
    fs::copy(clean, db, fs::copy_options::recursive);
    return db;
  };

  {  // One flipped byte inside the row groups.
    const std::string db = copy("flipped");
    const std::string block = OnlyBlock(db);
    ASSERT_FALSE(block.empty());
    const uint64_t at = fs::file_size(block) / 3;
    std::fstream f(block, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(at);
    const char old = static_cast<char>(f.get());
    f.seekp(at);
    f.put(static_cast<char>(old ^ 0x10));
    f.close();
    const Result r = Spanctl("verify --db " + db);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_THAT(r.out, ::testing::ContainsRegex(
                           "DAMAGED +blocks/" + fs::path(block).stem().string() +
                           "\\.blk: row group [0-9]+ at offset [0-9]+: checksum mismatch"));
    EXPECT_THAT(r.out, HasSubstr("1 problems"));
  }
  {  // A truncated manifest.
    const std::string db = copy("truncated");
    fs::resize_file(db + "/MANIFEST", fs::file_size(db + "/MANIFEST") - 3);
    const Result r = Spanctl("verify --db " + db);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_THAT(r.out, ::testing::ContainsRegex("DAMAGED +MANIFEST: checksum mismatch"));
    // The blocks are still checked, each one.
    EXPECT_THAT(r.out, ::testing::ContainsRegex("ok +blocks/[0-9]{6}\\.blk"));
  }
  {  // A block the manifest names is gone.
    const std::string db = copy("missing");
    const std::string block = OnlyBlock(db);
    fs::remove(block);
    const Result r = Spanctl("verify --db " + db);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_THAT(r.out, ::testing::ContainsRegex("DAMAGED +blocks/[0-9]{6}\\.blk: missing"));
  }
  {  // Leftovers of a crash: an uninstalled block and a compacted segment. Warnings only.
    const std::string db = copy("orphans");
    fs::copy_file(OnlyBlock(db), db + "/blocks/000999.blk");
    std::ofstream(db + "/wal/000000.log") << "";
    const Result r = Spanctl("verify --db " + db);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_THAT(r.out,
                ::testing::ContainsRegex("warning +blocks/000999\\.blk: not in the manifest"));
    EXPECT_THAT(r.out, ::testing::ContainsRegex(
                           "warning +wal/000000\\.log: below the manifest's first live segment"));
    EXPECT_THAT(r.out, HasSubstr("0 problems, 2 warnings"));
    // A read command opens read-only and leaves them; opening the store to write removes both.
    ASSERT_EQ(Spanctl("services --db " + db).exit_code, 0);
    EXPECT_TRUE(fs::exists(db + "/blocks/000999.blk"));
    ASSERT_EQ(Spanctl("compact --db " + db).exit_code, 0);
    EXPECT_FALSE(fs::exists(db + "/blocks/000999.blk"));
    EXPECT_FALSE(fs::exists(db + "/wal/000000.log"));
  }
}

// Every file of a store, relative, with its size (LOCK aside).
std::map<std::string, uintmax_t> Listing(const std::string& dir) {
  std::map<std::string, uintmax_t> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string rel = std::filesystem::relative(e.path(), dir).string();
    if (rel != "LOCK") files[rel] = e.is_regular_file() ? e.file_size() : 0;
  }
  return files;
}

// A mistyped --db for a read command is an error, and creates nothing.
TEST_F(SpanctlE2eTest, ReadCommandsNeverCreateAStore) {
  test::TempDir d;
  const std::string missing = d.Sub("no-such-store");
  for (const std::string cmd : {"query", "search", "services", "stats", "verify",
                                "trace 4bf92f3577b34da6a3ce929d0e0e4736"}) {
    const std::string name = cmd.substr(0, cmd.find(' '));
    const std::string args = cmd.find(' ') == std::string::npos ? "" : cmd.substr(cmd.find(' '));
    const Result r = Spanctl(name + " --db " + missing + args);
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.out;
    EXPECT_FALSE(std::filesystem::exists(missing)) << cmd;
  }
  // An existing directory that holds no store is not made into one either.
  std::filesystem::create_directory(missing);
  const Result r = Spanctl("query --db " + missing);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("no spanstore store there"));
  EXPECT_TRUE(std::filesystem::is_empty(missing));
}

// A store on read-only media answers queries, and read commands write nothing even where they
// could (the test may run as root, whom chmod does not stop: the listing check still holds).
TEST_F(SpanctlE2eTest, ReadOnlyStoreDirectoryAnswersQueries) {
  namespace fs = std::filesystem;
  test::TempDir d;
  const std::string db = d.Sub("s");
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 200 --seed 3").exit_code, 0);
  ASSERT_EQ(Spanctl("compact --db " + db).exit_code, 0);
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 50 --seed 4").exit_code, 0);  // WAL too
  const auto before = Listing(db);
  ASSERT_EQ(std::system(("chmod -R a-w " + db).c_str()), 0);
  const Result search = Spanctl("search --db " + db + " --limit 0");
  const Result query = Spanctl("query --db " + db + " '{ status = error }' --limit 0");
  const Result stats = Spanctl("stats --db " + db);
  const Result verify = Spanctl("verify --db " + db);
  ASSERT_EQ(std::system(("chmod -R u+w " + db).c_str()), 0);
  EXPECT_EQ(search.exit_code, 0) << search.out;
  EXPECT_THAT(search.out, HasSubstr("250 traces"));
  EXPECT_EQ(query.exit_code, 0) << query.out;
  EXPECT_EQ(stats.exit_code, 0) << stats.out;
  EXPECT_THAT(stats.out, HasSubstr("traces           250"));
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(Listing(db), before);
}

// The defect: with MANIFEST deleted, verify said OK and the next command deleted every block.
TEST_F(SpanctlE2eTest, RepairRebuildsADeletedManifest) {
  namespace fs = std::filesystem;
  test::TempDir d;
  const std::string db = d.Sub("s");
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 300 --seed 5").exit_code, 0);
  ASSERT_EQ(Spanctl("compact --db " + db).exit_code, 0);
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 40 --seed 6").exit_code, 0);
  const Result stats_before = Spanctl("stats --db " + db);
  ASSERT_EQ(stats_before.exit_code, 0) << stats_before.out;
  fs::remove(db + "/MANIFEST");
  const auto blocks = Listing(db + "/blocks");
  ASSERT_FALSE(blocks.empty());

  Result r = Spanctl("verify --db " + db);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("DAMAGED +MANIFEST: missing, but blocks/ holds"));
  EXPECT_THAT(r.out, Not(HasSubstr("the next open deletes it")));
  for (const std::string cmd : {"services", "search", "compact"}) {
    r = Spanctl(std::string(cmd) + " --db " + db);
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr("MANIFEST is missing")) << cmd;
    EXPECT_THAT(r.out, HasSubstr("spanctl repair --db " + db)) << cmd;
  }
  EXPECT_EQ(Listing(db + "/blocks"), blocks);

  r = Spanctl("repair --db " + db);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("MANIFEST rebuilt"));
  EXPECT_THAT(r.out, HasSubstr("repaired: "));
  EXPECT_THAT(r.out, HasSubstr("verify after repair: OK"));
  r = Spanctl("verify --db " + db);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const Result stats_after = Spanctl("stats --db " + db);
  ASSERT_EQ(stats_after.exit_code, 0) << stats_after.out;
  std::smatch before, after;
  const std::regex traces("traces +([0-9]+)"), spans("spans +([0-9]+)");
  ASSERT_TRUE(std::regex_search(stats_before.out, before, traces));
  ASSERT_TRUE(std::regex_search(stats_after.out, after, traces));
  EXPECT_EQ(before[1], after[1]);
  ASSERT_TRUE(std::regex_search(stats_before.out, before, spans));
  ASSERT_TRUE(std::regex_search(stats_after.out, after, spans));
  EXPECT_EQ(before[1], after[1]);
  // A healthy store: nothing to repair.
  r = Spanctl("repair --db " + db);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("nothing to repair"));
}

// A WAL segment missing from the middle: refused with the file named, reported, repaired.
TEST_F(SpanctlE2eTest, MissingWalSegmentIsReportedAndRepaired) {
  namespace fs = std::filesystem;
  test::TempDir d;
  const std::string db = d.Sub("s");
  std::vector<Span> written;  // blocks, and several live WAL segments
  ASSERT_TRUE(test::BuildDamageStore(db, &written).ok());
  std::vector<std::string> segments;
  for (const auto& [f, size] : Listing(db + "/wal")) segments.push_back(f);
  ASSERT_GE(segments.size(), 3u);
  fs::remove(db + "/wal/" + segments[1]);
  Result r = Spanctl("search --db " + db);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr(segments[1] + " is missing"));
  r = Spanctl("verify --db " + db);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("DAMAGED +wal/" + segments[1] + ": missing"));
  r = Spanctl("repair --db " + db);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("1 WAL segments missing"));
  EXPECT_THAT(r.out, HasSubstr("verify after repair: OK"));
  r = Spanctl("search --db " + db + " --limit 0");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("[1-9][0-9]* traces\n"));
}

// A damaged WAL record: read commands refuse, `--salvage` reads past it without changing a file.
TEST_F(SpanctlE2eTest, SalvageFlagReadsPastDamageWithoutRepairing) {
  test::TempDir d;
  const std::string db = d.Sub("s");
  ASSERT_EQ(Spanctl("gen --db " + db + " --traces 200 --batch 100").exit_code, 0);
  std::string seg;
  for (const auto& e : std::filesystem::directory_iterator(db + "/wal")) {
    if (std::filesystem::file_size(e.path()) > 10000) seg = e.path().string();
  }
  ASSERT_FALSE(seg.empty());
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x5a');
  }
  const auto before = Listing(db);
  Result r = Spanctl("search --db " + db + " --limit 0");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = Spanctl("search --db " + db + " --limit 0 --salvage");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("[1-9][0-9]* traces\n"));
  EXPECT_EQ(Listing(db), before);
}

TEST_F(SpanctlE2eTest, BenchRuns) {
  const Result r = Spanctl("bench --spans 5000 --batch 500 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("spans/s"));
}

}  // namespace
}  // namespace spanstore
