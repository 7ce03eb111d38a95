#include "format/time_columns.h"

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "format/block_format.h"
#include "gtest/gtest.h"
#include "util/coding.h"

namespace spanstore {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kEpoch = 1'700'000'000'000'000'000;  // a realistic wall-clock time in ns

struct Rows {
  std::vector<int32_t> parent;
  std::vector<uint64_t> starts;
  std::vector<uint64_t> ends;
  uint64_t base = 0;

  int32_t Add(int32_t parent_row, uint64_t start, uint64_t end) {
    parent.push_back(parent_row);
    starts.push_back(start);
    ends.push_back(end);
    return static_cast<int32_t>(parent.size() - 1);
  }
};

TimeColumns Encode(const Rows& rows) {
  TimeColumns out;
  EncodeTimes(rows.parent, rows.starts, rows.ends, rows.base, &out);
  return out;
}

bool Decode(const Rows& rows, const TimeColumns& cols, std::vector<uint64_t>* starts,
            std::vector<uint64_t>* ends) {
  return DecodeTimes(rows.parent, rows.base, cols.start_classes, cols.end_classes, cols.bits,
                     starts, ends);
}

void ExpectRoundTrip(const Rows& rows) {
  const TimeColumns cols = Encode(rows);
  ASSERT_EQ(cols.start_classes.size(), rows.parent.size());
  ASSERT_EQ(cols.end_classes.size(), rows.parent.size());
  std::vector<uint64_t> starts = {1, 2, 3};  // stale contents must not leak into the result
  std::vector<uint64_t> ends = {4};
  ASSERT_TRUE(Decode(rows, cols, &starts, &ends));
  EXPECT_EQ(starts, rows.starts);
  EXPECT_EQ(ends, rows.ends);
}

// The format written out independently of the encoder, as the header describes it: subtree
// ends by walking every row's ancestors, siblings by scanning back, the bit stream one bit at a
// time.
TimeColumns ReferenceEncode(const Rows& rows) {
  const int n = static_cast<int>(rows.parent.size());
  std::vector<int> subtree_end(n);
  for (int r = 0; r < n; ++r) subtree_end[r] = r;
  for (int r = 0; r < n; ++r) {
    for (int a = rows.parent[r]; a >= 0; a = rows.parent[a]) {
      subtree_end[a] = std::max(subtree_end[a], r);
    }
  }
  std::vector<uint64_t> residuals;
  for (int r = 0; r < n; ++r) {
    const int p = rows.parent[r];
    uint64_t predicted = rows.base;
    if (p >= 0) {
      int prev = r - 1;
      while (prev >= 0 && rows.parent[prev] != p) --prev;
      predicted = prev >= 0 && subtree_end[prev] < r ? rows.ends[prev] : rows.starts[p];
    } else if (r > 0) {
      predicted = rows.starts[r - 1];
    }
    residuals.push_back(ZigZagEncode(static_cast<int64_t>(rows.starts[r] - predicted)));
  }
  for (int r = 0; r < n; ++r) {
    bool has_child = false;
    uint64_t max_end = 0;
    for (int c = r + 1; c < n; ++c) {
      if (rows.parent[c] == r) {
        has_child = true;
        max_end = std::max(max_end, rows.ends[c]);
      }
    }
    const uint64_t predicted = has_child ? max_end : rows.starts[r];
    residuals.push_back(ZigZagEncode(static_cast<int64_t>(rows.ends[r] - predicted)));
  }
  TimeColumns out;
  size_t bit = 0;
  for (size_t i = 0; i < residuals.size(); ++i) {
    const uint64_t z = residuals[i];
    const int c = std::bit_width(z);
    (i < static_cast<size_t>(n) ? out.start_classes : out.end_classes)
        .push_back(static_cast<char>(c));
    for (int b = 0; b + 1 < c; ++b, ++bit) {
      if (bit % 8 == 0) out.bits.push_back(0);
      if ((z >> b) & 1) out.bits.back() = static_cast<char>(out.bits.back() | (1 << (bit % 8)));
    }
  }
  return out;
}

// A trace laid out as a tracer records it, rows in depth-first order (which is also start
// order): synchronous children run one after another, each starting shortly after the
// previous one returned; a parent returns shortly after its last child. Gaps and leaf
// durations are below 2^20 ns, log-uniformly spread like real ones.
class TraceGenerator {
 public:
  TraceGenerator(uint64_t seed, Rows* rows) : rng_(seed), rows_(rows) {}

