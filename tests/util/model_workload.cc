#include "tests/util/model_workload.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace spanstore::test {
namespace {

// Spans ending at UINT64_MAX, whose duration exceeds INT64_MAX: block format 1 stored end -
// start as a signed delta, and reading it back as a duration lost them from min-duration
// queries (regression: store_model_test.DurationPastInt64MaxSurvivesCompaction).
constexpr bool kDurationsPastInt64Max = true;

const std::vector<std::string> kNames = {
    "GET /",         "GET /health",        "POST /cart", "GetCart", "PlaceOrder", "Charge",
    "SELECT orders", "redis GET",          "kafka.send", "render",  "ShipOrder",  "SendEmail",
    "Convert",       "ListRecommendations"};
const std::vector<std::string> kStatusMessages = {"", "timeout", "connection refused",
                                                  "card declined", "ok"};
const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "DELETE", "PATCH"};
const std::vector<std::string> kRegions = {"eu-west-1", "us-east-1", "ap-south-1"};
const std::vector<int64_t> kStatusCodes = {200, 201, 204, 301, 404, 429, 500, 502, 503, 504};
// Keys a span may carry; most have a usual type (see ValueFor).
const std::vector<std::string> kSpanKeys = {
    "http.status_code", "http.method", "http.url", "db.rows", "retry.ratio", "cache.hit",
    "payload",          "tags",        "ctx",      "note",    "region",      "x.awkward"};
// Keys a query may ask for: the above, resource-only keys and one no span has.
const std::vector<std::string> kQueryKeys = {
    "http.status_code", "http.method", "http.url",     "db.rows",   "retry.ratio",
    "cache.hit",        "payload",     "tags",         "ctx",       "note",
    "region",           "x.awkward",   "service.name", "host.name", "deployment.environment",
    "missing.key"};
const std::vector<std::string> kPatterns = {
    ".*", "GET|POST",   "eu-.*", "/api/v1/items/1.*", "[0-9]+",
    "",   "host-[0-2]", "5..",   "(?i)get",           "G.*"};
const std::vector<std::string> kDurationLiterals = {"0ns",  "100ns", "250us", "1ms",  "1.5ms",
                                                    "10ms", "250ms", "1s",    "1.5s", "2m"};
const std::vector<std::string> kKindNames = {"unspecified", "internal", "server",
                                             "client",      "producer", "consumer"};
const std::vector<std::string> kStatusNames = {"unset", "ok", "error"};
const std::vector<std::string> kOps = {"=", "!=", "<", "<=", ">", ">=", "=~", "!~"};

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const char* OpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
    case CompareOp::kExists:
      return "exists";
    case CompareOp::kRegex:
      return "=~";
    case CompareOp::kNotRegex:
      return "!~";
  }
  return "?";
}

const char* ScopeName(AttributeScope scope) {
  switch (scope) {
    case AttributeScope::kSpan:
      return "span.";
    case AttributeScope::kResource:
      return "resource.";
    case AttributeScope::kAny:
      return ".";
    case AttributeScope::kEvent:
      return "event.";
    case AttributeScope::kLink:
      return "link.";
    case AttributeScope::kInstrumentation:
      return "instrumentation.";
  }
  return "?";
}

std::string DescribeValue(const AnyValue& v) {
  switch (v.type()) {
    case AnyValue::Type::kString:
      return Quote(v.string_value());
    case AnyValue::Type::kDouble:
      return absl::StrFormat("%.17g(double)", v.double_value());
    case AnyValue::Type::kBytes:
      return absl::StrCat("bytes[", v.bytes_value().size(), "]");
    default:
      return v.ToString();
  }
}

}  // namespace

const std::vector<std::string>& ModelServices() {
  static const std::vector<std::string> kServices = {
      "frontend", "cart", "checkout", "payment", "shipping", "email", "currency", "recommendation"};
  return kServices;
}

ModelWorkload::ModelWorkload(uint64_t seed)
    : rng_(seed), random_(seed ^ 0x9e3779b97f4a7c15ull, [] {
        RandomSpanOptions o;
        o.huge_string_bytes = 300;  // awkward, not huge: keeps the test fast under ASan
        o.max_nesting = 2;
        return o;
      }()) {}

