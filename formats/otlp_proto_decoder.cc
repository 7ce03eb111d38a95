// OTLP protobuf decoding (opentelemetry/proto/collector/trace/v1 and the trace, resource and
// common v1 messages): OtlpProtoDecoder, and DecodeOtlpTraces on top of it. Field numbers are the
// .proto files'; docs/formats.md lists them.
//
// Every span is decoded into an object that may hold a previous span: each field is overwritten,
// or reset when the message lacks it, and nested vectors (attributes, events, links, array and map
// values) are refilled element by element and then cut to length, so strings and vectors keep
// their buffers. The resource and scope are decoded once per ResourceSpans/ScopeSpans and copied
// into each span by assignment, which also reuses the buffers.
//
// Parsing functions return false on bad input after recording the error (with its byte offset
// in the whole message) in State::error; a Status is built once, at the top.

#include <algorithm>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_format.h"
#include "engine/coding.h"
#include "spanstore/otlp_proto.h"

namespace spanstore {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };
constexpr int kMaxDepth = 32;

// The unread part of one message.
struct Cursor {
  explicit Cursor(std::string_view data) : p(data.data()), end(data.data() + data.size()) {}
  bool done() const { return p >= end; }
  const char* p;
  const char* end;
};

// The object at index (*n)++ of *v, appended when v has none there yet.
template <typename T>
T& NextSlot(std::vector<T>* v, size_t* n) {
  if (*n == v->size()) v->emplace_back();
  return (*v)[(*n)++];
}

// Cuts *v to the n elements refilled this time.
template <typename T>
void Truncate(std::vector<T>* v, size_t n) {
  if (n < v->size()) v->erase(v->begin() + n, v->end());
}

ABSL_ATTRIBUTE_NOINLINE bool ReadLongVarint(Cursor* c, uint64_t* v) {
  std::string_view rest(c->p, c->end - c->p);
  if (!GetVarint64(&rest, v)) return false;
  c->p = rest.data();
  return true;
}

// Inlined: a varint is read for every field, and nearly all are one or two bytes.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool ReadVarint(Cursor* c, uint64_t* v) {
  const auto* p = reinterpret_cast<const uint8_t*>(c->p);
  const auto* end = reinterpret_cast<const uint8_t*>(c->end);
  if (ABSL_PREDICT_TRUE(p < end && p[0] < 0x80)) {  // one byte: tags, small lengths, enums
    *v = p[0];
    c->p += 1;
    return true;
  }
  if (end - p >= 2 && p[1] < 0x80) {  // two bytes: lengths up to 16 KiB
    *v = (p[0] & 0x7f) | (uint64_t{p[1]} << 7);
    c->p += 2;
    return true;
  }
  return ReadLongVarint(c, v);
}

// Copies n bytes, short runs with overlapping word moves rather than a call into libc: most
// keys and values are under 32 bytes. All loads precede the stores, so overlap is harmless.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n > 32) {
    std::memmove(dst, src, n);
  } else if (n >= 16) {
    char a[16], b[16];
    std::memcpy(a, src, 16);
    std::memcpy(b, src + n - 16, 16);
    std::memcpy(dst, a, 16);
    std::memcpy(dst + n - 16, b, 16);
  } else if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    const char a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a;
    dst[n / 2] = b;
    dst[n - 1] = c;
  }
}

// dst->assign(v) for refilled strings, which mostly have the capacity already: copies in place
// and moves the terminator instead of going through assign's general path.
// REQUIRES: v does not point into *dst (unless it is all of it).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Assign(std::string* dst, std::string_view v) {
  const size_t n = v.size(), old = dst->size();
  if (n <= old) {
    CopyBytes(dst->data(), v.data(), n);
    if (n < old) dst->resize(n);
  } else if (n <= dst->capacity()) {
    CopyBytes(dst->data(), v.data(), old);
    dst->append(v.data() + old, n - old);
  } else {
    dst->assign(v.data(), v.size());
  }
}

// value->set_string(v), by Assign when it holds a string already.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void AssignString(AnyValue* value, std::string_view v) {
  if (value->type() == AnyValue::Type::kString) {
    Assign(&value->mutable_string(), v);
  } else {
    value->set_string(v);
  }
}

