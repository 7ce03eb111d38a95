// Source formats kept whole (issue 15): each fixture in tests/testdata/fidelity_* is loaded with
// spanctl, read back (`spanctl trace --json` per trace and `spanctl query --json`, both OTLP
// JSON) and compared field by field with the source file, read here independently with
// simdjson: every field the source has must come back. The fixtures have the shapes real files
// have: Zipkin shared halves (with and without the client half), a span without timestamp,
// upper-case and 16-digit ids; Jaeger 31-digit and short ids, both reference types, warnings,
// process tags, typed tags and logs; OTLP concatenated documents, base64 and upper-case hex ids,
// every value type, events, links, dropped counts, schema URLs.

#include <simdjson.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/loader.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::string Run(const std::string& args, int* exit_code) {
  const std::string cmd = std::string(SPANCTL_PATH) + " " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = p != nullptr ? ::pclose(p) : -1;
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::vector<Span> ParseOtlp(const std::string& json) {
  std::vector<Span> spans;
  auto stats = LoadBuffer(json, "readback", LoadOptions(), [&](std::vector<Span>& batch) {
    spans.insert(spans.end(), batch.begin(), batch.end());
    return absl::OkStatus();
  });
  EXPECT_TRUE(stats.ok()) << stats.status() << json.substr(0, 500);
  return spans;
}

// Loads `fixture` into a fresh store and reads every span back, once per trace through
// `trace --json` and once through `query --json`; checks both agree.
class ReadBack {
 public:
  explicit ReadBack(const std::string& fixture) {
    db_ = dir_.Sub("db");
    int rc;
    const std::string out = Run(
        "load --db " + db_ + " " + std::string(SPANSTORE_TESTDATA_DIR) + "/" + fixture + " 2>&1",
        &rc);
    EXPECT_EQ(rc, 0) << out;
    all_ = ParseOtlp(Run("query --db " + db_ + " --json --limit 100000 '{ }'", &rc));
    EXPECT_EQ(rc, 0);
    std::set<TraceId> traces;
    for (const Span& s : all_) traces.insert(s.trace_id);
    for (const TraceId& t : traces) {
      std::vector<Span> spans = ParseOtlp(Run("trace --db " + db_ + " --json " + t.ToHex(), &rc));
      EXPECT_EQ(rc, 0) << t.ToHex();
      by_trace_[t] = spans;
    }
    size_t total = 0;
    for (const auto& [t, spans] : by_trace_) total += spans.size();
    EXPECT_EQ(total, all_.size()) << "trace --json and query --json disagree";
  }
  const std::vector<Span>& all() const { return all_; }
  const std::vector<Span>& trace(const TraceId& t) { return by_trace_[t]; }

 private:
  test::TempDir dir_;
  std::string db_;
  std::vector<Span> all_;
  std::map<TraceId, std::vector<Span>> by_trace_;
};

std::string Str(element e) {
  std::string_view s;
  return e.get(s) == simdjson::SUCCESS ? std::string(s) : std::string();
}

element At(object o, std::string_view key) {
  element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return element();
  return e;
}

bool Has(object o, std::string_view key) {
  element e;
  return o.at_key(key).get(e) == simdjson::SUCCESS && !e.is_null();
}

// The member as a string or number; "" or 0 when it is missing.
std::string StrK(object o, std::string_view key);
uint64_t U64K(object o, std::string_view key);

uint64_t U64(element e) {
  uint64_t u = 0;
  std::string_view s;
  if (e.get(u) == simdjson::SUCCESS) return u;
  if (e.get(s) == simdjson::SUCCESS) return std::stoull(std::string(s));
  return 0;
}

std::string StrK(object o, std::string_view key) {
  return Has(o, key) ? Str(At(o, key)) : std::string();
}

uint64_t U64K(object o, std::string_view key) { return Has(o, key) ? U64(At(o, key)) : 0; }

