// OTLP protobuf decoding and encoding (opentelemetry/proto/collector/trace/v1 and the trace,
// resource and common v1 messages). Field numbers are the .proto files'; docs/formats.md lists
// them.

#include "spanstore/otlp_proto.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "engine/coding.h"
#include "formats/span_grouping.h"

namespace spanstore {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };
constexpr int kMaxDepth = 32;

// A bounds-checked protobuf reader over one message. `base` is the message's offset in the whole
// input, for error messages.
class Reader {
 public:
  Reader(std::string_view data, size_t base) : data_(data), base_(base) {}

  bool done() const { return pos_ >= data_.size(); }
  size_t offset() const { return base_ + pos_; }

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrFormat("byte offset %d: %s", offset(),
                                                      absl::string_view(what.data(), what.size())));
  }

  absl::Status Tag(uint32_t* field, uint32_t* wire) {
    *field = 0;
    *wire = 0;
    uint64_t tag;
    if (!Varint(&tag)) return Error("truncated or overlong field tag");
    *field = static_cast<uint32_t>(tag >> 3);
    *wire = static_cast<uint32_t>(tag & 7);
    if (*field == 0) return Error("field number 0");
    return absl::OkStatus();
  }

  bool Varint(uint64_t* v) {
    if (pos_ < data_.size() && static_cast<uint8_t>(data_[pos_]) < 0x80) {  // one byte: common
      *v = static_cast<uint8_t>(data_[pos_++]);
      return true;
    }
    std::string_view rest = data_.substr(pos_);
    const size_t before = rest.size();
    if (!GetVarint64(&rest, v)) return false;
    pos_ += before - rest.size();
    return true;
  }

  absl::Status Fixed64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return Error("truncated fixed64");
    *v = DecodeFixed64(data_.data() + pos_);
    pos_ += 8;
    return absl::OkStatus();
  }

  absl::Status Fixed32(uint32_t* v) {
    if (data_.size() - pos_ < 4) return Error("truncated fixed32");
    *v = DecodeFixed32(data_.data() + pos_);
    pos_ += 4;
    return absl::OkStatus();
  }

  // A length-delimited field; *start is its offset in the whole input.
  absl::Status Bytes(std::string_view* out, size_t* start = nullptr) {
    uint64_t len;
    if (!Varint(&len)) return Error("truncated length");
    if (len > data_.size() - pos_) {
      return Error(absl::StrFormat("length %d runs past the end of the message", len));
    }
    if (start != nullptr) *start = offset();
    *out = data_.substr(pos_, len);
    pos_ += len;
    return absl::OkStatus();
  }

  absl::Status Skip(uint32_t wire) {
    uint64_t v;
    uint32_t f;
    std::string_view s;
    switch (wire) {
      case kVarint:
        return Varint(&v) ? absl::OkStatus() : Error("truncated varint");
      case kFixed64:
        return Fixed64(&v);
      case kLength:
        return Bytes(&s);
      case kFixed32:
        return Fixed32(&f);
      default:
        return Error(absl::StrFormat("unsupported wire type %d", wire));
    }
  }

  absl::Status Expect(uint32_t wire, uint32_t want, std::string_view field) {
    if (wire == want) return absl::OkStatus();
    return Error(absl::StrFormat("field %s has wire type %d, expected %d",
                                 absl::string_view(field.data(), field.size()), wire, want));
  }

 private:
  std::string_view data_;
  size_t base_;
  size_t pos_ = 0;
};

absl::Status String(Reader* r, uint32_t wire, std::string_view name, std::string* out) {
  absl::Status s = r->Expect(wire, kLength, name);
  std::string_view v;
  if (s.ok()) s = r->Bytes(&v);
  if (s.ok()) out->assign(v.data(), v.size());
  return s;
}

template <size_t N>
absl::Status Id(Reader* r, uint32_t wire, std::string_view name, std::array<uint8_t, N>* out) {
  absl::Status s = r->Expect(wire, kLength, name);
  std::string_view v;
  if (s.ok()) s = r->Bytes(&v);
  if (!s.ok()) return s;
  if (v.empty()) {
    out->fill(0);
    return absl::OkStatus();
  }
  if (v.size() != N) {
    return r->Error(absl::StrFormat("%s is %d bytes, expected %d",
                                    absl::string_view(name.data(), name.size()), v.size(), N));
  }
  std::memcpy(out->data(), v.data(), N);
  return absl::OkStatus();
}

absl::Status Uint32Varint(Reader* r, uint32_t wire, std::string_view name, uint32_t* out) {
  absl::Status s = r->Expect(wire, kVarint, name);
  uint64_t v = 0;
  if (s.ok() && !r->Varint(&v)) s = r->Error("truncated varint");
  *out = static_cast<uint32_t>(v);
  return s;
}

