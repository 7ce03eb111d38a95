#include "workload/checkout_generator.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore {
namespace {

// Our own distributions on top of mt19937_64 (whose output the standard fixes), so that the
// same seed gives the same spans with every standard library.
class Rand {
 public:
  explicit Rand(std::mt19937_64* rng) : rng_(rng) {}
  uint64_t Next() { return (*rng_)(); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  bool Chance(double p) { return Unit() < p; }
  // Log-normal latency around `median` nanoseconds: one of 64 equally likely quantiles of
  // exp(N(0, 0.5^2)), in per mille. Integer arithmetic only, so every compiler and libm produce
  // the same spans (floating-point exp/log/cos differ in the last bit between toolchains).
  uint64_t Latency(uint64_t median) {
    static constexpr uint16_t kPermille[64] = {
        299,  370,  414,  449,  479,  505,  529,  552,  573,  594,  613,  632,  651,
        669,  687,  705,  722,  740,  757,  775,  792,  809,  827,  844,  862,  879,
        897,  915,  934,  952,  971,  990,  1010, 1030, 1050, 1071, 1093, 1115, 1137,
        1161, 1185, 1210, 1236, 1263, 1291, 1321, 1352, 1384, 1419, 1455, 1494, 1536,
        1581, 1631, 1685, 1745, 1812, 1890, 1980, 2089, 2227, 2413, 2701, 3349};
    const uint64_t jitter = Below(1000);  // spread within the quantile's neighbourhood
    return median / 1000 * kPermille[Below(64)] + median / 1000000 * jitter + 1000;
  }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }
  std::string Hex(int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s(digits, '0');
    for (char& c : s) c = kHex[Below(16)];
    return s;
  }

 private:
  std::mt19937_64* rng_;
};

struct ServiceInfo {
  const char* name;
  const char* version;
  const char* language;
  const char* sdk_version;
};

constexpr ServiceInfo kServices[] = {
    {"frontend", "2.14.3", "nodejs", "1.25.1"},
    {"api-gateway", "1.8.0", "go", "1.28.0"},
    {"checkout", "3.2.1", "go", "1.28.0"},
    {"cart", "1.12.4", "dotnet", "1.9.0"},
    {"payment", "4.0.2", "nodejs", "1.25.1"},
    {"inventory", "2.3.9", "java", "1.38.0"},
    {"shipping", "1.5.0", "rust", "0.23.0"},
    {"currency", "1.1.7", "cpp", "1.16.1"},
    {"recommendation", "2.0.11", "python", "1.27.0"},
    {"ad", "1.4.2", "java", "1.38.0"},
    {"email", "1.0.9", "ruby", "1.4.0"},
    {"fraud-check", "0.9.3", "python", "1.27.0"},
    {"user", "2.7.0", "java", "1.38.0"},
    {"auth", "3.1.4", "go", "1.28.0"},
    {"product-catalog", "5.2.0", "go", "1.28.0"},
    {"quote", "1.2.0", "php", "1.0.0"},
    {"accounting", "1.4.0", "dotnet", "1.9.0"},
    {"search", "2.1.3", "java", "1.38.0"},
    {"order-consumer", "1.3.5", "java", "1.38.0"},
    {"notification", "1.6.1", "go", "1.28.0"},
};
constexpr int kInstancesPerService = 3;

const ServiceInfo& Service(std::string_view name) {
  for (const ServiceInfo& s : kServices) {
    if (name == s.name) return s;
  }
  return kServices[0];
}

constexpr const char* kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "okhttp/4.12.0",
    "checkout-mobile/5.3.1 (Android 14)",
};
constexpr const char* kRegions[] = {"eu-west-1", "us-east-1", "ap-southeast-2"};
constexpr const char* kProducts[] = {"OLJCESPC7Z", "66VCHSJNUP", "1YMWWN1N4O", "L9ECAV7KIM",
                                     "2ZYFJ3GM2N", "0PUK6V6EV0", "LS4PSXUNUM", "9SIQT8TOJO",
                                     "6E92ZMYYFZ", "HQTGWGPNH4"};
constexpr const char* kCurrencies[] = {"EUR", "USD", "JPY", "GBP", "CAD", "CHF"};

}  // namespace

