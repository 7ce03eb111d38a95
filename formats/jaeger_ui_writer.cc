// Spans as Jaeger UI's JSON trace model (the "data" objects of Jaeger's query API), mapped the
// way Jaeger's OTLP translator maps OTLP spans to its own model.

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "spanstore/formats.h"
#include "spanstore/jaeger.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

// JavaScript numbers are doubles: larger integers are sent as strings, as Jaeger does.
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

void Tag(std::string_view key, std::string_view type, std::string_view raw_value, bool* first,
         std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  out->append("{\"key\":");
  AppendJsonString(key, out);
  absl::StrAppend(out, ",\"type\":\"", AsAbsl(type), "\",\"value\":", AsAbsl(raw_value), "}");
}

void StringTag(std::string_view key, std::string_view value, bool* first, std::string* out) {
  std::string quoted;
  AppendJsonString(value, &quoted);
  Tag(key, "string", quoted, first, out);
}

void ValueTag(const KeyValue& kv, bool* first, std::string* out) {
  const AnyValue& v = kv.value;
  switch (v.type()) {
    case AnyValue::Type::kBool:
      Tag(kv.key, "bool", v.bool_value() ? "true" : "false", first, out);
      return;
    case AnyValue::Type::kInt: {
      const int64_t i = v.int_value();
      std::string text = absl::StrCat(i);
      if (i > kMaxSafeInteger || i < -kMaxSafeInteger) text = absl::StrCat("\"", text, "\"");
      Tag(kv.key, "int64", text, first, out);
      return;
    }
    case AnyValue::Type::kDouble: {
      std::string text = JaegerValueString(v);
      if (!std::isfinite(v.double_value())) text = absl::StrCat("\"", text, "\"");  // not JSON
      Tag(kv.key, "float64", text, first, out);
      return;
    }
    case AnyValue::Type::kBytes:
      Tag(kv.key, "binary", absl::StrCat("\"", absl::Base64Escape(AsAbsl(v.bytes_value())), "\""),
          first, out);
      return;
    default:  // strings; arrays and maps as their JSON text, as the translator does
      StringTag(kv.key, JaegerValueString(v), first, out);
      return;
  }
}

void Tags(const Attributes& attributes, bool* first, std::string* out) {
  for (const KeyValue& kv : attributes) ValueTag(kv, first, out);
}

struct Process {
  const Span* first;  // a span of this process: its service name and resource
};

bool SameProcess(const Span& a, const Span& b) {
  return a.service_name == b.service_name && a.resource_attributes == b.resource_attributes;
}

std::string_view StatusTagValue(StatusCode code) {
  return code == StatusCode::kError ? "ERROR" : "OK";
}

void WriteSpan(const Span& s, size_t process, std::string* out) {
  absl::StrAppend(out, "{\"traceID\":\"", s.trace_id.ToHex(), "\",\"spanID\":\"", s.span_id.ToHex(),
                  "\"");
  if (s.flags != 0) absl::StrAppend(out, ",\"flags\":", s.flags & 0xff);
  out->append(",\"operationName\":");
  AppendJsonString(s.name, out);
  out->append(",\"references\":[");
  bool first_ref = true;
  auto reference = [&](std::string_view type, const TraceId& trace, const SpanId& span) {
    if (!first_ref) out->push_back(',');
    first_ref = false;
    absl::StrAppend(out, "{\"refType\":\"", AsAbsl(type), "\",\"traceID\":\"", trace.ToHex(),
                    "\",\"spanID\":\"", span.ToHex(), "\"}");
  };
  // The parent first: Jaeger UI takes the first CHILD_OF reference as the parent.
  if (!s.is_root()) reference("CHILD_OF", s.trace_id, s.parent_span_id);
  for (const SpanLink& l : s.links) reference("FOLLOWS_FROM", l.trace_id, l.span_id);
  absl::StrAppend(out, "],\"startTime\":", s.start_time_unix_nano / 1000,
                  ",\"duration\":", s.duration_nanos() / 1000, ",\"tags\":[");
  bool first = true;
  if (!s.scope_name.empty()) StringTag("otel.scope.name", s.scope_name, &first, out);
  if (!s.scope_version.empty()) StringTag("otel.scope.version", s.scope_version, &first, out);
  Tags(s.attributes, &first, out);
  if (s.kind != SpanKind::kUnspecified) StringTag("span.kind", SpanKindName(s.kind), &first, out);
  if (s.status_code != StatusCode::kUnset) {
    StringTag("otel.status_code", StatusTagValue(s.status_code), &first, out);
  }
  if (s.status_code == StatusCode::kError) Tag("error", "bool", "true", &first, out);
  if (!s.status_message.empty()) {
    StringTag("otel.status_description", s.status_message, &first, out);
  }
  if (!s.trace_state.empty()) StringTag("w3c.tracestate", s.trace_state, &first, out);
  out->append("],\"logs\":[");
  for (size_t i = 0; i < s.events.size(); ++i) {
    const SpanEvent& e = s.events[i];
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, "{\"timestamp\":", e.time_unix_nano / 1000, ",\"fields\":[");
    bool first_field = true;
    if (!e.name.empty()) StringTag("event", e.name, &first_field, out);
    Tags(e.attributes, &first_field, out);
    out->append("]}");
  }
  absl::StrAppend(out, "],\"processID\":\"p", process + 1, "\",\"warnings\":null}");
}

}  // namespace

void AppendJaegerUiTrace(absl::Span<const Span> spans, std::string* out) {
  std::vector<Process> processes;
  std::vector<size_t> process_of(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    size_t p = 0;
    while (p < processes.size() && !SameProcess(*processes[p].first, spans[i])) ++p;
    if (p == processes.size()) processes.push_back({&spans[i]});
    process_of[i] = p;
  }
  absl::StrAppend(out, "{\"traceID\":\"", spans.empty() ? "" : spans[0].trace_id.ToHex(),
                  "\",\"spans\":[");
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out->push_back(',');
    WriteSpan(spans[i], process_of[i], out);
  }
  out->append("],\"processes\":{");
  for (size_t p = 0; p < processes.size(); ++p) {
    const Span& s = *processes[p].first;
    if (p > 0) out->push_back(',');
    absl::StrAppend(out, "\"p", p + 1, "\":{\"serviceName\":");
    // Jaeger's translator names a process without a service this way.
    AppendJsonString(s.service_name.empty() ? "OTLPResourceNoServiceName" : s.service_name, out);
    out->append(",\"tags\":[");
    bool first = true;
    for (const KeyValue& kv : s.resource_attributes) {
      if (kv.key != "service.name") ValueTag(kv, &first, out);
    }
    out->append("]}");
  }
  out->append("},\"warnings\":null}");
}

}  // namespace spanstore