  uint64_t Gap() { return rng_() % (uint64_t{1} << (rng_() % 21)); }

  // Adds a span starting at `start` and its subtree; returns its end.
  uint64_t AddSpan(int32_t parent, uint64_t start, int depth) {
    const int32_t row = rows_->Add(parent, start, 0);
    const int children = depth >= 5 ? 0 : static_cast<int>(rng_() % 4);
    uint64_t last = start;  // the end of the previous child, or the start for the first
    for (int i = 0; i < children; ++i) last = AddSpan(row, last + Gap(), depth + 1);
    const uint64_t end = last + Gap();
    rows_->ends[row] = end;
    return end;
  }

 private:
  std::mt19937_64 rng_;
  Rows* const rows_;
};

TEST(TimeColumns, EncodesTheDocumentedFormat) {
  // A root with two sequential children, worked out by hand.
  Rows rows;
  rows.base = 100;
  rows.Add(-1, 100, 200);
  rows.Add(0, 110, 150);
  rows.Add(0, 155, 190);
  const TimeColumns cols = Encode(rows);
  // Start residuals: 100 - base = 0; 110 - start(parent) = 10, zig-zag 20 (class 5); 155 -
  // end(previous sibling) = 5, zig-zag 10 (class 4). End residuals: 200 - max child end 190 =
  // 10, zig-zag 20 (class 5); leaves: 150 - 110 = 40 and 190 - 155 = 35, zig-zag 80 and 70
  // (class 7 each).
  EXPECT_EQ(cols.start_classes, std::string({0, 5, 4}));
  EXPECT_EQ(cols.end_classes, std::string({5, 7, 7}));
  // The low c - 1 bits of 20, 10, 20, 80, 70: 4 (4 bits), 2 (3), 4 (4), 16 (6), 6 (6); 23 bits.
  const uint32_t stream = 4 | 2 << 4 | 4 << 7 | 16 << 11 | 6 << 17;
  EXPECT_EQ(cols.bits,
            std::string({static_cast<char>(stream & 0xff), static_cast<char>(stream >> 8 & 0xff),
                         static_cast<char>(stream >> 16)}));
  EXPECT_EQ(cols, ReferenceEncode(rows));
  ExpectRoundTrip(rows);
}

TEST(TimeColumns, RoundTripsEmptyAndSingleRow) {
  Rows empty;
  const TimeColumns cols = Encode(empty);
  EXPECT_TRUE(cols.start_classes.empty());
  EXPECT_TRUE(cols.end_classes.empty());
  EXPECT_TRUE(cols.bits.empty());
  ExpectRoundTrip(empty);

  for (uint64_t start : {uint64_t{0}, uint64_t{1}, kEpoch, kMax}) {
    for (uint64_t end : {uint64_t{0}, start, start + 1, kMax}) {
      for (uint64_t base : {uint64_t{0}, start, kMax}) {
        Rows one;
        one.base = base;
        one.Add(-1, start, end);
        ExpectRoundTrip(one);
      }
    }
  }
}

TEST(TimeColumns, RoundTripsAChain) {
  Rows rows;
  rows.base = kEpoch;
  for (int i = 0; i < 50; ++i) rows.Add(i - 1, kEpoch + 10 * i, kEpoch + 1000 - 3 * i);
  ExpectRoundTrip(rows);
  // Every start is 10 after its parent's, every end 3 after its child's: all residuals small.
  const TimeColumns cols = Encode(rows);
  for (char c : cols.start_classes.substr(1)) EXPECT_EQ(c, 5);    // zig-zag 20
  for (char c : cols.end_classes.substr(0, 49)) EXPECT_EQ(c, 3);  // zig-zag 6
}

TEST(TimeColumns, PredictsSequentialChildrenFromThePreviousSibling) {
  Rows rows;
  rows.base = kEpoch;
  rows.Add(-1, kEpoch, kEpoch + 10'000);
  uint64_t t = kEpoch + 5;
  for (int i = 0; i < 20; ++i) {
    rows.Add(0, t + 1, t + 400);  // one ns after the previous sibling returned
    t += 400;
  }
  ExpectRoundTrip(rows);
  const TimeColumns cols = Encode(rows);
  EXPECT_EQ(cols.start_classes[1], 4);  // 6 after the parent's start: zig-zag 12
  for (int r = 2; r <= 20; ++r) EXPECT_EQ(cols.start_classes[r], 2) << r;  // zig-zag 2
}

TEST(TimeColumns, RoundTripsAsyncChildrenThatOutliveTheirParent) {
  Rows rows;
  rows.base = kEpoch;
  const int32_t root = rows.Add(-1, kEpoch, kEpoch + 100);
  const int32_t a = rows.Add(root, kEpoch + 10, kEpoch + 50);
  rows.Add(a, kEpoch + 500, kEpoch + 900);     // starts after both ancestors ended
  rows.Add(root, kEpoch + 200, kEpoch + 300);  // after the root ended
  rows.Add(root, kEpoch + 250, kEpoch + 260);  // starts before the previous sibling returned
  ExpectRoundTrip(rows);
  EXPECT_EQ(Encode(rows), ReferenceEncode(rows));
}

TEST(TimeColumns, IgnoresAPreviousSiblingWhoseSubtreeIsNotDecodedYet) {
  // Rows in start order: A's child starts after B, so A's subtree reaches past B and A's end is
  // unknown when B is decoded. B must be predicted from the parent's start.
  Rows rows;
  rows.base = 1000;
  const int32_t root = rows.Add(-1, 1000, 5000);
  const int32_t a = rows.Add(root, 1100, 1104);
  rows.Add(root, 1103, 1150);  // B
  rows.Add(a, 1110, 1190);     // A's child, outliving A
  ExpectRoundTrip(rows);
  const TimeColumns cols = Encode(rows);
  // 1103 - 1000 = 103, zig-zag 206 (class 8); end(A) would have given -1, zig-zag 1 (class 1).
  EXPECT_EQ(cols.start_classes[2], 8);
  EXPECT_EQ(cols, ReferenceEncode(rows));
}

TEST(TimeColumns, RoundTripsGroupBoundariesAndAwkwardValues) {
  Rows rows;
  rows.base = 0;
  rows.Add(-1, 0, kMax);
  rows.Add(0, kMax, 0);  // end < start, and far from the parent
  rows.Add(-1, 5, 5);    // a new root mid-group
  rows.Add(2, 5, 5);     // equal starts and zero durations
  rows.Add(2, 5, 4);
  rows.Add(-1, kMax, kMax);
  rows.Add(5, 0, 0);
  rows.Add(5, uint64_t{1} << 63, (uint64_t{1} << 63) - 1);  // differences of 2^63: class 64
  rows.Add(7, 0, kMax);
  rows.Add(-1, 42, 41);
  ExpectRoundTrip(rows);
  const TimeColumns cols = Encode(rows);
  EXPECT_NE(cols.start_classes.find(char{64}), std::string::npos);
  EXPECT_EQ(cols, ReferenceEncode(rows));
}

TEST(TimeColumns, RoundTripsRandomForests) {
  std::mt19937_64 rng(20240611);
  for (int iter = 0; iter < 3000; ++iter) {
    Rows rows;
    const int n = static_cast<int>(rng() % (iter % 10 == 0 ? 600 : 40));
    const int mode = iter % 3;  // 0: random times, 1: nearby times, 2: extremes mixed in
    rows.base = mode == 0 ? rng() : kEpoch;
    for (int r = 0; r < n; ++r) {
      const int32_t parent = (r == 0 || rng() % 5 == 0) ? -1 : static_cast<int32_t>(rng() % r);
      uint64_t start = 0, end = 0;
      switch (mode) {
        case 0:
          start = rng();
          end = rng();
          break;
        case 1:
          start = kEpoch + rng() % 1'000'000;
          end = start + rng() % 1'000'000 - 1000;
          break;
        default: {
          constexpr uint64_t kAwkward[] = {0, 1, kMax, kMax - 1, uint64_t{1} << 63, kEpoch};
          start = rng() % 2 ? kAwkward[rng() % 6] : rng();
          end = rng() % 2 ? kAwkward[rng() % 6] : start + rng() % 100;
        }
      }
      rows.Add(parent, start, end);
    }
    ExpectRoundTrip(rows);
    if (n <= 40) {
      EXPECT_EQ(Encode(rows), ReferenceEncode(rows)) << iter;
    }
    if (HasFailure()) {
      ADD_FAILURE() << "iteration " << iter;
      return;
    }
  }
}

TEST(TimeColumns, RoundTripsRealisticTraces) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Rows rows;
    TraceGenerator gen(seed, &rows);
    uint64_t t = kEpoch + seed * 1'000'000'000;
    rows.base = t;
    while (rows.parent.size() < 200) t = gen.AddSpan(-1, t + gen.Gap(), 0);
    ExpectRoundTrip(rows);
    EXPECT_EQ(Encode(rows), ReferenceEncode(rows)) << seed;
    if (HasFailure()) return;
  }
}

