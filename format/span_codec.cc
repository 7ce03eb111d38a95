// The row codec of spans and span batches (span_codec.h); the nested values, lists and
// contexts are value_codec.cc's, the constants row_format.h's. Layout of the body that follows
// the 48-byte header:
//   [context id]                  varint, only when header flag kSpanContextRef is set
//   [parent_span_id 8]            only when header flag kSpanHasParent is set
//   trace_state, service_name, name, status_message       length-prefixed strings
//   flags                                                varint
//   attributes, dropped_attributes_count                 attribute list, varint
//   [context]                     only when the context is inline
//   events, dropped_events_count                         event list, varint
//   links, dropped_links_count                           link list, varint

#include "format/span_codec.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include "absl/strings/str_format.h"
#include "format/row_format.h"
#include "format/value_codec.h"
#include "util/coding.h"

namespace spanstore {
namespace {

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
  std::memcpy(h + kSpanTraceIdAt, span.trace_id.bytes.data(), 16);
  std::memcpy(h + kSpanSpanIdAt, span.span_id.bytes.data(), 8);
  EncodeFixed64(h + kSpanStartAt, span.start_time_unix_nano);
  EncodeFixed64(h + kSpanEndAt, span.end_time_unix_nano);
  h[kSpanKindAt] = static_cast<char>(span.kind);
  h[kSpanStatusAt] = static_cast<char>(span.status_code);
  const uint16_t flags = (span.parent_span_id.IsValid() ? kSpanHasParent : 0) |
                         (context_id >= 0 ? kSpanContextRef : 0);
  std::memcpy(h + kSpanFlagsAt, &flags, 2);

  if (context_id >= 0) PutVarint64(out, static_cast<uint64_t>(context_id));
  if (flags & kSpanHasParent) {
    out->append(reinterpret_cast<const char*>(span.parent_span_id.bytes.data()), 8);
  }
  PutLengthPrefixed(out, span.trace_state);
  PutLengthPrefixed(out, span.service_name);
  PutLengthPrefixed(out, span.name);
  PutLengthPrefixed(out, span.status_message);
  PutVarint32(out, span.flags);
  EncodeAttributeList(span.attributes, out);
  PutVarint32(out, span.dropped_attributes_count);
  if (context_id < 0) EncodeSpanContext(span, out);
  EncodeEventList(span.events, span.start_time_unix_nano, out);
  PutVarint32(out, span.dropped_events_count);
  EncodeLinkList(span.links, out);
  PutVarint32(out, span.dropped_links_count);

  const uint64_t body = out->size() - header_at - kEncodedSpanHeaderSize;
  // A span over 4 GiB cannot be framed; Append limits spans far below this (max_span_bytes).
  EncodeFixed32(out->data() + header_at + kSpanBodySizeAt, static_cast<uint32_t>(body));
}

}  // namespace

void EncodeSpan(const Span& span, std::string* out) { EncodeSpanImpl(span, -1, out); }

void SpanBatchEncoder::Tables::Clear() {
  // Keeping capacity is the point; but not that of one huge batch for the thread's lifetime.
  const auto reset = [](auto& x) {
    if (x.capacity() * sizeof(x[0]) > kMaxKeptBytes) {
      std::remove_reference_t<decltype(x)>().swap(x);
    } else {
      x.clear();
    }
  };
  reset(contexts);
  reset(scratch);
  reset(representatives);
  reset(next_same);
  by_signature.clear();  // keeps its array while small (absl), frees it when large
}

