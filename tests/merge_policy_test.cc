// The time-window merge policy on simulated stores: thousands of flushes, each followed by the
// merges the policy asks for, checked for the block-count bound, the cap, the window, time
// contiguity and the number of rewrites per span. The store's side (the merges really
// happening, answers unchanged, crashes) is in store_compaction_test.cc.

#include "compaction/merge_policy.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

// A store's manifest as the policy sees it, with merges applied the way the store applies them
// (outputs of at most max_rows rows, their max_start the inputs' newest).
class Simulation {
 public:
  // in_order: block times follow arrival (each flush's newest span is newer than the last's).
  explicit Simulation(MergePolicy policy, bool in_order = true)
      : policy_(policy), in_order_(in_order) {}

  // One flush of `rows` spans whose newest starts at `max_start`; then every merge the policy
  // picks, as the compaction thread would run them while no segment waits.
  void Flush(uint64_t rows, uint64_t max_start, uint64_t min_start) {
    blocks_.push_back({next_++, 0, rows, rows / 10, min_start, max_start, rows * 25});
    flushed_rows_ += rows;
    for (MergePick pick = PickMerge(blocks_, policy_); !pick.numbers.empty();
         pick = PickMerge(blocks_, policy_)) {
      Apply(pick);
    }
  }

  const std::vector<ManifestBlock>& blocks() const { return blocks_; }
  uint64_t flushed_rows() const { return flushed_rows_; }
  uint64_t merged_rows() const { return merged_rows_; }
  uint32_t max_level() const {
    uint32_t l = 0;
    for (const auto& b : blocks_) l = std::max(l, b.level);
    return l;
  }
  size_t merges() const { return merges_; }

 private:
  void Apply(const MergePick& pick) {
    ASSERT_GE(pick.numbers.size(), 2u);
    ASSERT_LE(pick.numbers.size(), policy_.fan_in);
    std::vector<ManifestBlock> inputs;
    for (uint64_t n : pick.numbers) {
      auto it = std::find_if(blocks_.begin(), blocks_.end(),
                             [&](const ManifestBlock& b) { return b.number == n; });
      ASSERT_NE(it, blocks_.end());
      inputs.push_back(*it);
      blocks_.erase(it);
    }
    ManifestBlock out{next_++, pick.level, 0, 0, UINT64_MAX, 0, 0};
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const ManifestBlock& in : inputs) {
      // One level (unless times do not follow arrival), never a block too big to merge, the
      // cap respected.
      if (in_order_) {
        EXPECT_EQ(in.level + 1, pick.level);
      } else {
        EXPECT_LE(in.level, pick.level);
      }
      EXPECT_LE(in.rows * 2, policy_.max_rows);
      out.rows += in.rows;
      out.min_start = std::min(out.min_start, in.min_start);
      out.max_start = std::max(out.max_start, in.max_start);
      lo = std::min(lo, in.max_start);
      hi = std::max(hi, in.max_start);
    }
    EXPECT_LE(out.rows, policy_.max_rows);
    if (policy_.window_nanos != 0) {
      EXPECT_LE(hi - lo, policy_.window_nanos);
    }
    // Contiguous in time: no block left out lies between the inputs.
    for (const ManifestBlock& b : blocks_) {
      EXPECT_FALSE(b.max_start > lo && b.max_start < hi)
          << "block " << b.number << " lies inside a merge's time range";
    }
    merged_rows_ += out.rows;
    ++merges_;
    blocks_.push_back(out);
  }

  const MergePolicy policy_;
  const bool in_order_;
  std::vector<ManifestBlock> blocks_;
  uint64_t next_ = 1;
  uint64_t flushed_rows_ = 0;
  uint64_t merged_rows_ = 0;
  size_t merges_ = 0;
};

