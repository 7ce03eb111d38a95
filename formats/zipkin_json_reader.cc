// Zipkin v2 JSON (an array of spans, as the Zipkin API returns it) into spans, mapped onto OTLP
// the way the OpenTelemetry Collector's Zipkin translator does (docs/formats.md):
//   traceId (16 or 32 hex digits; 64-bit ids are left-padded), id, parentId
//   kind CLIENT/SERVER/PRODUCER/CONSUMER -> kind (absent: unspecified)
//   timestamp/duration (microseconds) -> start/end; a span without them starts at 0
//   localEndpoint.serviceName -> resource service.name; its ipv4/ipv6/port -> net.host.*
//   remoteEndpoint -> peer.service, net.peer.ip, net.peer.port
//   tags (strings) -> attributes; "error" -> status error with the tag's text as message;
//     otel.status_code / otel.status_description -> status (and consumed)
//   annotations -> events named by their value
//   shared (server half of an RPC that reuses the client's span id) -> a span id derived from
//     (trace id, span id), parented to the client span, so the two halves do not collide

#include "formats/zipkin_json_reader.h"

#include <xxhash.h>

#include "absl/strings/str_cat.h"
#include "formats/json_path.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

uint64_t Micros(element v) {
  uint64_t u = 0;
  double d = 0;
  if (v.get(u) == simdjson::SUCCESS) return u * 1000;
  if (v.get(d) == simdjson::SUCCESS && d > 0) return static_cast<uint64_t>(d * 1000);
  return 0;
}

absl::Status Endpoint(element v, const Path& path, bool local, Span* span) {
  if (v.is_null()) return absl::OkStatus();
  object o;
  if (v.get(o) != simdjson::SUCCESS) return PathError(path, "expected an endpoint object");
  for (const simdjson::dom::key_value_pair f : o) {
    std::string_view s;
    int64_t port;
    if (f.key == "serviceName" && f.value.get(s) == simdjson::SUCCESS) {
      if (local) {
        span->service_name.assign(s.data(), s.size());
        span->resource_attributes.insert(span->resource_attributes.begin(),
                                         {"service.name", AnyValue::String(span->service_name)});
      } else {
        span->attributes.push_back({"peer.service", AnyValue::String(std::string(s))});
      }
    } else if ((f.key == "ipv4" || f.key == "ipv6") && f.value.get(s) == simdjson::SUCCESS) {
      span->attributes.push_back(
          {local ? "net.host.ip" : "net.peer.ip", AnyValue::String(std::string(s))});
    } else if (f.key == "port" && f.value.get(port) == simdjson::SUCCESS) {
      span->attributes.push_back({local ? "net.host.port" : "net.peer.port", AnyValue::Int(port)});
    }
  }
  return absl::OkStatus();
}

