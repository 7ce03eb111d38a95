// QuantileSketch: DDSketch's logarithmic buckets in a dense vector (the values of one
// distribution rarely span more than a few hundred buckets).

#include <algorithm>
#include <cmath>

#include "spanstore/analysis.h"
#include "util/coding.h"

namespace spanstore {
namespace {

constexpr double kGamma =
    (1.0 + QuantileSketch::kRelativeAccuracy) / (1.0 - QuantileSketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);

}  // namespace

int QuantileSketch::BucketOf(uint64_t value) {
  // ceil(log_gamma(value)): bucket i holds (gamma^(i-1), gamma^i].
  return static_cast<int>(std::ceil(std::log(static_cast<double>(value)) / kLogGamma));
}

void QuantileSketch::Add(uint64_t value, uint64_t count) {
  if (count == 0) return;
  if (count_ == 0) {
    min_ = value;
    max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += count;
  if (value == 0) {
    zeros_ += count;
    return;
  }
  const int b = BucketOf(value);
  if (buckets_.empty()) {
    offset_ = b;
    buckets_.assign(1, 0);
  } else if (b < offset_) {
    buckets_.insert(buckets_.begin(), static_cast<size_t>(offset_ - b), 0);
    offset_ = b;
  } else if (b >= offset_ + static_cast<int>(buckets_.size())) {
    buckets_.resize(static_cast<size_t>(b - offset_ + 1), 0);
  }
  buckets_[static_cast<size_t>(b - offset_)] += count;
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  zeros_ += other.zeros_;
  if (other.buckets_.empty()) return;
  if (buckets_.empty()) {
    buckets_ = other.buckets_;
    offset_ = other.offset_;
    return;
  }
  const int lo = std::min(offset_, other.offset_);
  const int hi = std::max(offset_ + static_cast<int>(buckets_.size()),
                          other.offset_ + static_cast<int>(other.buckets_.size()));
  if (lo < offset_) {
    buckets_.insert(buckets_.begin(), static_cast<size_t>(offset_ - lo), 0);
    offset_ = lo;
  }
  buckets_.resize(static_cast<size_t>(hi - offset_), 0);
  for (size_t i = 0; i < other.buckets_.size(); ++i) {
    buckets_[static_cast<size_t>(other.offset_ - offset_) + i] += other.buckets_[i];
  }
}

uint64_t QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of x[floor(q * (n - 1))], counted from 0.
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1));
  if (rank < zeros_) return 0;
  // The extremes are known exactly.
  if (rank == 0) return min_;
  if (rank == count_ - 1) return max_;
  uint64_t seen = zeros_;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen > rank) {
      const double v = 2.0 * std::pow(kGamma, offset_ + static_cast<int>(i)) / (kGamma + 1.0);
      // The extremes are known exactly; clamping to them only moves the answer closer.
      return std::clamp(static_cast<uint64_t>(std::llround(v)), min_, max_);
    }
  }
  return max_;
}

void QuantileSketch::EncodeTo(std::string* out) const {
  PutVarint64(out, count_);
  if (count_ == 0) return;
  PutVarint64(out, zeros_);
  PutVarint64(out, min_);
  PutVarint64(out, max_);
  PutVarint64(out, buckets_.size());
  if (buckets_.empty()) return;
  PutVarint64(out, static_cast<uint64_t>(offset_));  // >= 0: values are whole nanoseconds
  for (uint64_t b : buckets_) PutVarint64(out, b);
}

bool QuantileSketch::DecodeFrom(std::string_view* in, QuantileSketch* out) {
  *out = QuantileSketch();
  uint64_t count;
  if (!GetVarint64(in, &count)) return false;
  if (count == 0) return true;
  uint64_t zeros, min, max, n;
  if (!GetVarint64(in, &zeros) || !GetVarint64(in, &min) || !GetVarint64(in, &max) ||
      !GetVarint64(in, &n) || min > max || zeros > count) {
    return false;
  }
  // Bucket indexes of 1 ns .. 2^64 ns lie in [0, BucketOf(UINT64_MAX)].
  const int last = BucketOf(UINT64_MAX);
  if (n > static_cast<uint64_t>(last) + 1 || (n == 0) != (zeros == count)) return false;
  out->count_ = count;
  out->zeros_ = zeros;
  out->min_ = min;
  out->max_ = max;
  if (n == 0) return true;
  uint64_t offset;
  if (!GetVarint64(in, &offset) || offset + n > static_cast<uint64_t>(last) + 1) return false;
  out->offset_ = static_cast<int>(offset);
  out->buckets_.resize(n);
  uint64_t sum = zeros;
  for (uint64_t& b : out->buckets_) {
    if (!GetVarint64(in, &b) || b > count - sum) return false;
    sum += b;
  }
  // Add and Merge keep the range tight: its first and last buckets are used.
  return sum == count && out->buckets_.front() != 0 && out->buckets_.back() != 0;
}

}  // namespace spanstore
