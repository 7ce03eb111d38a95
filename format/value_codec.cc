// The value, attribute list, event list, link list and context encodings (value_codec.h).

#include "format/value_codec.h"

namespace spanstore {
namespace {

// Fills `*v` with `n` elements decoded by decode(element), reusing the elements already there.
// Elements beyond those are added as they decode, not sized by `n` first: a count is bounded
// only by the bytes left (a block column may hold 256 MiB), and an element takes one or two
// bytes encoded but 40 (AnyValue), 72 (KeyValue) or ~100 (an event) in memory.
template <typename T, typename Decode>
bool Elements(std::vector<T>* v, uint64_t n, Decode decode) {
  constexpr uint64_t kMaxReserve = 64;  // covers nearly every list in one allocation
  if (v->size() > n) v->resize(n);
  v->reserve(std::min(n, std::max<uint64_t>(v->size(), kMaxReserve)));
  for (uint64_t i = 0; i < n; ++i) {
    if (i == v->size()) v->emplace_back();
    if (!decode(&(*v)[i])) return false;
  }
  return true;
}

}  // namespace

void EncodeAttributeList(const Attributes& attributes, std::string* out) {
  PutVarint64(out, attributes.size());
  for (const KeyValue& kv : attributes) {
    PutLengthPrefixed(out, kv.key);
    EncodeAnyValue(kv.value, out);
  }
}

void EncodeAnyValue(const AnyValue& v, std::string* out) {
  out->push_back(static_cast<char>(ValueTagOf(v.type())));
  switch (v.type()) {
    case AnyValue::Type::kEmpty:
      break;
    case AnyValue::Type::kString:
      PutLengthPrefixed(out, v.string_value());
      break;
    case AnyValue::Type::kBool:
      out->push_back(v.bool_value() ? 1 : 0);
      break;
    case AnyValue::Type::kInt:
      PutVarint64(out, ZigZagEncode(v.int_value()));
      break;
    case AnyValue::Type::kDouble: {
      uint64_t bits;
      const double d = v.double_value();
      std::memcpy(&bits, &d, 8);
      PutFixed64(out, bits);
      break;
    }
    case AnyValue::Type::kBytes:
      PutLengthPrefixed(out, v.bytes_value());
      break;
    case AnyValue::Type::kArray:
      PutVarint64(out, v.array_value().size());
      for (const AnyValue& e : v.array_value()) EncodeAnyValue(e, out);
      break;
    case AnyValue::Type::kMap:
      EncodeAttributeList(v.map_value(), out);
      break;
  }
}

void EncodeEventList(const std::vector<SpanEvent>& events, uint64_t span_start, std::string* out) {
  PutVarint64(out, events.size());
  for (const SpanEvent& e : events) {
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(e.time_unix_nano - span_start)));
    PutLengthPrefixed(out, e.name);
    EncodeAttributeList(e.attributes, out);
    PutVarint32(out, e.dropped_attributes_count);
  }
}

void EncodeLinkList(const std::vector<SpanLink>& links, std::string* out) {
  PutVarint64(out, links.size());
  for (const SpanLink& l : links) {
    out->append(reinterpret_cast<const char*>(l.trace_id.bytes.data()), 16);
    out->append(reinterpret_cast<const char*>(l.span_id.bytes.data()), 8);
    PutLengthPrefixed(out, l.trace_state);
    EncodeAttributeList(l.attributes, out);
    PutVarint32(out, l.dropped_attributes_count);
    PutVarint32(out, l.flags);
  }
}

void EncodeSpanContext(const Span& span, std::string* out) {
  EncodeAttributeList(span.resource_attributes, out);
  PutLengthPrefixed(out, span.resource_schema_url);
  PutLengthPrefixed(out, span.scope_name);
  PutLengthPrefixed(out, span.scope_version);
  EncodeAttributeList(span.scope_attributes, out);
  PutLengthPrefixed(out, span.scope_schema_url);
}

bool ValueDecoder::Attributes(spanstore::Attributes* attributes, int depth) {
  uint64_t n;
  if (!Count(&n)) return false;
  return Elements(attributes, n,
                  [&](KeyValue* kv) { return String(&kv->key) && Value(&kv->value, depth); });
}

