#include "format/time_columns.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "format/block_format.h"
#include "util/coding.h"

namespace spanstore {

namespace {

// Bit counts and offsets fit in 32 bits: 2 * n classes of at most 255 (before validation).
static_assert(uint64_t{2} * 255 * kMaxRowsPerGroup < (uint64_t{1} << 32));

// Number of raw bits stored for a residual of class `c` (its leading one is implicit).
inline int RawBits(int c) { return c - (c != 0); }

// Appends values of up to 63 bits LSB-first, eight bytes at a time.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}

  // REQUIRES: k <= 63, v < 2^k.
  void Put(uint64_t v, int k) {
    acc_ |= v << used_;  // used_ < 64
    if (used_ + k < 64) {
      used_ += k;
      return;
    }
    PutFixed64(out_, acc_);
    // used_ >= 1 here (k <= 63), so the shift is in range: the bits of v that did not fit.
    acc_ = v >> (64 - used_);
    used_ = used_ + k - 64;
  }

  // Writes the pending bits, zero-padded to a whole byte.
  void Finish() {
    for (int b = 0; b < used_; b += 8) out_->push_back(static_cast<char>(acc_ >> b));
    acc_ = 0;
    used_ = 0;
  }

 private:
  std::string* const out_;
  uint64_t acc_ = 0;  // pending bits, LSB first
  int used_ = 0;      // number of pending bits, < 64
};

// Stores the class of residual z in `*class_byte` and appends its raw bits to `*w`.
inline void PutResidual(uint64_t z, char* class_byte, BitWriter* w) {
  const int c = std::bit_width(z);
  *class_byte = static_cast<char>(c);
  const int k = RawBits(c);
  w->Put(z & ((uint64_t{1} << k) - 1), k);
}

// Returns the k bits at bit offset `pos` of p[0, size).
// REQUIRES: k <= 63, pos + k <= 8 * size.
inline uint64_t ReadBits(const uint8_t* p, size_t size, uint64_t pos, int k) {
  const size_t byte = pos >> 3;
  const int shift = static_cast<int>(pos & 7);
  uint64_t word = 0;
  if (byte + 8 <= size) {
    std::memcpy(&word, p + byte, 8);
  } else {
    // The last few bytes, one at a time: a variable-length memcpy would keep `word` in memory
    // on the fast path too.
    for (size_t i = byte; i < size; ++i) word |= static_cast<uint64_t>(p[i]) << (8 * (i - byte));
  }
  uint64_t v = word >> shift;
  // The word holds 64 - shift of the bits; the rest (k > 57 only) are in the ninth byte, which
  // is inside p[0, size) by the requirement.
  if (k + shift > 64) v |= static_cast<uint64_t>(p[byte + 8]) << (64 - shift);
  return v & ((uint64_t{1} << k) - 1);
}

// Reads the residual of class `c` whose raw bits start at `*pos`, and advances `*pos`.
inline uint64_t ReadResidual(uint8_t c, const uint8_t* p, size_t size, uint64_t* pos) {
  const int k = RawBits(c);
  const uint64_t lead = static_cast<uint64_t>(c != 0) << k;
  const uint64_t v = ReadBits(p, size, *pos, k);
  *pos += k;
  return lead | v;
}

// Adds the raw bits of the classes in `classes` to `*total`; false if a class is above 64.
bool SumRawBits(std::string_view classes, uint64_t* total) {
  // A max and a 32-bit sum (n <= kMaxRowsPerGroup) rather than an early exit: the loop
  // vectorizes.
  uint8_t max = 0;
  uint32_t sum = 0;
  for (char ch : classes) {
    const uint8_t c = static_cast<uint8_t>(ch);
    max = std::max(max, c);
    sum += RawBits(c);
  }
  *total += sum;
  return max <= 64;
}

}  // namespace

void EncodeTimes(std::span<const int32_t> parent_row, std::span<const uint64_t> starts,
                 std::span<const uint64_t> ends, uint64_t base, TimeColumns* out) {
  const size_t n = parent_row.size();
  assert(starts.size() == n && ends.size() == n && n <= kMaxRowsPerGroup);

  std::vector<uint32_t> subtree_end(n);
  for (size_t r = n; r-- > 0;) {
    const int32_t p = parent_row[r];
    assert(p >= -1 && p < static_cast<int64_t>(r));
    subtree_end[r] = std::max(subtree_end[r], static_cast<uint32_t>(r));
    if (p >= 0) subtree_end[p] = std::max(subtree_end[p], subtree_end[r]);
  }

  out->start_classes.resize(n);
  out->end_classes.resize(n);
  out->bits.clear();
  BitWriter writer(&out->bits);

  std::vector<int32_t> last_child(n, -1);  // the latest row so far with this parent
  for (size_t r = 0; r < n; ++r) {
    const int32_t p = parent_row[r];
    uint64_t predicted;
    if (p >= 0) {
      const int32_t prev = last_child[p];
      predicted = prev >= 0 && subtree_end[prev] < r ? ends[prev] : starts[p];
      last_child[p] = static_cast<int32_t>(r);
    } else {
      predicted = r > 0 ? starts[r - 1] : base;
    }
    PutResidual(ZigZagEncode(static_cast<int64_t>(starts[r] - predicted)), &out->start_classes[r],
                &writer);
  }

  // A row has children exactly when its subtree reaches past it.
  std::vector<uint64_t> max_child_end(n, 0);
  for (size_t r = 0; r < n; ++r) {
    const int32_t p = parent_row[r];
    if (p >= 0) max_child_end[p] = std::max(max_child_end[p], ends[r]);
  }
  for (size_t r = 0; r < n; ++r) {
    const uint64_t predicted = subtree_end[r] > r ? max_child_end[r] : starts[r];
    PutResidual(ZigZagEncode(static_cast<int64_t>(ends[r] - predicted)), &out->end_classes[r],
                &writer);
  }
  writer.Finish();
}

