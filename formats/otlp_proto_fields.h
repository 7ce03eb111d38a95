// The protobuf wire types and the OTLP field numbers that the encoder (otlp_proto.cc) and the
// decoder (otlp_proto_decoder.cc) use, named once. The numbers are those of
// opentelemetry-proto's opentelemetry/proto/{collector/trace,trace,resource,common}/v1/*.proto;
// docs/formats.md lists them too.
//
// Thread safety: constants.

#ifndef SPANSTORE_FORMATS_OTLP_PROTO_FIELDS_H_
#define SPANSTORE_FORMATS_OTLP_PROTO_FIELDS_H_

#include <cstdint>

namespace spanstore::otlp {

// The wire types OTLP uses (groups, 3 and 4, are not accepted).
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

// A field's tag: (field number << 3) | wire type, written as a varint.
constexpr uint64_t Tag(uint32_t field, WireType wire) {
  return (static_cast<uint64_t>(field) << 3) | wire;
}

// ExportTraceServiceRequest (collector/trace/v1) and TracesData (trace/v1): the same layout.
namespace request {
inline constexpr uint32_t kResourceSpans = 1;  // repeated ResourceSpans
}  // namespace request

namespace resource_spans {
inline constexpr uint32_t kResource = 1;    // Resource
inline constexpr uint32_t kScopeSpans = 2;  // repeated ScopeSpans
inline constexpr uint32_t kSchemaUrl = 3;   // string
// repeated InstrumentationLibrarySpans: the pre-1.0 name of scope_spans, with the same layout
// (deleted from the .proto, now `reserved 1000`); still read, never written.
inline constexpr uint32_t kInstrumentationLibrarySpans = 1000;
}  // namespace resource_spans

namespace resource {
inline constexpr uint32_t kAttributes = 1;  // repeated KeyValue
}  // namespace resource

namespace scope_spans {
inline constexpr uint32_t kScope = 1;      // InstrumentationScope
inline constexpr uint32_t kSpans = 2;      // repeated Span
inline constexpr uint32_t kSchemaUrl = 3;  // string
}  // namespace scope_spans

// InstrumentationScope (common/v1).
namespace scope {
inline constexpr uint32_t kName = 1;        // string
inline constexpr uint32_t kVersion = 2;     // string
inline constexpr uint32_t kAttributes = 3;  // repeated KeyValue
}  // namespace scope

namespace span {
inline constexpr uint32_t kTraceId = 1;                  // bytes, 16
inline constexpr uint32_t kSpanId = 2;                   // bytes, 8
inline constexpr uint32_t kTraceState = 3;               // string
inline constexpr uint32_t kParentSpanId = 4;             // bytes, 8; empty for a root
inline constexpr uint32_t kName = 5;                     // string
inline constexpr uint32_t kKind = 6;                     // enum SpanKind, 0-5
inline constexpr uint32_t kStartTimeUnixNano = 7;        // fixed64
inline constexpr uint32_t kEndTimeUnixNano = 8;          // fixed64
inline constexpr uint32_t kAttributes = 9;               // repeated KeyValue
inline constexpr uint32_t kDroppedAttributesCount = 10;  // uint32
inline constexpr uint32_t kEvents = 11;                  // repeated Span.Event
inline constexpr uint32_t kDroppedEventsCount = 12;      // uint32
inline constexpr uint32_t kLinks = 13;                   // repeated Span.Link
inline constexpr uint32_t kDroppedLinksCount = 14;       // uint32
inline constexpr uint32_t kStatus = 15;                  // Status
inline constexpr uint32_t kFlags = 16;                   // fixed32
}  // namespace span

// Span.Event.
namespace event {
inline constexpr uint32_t kTimeUnixNano = 1;            // fixed64
inline constexpr uint32_t kName = 2;                    // string
inline constexpr uint32_t kAttributes = 3;              // repeated KeyValue
inline constexpr uint32_t kDroppedAttributesCount = 4;  // uint32
}  // namespace event

// Span.Link.
namespace link {
inline constexpr uint32_t kTraceId = 1;                 // bytes, 16
inline constexpr uint32_t kSpanId = 2;                  // bytes, 8
inline constexpr uint32_t kTraceState = 3;              // string
inline constexpr uint32_t kAttributes = 4;              // repeated KeyValue
inline constexpr uint32_t kDroppedAttributesCount = 5;  // uint32
inline constexpr uint32_t kFlags = 6;                   // fixed32
}  // namespace link

// Status (field 1 is reserved).
namespace status {
inline constexpr uint32_t kMessage = 2;  // string
inline constexpr uint32_t kCode = 3;     // enum StatusCode, 0-2
}  // namespace status

// KeyValue (common/v1).
namespace key_value {
inline constexpr uint32_t kKey = 1;    // string
inline constexpr uint32_t kValue = 2;  // AnyValue
}  // namespace key_value

// AnyValue (common/v1): a oneof; a message with none of these is the empty value.
namespace any_value {
inline constexpr uint32_t kStringValue = 1;  // string
inline constexpr uint32_t kBoolValue = 2;    // bool
inline constexpr uint32_t kIntValue = 3;     // int64
inline constexpr uint32_t kDoubleValue = 4;  // double (fixed64)
inline constexpr uint32_t kArrayValue = 5;   // ArrayValue
inline constexpr uint32_t kKvlistValue = 6;  // KeyValueList
inline constexpr uint32_t kBytesValue = 7;   // bytes
}  // namespace any_value

// ArrayValue and KeyValueList (common/v1): one repeated field each.
namespace array_value {
inline constexpr uint32_t kValues = 1;  // repeated AnyValue
}  // namespace array_value
namespace kvlist_value {
inline constexpr uint32_t kValues = 1;  // repeated KeyValue
}  // namespace kvlist_value

}  // namespace spanstore::otlp

#endif  // SPANSTORE_FORMATS_OTLP_PROTO_FIELDS_H_