// --- Spans -----------------------------------------------------------------------------------

uint64_t ModelWorkload::NextDuration() {
  const uint64_t r = Uniform(100);
  if (r < 15) {  // round values that duration literals hit exactly
    static const uint64_t kRound[] = {0,         100,        250'000,     1'000'000,
                                      1'500'000, 10'000'000, 250'000'000, 1'000'000'000};
    return kRound[Uniform(8)];
  }
  // Log-uniform from 1 us to ~4 s.
  const double exponent = std::uniform_real_distribution<double>(3, 9.6)(rng_);
  return static_cast<uint64_t>(std::pow(10.0, exponent));
}

AnyValue ModelWorkload::ValueFor(const std::string& key) {
  if (key == "http.status_code") {
    const uint64_t r = Uniform(20);
    const int64_t code = kStatusCodes[Uniform(kStatusCodes.size())];
    if (r < 16) return AnyValue::Int(code);
    if (r < 18) return AnyValue::String(std::to_string(code));  // a string where ints are usual
    if (r < 19) return AnyValue::Double(static_cast<double>(code));
    return AnyValue::Int(static_cast<int64_t>(Uniform(2000)) - 1000);
  }
  if (key == "http.method") return AnyValue::String(Pick(kMethods));
  if (key == "http.url") return AnyValue::String(absl::StrCat("/api/v1/items/", Uniform(300)));
  if (key == "db.rows") {
    switch (Uniform(10)) {
      case 7:
        return AnyValue::Int(-static_cast<int64_t>(Uniform(1000)) - 1);
      case 8:
        return AnyValue::Int(Chance(0.5) ? std::numeric_limits<int64_t>::min()
                                         : std::numeric_limits<int64_t>::max());
      case 9:
        return AnyValue::Int(static_cast<int64_t>(rng_()));
      default:
        return AnyValue::Int(static_cast<int64_t>(Uniform(1000)));
    }
  }
  if (key == "retry.ratio") {
    static const double kDoubles[] = {0.0,
                                      -0.0,
                                      0.25,
                                      0.5,
                                      1.0,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::denorm_min(),
                                      1e308};
    if (Chance(0.5)) return AnyValue::Double(kDoubles[Uniform(10)]);
    return AnyValue::Double(std::uniform_real_distribution<double>(0, 1)(rng_));
  }
  if (key == "cache.hit") return AnyValue::Bool(Chance(0.5));
  if (key == "payload") {
    std::string raw(Uniform(40), '\0');
    for (char& c : raw) c = static_cast<char>(rng_());
    return AnyValue::BytesValue(std::move(raw));
  }
  if (key == "tags") {
    AnyValue::Array a;
    for (uint64_t i = Uniform(4); i > 0; --i) {
      a.push_back(Chance(0.5) ? AnyValue::String(Pick(kMethods))
                              : AnyValue::Int(static_cast<int64_t>(Uniform(10))));
    }
    return AnyValue::ArrayValue(std::move(a));
  }
  if (key == "ctx") {
    AnyValue::Map m;
    if (Chance(0.7)) m.push_back({"user", AnyValue::String(absl::StrCat("u", Uniform(20)))});
    if (Chance(0.5)) m.push_back({"attempt", AnyValue::Int(static_cast<int64_t>(Uniform(4)))});
    if (Chance(0.3)) m.push_back({"nested", random_.NextValue(1)});
    return AnyValue::MapValue(std::move(m));
  }
  if (key == "note") return AnyValue();
  if (key == "region") return AnyValue::String(Pick(kRegions));
  if (key == "host.name") return AnyValue::String(absl::StrCat("host-", Uniform(6)));
  if (key == "deployment.environment") {
    return AnyValue::String(Chance(0.8) ? "prod" : "staging");
  }
  if (key == "x.awkward") return random_.NextValue();
  return AnyValue::String(Pick(ModelServices()));
}

Attributes ModelWorkload::SpanAttributes() {
  Attributes attrs;
  for (const std::string& key : kSpanKeys) {
    if (Chance(0.35)) attrs.push_back({key, ValueFor(key)});
  }
  std::shuffle(attrs.begin(), attrs.end(), rng_);
  // A repeated key: lookups see the first, and storage must keep both in order.
  if (!attrs.empty() && Chance(0.04)) {
    const std::string key = attrs[Uniform(attrs.size())].key;
    attrs.push_back({key, ValueFor(key)});
  }
  return attrs;
}

Attributes ModelWorkload::ResourceAttributes(const std::string& service) {
  Attributes attrs;
  // service.name usually equals Span::service_name; sometimes it differs or is missing, which
  // tells `resource.service.name` (the column) apart from a resource attribute lookup.
  const uint64_t r = Uniform(100);
  if (r < 94) {
    attrs.push_back({"service.name", AnyValue::String(service)});
  } else if (r < 97) {
    attrs.push_back({"service.name", AnyValue::String("legacy-" + service)});
  }
  attrs.push_back({"host.name", ValueFor("host.name")});
  if (Chance(0.7)) attrs.push_back({"region", ValueFor("region")});
  if (Chance(0.4)) attrs.push_back({"deployment.environment", ValueFor("deployment.environment")});
  if (Chance(0.2)) attrs.push_back({"http.status_code", ValueFor("http.status_code")});
  if (Chance(0.1)) attrs.push_back({"x.awkward", ValueFor("x.awkward")});
  return attrs;
}

Span ModelWorkload::NextSpan(const TraceId& trace_id, const SpanId& parent,
                             const std::string& service, uint64_t start) {
  Span s;
  s.trace_id = trace_id;
  s.span_id = random_.NextSpanId();
  s.parent_span_id = parent;
  s.trace_state = Chance(0.2) ? "congo=t61rcWkgMzE" : "";
  s.flags = static_cast<uint32_t>(Uniform(512));
  s.service_name = service;
  const auto svc =
      std::find(ModelServices().begin(), ModelServices().end(), service) - ModelServices().begin();
  s.name = kNames[(svc * 2 + Uniform(4)) % kNames.size()];
  // Spans of a trace mostly share a kind and a status, as in real traces: pages of a block
  // (rows sorted by trace) then differ, so their zone maps can actually skip.
  s.kind = Chance(0.75) ? trace_kind_ : static_cast<SpanKind>(Uniform(6));
  s.start_time_unix_nano = start;
  s.end_time_unix_nano = start + NextDuration();
  const uint64_t weird = Uniform(200);
  if (weird < 6) {
    s.end_time_unix_nano = start - 1 - Uniform(1000);  // clock skew: duration 0
  } else if (weird == 6 && kDurationsPastInt64Max) {
    s.end_time_unix_nano = UINT64_MAX;  // a duration past INT64_MAX
  } else if (weird == 7 && extreme_times_) {
    s.start_time_unix_nano = 1 + Uniform(1000);  // near the epoch
    s.end_time_unix_nano = s.start_time_unix_nano + NextDuration();
  }
  if (Chance(trace_error_rate_)) {
    s.status_code = StatusCode::kError;
  } else {
    s.status_code = Chance(0.75) ? trace_status_ : static_cast<StatusCode>(Uniform(2));
  }
  s.status_message =
      s.status_code == StatusCode::kError || Chance(0.1) ? Pick(kStatusMessages) : std::string();
  s.attributes = SpanAttributes();
  s.dropped_attributes_count = static_cast<uint32_t>(Uniform(3));
  s.resource_attributes = ResourceAttributes(service);
  s.resource_schema_url = Chance(0.5) ? "https://opentelemetry.io/schemas/1.21.0" : "";
  s.scope_name = Chance(0.8) ? absl::StrCat("io.opentelemetry.", Pick(kNames)) : "";
  s.scope_version = Chance(0.5) ? "1.2.3" : "";
  if (Chance(0.2)) s.scope_attributes.push_back({"lib.lang", AnyValue::String("cpp")});
  s.scope_schema_url = Chance(0.1) ? "x" : "";
  for (uint64_t i = Uniform(4); i > 0; --i) {
    SpanEvent e;
    e.time_unix_nano = s.start_time_unix_nano + Uniform(1'000'000);
    e.name = Chance(0.5) ? "exception" : "retry";
    if (Chance(0.6)) e.attributes.push_back({"exception.message", ValueFor("x.awkward")});
    if (Chance(0.3)) e.attributes.push_back({"attempt", ValueFor("db.rows")});
    e.dropped_attributes_count = static_cast<uint32_t>(Uniform(2));
    s.events.push_back(std::move(e));
  }
  s.dropped_events_count = static_cast<uint32_t>(Uniform(2));
  for (uint64_t i = Uniform(3); i > 0; --i) {
    SpanLink l;
    l.trace_id = Chance(0.5) ? trace_id : random_.NextTraceId();
    l.span_id = random_.NextSpanId();
    l.trace_state = Chance(0.5) ? "a=b" : "";
    if (Chance(0.5)) l.attributes.push_back({"link.kind", AnyValue::String("follows")});
    l.dropped_attributes_count = static_cast<uint32_t>(Uniform(2));
    l.flags = static_cast<uint32_t>(Uniform(2));
    s.links.push_back(std::move(l));
  }
  s.dropped_links_count = static_cast<uint32_t>(Uniform(2));
  return s;
}

std::vector<Span> ModelWorkload::NextTrace(int n, uint64_t start, bool rootless) {
  const TraceId trace_id = random_.NextTraceId();
  trace_kind_ = static_cast<SpanKind>(Uniform(6));
  trace_status_ = Chance(0.7) ? StatusCode::kUnset : StatusCode::kOk;
  trace_error_rate_ = Chance(0.15) ? 0.5 : 0.02;
  std::vector<std::string> services;
  for (uint64_t i = 1 + Uniform(3); i > 0; --i) services.push_back(Pick(ModelServices()));
  std::vector<Span> spans;
  // A rootless trace still has a parent for its first span: the root that never arrives.
  SpanId missing_root = random_.NextSpanId();
  for (int i = 0; i < n; ++i) {
    SpanId parent;
    if (i > 0) {
      parent = spans[Uniform(spans.size())].span_id;
    } else if (rootless) {
      parent = missing_root;
    }
    const uint64_t offset = i == 0 ? 0 : Uniform(2'000'000'000);
    spans.push_back(
        NextSpan(trace_id, parent, i == 0 ? services[0] : Pick(services), start + offset));
  }
  return spans;
}

// --- Queries ---------------------------------------------------------------------------------

std::string ModelWorkload::PatternFor(const std::string& value) {
  // A prefix of a real value (hits), or a generic pattern.
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '-' || c == ' ' || c == '_';
  });
  if (!plain || Chance(0.5)) return Pick(kPatterns);
  return value.substr(0, Uniform(value.size() + 1)) + (Chance(0.8) ? ".*" : "");
}