// Builds one trace: a tree of spans with consistent timing (children inside their parent),
// client/server pairs across service hops, and attributes by protocol.
struct CheckoutGenerator::State {
  State(const GeneratorOptions& options, std::mt19937_64* rng, uint64_t trace_index)
      : options(options), rand(rng), index(trace_index) {
    for (auto& b : trace_id.bytes) b = static_cast<uint8_t>(rand.Next());
    trace_id.bytes[0] |= 1;  // never all zero
    region = rand.Pick(kRegions);
    user_id = absl::StrFormat("u-%08d", rand.Below(5'000'000));
    session_id = rand.Hex(16);
  }

  SpanId NewSpanId() {
    SpanId id;
    for (auto& b : id.bytes) b = static_cast<uint8_t>(rand.Next());
    id.bytes[0] |= 1;
    return id;
  }

  void SetResource(Span* s, const ServiceInfo& svc) {
    const uint64_t instance = rand.Below(kInstancesPerService);
    const std::string pod = absl::StrFormat("%s-%s-%s", svc.name, PodHash(svc.name), PodSuffix(svc.name, instance));
    s->service_name = svc.name;
    s->resource_attributes = {
        {"service.name", AnyValue::String(svc.name)},
        {"service.namespace", AnyValue::String("shop")},
        {"service.version", AnyValue::String(svc.version)},
        {"service.instance.id", AnyValue::String(pod)},
        {"host.name", AnyValue::String(pod)},
        {"k8s.pod.name", AnyValue::String(pod)},
        {"k8s.namespace.name", AnyValue::String("shop-prod")},
        {"k8s.deployment.name", AnyValue::String(svc.name)},
        {"k8s.node.name", AnyValue::String(absl::StrFormat("ip-10-0-%d-%d.%s.compute.internal",
                                                           instance + 1, 10 + instance * 7, region))},
        {"cloud.region", AnyValue::String(region)},
        {"deployment.environment", AnyValue::String("production")},
        {"telemetry.sdk.name", AnyValue::String("opentelemetry")},
        {"telemetry.sdk.language", AnyValue::String(svc.language)},
        {"telemetry.sdk.version", AnyValue::String(svc.sdk_version)},
    };
    s->resource_schema_url = "https://opentelemetry.io/schemas/1.24.0";
  }

  static std::string PodHash(std::string_view service) {
    uint64_t h = 1469598103934665603ull;
    for (char c : service) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    return absl::StrFormat("%08x", h & 0xffffffff).substr(0, 9);
  }
  static std::string PodSuffix(std::string_view service, uint64_t instance) {
    static constexpr char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
    uint64_t h = instance * 2654435761u + service.size() * 40503u;
    std::string s(5, 'x');
    for (char& c : s) {
      c = kChars[h % 27];
      h = h / 27 + 7919 * (instance + 1);
    }
    return s;
  }

  // `parent` is copied before the vector may reallocate.
  Span* NewSpan(const ServiceInfo& svc, std::string name, SpanKind kind, SpanId parent,
                uint64_t start, const char* scope) {
    Span& s = spans.emplace_back();
    s.trace_id = trace_id;
    s.span_id = NewSpanId();
    s.parent_span_id = parent;
    s.flags = 0x101;  // sampled, parent is remote-aware (W3C flags in the low byte)
    s.name = std::move(name);
    s.kind = kind;
    s.start_time_unix_nano = start;
    s.end_time_unix_nano = start;
    s.scope_name = scope;
    s.scope_version = "0.49b0";
    SetResource(&s, svc);
    return &s;
  }

  // Index-stable access: spans may reallocate while children are added.
  size_t Add(const ServiceInfo& svc, std::string name, SpanKind kind, ptrdiff_t parent,
             uint64_t start, const char* scope) {
    const SpanId p = parent >= 0 ? spans[parent].span_id : SpanId();
    NewSpan(svc, std::move(name), kind, p, start, scope);
    return spans.size() - 1;
  }

  void HttpServer(size_t i, const char* method, const char* route, std::string path, int status) {
    Span& s = spans[i];
    s.attributes = {
        {"http.request.method", AnyValue::String(method)},
        {"http.route", AnyValue::String(route)},
        {"url.path", AnyValue::String(std::move(path))},
        {"url.scheme", AnyValue::String("https")},
        {"http.response.status_code", AnyValue::Int(status)},
        {"server.address", AnyValue::String("shop.example.com")},
        {"server.port", AnyValue::Int(443)},
        {"client.address", AnyValue::String(absl::StrFormat("203.0.113.%d", rand.Below(250) + 1))},
        {"user_agent.original", AnyValue::String(rand.Pick(kUserAgents))},
        {"network.protocol.version", AnyValue::String("2")},
        {"http.request.body.size", AnyValue::Int(static_cast<int64_t>(rand.Between(0, 4000)))},
        {"http.response.body.size", AnyValue::Int(static_cast<int64_t>(rand.Between(200, 40000)))},
        {"app.user.id", AnyValue::String(user_id)},
        {"app.session.id", AnyValue::String(session_id)},
    };
  }

