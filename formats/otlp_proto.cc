// OTLP protobuf encoding (opentelemetry/proto/collector/trace/v1 and the trace, resource and
// common v1 messages), and the Collector's length-prefixed file format. Decoding is in
// otlp_proto_decoder.cc. Field numbers are the .proto files'; docs/formats.md lists them.

#include "spanstore/otlp_proto.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "util/coding.h"
#include "formats/span_grouping.h"

namespace spanstore {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

void PutTag(std::string* out, uint32_t field, WireType wire) {
  PutVarint64(out, (static_cast<uint64_t>(field) << 3) | wire);
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
    PutBytesField(out, 1, kv.key);
    PutMessage(out, 2, [&] { PutValue(out, kv.value); });
  });
}

void PutValue(std::string* out, const AnyValue& v) {
  switch (v.type()) {
    case AnyValue::Type::kEmpty:
      break;
    case AnyValue::Type::kString:
      PutBytesField(out, 1, v.string_value());
      break;
    case AnyValue::Type::kBool:
      PutTag(out, 2, kVarint);
      PutVarint64(out, v.bool_value());
      break;
    case AnyValue::Type::kInt:
      PutTag(out, 3, kVarint);
      PutVarint64(out, static_cast<uint64_t>(v.int_value()));
      break;
    case AnyValue::Type::kDouble: {
      uint64_t bits;
      const double d = v.double_value();
      std::memcpy(&bits, &d, 8);
      PutTag(out, 4, kFixed64);
      PutFixed64(out, bits);
      break;
    }
    case AnyValue::Type::kArray:
      PutMessage(out, 5, [&] {
        for (const AnyValue& e : v.array_value()) PutMessage(out, 1, [&] { PutValue(out, e); });
      });
      break;
    case AnyValue::Type::kMap:
      PutMessage(out, 6, [&] {
        for (const KeyValue& kv : v.map_value()) PutKeyValue(out, 1, kv);
      });
      break;
    case AnyValue::Type::kBytes:
      PutBytesField(out, 7, v.bytes_value());
      break;
  }
}

void PutUint(std::string* out, uint32_t field, uint64_t v) {
  if (v == 0) return;
  PutTag(out, field, kVarint);
  PutVarint64(out, v);
}

void PutSpan(std::string* out, const Span& s) {
  PutBytesField(out, 1, std::string_view(reinterpret_cast<const char*>(s.trace_id.bytes.data()), 16));
  PutBytesField(out, 2, std::string_view(reinterpret_cast<const char*>(s.span_id.bytes.data()), 8));
  if (!s.trace_state.empty()) PutBytesField(out, 3, s.trace_state);
  if (!s.is_root()) {
    PutBytesField(out, 4, std::string_view(reinterpret_cast<const char*>(s.parent_span_id.bytes.data()), 8));
  }
  PutBytesField(out, 5, s.name);
  PutUint(out, 6, static_cast<uint64_t>(s.kind));
  PutTag(out, 7, kFixed64);
  PutFixed64(out, s.start_time_unix_nano);
  PutTag(out, 8, kFixed64);
  PutFixed64(out, s.end_time_unix_nano);
  for (const KeyValue& kv : s.attributes) PutKeyValue(out, 9, kv);
  PutUint(out, 10, s.dropped_attributes_count);
  for (const SpanEvent& e : s.events) {
    PutMessage(out, 11, [&] {
      PutTag(out, 1, kFixed64);
      PutFixed64(out, e.time_unix_nano);
      PutBytesField(out, 2, e.name);
      for (const KeyValue& kv : e.attributes) PutKeyValue(out, 3, kv);
      PutUint(out, 4, e.dropped_attributes_count);
    });
  }
  PutUint(out, 12, s.dropped_events_count);
  for (const SpanLink& l : s.links) {
    PutMessage(out, 13, [&] {
      PutBytesField(out, 1, std::string_view(reinterpret_cast<const char*>(l.trace_id.bytes.data()), 16));
      PutBytesField(out, 2, std::string_view(reinterpret_cast<const char*>(l.span_id.bytes.data()), 8));
      if (!l.trace_state.empty()) PutBytesField(out, 3, l.trace_state);
      for (const KeyValue& kv : l.attributes) PutKeyValue(out, 4, kv);
      PutUint(out, 5, l.dropped_attributes_count);
      if (l.flags != 0) {
        PutTag(out, 6, kFixed32);
        PutFixed32(out, l.flags);
      }
    });
  }
  PutUint(out, 14, s.dropped_links_count);
  if (s.status_code != StatusCode::kUnset || !s.status_message.empty()) {
    PutMessage(out, 15, [&] {
      if (!s.status_message.empty()) PutBytesField(out, 2, s.status_message);
      PutUint(out, 3, static_cast<uint64_t>(s.status_code));
    });
  }
  if (s.flags != 0) {
    PutTag(out, 16, kFixed32);
    PutFixed32(out, s.flags);
  }
}

}  // namespace

void EncodeOtlpTraces(absl::Span<const Span> spans, std::string* out) {
  const ResourceScopeGroups groups = GroupByResourceAndScope(spans);
  for (const auto& resource : groups) {
    const Span& first = *resource[0][0];
    PutMessage(out, 1, [&] {
      PutMessage(out, 1, [&] {
        for (const KeyValue& kv : first.resource_attributes) PutKeyValue(out, 1, kv);
      });
      for (const auto& scope : resource) {
        const Span& sc = *scope[0];
        PutMessage(out, 2, [&] {
          PutMessage(out, 1, [&] {
            PutBytesField(out, 1, sc.scope_name);
            PutBytesField(out, 2, sc.scope_version);
            for (const KeyValue& kv : sc.scope_attributes) PutKeyValue(out, 3, kv);
          });
          for (const Span* s : scope) PutMessage(out, 2, [&] { PutSpan(out, *s); });
          if (!sc.scope_schema_url.empty()) PutBytesField(out, 3, sc.scope_schema_url);
        });
      }
      if (!first.resource_schema_url.empty()) PutBytesField(out, 3, first.resource_schema_url);
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
