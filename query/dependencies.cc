// Service dependencies from parent/child spans: a scan of the window, then a join of each
// span's parent id against the spans seen.

#include "spanstore/dependencies.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "spanstore/formats.h"
#include "spanstore/query.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

struct SpanKey {
  TraceId trace;
  SpanId span;
  friend bool operator==(const SpanKey&, const SpanKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SpanKey& k) {
    return H::combine(std::move(h), k.trace, k.span);
  }
};

}  // namespace

absl::StatusOr<std::vector<DependencyLink>> ComputeDependencies(Store& store,
                                                                uint64_t start_unix_nano,
                                                                uint64_t end_unix_nano,
                                                                uint64_t max_scanned_spans,
                                                                bool* truncated) {
  if (truncated != nullptr) *truncated = false;
  SpanQuery window;
  window.start_min = start_unix_nano;
  window.start_max = end_unix_nano;

  // Service names are interned: the maps hold a 4-byte index per span, not a string.
  std::vector<std::string> services;
  absl::flat_hash_map<std::string, uint32_t> service_index;
  auto intern = [&](const std::string& name) {
    auto [it, inserted] = service_index.try_emplace(name, services.size());
    if (inserted) services.push_back(name);
    return it->second;
  };
  absl::flat_hash_map<SpanKey, uint32_t> service_of;  // every scanned span
  struct Child {
    SpanKey parent;
    uint32_t service;
  };
  std::vector<Child> children;  // every scanned span with a parent
  uint64_t scanned = 0;
  absl::Status s = store.Scan(window, [&](const Span& span) {
    const uint32_t service = intern(span.service_name);
    service_of[SpanKey{span.trace_id, span.span_id}] = service;
    if (!span.is_root()) children.push_back({SpanKey{span.trace_id, span.parent_span_id}, service});
    ++scanned;
    if (max_scanned_spans != 0 && scanned >= max_scanned_spans) {
      if (truncated != nullptr) *truncated = true;
      return false;
    }
    return true;
  });
  if (!s.ok()) return s;

  std::map<std::pair<uint32_t, uint32_t>, uint64_t> calls;
  for (const Child& c : children) {
    auto parent = service_of.find(c.parent);
    if (parent == service_of.end() || parent->second == c.service) continue;
    ++calls[{parent->second, c.service}];
  }
  std::vector<DependencyLink> links;
  links.reserve(calls.size());
  for (const auto& [edge, count] : calls) {
    links.push_back({services[edge.first], services[edge.second], count});
  }
  std::sort(links.begin(), links.end(), [](const DependencyLink& a, const DependencyLink& b) {
    return std::tie(a.parent, a.child) < std::tie(b.parent, b.child);
  });
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
