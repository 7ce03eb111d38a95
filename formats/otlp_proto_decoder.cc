// OTLP protobuf decoding (opentelemetry/proto/collector/trace/v1 and the trace, resource and
// common v1 messages): OtlpProtoDecoder, and DecodeOtlpTraces on top of it. One function per
// message; the wire reading is ProtoReader's (proto_reader.h), the field numbers are named in
// otlp_proto_fields.h.
//
// Every span is decoded into an object that may hold a previous span: each field is overwritten,
// or reset when the message lacks it, and nested vectors (attributes, events, links, array and map
// values) are refilled element by element and then cut to length (refill.h), so strings and
// vectors keep their buffers. The resource and scope are decoded once per
// ResourceSpans/ScopeSpans and copied into each span by assignment, which also reuses the
// buffers.
//
// Parsing functions return false on bad input after recording the error (with its byte offset
// in the whole message) in ProtoReader::error; a Status is built once, at the top.

#include <cstring>

#include "absl/strings/str_format.h"
#include "formats/otlp_proto_fields.h"
#include "formats/proto_reader.h"
#include "formats/refill.h"
#include "spanstore/otlp_proto.h"

namespace spanstore {

using otlp::Assign;
using otlp::AssignString;
using otlp::CopyAttributes;
using otlp::Cursor;
using otlp::kFixed32;
using otlp::kFixed64;
using otlp::kLength;
using otlp::kVarint;
using otlp::NextSlot;
using otlp::Truncate;

namespace {
constexpr int kMaxDepth = 32;
}  // namespace

struct OtlpProtoDecoder::State : otlp::ProtoReader {
  bool accept_zero_ids = false;  // see OtlpProtoDecoder::set_accept_zero_ids

  // The resource and scope of the spans being decoded, copied into each span. The attribute
  // vectors are refilled like a span's, but never cut: only their first *_count are current.
  struct Context {
    std::string service_name;
    Attributes resource_attributes;
    size_t resource_count = 0;
    std::string resource_schema_url;
    std::string scope_name;
    std::string scope_version;
    Attributes scope_attributes;
    size_t scope_count = 0;
    std::string scope_schema_url;
  } context;

  bool Value(std::string_view data, int depth, AnyValue* out);
  bool KeyValue1(std::string_view data, int depth, KeyValue* kv);
  bool Attribute(Cursor* c, uint32_t wire, Attributes* attributes, size_t* n);
  bool Event(std::string_view data, SpanEvent* e);
  bool Link(std::string_view data, SpanLink* l);
  bool Status(std::string_view data, Span* span);
  bool DecodeSpan(std::string_view data, Span* span);
  void CopyResource(Span* span) const;
  void CopyScope(Span* span) const;
  bool Scope(std::string_view data);
  bool ScopeSpans(std::string_view data, std::vector<Span>* out, size_t* count);
  bool ResourceSpans(std::string_view data, std::vector<Span>* out, size_t* count);
  bool Request(std::string_view data, std::vector<Span>* out, size_t* count);
};

// AnyValue: a oneof; a message with none of its fields is the empty value.
bool OtlpProtoDecoder::State::Value(std::string_view data, int depth, AnyValue* out) {
  if (depth > kMaxDepth) return Fail(data.data(), "value nested too deeply");
  Cursor c(data);
  bool set = false;
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    std::string_view v;
    uint64_t n = 0;
    switch (field) {
      case otlp::any_value::kStringValue:
        if (!Message(&c, wire, "string_value", &v)) return false;
        AssignString(out, v);
        break;
      case otlp::any_value::kBoolValue:
        if (!Expect(c, wire, kVarint, "bool_value") || !Varint(&c, &n)) return false;
        out->set_bool(n != 0);
        break;
      case otlp::any_value::kIntValue:
        if (!Expect(c, wire, kVarint, "int_value") || !Varint(&c, &n)) return false;
        out->set_int(static_cast<int64_t>(n));
        break;
      case otlp::any_value::kDoubleValue: {
        if (!Expect(c, wire, kFixed64, "double_value") || !Fixed64(&c, &n)) return false;
        double d;
        std::memcpy(&d, &n, 8);
        out->set_double(d);
        break;
      }
      case otlp::any_value::kArrayValue: {
        if (!Message(&c, wire, "array_value", &v)) return false;
        AnyValue::Array& items = out->reuse_array();
        size_t count = 0;
        if (!ForEachMessage(v, otlp::array_value::kValues, "values", [&](std::string_view item) {
              return Value(item, depth + 1, &NextSlot(&items, &count));
            })) {
          return false;
        }
        Truncate(&items, count);
        break;
      }
      case otlp::any_value::kKvlistValue: {
        if (!Message(&c, wire, "kvlist_value", &v)) return false;
        AnyValue::Map& map = out->reuse_map();
        size_t count = 0;
        if (!ForEachMessage(v, otlp::kvlist_value::kValues, "values", [&](std::string_view item) {
              return KeyValue1(item, depth + 1, &NextSlot(&map, &count));
            })) {
          return false;
        }
        Truncate(&map, count);
        break;
      }
      case otlp::any_value::kBytesValue:
        if (!Message(&c, wire, "bytes_value", &v)) return false;
        out->set_bytes(v);
        break;
      default:
        if (!Skip(&c, wire)) return false;
        continue;
    }
    set = true;
  }
  if (!set) out->set_empty();
  return true;
}