// Makes *dst equal to the first n elements of src, element by element, so that strings of the
// same length are overwritten in place (vector and variant assignment would go through their
// generic paths). REQUIRES: n <= src.size().
void CopyAttributes(const Attributes& src, size_t n, Attributes* dst) {
  const size_t common = std::min(n, dst->size());
  for (size_t i = 0; i < common; ++i) {
    KeyValue& d = (*dst)[i];
    Assign(&d.key, src[i].key);
    if (src[i].value.type() == AnyValue::Type::kString) {
      AssignString(&d.value, src[i].value.string_value());
    } else {
      d.value = src[i].value;
    }
  }
  if (n > common) {
    dst->insert(dst->end(), src.begin() + common, src.begin() + n);
  } else {
    Truncate(dst, n);
  }
}

}  // namespace

struct OtlpProtoDecoder::State {
  const char* base = nullptr;  // the message being decoded
  std::string error;           // what failed, with its byte offset
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

  ABSL_ATTRIBUTE_NOINLINE bool Fail(const char* at, std::string_view what) {
    error = absl::StrFormat("byte offset %d: %s", at - base,
                            absl::string_view(what.data(), what.size()));
    return false;
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Tag(Cursor* c, uint32_t* field, uint32_t* wire) {
    uint64_t tag = 0;
    const bool ok = ReadVarint(c, &tag);
    *field = static_cast<uint32_t>(tag >> 3);  // set either way: callers' compilers can see it
    *wire = static_cast<uint32_t>(tag & 7);
    if (!ok) return Fail(c->p, "truncated or overlong field tag");
    if (*field == 0) return Fail(c->p, "field number 0");
    return true;
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Expect(const Cursor& c, uint32_t wire, uint32_t want,
                                           const char* field) {
    if (wire == want) return true;
    return Fail(c.p, absl::StrFormat("field %s has wire type %d, expected %d", field, wire, want));
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Varint(Cursor* c, uint64_t* v) {
    return ReadVarint(c, v) || Fail(c->p, "truncated varint");
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Fixed64(Cursor* c, uint64_t* v) {
    if (c->end - c->p < 8) return Fail(c->p, "truncated fixed64");
    *v = DecodeFixed64(c->p);
    c->p += 8;
    return true;
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Fixed32(Cursor* c, uint32_t* v) {
    if (c->end - c->p < 4) return Fail(c->p, "truncated fixed32");
    *v = DecodeFixed32(c->p);
    c->p += 4;
    return true;
  }

  // The payload of a length-delimited field.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Bytes(Cursor* c, std::string_view* out) {
    uint64_t len;
    if (!ReadVarint(c, &len)) return Fail(c->p, "truncated length");
    if (len > static_cast<uint64_t>(c->end - c->p)) {
      return Fail(c->p, absl::StrFormat("length %d runs past the end of the message", len));
    }
    *out = std::string_view(c->p, len);
    c->p += len;
    return true;
  }

  bool Skip(Cursor* c, uint32_t wire) {
    uint64_t v;
    uint32_t f;
    std::string_view s;
    switch (wire) {
      case kVarint:
        return Varint(c, &v);
      case kFixed64:
        return Fixed64(c, &v);
      case kLength:
        return Bytes(c, &s);
      case kFixed32:
        return Fixed32(c, &f);
      default:
        return Fail(c->p, absl::StrFormat("unsupported wire type %d", wire));
    }
  }

  // A field of the given wire type.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Message(Cursor* c, uint32_t wire, const char* name,
                                            std::string_view* out) {
    return Expect(*c, wire, kLength, name) && Bytes(c, out);
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool String(Cursor* c, uint32_t wire, const char* name,
                                           std::string* out) {
    std::string_view v;
    if (!Message(c, wire, name, &v)) return false;
    Assign(out, v);
    return true;
  }
  bool Uint32(Cursor* c, uint32_t wire, const char* name, uint32_t* out) {
    uint64_t v;
    if (!Expect(*c, wire, kVarint, name) || !Varint(c, &v)) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  }
  template <size_t N>
  bool Id(Cursor* c, uint32_t wire, const char* name, std::array<uint8_t, N>* out) {
    std::string_view v;
    if (!Message(c, wire, name, &v)) return false;
    if (v.empty()) {
      out->fill(0);
      return true;
    }
    if (v.size() != N) {
      return Fail(c->p, absl::StrFormat("%s is %d bytes, expected %d", name, v.size(), N));
    }
    std::memcpy(out->data(), v.data(), N);
    return true;
  }

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
      case 1:  // string_value
        if (!Message(&c, wire, "string_value", &v)) return false;
        AssignString(out, v);
        break;
      case 2:  // bool_value
        if (!Expect(c, wire, kVarint, "bool_value") || !Varint(&c, &n)) return false;
        out->set_bool(n != 0);
        break;
      case 3:  // int_value
        if (!Expect(c, wire, kVarint, "int_value") || !Varint(&c, &n)) return false;
        out->set_int(static_cast<int64_t>(n));
        break;
      case 4: {  // double_value
        if (!Expect(c, wire, kFixed64, "double_value") || !Fixed64(&c, &n)) return false;
        double d;
        std::memcpy(&d, &n, 8);
        out->set_double(d);
        break;
      }
      case 5: {  // array_value: ArrayValue { repeated AnyValue values = 1; }
        if (!Message(&c, wire, "array_value", &v)) return false;
        AnyValue::Array& items = out->reuse_array();
        size_t count = 0;
        Cursor ac(v);
        while (!ac.done()) {
          uint32_t f2, w2;
          std::string_view item;
          if (!Tag(&ac, &f2, &w2)) return false;
          if (f2 != 1) {
            if (!Skip(&ac, w2)) return false;
            continue;
          }
          if (!Message(&ac, w2, "values", &item)) return false;
          if (!Value(item, depth + 1, &NextSlot(&items, &count))) return false;
        }
        Truncate(&items, count);
        break;
      }
      case 6: {  // kvlist_value: KeyValueList { repeated KeyValue values = 1; }
        if (!Message(&c, wire, "kvlist_value", &v)) return false;
        AnyValue::Map& map = out->reuse_map();
        size_t count = 0;
        Cursor mc(v);
        while (!mc.done()) {
          uint32_t f2, w2;
          std::string_view item;
          if (!Tag(&mc, &f2, &w2)) return false;
          if (f2 != 1) {
            if (!Skip(&mc, w2)) return false;
            continue;
          }
          if (!Message(&mc, w2, "values", &item)) return false;
          if (!KeyValue1(item, depth + 1, &NextSlot(&map, &count))) return false;
        }
        Truncate(&map, count);
        break;
      }
      case 7:  // bytes_value
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
  // Most attributes are strings, encoded as key (field 1), then a value (field 2) holding only
  // string_value (field 1), with lengths under 128: read those bytes directly. Anything else,
  // or anything that does not add up exactly, takes the general path below.
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t size = data.size();
  if (size >= 6 && p[0] == 0x0a && p[1] < 0x80 && depth <= kMaxDepth) {
    const size_t key = p[1];
    const uint8_t* value = p + 2 + key;  // the value field's tag
    if (key + 6 <= size && value[0] == 0x12 && value[1] < 0x80 && key + 4 + value[1] == size &&
        value[2] == 0x0a && value[3] < 0x80 && value[3] + 2 == value[1]) {
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
    if (field == 1) {
      if (!String(&c, wire, "key", &kv->key)) return false;
      has_key = true;
    } else if (field == 2) {
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

// Event: time_unix_nano=1 fixed64, name=2, attributes=3, dropped=4.
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
    if (field == 1) {
      ok = Expect(c, wire, kFixed64, "time_unix_nano") && Fixed64(&c, &e->time_unix_nano);
    } else if (field == 2) {
      ok = String(&c, wire, "name", &e->name);
    } else if (field == 3) {
      ok = Attribute(&c, wire, &e->attributes, &attributes);
    } else if (field == 4) {
      ok = Uint32(&c, wire, "dropped_attributes_count", &e->dropped_attributes_count);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  Truncate(&e->attributes, attributes);
  return true;
}

// Link: trace_id=1, span_id=2, trace_state=3, attributes=4, dropped=5, flags=6 fixed32.
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
    if (field == 1) {
      ok = Id(&c, wire, "link trace_id", &l->trace_id.bytes);
    } else if (field == 2) {
      ok = Id(&c, wire, "link span_id", &l->span_id.bytes);
    } else if (field == 3) {
      ok = String(&c, wire, "trace_state", &l->trace_state);
    } else if (field == 4) {
      ok = Attribute(&c, wire, &l->attributes, &attributes);
    } else if (field == 5) {
      ok = Uint32(&c, wire, "dropped_attributes_count", &l->dropped_attributes_count);
    } else if (field == 6) {
      ok = Expect(c, wire, kFixed32, "flags") && Fixed32(&c, &l->flags);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  Truncate(&l->attributes, attributes);
  return true;
}

// Status: message=2, code=3. Merged into the span's (reset by DecodeSpan), as protobuf merges a
// repeated message field.
bool OtlpProtoDecoder::State::Status(std::string_view data, Span* span) {
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    if (field == 2) {
      if (!String(&c, wire, "message", &span->status_message)) return false;
    } else if (field == 3) {
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
      case 1:
        ok = Id(&c, wire, "trace_id", &span->trace_id.bytes);
        break;
      case 2:
        ok = Id(&c, wire, "span_id", &span->span_id.bytes);
        break;
      case 3:
        ok = String(&c, wire, "trace_state", &span->trace_state);
        break;
      case 4:
        ok = Id(&c, wire, "parent_span_id", &span->parent_span_id.bytes);
        break;
      case 5:
        ok = String(&c, wire, "name", &span->name);
        break;
      case 6:
        ok = Expect(c, wire, kVarint, "kind") && Varint(&c, &n);
        if (ok && n > 5) return Fail(c.p, absl::StrFormat("span kind %d is not 0-5", n));
        span->kind = static_cast<SpanKind>(n);
        break;
      case 7:
        ok = Expect(c, wire, kFixed64, "start_time_unix_nano") &&
             Fixed64(&c, &span->start_time_unix_nano);
        break;
      case 8:
        ok = Expect(c, wire, kFixed64, "end_time_unix_nano") &&
             Fixed64(&c, &span->end_time_unix_nano);
        break;
      case 9:
        ok = Attribute(&c, wire, &span->attributes, &attributes);
        break;
      case 10:
        ok = Uint32(&c, wire, "dropped_attributes_count", &span->dropped_attributes_count);
        break;
      case 11:
        ok = Message(&c, wire, "events", &v) && Event(v, &NextSlot(&span->events, &events));
        break;
      case 12:
        ok = Uint32(&c, wire, "dropped_events_count", &span->dropped_events_count);
        break;
      case 13:
        ok = Message(&c, wire, "links", &v) && Link(v, &NextSlot(&span->links, &links));
        break;
      case 14:
        ok = Uint32(&c, wire, "dropped_links_count", &span->dropped_links_count);
        break;
      case 15:
        ok = Message(&c, wire, "status", &v) && Status(v, span);
        break;
      case 16:
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

// InstrumentationScope: name=1, version=2, attributes=3. Merged into the context's scope.
bool OtlpProtoDecoder::State::Scope(std::string_view data) {
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    bool ok;
    if (field == 1) {
      ok = String(&c, wire, "scope name", &context.scope_name);
    } else if (field == 2) {
      ok = String(&c, wire, "scope version", &context.scope_version);
    } else if (field == 3) {
      ok = Attribute(&c, wire, &context.scope_attributes, &context.scope_count);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  return true;
}

// ScopeSpans (and the older InstrumentationLibrarySpans, same layout): scope=1, spans=2,
// schema_url=3. Spans are decoded as they come, while their bytes are being read anyway (a
// first pass to find them would cost a cache miss per span on input that is not in cache);
// scope fields that come after spans -- Go's encoder writes schema_url last -- are copied into
// those spans afterwards.
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
    if (field == 1) {
      ok = Message(&c, wire, "scope", &v) && Scope(v);
      late_scope |= *count > first;
    } else if (field == 2) {
      ok = Message(&c, wire, "spans", &v) && DecodeSpan(v, &NextSlot(out, count));
    } else if (field == 3) {
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

// ResourceSpans: resource=1 (Resource: attributes=1), scope_spans=2, schema_url=3,
// instrumentation_library_spans=1000 (the pre-1.0 name of scope_spans). As in ScopeSpans,
// resource fields that come after spans are copied into them afterwards.
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
    if (field == 1) {
      if (!Message(&c, wire, "resource", &v)) return false;
      Cursor rc(v);
      while (!rc.done()) {
        uint32_t f2, w2;
        if (!Tag(&rc, &f2, &w2)) return false;
        const bool ok =
            f2 == 1 ? Attribute(&rc, w2, &context.resource_attributes, &context.resource_count)
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
    } else if (field == 2 || field == 1000) {
      if (!Message(&c, wire, "scope_spans", &v) || !ScopeSpans(v, out, count)) return false;
    } else if (field == 3) {
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

// ExportTraceServiceRequest / TracesData: resource_spans=1.
bool OtlpProtoDecoder::State::Request(std::string_view data, std::vector<Span>* out,
                                      size_t* count) {
  Cursor c(data);
  while (!c.done()) {
    uint32_t field, wire;
    if (!Tag(&c, &field, &wire)) return false;
    bool ok;
    if (field == 1) {
      std::string_view v;
      ok = Message(&c, wire, "resource_spans", &v) && ResourceSpans(v, out, count);
    } else {
      ok = Skip(&c, wire);
    }
    if (!ok) return false;
  }
  return true;
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