std::string PadHex(std::string hex, size_t digits) {
  hex = absl::AsciiStrToLower(hex);
  return std::string(digits - std::min(digits, hex.size()), '0') + hex;
}

// ---- Zipkin v2 ----

TEST(FormatsFidelityE2eTest, ZipkinV2) {
  simdjson::dom::parser parser;
  element root = parser.load(std::string(SPANSTORE_TESTDATA_DIR) + "/fidelity_zipkin.json");
  ReadBack back("fidelity_zipkin.json");
  array source = root.get_array();
  ASSERT_EQ(back.all().size(), source.size());
  std::map<TraceId, int> source_roots;
  for (element e : source) {
    object z = e.get_object();
    const TraceId trace = *TraceId::FromHex(PadHex(StrK(z, "traceId"), 32));
    const std::string id = PadHex(StrK(z, "id"), 16);
    const std::string service = Str(At(At(z, "localEndpoint").get_object(), "serviceName"));
    const std::string name = StrK(z, "name");
    SCOPED_TRACE(name + " in " + service);
    if (!Has(z, "parentId")) ++source_roots[trace];
    const std::vector<Span>& spans = back.trace(trace);
    // The span: same name and service (unique in the fixture).
    const Span* s = nullptr;
    for (const Span& c : spans) {
      if (c.name == name && c.service_name == service) s = &c;
    }
    ASSERT_NE(s, nullptr);
    // The id it had in the source: its own, or for a server half given an id of its own, its
    // client half's (now its parent).
    const bool shared = Has(z, "shared");
    const bool renamed = shared && s->span_id.ToHex() != id;
    EXPECT_EQ(renamed ? s->parent_span_id.ToHex() : s->span_id.ToHex(), id);
    if (shared) {
      EXPECT_EQ(*FindAttribute(s->attributes, "zipkin.shared"), AnyValue::Bool(true));
    }
    if (Has(z, "parentId") && !renamed) {
      // The parent is the span the source names, or that span's server half in this service.
      const Span* parent = nullptr;
      for (const Span& c : spans) {
        if (c.span_id == s->parent_span_id) parent = &c;
      }
      ASSERT_NE(parent, nullptr) << "parent not in the trace";
      const bool parent_renamed = FindAttribute(parent->attributes, "zipkin.shared") != nullptr &&
                                  parent->span_id.ToHex() != PadHex(StrK(z, "parentId"), 16);
      EXPECT_EQ(parent_renamed ? parent->parent_span_id.ToHex() : parent->span_id.ToHex(),
                PadHex(StrK(z, "parentId"), 16));
      if (parent_renamed) {
        EXPECT_EQ(parent->service_name, service);
      }
    }
    static const std::map<std::string, SpanKind> kKinds = {{"CLIENT", SpanKind::kClient},
                                                           {"SERVER", SpanKind::kServer},
                                                           {"PRODUCER", SpanKind::kProducer},
                                                           {"CONSUMER", SpanKind::kConsumer}};
    EXPECT_EQ(s->kind, Has(z, "kind") ? kKinds.at(StrK(z, "kind")) : SpanKind::kUnspecified);
    if (Has(z, "timestamp")) {
      EXPECT_EQ(s->start_time_unix_nano, U64K(z, "timestamp") * 1000);
    } else {
      EXPECT_GT(s->start_time_unix_nano, 1600000000000000000u);  // never 1970
      EXPECT_NE(FindAttribute(s->attributes, "zipkin.timestamp_from"), nullptr);
    }
    EXPECT_EQ(s->duration_nanos(), U64K(z, "duration") * 1000);
    EXPECT_EQ(*FindAttribute(s->resource_attributes, "service.name"), AnyValue::String(service));
    object local = At(z, "localEndpoint").get_object();
    for (const char* ip : {"ipv4", "ipv6"}) {
      if (Has(local, ip)) {
        EXPECT_EQ(*FindAttribute(s->attributes, "net.host.ip"),
                  AnyValue::String(Str(At(local, ip))));
      }
    }
    if (Has(local, "port")) {
      EXPECT_EQ(*FindAttribute(s->attributes, "net.host.port"),
                AnyValue::Int(static_cast<int64_t>(U64K(local, "port"))));
    }
    if (Has(z, "remoteEndpoint")) {
      object remote = At(z, "remoteEndpoint").get_object();
      EXPECT_EQ(*FindAttribute(s->attributes, "peer.service"),
                AnyValue::String(StrK(remote, "serviceName")));
      if (Has(remote, "ipv4")) {
        EXPECT_EQ(*FindAttribute(s->attributes, "net.peer.ip"),
                  AnyValue::String(StrK(remote, "ipv4")));
      }
      if (Has(remote, "port")) {
        EXPECT_EQ(*FindAttribute(s->attributes, "net.peer.port"),
                  AnyValue::Int(static_cast<int64_t>(U64K(remote, "port"))));
      }
    }
    if (Has(z, "tags")) {
      for (auto [key, value] : At(z, "tags").get_object()) {
        if (key == "error") {
          EXPECT_EQ(s->status_code, StatusCode::kError);
          EXPECT_EQ(s->status_message, Str(value));
        } else {
          const AnyValue* got = FindAttribute(s->attributes, std::string(key));
          ASSERT_NE(got, nullptr) << key;
          EXPECT_EQ(*got, AnyValue::String(Str(value)));
        }
      }
    }
    size_t n = 0;
    if (Has(z, "annotations")) {
      for (element a : At(z, "annotations").get_array()) {
        ASSERT_LT(n, s->events.size());
        EXPECT_EQ(s->events[n].name, StrK(a.get_object(), "value"));
        EXPECT_EQ(s->events[n].time_unix_nano, U64K(a.get_object(), "timestamp") * 1000);
        ++n;
      }
    }
    EXPECT_EQ(s->events.size(), n);
  }
  // The tree: as many roots as the source has, and every parent in its trace.
  for (const auto& [trace, roots] : source_roots) {
    int got = 0;
    std::set<SpanId> ids;
    for (const Span& s : back.trace(trace)) ids.insert(s.span_id);
    for (const Span& s : back.trace(trace)) {
      if (s.is_root()) {
        ++got;
      } else {
        EXPECT_TRUE(ids.count(s.parent_span_id)) << s.name;
      }
    }
    EXPECT_EQ(got, roots) << trace.ToHex();
  }
}