AnyValue ModelWorkload::LiteralFor(const std::string& key) {
  if (Chance(0.75)) return ValueFor(key);
  switch (Uniform(6)) {  // another type than the key usually has
    case 0:
      return AnyValue::Int(static_cast<int64_t>(Uniform(600)));
    case 1:
      return AnyValue::Double(Chance(0.5) ? 0.25 : 500.0);
    case 2:
      return AnyValue::String(Pick(kMethods));
    case 3:
      return AnyValue::Bool(Chance(0.5));
    case 4:
      return AnyValue::BytesValue("");
    default:
      return AnyValue();
  }
}

ModelWorkload::AttributeChoice ModelWorkload::ChooseAttribute(absl::Span<const Span> sample) {
  AttributeChoice c;
  if (!sample.empty() && Chance(0.6)) {
    // An attribute some span has, with its value: equality hits, ranges have real edges.
    const Span& s = sample[Uniform(sample.size())];
    const bool span_scope = Chance(0.6);
    const Attributes& attrs = span_scope ? s.attributes : s.resource_attributes;
    if (!attrs.empty()) {
      const KeyValue& kv = attrs[Uniform(attrs.size())];
      c.key = kv.key;
      c.value = Chance(0.8) ? kv.value : LiteralFor(kv.key);
      c.scope = Chance(0.5)  ? AttributeScope::kAny
                : span_scope ? AttributeScope::kSpan
                             : AttributeScope::kResource;
      return c;
    }
  }
  c.key = Pick(kQueryKeys);
  c.value = LiteralFor(c.key);
  c.scope = static_cast<AttributeScope>(Uniform(3));
  return c;
}