  void Rpc(size_t i, const char* service, const char* method, const ServiceInfo& callee,
           bool client) {
    Span& s = spans[i];
    // Drawn one per statement: the order in which a call's arguments are evaluated is
    // unspecified (GCC and Clang differ), and the output must not depend on the compiler.
    const uint64_t peer_host = rand.Below(250) + 2;
    const uint64_t peer_subnet = rand.Below(4);
    s.attributes = {
        {"rpc.system", AnyValue::String("grpc")},
        {"rpc.service", AnyValue::String(service)},
        {"rpc.method", AnyValue::String(method)},
        {"rpc.grpc.status_code", AnyValue::Int(0)},
        {"server.address", AnyValue::String(absl::StrCat(callee.name, ".shop-prod.svc.cluster.local"))},
        {"server.port", AnyValue::Int(8080)},
        {"network.peer.address", AnyValue::String(absl::StrFormat("10.0.%d.%d", peer_subnet, peer_host))},
        {"network.peer.port", AnyValue::Int(client ? 8080 : static_cast<int64_t>(rand.Between(30000, 60000)))},
        {"network.transport", AnyValue::String("tcp")},
        {"thread.name", AnyValue::String(absl::StrFormat("grpc-worker-%d", rand.Below(16)))},
        {"app.user.id", AnyValue::String(user_id)},
    };
  }

  void Db(size_t i, const char* system, std::string statement, const char* operation,
          const char* table) {
    Span& s = spans[i];
    s.attributes = {
        {"db.system", AnyValue::String(system)},
        {"db.name", AnyValue::String(std::string(system) == "redis" ? "0" : "shop")},
        {"db.statement", AnyValue::String(std::move(statement))},
        {"db.operation", AnyValue::String(operation)},
        {"db.sql.table", AnyValue::String(table)},
        {"db.user", AnyValue::String("shop_rw")},
        {"server.address", AnyValue::String(absl::StrCat(system, ".shop-prod.svc.cluster.local"))},
        {"server.port", AnyValue::Int(std::string(system) == "redis" ? 6379 : 5432)},
        {"network.peer.address", AnyValue::String(absl::StrFormat("10.0.9.%d", rand.Below(3) + 10))},
        {"thread.id", AnyValue::Int(static_cast<int64_t>(rand.Between(1, 64)))},
        {"db.connection_pool.size", AnyValue::Int(20)},
    };
  }