// ---- Jaeger ----

AnyValue JaegerValue(object tag) {
  const std::string type = Has(tag, "type") ? StrK(tag, "type") : "string";
  element v = At(tag, "value");
  if (type == "bool") return AnyValue::Bool(v.get_bool().value());
  if (type == "int64") return AnyValue::Int(v.get_int64().value());
  if (type == "float64") return AnyValue::Double(v.get_double().value());
  if (type == "binary") {
    std::string raw;
    absl::Base64Unescape(Str(v), &raw);
    return AnyValue::BytesValue(raw);
  }
  return AnyValue::String(Str(v));
}

TEST(FormatsFidelityE2eTest, JaegerJson) {
  simdjson::dom::parser parser;
  element root = parser.load(std::string(SPANSTORE_TESTDATA_DIR) + "/fidelity_jaeger.json");
  ReadBack back("fidelity_jaeger.json");
  size_t count = 0;
  for (element t : At(root.get_object(), "data").get_array()) {
    object trace = t.get_object();
    object processes = At(trace, "processes").get_object();
    for (element e : At(trace, "spans").get_array()) {
      ++count;
      object j = e.get_object();
      const TraceId trace_id = *TraceId::FromShortHex(StrK(j, "traceID"));
      const SpanId span_id = *SpanId::FromShortHex(StrK(j, "spanID"));
      SCOPED_TRACE(StrK(j, "operationName"));
      const Span* s = nullptr;
      for (const Span& c : back.trace(trace_id)) {
        if (c.span_id == span_id) s = &c;
      }
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->trace_id.ToHex(), PadHex(StrK(j, "traceID"), 32));  // 31 digits in
      EXPECT_EQ(s->name, StrK(j, "operationName"));
      EXPECT_EQ(s->start_time_unix_nano, U64K(j, "startTime") * 1000);
      EXPECT_EQ(s->duration_nanos(), U64K(j, "duration") * 1000);
      EXPECT_EQ(s->flags, U64K(j, "flags"));
      for (element tg : At(j, "tags").get_array()) {
        object tag = tg.get_object();
        const std::string key = StrK(tag, "key");
        if (key == "span.kind") {
          EXPECT_EQ(s->kind,
                    StrK(tag, "value") == "server" ? SpanKind::kServer : SpanKind::kClient);
        } else if (key == "error") {
          EXPECT_EQ(s->status_code, StatusCode::kError);
        } else {
          const AnyValue* got = FindAttribute(s->attributes, key);
          ASSERT_NE(got, nullptr) << key;
          EXPECT_EQ(*got, JaegerValue(tag)) << key;
        }
      }
      // Logs: events named by their "event" field, the other fields as attributes.
      size_t n = 0;
      if (Has(j, "logs")) {
        for (element l : At(j, "logs").get_array()) {
          ASSERT_LT(n, s->events.size());
          const SpanEvent& ev = s->events[n++];
          EXPECT_EQ(ev.time_unix_nano, U64K(l.get_object(), "timestamp") * 1000);
          for (element f : At(l.get_object(), "fields").get_array()) {
            const std::string key = StrK(f.get_object(), "key");
            if (key == "event") {
              EXPECT_EQ(ev.name, StrK(f.get_object(), "value"));
            } else {
              EXPECT_EQ(*FindAttribute(ev.attributes, key), JaegerValue(f.get_object()));
            }
          }
        }
      }
      EXPECT_EQ(s->events.size(), n);
      // References: the parent (first CHILD_OF in the trace, else first FOLLOWS_FROM), and
      // every other reference -- and a FOLLOWS_FROM parent too -- as a link with its type.
      std::vector<std::pair<std::string, SpanId>> refs;
      for (element r : At(j, "references").get_array()) {
        refs.push_back({StrK(r.get_object(), "refType"),
                        *SpanId::FromShortHex(StrK(r.get_object(), "spanID"))});
      }
      SpanId parent;
      bool child_of = false;
      for (const auto& [type, id] : refs) {
        if (type == "CHILD_OF" && !child_of) {
          parent = id;
          child_of = true;
        }
      }
      if (!child_of && !refs.empty()) parent = refs[0].second;
      EXPECT_EQ(s->parent_span_id, parent);
      size_t links = 0;
      bool skipped_parent = false;
      for (const auto& [type, id] : refs) {
        if (type == "CHILD_OF" && id == parent && !skipped_parent) {
          skipped_parent = true;
          continue;
        }
        ASSERT_LT(links, s->links.size());
        EXPECT_EQ(s->links[links].span_id, id);
        EXPECT_EQ(*FindAttribute(s->links[links].attributes, "opentracing.ref_type"),
                  AnyValue::String(type == "CHILD_OF" ? "child_of" : "follows_from"));
        ++links;
      }
      EXPECT_EQ(s->links.size(), links);
      // Warnings, and the process: service name and typed tags on the resource.
      if (Has(j, "warnings")) {
        AnyValue::Array want;
        for (element w : At(j, "warnings").get_array()) want.push_back(AnyValue::String(Str(w)));
        EXPECT_EQ(*FindAttribute(s->attributes, "jaeger.warnings"), AnyValue::ArrayValue(want));
      } else {
        EXPECT_EQ(FindAttribute(s->attributes, "jaeger.warnings"), nullptr);
      }
      object process = At(processes, StrK(j, "processID")).get_object();
      EXPECT_EQ(s->service_name, StrK(process, "serviceName"));
      for (element tg : At(process, "tags").get_array()) {
        const std::string key = StrK(tg.get_object(), "key");
        ASSERT_NE(FindAttribute(s->resource_attributes, key), nullptr) << key;
        EXPECT_EQ(*FindAttribute(s->resource_attributes, key), JaegerValue(tg.get_object()));
      }
    }
  }
  EXPECT_EQ(back.all().size(), count);
}

