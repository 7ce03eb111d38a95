// Nested-set numbering: one depth-first walk per trace, without recursion (a hostile trace
// can be millions of spans deep).

#include "query/nested_set.h"

#include <utility>

#include "absl/container/flat_hash_map.h"

namespace spanstore {

std::vector<NestedSetNumbers> NumberNestedSet(absl::Span<const Span> trace) {
  const size_t n = trace.size();
  std::vector<NestedSetNumbers> out(n);
  absl::flat_hash_map<SpanId, uint32_t> by_id;
  by_id.reserve(n);
  for (uint32_t i = 0; i < n; ++i) by_id.try_emplace(trace[i].span_id, i);
  // Children lists in trace order, as a compact adjacency (first child, next sibling).
  constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> first_child(n, kNone), next_sibling(n, kNone), last_child(n, kNone);
  std::vector<uint32_t> roots;
  for (uint32_t i = 0; i < n; ++i) {
    const Span& s = trace[i];
    if (s.is_root()) {
      roots.push_back(i);
      continue;
    }
    auto parent = by_id.find(s.parent_span_id);
    if (parent == by_id.end() || parent->second == i) continue;  // no root reaches it
    const uint32_t p = parent->second;
    if (last_child[p] == kNone) {
      first_child[p] = i;
    } else {
      next_sibling[last_child[p]] = i;
    }
    last_child[p] = i;
  }
  std::vector<bool> visited(n, false);
  int64_t counter = 1;
  // (span, its next child to visit)
  std::vector<std::pair<uint32_t, uint32_t>> stack;
  for (uint32_t root : roots) {
    if (visited[root]) continue;
    visited[root] = true;
    out[root].left = counter++;
    out[root].parent = -1;
    stack.emplace_back(root, first_child[root]);
    while (!stack.empty()) {
      auto& [span, child] = stack.back();
      // A child already numbered (a repeated id closing a cycle) is skipped.
      while (child != kNone && visited[child]) child = next_sibling[child];
      if (child == kNone) {
        out[span].right = counter++;
        stack.pop_back();
        continue;
      }
      const uint32_t c = child;
      child = next_sibling[c];
      visited[c] = true;
      out[c].left = counter++;
      out[c].parent = out[span].left;
      stack.emplace_back(c, first_child[c]);
    }
  }
  return out;
}

void AddSelectedNestedSet(const TraceQuery& query, absl::Span<const Span> trace,
                          std::vector<Spanset>* sets) {
  bool left = false, right = false, parent = false;
  for (const TraceQLField& f : query.selected) {
    if (f.is_attribute) continue;
    left |= f.intrinsic == Intrinsic::kNestedSetLeft;
    right |= f.intrinsic == Intrinsic::kNestedSetRight;
    parent |= f.intrinsic == Intrinsic::kNestedSetParent;
  }
  if (!left && !right && !parent) return;
  const std::vector<NestedSetNumbers> numbers = NumberNestedSet(trace);
  absl::flat_hash_map<SpanId, uint32_t> by_id;
  for (uint32_t i = 0; i < trace.size(); ++i) by_id.try_emplace(trace[i].span_id, i);
  for (Spanset& set : *sets) {
    for (Span& span : set.spans) {
      auto it = by_id.find(span.span_id);
      const NestedSetNumbers n = it == by_id.end() ? NestedSetNumbers() : numbers[it->second];
      if (left) span.attributes.push_back({"nestedSetLeft", AnyValue::Int(n.left)});
      if (right) span.attributes.push_back({"nestedSetRight", AnyValue::Int(n.right)});
      if (parent) span.attributes.push_back({"nestedSetParent", AnyValue::Int(n.parent)});
    }
  }
}

}  // namespace spanstore