// A trace read decodes a group's rows up to the end of its trace only: at every boundary
// between traces (no parent crosses it) the prefix equals the whole decode's first rows.
TEST(TimeColumns, DecodesAPrefixEndingAtATraceBoundary) {
  std::mt19937_64 rng(20261207);
  for (int iter = 0; iter < 300; ++iter) {
    Rows rows;
    rows.base = kEpoch;
    std::vector<size_t> boundaries = {0};
    while (rows.parent.size() < 256) {
      // One trace: rows [first, first + k), parents inside it.
      const int32_t first = static_cast<int32_t>(rows.parent.size());
      const int k = 1 + static_cast<int>(rng() % 30);
      for (int i = 0; i < k; ++i) {
        const int32_t parent =
            i == 0 || rng() % 7 == 0 ? -1 : first + static_cast<int32_t>(rng() % i);
        const uint64_t start = kEpoch + rng() % 1'000'000'000;
        rows.Add(parent, start, start + rng() % 5'000'000);
      }
      boundaries.push_back(rows.parent.size());
    }
    const TimeColumns cols = Encode(rows);
    for (size_t prefix : boundaries) {
      std::vector<uint64_t> starts = {7}, ends;
      ASSERT_TRUE(DecodeTimesPrefix(rows.parent, prefix, rows.base, cols.start_classes,
                                    cols.end_classes, cols.bits, &starts, &ends));
      ASSERT_EQ(starts, std::vector<uint64_t>(rows.starts.begin(), rows.starts.begin() + prefix))
          << iter << " " << prefix;
      ASSERT_EQ(ends, std::vector<uint64_t>(rows.ends.begin(), rows.ends.begin() + prefix))
          << iter << " " << prefix;
    }
    // The input is still checked whole: a prefix cannot hide a damaged tail.
    std::vector<uint64_t> starts, ends;
    EXPECT_FALSE(DecodeTimesPrefix(rows.parent, 1, rows.base, cols.start_classes, cols.end_classes,
                                   cols.bits + "x", &starts, &ends));
    EXPECT_FALSE(DecodeTimesPrefix(rows.parent, rows.parent.size() + 1, rows.base,
                                   cols.start_classes, cols.end_classes, cols.bits, &starts,
                                   &ends));
  }
}

