// Jaeger JSON -- the query API's {"data": [{"traceID", "spans", "processes"}]}, or one bare trace
// object -- into spans, mapped onto OTLP the way the OpenTelemetry Collector's Jaeger translator
// does (docs/formats.md):
//   process.serviceName -> resource service.name; process tags -> resource attributes
//   startTime/duration (microseconds) -> start/end (nanoseconds)
//   first CHILD_OF reference in the same trace -> parent; other references -> links (the first
//     FOLLOWS_FROM in the same trace is also the parent when there is no CHILD_OF)
//   warnings -> the string-array attribute jaeger.warnings
//   tags span.kind -> kind; otel.status_code / otel.status_description -> status;
//     error=true -> status error; otel.scope.name|otel.library.name (+ .version) -> scope;
//     w3c.tracestate -> trace_state (these tags are consumed, the rest stay attributes)
//   logs -> events (the "event" field names the event)

#include "formats/jaeger_json_reader.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "formats/json_path.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

absl::Status ShortHexId(element v, const Path& path, bool trace, TraceId* tid, SpanId* sid) {
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS) return PathError(path, "expected a hex string");
  if (trace) {
    auto id = TraceId::FromShortHex(s);
    if (!id.ok()) return PathError(path, AsStd(id.status().message()));
    *tid = *id;
  } else {
    auto id = SpanId::FromShortHex(s);
    if (!id.ok()) return PathError(path, AsStd(id.status().message()));
    *sid = *id;
  }
  return absl::OkStatus();
}

absl::Status Micros(element v, const Path& path, uint64_t* nanos) {
  return MicrosAsNanos(v, path, /*null_is_zero=*/true, nanos);
}

// A typed Jaeger tag {"key", "type", "value"} into an attribute.
absl::Status Tag(element e, const Path& path, KeyValue* kv) {
  object o;
  if (e.get(o) != simdjson::SUCCESS) return PathError(path, "expected a {key, type, value} tag");
  std::string_view key, type = "string";
  element value;
  bool has_value = false;
  for (const simdjson::dom::key_value_pair f : o) {
    if (f.key == "key") {
      if (f.value.get(key) != simdjson::SUCCESS) return PathError(Path(&path, "key"), "expected a string");
    } else if (f.key == "type") {
      if (f.value.get(type) != simdjson::SUCCESS) return PathError(Path(&path, "type"), "expected a string");
    } else if (f.key == "value") {
      value = f.value;
      has_value = true;
    }
  }
  kv->key.assign(key.data(), key.size());
  if (!has_value) {
    kv->value = AnyValue();
    return absl::OkStatus();
  }
  const Path vp(&path, "value");
  std::string_view s;
  bool b;
  int64_t i;
  double d;
  if (type == "string") {
    if (value.get(s) == simdjson::SUCCESS) {
      kv->value = AnyValue::String(std::string(s));
      return absl::OkStatus();
    }
  } else if (type == "bool") {
    if (value.get(b) == simdjson::SUCCESS) {
      kv->value = AnyValue::Bool(b);
      return absl::OkStatus();
    }
    if (value.get(s) == simdjson::SUCCESS && (s == "true" || s == "false")) {
      kv->value = AnyValue::Bool(s == "true");
      return absl::OkStatus();
    }
  } else if (type == "int64") {
    if (value.get(i) == simdjson::SUCCESS) {
      kv->value = AnyValue::Int(i);
      return absl::OkStatus();
    }
    if (value.get(s) == simdjson::SUCCESS && absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &i)) {
      kv->value = AnyValue::Int(i);
      return absl::OkStatus();
    }
  } else if (type == "float64") {
    if (value.get(d) == simdjson::SUCCESS) {
      kv->value = AnyValue::Double(d);
      return absl::OkStatus();
    }
  } else if (type == "binary") {
    std::string raw;
    if (value.get(s) == simdjson::SUCCESS &&
        absl::Base64Unescape(absl::string_view(s.data(), s.size()), &raw)) {
      kv->value = AnyValue::BytesValue(std::move(raw));
      return absl::OkStatus();
    }
  } else {
    return PathError(Path(&path, "type"),
                     absl::StrCat("unknown tag type '", absl::string_view(type.data(), type.size()),
                                  "' (expected string, bool, int64, float64 or binary)"));
  }
  return PathError(vp, absl::StrCat("value does not match its type ",
                                    absl::string_view(type.data(), type.size())));
}

