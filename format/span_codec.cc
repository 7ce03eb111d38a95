// Row encoding of spans. Layout of the body that follows the 48-byte header (see span_codec.h):
//   [parent_span_id 8]            only when header flag kHasParent is set
//   trace_state, service_name, name, status_message       length-prefixed strings
//   flags                                                varint
//   attributes, dropped_attributes_count                 attribute list, varint
//   resource_attributes, resource_schema_url             attribute list, string
//   scope_name, scope_version, scope_attributes, scope_schema_url
//   events: count, then per event: zig-zag(time - start), name, attributes, dropped count
//   dropped_events_count
//   links: count, then per link: trace id 16, span id 8, trace_state, attributes, dropped, flags
//   dropped_links_count
// An attribute list is a varint count of (key string, value); a value is a type byte then:
// string/bytes length-prefixed, bool one byte, int zig-zag varint, double fixed64, array a count
// of values, map a count of (key, value).

#include "format/span_codec.h"

#include <algorithm>
#include <cstring>

#include <xxhash.h>

#include "absl/strings/str_format.h"
#include "util/coding.h"

namespace spanstore {
namespace {

constexpr uint16_t kHasParent = 1;
// The span's context (resource and scope) is not inline: the body starts with a varint id into
// the batch's (or memtable's) context table.
constexpr uint16_t kContextRef = 2;
// Deeper nesting than this is refused by Append (store validation) and treated as corruption
// when decoding, so hostile input cannot exhaust the stack.
constexpr int kMaxValueDepth = 64;

void EncodeValue(const AnyValue& v, std::string* out);

void EncodeAttributes(const Attributes& attrs, std::string* out) {
  PutVarint64(out, attrs.size());
  for (const KeyValue& kv : attrs) {
    PutLengthPrefixed(out, kv.key);
    EncodeValue(kv.value, out);
  }
}

void EncodeValue(const AnyValue& v, std::string* out) {
  out->push_back(static_cast<char>(v.type()));
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
      for (const AnyValue& e : v.array_value()) EncodeValue(e, out);
      break;
    case AnyValue::Type::kMap:
      EncodeAttributes(v.map_value(), out);
      break;
  }
}

// A cursor over a span body; every Get fails (returns false) rather than read past the end.
class BodyDecoder {
 public:
  explicit BodyDecoder(std::string_view in) : in_(in) {}

