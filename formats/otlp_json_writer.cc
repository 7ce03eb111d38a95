#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "formats/span_grouping.h"
#include "spanstore/formats.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        ++i;
        continue;
      case '\\':
        out->append("\\\\");
        ++i;
        continue;
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      absl::StrAppendFormat(out, "\\u%04x", c);
      ++i;
      continue;
    }
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not UTF-8
      ++i;
      continue;
    }
    out->append(s.data() + i, n);
    i += n;
  }
  out->push_back('"');
}

namespace {

void Value(const AnyValue& v, std::string* out);

void WriteAttributes(const spanstore::Attributes& attrs, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < attrs.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"key\":");
    AppendJsonString(attrs[i].key, out);
    out->append(",\"value\":");
    Value(attrs[i].value, out);
    out->push_back('}');
  }
  out->push_back(']');
}

void Value(const AnyValue& v, std::string* out) {
  switch (v.type()) {
    case AnyValue::Type::kEmpty:
      out->append("{}");
      break;
    case AnyValue::Type::kString:
      out->append("{\"stringValue\":");
      AppendJsonString(v.string_value(), out);
      out->push_back('}');
      break;
    case AnyValue::Type::kBool:
      out->append(v.bool_value() ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
      break;
    case AnyValue::Type::kInt:
      absl::StrAppend(out, "{\"intValue\":\"", v.int_value(), "\"}");
      break;
    case AnyValue::Type::kDouble: {
      const double d = v.double_value();
      if (std::isnan(d)) {
        out->append("{\"doubleValue\":\"NaN\"}");
      } else if (std::isinf(d)) {
        out->append(d > 0 ? "{\"doubleValue\":\"Infinity\"}" : "{\"doubleValue\":\"-Infinity\"}");
      } else {
        // Always spell a double as one ("-0.0", "3.0"), so a reader keeps it a double.
        std::string text = absl::StrFormat("%.17g", d);
        if (text.find_first_of(".eE") == std::string::npos) text += ".0";
        absl::StrAppend(out, "{\"doubleValue\":", text, "}");
      }
      break;
    }
    case AnyValue::Type::kBytes:
      absl::StrAppend(out, "{\"bytesValue\":\"", absl::Base64Escape(AsAbsl(v.bytes_value())), "\"}");
      break;
    case AnyValue::Type::kArray:
      out->append("{\"arrayValue\":{\"values\":[");
      for (size_t i = 0; i < v.array_value().size(); ++i) {
        if (i > 0) out->push_back(',');
        Value(v.array_value()[i], out);
      }
      out->append("]}}");
      break;
    case AnyValue::Type::kMap:
      out->append("{\"kvlistValue\":{\"values\":");
      WriteAttributes(v.map_value(), out);
      out->append("}}");
      break;
  }
}

void WriteSpan(const Span& s, std::string* out) {
  absl::StrAppend(out, "{\"traceId\":\"", s.trace_id.ToHex(), "\",\"spanId\":\"", s.span_id.ToHex(),
                  "\"");
  if (!s.is_root()) absl::StrAppend(out, ",\"parentSpanId\":\"", s.parent_span_id.ToHex(), "\"");
  if (!s.trace_state.empty()) {
    out->append(",\"traceState\":");
    AppendJsonString(s.trace_state, out);
  }
  if (s.flags != 0) absl::StrAppend(out, ",\"flags\":", s.flags);
  out->append(",\"name\":");
  AppendJsonString(s.name, out);
  absl::StrAppend(out, ",\"kind\":", static_cast<int>(s.kind), ",\"startTimeUnixNano\":\"",
                  s.start_time_unix_nano, "\",\"endTimeUnixNano\":\"", s.end_time_unix_nano,
                  "\",\"attributes\":");
  WriteAttributes(s.attributes, out);
  if (s.dropped_attributes_count) {
    absl::StrAppend(out, ",\"droppedAttributesCount\":", s.dropped_attributes_count);
  }
  if (!s.events.empty()) {
    out->append(",\"events\":[");
    for (size_t i = 0; i < s.events.size(); ++i) {
      const SpanEvent& e = s.events[i];
      if (i > 0) out->push_back(',');
      absl::StrAppend(out, "{\"timeUnixNano\":\"", e.time_unix_nano, "\",\"name\":");
      AppendJsonString(e.name, out);
      out->append(",\"attributes\":");
      WriteAttributes(e.attributes, out);
      if (e.dropped_attributes_count) {
        absl::StrAppend(out, ",\"droppedAttributesCount\":", e.dropped_attributes_count);
      }
      out->push_back('}');
    }
    out->push_back(']');
  }
  if (s.dropped_events_count) absl::StrAppend(out, ",\"droppedEventsCount\":", s.dropped_events_count);
  if (!s.links.empty()) {
    out->append(",\"links\":[");
    for (size_t i = 0; i < s.links.size(); ++i) {
      const SpanLink& l = s.links[i];
      if (i > 0) out->push_back(',');
      absl::StrAppend(out, "{\"traceId\":\"", l.trace_id.ToHex(), "\",\"spanId\":\"",
                      l.span_id.ToHex(), "\"");
      if (!l.trace_state.empty()) {
        out->append(",\"traceState\":");
        AppendJsonString(l.trace_state, out);
      }
      out->append(",\"attributes\":");
      WriteAttributes(l.attributes, out);
      if (l.dropped_attributes_count) {
        absl::StrAppend(out, ",\"droppedAttributesCount\":", l.dropped_attributes_count);
      }
      if (l.flags) absl::StrAppend(out, ",\"flags\":", l.flags);
      out->push_back('}');
    }
    out->push_back(']');
  }
  if (s.dropped_links_count) absl::StrAppend(out, ",\"droppedLinksCount\":", s.dropped_links_count);
  absl::StrAppend(out, ",\"status\":{\"code\":", static_cast<int>(s.status_code));
  if (!s.status_message.empty()) {
    out->append(",\"message\":");
    AppendJsonString(s.status_message, out);
  }
  out->append("}}");
}

}  // namespace