absl::Status Tags(element v, const Path& path, Attributes* out) {
  array a;
  if (v.is_null()) return absl::OkStatus();
  if (v.get(a) != simdjson::SUCCESS) return PathError(path, "expected an array of tags");
  size_t i = 0;
  for (element e : a) {
    absl::Status s = Tag(e, Path(&path, i++), &out->emplace_back());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

struct Process {
  std::string service;
  Attributes resource;
};

// Moves the tags with an OTLP meaning out of the attributes and into the span's fields.
void MapSpecialTags(Span* span) {
  Attributes kept;
  bool error_tag = false, status_set = false;
  for (KeyValue& kv : span->attributes) {
    const std::string text = kv.value.type() == AnyValue::Type::kString ? kv.value.string_value()
                                                                          : kv.value.ToString();
    if (kv.key == "span.kind") {
      if (text == "server") span->kind = SpanKind::kServer;
      else if (text == "client") span->kind = SpanKind::kClient;
      else if (text == "producer") span->kind = SpanKind::kProducer;
      else if (text == "consumer") span->kind = SpanKind::kConsumer;
      else if (text == "internal") span->kind = SpanKind::kInternal;
      else kept.push_back(std::move(kv));
    } else if (kv.key == "otel.status_code") {
      span->status_code = text == "ERROR" ? StatusCode::kError
                          : text == "OK"  ? StatusCode::kOk
                                          : StatusCode::kUnset;
      status_set = true;
    } else if (kv.key == "otel.status_description") {
      span->status_message = text;
    } else if (kv.key == "error" && (text == "true")) {
      error_tag = true;
    } else if (kv.key == "otel.scope.name" || kv.key == "otel.library.name") {
      span->scope_name = text;
    } else if (kv.key == "otel.scope.version" || kv.key == "otel.library.version") {
      span->scope_version = text;
    } else if (kv.key == "w3c.tracestate") {
      span->trace_state = text;
    } else {
      kept.push_back(std::move(kv));
    }
  }
  if (error_tag && !status_set) span->status_code = StatusCode::kError;
  span->attributes = std::move(kept);
}

class JaegerConverter {
 public:
  explicit JaegerConverter(std::vector<Span>* out) : out_(out) {}

  absl::Status Trace(element trace, const Path& path, const JsonReadOptions& options,
                     uint64_t* skipped, std::string* first_error) {
    object o;
    if (trace.get(o) != simdjson::SUCCESS) return PathError(path, "expected a trace object");
    absl::flat_hash_map<std::string, Process> processes;
    element v;
    if (o.at_key("processes").get(v) == simdjson::SUCCESS && !v.is_null()) {
      object po;
      if (v.get(po) != simdjson::SUCCESS) return PathError(Path(&path, "processes"), "expected an object");
      for (const simdjson::dom::key_value_pair p : po) {
        const Path pp(&path, "processes");
        const Path one(&pp, p.key);
        object proc;
        if (p.value.get(proc) != simdjson::SUCCESS) return PathError(one, "expected a process object");
        Process& process = processes[std::string(p.key)];
        element f;
        std::string_view name;
        if (proc.at_key("serviceName").get(f) == simdjson::SUCCESS && f.get(name) == simdjson::SUCCESS) {
          process.service.assign(name.data(), name.size());
        }
        process.resource.push_back({"service.name", AnyValue::String(process.service)});
        if (proc.at_key("tags").get(f) == simdjson::SUCCESS) {
          absl::Status s = Tags(f, Path(&one, "tags"), &process.resource);
          if (!s.ok()) return s;
        }
      }
    }
    if (o.at_key("spans").get(v) != simdjson::SUCCESS) return PathError(path, "missing \"spans\"");
    array spans;
    if (v.get(spans) != simdjson::SUCCESS) return PathError(Path(&path, "spans"), "expected an array");
    const Path list(&path, "spans");
    size_t i = 0;
    for (element e : spans) {
      const Path sp(&list, i++);
      Span span;
      absl::Status s = OneSpan(e, sp, processes, &span);
      s = KeepOrSkip(std::move(s), std::move(span), sp, options, out_, skipped, first_error);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status OneSpan(element e, const Path& path,
                       const absl::flat_hash_map<std::string, Process>& processes, Span* span) {
    object o;
    if (e.get(o) != simdjson::SUCCESS) return PathError(path, "expected a span object");
    bool has_trace = false, has_span = false;
    uint64_t duration = 0;
    std::string_view process_id;
    for (const simdjson::dom::key_value_pair f : o) {
      absl::Status s;
      const std::string_view key = f.key;
      if (key == "traceID") {
        s = ShortHexId(f.value, Path(&path, "traceID"), true, &span->trace_id, nullptr);
        has_trace = true;
      } else if (key == "spanID") {
        s = ShortHexId(f.value, Path(&path, "spanID"), false, nullptr, &span->span_id);
        has_span = true;
      } else if (key == "operationName") {
        std::string_view name;
        if (f.value.get(name) != simdjson::SUCCESS) s = PathError(Path(&path, "operationName"), "expected a string");
        span->name.assign(name.data(), name.size());
      } else if (key == "startTime") {
        s = Micros(f.value, Path(&path, "startTime"), &span->start_time_unix_nano);
      } else if (key == "duration") {
        s = Micros(f.value, Path(&path, "duration"), &duration);
      } else if (key == "warnings") {
        s = Warnings(f.value, Path(&path, "warnings"), span);
      } else if (key == "flags") {
        uint64_t flags = 0;
        if (f.value.get(flags) != simdjson::SUCCESS) flags = 0;
        span->flags = static_cast<uint32_t>(flags);
      } else if (key == "tags") {
        s = Tags(f.value, Path(&path, "tags"), &span->attributes);
      } else if (key == "processID") {
        if (f.value.get(process_id) != simdjson::SUCCESS) process_id = {};
      } else if (key == "process") {  // embedded process (Jaeger's model JSON)
        object proc;
        if (f.value.get(proc) == simdjson::SUCCESS) {
          element name, tags;
          std::string_view service;
          if (proc.at_key("serviceName").get(name) == simdjson::SUCCESS && name.get(service) == simdjson::SUCCESS) {
            span->service_name.assign(service.data(), service.size());
            span->resource_attributes.push_back({"service.name", AnyValue::String(span->service_name)});
          }
          if (proc.at_key("tags").get(tags) == simdjson::SUCCESS) {
            s = Tags(tags, Path(&path, "process.tags"), &span->resource_attributes);
          }
        }
      } else if (key == "references") {
        s = References(f.value, Path(&path, "references"), span);
      } else if (key == "logs") {
        s = Logs(f.value, Path(&path, "logs"), span);
      }
      if (!s.ok()) return s;
    }
    if (!has_trace) return PathError(path, "missing traceID");
    if (!has_span) return PathError(path, "missing spanID");
    if (!span->trace_id.IsValid()) return PathError(Path(&path, "traceID"), "trace id is all zeros");
    if (!span->span_id.IsValid()) return PathError(Path(&path, "spanID"), "span id is all zeros");
    if (duration > static_cast<uint64_t>(INT64_MAX) - span->start_time_unix_nano) {
      return PathError(Path(&path, "duration"), "start + duration overflows 64-bit nanoseconds");
    }
    span->end_time_unix_nano = span->start_time_unix_nano + duration;
    if (!process_id.empty()) {
      auto it = processes.find(std::string(process_id));
      if (it == processes.end()) {
        return PathError(Path(&path, "processID"),
                         absl::StrCat("no process \"", absl::string_view(process_id.data(), process_id.size()),
                                      "\" in the trace's processes"));
      }
      span->service_name = it->second.service;
      span->resource_attributes = it->second.resource;
    }
    MapSpecialTags(span);
    return absl::OkStatus();
  }

  absl::Status References(element v, const Path& path, Span* span) {
    if (v.is_null()) return absl::OkStatus();
    array a;
    if (v.get(a) != simdjson::SUCCESS) return PathError(path, "expected an array");
    size_t i = 0;
    for (element e : a) {
      const Path rp(&path, i++);
      object o;
      if (e.get(o) != simdjson::SUCCESS) return PathError(rp, "expected a reference object");
      std::string_view type = "CHILD_OF";
      TraceId trace;
      SpanId id;
      element f;
      if (o.at_key("refType").get(f) == simdjson::SUCCESS && f.get(type) != simdjson::SUCCESS) {
        return PathError(Path(&rp, "refType"), "expected a string");
      }
      if (o.at_key("traceID").get(f) != simdjson::SUCCESS) return PathError(rp, "missing traceID");
      absl::Status s = ShortHexId(f, Path(&rp, "traceID"), true, &trace, nullptr);
      if (s.ok() && o.at_key("spanID").get(f) != simdjson::SUCCESS) return PathError(rp, "missing spanID");
      if (s.ok()) s = ShortHexId(f, Path(&rp, "spanID"), false, nullptr, &id);
      if (!s.ok()) return s;
      if (type == "CHILD_OF" && !span->parent_span_id.IsValid() && trace == span->trace_id) {
        span->parent_span_id = id;
        continue;
      }
      if (type != "CHILD_OF" && type != "FOLLOWS_FROM") {
        return PathError(Path(&rp, "refType"), "expected CHILD_OF or FOLLOWS_FROM");
      }
      SpanLink& link = span->links.emplace_back();
      link.trace_id = trace;
      link.span_id = id;
      link.attributes.push_back({"opentracing.ref_type",
                                 AnyValue::String(type == "FOLLOWS_FROM" ? "follows_from" : "child_of")});
    }
    // Without a CHILD_OF, the first FOLLOWS_FROM in the same trace is the parent (as Jaeger's
    // own model does), so the span is not drawn as a second root; the link stays, so the
    // reference type is not lost.
    if (!span->parent_span_id.IsValid()) {
      for (const SpanLink& link : span->links) {
        if (link.trace_id == span->trace_id) {
          span->parent_span_id = link.span_id;
          break;
        }
      }
    }
    return absl::OkStatus();
  }

  // Jaeger's "warnings" (strings the collector or UI adds, e.g. clock skew adjustments) are
  // kept as the string-array attribute jaeger.warnings.
  static absl::Status Warnings(element v, const Path& path, Span* span) {
    if (v.is_null()) return absl::OkStatus();
    array a;
    if (v.get(a) != simdjson::SUCCESS) return PathError(path, "expected an array of strings");
    AnyValue::Array warnings;
    size_t i = 0;
    for (element e : a) {
      std::string_view w;
      if (e.get(w) != simdjson::SUCCESS) return PathError(Path(&path, i), "expected a string");
      warnings.push_back(AnyValue::String(std::string(w)));
      ++i;
    }
    if (!warnings.empty()) {
      span->attributes.push_back({"jaeger.warnings", AnyValue::ArrayValue(std::move(warnings))});
    }
    return absl::OkStatus();
  }

  absl::Status Logs(element v, const Path& path, Span* span) {
    if (v.is_null()) return absl::OkStatus();
    array a;
    if (v.get(a) != simdjson::SUCCESS) return PathError(path, "expected an array");
    size_t i = 0;
    for (element e : a) {
      const Path lp(&path, i++);
      object o;
      if (e.get(o) != simdjson::SUCCESS) return PathError(lp, "expected a log object");
      SpanEvent& ev = span->events.emplace_back();
      element f;
      if (o.at_key("timestamp").get(f) == simdjson::SUCCESS) {
        absl::Status s = Micros(f, Path(&lp, "timestamp"), &ev.time_unix_nano);
        if (!s.ok()) return s;
      }
      if (o.at_key("fields").get(f) == simdjson::SUCCESS) {
        absl::Status s = Tags(f, Path(&lp, "fields"), &ev.attributes);
        if (!s.ok()) return s;
      }
      for (auto it = ev.attributes.begin(); it != ev.attributes.end(); ++it) {
        if (it->key == "event" && it->value.type() == AnyValue::Type::kString) {
          ev.name = it->value.string_value();
          ev.attributes.erase(it);
          break;
        }
      }
    }
    return absl::OkStatus();
  }

  std::vector<Span>* out_;
};

}  // namespace

absl::Status JaegerJsonToSpans(simdjson::dom::element document, const JsonReadOptions& options,
                               std::vector<Span>* out, uint64_t* skipped_spans,
                               std::string* first_error) {
  JaegerConverter c(out);
  object o;
  if (document.get(o) != simdjson::SUCCESS) return absl::InvalidArgumentError("expected a JSON object");
  element data;
  if (o.at_key("data").get(data) != simdjson::SUCCESS) {
    return c.Trace(document, Path(""), options, skipped_spans, first_error);  // a bare trace
  }
  if (data.is_null()) return absl::OkStatus();
  array traces;
  if (data.get(traces) != simdjson::SUCCESS) return PathError(Path("data"), "expected an array of traces");
  const Path list("data");
  size_t i = options.first_index;
  for (element t : traces) {
    absl::Status s = c.Trace(t, Path(&list, i++), options, skipped_spans, first_error);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace spanstore
