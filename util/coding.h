// Little-endian fixed-width integers, varints and zig-zag, with bounds-checked decoders.
//
// Decoders take a `std::string_view*` cursor and advance it; they return false (and leave the
// cursor unspecified) when the input is too short or malformed, never reading past its end.
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_UTIL_CODING_H_
#define SPANSTORE_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace spanstore {

inline void PutFixed32(std::string* out, uint32_t v) {
  char buf[4];
  std::memcpy(buf, &v, 4);  // the engine targets little-endian machines (static_assert below)
  out->append(buf, 4);
}
inline void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out->append(buf, 8);
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void EncodeFixed32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void EncodeFixed64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "on-disk formats are little-endian and written with memcpy");

// Writes a varint into buf (at least 10 bytes); returns the end.
inline char* EncodeVarint64(char* buf, uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(buf);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}

inline void PutVarint64(std::string* out, uint64_t v) {
  char buf[10];
  out->append(buf, EncodeVarint64(buf, v) - buf);
}
inline void PutVarint32(std::string* out, uint32_t v) { PutVarint64(out, v); }

inline uint64_t ZigZagEncode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t ZigZagDecode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

inline void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s.data(), s.size());
}

inline size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  const auto* p = reinterpret_cast<const unsigned char*>(in->data());
  const auto* limit = p + in->size();
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    const uint64_t byte = *p++;
    if (shift == 63 && byte > 1) return false;  // overflows 64 bits
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      in->remove_prefix(reinterpret_cast<const char*>(p) - in->data());
      return true;
    }
  }
  return false;
}

inline bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint64_t v64;
  if (!GetVarint64(in, &v64) || v64 > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(v64);
  return true;
}

inline bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32(in->data());
  in->remove_prefix(4);
  return true;
}

inline bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

// A length-prefixed byte string; the length is checked against what remains before anything
// is copied, so a corrupt length cannot cause an allocation.
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t len;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

}  // namespace spanstore

#endif  // SPANSTORE_UTIL_CODING_H_