  bool String(std::string* s) {
    std::string_view v;
    if (!GetLengthPrefixed(&in_, &v)) return Fail("string");
    s->assign(v.data(), v.size());
    return true;
  }
  bool Varint32(uint32_t* v) { return GetVarint32(&in_, v) || Fail("varint"); }
  bool Varint64(uint64_t* v) { return GetVarint64(&in_, v) || Fail("varint"); }
  bool Raw(uint8_t* dst, size_t n) {
    if (in_.size() < n) return Fail("fixed-size field");
    std::memcpy(dst, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count of elements that each take at least one byte: larger than what remains is corrupt.
  bool Count(uint64_t* n) {
    if (!GetVarint64(&in_, n)) return Fail("count");
    if (*n > in_.size()) return Fail("count larger than the remaining bytes");
    return true;
  }

  // Values decode in place: a span refilled with the next span's fields (a compaction or a
  // scan decoding into one object) keeps its strings' and vectors' buffers, so decoding
  // allocates next to nothing.
  bool Attributes(spanstore::Attributes* attrs, int depth) {
    uint64_t n;
    if (!Count(&n)) return false;
    return Elements(attrs, n,
                    [&](KeyValue* kv) { return String(&kv->key) && Value(&kv->value, depth); });
  }

  // Fills `*v` with `n` elements decoded by decode(element), reusing the elements already
  // there. Elements beyond those are added as they decode, not sized by `n` first: a count is
  // bounded only by the bytes left (a block column may hold 256 MiB), and an element takes one
  // or two bytes encoded but 40 (AnyValue) or 72 (KeyValue) in memory.
  template <typename T, typename Decode>
  static bool Elements(std::vector<T>* v, uint64_t n, Decode decode) {
    constexpr uint64_t kMaxReserve = 64;  // covers nearly every list in one allocation
    if (v->size() > n) v->resize(n);
    v->reserve(std::min(n, std::max<uint64_t>(v->size(), kMaxReserve)));
    for (uint64_t i = 0; i < n; ++i) {
      if (i == v->size()) v->emplace_back();
      if (!decode(&(*v)[i])) return false;
    }
    return true;
  }

  bool Value(AnyValue* v, int depth) {
    if (depth > kMaxValueDepth) return Fail("value nested too deeply");
    if (in_.empty()) return Fail("value type");
    const uint8_t type = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    switch (static_cast<AnyValue::Type>(type)) {
      case AnyValue::Type::kEmpty:
        v->set_empty();
        return true;
      case AnyValue::Type::kString:
      case AnyValue::Type::kBytes: {
        std::string_view s;
        if (!GetLengthPrefixed(&in_, &s)) return Fail("string");
        if (type == static_cast<uint8_t>(AnyValue::Type::kString)) {
          v->set_string(s);
        } else {
          v->set_bytes(s);
        }
        return true;
      }
      case AnyValue::Type::kBool:
        if (in_.empty() || static_cast<uint8_t>(in_[0]) > 1) return Fail("bool");
        v->set_bool(in_[0] == 1);
        in_.remove_prefix(1);
        return true;
      case AnyValue::Type::kInt: {
        uint64_t z;
        if (!Varint64(&z)) return false;
        v->set_int(ZigZagDecode(z));
        return true;
      }
      case AnyValue::Type::kDouble: {
        uint64_t bits;
        if (!GetFixed64(&in_, &bits)) return Fail("double");
        double d;
        std::memcpy(&d, &bits, 8);
        v->set_double(d);
        return true;
      }
      case AnyValue::Type::kArray: {
        uint64_t n;
        if (!Count(&n)) return false;
        return Elements(&v->reuse_array(), n,
                        [&](AnyValue* e) { return Value(e, depth + 1); });
      }
      case AnyValue::Type::kMap:
        return Attributes(&v->reuse_map(), depth + 1);
    }
    return Fail("value type byte");
  }

  bool done() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }
  std::string_view rest() const { return in_; }
  const char* failure() const { return failure_; }

 private:
  bool Fail(const char* what) {
    if (failure_ == nullptr) failure_ = what;
    return false;
  }
  std::string_view in_;
  const char* failure_ = nullptr;
};

void EncodeContext(const Span& span, std::string* out) {
  EncodeAttributes(span.resource_attributes, out);
  PutLengthPrefixed(out, span.resource_schema_url);
  PutLengthPrefixed(out, span.scope_name);
  PutLengthPrefixed(out, span.scope_version);
  EncodeAttributes(span.scope_attributes, out);
  PutLengthPrefixed(out, span.scope_schema_url);
}

bool SameContext(const Span& a, const Span& b) {
  return a.resource_attributes == b.resource_attributes &&
         a.resource_schema_url == b.resource_schema_url && a.scope_name == b.scope_name &&
         a.scope_version == b.scope_version && a.scope_attributes == b.scope_attributes &&
         a.scope_schema_url == b.scope_schema_url;
}

// Encodes `span`; its context goes inline when context_id < 0, else as a reference.
void EncodeSpanImpl(const Span& span, int64_t context_id, std::string* out) {
  const size_t header_at = out->size();
  out->resize(header_at + kEncodedSpanHeaderSize);
  char* h = out->data() + header_at;
  std::memcpy(h, span.trace_id.bytes.data(), 16);
  std::memcpy(h + 16, span.span_id.bytes.data(), 8);
  EncodeFixed64(h + 24, span.start_time_unix_nano);
  EncodeFixed64(h + 32, span.end_time_unix_nano);
  h[40] = static_cast<char>(span.kind);
  h[41] = static_cast<char>(span.status_code);
  const uint16_t flags = (span.parent_span_id.IsValid() ? kHasParent : 0) |
                         (context_id >= 0 ? kContextRef : 0);
  std::memcpy(h + 42, &flags, 2);

  if (context_id >= 0) PutVarint64(out, static_cast<uint64_t>(context_id));
  if (flags & kHasParent) {
    out->append(reinterpret_cast<const char*>(span.parent_span_id.bytes.data()), 8);
  }
  PutLengthPrefixed(out, span.trace_state);
  PutLengthPrefixed(out, span.service_name);
  PutLengthPrefixed(out, span.name);
  PutLengthPrefixed(out, span.status_message);
  PutVarint32(out, span.flags);
  EncodeAttributes(span.attributes, out);
  PutVarint32(out, span.dropped_attributes_count);
  if (context_id < 0) EncodeContext(span, out);
  PutVarint64(out, span.events.size());
  for (const SpanEvent& e : span.events) {
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(e.time_unix_nano - span.start_time_unix_nano)));
    PutLengthPrefixed(out, e.name);
    EncodeAttributes(e.attributes, out);
    PutVarint32(out, e.dropped_attributes_count);
  }
  PutVarint32(out, span.dropped_events_count);
  PutVarint64(out, span.links.size());
  for (const SpanLink& l : span.links) {
    out->append(reinterpret_cast<const char*>(l.trace_id.bytes.data()), 16);
    out->append(reinterpret_cast<const char*>(l.span_id.bytes.data()), 8);
    PutLengthPrefixed(out, l.trace_state);
    EncodeAttributes(l.attributes, out);
    PutVarint32(out, l.dropped_attributes_count);
    PutVarint32(out, l.flags);
  }
  PutVarint32(out, span.dropped_links_count);