absl::Status KeyValues(std::string_view data, size_t base, int depth, Attributes* out);

absl::Status Value(std::string_view data, size_t base, int depth, AnyValue* out) {
  if (depth > kMaxDepth) return Reader(data, base).Error("value nested too deeply");
  Reader r(data, base);
  *out = AnyValue();
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    std::string_view v;
    size_t at = 0;
    uint64_t n = 0;
    switch (field) {
      case 1:  // string_value
        if (s = r.Expect(wire, kLength, "string_value"); s.ok()) s = r.Bytes(&v);
        if (s.ok()) *out = AnyValue::String(std::string(v));
        break;
      case 2:  // bool_value
        if (s = r.Expect(wire, kVarint, "bool_value"); s.ok() && !r.Varint(&n)) s = r.Error("truncated varint");
        if (s.ok()) *out = AnyValue::Bool(n != 0);
        break;
      case 3:  // int_value
        if (s = r.Expect(wire, kVarint, "int_value"); s.ok() && !r.Varint(&n)) s = r.Error("truncated varint");
        if (s.ok()) *out = AnyValue::Int(static_cast<int64_t>(n));
        break;
      case 4: {  // double_value
        if (s = r.Expect(wire, kFixed64, "double_value"); s.ok()) s = r.Fixed64(&n);
        double d;
        std::memcpy(&d, &n, 8);
        if (s.ok()) *out = AnyValue::Double(d);
        break;
      }
      case 5: {  // array_value: ArrayValue { repeated AnyValue values = 1; }
        if (s = r.Expect(wire, kLength, "array_value"); s.ok()) s = r.Bytes(&v, &at);
        AnyValue::Array items;
        Reader ar(v, at);
        while (s.ok() && !ar.done()) {
          uint32_t f2, w2;
          s = ar.Tag(&f2, &w2);
          if (!s.ok()) break;
          if (f2 != 1) {
            s = ar.Skip(w2);
            continue;
          }
          std::string_view item;
          size_t item_at = 0;
          if (s = ar.Expect(w2, kLength, "values"); s.ok()) s = ar.Bytes(&item, &item_at);
          if (s.ok()) s = Value(item, item_at, depth + 1, &items.emplace_back());
        }
        if (s.ok()) *out = AnyValue::ArrayValue(std::move(items));
        break;
      }
      case 6: {  // kvlist_value: KeyValueList { repeated KeyValue values = 1; }
        if (s = r.Expect(wire, kLength, "kvlist_value"); s.ok()) s = r.Bytes(&v, &at);
        AnyValue::Map map;
        if (s.ok()) s = KeyValues(v, at, depth + 1, &map);
        if (s.ok()) *out = AnyValue::MapValue(std::move(map));
        break;
      }
      case 7:  // bytes_value
        if (s = r.Expect(wire, kLength, "bytes_value"); s.ok()) s = r.Bytes(&v);
        if (s.ok()) *out = AnyValue::BytesValue(std::string(v));
        break;
      default:
        s = r.Skip(wire);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// A message holding `repeated KeyValue values = 1` (KeyValueList), or called per KeyValue
// field by the span decoders through KeyValueField.
absl::Status KeyValue1(std::string_view data, size_t base, int depth, KeyValue* kv) {
  Reader r(data, base);
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    if (field == 1) {
      s = String(&r, wire, "key", &kv->key);
    } else if (field == 2) {
      std::string_view v;
      size_t at = 0;
      if (s = r.Expect(wire, kLength, "value"); s.ok()) s = r.Bytes(&v, &at);
      if (s.ok()) s = Value(v, at, depth, &kv->value);
    } else {
      s = r.Skip(wire);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status KeyValues(std::string_view data, size_t base, int depth, Attributes* out) {
  Reader r(data, base);
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    if (field != 1) {
      s = r.Skip(wire);
    } else {
      std::string_view v;
      size_t at = 0;
      if (s = r.Expect(wire, kLength, "values"); s.ok()) s = r.Bytes(&v, &at);
      if (s.ok()) s = KeyValue1(v, at, depth, &out->emplace_back());
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// A `repeated KeyValue attributes` field occurrence.
absl::Status AttributeField(Reader* r, uint32_t wire, Attributes* out) {
  absl::Status s = r->Expect(wire, kLength, "attributes");
  std::string_view v;
  size_t at = 0;
  if (s.ok()) s = r->Bytes(&v, &at);
  if (s.ok()) s = KeyValue1(v, at, 0, &out->emplace_back());
  return s;
}

absl::Status DecodeProtoSpan(std::string_view data, size_t base, Span* span) {
  Reader r(data, base);
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    std::string_view v;
    size_t at = 0;
    uint64_t n = 0;
    uint32_t f32 = 0;
    switch (field) {
      case 1:
        s = Id(&r, wire, "trace_id", &span->trace_id.bytes);
        break;
      case 2:
        s = Id(&r, wire, "span_id", &span->span_id.bytes);
        break;
      case 3:
        s = String(&r, wire, "trace_state", &span->trace_state);
        break;
      case 4:
        s = Id(&r, wire, "parent_span_id", &span->parent_span_id.bytes);
        break;
      case 5:
        s = String(&r, wire, "name", &span->name);
        break;
      case 6:
        if (s = r.Expect(wire, kVarint, "kind"); s.ok() && !r.Varint(&n)) s = r.Error("truncated varint");
        if (s.ok() && n > 5) s = r.Error(absl::StrFormat("span kind %d is not 0-5", n));
        span->kind = static_cast<SpanKind>(n);
        break;
      case 7:
        if (s = r.Expect(wire, kFixed64, "start_time_unix_nano"); s.ok()) s = r.Fixed64(&span->start_time_unix_nano);
        break;
      case 8:
        if (s = r.Expect(wire, kFixed64, "end_time_unix_nano"); s.ok()) s = r.Fixed64(&span->end_time_unix_nano);
        break;
      case 9:
        s = AttributeField(&r, wire, &span->attributes);
        break;
      case 10:
        s = Uint32Varint(&r, wire, "dropped_attributes_count", &span->dropped_attributes_count);
        break;
      case 11: {  // Event: time_unix_nano=1 fixed64, name=2, attributes=3, dropped=4
        if (s = r.Expect(wire, kLength, "events"); s.ok()) s = r.Bytes(&v, &at);
        SpanEvent& e = span->events.emplace_back();
        Reader er(v, at);
        while (s.ok() && !er.done()) {
          uint32_t f2, w2;
          if (s = er.Tag(&f2, &w2); !s.ok()) break;
          if (f2 == 1) {
            if (s = er.Expect(w2, kFixed64, "time_unix_nano"); s.ok()) s = er.Fixed64(&e.time_unix_nano);
          } else if (f2 == 2) {
            s = String(&er, w2, "name", &e.name);
          } else if (f2 == 3) {
            s = AttributeField(&er, w2, &e.attributes);
          } else if (f2 == 4) {
            s = Uint32Varint(&er, w2, "dropped_attributes_count", &e.dropped_attributes_count);
          } else {
            s = er.Skip(w2);
          }
        }
        break;
      }
      case 12:
        s = Uint32Varint(&r, wire, "dropped_events_count", &span->dropped_events_count);
        break;
      case 13: {  // Link: trace_id=1, span_id=2, trace_state=3, attributes=4, dropped=5, flags=6
        if (s = r.Expect(wire, kLength, "links"); s.ok()) s = r.Bytes(&v, &at);
        SpanLink& l = span->links.emplace_back();
        Reader lr(v, at);
        while (s.ok() && !lr.done()) {
          uint32_t f2, w2;
          if (s = lr.Tag(&f2, &w2); !s.ok()) break;
          if (f2 == 1) {
            s = Id(&lr, w2, "link trace_id", &l.trace_id.bytes);
          } else if (f2 == 2) {
            s = Id(&lr, w2, "link span_id", &l.span_id.bytes);
          } else if (f2 == 3) {
            s = String(&lr, w2, "trace_state", &l.trace_state);
          } else if (f2 == 4) {
            s = AttributeField(&lr, w2, &l.attributes);
          } else if (f2 == 5) {
            s = Uint32Varint(&lr, w2, "dropped_attributes_count", &l.dropped_attributes_count);
          } else if (f2 == 6) {
            if (s = lr.Expect(w2, kFixed32, "flags"); s.ok()) s = lr.Fixed32(&l.flags);
          } else {
            s = lr.Skip(w2);
          }
        }
        break;
      }
      case 14:
        s = Uint32Varint(&r, wire, "dropped_links_count", &span->dropped_links_count);
        break;
      case 15: {  // Status: message=2, code=3
        if (s = r.Expect(wire, kLength, "status"); s.ok()) s = r.Bytes(&v, &at);
        Reader sr(v, at);
        while (s.ok() && !sr.done()) {
          uint32_t f2, w2;
          if (s = sr.Tag(&f2, &w2); !s.ok()) break;
          if (f2 == 2) {
            s = String(&sr, w2, "message", &span->status_message);
          } else if (f2 == 3) {
            if (s = sr.Expect(w2, kVarint, "code"); s.ok() && !sr.Varint(&n)) s = sr.Error("truncated varint");
            if (s.ok() && n > 2) s = sr.Error(absl::StrFormat("status code %d is not 0-2", n));
            span->status_code = static_cast<StatusCode>(n);
          } else {
            s = sr.Skip(w2);
          }
        }
        break;
      }
      case 16:
        if (s = r.Expect(wire, kFixed32, "flags"); s.ok()) s = r.Fixed32(&f32);
        span->flags = f32;
        break;
      default:
        s = r.Skip(wire);
    }
    if (!s.ok()) return s;
  }
  if (!span->trace_id.IsValid()) return r.Error("span without a valid trace_id");
  if (!span->span_id.IsValid()) return r.Error("span without a valid span_id");
  return absl::OkStatus();
}

// ScopeSpans (and the older InstrumentationLibrarySpans, same layout): scope=1, spans=2,
// schema_url=3. `context` carries the resource fields.
absl::Status DecodeScopeSpans(std::string_view data, size_t base, const Span& context,
                              std::vector<Span>* out) {
  Span scoped = context;
  std::vector<std::pair<std::string_view, size_t>> spans;
  Reader r(data, base);
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    std::string_view v;
    size_t at = 0;
    if (field == 1) {  // InstrumentationScope: name=1, version=2, attributes=3
      if (s = r.Expect(wire, kLength, "scope"); s.ok()) s = r.Bytes(&v, &at);
      Reader sr(v, at);
      while (s.ok() && !sr.done()) {
        uint32_t f2, w2;
        if (s = sr.Tag(&f2, &w2); !s.ok()) break;
        if (f2 == 1) {
          s = String(&sr, w2, "scope name", &scoped.scope_name);
        } else if (f2 == 2) {
          s = String(&sr, w2, "scope version", &scoped.scope_version);
        } else if (f2 == 3) {
          s = AttributeField(&sr, w2, &scoped.scope_attributes);
        } else {
          s = sr.Skip(w2);
        }
      }
    } else if (field == 2) {
      if (s = r.Expect(wire, kLength, "spans"); s.ok()) s = r.Bytes(&v, &at);
      if (s.ok()) spans.push_back({v, at});  // the scope may come after the spans
    } else if (field == 3) {
      s = String(&r, wire, "schema_url", &scoped.scope_schema_url);
    } else {
      s = r.Skip(wire);
    }
    if (!s.ok()) return s;
  }
  for (const auto& [bytes, at] : spans) {
    Span span = scoped;
    absl::Status s = DecodeProtoSpan(bytes, at, &span);
    if (!s.ok()) return s;
    out->push_back(std::move(span));
  }
  return absl::OkStatus();
}

absl::Status DecodeResourceSpans(std::string_view data, size_t base, std::vector<Span>* out) {
  Span context;
  std::vector<std::pair<std::string_view, size_t>> scopes;
  Reader r(data, base);
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    std::string_view v;
    size_t at = 0;
    if (field == 1) {  // Resource: attributes=1
      if (s = r.Expect(wire, kLength, "resource"); s.ok()) s = r.Bytes(&v, &at);
      Reader rr(v, at);
      while (s.ok() && !rr.done()) {
        uint32_t f2, w2;
        if (s = rr.Tag(&f2, &w2); !s.ok()) break;
        s = f2 == 1 ? AttributeField(&rr, w2, &context.resource_attributes) : rr.Skip(w2);
      }
    } else if (field == 2 || field == 1000) {  // scope_spans; instrumentation_library_spans
      if (s = r.Expect(wire, kLength, "scope_spans"); s.ok()) s = r.Bytes(&v, &at);
      if (s.ok()) scopes.push_back({v, at});
    } else if (field == 3) {
      s = String(&r, wire, "schema_url", &context.resource_schema_url);
    } else {
      s = r.Skip(wire);
    }
    if (!s.ok()) return s;
  }
  if (const AnyValue* name = FindAttribute(context.resource_attributes, "service.name");
      name != nullptr && name->type() == AnyValue::Type::kString) {
    context.service_name = name->string_value();
  }
  for (const auto& [bytes, at] : scopes) {
    absl::Status s = DecodeScopeSpans(bytes, at, context, out);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// --- Encoding ------------------------------------------------------------------------------

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

absl::Status DecodeOtlpTraces(std::string_view message, std::vector<Span>* out) {
  std::vector<Span> spans;
  Reader r(message, 0);
  while (!r.done()) {
    uint32_t field, wire;
    absl::Status s = r.Tag(&field, &wire);
    if (!s.ok()) return s;
    if (field == 1) {
      std::string_view v;
      size_t at = 0;
      if (s = r.Expect(wire, kLength, "resource_spans"); s.ok()) s = r.Bytes(&v, &at);
      if (s.ok()) s = DecodeResourceSpans(v, at, &spans);
    } else {
      s = r.Skip(wire);
    }
    if (!s.ok()) return s;
  }
  out->insert(out->end(), std::make_move_iterator(spans.begin()),
              std::make_move_iterator(spans.end()));
  return absl::OkStatus();
}

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
