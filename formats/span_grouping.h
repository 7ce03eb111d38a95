// Grouping spans the way OTLP nests them: by resource, then by instrumentation scope, each in
// order of first appearance. Shared by the OTLP JSON and protobuf writers.

#ifndef SPANSTORE_FORMATS_SPAN_GROUPING_H_
#define SPANSTORE_FORMATS_SPAN_GROUPING_H_

#include <algorithm>
#include <vector>

#include "absl/types/span.h"
#include "spanstore/span.h"

namespace spanstore {

// groups[r][s] holds the spans of resource r and scope s.
using ResourceScopeGroups = std::vector<std::vector<std::vector<const Span*>>>;

inline ResourceScopeGroups GroupByResourceAndScope(absl::Span<const Span> spans) {
  auto same_resource = [](const Span& a, const Span& b) {
    return a.resource_attributes == b.resource_attributes &&
           a.resource_schema_url == b.resource_schema_url;
  };
  auto same_scope = [](const Span& a, const Span& b) {
    return a.scope_name == b.scope_name && a.scope_version == b.scope_version &&
           a.scope_attributes == b.scope_attributes && a.scope_schema_url == b.scope_schema_url;
  };
  ResourceScopeGroups groups;
  for (const Span& s : spans) {
    auto r = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& g) { return same_resource(*g[0][0], s); });
    if (r == groups.end()) {
      groups.push_back({{&s}});
      continue;
    }
    auto sc = std::find_if(r->begin(), r->end(), [&](const auto& g) { return same_scope(*g[0], s); });
    if (sc == r->end()) {
      r->push_back({&s});
    } else {
      sc->push_back(&s);
    }
  }
  return groups;
}

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_SPAN_GROUPING_H_