// ---- OTLP JSON ----

std::string IdHex(element e, size_t bytes) {
  const std::string s = Str(e);
  if (s.size() == 2 * bytes) return absl::AsciiStrToLower(s);
  std::string raw;
  absl::Base64Unescape(s, &raw);
  return absl::BytesToHexString(raw);
}

AnyValue OtlpValue(object v) {
  if (Has(v, "stringValue")) return AnyValue::String(StrK(v, "stringValue"));
  if (Has(v, "boolValue")) return AnyValue::Bool(At(v, "boolValue").get_bool().value());
  if (Has(v, "intValue")) return AnyValue::Int(static_cast<int64_t>(U64K(v, "intValue")));
  if (Has(v, "doubleValue")) return AnyValue::Double(At(v, "doubleValue").get_double().value());
  if (Has(v, "bytesValue")) {
    std::string raw;
    absl::Base64Unescape(StrK(v, "bytesValue"), &raw);
    return AnyValue::BytesValue(raw);
  }
  if (Has(v, "arrayValue")) {
    AnyValue::Array a;
    for (element x : At(At(v, "arrayValue").get_object(), "values").get_array()) {
      a.push_back(OtlpValue(x.get_object()));
    }
    return AnyValue::ArrayValue(a);
  }
  if (Has(v, "kvlistValue")) {
    AnyValue::Map m;
    for (element x : At(At(v, "kvlistValue").get_object(), "values").get_array()) {
      m.push_back(
          {StrK(x.get_object(), "key"), OtlpValue(At(x.get_object(), "value").get_object())});
    }
    return AnyValue::MapValue(m);
  }
  return AnyValue();
}

