// A reference model of a Store for model-based tests: every span appended, an exact duplicate
// kept once, and each query answered the obvious way -- a linear pass with SpanMatches, the
// reference semantics of a query. tests/store_model_test.cc compares the real store with it.
//
// Thread safety: none; one test thread owns a model.

#ifndef SPANSTORE_TESTS_UTIL_STORE_MODEL_H_
#define SPANSTORE_TESTS_UTIL_STORE_MODEL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore::test {

class StoreModel {
 public:
  // Records a batch that the store acknowledged. A span equal to one already held (every
  // field) is dropped, as the store returns a span appended twice once; a span with the same
  // ids but other content is a different span and kept.
  void Append(absl::Span<const Span> spans);

  // Distinct spans, in the order they were first appended.
  const std::vector<Span>& spans() const { return spans_; }
  size_t size() const { return spans_.size(); }
  bool Contains(const Span& span) const;

  std::vector<TraceId> TraceIds() const;
  // The trace as Store::GetTrace returns it: ordered by start time, then span id. Empty when the
  // model holds no span of the trace.
  std::vector<Span> Trace(const TraceId& trace_id) const;
  // Every span matching `query` (query.limit ignored), in append order.
  std::vector<Span> Matching(const SpanQuery& query) const;
  // One summary per trace with a matching span (query.limit ignored), keyed by trace id.
  std::map<TraceId, TraceSummary> FindTraces(const SpanQuery& query) const;
  // A trace's summary with matched_spans = `matched`. REQUIRES: the trace is held.
  TraceSummary Summarize(const TraceId& trace_id, uint32_t matched) const;

  std::vector<std::string> Services() const;
  std::vector<std::string> Operations(const std::string& service) const;

 private:
  std::vector<Span> spans_;
  // Trace id -> indexes into spans_, in append order.
  std::map<TraceId, std::vector<size_t>> by_trace_;
};

// Store::GetTrace's order: start time, then span id.
bool TraceOrder(const Span& a, const Span& b);

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_STORE_MODEL_H_
