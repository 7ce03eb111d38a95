#include "format/column_ints.h"

#include <bit>

#include "util/coding.h"

namespace spanstore {

int BitWidth32(uint32_t v) { return static_cast<int>(std::bit_width(v)); }

void PutBitPacked(std::span<const uint32_t> values, std::string* out) {
  uint32_t max = 0;
  for (uint32_t v : values) max |= v;
  const int width = BitWidth32(max);
  out->push_back(static_cast<char>(width));
  if (width == 0) return;
  uint64_t acc = 0;  // pending bits, LSB first
  int bits = 0;
  for (uint32_t v : values) {
    acc |= static_cast<uint64_t>(v) << bits;
    bits += width;
    while (bits >= 8) {
      out->push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out->push_back(static_cast<char>(acc & 0xff));
}

bool GetBitPacked(std::string_view* in, size_t n, std::vector<uint32_t>* out) {
  if (in->empty()) return false;
  const int width = static_cast<uint8_t>((*in)[0]);
  if (width > 32) return false;
  in->remove_prefix(1);
  // Checked before allocating so a damaged count cannot ask for more values than bytes hold.
  if (width > 0 && n > in->size() * 8 / width) return false;
  out->assign(n, 0);
  if (width == 0) return true;
  const uint64_t total_bits = static_cast<uint64_t>(n) * width;
  const uint64_t bytes = (total_bits + 7) / 8;
  if (bytes > in->size()) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(in->data());
  const uint64_t mask = (uint64_t{1} << width) - 1;
  uint64_t acc = 0;
  int bits = 0;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    while (bits < width) {
      acc |= static_cast<uint64_t>(p[pos++]) << bits;
      bits += 8;
    }
    (*out)[i] = static_cast<uint32_t>(acc & mask);
    acc >>= width;
    bits -= width;
  }
  in->remove_prefix(bytes);
  return true;
}

void PutDeltaVarints(std::span<const int64_t> values, int64_t base, std::string* out) {
  uint64_t prev = static_cast<uint64_t>(base);
  for (int64_t v : values) {
    const uint64_t cur = static_cast<uint64_t>(v);
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(cur - prev)));  // wraps mod 2^64
    prev = cur;
  }
}

bool GetDeltaVarints(std::string_view* in, size_t n, int64_t base, std::vector<int64_t>* out) {
  if (n > in->size()) return false;  // every varint takes at least one byte
  out->resize(n);
  uint64_t prev = static_cast<uint64_t>(base);
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = 0;
    if (!GetVarint64(in, &z)) return false;
    prev += static_cast<uint64_t>(ZigZagDecode(z));
    (*out)[i] = static_cast<int64_t>(prev);
  }
  return true;
}

}  // namespace spanstore
