// Zipkin v2 JSON (an array of spans, as the Zipkin API returns it) into spans, mapped onto OTLP
// the way the OpenTelemetry Collector's Zipkin translator does (docs/formats.md):
//   traceId (16 or 32 hex digits; 64-bit ids are left-padded), id, parentId
//   kind CLIENT/SERVER/PRODUCER/CONSUMER -> kind (absent: unspecified)
//   timestamp/duration (microseconds) -> start/end; times that are negative or overflow int64
//     nanoseconds are refused; a span without timestamp takes the time of its first annotation,
//     else of its parent, else of its trace's earliest span (FixZipkinTraces), else is refused
//   localEndpoint.serviceName -> resource service.name; its ipv4/ipv6/port -> net.host.*
//   remoteEndpoint -> peer.service, net.peer.ip, net.peer.port
//   tags (strings) -> attributes; "error" -> status error with the tag's text as message;
//     otel.status_code / otel.status_description -> status (and consumed)
//   annotations -> events named by their value
//   shared (server half of an RPC that reuses the client's span id) -> when the client half is
//     there too, a span id derived from (trace id, span id, service), parented to the client
//     half, and the server's local children re-parented to it (as Zipkin's SpanNode does)

#include "formats/zipkin_json_reader.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "formats/json_path.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

absl::Status Micros(element v, const Path& path, uint64_t* nanos) {
  return MicrosAsNanos(v, path, /*null_is_zero=*/false, nanos);
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

absl::Status OneSpan(element e, const Path& path, Span* span, ZipkinSpanInfo* info) {
  object o;
  if (e.get(o) != simdjson::SUCCESS) return PathError(path, "expected a span object");
  bool has_trace = false, has_id = false, shared = false, timed = false;
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
      if (f.value.is_null()) continue;
      absl::Status st = Micros(f.value, Path(&path, key), &span->start_time_unix_nano);
      if (!st.ok()) return st;
      timed = true;
    } else if (key == "duration") {
      if (f.value.is_null()) continue;
      absl::Status st = Micros(f.value, Path(&path, key), &duration);
      if (!st.ok()) return st;
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
        if (ao.at_key("timestamp").get(x) == simdjson::SUCCESS) {
          absl::Status st = Micros(x, Path(&path, "annotations.timestamp"), &ev.time_unix_nano);
          if (!st.ok()) return st;
        }
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
  if (!timed && !span->events.empty()) {  // the first annotation's time (Zipkin v1 did so)
    uint64_t first = UINT64_MAX;
    for (const SpanEvent& ev : span->events) first = std::min(first, ev.time_unix_nano);
    if (first > 0) {
      span->start_time_unix_nano = first;
      span->attributes.push_back({"zipkin.timestamp_from", AnyValue::String("annotations")});
      timed = true;
    }
  }
  if (duration > static_cast<uint64_t>(INT64_MAX) - span->start_time_unix_nano) {
    return PathError(Path(&path, "duration"), "timestamp + duration overflows 64-bit nanoseconds");
  }
  span->end_time_unix_nano = span->start_time_unix_nano + duration;
  if (shared) span->attributes.push_back({"zipkin.shared", AnyValue::Bool(true)});
  info->shared = shared;
  info->timed = timed;
  return absl::OkStatus();
}

// The id of the server half of a shared span: derived from (trace id, span id, service), so it
// is the same every time the trace is loaded and differs between servers answering one client.
SpanId SharedServerId(const Span& span, int attempt) {
  std::string seed(reinterpret_cast<const char*>(span.trace_id.bytes.data()), 16);
  seed.append(reinterpret_cast<const char*>(span.span_id.bytes.data()), 8);
  seed.append(span.service_name);
  seed.push_back(static_cast<char>(attempt));
  const uint64_t h = XXH3_64bits(seed.data(), seed.size()) | 1;  // never all zero
  SpanId id;
  for (int i = 0; i < 8; ++i) id.bytes[i] = static_cast<uint8_t>(h >> (56 - 8 * i));
  return id;
}

struct SpanKey {
  TraceId trace;
  SpanId span;
  bool operator==(const SpanKey& o) const { return trace == o.trace && span == o.span; }
  template <typename H>
  friend H AbslHashValue(H h, const SpanKey& k) {
    return H::combine(std::move(h), k.trace, k.span);
  }
};

}  // namespace

