#include "format/value_codes.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "format/block_format.h"
#include "util/coding.h"

namespace spanstore {
namespace {

// Appends `bits` of each value, LSB first, and pads the last byte with zeros.
class BitAppender {
 public:
  explicit BitAppender(std::string* out) : out_(out) {}
  void Put(uint64_t v, int width) {
    // width <= kMaxPackedWidth and at most 7 bits pending: the sum fits in 64.
    acc_ |= v << pending_;
    pending_ += width;
    while (pending_ >= 8) {
      out_->push_back(static_cast<char>(acc_ & 0xff));
      acc_ >>= 8;
      pending_ -= 8;
    }
  }
  void Flush() {
    if (pending_ > 0) out_->push_back(static_cast<char>(acc_ & 0xff));
    acc_ = 0;
    pending_ = 0;
  }

 private:
  std::string* out_;
  uint64_t acc_ = 0;
  int pending_ = 0;
};

// Whether the varint form is expected to compress better than `width` bits per value: values
// that often repeat their predecessor (a trace's user id on each of its spans) are matches for
// the compressor, and values crowded on a few codes of a wide range (an order-0 entropy well
// below the width) are what its entropy stage shrinks. The thresholds come from measuring
// both forms of every stream on the checkout workload (docs: README design notes).
bool VarintsCompressBetter(std::span<const uint64_t> values, int width,
                           std::vector<uint64_t>* sorted) {
  uint64_t repeats = 0;
  for (size_t i = 1; i < values.size(); ++i) repeats += values[i] == values[i - 1];
  if (repeats * 4 >= values.size()) return true;
  sorted->assign(values.begin(), values.end());
  std::sort(sorted->begin(), sorted->end());
  uint64_t distinct = 0;
  double bits = 0;  // order-0 entropy of the values, in bits per value
  const double m = static_cast<double>(sorted->size());
  for (size_t i = 0; i < sorted->size();) {
    size_t j = i + 1;
    while (j < sorted->size() && (*sorted)[j] == (*sorted)[i]) ++j;
    ++distinct;
    const double p = static_cast<double>(j - i) / m;
    bits -= p * std::log2(p);
    i = j;
  }
  return !(distinct * 2 >= sorted->size() || bits >= 0.8 * width);
}

}  // namespace

bool PackValueCodes(std::string_view varint_codes, bool ints, PackScratch* scratch,
                    std::string* out) {
  std::vector<uint64_t>& codes = scratch->codes;
  codes.clear();
  uint64_t templates = 0;
  while (!varint_codes.empty()) {
    uint64_t code;
    if (!GetVarint64(&varint_codes, &code)) return false;
    if (!ints && code == kValueInline) return false;  // an encoded value follows: not packable
    templates += code == kValueTemplate;
    codes.push_back(code);
  }
  const uint64_t n = codes.size();
  if (n == 0) return false;
  // With some templates among other codes, a bitmap says which, and only the others are
  // packed (an ephemeral port on server spans, 8080 on client spans).
  const bool bitmap = templates > 0 && templates < n;
  if (bitmap) {
    // The other codes move behind the occurrences, in order.
    for (uint64_t i = 0; i < n; ++i) {
      if (codes[i] != kValueTemplate) codes.push_back(codes[i]);
    }
  }
  const std::span<const uint64_t> values =
      bitmap ? std::span<const uint64_t>(codes).subspan(n) : std::span<const uint64_t>(codes);
  const auto [min_it, max_it] = std::minmax_element(values.begin(), values.end());
  const uint64_t base = *min_it;
  bool even = *max_it > base;
  for (uint64_t v : values) even = even && (v - base) % 2 == 0;
  const int shift = even ? 1 : 0;
  const int width = std::bit_width((*max_it - base) >> shift);
  if (width > kMaxPackedWidth) return false;
  if (width > 0 && VarintsCompressBetter(values, width, &scratch->sorted)) return false;

  out->push_back(static_cast<char>(bitmap ? 1 : 0));
  out->push_back(static_cast<char>(width));
  out->push_back(static_cast<char>(shift));
  PutVarint64(out, base);
  PutVarint64(out, n);
  if (bitmap) {
    BitAppender bits(out);
    for (uint64_t i = 0; i < n; ++i) bits.Put(codes[i] != kValueTemplate ? 1 : 0, 1);
    bits.Flush();
  }
  BitAppender bits(out);
  for (uint64_t v : values) bits.Put((v - base) >> shift, width);
  bits.Flush();
  return true;
}

bool ValueCodeReader::ResetPacked(std::string_view in, bool ints) {
  packed_ = true;
  ints_ = ints;
  index_ = value_index_ = 0;
  count_ = 0;  // Next fails until the header is valid
  if (in.size() < 3) return false;
  const uint8_t flags = static_cast<uint8_t>(in[0]);
  const int width = static_cast<uint8_t>(in[1]);
  const int shift = static_cast<uint8_t>(in[2]);
  in.remove_prefix(3);
  uint64_t base, n;
  if (flags > 1 || width > kMaxPackedWidth || shift > 1 || !GetVarint64(&in, &base) ||
      !GetVarint64(&in, &n)) {
    return false;
  }
  // The largest code the values can give must not wrap.
  const uint64_t span = ((uint64_t{1} << width) - 1) << shift;
  if (base > UINT64_MAX - span) return false;
  uint64_t m = n;
  bitmap_ = nullptr;
  if (flags & 1) {
    const uint64_t bytes = n / 8 + (n % 8 != 0);
    if (bytes > in.size()) return false;
    bitmap_ = reinterpret_cast<const uint8_t*>(in.data());
    m = 0;
    for (uint64_t i = 0; i < bytes; ++i) m += std::popcount(bitmap_[i]);
    if (n % 8 != 0 && (bitmap_[bytes - 1] >> (n % 8)) != 0) return false;  // padding bits
    in.remove_prefix(bytes);
  }
  if (width == 0) {
    if (!in.empty()) return false;
  } else {
    if (m > in.size() * 8 / static_cast<uint64_t>(width)) return false;
    const uint64_t bits = m * static_cast<uint64_t>(width);
    if (bits / 8 + (bits % 8 != 0) != in.size()) return false;
    if (bits % 8 != 0 && (static_cast<uint8_t>(in.back()) >> (bits % 8)) != 0) return false;
  }
  values_ = reinterpret_cast<const uint8_t*>(in.data());
  value_bytes_ = in.size();
  base_ = base;
  width_ = width;
  shift_ = shift;
  count_ = n;
  return true;
}

}  // namespace spanstore