// KeyValue { key = 1; value = 2 }.
bool OtlpProtoDecoder::State::KeyValue1(std::string_view data, int depth, KeyValue* kv) {
  // Most attributes are strings, encoded as key, then a value holding only string_value, with
  // lengths under 128: read those bytes directly. Anything else, or anything that does not add
  // up exactly, takes the general path below.
  constexpr uint8_t kKeyTag = otlp::Tag(otlp::key_value::kKey, kLength);
  constexpr uint8_t kValueTag = otlp::Tag(otlp::key_value::kValue, kLength);
  constexpr uint8_t kStringTag = otlp::Tag(otlp::any_value::kStringValue, kLength);
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t size = data.size();
  if (size >= 6 && p[0] == kKeyTag && p[1] < 0x80 && depth <= kMaxDepth) {
    const size_t key = p[1];
    const uint8_t* value = p + 2 + key;  // the value field's tag
    if (key + 6 <= size && value[0] == kValueTag && value[1] < 0x80 && key + 4 + value[1] == size &&
        value[2] == kStringTag && value[3] < 0x80 && value[3] + 2 == value[1]) {
      Assign(&kv->key, std::string_view(data.data() + 2, key));
      AssignString(&kv->value,
                   std::string_view(reinterpret_cast<const char*>(value + 4), value[3]));
      return true;
    }
  }
  Cursor c(data);
  bool has_key = false, has_value = false;
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    if (field == otlp::key_value::kKey) {
      if (!String(&c, wire, "key", &kv->key)) return false;
      has_key = true;
    } else if (field == otlp::key_value::kValue) {
      std::string_view v;
      if (!Message(&c, wire, "value", &v) || !Value(v, depth, &kv->value)) return false;
      has_value = true;
    } else if (!Skip(&c, wire)) {
      return false;
    }
  }
  if (!has_key) kv->key.clear();
  if (!has_value) kv->value.set_empty();
  return true;
}

// One occurrence of a `repeated KeyValue attributes` field, refilling (*attributes)[(*n)++].
bool OtlpProtoDecoder::State::Attribute(Cursor* c, uint32_t wire, Attributes* attributes,
                                        size_t* n) {
  std::string_view v;
  return Message(c, wire, "attributes", &v) && KeyValue1(v, 0, &NextSlot(attributes, n));
}

