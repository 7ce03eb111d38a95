// OTLP/JSON (the protobuf JSON mapping of ExportTraceServiceRequest) into spans.
//
// Accepts what exporters write in the wild: lowerCamelCase or original snake_case field names,
// hex (either case) or base64 ids, 64-bit integers as strings or numbers, enums as numbers or
// names, the older instrumentationLibrarySpans / instrumentationLibrary keys, and Tempo's
// {"batches": [...]}. Errors name the JSON path of the offending value.

#include "formats/otlp_json_reader.h"

#include "formats/json_path.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr int kMaxValueDepth = 32;

// Looks up `camel`, then `snake` (protobuf JSON parsers accept both spellings).
bool Field(object o, std::string_view camel, std::string_view snake, element* out) {
  if (o.at_key(camel).get(*out) == simdjson::SUCCESS) return true;
  return !snake.empty() && o.at_key(snake).get(*out) == simdjson::SUCCESS;
}

class Converter {
 public:
  Converter(std::vector<Span>* out) : out_(out) {}

  absl::Status Document(element doc, const JsonReadOptions& options, uint64_t* skipped,
                        std::string* first_error) {
    object root;
    const Path top("");
    if (doc.get(root) != simdjson::SUCCESS) return PathError(top, "expected a JSON object");
    element resource_spans;
    std::string_view key = "resourceSpans";
    if (!Field(root, "resourceSpans", "resource_spans", &resource_spans)) {
      key = "batches";  // Grafana Tempo's trace-by-id API
      if (!Field(root, "batches", "", &resource_spans)) {
        return PathError(top, "expected \"resourceSpans\" (an OTLP ExportTraceServiceRequest)");
      }
    }
    array rs;
    const Path list(key);
    if (resource_spans.get(rs) != simdjson::SUCCESS) return PathError(list, "expected an array");
    size_t ri = options.first_index;
    for (element r : rs) {
      const Path path(&list, ri++);
      absl::Status s = ResourceSpans(r, path, options, skipped, first_error);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  // Calls fn(o, path of o) for each element o of the array `v`, which must hold objects.
  template <typename Fn>
  static absl::Status ForEachObject(element v, const Path& path, Fn fn) {
    array a;
    if (v.get(a) != simdjson::SUCCESS) return PathError(path, "expected an array");
    size_t i = 0;
    for (element e : a) {
      const Path p(&path, i++);
      object o;
      if (e.get(o) != simdjson::SUCCESS) return PathError(p, "expected an object");
      absl::Status s = fn(o, p);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status ResourceSpans(element r, const Path& path, const JsonReadOptions& options,
                             uint64_t* skipped, std::string* first_error) {
    object ro;
    if (r.get(ro) != simdjson::SUCCESS) return PathError(path, "expected an object");
    Span proto;  // resource fields shared by the spans below
    element resource;
    if (Field(ro, "resource", "", &resource)) {
      object res;
      if (resource.get(res) != simdjson::SUCCESS)
        return PathError(Path(&path, "resource"), "expected an object");
      element attrs;
      if (Field(res, "attributes", "", &attrs)) {
        absl::Status s =
            Attributes(attrs, Path(&path, "resource.attributes"), &proto.resource_attributes);
        if (!s.ok()) return s;
      }
    }
    element schema;
    if (Field(ro, "schemaUrl", "schema_url", &schema)) {
      absl::Status s = String(schema, Path(&path, "schemaUrl"), &proto.resource_schema_url);
      if (!s.ok()) return s;
    }
    if (const AnyValue* name = FindAttribute(proto.resource_attributes, "service.name");
        name != nullptr && name->type() == AnyValue::Type::kString) {
      proto.service_name = name->string_value();
    }
    element scope_spans;
    std::string_view key = "scopeSpans";
    if (!Field(ro, "scopeSpans", "scope_spans", &scope_spans)) {
      key = "instrumentationLibrarySpans";  // before OTLP 0.15
      if (!Field(ro, "instrumentationLibrarySpans", "instrumentation_library_spans",
                 &scope_spans)) {
        return absl::OkStatus();  // a resource without spans
      }
    }
    return ForEachObject(scope_spans, Path(&path, key), [&](object so, const Path& spath) {
      Span scoped = proto;
      element scope;
      if (Field(so, "scope", "", &scope) ||
          Field(so, "instrumentationLibrary", "instrumentation_library", &scope)) {
        object sc;
        if (scope.get(sc) != simdjson::SUCCESS)
          return PathError(Path(&spath, "scope"), "expected an object");
        element v;
        absl::Status s;
        if (Field(sc, "name", "", &v))
          s = String(v, Path(&spath, "scope.name"), &scoped.scope_name);
        if (s.ok() && Field(sc, "version", "", &v))
          s = String(v, Path(&spath, "scope.version"), &scoped.scope_version);
        if (s.ok() && Field(sc, "attributes", "", &v))
          s = Attributes(v, Path(&spath, "scope.attributes"), &scoped.scope_attributes);
        if (!s.ok()) return s;
      }
      if (Field(so, "schemaUrl", "schema_url", &schema)) {
        absl::Status s = String(schema, Path(&spath, "schemaUrl"), &scoped.scope_schema_url);
        if (!s.ok()) return s;
      }
      element spans;
      if (!Field(so, "spans", "", &spans)) return absl::OkStatus();
      array sa;
      const Path span_list(&spath, "spans");
      if (spans.get(sa) != simdjson::SUCCESS) return PathError(span_list, "expected an array");
      size_t i = 0;
      for (element e : sa) {
        const Path p(&span_list, i++);
        Span span = scoped;
        absl::Status s = OneSpan(e, p, &span);
        s = KeepOrSkip(std::move(s), std::move(span), p, options, out_, skipped, first_error);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    });
  }

  // One pass over the span's fields (a lookup per field would rescan the object each time).
  absl::Status OneSpan(element e, const Path& path, Span* span) {
    object o;
    if (e.get(o) != simdjson::SUCCESS) return PathError(path, "expected an object");
    bool has_trace_id = false, has_span_id = false;
    for (const simdjson::dom::key_value_pair field : o) {
      const std::string_view key = field.key;
      const element v = field.value;
      absl::Status s;
      uint64_t n = 0;
      if (key == "traceId" || key == "trace_id") {
        s = Id(v, Path(&path, "traceId"), span->trace_id.bytes.data(), 16);
        has_trace_id = true;
      } else if (key == "spanId" || key == "span_id") {
        s = Id(v, Path(&path, "spanId"), span->span_id.bytes.data(), 8);
        has_span_id = true;
      } else if (key == "parentSpanId" || key == "parent_span_id") {
        s = Id(v, Path(&path, "parentSpanId"), span->parent_span_id.bytes.data(), 8);
      } else if (key == "name") {
        s = String(v, Path(&path, "name"), &span->name);
      } else if (key == "kind") {
        s = Kind(v, Path(&path, "kind"), &span->kind);
      } else if (key == "startTimeUnixNano" || key == "start_time_unix_nano") {
        s = Uint(v, Path(&path, "startTimeUnixNano"), &span->start_time_unix_nano);
      } else if (key == "endTimeUnixNano" || key == "end_time_unix_nano") {
        s = Uint(v, Path(&path, "endTimeUnixNano"), &span->end_time_unix_nano);
      } else if (key == "attributes") {
        s = Attributes(v, Path(&path, "attributes"), &span->attributes);
      } else if (key == "traceState" || key == "trace_state") {
        s = String(v, Path(&path, "traceState"), &span->trace_state);
      } else if (key == "flags") {
        s = Uint(v, Path(&path, "flags"), &n);
        span->flags = static_cast<uint32_t>(n);
      } else if (key == "droppedAttributesCount" || key == "dropped_attributes_count") {
        s = Uint32(v, Path(&path, "droppedAttributesCount"), &span->dropped_attributes_count);
      } else if (key == "events") {
        s = Events(v, Path(&path, "events"), span);
      } else if (key == "droppedEventsCount" || key == "dropped_events_count") {
        s = Uint32(v, Path(&path, "droppedEventsCount"), &span->dropped_events_count);
      } else if (key == "links") {
        s = Links(v, Path(&path, "links"), span);
      } else if (key == "droppedLinksCount" || key == "dropped_links_count") {
        s = Uint32(v, Path(&path, "droppedLinksCount"), &span->dropped_links_count);
      } else if (key == "status") {
        object st;
        if (v.get(st) != simdjson::SUCCESS)
          return PathError(Path(&path, "status"), "expected an object");
        element c;
        if (Field(st, "code", "", &c))
          s = StatusCodeValue(c, Path(&path, "status.code"), &span->status_code);
        if (s.ok() && Field(st, "message", "", &c))
          s = String(c, Path(&path, "status.message"), &span->status_message);
      }  // unknown fields are ignored, as protobuf JSON parsers may
      if (!s.ok()) return s;
    }
    if (!has_trace_id) return PathError(path, "missing traceId");
    if (!has_span_id) return PathError(path, "missing spanId");
    if (!span->trace_id.IsValid()) {
      return PathError(Path(&path, "traceId"), "trace id is all zeros");
    }
    if (!span->span_id.IsValid()) return PathError(Path(&path, "spanId"), "span id is all zeros");
    return absl::OkStatus();
  }

  absl::Status Events(element v, const Path& path, Span* span) {
    return ForEachObject(v, path, [&](object o, const Path& p) {
      SpanEvent& ev = span->events.emplace_back();
      element f;
      absl::Status s;
      if (Field(o, "timeUnixNano", "time_unix_nano", &f))
        s = Uint(f, Path(&p, "timeUnixNano"), &ev.time_unix_nano);
      if (s.ok() && Field(o, "name", "", &f)) s = String(f, Path(&p, "name"), &ev.name);
      if (s.ok() && Field(o, "attributes", "", &f))
        s = Attributes(f, Path(&p, "attributes"), &ev.attributes);
      if (s.ok() && Field(o, "droppedAttributesCount", "dropped_attributes_count", &f)) {
        s = Uint32(f, Path(&p, "droppedAttributesCount"), &ev.dropped_attributes_count);
      }
      return s;
    });
  }

  absl::Status Links(element v, const Path& path, Span* span) {
    return ForEachObject(v, path, [&](object o, const Path& p) {
      SpanLink& l = span->links.emplace_back();
      element f;
      absl::Status s;
      if (Field(o, "traceId", "trace_id", &f))
        s = Id(f, Path(&p, "traceId"), l.trace_id.bytes.data(), 16);
      if (s.ok() && Field(o, "spanId", "span_id", &f))
        s = Id(f, Path(&p, "spanId"), l.span_id.bytes.data(), 8);
      if (s.ok() && Field(o, "traceState", "trace_state", &f))
        s = String(f, Path(&p, "traceState"), &l.trace_state);
      if (s.ok() && Field(o, "attributes", "", &f))
        s = Attributes(f, Path(&p, "attributes"), &l.attributes);
      if (s.ok() && Field(o, "droppedAttributesCount", "dropped_attributes_count", &f)) {
        s = Uint32(f, Path(&p, "droppedAttributesCount"), &l.dropped_attributes_count);
      }
      uint64_t flags = 0;
      if (s.ok() && Field(o, "flags", "", &f)) {
        s = Uint(f, Path(&p, "flags"), &flags);
        l.flags = static_cast<uint32_t>(flags);
      }
      return s;
    });
  }

  absl::Status Attributes(element v, const Path& path, spanstore::Attributes* out, int depth = 0) {
    array a;
    if (v.get(a) != simdjson::SUCCESS) return PathError(path, "expected an array of {key, value}");
    out->reserve(out->size() + a.size());
    size_t i = 0;
    for (element e : a) {
      const Path p(&path, i++);
      object o;
      if (e.get(o) != simdjson::SUCCESS) {
        return PathError(p, "expected {\"key\": ..., \"value\": ...}");
      }
      KeyValue& kv = out->emplace_back();
      bool has_key = false;
      for (const simdjson::dom::key_value_pair field : o) {
        absl::Status s;
        if (field.key == "key") {
          s = String(field.value, Path(&p, "key"), &kv.key);
          has_key = true;
        } else if (field.key == "value") {
          s = Value(field.value, Path(&p, "value"), &kv.value, depth);
        }
        if (!s.ok()) return s;
      }
      if (!has_key) return PathError(p, "missing \"key\"");
    }
    return absl::OkStatus();
  }

  absl::Status Value(element v, const Path& path, AnyValue* out, int depth) {
    if (depth > kMaxValueDepth) return PathError(path, "value nested too deeply");
    object o;
    if (v.get(o) != simdjson::SUCCESS) return PathError(path, "expected an AnyValue object");
    for (const simdjson::dom::key_value_pair field : o) {
      const std::string_view key = field.key;
      const element f = field.value;
      if (key == "stringValue" || key == "string_value") {
        std::string s;
        absl::Status st = String(f, Path(&path, "stringValue"), &s);
        *out = AnyValue::String(std::move(s));
        return st;
      }
      if (key == "boolValue" || key == "bool_value") {
        bool b;
        if (f.get(b) != simdjson::SUCCESS)
          return PathError(Path(&path, "boolValue"), "expected true or false");
        *out = AnyValue::Bool(b);
        return absl::OkStatus();
      }
      if (key == "intValue" || key == "int_value") {
        int64_t i = 0;
        absl::Status st = Int(f, Path(&path, "intValue"), &i);
        *out = AnyValue::Int(i);
        return st;
      }
      if (key == "doubleValue" || key == "double_value") {
        double d;
        std::string_view text;
        if (f.get(d) == simdjson::SUCCESS) {
          *out = AnyValue::Double(d);
        } else if (f.get(text) == simdjson::SUCCESS &&
                   (text == "NaN" || text == "Infinity" || text == "-Infinity")) {
          *out = AnyValue::Double(text == "NaN"        ? std::numeric_limits<double>::quiet_NaN()
                                  : text == "Infinity" ? std::numeric_limits<double>::infinity()
                                                       : -std::numeric_limits<double>::infinity());
        } else {
          return PathError(Path(&path, "doubleValue"),
                           "expected a number, \"NaN\" or \"Infinity\"");
        }
        return absl::OkStatus();
      }
      if (key == "bytesValue" || key == "bytes_value") {
        std::string_view text;
        std::string raw;
        if (f.get(text) != simdjson::SUCCESS ||
            !absl::Base64Unescape(absl::string_view(text.data(), text.size()), &raw)) {
          return PathError(Path(&path, "bytesValue"), "expected a base64 string");
        }
        *out = AnyValue::BytesValue(std::move(raw));
        return absl::OkStatus();
      }
      if (key == "arrayValue" || key == "array_value") {
        object ao;
        element values;
        AnyValue::Array items;
        if (f.get(ao) != simdjson::SUCCESS)
          return PathError(Path(&path, "arrayValue"), "expected an object");
        if (Field(ao, "values", "", &values)) {
          array va;
          if (values.get(va) != simdjson::SUCCESS)
            return PathError(Path(&path, "arrayValue.values"), "expected an array");
          size_t i = 0;
          for (element item : va) {
            const Path values_path(&path, "arrayValue.values");
            absl::Status st =
                Value(item, Path(&values_path, i++), &items.emplace_back(), depth + 1);
            if (!st.ok()) return st;
          }
        }
        *out = AnyValue::ArrayValue(std::move(items));
        return absl::OkStatus();
      }
      if (key == "kvlistValue" || key == "kvlist_value") {
        object ko;
        element values;
        AnyValue::Map map;
        if (f.get(ko) != simdjson::SUCCESS)
          return PathError(Path(&path, "kvlistValue"), "expected an object");
        if (Field(ko, "values", "", &values)) {
          absl::Status st = Attributes(values, Path(&path, "kvlistValue.values"), &map, depth + 1);
          if (!st.ok()) return st;
        }
        *out = AnyValue::MapValue(std::move(map));
        return absl::OkStatus();
      }
    }                   // an unknown key: look at the next one
    *out = AnyValue();  // {} is an empty value
    return absl::OkStatus();
  }

  static absl::Status String(element v, const Path& path, std::string* out) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return PathError(path, "expected a string");
    out->assign(s.data(), s.size());
    return absl::OkStatus();
  }

  // A 64-bit unsigned integer given as a number or as a decimal string.
  static absl::Status Uint(element v, const Path& path, uint64_t* out) {
    if (v.get(*out) == simdjson::SUCCESS) return absl::OkStatus();
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS && !s.empty() && s.size() <= 20) {
      uint64_t n = 0;
      bool ok = true;
      for (char c : s) {
        if (c < '0' || c > '9' || n > (UINT64_MAX - (c - '0')) / 10) {
          ok = false;
          break;
        }
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (ok) {
        *out = n;
        return absl::OkStatus();
      }
    }
    return PathError(path, "expected an unsigned integer (a number or a decimal string)");
  }

  static absl::Status Uint32(element v, const Path& path, uint32_t* out) {
    uint64_t n;
    absl::Status s = Uint(v, path, &n);
    if (s.ok() && n > UINT32_MAX) return PathError(path, "value does not fit in 32 bits");
    *out = static_cast<uint32_t>(n);
    return s;
  }

  static absl::Status Int(element v, const Path& path, int64_t* out) {
    if (v.get(*out) == simdjson::SUCCESS) return absl::OkStatus();
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS && !s.empty() && s.size() <= 20) {
      const bool negative = s[0] == '-';
      uint64_t n = 0;
      bool ok = s.size() > (negative ? 1u : 0u);
      for (size_t i = negative ? 1 : 0; ok && i < s.size(); ++i) {
        const char c = s[i];
        if (c < '0' || c > '9' || n > (UINT64_MAX - (c - '0')) / 10) ok = false;
        if (ok) n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (ok && n <= (negative ? 9223372036854775808ull : 9223372036854775807ull)) {
        *out = negative ? static_cast<int64_t>(0 - n) : static_cast<int64_t>(n);
        return absl::OkStatus();
      }
    }
    return PathError(path, "expected a 64-bit integer (a number or a decimal string)");
  }

  // Hex (either case) or base64 (the protobuf JSON mapping of `bytes`); "" is the zero id.
  static absl::Status Id(element v, const Path& path, uint8_t* out, size_t n) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return PathError(path, "expected a string");
    std::memset(out, 0, n);
    if (s.empty()) return absl::OkStatus();
    if (s.size() == 2 * n) {
      bool hex = true;
      for (size_t i = 0; i < s.size() && hex; ++i) {
        const char c = s[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0) {
          hex = false;
        } else {
          out[i / 2] |= static_cast<uint8_t>(i % 2 == 0 ? d << 4 : d);
        }
      }
      if (hex) return absl::OkStatus();
      std::memset(out, 0, n);
    }
    std::string raw;
    if (absl::Base64Unescape(absl::string_view(s.data(), s.size()), &raw) && raw.size() == n) {
      std::memcpy(out, raw.data(), n);
      return absl::OkStatus();
    }
    return PathError(
        path, absl::StrFormat(
                  "expected %d hex digits or base64 of %d bytes, got \"%s\"", 2 * n, n,
                  absl::CHexEscape(absl::string_view(s.data(), std::min<size_t>(s.size(), 64)))));
  }

  static absl::Status Kind(element v, const Path& path, SpanKind* out) {
    int64_t n;
    std::string_view s;
    if (v.get(n) == simdjson::SUCCESS && n >= 0 && n <= 5) {
      *out = static_cast<SpanKind>(n);
      return absl::OkStatus();
    }
    static constexpr std::pair<std::string_view, SpanKind> kNames[] = {
        {"SPAN_KIND_UNSPECIFIED", SpanKind::kUnspecified},
        {"SPAN_KIND_INTERNAL", SpanKind::kInternal},
        {"SPAN_KIND_SERVER", SpanKind::kServer},
        {"SPAN_KIND_CLIENT", SpanKind::kClient},
        {"SPAN_KIND_PRODUCER", SpanKind::kProducer},
        {"SPAN_KIND_CONSUMER", SpanKind::kConsumer}};
    if (v.get(s) == simdjson::SUCCESS) {
      for (const auto& [name, kind] : kNames) {
        if (s == name) {
          *out = kind;
          return absl::OkStatus();
        }
      }
    }
    return PathError(path, "expected a span kind: 0-5 or SPAN_KIND_SERVER, SPAN_KIND_CLIENT, ...");
  }

  static absl::Status StatusCodeValue(element v, const Path& path, StatusCode* out) {
    int64_t n;
    std::string_view s;
    if (v.get(n) == simdjson::SUCCESS && n >= 0 && n <= 2) {
      *out = static_cast<StatusCode>(n);
      return absl::OkStatus();
    }
    static constexpr std::pair<std::string_view, StatusCode> kNames[] = {
        {"STATUS_CODE_UNSET", StatusCode::kUnset},
        {"STATUS_CODE_OK", StatusCode::kOk},
        {"STATUS_CODE_ERROR", StatusCode::kError}};
    if (v.get(s) == simdjson::SUCCESS) {
      for (const auto& [name, code] : kNames) {
        if (s == name) {
          *out = code;
          return absl::OkStatus();
        }
      }
    }
    return PathError(path, "expected a status code: 0-2 or STATUS_CODE_OK, STATUS_CODE_ERROR, ...");
  }

  std::vector<Span>* out_;
};

}  // namespace

absl::Status OtlpJsonToSpans(simdjson::dom::element document, const JsonReadOptions& options,
                             std::vector<Span>* out, uint64_t* skipped_spans,
                             std::string* first_error) {
  Converter c(out);
  return c.Document(document, options, skipped_spans, first_error);
}

absl::Status OtlpJsonToSpans(simdjson::dom::element document, bool skip_invalid,
                             std::vector<Span>* out, uint64_t* skipped_spans,
                             std::string* first_error) {
  JsonReadOptions options;
  options.skip_invalid = skip_invalid;
  return OtlpJsonToSpans(document, options, out, skipped_spans, first_error);
}

}  // namespace spanstore