CompareOp ModelWorkload::OpFor(const AnyValue& value) {
  const uint64_t r = Uniform(20);
  if (r == 0) return CompareOp::kExists;
  switch (value.type()) {
    case AnyValue::Type::kString:
      return static_cast<CompareOp>(Uniform(9));  // every operator, regexes included
    case AnyValue::Type::kInt:
    case AnyValue::Type::kDouble:
    case AnyValue::Type::kBytes:
      return r == 1 ? CompareOp::kRegex : static_cast<CompareOp>(Uniform(6));
    default:
      return r < 12 ? CompareOp::kEq : r < 18 ? CompareOp::kNe : CompareOp::kLt;
  }
}

AttributePredicate ModelWorkload::NextPredicate(absl::Span<const Span> sample) {
  const AttributeChoice c = ChooseAttribute(sample);
  AttributePredicate p;
  p.scope = c.scope;
  p.key = c.key;
  p.op = OpFor(c.value);
  if (p.op == CompareOp::kRegex || p.op == CompareOp::kNotRegex) {
    auto regex = Regex::Compile(PatternFor(
        c.value.type() == AnyValue::Type::kString ? c.value.string_value() : std::string()));
    if (regex.ok()) {
      p.regex = *regex;
      p.value = AnyValue::String(p.regex->pattern());
    }
  } else if (p.op != CompareOp::kExists) {
    p.value = c.value;
  }
  return p;
}