// Span.Event.
bool OtlpProtoDecoder::State::Event(std::string_view data, SpanEvent* e) {
  e->time_unix_nano = 0;
  e->name.clear();
  e->dropped_attributes_count = 0;
  size_t attributes = 0;
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    bool ok;
    if (field == otlp::event::kTimeUnixNano) {
      ok = Expect(c, wire, kFixed64, "time_unix_nano") && Fixed64(&c, &e->time_unix_nano);
    } else if (field == otlp::event::kName) {
      ok = String(&c, wire, "name", &e->name);
    } else if (field == otlp::event::kAttributes) {
      ok = Attribute(&c, wire, &e->attributes, &attributes);
    } else if (field == otlp::event::kDroppedAttributesCount) {
      ok = Uint32(&c, wire, "dropped_attributes_count", &e->dropped_attributes_count);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  Truncate(&e->attributes, attributes);
  return true;
}

// Span.Link.
bool OtlpProtoDecoder::State::Link(std::string_view data, SpanLink* l) {
  l->trace_id = TraceId();
  l->span_id = SpanId();
  l->trace_state.clear();
  l->dropped_attributes_count = 0;
  l->flags = 0;
  size_t attributes = 0;
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    bool ok;
    if (field == otlp::link::kTraceId) {
      ok = Id(&c, wire, "link trace_id", &l->trace_id.bytes);
    } else if (field == otlp::link::kSpanId) {
      ok = Id(&c, wire, "link span_id", &l->span_id.bytes);
    } else if (field == otlp::link::kTraceState) {
      ok = String(&c, wire, "trace_state", &l->trace_state);
    } else if (field == otlp::link::kAttributes) {
      ok = Attribute(&c, wire, &l->attributes, &attributes);
    } else if (field == otlp::link::kDroppedAttributesCount) {
      ok = Uint32(&c, wire, "dropped_attributes_count", &l->dropped_attributes_count);
    } else if (field == otlp::link::kFlags) {
      ok = Expect(c, wire, kFixed32, "flags") && Fixed32(&c, &l->flags);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  Truncate(&l->attributes, attributes);
  return true;
}

// Status. Merged into the span's (reset by DecodeSpan), as protobuf merges a
// repeated message field.
bool OtlpProtoDecoder::State::Status(std::string_view data, Span* span) {
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    if (field == otlp::status::kMessage) {
      if (!String(&c, wire, "message", &span->status_message)) return false;
    } else if (field == otlp::status::kCode) {
      uint64_t n;
      if (!Expect(c, wire, kVarint, "code") || !Varint(&c, &n)) return false;
      if (n > 2) return Fail(c.p, absl::StrFormat("status code %d is not 0-2", n));
      span->status_code = static_cast<StatusCode>(n);
    } else if (!Skip(&c, wire)) {
      return false;
    }
  }
  return true;
}

bool OtlpProtoDecoder::State::DecodeSpan(std::string_view data, Span* span) {
  // Reset what the message may lack; the context fields are assigned below.
  span->trace_id = TraceId();
  span->span_id = SpanId();
  span->parent_span_id = SpanId();
  span->trace_state.clear();
  span->flags = 0;
  span->name.clear();
  span->kind = SpanKind::kUnspecified;
  span->start_time_unix_nano = 0;
  span->end_time_unix_nano = 0;
  span->status_code = StatusCode::kUnset;
  span->status_message.clear();
  span->dropped_attributes_count = 0;
  span->dropped_events_count = 0;
  span->dropped_links_count = 0;
  size_t attributes = 0, events = 0, links = 0;

  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    std::string_view v;
    uint64_t n = 0;
    bool ok;
    switch (field) {
      case otlp::span::kTraceId:
        ok = Id(&c, wire, "trace_id", &span->trace_id.bytes);
        break;
      case otlp::span::kSpanId:
        ok = Id(&c, wire, "span_id", &span->span_id.bytes);
        break;
      case otlp::span::kTraceState:
        ok = String(&c, wire, "trace_state", &span->trace_state);
        break;
      case otlp::span::kParentSpanId:
        ok = Id(&c, wire, "parent_span_id", &span->parent_span_id.bytes);
        break;
      case otlp::span::kName:
        ok = String(&c, wire, "name", &span->name);
        break;
      case otlp::span::kKind:
        ok = Expect(c, wire, kVarint, "kind") && Varint(&c, &n);
        if (ok && n > 5) return Fail(c.p, absl::StrFormat("span kind %d is not 0-5", n));
        span->kind = static_cast<SpanKind>(n);
        break;
      case otlp::span::kStartTimeUnixNano:
        ok = Expect(c, wire, kFixed64, "start_time_unix_nano") &&
             Fixed64(&c, &span->start_time_unix_nano);
        break;
      case otlp::span::kEndTimeUnixNano:
        ok = Expect(c, wire, kFixed64, "end_time_unix_nano") &&
             Fixed64(&c, &span->end_time_unix_nano);
        break;
      case otlp::span::kAttributes:
        ok = Attribute(&c, wire, &span->attributes, &attributes);
        break;
      case otlp::span::kDroppedAttributesCount:
        ok = Uint32(&c, wire, "dropped_attributes_count", &span->dropped_attributes_count);
        break;
      case otlp::span::kEvents:
        ok = Message(&c, wire, "events", &v) && Event(v, &NextSlot(&span->events, &events));
        break;
      case otlp::span::kDroppedEventsCount:
        ok = Uint32(&c, wire, "dropped_events_count", &span->dropped_events_count);
        break;
      case otlp::span::kLinks:
        ok = Message(&c, wire, "links", &v) && Link(v, &NextSlot(&span->links, &links));
        break;
      case otlp::span::kDroppedLinksCount:
        ok = Uint32(&c, wire, "dropped_links_count", &span->dropped_links_count);
        break;
      case otlp::span::kStatus:
        ok = Message(&c, wire, "status", &v) && Status(v, span);
        break;
      case otlp::span::kFlags:
        ok = Expect(c, wire, kFixed32, "flags") && Fixed32(&c, &span->flags);
        break;
      default:
        ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  if (!accept_zero_ids) {
    if (!span->trace_id.IsValid()) return Fail(c.p, "span without a valid trace_id");
    if (!span->span_id.IsValid()) return Fail(c.p, "span without a valid span_id");
  }
  Truncate(&span->attributes, attributes);
  Truncate(&span->events, events);
  Truncate(&span->links, links);

  CopyResource(span);
  CopyScope(span);
  return true;
}

// Assignment into the previous span's strings and vectors: no allocation when they are big
// enough, which they are after a few requests of similar data.
void OtlpProtoDecoder::State::CopyResource(Span* span) const {
  Assign(&span->service_name, context.service_name);
  CopyAttributes(context.resource_attributes, context.resource_count, &span->resource_attributes);
  Assign(&span->resource_schema_url, context.resource_schema_url);
}

void OtlpProtoDecoder::State::CopyScope(Span* span) const {
  Assign(&span->scope_name, context.scope_name);
  Assign(&span->scope_version, context.scope_version);
  CopyAttributes(context.scope_attributes, context.scope_count, &span->scope_attributes);
  Assign(&span->scope_schema_url, context.scope_schema_url);
}

// InstrumentationScope. Merged into the context's scope.
bool OtlpProtoDecoder::State::Scope(std::string_view data) {
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    bool ok;
    if (field == otlp::scope::kName) {
      ok = String(&c, wire, "scope name", &context.scope_name);
    } else if (field == otlp::scope::kVersion) {
      ok = String(&c, wire, "scope version", &context.scope_version);
    } else if (field == otlp::scope::kAttributes) {
      ok = Attribute(&c, wire, &context.scope_attributes, &context.scope_count);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  return true;
}

// ScopeSpans (and the older InstrumentationLibrarySpans, same layout). Spans are decoded as they
// come, while their bytes are being read anyway (a first pass to find them would cost a cache
// miss per span on input that is not in cache); scope fields that come after spans -- Go's
// encoder writes schema_url last -- are copied into those spans afterwards.
bool OtlpProtoDecoder::State::ScopeSpans(std::string_view data, std::vector<Span>* out,
                                         size_t* count) {
  context.scope_name.clear();
  context.scope_version.clear();
  context.scope_count = 0;
  context.scope_schema_url.clear();
  const size_t first = *count;
  bool late_scope = false, late_schema_url = false;
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    std::string_view v;
    bool ok;
    if (field == otlp::scope_spans::kScope) {
      ok = Message(&c, wire, "scope", &v) && Scope(v);
      late_scope |= *count > first;
    } else if (field == otlp::scope_spans::kSpans) {
      ok = Message(&c, wire, "spans", &v) && DecodeSpan(v, &NextSlot(out, count));
    } else if (field == otlp::scope_spans::kSchemaUrl) {
      ok = String(&c, wire, "schema_url", &context.scope_schema_url);
      late_schema_url |= *count > first;
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  for (size_t i = first; i < *count && (late_scope || late_schema_url); ++i) {
    if (late_scope) {
      CopyScope(&(*out)[i]);
    } else {
      Assign(&(*out)[i].scope_schema_url, context.scope_schema_url);
    }
  }
  return true;
}

// ResourceSpans, with instrumentation_library_spans (the pre-1.0 name of scope_spans) read as
// scope_spans. As in ScopeSpans, resource fields that come after spans are copied into them
// afterwards.
bool OtlpProtoDecoder::State::ResourceSpans(std::string_view data, std::vector<Span>* out,
                                            size_t* count) {
  context.service_name.clear();
  context.resource_count = 0;
  context.resource_schema_url.clear();
  const size_t first = *count;
  bool late_resource = false, late_schema_url = false;
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    std::string_view v;
    if (field == otlp::resource_spans::kResource) {
      if (!Message(&c, wire, "resource", &v)) return false;
      Cursor rc(v);
      while (!rc.done()) {
        uint32_t f2, w2;
        if (!Tag(&rc, &f2, &w2)) return false;
        const bool ok =
            f2 == otlp::resource::kAttributes
                ? Attribute(&rc, w2, &context.resource_attributes, &context.resource_count)
                : Skip(&rc, w2);
        if (!ok) return false;
      }
      // service.name: the first attribute of that name, if it is a string.
      context.service_name.clear();
      for (size_t i = 0; i < context.resource_count; ++i) {
        const KeyValue& kv = context.resource_attributes[i];
        if (kv.key != "service.name") continue;
        if (kv.value.type() == AnyValue::Type::kString) {
          Assign(&context.service_name, kv.value.string_value());
        }
        break;
      }
      late_resource |= *count > first;
    } else if (field == otlp::resource_spans::kScopeSpans ||
               field == otlp::resource_spans::kInstrumentationLibrarySpans) {
      if (!Message(&c, wire, "scope_spans", &v) || !ScopeSpans(v, out, count)) return false;
    } else if (field == otlp::resource_spans::kSchemaUrl) {
      if (!String(&c, wire, "schema_url", &context.resource_schema_url)) return false;
      late_schema_url |= *count > first;
    } else if (!Skip(&c, wire)) {
      return false;
    }
  }
  for (size_t i = first; i < *count && (late_resource || late_schema_url); ++i) {
    if (late_resource) {
      CopyResource(&(*out)[i]);
    } else {
      Assign(&(*out)[i].resource_schema_url, context.resource_schema_url);
    }
  }
  return true;
}

// ExportTraceServiceRequest / TracesData.
bool OtlpProtoDecoder::State::Request(std::string_view data, std::vector<Span>* out,
                                      size_t* count) {
  return ForEachMessage(data, otlp::request::kResourceSpans, "resource_spans",
                        [&](std::string_view v) { return ResourceSpans(v, out, count); });
}

OtlpProtoDecoder::OtlpProtoDecoder() : state_(std::make_unique<State>()) {}
void OtlpProtoDecoder::set_accept_zero_ids(bool accept) { state_->accept_zero_ids = accept; }
OtlpProtoDecoder::~OtlpProtoDecoder() = default;

absl::Status OtlpProtoDecoder::DecodeInto(std::string_view message, std::vector<Span>* spans,
                                          size_t* count) {
  State& st = *state_;
  st.base = message.data();
  size_t n = *count;
  const bool ok = st.Request(message, spans, &n);
  st.base = nullptr;
  if (!ok) return absl::InvalidArgumentError(st.error);
  *count = n;
  return absl::OkStatus();
}

absl::StatusOr<absl::Span<Span>> OtlpProtoDecoder::Decode(std::string_view message) {
  size_t n = 0;
  absl::Status s = DecodeInto(message, &spans_, &n);
  if (!s.ok()) return s;
  return absl::MakeSpan(spans_.data(), n);
}

absl::Status DecodeOtlpTraces(std::string_view message, std::vector<Span>* out) {
  OtlpProtoDecoder decoder;
  const size_t before = out->size();
  size_t count = before;
  absl::Status s = decoder.DecodeInto(message, out, &count);
  Truncate(out, s.ok() ? count : before);
  return s;
}

}  // namespace spanstore
