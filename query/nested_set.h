// Tempo's nested-set numbers of a trace's spans, for select(nestedSetLeft, nestedSetRight,
// nestedSetParent): what Grafana's Traces Drilldown asks for to draw the structure of the
// traces it found. The numbers depend on the whole trace, so they are computed per trace at
// search time from ids and parents, not stored.
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_QUERY_NESTED_SET_H_
#define SPANSTORE_QUERY_NESTED_SET_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "spanstore/span.h"
#include "spanstore/traceql.h"

namespace spanstore {

struct NestedSetNumbers {
  int64_t left = 0;
  int64_t right = 0;
  int64_t parent = 0;  // the parent's left; -1 for a root
  friend bool operator==(const NestedSetNumbers&, const NestedSetNumbers&) = default;
};

// The numbers of each span of `trace` (one trace's spans, in trace order: start time, then
// span id), as Tempo assigns them: a depth-first walk from each root in that order, children in
// that order too, a counter from 1 given as `left` on the way down and as `right` on the way
// up. A span no root reaches (its parent is missing: an orphan, or a cycle) keeps zeros; when a
// span id repeats, children hang under its first span, and each repeat is numbered on its own.
std::vector<NestedSetNumbers> NumberNestedSet(absl::Span<const Span> trace);

// When `query` selects nestedSetLeft, nestedSetRight or nestedSetParent: appends to each span
// of `sets` the selected numbers as int span attributes under those names, taken from
// `trace` (the whole trace, in trace order; its spans need only ids and parents). The output
// writers show them as the selected fields they are.
void AddSelectedNestedSet(const TraceQuery& query, absl::Span<const Span> trace,
                          std::vector<Spanset>* sets);

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_NESTED_SET_H_
