// The HTTP listener's limits and lifecycle, with a handler written for each test.

#include "tools/spanstored/http_server.h"

#include <future>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/spanstored/test_support.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class TestServer {
 public:
  TestServer(HttpServerOptions options, HttpHandler handler, uint64_t budget = 1 << 30)
      : budget_(budget) {
    options.name = "test";
    server_ =
        std::make_unique<HttpServer>(options, std::move(handler), &pool_, &budget_, &metrics_);
    auto port = server_->Listen("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << port.status();
    address_ = "127.0.0.1:" + std::to_string(*port);
  }
  ~TestServer() {
    server_->Shutdown(absl::Now() + absl::Seconds(10));
    pool_.Join();
  }
  const std::string& address() const { return address_; }
  HttpServer& server() { return *server_; }
  Metrics& metrics() { return metrics_; }

 private:
  Metrics metrics_;
  WorkerPool pool_{4};
  InflightBudget budget_;
  std::unique_ptr<HttpServer> server_;
  std::string address_;
};

HttpResponse Echo(HttpRequest& r) {
  std::string params;
  for (const auto& [k, v] : r.params) params += "[" + k + "=" + v + "]";
  std::string segments;
  for (const auto& s : r.segments) segments += "<" + s + ">";
  return HttpResponse::Text(200, r.method + " " + r.path + " " + segments + " " + params + " " +
                                     std::to_string(r.body.size()));
}

TEST(HttpServerTest, KeepAliveConnectionServesManyRequestsWithDecodedTargets) {
  TestServer s({}, Echo);
  HttpConnection c(s.address());
  for (int i = 0; i < 3; ++i) {
    HttpResult r = c.Request("POST", "/api/search/tag/a%252Fb/values?q=%7B+%7D&x=1&x=2", {},
                             std::string(100 + i, 'b'));
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body,
              "POST /api/search/tag/a%2Fb/values <api><search><tag><a%2Fb><values> "
              "[q={ }][x=1][x=2] " +
                  std::to_string(100 + i) + "\n");
    EXPECT_EQ(r.Header("server"), "spanstored");
  }
  EXPECT_EQ(s.server().connections(), 1);
}

TEST(HttpServerTest, OversizedHeadersAre431) {
  HttpServerOptions o;
  o.max_header_bytes = 4096;
  TestServer s(o, Echo);
  HttpResult r = HttpFetch(s.address(), "GET", "/", {{"X-Big", std::string(8000, 'h')}});
  EXPECT_EQ(r.status, 431);
}

TEST(HttpServerTest, OversizedBodiesAre413WhetherDeclaredOrChunked) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  TestServer s(o, Echo);
  HttpResult r = HttpFetch(s.address(), "POST", "/", {}, std::string(5000, 'x'));
  EXPECT_EQ(r.status, 413);
  std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "100\r\n" + std::string(256, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_THAT(RawExchange(s.address(), chunked), StartsWith("HTTP/1.1 413"));
  // Within the limit, chunked works.
  EXPECT_THAT(RawExchange(s.address(),
                          "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
              HasSubstr("POST /c <c>  5"));
}

TEST(HttpServerTest, MalformedRequestsAre400) {
  TestServer s({}, Echo);
  EXPECT_THAT(RawExchange(s.address(), "THIS IS NOT HTTP\r\n\r\n"), StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(RawExchange(s.address(), "GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
              StartsWith("HTTP/1.1 400"));
}

TEST(HttpServerTest, ExpectContinueGetsAnInterimResponse) {
  TestServer s({}, Echo);
  const std::string out =
      RawExchange(s.address(),
                  "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
                  "Connection: close\r\n\r\nabc");
  EXPECT_THAT(out, StartsWith("HTTP/1.1 100 Continue\r\n"));
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(out, HasSubstr("POST /e <e>  3"));
}

TEST(HttpServerTest, SpentBodyBudgetIs503WithRetryAfter) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  TestServer s(
      {},
      [&](HttpRequest& r) {
        if (calls++ == 0) {
          entered.set_value();
          released.wait();
        }
        return Echo(r);
      },
      /*budget=*/1000);
  auto first = std::async(std::launch::async, [&] {
    return HttpFetch(s.address(), "POST", "/1", {}, std::string(800, 'a'));
  });
  entered.get_future().wait();  // the first body holds 800 of the 1000 bytes
  HttpResult second = HttpFetch(s.address(), "POST", "/2", {}, std::string(800, 'b'));
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.Header("retry-after"), "1");
  release.set_value();
  EXPECT_EQ(first.get().status, 200);
  // The budget came back.
  EXPECT_EQ(HttpFetch(s.address(), "POST", "/3", {}, std::string(800, 'c')).status, 200);
}

TEST(HttpServerTest, IdleKeepAliveConnectionsAreClosed) {
  HttpServerOptions o;
  o.idle_timeout = absl::Milliseconds(200);
  TestServer s(o, Echo);
  HttpConnection c(s.address());
  ASSERT_EQ(c.Request("GET", "/").status, 200);
  EXPECT_TRUE(c.ClosedByPeer(30));
}

TEST(HttpServerTest, ConnectionsOverTheLimitAreClosed) {
  HttpServerOptions o;
  o.max_connections = 1;
  TestServer s(o, Echo);
  HttpConnection first(s.address());
  ASSERT_EQ(first.Request("GET", "/").status, 200);
  EXPECT_EQ(RawExchange(s.address(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  EXPECT_EQ(first.Request("GET", "/again").status, 200);
}

TEST(HttpServerTest, HandlerExceptionsAre500) {
  TestServer s({}, [](HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  HttpResult r = HttpFetch(s.address(), "GET", "/");
  EXPECT_EQ(r.status, 500);
  EXPECT_THAT(r.body, HasSubstr("boom"));
}

TEST(HttpServerTest, ShutdownStopsAcceptingAndFinishesRequestsInFlight) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  Metrics metrics;
  WorkerPool pool(2);
  InflightBudget budget(1 << 20);
  HttpServerOptions o;
  o.name = "test";
  HttpServer server(
      o,
      [&](HttpRequest& r) {
        entered.set_value();
        released.wait();
        return Echo(r);
      },
      &pool, &budget, &metrics);
  const std::string address = "127.0.0.1:" + std::to_string(*server.Listen("127.0.0.1", 0));
  HttpConnection idle(address);  // connected, no request: closed by the shutdown
  auto in_flight = std::async(std::launch::async,
                              [&] { return HttpFetch(address, "POST", "/slow", {}, "body"); });
  entered.get_future().wait();
  auto shutdown =
      std::async(std::launch::async, [&] { server.Shutdown(absl::Now() + absl::Seconds(30)); });
  EXPECT_TRUE(idle.ClosedByPeer(30));
  EXPECT_EQ(HttpFetch(address, "GET", "/new").status, 0);  // no longer accepting
  release.set_value();
  HttpResult r = in_flight.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("connection"), "close");
  shutdown.get();
  pool.Join();
}

}  // namespace
}  // namespace spanstore::spanstored::testing
