// Span queries over one block's columns: the plan (which services, operations and attribute
// values of the block's tables a query can match, worked out once per block) and its execution
// row group by row group -- zone maps first, then the predicate columns (operation, times,
// status) to narrow the rows, and only for the rows left the wide columns and SpanMatches.
//
// Thread safety: stateless functions over an immutable BlockReader.

#ifndef SPANSTORE_ENGINE_BLOCK_SCAN_H_
#define SPANSTORE_ENGINE_BLOCK_SCAN_H_

#include <cstdint>
#include <string_view>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "format/block_reader.h"
#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore {

// Calls `visitor` for every span of `block` that satisfies SpanMatches(query, span), in row
// order, until it returns false.
absl::Status ScanBlock(const BlockReader& block, const SpanQuery& query,
                       absl::FunctionRef<bool(const Span&)> visitor);

// True when ScanBlockKeys can answer `query` without building whole spans: from the predicate
// and attribute columns, or from spans built with only the parts the query reads (every part
// a SpanQuery can name is known, so this fails only for a query this build does not know).
bool ScanKeysFromColumns(const SpanQuery& query);

// Calls `visitor` with the trace id and start time of every span matching `query` (building
// whole spans only when ScanKeysFromColumns(query) is false). With `more`, the row groups go
// newest first (by their zone maps' max start), and between two groups more(rest) -- rest
// bounds the start of every match the groups left may hold -- false ends the scan: a search
// for the latest traces stops inside a block once nothing older can enter its result
// (compaction writes a block's rows in time order, so its groups cover consecutive stretches
// of time).
absl::Status ScanBlockKeys(const BlockReader& block, const SpanQuery& query,
                           absl::FunctionRef<bool(const TraceId&, uint64_t start)> visitor,
                           absl::FunctionRef<bool(uint64_t rest)>* more = nullptr);

// For the service graph and RED (engine/store_analysis.cc): calls `visitor` for every span of
// `block` whose start lies in one of `ranges` (inclusive [first, second], ascending, disjoint)
// and for whose trace and start keep(trace, start) holds, until it returns false. Tested on
// the time column and the trace index before anything is built; a span is built with only
// the parts every built span has (ids, parent, times, service, name, kind, status) and the
// span attributes named in `keys`. Honours query's deadline and cancel flag only.
absl::Status ScanBlockForAnalysis(const BlockReader& block,
                                  absl::Span<const std::pair<uint64_t, uint64_t>> ranges,
                                  absl::Span<const std::string_view> keys, const SpanQuery& query,
                                  absl::FunctionRef<bool(const TraceId&, uint64_t)> keep,
                                  absl::FunctionRef<bool(const Span&)> visitor);

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_BLOCK_SCAN_H_
