// Start and end times of one row group, predicted from the trace's call tree and coded as
// "class + raw bits".
//
// Predictors. Each row r has a parent row (parent_row[r] < r, or -1 when its parent is not in
// the group). A span usually starts shortly after its previous sibling returned (sequential
// calls) or, failing that, shortly after its parent started; a parent usually ends shortly
// after its last child. So, with subtree_end[q] the largest row in q's subtree and prev(r) the
// latest earlier row with r's parent:
//
//   start(r) is predicted by  end(prev(r))        if r has a parent, prev(r) exists and
//                                                 subtree_end[prev(r)] < r
//                             start(parent_row[r]) if r has a parent
//                             start(r - 1)         if r > 0
//                             base                 otherwise (row 0)
//   end(r)   is predicted by  max end(c) over the children c of r   if r has children
//                             start(r)                             otherwise
//
// The subtree test keeps the sibling predictor causal: when prev(r)'s subtree reaches past r,
// prev(r)'s end depends on rows not decoded yet. The decoder produces start(r) for r = 0..n-1
// and, after each, the end of every row whose subtree ends at r (r and the ancestors whose
// last descendant r is), so every input of a prediction is known when it is needed.
//
// Residuals. z = ZigZag(int64(value - prediction)), the difference taken modulo 2^64, so any
// uint64 values round-trip (end < start, 0, UINT64_MAX). Each z is split into its class c (its
// bit width, 0..64, one byte) and, for c >= 2, its low c - 1 bits (the leading one is
// implicit; c == 0 means z == 0 and c == 1 means z == 1). The classes are low-entropy bytes
// that a general compressor (Zstd's Huffman stage) shrinks well; the raw bits are close to
// random and are stored uncompressed, so they never pollute the compressor's literal
// statistics. On CheckoutGenerator spans in 256-row groups (both class strings compressed
// together with Zstd level 3, the bits raw) start + end take 5.4 bytes per span, 4.35 of them
// raw bits, against 7.0 for delta varints of the starts plus varints of the durations.
//
// Output: three byte strings.
//   start_classes  n bytes, the class of each start residual, in row order
//   end_classes    n bytes, the class of each end residual, in row order
//   bits           the raw bits of the start residuals of rows 0..n-1, then of the end
//                  residuals of rows 0..n-1, LSB-first within each byte, zero-padded to a byte
//
// n and base (the group's minimum start) are not stored: the page header knows them.
//
// Thread safety: stateless functions; safe to call concurrently.

#ifndef SPANSTORE_FORMAT_TIME_COLUMNS_H_
#define SPANSTORE_FORMAT_TIME_COLUMNS_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spanstore {

struct TimeColumns {
  std::string start_classes;
  std::string end_classes;
  std::string bits;

  friend bool operator==(const TimeColumns&, const TimeColumns&) = default;
};

// Replaces the contents of `*out` (reusing its capacity) with the encoding of the times.
//
// REQUIRES: parent_row, starts and ends have the same size n <= kMaxRowsPerGroup, and every
// parent_row[r] is -1 or in [0, r).
void EncodeTimes(std::span<const int32_t> parent_row, std::span<const uint64_t> starts,
                 std::span<const uint64_t> ends, uint64_t base, TimeColumns* out);

// Decodes the times of n = parent_row.size() rows into `*starts` and `*ends` (resized to n,
// their capacity reused). Returns false, leaving both unspecified, if the input is malformed:
// n > kMaxRowsPerGroup, a parent_row not in [-1, r), a class string not n bytes, a class
// above 64, or a bit stream that is not exactly as long as the classes require (with zero
// padding). Never reads outside its inputs; allocates O(n) scratch once per call.
bool DecodeTimes(std::span<const int32_t> parent_row, uint64_t base, std::string_view start_classes,
                 std::string_view end_classes, std::string_view bits, std::vector<uint64_t>* starts,
                 std::vector<uint64_t>* ends);

// DecodeTimes for rows [0, rows) only (rows <= n; *starts and *ends resized to rows), for a
// trace read that needs a group's first rows: the rows after them are not walked. The input
// is validated as a whole all the same (the classes and the bit stream's length; the parent
// rows of [0, rows)). The times are those DecodeTimes gives when no row at or after `rows`
// has its parent before it -- true of what BlockBuilder writes when `rows` ends a trace's
// rows, since a parent row is always of the same trace and a trace's rows are consecutive.
bool DecodeTimesPrefix(std::span<const int32_t> parent_row, size_t rows, uint64_t base,
                       std::string_view start_classes, std::string_view end_classes,
                       std::string_view bits, std::vector<uint64_t>* starts,
                       std::vector<uint64_t>* ends);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_TIME_COLUMNS_H_
