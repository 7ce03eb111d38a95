// On-disk constants of the row encoding of spans (docs/wal_format.md, "Span batch"): the layout
// of an encoded span's fixed header, its flags, and the type byte of an encoded value. WAL
// records and memtables hold spans in this encoding; block columns reuse its value and list
// encodings (format/value_codec.h).
//
// Thread safety: constants.

#ifndef SPANSTORE_FORMAT_ROW_FORMAT_H_
#define SPANSTORE_FORMAT_ROW_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "spanstore/span.h"

namespace spanstore {

// The fixed header of an encoded span, then body_size bytes of varint-encoded fields:
//   trace_id[16] span_id[8] start_time_unix_nano[8 LE] end_time_unix_nano[8 LE]
//   kind[1] status_code[1] flags[2 LE] body_size[4 LE]
inline constexpr size_t kEncodedSpanHeaderSize = 48;
inline constexpr size_t kSpanTraceIdAt = 0;
inline constexpr size_t kSpanSpanIdAt = 16;
inline constexpr size_t kSpanStartAt = 24;
inline constexpr size_t kSpanEndAt = 32;
inline constexpr size_t kSpanKindAt = 40;
inline constexpr size_t kSpanStatusAt = 41;
inline constexpr size_t kSpanFlagsAt = 42;
inline constexpr size_t kSpanBodySizeAt = 44;
static_assert(kSpanBodySizeAt + 4 == kEncodedSpanHeaderSize);

// Header flags (of the encoding, not the span's W3C flags). Any other bit is damage.
inline constexpr uint16_t kSpanHasParent = 1;  // the body starts with parent_span_id[8]
// The span's context (resource and scope) is not inline: the body starts with a varint id into
// the batch's (or memtable's) context table.
inline constexpr uint16_t kSpanContextRef = 2;

// The type byte of an encoded value, then: string and bytes length-prefixed, bool one byte (0 or
// 1), int a zig-zag varint, double fixed64 bits, array a varint count of values, map an
// attribute list.
enum class ValueTag : uint8_t {
  kEmpty = 0,
  kString = 1,
  kBool = 2,
  kInt = 3,
  kDouble = 4,
  kBytes = 5,
  kArray = 6,
  kMap = 7,
};
constexpr ValueTag ValueTagOf(AnyValue::Type type) { return static_cast<ValueTag>(type); }
static_assert(ValueTagOf(AnyValue::Type::kEmpty) == ValueTag::kEmpty &&
                  ValueTagOf(AnyValue::Type::kString) == ValueTag::kString &&
                  ValueTagOf(AnyValue::Type::kBool) == ValueTag::kBool &&
                  ValueTagOf(AnyValue::Type::kInt) == ValueTag::kInt &&
                  ValueTagOf(AnyValue::Type::kDouble) == ValueTag::kDouble &&
                  ValueTagOf(AnyValue::Type::kBytes) == ValueTag::kBytes &&
                  ValueTagOf(AnyValue::Type::kArray) == ValueTag::kArray &&
                  ValueTagOf(AnyValue::Type::kMap) == ValueTag::kMap,
              "the AnyValue::Type numbers are the encoded type bytes: renumbering them would "
              "change the WAL and block formats (map them in ValueTagOf instead)");

// A value nested deeper than this is damage when decoding, so hostile input cannot exhaust the
// stack (Append refuses more than 32 levels to begin with, util/span_validation.cc).
inline constexpr int kMaxValueDepth = 64;

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_ROW_FORMAT_H_
