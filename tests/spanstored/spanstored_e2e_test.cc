// The spanstored binary, as an operator runs it: flags and exit codes, the listening lines,
// SIGTERM, concurrent exporters, kill -9 in the middle of ingest, hostile bodies.

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/otlp_proto.h"
#include "tests/spanstored/test_support.h"
#include "tests/util/temp_dir.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uint64_t kStart = 1700000000000000000ull;

// A trace of `n` spans with ids derived from (client, request).
std::vector<Span> LoadTrace(int client, int request, int n) {
  std::vector<Span> spans;
  TraceId trace;
  trace.bytes[0] = 0xee;
  trace.bytes[1] = static_cast<uint8_t>(client);
  trace.bytes[2] = static_cast<uint8_t>(request);
  trace.bytes[3] = static_cast<uint8_t>(request >> 8);
  trace.bytes[15] = 1;
  for (int i = 0; i < n; ++i) {
    Span s;
    s.trace_id = trace;
    s.span_id.bytes[0] = 0x5a;
    s.span_id.bytes[6] = static_cast<uint8_t>(i >> 8);
    s.span_id.bytes[7] = static_cast<uint8_t>(i);
    if (i > 0) s.parent_span_id.bytes = {0x5a, 0, 0, 0, 0, 0, 0, 0};
    s.service_name = absl::StrCat("client-", client);
    s.resource_attributes = {{"service.name", AnyValue::String(s.service_name)}};
    s.name = absl::StrCat("op-", i % 7);
    s.start_time_unix_nano = kStart + static_cast<uint64_t>(request) * 1000000 + i;
    s.end_time_unix_nano = s.start_time_unix_nano + 1000;
    s.attributes = {{"i", AnyValue::Int(i)}, {"payload", AnyValue::String("xxxxxxxxxxxxxxxx")}};
    spans.push_back(std::move(s));
  }
  return spans;
}

std::unique_ptr<Store> OpenStore(const std::string& db) {
  auto store = Store::Open(Options(), db);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(SpanstoredE2eTest, UsageAndExitCodes) {
  auto [code, out] = RunCommand({SPANSTORED_PATH, "--db", "/tmp/x", "--bogus"});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("unknown flag --bogus"));
  std::tie(code, out) = RunCommand({SPANSTORED_PATH});
  EXPECT_EQ(code, 2);
  EXPECT_THAT(out, HasSubstr("--db DIR is required"));
  std::tie(code, out) = RunCommand({SPANSTORED_PATH, "--help"});
  EXPECT_EQ(code, 0);
  EXPECT_THAT(out, StartsWith("usage: spanstored --db DIR"));
  // A port that cannot be bound: exit 1 with the reason.
  spanstore::test::TempDir dir;
  std::tie(code, out) = RunCommand({SPANSTORED_PATH, "--db", dir.Sub("db"), "--tempo",
                                    "203.0.113.1:80", "--otlp-http", "off", "--otlp-grpc", "off",
                                    "--jaeger-query", "off", "--jaeger-storage", "off"});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out, HasSubstr("cannot listen"));
}

TEST(SpanstoredE2eTest, PrintsListenersServesAndShutsDownCleanlyOnSigterm) {
  spanstore::test::TempDir dir;
  Daemon d;
  ASSERT_TRUE(d.Start(dir.Sub("db"))) << d.output();
  // One line per listener, in DESIGN order, flushed before anything else happens.
  std::vector<std::string> names;
  for (const auto& line : absl::StrSplit(d.output(), '\n', absl::SkipEmpty())) {
    names.emplace_back(std::vector<std::string>(absl::StrSplit(line, ' '))[1]);
  }
  EXPECT_THAT(names, ::testing::ElementsAre("otlp-http", "otlp-grpc", "tempo", "jaeger-query",
                                            "jaeger-storage"));
  const std::vector<Span> spans = SampleTrace("svc", kStart, 1);
  HttpResult r = HttpFetch(d.Address("otlp-http"), "POST", "/v1/traces",
                           {{"Content-Type", "application/x-protobuf"}}, ProtoRequest(spans));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HttpFetch(d.Address("tempo"), "GET", "/ready").status, 200);
  const int status = d.Stop();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto store = OpenStore(dir.Sub("db"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetTrace(spans[0].trace_id)->spans, spans);
}

