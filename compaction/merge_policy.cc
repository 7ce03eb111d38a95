#include "compaction/merge_policy.h"

#include <algorithm>

namespace spanstore {

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
  auto sealed = [&](const ManifestBlock* b) { return b->rows > policy.max_rows / 2; };

  // Runs are visited oldest first and only a lower level replaces the pick: ties go to the
  // oldest run.
  MergePick best;
  for (size_t i = 0; i < order.size();) {
    if (sealed(order[i])) {
      ++i;
      continue;
    }
    // The run [i, j): adjacent unsealed blocks of one level. A sealed block or another level
    // between two blocks keeps them apart, so an output never spans a stretch of time that
    // holds blocks it does not include.
    size_t j = i + 1;
    while (j < order.size() && !sealed(order[j]) && order[j]->level == order[i]->level) ++j;
    const uint32_t level = order[i]->level;
    const bool better = best.numbers.empty() || level < best.level;
    // Fewer than fan_in blocks wait for more, unless they already hold enough for a sealed
    // output (waiting would gain nothing); a full run is merged as far as the cap and the window
    // let it (blocks beyond them start the next merge of this level).
    uint64_t run_rows = 0;
    for (size_t k = i; k < j; ++k) run_rows += order[k]->rows;
    if ((j - i >= fan_in || (j - i >= 2 && run_rows > policy.max_rows / 2)) && better) {
      for (size_t start = i; start + 1 < j; ++start) {
        uint64_t rows = 0;
        size_t end = start;
        while (end < j && end - start < fan_in && rows + order[end]->rows <= policy.max_rows &&
               (policy.window_nanos == 0 ||
                order[end]->max_start - order[start]->max_start <= policy.window_nanos)) {
          rows += order[end]->rows;
          ++end;
        }
        if (end - start < 2) continue;
        best.numbers.clear();
        for (size_t k = start; k < end; ++k) best.numbers.push_back(order[k]->number);
        best.level = level + 1;
        break;
      }
    }
    i = j;
  }
  return best;
}

}  // namespace spanstore