TEST(MergePolicy, NothingToMergeBelowTheFanIn) {
  MergePolicy p;
  std::vector<ManifestBlock> blocks;
  for (uint64_t i = 1; i <= 3; ++i) blocks.push_back({i, 0, 1000, 100, i, i, 1});
  EXPECT_TRUE(PickMerge(blocks, p).numbers.empty());
  blocks.push_back({4, 0, 1000, 100, 4, 4, 1});
  const MergePick pick = PickMerge(blocks, p);
  EXPECT_EQ(pick.numbers, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(pick.level, 1u);
}

TEST(MergePolicy, BlockCountGrowsWithTheLogarithmWithoutACap) {
  MergePolicy p;
  p.fan_in = 4;
  p.max_rows = UINT64_MAX / 4;
  Simulation sim(p);
  for (uint64_t i = 1; i <= 5000; ++i) {
    sim.Flush(1000, i * 1000, i * 1000 - 999);
    // A base-4 counter: at most 3 blocks per level, levels = digits of i in base 4.
    const double digits = std::floor(std::log(static_cast<double>(i)) / std::log(4.0)) + 1;
    ASSERT_LE(sim.blocks().size(), 3 * digits) << "after " << i << " flushes";
  }
  EXPECT_LE(sim.blocks().size(), 3u * 7);  // 5000 < 4^7
  // Each span is rewritten once per level it climbed: about log_4(5000) = 6.1 times.
  const double rewrites = static_cast<double>(sim.merged_rows()) / sim.flushed_rows();
  EXPECT_LE(rewrites, 6.2);
  EXPECT_GE(rewrites, 5.0);
}

TEST(MergePolicy, TheCapBoundsBlocksRewritesAndCount) {
  MergePolicy p;
  p.fan_in = 4;
  p.max_rows = 2'000'000;
  Simulation sim(p);
  std::mt19937_64 rng(7);
  // L0 blocks of 150k-200k rows, as 64 MB segments of checkout spans give; 600 flushes is
  // ~100M spans.
  uint64_t t = 0;
  for (int i = 0; i < 600; ++i) {
    const uint64_t rows = 150'000 + rng() % 50'001;
    t += 1'000'000'000;
    sim.Flush(rows, t, t - 1'500'000'000);  // late spans: ranges overlap
    size_t sealed = 0, open = 0;
    for (const auto& b : sim.blocks()) (b.rows * 2 > p.max_rows ? sealed : open) += 1;
    // Sealed blocks hold more than max_rows/2 each; at most fan_in-1 others wait per level.
    ASSERT_LE(sealed, 2 * sim.flushed_rows() / p.max_rows);
    ASSERT_LE(open, 3u * (sim.max_level() + 1));
  }
  EXPECT_LE(sim.max_level(), 2u);
  // 100M spans in ~70 blocks (today's one block per segment: 600).
  EXPECT_LE(sim.blocks().size(), 80u);
  // Every span is written by its flush and rewritten at most twice.
  EXPECT_LE(sim.merged_rows(), 2 * sim.flushed_rows());
}

// Span times spread over every segment (test data, clocks that jump): block times do not
// follow arrival, outputs land among blocks of other levels, and runs rarely form. The count
// still stays within what a counter of the levels holds.
TEST(MergePolicy, BlockTimesInRandomOrderStillKeepTheCountBounded) {
  MergePolicy p;
  p.fan_in = 4;
  p.max_rows = 2'000'000;
  Simulation sim(p, /*in_order=*/false);
  std::mt19937_64 rng(3);
  for (int i = 1; i <= 2000; ++i) {
    const uint64_t t = rng() % 1'000'000;
    sim.Flush(1000 + rng() % 1000, t, t / 2);
    ASSERT_LE(sim.blocks().size(), 3u * (sim.max_level() + 1)) << "after " << i << " flushes";
  }
  // Levels stay logarithmic: a level-L block holds at least 2^L flushes.
  EXPECT_LE(sim.max_level(), 11u);
  EXPECT_LE(sim.blocks().size(), 36u);
}

TEST(MergePolicy, MergesStayInsideTheWindow) {
  MergePolicy p;
  p.fan_in = 4;
  p.max_rows = UINT64_MAX / 4;
  p.window_nanos = 10'000;
  Simulation sim(p);
  // Bursts of 6 flushes 1 time unit apart, separated by gaps longer than the window: no merge
  // may join two bursts (the simulation checks every merge against the window).
  uint64_t t = 0;
  for (int burst = 0; burst < 50; ++burst) {
    t += 100'000;
    for (int i = 0; i < 6; ++i) {
      ++t;
      sim.Flush(1000, t, t);
    }
  }
  EXPECT_GT(sim.merges(), 0u);
  // Each burst ends as one level-1 block of 4 and two L0 blocks, or fewer.
  EXPECT_LE(sim.blocks().size(), 50u * 3);
}

TEST(MergePolicy, ABackfilledBlockDoesNotJoinDistantTimes) {
  MergePolicy p;
  p.fan_in = 2;
  p.max_rows = 10'000;
  std::vector<ManifestBlock> blocks;
  // Two sealed blocks, then an old straggler (an L0 of backfilled spans) between them in time,
  // and fresh L0 blocks after them.
  blocks.push_back({1, 2, 6000, 1, 0, 100, 1});
  blocks.push_back({2, 2, 6000, 1, 100, 300, 1});
  blocks.push_back({3, 0, 100, 1, 150, 150, 1});
  blocks.push_back({4, 0, 100, 1, 400, 400, 1});
  MergePick pick = PickMerge(blocks, p);
  EXPECT_TRUE(pick.numbers.empty()) << "merged the straggler across block 2";
  blocks.push_back({5, 0, 100, 1, 500, 500, 1});
  pick = PickMerge(blocks, p);
  EXPECT_EQ(pick.numbers, (std::vector<uint64_t>{4, 5}));
}

TEST(MergePolicy, PrefersTheLowestLevelThenTheOldestRun) {
  MergePolicy p;
  p.fan_in = 2;
  std::vector<ManifestBlock> blocks = {
      {1, 1, 10, 1, 1, 1, 1}, {2, 1, 10, 1, 2, 2, 1}, {3, 0, 1, 1, 3, 3, 1},
      {4, 0, 1, 1, 4, 4, 1},  {5, 0, 1, 1, 5, 5, 1},
  };
  EXPECT_EQ(PickMerge(blocks, p).numbers, (std::vector<uint64_t>{3, 4}));
  blocks.resize(3);
  EXPECT_EQ(PickMerge(blocks, p).numbers, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(PickMerge(blocks, p).level, 2u);
}

}  // namespace
}  // namespace spanstore