void AppendOtlpJsonValue(const AnyValue& value, std::string* out) { Value(value, out); }

void WriteOtlpJson(absl::Span<const Span> spans, std::string* out) {
  const ResourceScopeGroups groups = GroupByResourceAndScope(spans);
  out->append("{\"resourceSpans\":[");
  for (size_t r = 0; r < groups.size(); ++r) {
    if (r > 0) out->push_back(',');
    const Span& first = *groups[r][0][0];
    out->append("{\"resource\":{\"attributes\":");
    WriteAttributes(first.resource_attributes, out);
    out->append("}");
    if (!first.resource_schema_url.empty()) {
      out->append(",\"schemaUrl\":");
      AppendJsonString(first.resource_schema_url, out);
    }
    out->append(",\"scopeSpans\":[");
    for (size_t k = 0; k < groups[r].size(); ++k) {
      if (k > 0) out->push_back(',');
      const Span& scope = *groups[r][k][0];
      out->append("{\"scope\":{\"name\":");
      AppendJsonString(scope.scope_name, out);
      out->append(",\"version\":");
      AppendJsonString(scope.scope_version, out);
      if (!scope.scope_attributes.empty()) {
        out->append(",\"attributes\":");
        WriteAttributes(scope.scope_attributes, out);
      }
      out->append("}");
      if (!scope.scope_schema_url.empty()) {
        out->append(",\"schemaUrl\":");
        AppendJsonString(scope.scope_schema_url, out);
      }
      out->append(",\"spans\":[");
      for (size_t i = 0; i < groups[r][k].size(); ++i) {
        if (i > 0) out->push_back(',');
        WriteSpan(*groups[r][k][i], out);
      }
      out->append("]}");
    }
    out->append("]}");
  }
  out->append("]}");
}

}  // namespace spanstore