SpanBatchEncoder::SpanBatchEncoder(size_t count, std::string* out, Tables* tables)
    : out_(out), t_(tables != nullptr ? tables : &own_) {
  t_->Clear();
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
  Tables& t = *t_;
  if (last_ >= 0 && SameContext(*t.representatives[last_], span)) {
    id = last_;
  } else {
    const auto head = t.by_signature.try_emplace(ContextSignature(span), Tables::kNone).first;
    for (uint32_t c = head->second; c != Tables::kNone; c = t.next_same[c]) {
      if (SameContext(*t.representatives[c], span)) {
        id = c;
        break;
      }
    }
    if (id < 0) {
      id = static_cast<int64_t>(t.representatives.size());
      t.representatives.push_back(&span);
      t.next_same.push_back(head->second);
      head->second = static_cast<uint32_t>(id);
      t.scratch.clear();
      EncodeSpanContext(span, &t.scratch);
      PutLengthPrefixed(&t.contexts, t.scratch);
    }
  }
  last_ = id;
  const size_t before = out_->size();
  EncodeSpanImpl(span, id, out_);
  return out_->size() - before;
}

void SpanBatchEncoder::Finish() {
  PutVarint64(out_, t_->representatives.size());
  out_->append(t_->contexts);
}

void EncodeSpanBatch(absl::Span<const Span> spans, std::string* out) {
  SpanBatchEncoder encoder(spans.size(), out);
  for (const Span& s : spans) encoder.Add(s);
  encoder.Finish();
}

absl::StatusOr<size_t> EncodedSpanSize(std::string_view data) {
  if (data.size() < kEncodedSpanHeaderSize) {
    return absl::DataLossError(absl::StrFormat("encoded span: %d bytes left, need a %d-byte header",
                                               data.size(), kEncodedSpanHeaderSize));
  }
  const uint64_t body = DecodeFixed32(data.data() + kSpanBodySizeAt);
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
  std::memcpy(h.trace_id.bytes.data(), data.data() + kSpanTraceIdAt, 16);
  std::memcpy(h.span_id.bytes.data(), data.data() + kSpanSpanIdAt, 8);
  h.start_time_unix_nano = DecodeFixed64(data.data() + kSpanStartAt);
  h.end_time_unix_nano = DecodeFixed64(data.data() + kSpanEndAt);
  h.kind = static_cast<SpanKind>(data[kSpanKindAt]);
  h.status_code = static_cast<StatusCode>(data[kSpanStatusAt]);
  h.body_size = DecodeFixed32(data.data() + kSpanBodySizeAt);
  return h;
}

