// Service dependencies for Jaeger: the service graph's edges with their call counts.

#include "spanstore/dependencies.h"

#include "absl/strings/str_cat.h"
#include "spanstore/analysis.h"
#include "spanstore/formats.h"
#include "spanstore/query.h"
#include "spanstore/store.h"

namespace spanstore {

// The links are the service graph's edges (query/service_graph.cc), so Jaeger's view and
// `spanctl graph` agree on what a call between services is.
absl::StatusOr<std::vector<DependencyLink>> ComputeDependencies(
    Store& store, uint64_t start_unix_nano, uint64_t end_unix_nano, uint64_t max_scanned_spans,
    bool* truncated, absl::Time deadline) {
  if (truncated != nullptr) *truncated = false;
  AnalysisWindow window;
  window.start_unix_nano = start_unix_nano;
  // This function's window is inclusive; the graph's is half-open.
  window.end_unix_nano = end_unix_nano == UINT64_MAX ? UINT64_MAX : end_unix_nano + 1;
  window.max_spans = max_scanned_spans;
  window.deadline = deadline;
  if (window.end_unix_nano <= window.start_unix_nano) return std::vector<DependencyLink>();
  absl::StatusOr<ServiceGraph> graph = ComputeServiceGraph(store, window);
  if (!graph.ok()) return graph.status();
  if (truncated != nullptr) *truncated = graph->truncated;
  std::vector<DependencyLink> links;
  links.reserve(graph->edges.size());
  for (const ServiceEdge& e : graph->edges) {
    // Jaeger's dependencies are between services that both report spans.
    if (!e.virtual_server) links.push_back({e.client, e.server, e.calls});
  }
  return links;
}

void AppendJaegerDependencies(absl::Span<const DependencyLink> links, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < links.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"parent\":");
    AppendJsonString(links[i].parent, out);
    out->append(",\"child\":");
    AppendJsonString(links[i].child, out);
    absl::StrAppend(out, ",\"callCount\":", links[i].call_count, "}");
  }
  out->push_back(']');
}

}  // namespace spanstore
