// SummarizeTrace: the one place a TraceSummary is built from a trace's spans (Store::FindTraces,
// the tests' reference model and the comparison benchmark all call it).

#include <algorithm>
#include <string_view>
#include <vector>

#include "spanstore/query.h"

namespace spanstore {

TraceSummary SummarizeTrace(const TraceId& trace_id, absl::Span<const Span> spans) {
  TraceSummary sum;
  sum.trace_id = trace_id;
  sum.span_count = static_cast<uint32_t>(spans.size());
  uint64_t start = UINT64_MAX, end = 0;
  std::vector<std::string_view> services;
  services.reserve(spans.size());
  for (const Span& span : spans) {
    start = std::min(start, span.start_time_unix_nano);
    end = std::max(end, std::max(span.start_time_unix_nano, span.end_time_unix_nano));
    if (span.status_code == StatusCode::kError) ++sum.error_count;
    services.push_back(span.service_name);
    if (span.is_root() && sum.root_service.empty() && sum.root_name.empty()) {
      sum.root_service = span.service_name;
      sum.root_name = span.name;
    }
  }
  std::sort(services.begin(), services.end());
  services.erase(std::unique(services.begin(), services.end()), services.end());
  sum.services.assign(services.begin(), services.end());
  sum.start_time_unix_nano = spans.empty() ? 0 : start;
  sum.duration_nanos = spans.empty() ? 0 : end - start;
  return sum;
}

}  // namespace spanstore
