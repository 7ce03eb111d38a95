// The packed form of an attribute key's value codes (block format 6; docs/block_format.md).
//
// A key's stream in kColAttrValues holds one code per occurrence of the key (block_format.h:
// kValueTemplate, block or heap string codes, int codes). As varints, codes that are mostly the
// operation's template or repeat within a trace compress to almost nothing, but codes drawn
// from hundreds or thousands of values (peer addresses, ephemeral ports, thread names) do not:
// a two- or three-byte varint of a near-uniform code compresses to ~1.3x its entropy, and a
// stream that is all templates still costs a byte per occurrence before compression (13.8 raw
// bytes per span on the checkout workload, of 5.4 stored). The packed form stores such a stream
// near its entropy:
//
//   u8 flags (bit 0: a presence bitmap follows), u8 width (0..kMaxPackedWidth), u8 shift (0, 1),
//   varint base, varint n (occurrences),
//   [ceil(n / 8) bytes: bit i set = occurrence i is not the template; padding bits zero],
//   ceil(m * width / 8) bytes: m values bit-packed LSB first, padding bits zero, where m is the
//   number of set bits of the bitmap (or n without one).
//
// Occurrence i is kValueTemplate where its bitmap bit is clear, else base + (x << shift) for the
// next packed value x. Block string codes are all even (BlockStringCode), hence the shift. The
// form byte of a packed stream is its code form (kFormGeneric, kFormInts) | kFormPacked; a
// generic packed stream never holds kValueInline (an inline value cannot be packed).
//
// Thread safety: PackValueCodes is stateless; a ValueCodeReader is thread-compatible.

#ifndef SPANSTORE_FORMAT_VALUE_CODES_H_
#define SPANSTORE_FORMAT_VALUE_CODES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/coding.h"

namespace spanstore {

// Widths above this stay varints: the reader takes any value with one 8-byte load.
inline constexpr int kMaxPackedWidth = 56;

// PackValueCodes' buffers, reused from call to call (a block builder packs every key stream of
// every row group).
struct PackScratch {
  std::vector<uint64_t> codes, sorted;
};

// Appends the packed form of `varint_codes` (a stream in its varint form, generic or ints) to
// *out and returns true when packing is expected to store it in fewer bytes after page
// compression: every code equal (an all-template stream), or codes that neither repeat much
// (which the compressor's matches exploit in the varint form) nor spread unevenly over their
// range. Returns false (and appends nothing) otherwise, and for a generic stream with an inline
// value.
bool PackValueCodes(std::string_view varint_codes, bool ints, PackScratch* scratch,
                    std::string* out);

// Reads a stream's codes in order, whichever its form. Never reads outside the stream's bytes.
class ValueCodeReader {
 public:
  ValueCodeReader() = default;

  // A varint stream: varint_rest() is where an inline value that follows a code starts.
  void ResetVarint(std::string_view codes) {
    packed_ = false;
    varint_ = codes;
  }
  // A packed stream (`ints`: its code form); false if its header, bitmap or length is malformed
  // (the length must be exactly what the header and bitmap require). The reader keeps views
  // into `bytes` (as into a varint stream's): they must outlive its reads.
  bool ResetPacked(std::string_view bytes, bool ints);

  // The next code; false when the stream has no more, or (packed) a generic code is
  // kValueInline.
  bool Next(uint64_t* code) {
    if (!packed_) return NextVarint(code);
    if (index_ == count_) return false;
    if (bitmap_ != nullptr && ((bitmap_[index_ >> 3] >> (index_ & 7)) & 1) == 0) {
      ++index_;
      *code = 0;  // kValueTemplate
      return true;
    }
    *code = base_ + (Unpack(value_index_) << shift_);
    if (!ints_ && *code == 1) return false;  // kValueInline: left unread, so !Done()
    ++index_;
    ++value_index_;
    return true;
  }
  // Passes over the next code of a packed stream without unpacking it (a lookup walks the
  // rows before the ones it returns); false when the stream has no more. The code is not
  // checked: only a read validates it.
  bool SkipPacked() {
    if (index_ == count_) return false;
    if (bitmap_ == nullptr || ((bitmap_[index_ >> 3] >> (index_ & 7)) & 1) != 0) ++value_index_;
    ++index_;
    return true;
  }
  // True when every code was read (a varint stream: no bytes left).
  bool Done() const { return packed_ ? index_ == count_ : varint_.empty(); }
  bool packed() const { return packed_; }
  // The rest of a varint stream (an inline value decodes from it).
  std::string_view* varint_rest() { return &varint_; }

 private:
  // Inline, as GetVarint64 was before packed streams: ParseValues reads every code of a group.
  bool NextVarint(uint64_t* code) { return GetVarint64(&varint_, code); }
  uint64_t Unpack(uint64_t i) const {
    if (width_ == 0) return 0;
    // i < m, and ResetPacked checked that m values fit the bytes.
    const uint64_t bit = i * static_cast<uint64_t>(width_);
    const uint64_t byte = bit / 8;
    uint64_t word = 0;
    if (byte + 8 <= value_bytes_) {
      word = DecodeFixed64(reinterpret_cast<const char*>(values_) + byte);
    } else {
      for (uint64_t k = byte; k < value_bytes_; ++k)
        word |= uint64_t{values_[k]} << (8 * (k - byte));
    }
    // bit % 8 + width <= 63: one word holds the value.
    return (word >> (bit % 8)) & ((uint64_t{1} << width_) - 1);
  }

  bool packed_ = false;
  bool ints_ = false;
  std::string_view varint_;
  const uint8_t* bitmap_ = nullptr;
  const uint8_t* values_ = nullptr;
  uint64_t value_bytes_ = 0;
  uint64_t count_ = 0, index_ = 0, value_index_ = 0;
  uint64_t base_ = 0;
  int width_ = 0, shift_ = 0;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_VALUE_CODES_H_