Attributes OtlpAttributes(object o) {
  Attributes out;
  if (!Has(o, "attributes")) return out;
  for (element kv : At(o, "attributes").get_array()) {
    out.push_back(
        {StrK(kv.get_object(), "key"), OtlpValue(At(kv.get_object(), "value").get_object())});
  }
  return out;
}

TEST(FormatsFidelityE2eTest, OtlpJson) {
  simdjson::dom::parser parser;
  const simdjson::padded_string text =
      simdjson::padded_string::load(std::string(SPANSTORE_TESTDATA_DIR) + "/fidelity_otlp.json");
  simdjson::dom::document_stream docs = parser.parse_many(text);  // concatenated documents
  ReadBack back("fidelity_otlp.json");
  size_t count = 0;
  for (element doc : docs) {
    for (element r : At(doc.get_object(), "resourceSpans").get_array()) {
      object rs = r.get_object();
      const Attributes resource = OtlpAttributes(At(rs, "resource").get_object());
      for (element sc : At(rs, "scopeSpans").get_array()) {
        object ss = sc.get_object();
        object scope = At(ss, "scope").get_object();
        for (element e : At(ss, "spans").get_array()) {
          ++count;
          object o = e.get_object();
          const std::string trace_hex = IdHex(At(o, "traceId"), 16);
          const std::string span_hex = IdHex(At(o, "spanId"), 8);
          SCOPED_TRACE(StrK(o, "name"));
          const Span* s = nullptr;
          for (const Span& c : back.trace(*TraceId::FromHex(trace_hex))) {
            if (c.span_id.ToHex() == span_hex) s = &c;
          }
          ASSERT_NE(s, nullptr);
          EXPECT_EQ(s->resource_attributes, resource);
          EXPECT_EQ(s->resource_schema_url, StrK(rs, "schemaUrl"));
          EXPECT_EQ(s->scope_name, StrK(scope, "name"));
          EXPECT_EQ(s->scope_version, StrK(scope, "version"));
          EXPECT_EQ(s->scope_attributes, OtlpAttributes(scope));
          EXPECT_EQ(s->scope_schema_url, StrK(ss, "schemaUrl"));
          const std::string parent = Has(o, "parentSpanId") && !StrK(o, "parentSpanId").empty()
                                         ? IdHex(At(o, "parentSpanId"), 8)
                                         : std::string(16, '0');
          EXPECT_EQ(s->parent_span_id.ToHex(), parent);
          EXPECT_EQ(s->name, StrK(o, "name"));
          EXPECT_EQ(s->trace_state, StrK(o, "traceState"));
          EXPECT_EQ(s->flags, U64K(o, "flags"));
          EXPECT_EQ(s->start_time_unix_nano, U64K(o, "startTimeUnixNano"));
          EXPECT_EQ(s->end_time_unix_nano, U64K(o, "endTimeUnixNano"));
          EXPECT_EQ(s->attributes, OtlpAttributes(o));
          EXPECT_EQ(s->dropped_attributes_count, U64K(o, "droppedAttributesCount"));
          EXPECT_EQ(s->dropped_events_count, U64K(o, "droppedEventsCount"));
          EXPECT_EQ(s->dropped_links_count, U64K(o, "droppedLinksCount"));
          const std::string kind =
              Has(o, "kind") ? std::string(At(o, "kind").is_string() ? StrK(o, "kind") : "") : "";
          if (kind == "SPAN_KIND_SERVER") {
            EXPECT_EQ(s->kind, SpanKind::kServer);
          }
          if (kind == "SPAN_KIND_CLIENT") {
            EXPECT_EQ(s->kind, SpanKind::kClient);
          }
          if (At(o, "kind").is_int64()) {
            EXPECT_EQ(static_cast<int>(s->kind), At(o, "kind").get_int64().value());
          }
          if (Has(o, "status")) {
            object st = At(o, "status").get_object();
            EXPECT_EQ(s->status_message, StrK(st, "message"));
            if (At(st, "code").is_string()) {
              EXPECT_EQ(s->status_code, StatusCode::kError);  // the fixture's only named code
            } else if (Has(st, "code")) {
              EXPECT_EQ(static_cast<int>(s->status_code), At(st, "code").get_int64().value());
            }
          }
          size_t n = 0;
          if (Has(o, "events")) {
            for (element ev : At(o, "events").get_array()) {
              ASSERT_LT(n, s->events.size());
              object eo = ev.get_object();
              EXPECT_EQ(s->events[n].name, StrK(eo, "name"));
              EXPECT_EQ(s->events[n].time_unix_nano, U64K(eo, "timeUnixNano"));
              EXPECT_EQ(s->events[n].attributes, OtlpAttributes(eo));
              EXPECT_EQ(s->events[n].dropped_attributes_count, U64K(eo, "droppedAttributesCount"));
              ++n;
            }
          }
          EXPECT_EQ(s->events.size(), n);
          n = 0;
          if (Has(o, "links")) {
            for (element l : At(o, "links").get_array()) {
              ASSERT_LT(n, s->links.size());
              object lo = l.get_object();
              EXPECT_EQ(s->links[n].trace_id.ToHex(), IdHex(At(lo, "traceId"), 16));
              EXPECT_EQ(s->links[n].span_id.ToHex(), IdHex(At(lo, "spanId"), 8));
              EXPECT_EQ(s->links[n].trace_state, StrK(lo, "traceState"));
              EXPECT_EQ(s->links[n].flags, U64K(lo, "flags"));
              EXPECT_EQ(s->links[n].attributes, OtlpAttributes(lo));
              EXPECT_EQ(s->links[n].dropped_attributes_count, U64K(lo, "droppedAttributesCount"));
              ++n;
            }
          }
          EXPECT_EQ(s->links.size(), n);
        }
      }
    }
  }
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(back.all().size(), count);
}

}  // namespace
}  // namespace spanstore
