#include "compaction/merge_policy.h"

#include <algorithm>

namespace spanstore {
namespace {

// The end of the longest group [start, end) within [start, limit) that a merge may take: at
// most fan_in blocks, at most max_rows rows, max_starts within the window.
size_t GroupEnd(const std::vector<const ManifestBlock*>& order, size_t start, size_t limit,
                uint32_t fan_in, const MergePolicy& policy, uint64_t* rows) {
  *rows = 0;
  size_t end = start;
  while (end < limit && end - start < fan_in && *rows + order[end]->rows <= policy.max_rows &&
         (policy.window_nanos == 0 ||
          order[end]->max_start - order[start]->max_start <= policy.window_nanos)) {
    *rows += order[end]->rows;
    ++end;
  }
  return end;
}

}  // namespace

MergePick PickMerge(const std::vector<ManifestBlock>& blocks, const MergePolicy& policy) {
  std::vector<const ManifestBlock*> order;
  order.reserve(blocks.size());
  for (const ManifestBlock& b : blocks) order.push_back(&b);
  std::sort(order.begin(), order.end(), [](const ManifestBlock* a, const ManifestBlock* b) {
    if (a->max_start != b->max_start) return a->max_start < b->max_start;
    return a->number < b->number;
  });
  const uint32_t fan_in = std::max<uint32_t>(2, policy.fan_in);
  // A block this big could not be merged with a peer of its size without passing the cap.
  auto sealed = [&](size_t i) { return order[i]->rows > policy.max_rows / 2; };
  // Blocks on either side of a gap wider than the window can never be merged with each other.
  auto gap = [&](size_t i) {
    return policy.window_nanos != 0 &&
           order[i]->max_start - order[i - 1]->max_start > policy.window_nanos;
  };

  // Runs are visited oldest first and only a lower level replaces the pick: ties go to the
  // oldest run.
  MergePick best;
  for (size_t i = 0; i < order.size();) {
    if (sealed(i)) {
      ++i;
      continue;
    }
    // The run [i, j): adjacent unsealed blocks of one level, no gap between them. A sealed
    // block or another level between two blocks keeps them apart, so an output never spans a
    // stretch of time that holds blocks it does not include.
    size_t j = i + 1;
    while (j < order.size() && !sealed(j) && order[j]->level == order[i]->level && !gap(j)) ++j;
    const uint32_t level = order[i]->level;
    uint64_t run_rows = 0;
    for (size_t k = i; k < j; ++k) run_rows += order[k]->rows;
    // Fewer than fan_in blocks wait for more, unless they already hold enough for a sealed
    // output (waiting would gain nothing); a full run is merged as far as the cap and the window
    // let it (blocks beyond them start the next merge of this level).
    const bool due = j - i >= fan_in || (j - i >= 2 && run_rows > policy.max_rows / 2);
    if (due && (best.numbers.empty() || level < best.level)) {
      uint64_t rows;
      const size_t end = GroupEnd(order, i, j, fan_in, policy, &rows);
      if (end - i >= 2) {
        best.numbers.clear();
        for (size_t k = i; k < end; ++k) best.numbers.push_back(order[k]->number);
        best.level = level + 1;
      }
    }
    i = j;
  }
  if (!best.numbers.empty()) return best;

  // When the times of blocks do not follow their arrival (span times spread across every
  // segment, clocks that jump), outputs land among blocks of other levels and runs stop
  // forming. Then the count of a stretch (unsealed blocks, no gap) may pass what a counter of
  // its levels could hold, (fan_in - 1) per level; if so, the adjacent group with the fewest
  // rows is merged whatever its levels, into the highest of them (one more if they are equal).
  uint64_t best_rows = UINT64_MAX;
  for (size_t i = 0; i < order.size();) {
    if (sealed(i)) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    uint32_t max_level = order[i]->level;
    while (j < order.size() && !sealed(j) && !gap(j)) {
      max_level = std::max(max_level, order[j++]->level);
    }
    if (j - i > static_cast<uint64_t>(fan_in - 1) * (max_level + 1)) {
      for (size_t start = i; start + 1 < j; ++start) {
        uint64_t rows;
        const size_t end = GroupEnd(order, start, j, fan_in, policy, &rows);
        if (end - start < 2 || rows >= best_rows) continue;
        best_rows = rows;
        best.numbers.clear();
        uint32_t lo = UINT32_MAX, hi = 0;
        for (size_t k = start; k < end; ++k) {
          best.numbers.push_back(order[k]->number);
          lo = std::min(lo, order[k]->level);
          hi = std::max(hi, order[k]->level);
        }
        best.level = lo == hi ? hi + 1 : hi;
      }
    }
    i = j;
  }
  return best;
}

}  // namespace spanstore
