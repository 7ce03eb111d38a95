// Block files for tests: random spans in block row order, written with a BlockBuilder.

#ifndef SPANSTORE_TESTS_UTIL_BLOCK_FIXTURES_H_
#define SPANSTORE_TESTS_UTIL_BLOCK_FIXTURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "format/block_builder.h"
#include "format/block_reader.h"
#include "spanstore/span.h"

namespace spanstore::test {

// Random traces (RandomSpans) in the row order compaction writes (SortBlockRows), with a few
// spans whose end precedes their start and some whose parent is not in the block. `small`
// keeps them short (few attributes, events and links; no awkward values).
std::vector<Span> SortedRandomSpans(uint64_t seed, int traces, bool small = false);

// Writes `spans` (in row order) as one block file, of the current format version unless told.
absl::Status WriteBlock(const std::string& path, const std::vector<Span>& spans, Codec codec,
                        uint32_t rows_per_group, BlockProperties* props,
                        uint32_t format_version = kBlockFormatVersion);

// Every row of `block`, in row order (ForEachRow); empty with a test failure on an error.
std::vector<Span> AllRows(const BlockReader& block);

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_BLOCK_FIXTURES_H_
