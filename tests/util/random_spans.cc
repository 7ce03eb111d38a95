#include "tests/util/random_spans.h"

#include <cmath>
#include <limits>

namespace spanstore::test {

RandomSpans::RandomSpans(uint64_t seed, RandomSpanOptions options)
    : rng_(seed), options_(options) {}

TraceId RandomSpans::NextTraceId() {
  TraceId id;
  do {
    for (auto& b : id.bytes) b = static_cast<uint8_t>(rng_());
  } while (!id.IsValid());
  return id;
}

SpanId RandomSpans::NextSpanId() {
  SpanId id;
  do {
    for (auto& b : id.bytes) b = static_cast<uint8_t>(rng_());
  } while (!id.IsValid());
  return id;
}

std::string RandomSpans::NextString() {
  std::uniform_real_distribution<double> coin(0, 1);
  if (coin(rng_) < options_.awkward) {
    switch (rng_() % 5) {
      case 0:
        return "";
      case 1:
        return "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xF0\x9F\x9A\x80 \xE4\xB8\xAD\xE6\x96\x87";
      case 2:
        return std::string(1 + rng_() % options_.huge_string_bytes, 'x');
      case 3: {
        std::string s(1 + rng_() % 64, '\0');
        for (auto& c : s) c = static_cast<char>(rng_());
        return s;
      }
      default:
        return std::string("quote\" backslash\\ newline\n tab\t nul") + std::string(1, '\0');
    }
  }
  static const char* kWords[] = {"checkout", "cart",  "GET /api/v1/items", "db.query",
                                 "redis",    "kafka", "payment",           "frontend"};
  std::string s = kWords[rng_() % 8];
  if (rng_() % 2) s += std::to_string(rng_() % 1000);
  return s;
}

AnyValue RandomSpans::NextValue(int depth) {
  const int kinds = depth < options_.max_nesting ? 8 : 6;
  switch (rng_() % kinds) {
    case 0:
      return AnyValue();
    case 1:
      return AnyValue::String(NextString());
    case 2:
      return AnyValue::Bool(rng_() % 2);
    case 3: {
      static const int64_t kInts[] = {0, -1, 1, std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(), 500, -123456789};
      if (rng_() % 2) return AnyValue::Int(kInts[rng_() % 7]);
      return AnyValue::Int(static_cast<int64_t>(rng_()));
    }
    case 4: {
      static const double kDoubles[] = {0.0,
                                        -0.0,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(),
                                        std::numeric_limits<double>::denorm_min(),
                                        1e308,
                                        3.14159};
      if (rng_() % 2) return AnyValue::Double(kDoubles[rng_() % 8]);
      return AnyValue::Double(std::uniform_real_distribution<double>(-1e6, 1e6)(rng_));
    }
    case 5: {
      std::string raw(rng_() % 40, '\0');
      for (auto& c : raw) c = static_cast<char>(rng_());
      return AnyValue::BytesValue(std::move(raw));
    }
    case 6: {
      AnyValue::Array a;
      const int n = rng_() % 5;
      for (int i = 0; i < n; ++i) a.push_back(NextValue(depth + 1));
      return AnyValue::ArrayValue(std::move(a));
    }
    default: {
      AnyValue::Map m;
      const int n = rng_() % 5;
      for (int i = 0; i < n; ++i) m.push_back({NextString(), NextValue(depth + 1)});
      return AnyValue::MapValue(std::move(m));
    }
  }
}

Attributes RandomSpans::NextAttributes(int max) {
  Attributes attrs;
  const int n = max > 0 ? rng_() % (max + 1) : 0;
  for (int i = 0; i < n; ++i) attrs.push_back({NextString(), NextValue()});
  return attrs;
}

Span RandomSpans::NextSpanInTrace(const TraceId& trace_id, const SpanId& parent) {
  Span s;
  s.trace_id = trace_id;
  s.span_id = NextSpanId();
  s.parent_span_id = parent;
  s.trace_state = rng_() % 4 == 0 ? "congo=t61rcWkgMzE" : "";
  s.flags = static_cast<uint32_t>(rng_() % 512);
  s.service_name = NextString();
  s.name = NextString();
  s.kind = static_cast<SpanKind>(rng_() % 6);
  s.start_time_unix_nano = 1700000000000000000ull + rng_() % 1000000000000ull;
  s.end_time_unix_nano = s.start_time_unix_nano + rng_() % 10000000000ull;
  if (rng_() % 20 == 0) s.end_time_unix_nano = s.start_time_unix_nano - 5;  // clock skew
  s.status_code = static_cast<StatusCode>(rng_() % 3);
  s.status_message = rng_() % 3 == 0 ? NextString() : "";
  s.attributes = NextAttributes(options_.max_attributes);
  s.dropped_attributes_count = rng_() % 3;
  s.resource_attributes = NextAttributes(4);
  s.resource_attributes.push_back({"service.name", AnyValue::String(s.service_name)});
  s.resource_schema_url = rng_() % 2 ? "https://opentelemetry.io/schemas/1.21.0" : "";
  s.scope_name = NextString();
  s.scope_version = rng_() % 2 ? "1.2.3" : "";
  s.scope_attributes = NextAttributes(2);
  s.scope_schema_url = rng_() % 4 == 0 ? "x" : "";
  const int events = rng_() % (options_.max_events + 1);
  for (int i = 0; i < events; ++i) {
    s.events.push_back({s.start_time_unix_nano + rng_() % 1000, NextString(), NextAttributes(3),
                        static_cast<uint32_t>(rng_() % 2)});
  }
  s.dropped_events_count = rng_() % 2;
  const int links = rng_() % (options_.max_links + 1);
  for (int i = 0; i < links; ++i) {
    s.links.push_back({NextTraceId(), NextSpanId(), rng_() % 2 ? "a=b" : "", NextAttributes(2),
                       static_cast<uint32_t>(rng_() % 2), static_cast<uint32_t>(rng_() % 2)});
  }
  s.dropped_links_count = rng_() % 2;
  return s;
}

Span RandomSpans::NextSpan() { return NextSpanInTrace(NextTraceId(), SpanId()); }

std::vector<Span> RandomSpans::NextTrace(int n) {
  std::vector<Span> spans;
  const TraceId trace_id = NextTraceId();
  for (int i = 0; i < n; ++i) {
    const SpanId parent = spans.empty() ? SpanId() : spans[rng_() % spans.size()].span_id;
    spans.push_back(NextSpanInTrace(trace_id, parent));
  }
  return spans;
}

}  // namespace spanstore::test
