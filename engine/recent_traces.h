// RecentTraces: which candidate traces a search must still read to return the `limit` most
// recent matching traces in Tempo's order -- by trace start time, latest first, ties by trace id
// (Tempo's search combiner sorts its results by StartTimeUnixNano, descending).
//
// A search knows a trace's start only after reading the trace: the candidate scans see just
// some of its spans. But every span of a trace starts no earlier than the trace, so the earliest
// candidate span's start is an upper bound on the trace's start. Reading candidates in order of
// that bound, latest first, the search may stop as soon as the next bound is below the start of
// the limit-th best trace found: no later candidate can enter the result. With short traces the
// bound is nearly the start itself, so a search reads little more than `limit` traces.
//
// Thread safety: none; one per search.

#ifndef SPANSTORE_ENGINE_RECENT_TRACES_H_
#define SPANSTORE_ENGINE_RECENT_TRACES_H_

#include <cstddef>
#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

#include "spanstore/span.h"

namespace spanstore {

class RecentTraces {
 public:
  // A candidate trace and an upper bound on its start (its earliest candidate span's start).
  using Candidate = std::pair<TraceId, uint64_t>;

  // limit 0: every matching trace.
  explicit RecentTraces(size_t limit) : limit_(limit) {}

  // Sorts candidates into reading order: bound descending, then trace id ascending.
  static void Order(std::vector<Candidate>* candidates);

  // Records a trace that matched, with its start.
  void Add(const TraceId& trace_id, uint64_t start);

  // True when no candidate whose start is at most `bound` can be among the best `limit`: the
  // search may stop. (A bound equal to the cut-off may still win on trace id.)
  bool Done(uint64_t bound) const {
    return limit_ != 0 && worst_.size() >= limit_ && bound < worst_.top().first;
  }

  // True when `a` comes before `b` in the result: later start first, then smaller trace id.
  static bool Before(uint64_t a_start, const TraceId& a_id, uint64_t b_start, const TraceId& b_id) {
    if (a_start != b_start) return a_start > b_start;
    return a_id < b_id;
  }

 private:
  struct Later {  // a heap whose top is the worst of the best `limit`
    bool operator()(const std::pair<uint64_t, TraceId>& a,
                    const std::pair<uint64_t, TraceId>& b) const {
      return Before(a.first, a.second, b.first, b.second);
    }
  };
  size_t limit_;
  std::priority_queue<std::pair<uint64_t, TraceId>, std::vector<std::pair<uint64_t, TraceId>>,
                      Later>
      worst_;
};

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_RECENT_TRACES_H_
