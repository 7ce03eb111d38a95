// query/quantile_sketch.cc: quantiles within the stated relative error of the exact values,
// and merge equal to sketching everything at once.

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "spanstore/analysis.h"

namespace spanstore {
namespace {

constexpr double kQuantiles[] = {0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1};

// The exact value the sketch approximates: x[floor(q * (n - 1))] of the sorted values.
uint64_t Exact(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// The stated bound: relative error kRelativeAccuracy, plus the rounding to a whole
// nanosecond.
void ExpectWithinBound(const QuantileSketch& sketch, const std::vector<uint64_t>& values) {
  for (double q : kQuantiles) {
    const double exact = static_cast<double>(Exact(values, q));
    const double got = static_cast<double>(sketch.Quantile(q));
    EXPECT_LE(std::abs(got - exact), QuantileSketch::kRelativeAccuracy * exact + 1.0)
        << "q=" << q << " exact=" << exact << " got=" << got;
  }
}

TEST(QuantileSketchTest, EmptyAndSingle) {
  QuantileSketch s;
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.Quantile(0.5), 0u);
  s.Add(12345);
  EXPECT_EQ(s.count(), 1u);
  EXPECT_EQ(s.Quantile(0), 12345u);  // clamped to the exact min and max
  EXPECT_EQ(s.Quantile(1), 12345u);
}

TEST(QuantileSketchTest, ZerosAreExact) {
  QuantileSketch s;
  s.Add(0, 90);
  s.Add(1000, 10);
  EXPECT_EQ(s.Quantile(0.5), 0u);
  EXPECT_EQ(s.Quantile(0.89), 0u);
  EXPECT_NEAR(static_cast<double>(s.Quantile(0.95)), 1000, 10);
}

TEST(QuantileSketchTest, UniformWithinBound) {
  std::mt19937_64 rng(1);
  std::vector<uint64_t> values;
  QuantileSketch s;
  for (int i = 0; i < 100000; ++i) {
    values.push_back(rng() % 10'000'000);
    s.Add(values.back());
  }
  ExpectWithinBound(s, values);
}

TEST(QuantileSketchTest, HeavyTailedWithinBound) {
  // Pareto (alpha 1.1) and log-normal latencies: six orders of magnitude between p50 and max.
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::lognormal_distribution<double> lognormal(13.0, 2.0);
  std::vector<uint64_t> values;
  QuantileSketch s;
  for (int i = 0; i < 100000; ++i) {
    const double pareto = 1000.0 / std::pow(1.0 - unit(rng), 1.0 / 1.1);
    values.push_back(static_cast<uint64_t>(std::min(pareto, 1e15)));
    values.push_back(static_cast<uint64_t>(std::min(lognormal(rng), 1e15)));
    s.Add(values[values.size() - 2]);
    s.Add(values.back());
  }
  ExpectWithinBound(s, values);
}

TEST(QuantileSketchTest, SmallIntegersWithinBound) {
  std::vector<uint64_t> values;
  QuantileSketch s;
  for (uint64_t v = 1; v <= 300; ++v) {
    values.push_back(v);
    s.Add(v);
  }
  ExpectWithinBound(s, values);
}

TEST(QuantileSketchTest, MergeEqualsOneSketch) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> lognormal(12.0, 1.5);
  QuantileSketch all, parts[4];
  std::vector<uint64_t> values;
  for (int i = 0; i < 40000; ++i) {
    // Each part covers a different range, so merging must grow the buckets at both ends.
    const uint64_t v = static_cast<uint64_t>(lognormal(rng)) * (1 + (i % 4) * 100) + (i % 7 == 0);
    values.push_back(v);
    all.Add(v);
    parts[i % 4].Add(v);
  }
  QuantileSketch merged;
  for (int p : {2, 0, 3, 1}) merged.Merge(parts[p]);
  EXPECT_EQ(merged, all);
  ExpectWithinBound(merged, values);
  QuantileSketch empty;
  merged.Merge(empty);
  EXPECT_EQ(merged, all);
  empty.Merge(all);
  EXPECT_EQ(empty, all);
}

}  // namespace
}  // namespace spanstore