namespace {

// Skips the context reference at the front of a body, if the span has one.
bool SkipContextRef(uint16_t flags, std::string_view* body, uint64_t* id) {
  *id = 0;
  return (flags & kSpanContextRef) == 0 || GetVarint64(body, id);
}

uint16_t FlagsOf(std::string_view data) {
  uint16_t flags;
  std::memcpy(&flags, data.data() + kSpanFlagsAt, 2);
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
  if (flags & kSpanHasParent) {
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
  if ((flags & kSpanContextRef) == 0) {
    return absl::InvalidArgumentError("span has an inline context");
  }
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
    return absl::DataLossError(
        absl::StrFormat("encoded span: %d bytes given, header says %d", data.size(), *size));
  }
  const char* h = data.data();
  std::memcpy(span->trace_id.bytes.data(), h + kSpanTraceIdAt, 16);
  std::memcpy(span->span_id.bytes.data(), h + kSpanSpanIdAt, 8);
  span->start_time_unix_nano = DecodeFixed64(h + kSpanStartAt);
  span->end_time_unix_nano = DecodeFixed64(h + kSpanEndAt);
  const uint8_t kind = static_cast<uint8_t>(h[kSpanKindAt]);
  const uint8_t status = static_cast<uint8_t>(h[kSpanStatusAt]);
  if (kind > static_cast<uint8_t>(SpanKind::kConsumer) ||
      status > static_cast<uint8_t>(StatusCode::kError)) {
    return absl::DataLossError(
        absl::StrFormat("encoded span: invalid kind %d or status %d", kind, status));
  }
  span->kind = static_cast<SpanKind>(kind);
  span->status_code = static_cast<StatusCode>(status);
  const uint16_t flags = FlagsOf(data);
  if (flags & ~(kSpanHasParent | kSpanContextRef)) {
    return absl::DataLossError(absl::StrFormat("encoded span: unknown flags 0x%x", flags));
  }
  const bool context_ref = (flags & kSpanContextRef) != 0;
  if (context_ref && encoded.context.data() == nullptr) {
    return absl::DataLossError("encoded span: refers to a context that was not supplied");
  }

  std::string_view body = data.substr(kEncodedSpanHeaderSize);
  uint64_t context_id;
  if (!SkipContextRef(flags, &body, &context_id)) {
    return absl::DataLossError("encoded span: malformed context reference");
  }
  ValueDecoder d(body);
  span->parent_span_id = SpanId();
  bool ok = (flags & kSpanHasParent) == 0 || d.Raw(span->parent_span_id.bytes.data(), 8);
  ok = ok && d.String(&span->trace_state) && d.String(&span->service_name) &&
       d.String(&span->name) && d.String(&span->status_message) && d.Varint32(&span->flags) &&
       d.Attributes(&span->attributes) && d.Varint32(&span->dropped_attributes_count);
  if (ok && context_ref && !separate_context) {
    span->resource_attributes.clear();
    span->resource_schema_url.clear();
    span->scope_name.clear();
    span->scope_version.clear();
    span->scope_attributes.clear();
    span->scope_schema_url.clear();
  } else if (ok) {
    ValueDecoder separate_context(encoded.context);
    ValueDecoder& c = context_ref ? separate_context : d;
    ok = c.Context(span) && (!context_ref || c.done());
    if (!ok && context_ref && c.failure() == nullptr) {
      return absl::DataLossError("encoded span context: unexpected trailing bytes");
    }
    if (!ok) {
      return absl::DataLossError(absl::StrFormat("encoded span %s/%s: malformed context %s",
                                                 span->trace_id.ToHex(), span->span_id.ToHex(),
                                                 c.failure() ? c.failure() : "bytes"));
    }
  }
  // Events and links grow as they decode (an event is a few bytes encoded, ~100 in memory:
  // a count bounded only by the bytes left must not size the vector).
  ok = ok && d.EventList(span->start_time_unix_nano, &span->events) &&
       d.Varint32(&span->dropped_events_count) && d.LinkList(&span->links);
  ok = ok && d.Varint32(&span->dropped_links_count);
  if (!ok) {
    return absl::DataLossError(absl::StrFormat("encoded span %s/%s: malformed %s",
                                               span->trace_id.ToHex(), span->span_id.ToHex(),
                                               d.failure() ? d.failure() : "body"));
  }
  if (!d.done()) {
    return absl::DataLossError(
        absl::StrFormat("encoded span: %d unexpected trailing bytes", d.remaining()));
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
    return absl::DataLossError(
        absl::StrFormat("span batch: count %d cannot fit in %d bytes", count, in.size()));
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
      return absl::DataLossError(
          absl::StrFormat("span batch: span %d of %d: %s", i, count, size.status().message()));
    }
    const std::string_view span = in.substr(0, *size);
    in.remove_prefix(*size);
    uint64_t id = 0;
    std::string_view body = span.substr(kEncodedSpanHeaderSize);
    if (!SkipContextRef(FlagsOf(span), &body, &id) || id > UINT32_MAX) {
      return absl::DataLossError(absl::StrFormat("span batch: span %d: bad context reference", i));
    }
    any_ref = any_ref || (FlagsOf(span) & kSpanContextRef) != 0;
    max_context = std::max(max_context, id);
    batch->spans.push_back(span);
    batch->span_contexts.push_back((FlagsOf(span) & kSpanContextRef) ? static_cast<uint32_t>(id)
                                                                     : kNoContext);
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
      return absl::DataLossError(
          absl::StrFormat("span batch: context %d of %d truncated", i, contexts));
    }
    batch->contexts.push_back(c);
  }
  if (any_ref && max_context >= contexts) {
    return absl::DataLossError(
        absl::StrFormat("span batch: a span refers to context %d of %d", max_context, contexts));
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

}  // namespace spanstore