  // A client span in `caller` and the server span in `callee`, `net` ns apart on each side.
  // Returns the server span's index; the caller fills its children then calls Finish on both.
  std::pair<size_t, size_t> Hop(ptrdiff_t parent, const char* caller, const char* callee,
                                const char* rpc_service, const char* method, uint64_t start) {
    const ServiceInfo& from = Service(caller);
    const ServiceInfo& to = Service(callee);
    const std::string name = absl::StrCat(rpc_service, "/", method);
    const size_t client = Add(from, name, SpanKind::kClient, parent, start, "io.opentelemetry.grpc");
    Rpc(client, rpc_service, method, to, true);
    const size_t server = Add(to, name, SpanKind::kServer, static_cast<ptrdiff_t>(client),
                              start + rand.Latency(150'000), "io.opentelemetry.grpc");
    Rpc(server, rpc_service, method, to, false);
    return {client, server};
  }

  // Ends span i at the later of its children's end and `self` ns after its start.
  uint64_t Finish(size_t i, uint64_t end) {
    Span& s = spans[i];
    s.end_time_unix_nano = std::max(end, s.start_time_unix_nano + 1000);
    return s.end_time_unix_nano;
  }
  uint64_t FinishHop(std::pair<size_t, size_t> hop, uint64_t server_end) {
    const uint64_t e = Finish(hop.second, server_end);
    return Finish(hop.first, e + rand.Latency(120'000));
  }

  uint64_t Leaf(size_t i, uint64_t median) {
    return Finish(i, spans[i].start_time_unix_nano + rand.Latency(median));
  }

  // --- the request types ---

  uint64_t GetCart(ptrdiff_t parent, const char* caller, uint64_t t) {
    auto hop = Hop(parent, caller, "cart", "oteldemo.CartService", "GetCart", t);
    const uint64_t s = spans[hop.second].start_time_unix_nano + rand.Latency(80'000);
    const size_t redis = Add(Service("cart"), "HGETALL", SpanKind::kClient,
                             static_cast<ptrdiff_t>(hop.second), s, "io.opentelemetry.redis");
    Db(redis, "redis", absl::StrCat("HGETALL cart:", user_id), "HGETALL", "cart");
    const uint64_t e = Leaf(redis, 400'000);
    return FinishHop(hop, e + rand.Latency(50'000));
  }

  uint64_t GetProduct(ptrdiff_t parent, const char* caller, uint64_t t) {
    auto hop = Hop(parent, caller, "product-catalog", "oteldemo.ProductCatalogService",
                   "GetProduct", t);
    const uint64_t s = spans[hop.second].start_time_unix_nano + rand.Latency(60'000);
    const size_t q = Add(Service("product-catalog"), "SELECT shop.products", SpanKind::kClient,
                         static_cast<ptrdiff_t>(hop.second), s, "io.opentelemetry.jdbc");
    Db(q, "postgresql",
       absl::StrFormat("SELECT id, name, price_units, price_nanos FROM products WHERE id = '%s'",
                       rand.Pick(kProducts)),
       "SELECT", "products");
    const uint64_t e = Leaf(q, 1'200'000);
    return FinishHop(hop, e + rand.Latency(40'000));
  }

  uint64_t Convert(ptrdiff_t parent, const char* caller, uint64_t t) {
    auto hop = Hop(parent, caller, "currency", "oteldemo.CurrencyService", "Convert", t);
    spans[hop.second].attributes.push_back(
        {"app.currency.conversion.to", AnyValue::String(rand.Pick(kCurrencies))});
    return FinishHop(hop, spans[hop.second].start_time_unix_nano + rand.Latency(200'000));
  }

  uint64_t Charge(ptrdiff_t parent, uint64_t t, bool planted) {
    // checkout -> payment over HTTP; the planted incident points it at a staging host.
    const char* host = planted ? "payments.staging.internal" : "payment.shop-prod.svc.cluster.local";
    const size_t client = Add(Service("checkout"), "POST", SpanKind::kClient, parent, t,
                              "io.opentelemetry.http");
    spans[client].attributes = {
        {"http.request.method", AnyValue::String("POST")},
        {"url.full", AnyValue::String(absl::StrCat("http://", host, "/v1/charge"))},
        {"http.host", AnyValue::String(host)},
        {"server.address", AnyValue::String(host)},
        {"server.port", AnyValue::Int(80)},
        {"http.response.status_code", AnyValue::Int(200)},
        {"network.protocol.version", AnyValue::String("1.1")},
        {"app.user.id", AnyValue::String(user_id)},
        {"app.payment.amount", AnyValue::Double(static_cast<double>(rand.Between(500, 90000)) / 100.0)},
        {"app.payment.currency", AnyValue::String(rand.Pick(kCurrencies))},
    };
    // A staging endpoint across regions: connection setup and TLS eat ~5 s.
    const uint64_t wait = planted ? 4'800'000'000ull + rand.Below(400'000'000) : rand.Latency(300'000);
    const size_t server = Add(Service("payment"), "POST /v1/charge", SpanKind::kServer,
                              static_cast<ptrdiff_t>(client), t + wait, "io.opentelemetry.http");
    HttpServer(server, "POST", "/v1/charge", "/v1/charge", 200);
    uint64_t e = spans[server].start_time_unix_nano + rand.Latency(300'000);
    auto fraud = Hop(static_cast<ptrdiff_t>(server), "payment", "fraud-check",
                     "oteldemo.FraudService", "Score", e);
    spans[fraud.second].attributes.push_back(
        {"app.fraud.score", AnyValue::Double(static_cast<double>(rand.Below(1000)) / 1000.0)});
    e = FinishHop(fraud, spans[fraud.second].start_time_unix_nano + rand.Latency(3'000'000));
    e = Finish(server, e + rand.Latency(500'000));
    return Finish(client, e + rand.Latency(200'000));
  }

  uint64_t PlaceOrder(ptrdiff_t parent, const char* caller, uint64_t t) {
    auto hop = Hop(parent, caller, "checkout", "oteldemo.CheckoutService", "PlaceOrder", t);
    const ptrdiff_t co = static_cast<ptrdiff_t>(hop.second);
    uint64_t cursor = spans[hop.second].start_time_unix_nano + rand.Latency(100'000);
    cursor = GetCart(co, "checkout", cursor);
    const uint64_t items = rand.Between(1, 2);
    for (uint64_t i = 0; i < items; ++i) cursor = GetProduct(co, "checkout", cursor + 20'000);
    const uint64_t conversions = rand.Between(0, 1);
    for (uint64_t i = 0; i < conversions; ++i) cursor = Convert(co, "checkout", cursor + 10'000);
    auto quote = Hop(co, "checkout", "shipping", "oteldemo.ShippingService", "GetQuote", cursor);
    auto calc = Hop(static_cast<ptrdiff_t>(quote.second), "shipping", "quote",
                    "oteldemo.QuoteService", "Calculate",
                    spans[quote.second].start_time_unix_nano + rand.Latency(100'000));
    const uint64_t q = FinishHop(calc, spans[calc.second].start_time_unix_nano + rand.Latency(700'000));
    cursor = FinishHop(quote, q + rand.Latency(50'000));
    cursor = Charge(co, cursor + 30'000, planted_now);
    auto ship = Hop(co, "checkout", "shipping", "oteldemo.ShippingService", "ShipOrder", cursor);
    cursor = FinishHop(ship, spans[ship.second].start_time_unix_nano + rand.Latency(900'000));
    // Publish the order; the consumer picks it up asynchronously (a follows-from link).
    const size_t pub = Add(Service("checkout"), "orders publish", SpanKind::kProducer, co,
                           cursor + 10'000, "io.opentelemetry.kafka");
    const std::string order_id = absl::StrFormat("ord-%s", rand.Hex(12));
    spans[pub].attributes = {
        {"messaging.system", AnyValue::String("kafka")},
        {"messaging.destination.name", AnyValue::String("orders")},
        {"messaging.operation", AnyValue::String("publish")},
        {"messaging.message.id", AnyValue::String(order_id)},
        {"messaging.kafka.destination.partition", AnyValue::Int(static_cast<int64_t>(rand.Below(12)))},
        {"messaging.client_id", AnyValue::String("checkout-producer")},
        {"server.address", AnyValue::String("kafka-orders.shop-prod.svc.cluster.local")},
        {"server.port", AnyValue::Int(9092)},
        {"app.order.id", AnyValue::String(order_id)},
        {"app.order.items", AnyValue::Int(static_cast<int64_t>(items))},
    };
    cursor = Leaf(pub, 900'000);
    const size_t consume = Add(Service("order-consumer"), "orders process", SpanKind::kConsumer,
                               static_cast<ptrdiff_t>(pub), cursor + rand.Latency(2'000'000),
                               "io.opentelemetry.kafka");
    spans[consume].attributes = spans[pub].attributes;
    spans[consume].attributes[2].value = AnyValue::String("process");
    spans[consume].attributes[5].value = AnyValue::String("order-consumer-group");
    spans[consume].attributes.push_back(
        {"messaging.kafka.message.offset", AnyValue::Int(static_cast<int64_t>(rand.Below(90'000'000)))});
    uint64_t c = spans[consume].start_time_unix_nano + rand.Latency(100'000);
    if (rand.Chance(0.5)) {
      auto mail = Hop(static_cast<ptrdiff_t>(consume), "order-consumer", "email",
                      "oteldemo.EmailService", "SendOrderConfirmation", c);
      c = FinishHop(mail, spans[mail.second].start_time_unix_nano + rand.Latency(6'000'000));
    } else if (rand.Chance(0.5)) {
      auto note = Hop(static_cast<ptrdiff_t>(consume), "order-consumer", "notification",
                      "oteldemo.NotificationService", "Push", c);
      c = FinishHop(note, spans[note.second].start_time_unix_nano + rand.Latency(2'000'000));
    } else {
      auto book = Hop(static_cast<ptrdiff_t>(consume), "order-consumer", "accounting",
                      "oteldemo.AccountingService", "RecordOrder", c);
      c = FinishHop(book, spans[book.second].start_time_unix_nano + rand.Latency(3'000'000));
    }
    Finish(consume, c + rand.Latency(100'000));
    // The checkout call returns without waiting for the consumer.
    return FinishHop(hop, cursor + rand.Latency(200'000));
  }

  uint64_t Browse(ptrdiff_t parent, const char* caller, uint64_t t) {
    uint64_t cursor = t;
    if (rand.Chance(0.4)) {
      auto search = Hop(parent, caller, "search", "oteldemo.SearchService", "Query", cursor);
      search_attrs(search.second);
      cursor = FinishHop(search, spans[search.second].start_time_unix_nano + rand.Latency(4'000'000));
    }
    const uint64_t n = rand.Between(1, 4);
    for (uint64_t i = 0; i < n; ++i) cursor = GetProduct(parent, caller, cursor + 15'000);
    auto stock = Hop(parent, caller, "inventory", "oteldemo.InventoryService", "GetStock", cursor);
    cursor = FinishHop(stock, spans[stock.second].start_time_unix_nano + rand.Latency(900'000));
    auto rec = Hop(parent, caller, "recommendation", "oteldemo.RecommendationService",
                   "ListRecommendations", cursor);
    uint64_t r = GetProduct(static_cast<ptrdiff_t>(rec.second), "recommendation",
                            spans[rec.second].start_time_unix_nano + rand.Latency(300'000));
    cursor = FinishHop(rec, r + rand.Latency(500'000));
    auto ad = Hop(parent, caller, "ad", "oteldemo.AdService", "GetAds", cursor);
    return FinishHop(ad, spans[ad.second].start_time_unix_nano + rand.Latency(900'000));
  }

  void search_attrs(size_t i) {
    static constexpr const char* kTerms[] = {"telescope", "binoculars", "lens", "tripod",
                                             "star chart", "eyepiece", "red flashlight"};
    spans[i].attributes.push_back({"app.search.query", AnyValue::String(rand.Pick(kTerms))});
  }

  uint64_t Login(ptrdiff_t parent, const char* caller, uint64_t t) {
    auto user = Hop(parent, caller, "user", "oteldemo.UserService", "Login", t);
    auto auth = Hop(static_cast<ptrdiff_t>(user.second), "user", "auth", "oteldemo.AuthService",
                    "IssueToken", spans[user.second].start_time_unix_nano + rand.Latency(100'000));
    const size_t q = Add(Service("auth"), "SELECT shop.users", SpanKind::kClient,
                         static_cast<ptrdiff_t>(auth.second),
                         spans[auth.second].start_time_unix_nano + rand.Latency(50'000),
                         "io.opentelemetry.jdbc");
    Db(q, "postgresql", "SELECT id, password_hash, mfa FROM users WHERE email = $1", "SELECT",
       "users");
    uint64_t e = Leaf(q, 1'500'000);
    e = FinishHop(auth, e + rand.Latency(800'000));  // bcrypt
    return FinishHop(user, e + rand.Latency(100'000));
  }

  void Build(uint64_t start, bool planted) {
    planted_now = planted;
    // The request type mix of a shop: browsing dominates, checkouts are the money.
    const uint64_t kind = planted ? 0 : rand.Below(100);
    const char* method = "GET";
    const char* route = "/api/products";
    if (kind < 25) {
      method = "POST";
      route = "/api/checkout";
    } else if (kind < 40) {
      route = "/api/cart";
    } else if (kind < 48) {
      method = "POST";
      route = "/api/login";
    }
    const size_t root = Add(Service("frontend"), absl::StrCat(method, " ", route),
                            SpanKind::kServer, -1, start, "io.opentelemetry.http");
    HttpServer(root, method, route, route, 200);
    auto gw = Hop(static_cast<ptrdiff_t>(root), "frontend", "api-gateway", "gateway.Gateway",
                  "Route", start + rand.Latency(200'000));
    const ptrdiff_t g = static_cast<ptrdiff_t>(gw.second);
    const uint64_t t = spans[gw.second].start_time_unix_nano + rand.Latency(80'000);
    uint64_t end;
    if (kind < 25) {
      end = PlaceOrder(g, "api-gateway", t);
    } else if (kind < 40) {
      end = GetCart(g, "api-gateway", t);
      end = Convert(g, "api-gateway", end);
    } else if (kind < 48) {
      end = Login(g, "api-gateway", t);
    } else {
      end = Browse(g, "api-gateway", t);
    }
    end = FinishHop(gw, end + rand.Latency(60'000));
    Finish(root, end + rand.Latency(150'000));
  }

  // Makes one span pathologically slow, stretching its ancestors to keep the tree consistent.
  void MakeSlow() {
    const size_t victim = 1 + rand.Below(spans.size() - 1);
    const uint64_t extra = 2'000'000'000ull + rand.Below(3'000'000'000ull);
    ShiftAfter(victim, extra);
  }

  // Delays everything that starts after span `victim` ends, and stretches its ancestors.
  void ShiftAfter(size_t victim, uint64_t extra) {
    const uint64_t old_end = spans[victim].end_time_unix_nano;
    for (Span& s : spans) {
      if (s.start_time_unix_nano >= old_end) {
        s.start_time_unix_nano += extra;
        s.end_time_unix_nano += extra;
      } else if (s.end_time_unix_nano >= old_end) {
        s.end_time_unix_nano += extra;  // an ancestor (or a span overlapping the victim's end)
      }
    }
  }

  // Fails one leaf-ish span with an exception, and its ancestors with an error status.
  void MakeError() {
    const size_t victim = 1 + rand.Below(spans.size() - 1);
    Span& s = spans[victim];
    s.status_code = StatusCode::kError;
    static constexpr const char* kErrors[][2] = {
        {"java.sql.SQLTransientConnectionException", "Connection is not available, request timed out after 30000ms"},
        {"Grpc.Core.RpcException", "Status(StatusCode=Unavailable, Detail=\"failed to connect to all addresses\")"},
        {"TimeoutError", "upstream request timeout"},
        {"redis.exceptions.ConnectionError", "Error 111 connecting to redis-cart:6379. Connection refused."},
    };
    const auto& e = kErrors[rand.Below(4)];
    s.status_message = e[1];
    s.events.push_back({s.end_time_unix_nano - 1000, "exception",
                        {{"exception.type", AnyValue::String(e[0])},
                         {"exception.message", AnyValue::String(e[1])},
                         {"exception.stacktrace",
                          AnyValue::String(absl::StrCat(e[0], ": ", e[1],
                                                        "\n\tat com.example.shop.Handler.handle(Handler.java:88)"
                                                        "\n\tat com.example.shop.Server.dispatch(Server.java:214)"))},
                         {"exception.escaped", AnyValue::Bool(false)}},
                        0});
    // Propagate to the ancestors.
    SpanId parent = s.parent_span_id;
    while (parent.IsValid()) {
      auto it = std::find_if(spans.begin(), spans.end(),
                             [&](const Span& x) { return x.span_id == parent; });
      if (it == spans.end()) break;
      it->status_code = StatusCode::kError;
      for (KeyValue& kv : it->attributes) {
        if (kv.key == "http.response.status_code") kv.value = AnyValue::Int(500);
        if (kv.key == "rpc.grpc.status_code") kv.value = AnyValue::Int(14);
      }
      parent = it->parent_span_id;
    }
  }

  const GeneratorOptions& options;
  Rand rand;
  uint64_t index;
  TraceId trace_id;
  const char* region;
  std::string user_id, session_id;
  bool planted_now = false;
  std::vector<Span> spans;
};

CheckoutGenerator::CheckoutGenerator(GeneratorOptions options)
    : options_(options), rng_(options.seed) {}

bool CheckoutGenerator::NextTrace(std::vector<Span>* spans) {
  if (next_trace_ >= options_.traces) return false;
  const uint64_t i = next_trace_++;
  const bool planted = options_.plant_gap_trace && i == options_.traces / 2;
  State state(options_, &rng_, i);
  const uint64_t step = options_.traces > 0 ? options_.duration_nanos / options_.traces : 0;
  const uint64_t start = options_.start_time_unix_nano + i * step + state.rand.Below(step + 1);
  state.Build(start, planted);
  if (!planted && state.rand.Chance(options_.slow_rate)) state.MakeSlow();
  if (!planted && state.rand.Chance(options_.error_rate)) state.MakeError();
  if (planted) planted_ = state.trace_id;
  std::stable_sort(state.spans.begin(), state.spans.end(), [](const Span& a, const Span& b) {
    return a.start_time_unix_nano < b.start_time_unix_nano;
  });
  *spans = std::move(state.spans);
  return true;
}

uint64_t CheckoutGenerator::traces_generated() const { return next_trace_; }

std::optional<TraceId> CheckoutGenerator::planted_trace_id() const { return planted_; }

}  // namespace spanstore