TEST(TimeColumns, RealisticTracesCostFewBytesPerRow) {
  Rows rows;
  TraceGenerator gen(7, &rows);
  uint64_t t = kEpoch;
  rows.base = t;
  while (rows.parent.size() < 100'000) t = gen.AddSpan(-1, t + gen.Gap(), 0);
  const TimeColumns cols = Encode(rows);
  // With the right predictors every residual is one gap or leaf duration (< 2^20), so its
  // zig-zag has at most 21 bits; a predictor that skipped the sibling or the child rule sees
  // sums of gaps. (Not for roots: a root's start is predicted by the previous row, the last
  // leaf of another trace.)
  for (size_t r = 0; r < rows.parent.size(); ++r) {
    if (rows.parent[r] >= 0) {
      ASSERT_LE(cols.start_classes[r], 21) << r;
    }
    ASSERT_LE(cols.end_classes[r], 21) << r;
  }
  // Two class bytes and ~2 * 9 raw bits per row: 4.3 bytes (16 raw). Dropping the sibling or
  // the child rule costs ~4.8: log-uniform gaps make a sum of gaps only a bit or two wider.
  const double bytes_per_row =
      static_cast<double>(cols.start_classes.size() + cols.end_classes.size() + cols.bits.size()) /
      rows.parent.size();
  EXPECT_LT(bytes_per_row, 4.5);
  ExpectRoundTrip(rows);
}

class TimeColumnsMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    rows_.base = kEpoch;
    TraceGenerator gen(3, &rows_);
    while (rows_.parent.size() < 30) gen.AddSpan(-1, kEpoch + 17, 0);
    cols_ = Encode(rows_);
  }

  bool Decodes(const TimeColumns& cols) { return Decode(rows_, cols, &starts_, &ends_); }
  bool DecodesWithParents(const std::vector<int32_t>& parent) {
    return DecodeTimes(parent, rows_.base, cols_.start_classes, cols_.end_classes, cols_.bits,
                       &starts_, &ends_);
  }

  Rows rows_;
  TimeColumns cols_;
  std::vector<uint64_t> starts_, ends_;
};