uint64_t ModelWorkload::EdgeValue(absl::Span<const Span> sample, uint64_t (*field)(const Span&)) {
  const uint64_t r = Uniform(10);
  const bool want_max = Chance(0.5);
  const Span& some = sample[Uniform(sample.size())];
  if (r < 4) return field(some);
  // The least or greatest value of all spans (the edge of the block holding it), or of one
  // trace: a block's rows are sorted by trace, so a page's edges are often a trace's edges.
  uint64_t edge = field(some);
  for (const Span& s : sample) {
    if (r < 6 || s.trace_id == some.trace_id) {
      edge = want_max ? std::max(edge, field(s)) : std::min(edge, field(s));
    }
  }
  return edge;
}

absl::StatusOr<ModelQuery> ModelWorkload::NextQuery(absl::Span<const Span> sample) {
  ModelQuery q;
  SpanQuery& query = q.query;
  std::string text;
  if (Chance(0.5)) {
    text = NextTraceQL(sample);
    auto parsed = ParseQuery(text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(text, ": ", parsed.status().ToString()));
    }
    query = *std::move(parsed);
  } else {
    if (Chance(0.2)) {
      for (uint64_t i = 1 + Uniform(3); i > 0; --i) query.services.push_back(Pick(ModelServices()));
      if (Chance(0.1)) query.services.push_back("no-such-service");
    }
    if (Chance(0.15)) {
      for (uint64_t i = 1 + Uniform(3); i > 0; --i) query.names.push_back(Pick(kNames));
    }
    if (Chance(0.15)) {
      for (uint64_t i = 1 + Uniform(3); i > 0; --i) {
        query.kinds.push_back(static_cast<SpanKind>(Uniform(6)));
      }
    }
    if (Chance(0.15)) query.status = static_cast<StatusCode>(Uniform(3));
    if (Chance(0.25)) {
      // Bounds some span has exactly (inclusive edges), often a zone's edge, or arbitrary.
      auto bound = [&] {
        return sample.empty() || Chance(0.15)
                   ? NextDuration()
                   : EdgeValue(sample, [](const Span& s) { return s.duration_nanos(); });
      };
      if (Chance(0.7)) query.min_duration_nanos = bound();
      if (Chance(0.7)) query.max_duration_nanos = bound();
    }
    if (Chance(0.45)) {
      for (int i = Chance(0.8) ? 1 : 2; i > 0; --i)
        query.attributes.push_back(NextPredicate(sample));
    }
  }
  if (Chance(0.35)) {
    auto time = [&] {
      return sample.empty() || Chance(0.15)
                 ? kModelEpoch + Uniform(kModelWindow)
                 : EdgeValue(sample, [](const Span& s) { return s.start_time_unix_nano; });
    };
    // One edge alone (where an extreme start meets a zone's edge), or both.
    const uint64_t r = Uniform(4);
    if (r == 0) {
      query.start_min = time();
    } else if (r == 1) {
      query.start_max = time();
    } else {
      uint64_t lo = time(), hi = Chance(0.15) ? lo : time();  // now and then one instant
      if (lo > hi) std::swap(lo, hi);
      query.start_min = lo;
      query.start_max = hi;
    }
  }
  q.description = text.empty()
                      ? DescribeQuery(query)
                      : absl::StrCat("TraceQL ", text, " parsed as ", DescribeQuery(query));
  return q;
}

