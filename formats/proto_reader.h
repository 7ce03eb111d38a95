// Reading the protobuf wire format, for the OTLP decoder (otlp_proto_decoder.cc): a cursor
// over one message, and ProtoReader, whose functions read a tag, a varint, a fixed-size
// integer, a length-delimited field (bounds-checked) or skip an unknown field. They return false
// on bad input after recording the error with its byte offset in the whole message
// (ProtoReader::error); the caller builds a Status once, at the top.
//
// The reads that every field takes are inlined: decoding OTLP is mostly tags, one- or two-byte
// lengths and short strings.
//
// Thread safety: a ProtoReader is thread-compatible (one decoder per thread).

#ifndef SPANSTORE_FORMATS_PROTO_READER_H_
#define SPANSTORE_FORMATS_PROTO_READER_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_format.h"
#include "formats/otlp_proto_fields.h"
#include "formats/refill.h"
#include "util/coding.h"

namespace spanstore::otlp {

// The unread part of one message.
struct Cursor {
  explicit Cursor(std::string_view data) : p(data.data()), end(data.data() + data.size()) {}
  bool done() const { return p >= end; }
  const char* p;
  const char* end;
};

ABSL_ATTRIBUTE_NOINLINE inline bool ReadLongVarint(Cursor* c, uint64_t* v) {
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

class ProtoReader {
 public:
  // The message being decoded (error offsets are relative to it), and what failed.
  const char* base = nullptr;
  std::string error;

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

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Expect(const Cursor& c, uint32_t wire, WireType want,
                                           const char* field) {
    if (wire == want) return true;
    return Fail(c.p, absl::StrFormat("field %s has wire type %d, expected %d", field, wire,
                                     static_cast<uint32_t>(want)));
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

  // Skips the value of a field this decoder does not read.
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

  // A field of the given wire type, named `name` in errors.
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
  // A trace or span id: N bytes, or empty for the all-zero (invalid) id.
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

  // Calls item(payload) for each occurrence of the message field `field` in `data`, skipping
  // every other field; stops at the first failure (item's or the wire's).
  template <typename Item>
  bool ForEachMessage(std::string_view data, uint32_t field, const char* name, Item item) {
    Cursor c(data);
    while (!c.done()) {
      uint32_t f, wire;
      if (!Tag(&c, &f, &wire)) return false;
      if (f != field) {
        if (!Skip(&c, wire)) return false;
        continue;
      }
      std::string_view v;
      if (!Message(&c, wire, name, &v) || !item(v)) return false;
    }
    return true;
  }
};

}  // namespace spanstore::otlp

#endif  // SPANSTORE_FORMATS_PROTO_READER_H_