TEST(SpanstoredE2eTest, ConcurrentExportersLoseAndDuplicateNothing) {
  spanstore::test::TempDir dir;
  Daemon d;
  ASSERT_TRUE(d.Start(dir.Sub("db"))) << d.output();
  constexpr int kClients = 8, kRequests = 50, kSpans = 100;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpConnection connection(d.Address("otlp-http"));
      for (int r = 0; r < kRequests; ++r) {
        const std::string body = ProtoRequest(LoadTrace(c, r, kSpans));
        const bool gzip = (c + r) % 2 == 0;
        Headers h = {{"Content-Type", "application/x-protobuf"}};
        if (gzip) h.emplace_back("Content-Encoding", "gzip");
        HttpResult res = connection.Request("POST", "/v1/traces", h, gzip ? Gzip(body) : body);
        if (res.status == 200) ++acknowledged;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(acknowledged.load(), kClients * kRequests);
  ASSERT_TRUE(WIFEXITED(d.Stop()));
  auto store = OpenStore(dir.Sub("db"));
  ASSERT_NE(store, nullptr);
  for (int c = 0; c < kClients; ++c) {
    for (int r = 0; r < kRequests; ++r) {
      const std::vector<Span> want = LoadTrace(c, r, kSpans);
      auto got = store->GetTrace(want[0].trace_id);
      ASSERT_TRUE(got.ok()) << c << "/" << r;
      ASSERT_EQ(got->spans.size(), want.size()) << c << "/" << r;
    }
  }
  uint64_t scanned = 0;
  ASSERT_TRUE(store->Scan(SpanQuery(), [&](const Span&) { return ++scanned > 0; }).ok());
  EXPECT_EQ(scanned, static_cast<uint64_t>(kClients * kRequests * kSpans));
}

TEST(SpanstoredE2eTest, KillDashNineMidIngestKeepsEveryAcknowledgedSpan) {
  spanstore::test::TempDir dir;
  for (int round = 0; round < 3; ++round) {
    Daemon d;
    ASSERT_TRUE(d.Start(dir.Sub("db"))) << d.output();
    std::mutex mu;
    std::vector<std::pair<int, int>> acked;  // (client, request) of every 200
    std::atomic<bool> stop{false};
    std::atomic<int> count{0};
    std::atomic<int> alive{4};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        struct Exit {
          std::atomic<int>& alive;
          ~Exit() { --alive; }
        } exit{alive};
        HttpConnection connection(d.Address("otlp-http"));
        for (int r = 0; !stop; ++r) {
          HttpResult res =
              connection.Request("POST", "/v1/traces", {{"Content-Type", "application/x-protobuf"}},
                                 ProtoRequest(LoadTrace(c + 4 * round, r, 50)));
          if (res.status != 200) return;  // the daemon died under us
          std::lock_guard<std::mutex> l(mu);
          acked.emplace_back(c + 4 * round, r);
          ++count;
        }
      });
    }
    while (count < 100 * (round + 1) && alive > 0) std::this_thread::yield();
    ASSERT_EQ(alive.load(), 4) << "clients failed before the kill";
    d.Kill();  // SIGKILL while requests are in flight
    stop = true;
    for (auto& t : clients) t.join();
    // Restart on the same store: every acknowledged trace is there, whole, through the API.
    Daemon restarted;
    ASSERT_TRUE(restarted.Start(dir.Sub("db"))) << restarted.output();
    HttpConnection tempo(restarted.Address("tempo"));
    for (const auto& [c, r] : acked) {
      const std::vector<Span> want = LoadTrace(c, r, 50);
      HttpResult got = tempo.Request("GET", "/api/traces/" + want[0].trace_id.ToHex(),
                                     {{"Accept", "application/protobuf"}});
      ASSERT_EQ(got.status, 200) << "acknowledged trace " << c << "/" << r << " is missing";
      std::vector<Span> spans;
      ASSERT_TRUE(DecodeOtlpTraces(got.body, &spans).ok());
      ASSERT_EQ(spans, want) << c << "/" << r;
    }
    const int status = restarted.Stop();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST(SpanstoredE2eTest, HostileBodiesGetTheirCodesWithBoundedMemory) {
  spanstore::test::TempDir dir;
  Daemon d;
  ASSERT_TRUE(d.Start(dir.Sub("db"), {"--max-request-bytes", "4MiB"})) << d.output();
  const std::string address = d.Address("otlp-http");
  const Headers proto = {{"Content-Type", "application/x-protobuf"}};
  Headers gzip = proto;
  gzip.emplace_back("Content-Encoding", "gzip");
  // 512 MiB of zeros in half a megabyte, five times: each stops at the 4 MiB limit.
  const std::string bomb = Gzip(std::string(512 << 20, '\0'));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(HttpFetch(address, "POST", "/v1/traces", gzip, bomb).status, 413);
  }
  const std::string good = ProtoRequest(SampleTrace("ok", kStart, 2));
  EXPECT_EQ(HttpFetch(address, "POST", "/v1/traces", proto, good.substr(0, good.size() / 2)).status,
            400);
  EXPECT_EQ(HttpFetch(address, "POST", "/v1/traces", proto, std::string(5 << 20, 'x')).status, 413);
  EXPECT_EQ(HttpFetch(address, "POST", "/v1/traces", {{"Content-Type", "text/xml"}}, good).status,
            415);
  EXPECT_THAT(RawExchange(address, "\x16\x03\x01 TLS hello?\r\n\r\n"), StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(RawExchange(address,
                          "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                          "Content-Type: application/x-protobuf\r\n\r\nshort",
                          3),
              ::testing::IsEmpty());  // the server waits for the rest; the client gives up
  // Still serving.
  EXPECT_EQ(HttpFetch(address, "POST", "/v1/traces", proto, good).status, 200);
  // The bombs never expanded beyond the limit (a full inflate would need 512 MiB).
  EXPECT_LT(d.PeakRssBytes(), 160u << 20);
  ASSERT_TRUE(WIFEXITED(d.Stop()));
}

}  // namespace
}  // namespace spanstore::spanstored::testing
