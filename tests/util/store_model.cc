#include "tests/util/store_model.h"

#include <algorithm>
#include <set>

namespace spanstore::test {

bool TraceOrder(const Span& a, const Span& b) {
  if (a.start_time_unix_nano != b.start_time_unix_nano) {
    return a.start_time_unix_nano < b.start_time_unix_nano;
  }
  return a.span_id < b.span_id;
}

bool StoreModel::Contains(const Span& span) const {
  auto it = by_trace_.find(span.trace_id);
  if (it == by_trace_.end()) return false;
  for (size_t i : it->second) {
    if (spans_[i] == span) return true;
  }
  return false;
}

void StoreModel::Append(absl::Span<const Span> spans) {
  for (const Span& span : spans) {
    if (Contains(span)) continue;
    by_trace_[span.trace_id].push_back(spans_.size());
    spans_.push_back(span);
  }
}

std::vector<TraceId> StoreModel::TraceIds() const {
  std::vector<TraceId> ids;
  for (const auto& [id, unused] : by_trace_) ids.push_back(id);
  return ids;
}

std::vector<Span> StoreModel::Trace(const TraceId& trace_id) const {
  std::vector<Span> out;
  auto it = by_trace_.find(trace_id);
  if (it == by_trace_.end()) return out;
  for (size_t i : it->second) out.push_back(spans_[i]);
  std::sort(out.begin(), out.end(), TraceOrder);
  return out;
}

std::vector<Span> StoreModel::Matching(const SpanQuery& query) const {
  std::vector<Span> out;
  for (const Span& span : spans_) {
    if (SpanMatches(query, span)) out.push_back(span);
  }
  return out;
}

TraceSummary StoreModel::Summarize(const TraceId& trace_id, uint32_t matched) const {
  TraceSummary sum = SummarizeTrace(trace_id, Trace(trace_id));
  sum.matched_spans = matched;
  return sum;
}

std::map<TraceId, TraceSummary> StoreModel::FindTraces(const SpanQuery& query) const {
  std::map<TraceId, uint32_t> matched;
  for (const Span& span : spans_) {
    if (SpanMatches(query, span)) ++matched[span.trace_id];
  }
  std::map<TraceId, TraceSummary> out;
  for (const auto& [id, n] : matched) out[id] = Summarize(id, n);
  return out;
}

std::vector<std::string> StoreModel::Services() const {
  std::set<std::string> names;
  for (const Span& span : spans_) names.insert(span.service_name);
  return std::vector<std::string>(names.begin(), names.end());
}

std::vector<std::string> StoreModel::Operations(const std::string& service) const {
  std::set<std::string> names;
  for (const Span& span : spans_) {
    if (span.service_name == service) names.insert(span.name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace spanstore::test