  const uint64_t body = out->size() - header_at - kEncodedSpanHeaderSize;
  // A span over 4 GiB cannot be framed; Append limits spans far below this (max_span_bytes).
  EncodeFixed32(out->data() + header_at + 44, static_cast<uint32_t>(body));
}

}  // namespace

void EncodeSpan(const Span& span, std::string* out) { EncodeSpanImpl(span, -1, out); }

SpanBatchEncoder::SpanBatchEncoder(size_t count, std::string* out) : out_(out) {
  PutVarint64(out_, count);
}

namespace {

// A cheap fingerprint of a span's context: spans whose contexts differ almost always differ here
// too, so a full comparison runs only against the few contexts that share it.
uint64_t ContextSignature(const Span& span) {
  // Only context fields may go in: two spans with equal contexts must get equal signatures.
  uint64_t h = XXH3_64bits(span.scope_name.data(), span.scope_name.size());
  h ^= span.resource_attributes.size() * 0x9E3779B97F4A7C15ull;
  h ^= span.scope_attributes.size() * 0xC2B2AE3D27D4EB4Full;
  // The service and instance tell contexts apart cheaply.
  for (const KeyValue& kv : span.resource_attributes) {
    if (kv.value.type() == AnyValue::Type::kString &&
        (kv.key == "service.name" || kv.key == "service.instance.id")) {
      h = XXH3_64bits_withSeed(kv.value.string_value().data(), kv.value.string_value().size(), h);
    }
  }
  return h;
}

}  // namespace

size_t SpanBatchEncoder::Add(const Span& span) {
  // Spans of one resource and scope usually arrive together: try the last context first.
  int64_t id = -1;
  if (last_ >= 0 && SameContext(*representatives_[last_], span)) {
    id = last_;
  } else {
    std::vector<uint32_t>& candidates = by_signature_[ContextSignature(span)];
    for (uint32_t c : candidates) {
      if (SameContext(*representatives_[c], span)) {
        id = c;
        break;
      }
    }
    if (id < 0) {
      id = static_cast<int64_t>(representatives_.size());
      representatives_.push_back(&span);
      candidates.push_back(static_cast<uint32_t>(id));
      std::string encoded;
      EncodeContext(span, &encoded);
      PutLengthPrefixed(&contexts_, encoded);
    }
  }
  last_ = id;
  const size_t before = out_->size();
  EncodeSpanImpl(span, id, out_);
  return out_->size() - before;
}

void SpanBatchEncoder::Finish() {
  PutVarint64(out_, representatives_.size());
  out_->append(contexts_);
}

void EncodeSpanBatch(absl::Span<const Span> spans, std::string* out) {
  SpanBatchEncoder encoder(spans.size(), out);
  for (const Span& s : spans) encoder.Add(s);
  encoder.Finish();
}