TEST_F(TimeColumnsMalformed, RejectsEveryTruncationAndATrailingByte) {
  ASSERT_TRUE(Decodes(cols_));
  ASSERT_GT(cols_.bits.size(), 16u);
  for (size_t len = 0; len < cols_.bits.size(); ++len) {
    TimeColumns cut = cols_;
    cut.bits.resize(len);
    EXPECT_FALSE(Decodes(cut)) << len;
  }
  for (char extra : {'\0', '\x01'}) {
    TimeColumns longer = cols_;
    longer.bits.push_back(extra);
    EXPECT_FALSE(Decodes(longer));
  }
}

TEST_F(TimeColumnsMalformed, RejectsNonzeroPadding) {
  // Find a class change that leaves a partial last byte, then set each padding bit.
  TimeColumns cols = cols_;
  uint64_t total = 0;
  for (char c : cols.start_classes + cols.end_classes) total += c > 1 ? c - 1 : 0;
  if (total % 8 == 0) {
    // Make it ragged: one more raw bit for the last end residual, in a new zero byte.
    char& c = cols.end_classes.back();
    c = c == 0 ? 2 : c + 1;
    ++total;
    cols.bits.push_back(0);
  }
  ASSERT_NE(total % 8, 0u);
  ASSERT_TRUE(Decodes(cols));
  for (int b = static_cast<int>(total % 8); b < 8; ++b) {
    TimeColumns bad = cols;
    bad.bits.back() = static_cast<char>(bad.bits.back() | (1 << b));
    EXPECT_FALSE(Decodes(bad)) << b;
  }
}

TEST_F(TimeColumnsMalformed, RejectsBadClasses) {
  for (int c : {65, 66, 128, 255}) {
    TimeColumns bad = cols_;
    bad.start_classes[3] = static_cast<char>(c);
    EXPECT_FALSE(Decodes(bad)) << c;
    bad = cols_;
    bad.end_classes.back() = static_cast<char>(c);
    EXPECT_FALSE(Decodes(bad)) << c;
  }
  TimeColumns bad = cols_;
  bad.start_classes.pop_back();
  EXPECT_FALSE(Decodes(bad));
  bad = cols_;
  bad.end_classes.push_back(0);
  EXPECT_FALSE(Decodes(bad));
}

TEST_F(TimeColumnsMalformed, RejectsParentsThatAreNotEarlierRows) {
  ASSERT_TRUE(DecodesWithParents(rows_.parent));
  const int32_t n = static_cast<int32_t>(rows_.parent.size());
  for (int32_t r = 0; r < n; ++r) {
    for (int32_t bad : {r, r + 1, n, n + 100, -2, std::numeric_limits<int32_t>::min(),
                        std::numeric_limits<int32_t>::max()}) {
      std::vector<int32_t> parent = rows_.parent;
      parent[r] = bad;
      EXPECT_FALSE(DecodesWithParents(parent)) << r << " " << bad;
    }
  }
  std::vector<int32_t> shorter(rows_.parent.begin(), rows_.parent.end() - 1);
  EXPECT_FALSE(DecodesWithParents(shorter));
}

TEST_F(TimeColumnsMalformed, RejectsMoreRowsThanAGroupHolds) {
  const size_t n = kMaxRowsPerGroup + 1;
  const std::vector<int32_t> parent(n, -1);
  const std::string classes(n, '\0');
  EXPECT_FALSE(DecodeTimes(parent, 0, classes, classes, "", &starts_, &ends_));
}

TEST_F(TimeColumnsMalformed, SurvivesRandomDamage) {
  // Whatever the damage, the decoder stays in bounds (checked by the sanitizer builds) and,
  // when it accepts, produces n values of each.
  std::mt19937_64 rng(99);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    TimeColumns bad = cols_;
    std::string* targets[] = {&bad.start_classes, &bad.end_classes, &bad.bits};
    for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) {
      std::string* s = targets[rng() % 3];
      if (s->empty()) continue;
      switch (rng() % 3) {
        case 0:
          (*s)[rng() % s->size()] ^= static_cast<char>(1 << (rng() % 8));
          break;
        case 1:
          (*s)[rng() % s->size()] = static_cast<char>(rng() % 70);
          break;
        default:
          s->resize(rng() % (s->size() + 2));
      }
    }
    if (Decodes(bad)) {
      ++accepted;
      EXPECT_EQ(starts_.size(), rows_.parent.size());
      EXPECT_EQ(ends_.size(), rows_.parent.size());
    } else {
      ++rejected;
    }
  }
  // Both paths ran: the checks above are not vacuous.
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace spanstore
