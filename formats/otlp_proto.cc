// OTLP protobuf encoding (opentelemetry/proto/collector/trace/v1 and the trace, resource and
// common v1 messages), and the Collector's length-prefixed file format. Decoding is in
// otlp_proto_decoder.cc; the field numbers are named in otlp_proto_fields.h.

#include "spanstore/otlp_proto.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "formats/otlp_proto_fields.h"
#include "formats/span_grouping.h"
#include "util/coding.h"

namespace spanstore {
namespace {

using otlp::kFixed32;
using otlp::kFixed64;
using otlp::kLength;
using otlp::kVarint;
using otlp::WireType;

void PutTag(std::string* out, uint32_t field, WireType wire) {
  PutVarint64(out, otlp::Tag(field, wire));
}

// Writes a length-delimited field whose body `fill` appends; the length is patched afterwards
// (5 bytes reserved, the unused ones removed), so nested messages are written in one pass.
template <typename Fill>
void PutMessage(std::string* out, uint32_t field, Fill fill) {
  PutTag(out, field, kLength);
  const size_t at = out->size();
  out->append(5, '\0');
  fill();
  const uint64_t len = out->size() - at - 5;
  char buf[10];
  const size_t n = EncodeVarint64(buf, len) - buf;
  out->replace(at, 5, buf, n);
}

void PutBytesField(std::string* out, uint32_t field, std::string_view v) {
  PutTag(out, field, kLength);
  PutLengthPrefixed(out, v);
}

void PutValue(std::string* out, const AnyValue& v);

void PutKeyValue(std::string* out, uint32_t field, const KeyValue& kv) {
  PutMessage(out, field, [&] {
    PutBytesField(out, otlp::key_value::kKey, kv.key);
    PutMessage(out, otlp::key_value::kValue, [&] { PutValue(out, kv.value); });
  });
}

void PutValue(std::string* out, const AnyValue& v) {
  switch (v.type()) {
    case AnyValue::Type::kEmpty:
      break;
    case AnyValue::Type::kString:
      PutBytesField(out, otlp::any_value::kStringValue, v.string_value());
      break;
    case AnyValue::Type::kBool:
      PutTag(out, otlp::any_value::kBoolValue, kVarint);
      PutVarint64(out, v.bool_value());
      break;
    case AnyValue::Type::kInt:
      PutTag(out, otlp::any_value::kIntValue, kVarint);
      PutVarint64(out, static_cast<uint64_t>(v.int_value()));
      break;
    case AnyValue::Type::kDouble: {
      uint64_t bits;
      const double d = v.double_value();
      std::memcpy(&bits, &d, 8);
      PutTag(out, otlp::any_value::kDoubleValue, kFixed64);
      PutFixed64(out, bits);
      break;
    }
    case AnyValue::Type::kArray:
      PutMessage(out, otlp::any_value::kArrayValue, [&] {
        for (const AnyValue& e : v.array_value()) {
          PutMessage(out, otlp::array_value::kValues, [&] { PutValue(out, e); });
        }
      });
      break;
    case AnyValue::Type::kMap:
      PutMessage(out, otlp::any_value::kKvlistValue, [&] {
        for (const KeyValue& kv : v.map_value()) PutKeyValue(out, otlp::kvlist_value::kValues, kv);
      });
      break;
    case AnyValue::Type::kBytes:
      PutBytesField(out, otlp::any_value::kBytesValue, v.bytes_value());
      break;
  }
}

void PutUint(std::string* out, uint32_t field, uint64_t v) {
  if (v == 0) return;
  PutTag(out, field, kVarint);
  PutVarint64(out, v);
}

std::string_view IdBytes(const uint8_t* id, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(id), n);
}

void PutSpan(std::string* out, const Span& s) {
  namespace f = otlp::span;
  PutBytesField(out, f::kTraceId, IdBytes(s.trace_id.bytes.data(), 16));
  PutBytesField(out, f::kSpanId, IdBytes(s.span_id.bytes.data(), 8));
  if (!s.trace_state.empty()) PutBytesField(out, f::kTraceState, s.trace_state);
  if (!s.is_root()) PutBytesField(out, f::kParentSpanId, IdBytes(s.parent_span_id.bytes.data(), 8));
  PutBytesField(out, f::kName, s.name);
  PutUint(out, f::kKind, static_cast<uint64_t>(s.kind));
  PutTag(out, f::kStartTimeUnixNano, kFixed64);
  PutFixed64(out, s.start_time_unix_nano);
  PutTag(out, f::kEndTimeUnixNano, kFixed64);
  PutFixed64(out, s.end_time_unix_nano);
  for (const KeyValue& kv : s.attributes) PutKeyValue(out, f::kAttributes, kv);
  PutUint(out, f::kDroppedAttributesCount, s.dropped_attributes_count);
  for (const SpanEvent& e : s.events) {
    PutMessage(out, f::kEvents, [&] {
      namespace ef = otlp::event;
      PutTag(out, ef::kTimeUnixNano, kFixed64);
      PutFixed64(out, e.time_unix_nano);
      PutBytesField(out, ef::kName, e.name);
      for (const KeyValue& kv : e.attributes) PutKeyValue(out, ef::kAttributes, kv);
      PutUint(out, ef::kDroppedAttributesCount, e.dropped_attributes_count);
    });
  }
  PutUint(out, f::kDroppedEventsCount, s.dropped_events_count);
  for (const SpanLink& l : s.links) {
    PutMessage(out, f::kLinks, [&] {
      namespace lf = otlp::link;
      PutBytesField(out, lf::kTraceId, IdBytes(l.trace_id.bytes.data(), 16));
      PutBytesField(out, lf::kSpanId, IdBytes(l.span_id.bytes.data(), 8));
      if (!l.trace_state.empty()) PutBytesField(out, lf::kTraceState, l.trace_state);
      for (const KeyValue& kv : l.attributes) PutKeyValue(out, lf::kAttributes, kv);
      PutUint(out, lf::kDroppedAttributesCount, l.dropped_attributes_count);
      if (l.flags != 0) {
        PutTag(out, lf::kFlags, kFixed32);
        PutFixed32(out, l.flags);
      }
    });
  }
  PutUint(out, f::kDroppedLinksCount, s.dropped_links_count);
  if (s.status_code != StatusCode::kUnset || !s.status_message.empty()) {
    PutMessage(out, f::kStatus, [&] {
      if (!s.status_message.empty()) PutBytesField(out, otlp::status::kMessage, s.status_message);
      PutUint(out, otlp::status::kCode, static_cast<uint64_t>(s.status_code));
    });
  }
  if (s.flags != 0) {
    PutTag(out, f::kFlags, kFixed32);
    PutFixed32(out, s.flags);
  }
}

}  // namespace