absl::Status OneSpan(element e, const Path& path, Span* span) {
  object o;
  if (e.get(o) != simdjson::SUCCESS) return PathError(path, "expected a span object");
  bool has_trace = false, has_id = false, shared = false;
  uint64_t duration = 0;
  for (const simdjson::dom::key_value_pair f : o) {
    const std::string_view key = f.key;
    std::string_view s;
    if (key == "traceId" || key == "id" || key == "parentId") {
      if (f.value.is_null()) continue;
      if (f.value.get(s) != simdjson::SUCCESS) return PathError(Path(&path, key), "expected a hex string");
      if (key == "traceId") {
        auto id = TraceId::FromShortHex(s);
        if (!id.ok()) return PathError(Path(&path, key), AsStd(id.status().message()));
        span->trace_id = *id;
        has_trace = true;
      } else {
        auto id = SpanId::FromShortHex(s);
        if (!id.ok()) return PathError(Path(&path, key), AsStd(id.status().message()));
        (key == "id" ? span->span_id : span->parent_span_id) = *id;
        has_id = has_id || key == "id";
      }
    } else if (key == "name") {
      if (f.value.get(s) == simdjson::SUCCESS) span->name.assign(s.data(), s.size());
    } else if (key == "kind") {
      if (f.value.get(s) != simdjson::SUCCESS) return PathError(Path(&path, "kind"), "expected a string");
      if (s == "CLIENT") span->kind = SpanKind::kClient;
      else if (s == "SERVER") span->kind = SpanKind::kServer;
      else if (s == "PRODUCER") span->kind = SpanKind::kProducer;
      else if (s == "CONSUMER") span->kind = SpanKind::kConsumer;
      else {
        return PathError(Path(&path, "kind"), "expected CLIENT, SERVER, PRODUCER or CONSUMER");
      }
    } else if (key == "timestamp") {
      span->start_time_unix_nano = Micros(f.value);
    } else if (key == "duration") {
      duration = Micros(f.value);
    } else if (key == "shared") {
      bool b = false;
      shared = f.value.get(b) == simdjson::SUCCESS && b;
    } else if (key == "localEndpoint" || key == "remoteEndpoint") {
      absl::Status st = Endpoint(f.value, Path(&path, key), key == "localEndpoint", span);
      if (!st.ok()) return st;
    } else if (key == "tags") {
      object tags;
      if (f.value.is_null()) continue;
      if (f.value.get(tags) != simdjson::SUCCESS) return PathError(Path(&path, "tags"), "expected an object");
      for (const simdjson::dom::key_value_pair t : tags) {
        std::string_view v;
        if (t.value.get(v) != simdjson::SUCCESS) {
          return PathError(Path(&path, "tags"), absl::StrCat("tag \"", AsAbsl(t.key), "\" is not a string"));
        }
        if (t.key == "error") {
          span->status_code = StatusCode::kError;
          span->status_message.assign(v.data(), v.size());
        } else if (t.key == "otel.status_code") {
          span->status_code = v == "ERROR" ? StatusCode::kError : v == "OK" ? StatusCode::kOk : StatusCode::kUnset;
        } else if (t.key == "otel.status_description") {
          span->status_message.assign(v.data(), v.size());
        } else {
          span->attributes.push_back({std::string(t.key), AnyValue::String(std::string(v))});
        }
      }
    } else if (key == "annotations") {
      array a;
      if (f.value.is_null()) continue;
      if (f.value.get(a) != simdjson::SUCCESS) return PathError(Path(&path, "annotations"), "expected an array");
      for (element an : a) {
        object ao;
        if (an.get(ao) != simdjson::SUCCESS) return PathError(Path(&path, "annotations"), "expected {timestamp, value}");
        SpanEvent& ev = span->events.emplace_back();
        element x;
        if (ao.at_key("timestamp").get(x) == simdjson::SUCCESS) ev.time_unix_nano = Micros(x);
        if (ao.at_key("value").get(x) == simdjson::SUCCESS && x.get(s) == simdjson::SUCCESS) {
          ev.name.assign(s.data(), s.size());
        }
      }
    }
  }
  if (!has_trace) return PathError(path, "missing traceId");
  if (!has_id) return PathError(path, "missing id");
  if (!span->trace_id.IsValid()) return PathError(Path(&path, "traceId"), "trace id is all zeros");
  if (!span->span_id.IsValid()) return PathError(Path(&path, "id"), "span id is all zeros");
  span->end_time_unix_nano = span->start_time_unix_nano + duration;
  if (shared && span->kind == SpanKind::kServer) {
    const SpanId client = span->span_id;
    uint8_t seed[24];
    std::memcpy(seed, span->trace_id.bytes.data(), 16);
    std::memcpy(seed + 16, client.bytes.data(), 8);
    const uint64_t h = XXH3_64bits(seed, sizeof seed) | 1;  // never all zero
    for (int i = 0; i < 8; ++i) span->span_id.bytes[i] = static_cast<uint8_t>(h >> (56 - 8 * i));
    span->parent_span_id = client;
    span->attributes.push_back({"zipkin.shared", AnyValue::Bool(true)});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ZipkinJsonToSpans(simdjson::dom::element document, bool skip_invalid,
                               std::vector<Span>* out, uint64_t* skipped_spans,
                               std::string* first_error) {
  array spans;
  if (document.get(spans) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("expected a JSON array of Zipkin v2 spans");
  }
  size_t i = 0;
  for (element e : spans) {
    Span span;
    absl::Status s = OneSpan(e, Path(nullptr, i++), &span);
    s = KeepOrSkip(std::move(s), std::move(span), skip_invalid, out, skipped_spans, first_error);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace spanstore
