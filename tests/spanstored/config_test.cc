#include "tools/spanstored/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spanstore::spanstored {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::optional<ServerConfig>> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "spanstored");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(ConfigTest, ListenAddresses) {
  auto a = ParseListenAddress("127.0.0.1:4318");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->enabled);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 4318);
  a = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(FormatHostPort(a->host, 17271), "[::1]:17271");
  a = ParseListenAddress(":3200");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  a = ParseListenAddress("off");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->enabled);
  for (const char* bad : {"", "4318", "host:", "host:65536", "::1:80", "[::1:80", "h:-1", "h:1x"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

TEST(ConfigTest, DefaultsAreTheDesignsLoopbackPorts) {
  auto c = Parse({"--db", "/tmp/x"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->has_value());
  const ServerConfig& config = **c;
  EXPECT_EQ(FormatHostPort(config.otlp_http.host, config.otlp_http.port), "127.0.0.1:4318");
  EXPECT_EQ(FormatHostPort(config.otlp_grpc.host, config.otlp_grpc.port), "127.0.0.1:4317");
  EXPECT_EQ(FormatHostPort(config.tempo.host, config.tempo.port), "127.0.0.1:3200");
  EXPECT_EQ(FormatHostPort(config.jaeger_query.host, config.jaeger_query.port), "127.0.0.1:16686");
  EXPECT_EQ(FormatHostPort(config.jaeger_storage.host, config.jaeger_storage.port),
            "127.0.0.1:17271");
  EXPECT_EQ(config.sync, SyncPolicy::kEveryBatch);
  EXPECT_EQ(config.max_request_bytes, 20u << 20);
}

TEST(ConfigTest, Flags) {
  auto c = Parse({"--db=/d", "--tempo", "off", "--otlp-http", "0.0.0.0:0", "--sync", "none",
                  "--max-request-bytes", "1MiB", "--workers", "3", "--test-refuse-ingest", "2"});
  ASSERT_TRUE(c.ok()) << c.status();
  const ServerConfig& config = **c;
  EXPECT_EQ(config.db, "/d");
  EXPECT_FALSE(config.tempo.enabled);
  EXPECT_EQ(config.otlp_http.host, "0.0.0.0");
  EXPECT_EQ(config.sync, SyncPolicy::kNone);
  EXPECT_EQ(config.max_request_bytes, 1u << 20);
  EXPECT_EQ(config.workers, 3);
  EXPECT_EQ(config.test_refuse_ingest, 2u);
}

TEST(ConfigTest, QueryTimeout) {
  auto c = Parse({"--db=/d"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->query_timeout, absl::Seconds(30));
  c = Parse({"--db=/d", "--query-timeout", "1.5s"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->query_timeout, absl::Milliseconds(1500));
  for (const char* bad : {"0s", "-1s", "soon", "inf"}) {
    EXPECT_FALSE(Parse({"--db=/d", "--query-timeout", bad}).ok()) << bad;
  }
}

TEST(ConfigTest, HelpAndUsageErrors) {
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_FALSE(help->has_value());
  EXPECT_THAT(UsageText(), HasSubstr("--otlp-grpc ADDR"));

  auto c = Parse({"--db", "/d", "--bogus", "1"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(Parse({}).status().message(), HasSubstr("--db DIR is required"));
  EXPECT_THAT(Parse({"--db", "/d", "--sync", "sometimes"}).status().message(),
              HasSubstr("every-batch, interval or none"));
  EXPECT_THAT(Parse({"--db", "/d", "--tempo", "nowhere"}).status().message(), HasSubstr("--tempo"));
  EXPECT_THAT(Parse({"--db", "/d", "--workers", "0"}).status().message(), HasSubstr("at least 1"));
  EXPECT_THAT(Parse({"--db"}).status().message(), HasSubstr("needs a value"));
  EXPECT_THAT(Parse({"--db", "/d", "stray"}).status().message(), HasSubstr("unexpected argument"));
}

}  // namespace
}  // namespace spanstore::spanstored