void EncodeOtlpTraces(absl::Span<const Span> spans, std::string* out) {
  const ResourceScopeGroups groups = GroupByResourceAndScope(spans);
  for (const auto& resource : groups) {
    const Span& first = *resource[0][0];
    PutMessage(out, otlp::request::kResourceSpans, [&] {
      PutMessage(out, otlp::resource_spans::kResource, [&] {
        for (const KeyValue& kv : first.resource_attributes) {
          PutKeyValue(out, otlp::resource::kAttributes, kv);
        }
      });
      for (const auto& scope : resource) {
        const Span& sc = *scope[0];
        PutMessage(out, otlp::resource_spans::kScopeSpans, [&] {
          PutMessage(out, otlp::scope_spans::kScope, [&] {
            PutBytesField(out, otlp::scope::kName, sc.scope_name);
            PutBytesField(out, otlp::scope::kVersion, sc.scope_version);
            for (const KeyValue& kv : sc.scope_attributes) {
              PutKeyValue(out, otlp::scope::kAttributes, kv);
            }
          });
          for (const Span* s : scope) {
            PutMessage(out, otlp::scope_spans::kSpans, [&] { PutSpan(out, *s); });
          }
          if (!sc.scope_schema_url.empty()) {
            PutBytesField(out, otlp::scope_spans::kSchemaUrl, sc.scope_schema_url);
          }
        });
      }
      if (!first.resource_schema_url.empty()) {
        PutBytesField(out, otlp::resource_spans::kSchemaUrl, first.resource_schema_url);
      }
    });
  }
}

absl::Status ForEachLengthPrefixedMessage(
    std::string_view data,
    const std::function<absl::Status(std::string_view message, size_t offset)>& on_message) {
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "byte offset %d: %d trailing bytes, too few for a 4-byte length prefix", pos,
          data.size() - pos));
    }
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + pos);
    const uint64_t len = (uint64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (len > data.size() - pos - 4) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "byte offset %d: message length %d runs past the end of the input (%d bytes left)",
          pos, len, data.size() - pos - 4));
    }
    absl::Status s = on_message(data.substr(pos + 4, len), pos + 4);
    if (!s.ok()) return s;
    pos += 4 + len;
  }
  return absl::OkStatus();
}

}  // namespace spanstore
