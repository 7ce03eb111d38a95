// RecentTraces: the reading order and the stopping rule of a most-recent-first search.

#include "engine/recent_traces.h"

#include <algorithm>

namespace spanstore {

void RecentTraces::Order(std::vector<Candidate>* candidates) {
  std::sort(candidates->begin(), candidates->end(), [](const Candidate& a, const Candidate& b) {
    return Before(a.second, a.first, b.second, b.first);
  });
}

void RecentTraces::Add(const TraceId& trace_id, uint64_t start) {
  if (limit_ == 0) return;
  worst_.emplace(start, trace_id);
  if (worst_.size() > limit_) worst_.pop();
}

}  // namespace spanstore