bool ValueDecoder::Value(AnyValue* v, int depth) {
  if (depth > kMaxValueDepth) return Fail("value nested too deeply");
  if (in_.empty()) return Fail("value type");
  const auto tag = static_cast<ValueTag>(in_[0]);
  in_.remove_prefix(1);
  switch (tag) {
    case ValueTag::kEmpty:
      v->set_empty();
      return true;
    case ValueTag::kString:
    case ValueTag::kBytes: {
      std::string_view s;
      if (!GetLengthPrefixed(&in_, &s)) return Fail("string");
      if (tag == ValueTag::kString) {
        v->set_string(s);
      } else {
        v->set_bytes(s);
      }
      return true;
    }
    case ValueTag::kBool:
      if (in_.empty() || static_cast<uint8_t>(in_[0]) > 1) return Fail("bool");
      v->set_bool(in_[0] == 1);
      in_.remove_prefix(1);
      return true;
    case ValueTag::kInt: {
      uint64_t z;
      if (!Varint64(&z)) return false;
      v->set_int(ZigZagDecode(z));
      return true;
    }
    case ValueTag::kDouble: {
      uint64_t bits;
      if (!GetFixed64(&in_, &bits)) return Fail("double");
      double d;
      std::memcpy(&d, &bits, 8);
      v->set_double(d);
      return true;
    }
    case ValueTag::kArray: {
      uint64_t n;
      if (!Count(&n)) return false;
      return Elements(&v->reuse_array(), n, [&](AnyValue* e) { return Value(e, depth + 1); });
    }
    case ValueTag::kMap:
      return Attributes(&v->reuse_map(), depth + 1);
  }
  return Fail("value type byte");
}

bool ValueDecoder::EventList(uint64_t span_start, std::vector<SpanEvent>* events) {
  uint64_t n;
  if (!Count(&n)) return false;
  return Elements(events, n, [&](SpanEvent* e) {
    uint64_t delta = 0;
    if (!Varint64(&delta) || !String(&e->name) || !Attributes(&e->attributes) ||
        !Varint32(&e->dropped_attributes_count)) {
      return false;
    }
    e->time_unix_nano = span_start + static_cast<uint64_t>(ZigZagDecode(delta));
    return true;
  });
}

bool ValueDecoder::LinkList(std::vector<SpanLink>* links) {
  uint64_t n;
  if (!Count(&n)) return false;
  return Elements(links, n, [&](SpanLink* l) {
    return Raw(l->trace_id.bytes.data(), 16) && Raw(l->span_id.bytes.data(), 8) &&
           String(&l->trace_state) && Attributes(&l->attributes) &&
           Varint32(&l->dropped_attributes_count) && Varint32(&l->flags);
  });
}

bool ValueDecoder::Context(Span* span) {
  return Attributes(&span->resource_attributes) && String(&span->resource_schema_url) &&
         String(&span->scope_name) && String(&span->scope_version) &&
         Attributes(&span->scope_attributes) && String(&span->scope_schema_url);
}

bool DecodeAnyValue(std::string_view* in, AnyValue* value) {
  ValueDecoder d(*in);
  if (!d.Value(value)) return false;
  *in = d.rest();
  return true;
}

bool DecodeAttributeList(std::string_view* in, Attributes* attributes) {
  ValueDecoder d(*in);
  if (!d.Attributes(attributes)) return false;
  *in = d.rest();
  return true;
}

bool DecodeEventList(std::string_view* in, uint64_t span_start, std::vector<SpanEvent>* events) {
  ValueDecoder d(*in);
  if (!d.EventList(span_start, events)) return false;
  *in = d.rest();
  return true;
}

bool DecodeLinkList(std::string_view* in, std::vector<SpanLink>* links) {
  ValueDecoder d(*in);
  if (!d.LinkList(links)) return false;
  *in = d.rest();
  return true;
}

bool DecodeSpanContext(std::string_view in, Span* span) {
  ValueDecoder d(in);
  return d.Context(span) && d.done();
}

}  // namespace spanstore
