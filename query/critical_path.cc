// The critical path of each trace, as self time per span, aggregated per (service, operation)
// over the traces a filter selects.

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spanstore/analysis.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

uint64_t EndOf(const Span& s) { return std::max(s.end_time_unix_nano, s.start_time_unix_nano); }

struct Walker {
  absl::Span<const Span> spans;
  std::vector<std::vector<size_t>> children;
  std::vector<uint64_t> self;

  // The path owns [lo, hi) of `node`: from the end backwards, the last child to finish before
  // the cursor is what the node waited for; the rest of the interval is the node's own time.
  void Walk(size_t node, uint64_t lo, uint64_t hi, int depth) {
    if (hi <= lo) return;
    uint64_t cursor = hi;
    if (depth < 1000) {  // pathological parent chains: the rest counts as the node's own
      for (size_t k : children[node]) {
        const uint64_t ks = spans[k].start_time_unix_nano;
        if (ks >= cursor) continue;
        const uint64_t ke = std::min(EndOf(spans[k]), cursor);
        if (ke <= lo) break;  // sorted by end: no later child ends inside the interval
        self[node] += cursor - ke;
        const uint64_t child_lo = std::max(ks, lo);
        Walk(k, child_lo, ke, depth + 1);
        cursor = child_lo;
        if (cursor <= lo) break;
      }
    }
    self[node] += cursor - lo;
  }
};

}  // namespace

std::vector<uint64_t> CriticalPathSelfTimes(absl::Span<const Span> spans) {
  Walker w{spans, std::vector<std::vector<size_t>>(spans.size()),
           std::vector<uint64_t>(spans.size(), 0)};
  if (spans.empty()) return w.self;
  absl::flat_hash_map<SpanId, size_t> by_id;
  for (size_t i = 0; i < spans.size(); ++i) by_id.try_emplace(spans[i].span_id, i);
  std::vector<size_t> roots;
  for (size_t i = 0; i < spans.size(); ++i) {
    auto it = spans[i].is_root() ? by_id.end() : by_id.find(spans[i].parent_span_id);
    if (it == by_id.end() || it->second == i) {
      roots.push_back(i);
    } else {
      w.children[it->second].push_back(i);
    }
  }
  for (auto& kids : w.children) {
    std::sort(kids.begin(), kids.end(), [&](size_t a, size_t b) {
      return EndOf(spans[a]) != EndOf(spans[b]) ? EndOf(spans[a]) > EndOf(spans[b]) : a < b;
    });
  }
  // The root that finishes last bounds the trace (an orphan counts as a root).
  size_t root = roots.empty() ? 0 : roots[0];
  for (size_t r : roots) {
    if (EndOf(spans[r]) > EndOf(spans[root])) root = r;
  }
  w.Walk(root, spans[root].start_time_unix_nano, EndOf(spans[root]), 0);
  return w.self;
}

absl::StatusOr<CriticalPathReport> ComputeCriticalPaths(Store& store, const SpanQuery& query,
                                                        size_t max_traces) {
  auto found = store.FindTraces(query, max_traces);
  if (!found.ok()) return found.status();
  using Key = std::pair<std::string, std::string>;
  std::map<Key, size_t> index;
  std::vector<CriticalPathRow> rows;
  std::vector<uint64_t> present;  // per row: traces it owns time in
  struct TraceShare {
    uint64_t duration = 0;
    std::vector<std::pair<size_t, uint64_t>> owned;  // (row, ns)
  };
  std::vector<TraceShare> traces;
  for (const TraceSummary& summary : *found) {
    auto trace = store.GetTrace(summary.trace_id);
    if (absl::IsNotFound(trace.status())) continue;  // dropped by retention since the search
    if (!trace.ok()) return trace.status();
    const std::vector<uint64_t> self = CriticalPathSelfTimes(trace->spans);
    absl::flat_hash_map<size_t, uint64_t> owned;
    TraceShare share;
    for (size_t i = 0; i < self.size(); ++i) {
      if (self[i] == 0) continue;
      const Span& s = trace->spans[i];
      auto [it, inserted] = index.try_emplace(Key{s.service_name, s.name}, rows.size());
      if (inserted) {
        rows.emplace_back();
        rows.back().service = s.service_name;
        rows.back().operation = s.name;
        present.push_back(0);
      }
      owned[it->second] += self[i];
      share.duration += self[i];
    }
    for (const auto& [row, ns] : owned) {
      rows[row].total_ns += ns;
      rows[row].per_trace.Add(ns);
      ++present[row];
      share.owned.push_back({row, ns});
    }
    traces.push_back(std::move(share));
  }
  CriticalPathReport report;
  report.traces = traces.size();
  std::vector<uint64_t> durations;
  uint64_t all = 0;
  for (const TraceShare& t : traces) {
    durations.push_back(t.duration);
    all += t.duration;
  }
  std::sort(durations.begin(), durations.end());
  if (!durations.empty()) {
    // Exact quantiles: the traces are in memory anyway.
    report.p50_trace_ns = durations[(durations.size() - 1) / 2];
    report.p99_trace_ns = durations[static_cast<size_t>(0.99 * (durations.size() - 1))];
  }
  std::vector<uint64_t> tail(rows.size(), 0);
  uint64_t tail_all = 0;
  for (const TraceShare& t : traces) {
    if (t.duration < report.p99_trace_ns) continue;
    tail_all += t.duration;
    for (const auto& [row, ns] : t.owned) tail[row] += ns;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    CriticalPathRow& r = rows[i];
    r.per_trace.Add(0, report.traces - present[i]);
    r.share = all ? static_cast<double>(r.total_ns) / static_cast<double>(all) : 0;
    r.tail_share = tail_all ? static_cast<double>(tail[i]) / static_cast<double>(tail_all) : 0;
    r.p50_ns = r.per_trace.Quantile(0.5);
    r.p99_ns = r.per_trace.Quantile(0.99);
  }
  std::sort(rows.begin(), rows.end(), [](const CriticalPathRow& a, const CriticalPathRow& b) {
    return a.total_ns != b.total_ns
               ? a.total_ns > b.total_ns
               : std::tie(a.service, a.operation) < std::tie(b.service, b.operation);
  });
  report.rows = std::move(rows);
  return report;
}

std::string CriticalPathJson(const CriticalPathReport& report) {
  std::string out =
      absl::StrCat("{\"traces\":", report.traces, ",\"p50_trace_ns\":", report.p50_trace_ns,
                   ",\"p99_trace_ns\":", report.p99_trace_ns, ",\"rows\":[");
  for (size_t i = 0; i < report.rows.size(); ++i) {
    const CriticalPathRow& r = report.rows[i];
    out += i ? ",{\"service\":" : "{\"service\":";
    AppendJsonString(r.service, &out);
    out += ",\"operation\":";
    AppendJsonString(r.operation, &out);
    absl::StrAppend(&out, ",\"total_ns\":", r.total_ns,
                    ",\"share\":", absl::StrFormat("%.6g", r.share),
                    ",\"tail_share\":", absl::StrFormat("%.6g", r.tail_share),
                    ",\"p50_ns\":", r.p50_ns, ",\"p99_ns\":", r.p99_ns, "}");
  }
  out += "]}";
  return out;
}

}  // namespace spanstore