absl::StatusOr<size_t> EncodedSpanSize(std::string_view data) {
  if (data.size() < kEncodedSpanHeaderSize) {
    return absl::DataLossError(absl::StrFormat(
        "encoded span: %d bytes left, need a %d-byte header", data.size(), kEncodedSpanHeaderSize));
  }
  const uint64_t body = DecodeFixed32(data.data() + 44);
  if (body > data.size() - kEncodedSpanHeaderSize) {
    return absl::DataLossError(absl::StrFormat("encoded span: body of %d bytes, only %d remain",
                                               body, data.size() - kEncodedSpanHeaderSize));
  }
  return kEncodedSpanHeaderSize + body;
}

absl::StatusOr<EncodedSpanHeader> PeekSpanHeader(std::string_view data) {
  auto size = EncodedSpanSize(data);
  if (!size.ok()) return size.status();
  EncodedSpanHeader h;
  std::memcpy(h.trace_id.bytes.data(), data.data(), 16);
  std::memcpy(h.span_id.bytes.data(), data.data() + 16, 8);
  h.start_time_unix_nano = DecodeFixed64(data.data() + 24);
  h.end_time_unix_nano = DecodeFixed64(data.data() + 32);
  h.kind = static_cast<SpanKind>(data[40]);
  h.status_code = static_cast<StatusCode>(data[41]);
  h.body_size = DecodeFixed32(data.data() + 44);
  return h;
}

namespace {

// Skips the context reference at the front of a body, if the span has one.
bool SkipContextRef(uint16_t flags, std::string_view* body, uint64_t* id) {
  *id = 0;
  return (flags & kContextRef) == 0 || GetVarint64(body, id);
}

uint16_t FlagsOf(std::string_view data) {
  uint16_t flags;
  std::memcpy(&flags, data.data() + 42, 2);
  return flags;
}

}  // namespace