absl::Status ZipkinJsonToSpans(simdjson::dom::element document, const JsonReadOptions& options,
                               std::vector<Span>* out, uint64_t* skipped_spans,
                               std::string* first_error) {
  array spans;
  if (document.get(spans) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("expected a JSON array of Zipkin v2 spans");
  }
  size_t i = options.first_index;
  auto one = [&](element e, const Path& path, size_t index) {
    Span span;
    ZipkinSpanInfo info;
    info.index = index;
    absl::Status s = OneSpan(e, path, &span, &info);
    const size_t before = out->size();
    s = KeepOrSkip(std::move(s), std::move(span), path, options, out, skipped_spans, first_error);
    if (out->size() > before && options.zipkin != nullptr) options.zipkin->push_back(info);
    return s;
  };
  for (element e : spans) {
    const size_t index = i++;
    const Path path(nullptr, index);
    array trace;
    absl::Status s;
    if (e.get(trace) == simdjson::SUCCESS) {  // [[span, ...], ...]: the API's list of traces
      size_t j = 0;
      for (element inner : trace) {
        s = one(inner, Path(&path, j++), index);
        if (!s.ok()) break;
      }
    } else {
      s = one(e, path, index);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void FixZipkinTraces(std::vector<Span>* spans, std::vector<ZipkinSpanInfo>* info,
                     std::vector<size_t>* untimed) {
  std::vector<Span>& v = *spans;
  // Which ids the trace uses, and which of them a non-shared (client) half has.
  absl::flat_hash_map<SpanKey, bool> client_half;  // key -> a non-shared span has it
  for (size_t i = 0; i < v.size(); ++i) {
    bool& has = client_half[SpanKey{v[i].trace_id, v[i].span_id}];
    has = has || !(*info)[i].shared;
  }
  // The server halves whose client half is here get ids of their own, under the client.
  struct Server {
    std::string service;
    SpanId id;
  };
  absl::flat_hash_map<SpanKey, std::vector<Server>> servers;
  for (size_t i = 0; i < v.size(); ++i) {
    Span& s = v[i];
    const SpanKey key{s.trace_id, s.span_id};
    if (!(*info)[i].shared || !client_half[key]) continue;
    SpanId id = SharedServerId(s, 0);
    for (int attempt = 1; client_half.contains(SpanKey{s.trace_id, id}); ++attempt) {
      id = SharedServerId(s, attempt);  // a collision with a span of the trace: rehash
    }
    client_half.emplace(SpanKey{s.trace_id, id}, false);
    servers[key].push_back({s.service_name, id});
    s.parent_span_id = s.span_id;
    s.span_id = id;
  }
  // A span whose parent is a shared id and that runs in the server's service is the server's
  // child (Zipkin's SpanNode matches by local endpoint the same way).
  if (!servers.empty()) {
    for (size_t i = 0; i < v.size(); ++i) {
      Span& s = v[i];
      if ((*info)[i].shared && s.parent_span_id.IsValid() &&
          servers.contains(SpanKey{s.trace_id, s.parent_span_id})) {
        continue;  // a server half already points at its client
      }
      auto it = servers.find(SpanKey{s.trace_id, s.parent_span_id});
      if (it == servers.end()) continue;
      for (const Server& server : it->second) {
        if (server.service == s.service_name) {
          s.parent_span_id = server.id;
          break;
        }
      }
    }
  }
  // Spans without a timestamp: their parent's start, else their trace's earliest start.
  bool any_untimed = false;
  for (const ZipkinSpanInfo& in : *info) any_untimed = any_untimed || !in.timed;
  if (!any_untimed) return;
  absl::flat_hash_map<SpanKey, uint64_t> start;
  absl::flat_hash_map<TraceId, uint64_t> earliest;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!(*info)[i].timed) continue;
    start[SpanKey{v[i].trace_id, v[i].span_id}] = v[i].start_time_unix_nano;
    auto [it, fresh] = earliest.emplace(v[i].trace_id, v[i].start_time_unix_nano);
    if (!fresh) it->second = std::min(it->second, v[i].start_time_unix_nano);
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if ((*info)[i].timed) continue;
    Span& s = v[i];
    uint64_t t = 0;
    std::string_view from;
    if (auto p = start.find(SpanKey{s.trace_id, s.parent_span_id}); p != start.end()) {
      t = p->second;
      from = "parent";
    } else if (auto e = earliest.find(s.trace_id); e != earliest.end()) {
      t = e->second;
      from = "trace";
    } else {
      untimed->push_back(i);
      continue;
    }
    const uint64_t duration = s.end_time_unix_nano;
    s.start_time_unix_nano = t;
    s.end_time_unix_nano = duration > static_cast<uint64_t>(INT64_MAX) - t ? t : t + duration;
    s.attributes.push_back({"zipkin.timestamp_from", AnyValue::String(std::string(from))});
    (*info)[i].timed = true;
  }
}

}  // namespace spanstore
