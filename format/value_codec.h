// The encodings of what a span nests -- values, attribute lists, event lists, link lists and a
// span's context -- shared by the row codec (format/span_codec.h: WAL records, memtables) and
// the block columns (format/block_builder.cc writes, format/group_data.cc and
// format/block_tables.cc read). One encoder and one decoder per list, so the two formats cannot
// drift apart; format/row_format.h has the constants and docs/wal_format.md the layout:
//
//   value           type byte (ValueTag), then its payload
//   attribute list  varint count, then per attribute: key (length-prefixed), value
//   event list      varint count, then per event: zig-zag varint (time - span start), name,
//                   attributes, varint dropped_attributes_count
//   link list       varint count, then per link: trace_id[16], span_id[8], trace_state,
//                   attributes, varint dropped_attributes_count, varint flags
//   context         resource attributes, resource schema url, scope name, scope version,
//                   scope attributes, scope schema url
//
// Decoding never trusts a count or a length: each is checked against the bytes that remain
// (every element takes at least one byte), lists grow as they decode instead of being sized by
// their claimed count, counts that land in uint32 fields must fit, and values nest at most
// kMaxValueDepth levels. Decoding into objects that hold a previous value reuses their strings'
// and vectors' buffers.
//
// Thread safety: stateless functions; a ValueDecoder is thread-compatible.

#ifndef SPANSTORE_FORMAT_VALUE_CODEC_H_
#define SPANSTORE_FORMAT_VALUE_CODEC_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "format/row_format.h"
#include "spanstore/span.h"
#include "util/coding.h"

namespace spanstore {

void EncodeAnyValue(const AnyValue& value, std::string* out);
void EncodeAttributeList(const Attributes& attributes, std::string* out);
// Event times are stored relative to `span_start` (the span's start time).
void EncodeEventList(const std::vector<SpanEvent>& events, uint64_t span_start, std::string* out);
void EncodeLinkList(const std::vector<SpanLink>& links, std::string* out);
// A span's context: resource attributes and schema url, scope name, version, attributes and
// schema url -- what repeats for every span of one service instance.
void EncodeSpanContext(const Span& span, std::string* out);

// A cursor over encoded fields; every read fails (returns false, and remembers what it was
// reading) rather than read past the end.
class ValueDecoder {
 public:
  explicit ValueDecoder(std::string_view in) : in_(in) {}

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
  // A count of elements that each take at least one byte: larger than what remains is damage.
  bool Count(uint64_t* n) {
    if (!GetVarint64(&in_, n)) return Fail("count");
    if (*n > in_.size()) return Fail("count larger than the remaining bytes");
    return true;
  }

  bool Value(AnyValue* value, int depth = 0);
  bool Attributes(spanstore::Attributes* attributes, int depth = 0);
  bool EventList(uint64_t span_start, std::vector<SpanEvent>* events);
  bool LinkList(std::vector<SpanLink>* links);
  // The context fields of *span.
  bool Context(Span* span);

  bool done() const { return in_.empty(); }
  size_t remaining() const { return in_.size(); }
  std::string_view rest() const { return in_; }
  // What the first failed read was reading, or nullptr.
  const char* failure() const { return failure_; }

 private:
  bool Fail(const char* what) {
    if (failure_ == nullptr) failure_ = what;
    return false;
  }

  std::string_view in_;
  const char* failure_ = nullptr;
};

// Decoders over a string_view: decode the encoding at the front of *in and advance *in past it;
// false on malformed input (*in is then unspecified).
bool DecodeAnyValue(std::string_view* in, AnyValue* value);
bool DecodeAttributeList(std::string_view* in, Attributes* attributes);
bool DecodeEventList(std::string_view* in, uint64_t span_start, std::vector<SpanEvent>* events);
bool DecodeLinkList(std::string_view* in, std::vector<SpanLink>* links);
// Decodes a whole encoded context (nothing may follow it) into the span's context fields.
bool DecodeSpanContext(std::string_view in, Span* span);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_VALUE_CODEC_H_
