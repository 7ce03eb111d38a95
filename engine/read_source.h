// ReadSource: one part of a store's contents as a query sees it. A query takes a snapshot -- a
// list of sources, oldest first -- and reads each without holding the store's lock: the live
// blocks (BlockSource, engine/block_source.h), then the memtables (MemTableSource, with the
// entry count visible at snapshot time; engine/memtable.h).
//
// Thread safety: a source is immutable once in a snapshot; all methods are const and may be
// called concurrently.

#ifndef SPANSTORE_ENGINE_READ_SOURCE_H_
#define SPANSTORE_ENGINE_READ_SOURCE_H_

#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "format/group_data.h"
#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore {

class ReadSource {
 public:
  virtual ~ReadSource() = default;

  // Appends the spans of the trace held by this source (any order).
  virtual absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* out) const = 0;
  // GetTrace building only `fields` of each span (and of the attributes, those named in
  // `keys`) where the source can; the others are whole.
  virtual absl::Status GetTraceFields(const TraceId& trace_id, const SpanFields& fields,
                                      const std::vector<std::string_view>& keys,
                                      std::vector<Span>* out) const {
    return GetTrace(trace_id, out);
  }

  // Calls `visitor` for every span of this source that satisfies SpanMatches(query, span)
  // (query.limit is the caller's business), until it returns false.
  virtual absl::Status Scan(const SpanQuery& query,
                            absl::FunctionRef<bool(const Span&)> visitor) const = 0;

  // Like Scan, but hands the visitor only each matching span's trace id and start time. A
  // source may answer from its columns without building spans; the default builds them.
  virtual absl::Status ScanKeys(
      const SpanQuery& query,
      absl::FunctionRef<bool(const TraceId&, uint64_t start)> visitor) const {
    return Scan(query,
                [&](const Span& span) { return visitor(span.trace_id, span.start_time_unix_nano); });
  }

  // True if this source holds a span equal to `span` (the same span appended twice).
  virtual bool Contains(const Span& span) const = 0;

  virtual void CollectServices(absl::btree_set<std::string>* out) const = 0;
  virtual void CollectOperations(const std::string& service,
                                 absl::btree_set<std::string>* out) const = 0;
};

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_READ_SOURCE_H_
