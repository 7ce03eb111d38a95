// spanstored with the real OpenTelemetry JavaScript SDK (tests/otel_js: the SDK and its three
// OTLP exporters, pinned by package-lock.json and installed by scripts/setup.sh). The checks
// themselves are in tests/otel_js/e2e.js; this test starts the daemon and runs each mode.

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/spanstored/test_support.h"
#include "tests/util/temp_dir.h"

namespace spanstore::spanstored::testing {
namespace {

const std::string kDir = std::string(SPANSTORE_SOURCE_DIR) + "/tests/otel_js";

void RunMode(const std::string& mode, const std::vector<std::string>& flags = {}) {
  ASSERT_EQ(access((kDir + "/node_modules/@opentelemetry/sdk-trace-base").c_str(), F_OK), 0)
      << "the OpenTelemetry JS SDK is not installed: run scripts/setup.sh";
  spanstore::test::TempDir dir;
  Daemon d;
  ASSERT_TRUE(d.Start(dir.Sub("db"), flags)) << d.output();
  auto [code, out] =
      RunCommand({"node", kDir + "/e2e.js", mode, d.Address("otlp-http"), d.Address("otlp-grpc"),
                  d.Address("tempo"), d.Address("jaeger-query")});
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("\nPASS\n")) << out;
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("FAIL"))) << out;
}

TEST(SpanstoredOtelJsE2eTest, HttpJsonHttpProtobufGzipAndGrpcExportsReadBackFieldByField) {
  RunMode("export");
}

TEST(SpanstoredOtelJsE2eTest, A503WithRetryAfterMakesTheExporterRetryAndLoseNothing) {
  RunMode("retry", {"--test-refuse-ingest", "4"});
}

TEST(SpanstoredOtelJsE2eTest, EightConcurrentExportersLoseAndDuplicateNothing) {
  RunMode("concurrent");
}

}  // namespace
}  // namespace spanstore::spanstored::testing