bool DecodeTimes(std::span<const int32_t> parent_row, uint64_t base, std::string_view start_classes,
                 std::string_view end_classes, std::string_view bits, std::vector<uint64_t>* starts,
                 std::vector<uint64_t>* ends) {
  return DecodeTimesPrefix(parent_row, parent_row.size(), base, start_classes, end_classes, bits,
                           starts, ends);
}

bool DecodeTimesPrefix(std::span<const int32_t> parent_row, size_t rows, uint64_t base,
                       std::string_view start_classes, std::string_view end_classes,
                       std::string_view bits, std::vector<uint64_t>* starts,
                       std::vector<uint64_t>* ends) {
  const size_t n = parent_row.size();
  if (n > kMaxRowsPerGroup || rows > n || start_classes.size() != n || end_classes.size() != n) {
    return false;
  }
  uint64_t total_bits = 0;
  if (!SumRawBits(start_classes, &total_bits) || !SumRawBits(end_classes, &total_bits)) {
    return false;
  }
  // Exactly as long as the classes say, padding included: anything else is damage.
  if (bits.size() != (total_bits + 7) / 8) return false;
  if (total_bits % 8 != 0 && (static_cast<uint8_t>(bits.back()) >> (total_bits % 8)) != 0) {
    return false;
  }

  // One reverse pass finds each row's subtree end, the offset of its end residual's raw bits,
  // and where its start prediction comes from. Until row r is decoded, (*starts)[r] holds that
  // source: 2q for start(q), 2q + 1 for end(q). During this pass (*ends)[p] holds the earliest
  // child of p seen so far (0 for none: a child's row is never 0), i.e. the next sibling of the
  // row being visited.
  struct RowInfo {
    uint32_t subtree_end;
    uint32_t end_bits_offset;
  };
  std::vector<RowInfo> info(rows);  // zeroed; the one allocation
  starts->resize(rows);
  ends->assign(rows, 0);
  uint64_t* const s = starts->data();
  uint64_t* const e = ends->data();
  const auto* const classes_s = reinterpret_cast<const uint8_t*>(start_classes.data());
  const auto* const classes_e = reinterpret_cast<const uint8_t*>(end_classes.data());
  // The end residuals' raw bits are in row order at the stream's tail: those of the rows not
  // decoded come last.
  uint64_t end_offset = total_bits;
  for (size_t r = rows; r < n; ++r) end_offset -= RawBits(classes_e[r]);
  for (size_t r = rows; r-- > 0;) {
    const int32_t p = parent_row[r];
    if (p < -1 || p >= static_cast<int64_t>(r)) return false;
    const uint32_t subtree_end = std::max(info[r].subtree_end, static_cast<uint32_t>(r));
    info[r].subtree_end = subtree_end;
    end_offset -= RawBits(classes_e[r]);
    info[r].end_bits_offset = static_cast<uint32_t>(end_offset);
    if (p >= 0) {
      info[p].subtree_end = std::max(info[p].subtree_end, subtree_end);
      s[r] = uint64_t{static_cast<uint32_t>(p)} << 1;
      const uint64_t next = e[p];
      if (next != 0 && subtree_end < next) s[next] = (uint64_t{r} << 1) | 1;
      e[p] = r;
    } else {
      s[r] = r > 0 ? uint64_t{r - 1} << 1 : 0;  // row 0 is predicted by base instead
    }
  }

  // Rows in order: the start, then the ends of the rows whose subtree ends here. Until row q's
  // end is decoded, (*ends)[q] holds its prediction: its start for a leaf, else the running
  // maximum of its children's ends (0 before the first, which any end replaces).
  const auto* const raw = reinterpret_cast<const uint8_t*>(bits.data());
  const size_t raw_size = bits.size();
  uint64_t start_offset = 0;
  for (size_t r = 0; r < rows; ++r) {
    const uint64_t src = s[r];
    const uint64_t predicted = r > 0 ? ((src & 1) ? e : s)[src >> 1] : base;
    const uint64_t start = predicted + static_cast<uint64_t>(ZigZagDecode(ReadResidual(
                                           classes_s[r], raw, raw_size, &start_offset)));
    s[r] = start;
    e[r] = info[r].subtree_end > r ? 0 : start;
    for (int32_t q = static_cast<int32_t>(r); q >= 0 && info[q].subtree_end == r;
         q = parent_row[q]) {
      uint64_t offset = info[q].end_bits_offset;
      const uint64_t end =
          e[q] +
          static_cast<uint64_t>(ZigZagDecode(ReadResidual(classes_e[q], raw, raw_size, &offset)));
      e[q] = end;
      const int32_t p = parent_row[q];
      if (p >= 0) e[p] = std::max(e[p], end);
    }
  }
  return true;
}

}  // namespace spanstore
