// Which live blocks to merge next: size-tiered merges within time windows, so that the block
// count grows with the logarithm of the data (up to a block-size cap), not with the number of
// WAL segments ever flushed.
//
// Blocks are ordered by their newest span (max_start; ties by number): a flush writes each
// sealed WAL segment as one level-0 block, and segments are cut in arrival order, so this is
// arrival order for the blocks that late spans widen at the old end. A merge takes a run of
// blocks that are adjacent in that order and share one level L, and writes level L+1, which
// takes their place in the order (its max_start is theirs). So with fan-in k the levels behave
// like the digits of a base-k counter: at most k-1 blocks wait at each level, and a merged block
// covers one contiguous stretch of time -- search's time pruning and retention keep working on
// it (blocks merged across far-apart times would be scanned by every query in between and kept
// until their newest span expires).
//
// When block times do not follow arrival (span times spread across every segment, a clock that
// jumps), outputs land among blocks of other levels and runs stop forming; then a stretch of
// blocks holding more than (fan_in - 1) per level is merged anyway, the adjacent group with the
// fewest rows first, so the count stays bounded whatever the times.
//
// Three limits, each for a reason:
//   - max_rows: a merge writes at most this many rows (the longest prefix of the run that fits),
//     and a block of more than max_rows/2 rows is never merged again (it could not be merged
//     with an equal peer). This bounds how often a span is rewritten (log_k(max_rows / L0 rows)
//     times), how long one merge keeps the compaction thread from flushing, and how much time a
//     block spans. The count is then about rows / (max_rows/2..max_rows) + (k-1) * levels.
//   - window_nanos: the inputs' max_start values lie within this window, so merging delays no
//     span's expiry by more than it (retention drops a block when its newest span expires). Zero
//     means no limit.
//   - fan_in: runs of this many blocks are merged; a larger k means fewer rewrites (log_k) but
//     more blocks waiting at each level.
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_COMPACTION_MERGE_POLICY_H_
#define SPANSTORE_COMPACTION_MERGE_POLICY_H_

#include <cstdint>
#include <vector>

#include "format/manifest.h"

namespace spanstore {

struct MergePolicy {
  uint32_t fan_in = 4;
  uint64_t max_rows = 2'000'000;
  uint64_t window_nanos = 0;
};

struct MergePick {
  std::vector<uint64_t> numbers;  // the inputs' block numbers, in time order; empty: no merge
  uint32_t level = 0;             // the output's level
};

// The next merge for `blocks` (a manifest's), or an empty pick. Prefers the lowest level (the
// cheapest merge, and the one that removes blocks soonest), then the oldest run. Deterministic.
MergePick PickMerge(const std::vector<ManifestBlock>& blocks, const MergePolicy& policy);

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_MERGE_POLICY_H_