absl::Status PeekServiceAndName(std::string_view data, std::string_view* service,
                                std::string_view* name) {
  auto size = EncodedSpanSize(data);
  if (!size.ok()) return size.status();
  const uint16_t flags = FlagsOf(data);
  std::string_view body = data.substr(kEncodedSpanHeaderSize, *size - kEncodedSpanHeaderSize);
  uint64_t id;
  if (!SkipContextRef(flags, &body, &id)) return absl::DataLossError("encoded span: bad context");
  if (flags & kHasParent) {
    if (body.size() < 8) return absl::DataLossError("encoded span: truncated parent id");
    body.remove_prefix(8);
  }
  std::string_view trace_state;
  if (!GetLengthPrefixed(&body, &trace_state) || !GetLengthPrefixed(&body, service) ||
      !GetLengthPrefixed(&body, name)) {
    return absl::DataLossError("encoded span: malformed service or name");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SpanContextId(std::string_view data) {
  auto size = EncodedSpanSize(data);
  if (!size.ok()) return size.status();
  const uint16_t flags = FlagsOf(data);
  if ((flags & kContextRef) == 0) return absl::InvalidArgumentError("span has an inline context");
  std::string_view body = data.substr(kEncodedSpanHeaderSize);
  uint64_t id;
  if (!SkipContextRef(flags, &body, &id)) return absl::DataLossError("encoded span: bad context");
  return id;
}

absl::Status DecodeSpan(std::string_view data, Span* span) { return DecodeSpan({data, {}}, span); }

namespace {

absl::Status DecodeSpanImpl(const EncodedSpan& encoded, bool separate_context, Span* span) {
  const std::string_view data = encoded.span;
  auto size = EncodedSpanSize(data);
  if (!size.ok()) return size.status();
  if (*size != data.size()) {
    return absl::DataLossError(absl::StrFormat(
        "encoded span: %d bytes given, header says %d", data.size(), *size));
  }
  const char* h = data.data();
  std::memcpy(span->trace_id.bytes.data(), h, 16);
  std::memcpy(span->span_id.bytes.data(), h + 16, 8);
  span->start_time_unix_nano = DecodeFixed64(h + 24);
  span->end_time_unix_nano = DecodeFixed64(h + 32);
  const uint8_t kind = static_cast<uint8_t>(h[40]);
  const uint8_t status = static_cast<uint8_t>(h[41]);
  if (kind > static_cast<uint8_t>(SpanKind::kConsumer) ||
      status > static_cast<uint8_t>(StatusCode::kError)) {
    return absl::DataLossError(
        absl::StrFormat("encoded span: invalid kind %d or status %d", kind, status));
  }
  span->kind = static_cast<SpanKind>(kind);
  span->status_code = static_cast<StatusCode>(status);
  const uint16_t flags = FlagsOf(data);
  if (flags & ~(kHasParent | kContextRef)) {
    return absl::DataLossError(absl::StrFormat("encoded span: unknown flags 0x%x", flags));
  }
  const bool context_ref = (flags & kContextRef) != 0;
  if (context_ref && encoded.context.data() == nullptr) {
    return absl::DataLossError("encoded span: refers to a context that was not supplied");
  }

  std::string_view body = data.substr(kEncodedSpanHeaderSize);
  uint64_t context_id;
  if (!SkipContextRef(flags, &body, &context_id)) {
    return absl::DataLossError("encoded span: malformed context reference");
  }
  BodyDecoder d(body);
  span->parent_span_id = SpanId();
  bool ok = (flags & kHasParent) == 0 || d.Raw(span->parent_span_id.bytes.data(), 8);
  ok = ok && d.String(&span->trace_state) && d.String(&span->service_name) &&
       d.String(&span->name) && d.String(&span->status_message) && d.Varint32(&span->flags) &&
       d.Attributes(&span->attributes, 0) && d.Varint32(&span->dropped_attributes_count);
  if (ok && context_ref && !separate_context) {
    span->resource_attributes.clear();
    span->resource_schema_url.clear();
    span->scope_name.clear();
    span->scope_version.clear();
    span->scope_attributes.clear();
    span->scope_schema_url.clear();
  } else if (ok) {
    BodyDecoder separate_context(encoded.context);
    BodyDecoder& c = context_ref ? separate_context : d;
    ok = c.Attributes(&span->resource_attributes, 0) && c.String(&span->resource_schema_url) &&
         c.String(&span->scope_name) && c.String(&span->scope_version) &&
         c.Attributes(&span->scope_attributes, 0) && c.String(&span->scope_schema_url) &&
         (!context_ref || c.done());
    if (!ok && context_ref && c.failure() == nullptr) {
      return absl::DataLossError("encoded span context: unexpected trailing bytes");
    }
    if (!ok) {
      return absl::DataLossError(absl::StrFormat("encoded span %s/%s: malformed context %s",
                                                 span->trace_id.ToHex(), span->span_id.ToHex(),
                                                 c.failure() ? c.failure() : "bytes"));
    }
  }
  uint64_t n = 0;
  ok = ok && d.Count(&n);
  // Events and links grow as they decode (an event is a few bytes encoded, ~100 in memory:
  // a count bounded only by the bytes left must not size the vector).
  ok = ok && BodyDecoder::Elements(&span->events, n, [&](SpanEvent* e) {
    uint64_t delta = 0;
    const bool good = d.Varint64(&delta) && d.String(&e->name) &&
                      d.Attributes(&e->attributes, 0) && d.Varint32(&e->dropped_attributes_count);
    e->time_unix_nano = span->start_time_unix_nano + static_cast<uint64_t>(ZigZagDecode(delta));
    return good;
  });
  ok = ok && d.Varint32(&span->dropped_events_count) && d.Count(&n);
  ok = ok && BodyDecoder::Elements(&span->links, n, [&](SpanLink* l) {
    return d.Raw(l->trace_id.bytes.data(), 16) && d.Raw(l->span_id.bytes.data(), 8) &&
           d.String(&l->trace_state) && d.Attributes(&l->attributes, 0) &&
           d.Varint32(&l->dropped_attributes_count) && d.Varint32(&l->flags);
  });
  ok = ok && d.Varint32(&span->dropped_links_count);
  if (!ok) {
    return absl::DataLossError(absl::StrFormat("encoded span %s/%s: malformed %s",
                                               span->trace_id.ToHex(), span->span_id.ToHex(),
                                               d.failure() ? d.failure() : "body"));
  }
  if (!d.done()) {
    return absl::DataLossError(absl::StrFormat("encoded span: %d unexpected trailing bytes",
                                               d.remaining()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeSpan(const EncodedSpan& encoded, Span* span) {
  return DecodeSpanImpl(encoded, true, span);
}

absl::Status DecodeSpanWithoutContext(const EncodedSpan& encoded, Span* span) {
  return DecodeSpanImpl(encoded, false, span);
}

absl::Status SplitSpanBatch(std::string_view payload, SpanBatchView* batch) {
  std::string_view in = payload;
  uint64_t count;
  if (!GetVarint64(&in, &count)) return absl::DataLossError("span batch: malformed count");
  if (count > in.size() / kEncodedSpanHeaderSize) {
    return absl::DataLossError(absl::StrFormat(
        "span batch: count %d cannot fit in %d bytes", count, in.size()));
  }
  batch->spans.clear();
  batch->spans.reserve(count);
  batch->span_contexts.clear();
  batch->span_contexts.reserve(count);
  uint64_t max_context = 0;
  bool any_ref = false;
  for (uint64_t i = 0; i < count; ++i) {
    auto size = EncodedSpanSize(in);
    if (!size.ok()) {
      return absl::DataLossError(absl::StrFormat("span batch: span %d of %d: %s", i, count,
                                                 size.status().message()));
    }
    const std::string_view span = in.substr(0, *size);
    in.remove_prefix(*size);
    uint64_t id = 0;
    std::string_view body = span.substr(kEncodedSpanHeaderSize);
    if (!SkipContextRef(FlagsOf(span), &body, &id) || id > UINT32_MAX) {
      return absl::DataLossError(absl::StrFormat("span batch: span %d: bad context reference", i));
    }
    any_ref = any_ref || (FlagsOf(span) & kContextRef) != 0;
    max_context = std::max(max_context, id);
    batch->spans.push_back(span);
    batch->span_contexts.push_back(
        (FlagsOf(span) & kContextRef) ? static_cast<uint32_t>(id) : kNoContext);
  }
  uint64_t contexts;
  if (!GetVarint64(&in, &contexts) || contexts > in.size()) {
    return absl::DataLossError("span batch: malformed context count");
  }
  batch->contexts.clear();
  batch->contexts.reserve(contexts);
  for (uint64_t i = 0; i < contexts; ++i) {
    std::string_view c;
    if (!GetLengthPrefixed(&in, &c)) {
      return absl::DataLossError(absl::StrFormat("span batch: context %d of %d truncated", i, contexts));
    }
    batch->contexts.push_back(c);
  }
  if (any_ref && max_context >= contexts) {
    return absl::DataLossError(absl::StrFormat(
        "span batch: a span refers to context %d of %d", max_context, contexts));
  }
  if (!in.empty()) {
    return absl::DataLossError(
        absl::StrFormat("span batch: %d unexpected trailing bytes", in.size()));
  }
  return absl::OkStatus();
}

absl::Status DecodeSpanBatch(std::string_view payload, std::vector<Span>* spans) {
  SpanBatchView batch;
  absl::Status s = SplitSpanBatch(payload, &batch);
  if (!s.ok()) return s;
  spans->clear();
  spans->resize(batch.spans.size());
  for (size_t i = 0; i < batch.spans.size(); ++i) {
    const uint32_t c = batch.span_contexts[i];
    s = DecodeSpan({batch.spans[i], c == kNoContext ? std::string_view() : batch.contexts[c]},
                   &(*spans)[i]);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void EncodeAnyValue(const AnyValue& value, std::string* out) { EncodeValue(value, out); }
void EncodeAttributeList(const Attributes& attributes, std::string* out) {
  EncodeAttributes(attributes, out);
}
void EncodeSpanContext(const Span& span, std::string* out) { EncodeContext(span, out); }

bool DecodeAnyValue(std::string_view* in, AnyValue* value) {
  BodyDecoder d(*in);
  if (!d.Value(value, 0)) return false;
  *in = d.rest();
  return true;
}

bool DecodeAttributeList(std::string_view* in, Attributes* attributes) {
  BodyDecoder d(*in);
  if (!d.Attributes(attributes, 0)) return false;
  *in = d.rest();
  return true;
}

bool DecodeSpanContext(std::string_view in, Span* span) {
  BodyDecoder c(in);
  return c.Attributes(&span->resource_attributes, 0) && c.String(&span->resource_schema_url) &&
         c.String(&span->scope_name) && c.String(&span->scope_version) &&
         c.Attributes(&span->scope_attributes, 0) && c.String(&span->scope_schema_url) &&
         c.done();
}

}  // namespace spanstore