std::string ModelWorkload::NextTraceQL(absl::Span<const Span> sample) {
  if (Chance(0.04)) return "{ }";
  std::vector<std::string> conjuncts;
  const uint64_t r = Uniform(10);
  for (int i = r < 6 ? 1 : r < 9 ? 2 : 3; i > 0; --i) conjuncts.push_back(Expr(sample, 0));
  return absl::StrCat("{ ", absl::StrJoin(conjuncts, " && "), " }");
}

std::string ModelWorkload::Expr(absl::Span<const Span> sample, int depth) {
  const uint64_t r = Uniform(10);
  if (depth >= 3 || r < 5) return Leaf(sample);
  if (r < 7)
    return absl::StrCat("(", Expr(sample, depth + 1), " && ", Expr(sample, depth + 1), ")");
  if (r < 9)
    return absl::StrCat("(", Expr(sample, depth + 1), " || ", Expr(sample, depth + 1), ")");
  return absl::StrCat("!(", Expr(sample, depth + 1), ")");
}

std::optional<std::string> ModelWorkload::TraceQLLiteral(const AnyValue& v) {
  switch (v.type()) {
    case AnyValue::Type::kString: {
      const std::string& t = v.string_value();
      if (!std::all_of(t.begin(), t.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
        return std::nullopt;
      }
      return Quote(t);
    }
    case AnyValue::Type::kBool:
      return std::string(v.bool_value() ? "true" : "false");
    case AnyValue::Type::kInt:
      return std::to_string(v.int_value());
    case AnyValue::Type::kDouble: {
      const double d = v.double_value();
      if (!std::isfinite(d) || std::fabs(d) > 1e15) return std::nullopt;
      std::string text = absl::StrFormat("%.17g", d);
      if (text.find('e') != std::string::npos) return std::string("0.0");
      if (text.find('.') == std::string::npos) text += ".0";
      return text;
    }
    default:
      return std::nullopt;  // TraceQL has no literal for bytes, arrays or maps
  }
}

std::string ModelWorkload::Leaf(absl::Span<const Span> sample) {
  const Span* some = sample.empty() ? nullptr : &sample[Uniform(sample.size())];
  auto string_op = [&] { return Pick(kOps); };
  auto eq_op = [&] { return std::string(Chance(0.7) ? "=" : "!="); };
  // A string operand: a regex pattern after =~ / !~, else `value`.
  auto operand = [&](const std::string& op, const std::string& value) {
    return Quote(op == "=~" || op == "!~" ? PatternFor(value) : value);
  };
  switch (Uniform(16)) {
    case 0: {
      const std::string op = string_op();
      return absl::StrCat(Chance(0.5) ? "name" : "span:name", " ", op, " ",
                          operand(op, Pick(kNames)));
    }
    case 1:
      return absl::StrCat(Chance(0.5) ? "status" : "span:status", " ", eq_op(), " ",
                          Pick(kStatusNames));
    case 2:
      return absl::StrCat(Chance(0.5) ? "kind" : "span:kind", " ", eq_op(), " ", Pick(kKindNames));
    case 3: {
      const std::string op = kOps[Uniform(6)];
      std::string literal = Pick(kDurationLiterals);
      if (some != nullptr && Chance(0.5)) {
        literal = absl::StrCat(std::min<uint64_t>(some->duration_nanos(), INT64_MAX / 2), "ns");
      }
      return absl::StrCat(Chance(0.5) ? "duration" : "span:duration", " ", op, " ", literal);
    }
    case 4: {
      const std::string op = string_op();
      return absl::StrCat("statusMessage ", op, " ", operand(op, Pick(kStatusMessages)));
    }
    case 5:
    case 6: {
      const std::string op = string_op();
      return absl::StrCat("resource.service.name ", op, " ", operand(op, Pick(ModelServices())));
    }
    case 7:
      return absl::StrCat(
          "trace:id ", eq_op(), " ",
          Quote(some != nullptr ? some->trace_id.ToHex() : random_.NextTraceId().ToHex()));
    case 8:
      return absl::StrCat("span:id ", eq_op(), " ",
                          Quote(some != nullptr ? some->span_id.ToHex() : "0000000000000001"));
    case 9:
      return absl::StrCat(
          "span:parentID ", eq_op(), " ",
          Quote(some == nullptr || some->is_root() ? std::string() : some->parent_span_id.ToHex()));
    case 10:
      return Chance(0.7) ? "true" : "false";
    default: {
      const AttributeChoice c = ChooseAttribute(sample);
      std::string field = absl::StrCat(ScopeName(c.scope), c.key);
      // `resource.service.name` is the intrinsic (the service column), not this attribute.
      if (field == "resource.service.name") field = ".service.name";
      // Keys that are not plain identifiers need quotes.
      if (!std::all_of(c.key.begin(), c.key.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_';
          })) {
        field = absl::StrCat(ScopeName(c.scope), Quote(c.key));
      }
      const std::optional<std::string> literal = TraceQLLiteral(c.value);
      if (!literal.has_value() || Chance(0.1)) {
        return absl::StrCat(field, " ", eq_op(), " nil");
      }
      const CompareOp op = OpFor(c.value);
      if (op == CompareOp::kRegex || op == CompareOp::kNotRegex) {
        return absl::StrCat(
            field, " ", OpName(op), " ",
            Quote(PatternFor(c.value.type() == AnyValue::Type::kString ? c.value.string_value()
                                                                       : std::string())));
      }
      if (op == CompareOp::kExists) return absl::StrCat(field, " != nil");
      return absl::StrCat(field, " ", OpName(op), " ", *literal);
    }
  }
}

