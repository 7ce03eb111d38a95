// The two compaction steps, as functions of their inputs (the store decides when to run them and
// swaps their outputs in through the manifest, engine/store_compaction.cc):
//
//   L0: encoded spans (a sealed memtable's, format/span_codec.h) -> one block, its traces in
//       order of their first start (format/block_format.h), each trace's spans by (start,
//       span id), with exact duplicates dropped -- within the input and
//       against the live blocks, so live blocks never share a span and a query needs no
//       cross-block de-duplication -- and the tail-sampling policy applied to each trace in
//       hand. Contexts given separately are stored in the block as they are, not decoded.
//   Merge: several blocks -> larger blocks, streamed trace by trace (a k-way merge in the
//       same order), so the late spans of a trace that landed in different L0 blocks end up
//       contiguous in one block, and the output's row groups stay narrow in time.
//
// Both write complete, synced files and never touch the manifest.
//
// Thread safety: stateless functions; inputs are immutable.

#ifndef SPANSTORE_COMPACTION_COMPACTOR_H_
#define SPANSTORE_COMPACTION_COMPACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "format/block_builder.h"
#include "format/block_reader.h"
#include "format/span_codec.h"
#include "spanstore/options.h"
#include "spanstore/store.h"

namespace spanstore {

struct CompactionCounters {
  uint64_t input_spans = 0;
  uint64_t output_spans = 0;
  uint64_t duplicates_dropped = 0;
  uint64_t sampled_out_traces = 0;
  uint64_t sampled_out_spans = 0;
};

// The tail-sampling decision for one trace (all the spans of it in hand).
bool KeepTrace(const SamplingPolicy& policy, const TraceId& trace_id,
               absl::Span<const Span> spans);

struct NewBlock {
  uint64_t number = 0;
  std::string path;
  BlockProperties properties;
};

// Allocates the number and path of the next block file.
using NewBlockFile = std::function<NewBlock()>;

// Writes `spans` (in any order; the views must stay valid until it returns) as one block.
// `existing` are the live blocks, oldest first: a span equal to one of theirs is dropped (only
// blocks whose time range covers its start are asked: a copy has the same start). Sets *out to
// an empty NewBlock (path empty) when nothing remains to write (no file is left behind).
absl::Status CompactSpans(Env* env, const BlockBuildOptions& options,
                          const SamplingPolicy& sampling, absl::Span<const EncodedSpan> spans,
                          absl::Span<const BlockReader* const> existing,
                          const NewBlockFile& new_file, NewBlock* out,
                          CompactionCounters* counters);

// Merges `inputs` into new blocks of at most about `max_rows` rows each (a trace is never split
// between outputs). Appends the outputs to *out. Inputs written in the order CompactSpans writes
// give outputs in that order (blocks of older builds, in trace-id order, merge correctly too).
// A span in two inputs (which live blocks never share) is written once.
absl::Status MergeBlocks(Env* env, const BlockBuildOptions& options,
                         absl::Span<const BlockReader* const> inputs, uint64_t max_rows,
                         const NewBlockFile& new_file, std::vector<NewBlock>* out,
                         CompactionCounters* counters);

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_COMPACTOR_H_
