// Service dependencies: which service calls which, derived from parent/child spans.
//
// The edges of the service graph (spanstore/analysis.h, ComputeServiceGraph) with their call
// counts: client/server and producer/consumer pairs across services, and parent/child spans of
// different services where the kinds do not pair. Its cost grows with the window (a scan, about
// 80 bytes per scanned span); per-block summaries kept at compaction are the proper design.
//
// Thread safety: reentrant; Store calls follow Store's rules.

#ifndef SPANSTORE_DEPENDENCIES_H_
#define SPANSTORE_DEPENDENCIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "spanstore/export.h"

namespace spanstore {

class Store;

struct SPANSTORE_EXPORT DependencyLink {
  std::string parent;  // the calling service
  std::string child;   // the called service
  uint64_t call_count = 0;
  friend bool operator==(const DependencyLink&, const DependencyLink&) = default;
};

// The calls between services among the spans that started in [start_unix_nano,
// end_unix_nano], sorted by parent then child. Scans at most max_scanned_spans spans (0: no
// bound); beyond that the links found so far are returned and *truncated (if not null) is set.
// Past `deadline` it fails with DeadlineExceeded.
SPANSTORE_EXPORT absl::StatusOr<std::vector<DependencyLink>> ComputeDependencies(
    Store& store, uint64_t start_unix_nano, uint64_t end_unix_nano, uint64_t max_scanned_spans,
    bool* truncated = nullptr, absl::Time deadline = absl::InfiniteFuture());

// Appends the links as Jaeger UI's dependency model: [{"parent","child","callCount"},...].
SPANSTORE_EXPORT void AppendJaegerDependencies(absl::Span<const DependencyLink> links,
                                               std::string* out);

}  // namespace spanstore

#endif  // SPANSTORE_DEPENDENCIES_H_