std::string DescribeQuery(const SpanQuery& q) {
  std::vector<std::string> parts;
  if (q.start_min != 0 || q.start_max != UINT64_MAX) {
    parts.push_back(absl::StrCat("start in [", q.start_min, ", ", q.start_max, "]"));
  }
  if (!q.services.empty()) parts.push_back("services {" + absl::StrJoin(q.services, ", ") + "}");
  if (!q.names.empty()) parts.push_back("names {" + absl::StrJoin(q.names, ", ") + "}");
  if (!q.kinds.empty()) {
    std::vector<std::string> kinds;
    for (SpanKind k : q.kinds) kinds.emplace_back(SpanKindName(k));
    parts.push_back("kinds {" + absl::StrJoin(kinds, ", ") + "}");
  }
  if (q.status.has_value()) parts.push_back("status " + std::string(StatusCodeName(*q.status)));
  if (q.min_duration_nanos != 0 || q.max_duration_nanos != UINT64_MAX) {
    parts.push_back(
        absl::StrCat("duration in [", q.min_duration_nanos, ", ", q.max_duration_nanos, "] ns"));
  }
  for (const AttributePredicate& p : q.attributes) {
    std::string s = absl::StrCat(ScopeName(p.scope), p.key, " ", OpName(p.op));
    if (p.op != CompareOp::kExists) s += " " + DescribeValue(p.value);
    parts.push_back(s);
  }
  if (q.filter.has_value()) parts.push_back("a filter expression");
  if (q.limit != 0) parts.push_back(absl::StrCat("limit ", q.limit));
  return parts.empty() ? "every span" : absl::StrJoin(parts, " && ");
}

}  // namespace spanstore::test
