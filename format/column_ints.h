// Integer column encodings used inside block pages (before page compression):
//
//   Bit-packing: u8 width (0..32) then ceil(n * width / 8) bytes, values LSB-first. Used for
//   dictionary ids and enums (kind, status code), whose range is small and known per page.
//   A page whose values are all zero costs one byte.
//
//   Delta + zig-zag varints: each value as ZigZag(value - previous) in a varint, `previous`
//   starting at a caller-chosen base (a trace's first start time, the page's minimum). Sorted
//   or clustered times become one- or two-byte deltas. Differences wrap modulo 2^64, so any
//   int64 sequence (INT64_MIN next to INT64_MAX) round-trips exactly.
//
// The row count is not stored: the page header already knows it, and the decoders take it.
// Decoders are bounds-checked: they return false on short or malformed input (the caller turns
// that into DataLoss naming the file, page and offset) and never read past `*in`.
//
// Thread safety: stateless functions; safe to call concurrently.

#ifndef SPANSTORE_FORMAT_COLUMN_INTS_H_
#define SPANSTORE_FORMAT_COLUMN_INTS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spanstore {

// Number of bits needed for `v` (0 for 0).
int BitWidth32(uint32_t v);

// Appends `values` bit-packed at the smallest width that holds the largest of them.
void PutBitPacked(std::span<const uint32_t> values, std::string* out);

// Reads `n` bit-packed values into `*out` (replacing it) and advances `*in`.
bool GetBitPacked(std::string_view* in, size_t n, std::vector<uint32_t>* out);

// Appends each value as a zig-zag varint of its difference from the previous one (from `base`
// for the first).
void PutDeltaVarints(std::span<const int64_t> values, int64_t base, std::string* out);

// Reads `n` delta-coded values into `*out` (replacing it) and advances `*in`.
bool GetDeltaVarints(std::string_view* in, size_t n, int64_t base, std::vector<int64_t>* out);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_COLUMN_INTS_H_
