// The propagation doctor: one pass over the window's traces collecting symptoms per service
// (or service pair), then the attribution: which service's clock is off, which caller's
// context never reaches its callee, which gaps remain once skew is taken out.

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/span_table.h"
#include "spanstore/analysis.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

constexpr size_t kExamples = 3;

// Traces counted once each, with a few examples.
struct TraceCount {
  uint64_t traces = 0;
  uint64_t spans = 0;
  TraceId last;
  std::vector<TraceId> examples;
  void Add(const TraceId& t) {
    ++spans;
    if (traces > 0 && last == t) return;
    ++traces;
    last = t;
    if (examples.size() < kExamples) examples.push_back(t);
  }
};

using Pair = std::pair<uint32_t, uint32_t>;  // (parent or caller service, child or callee)

struct PairStats {
  std::vector<int64_t> offsets;  // the child's clock minus the parent's, per synchronous call
  TraceCount outside;            // calls whose child lies outside the parent's interval
};

struct LargeGap {
  TraceId trace;
  uint64_t nanos;
};

int64_t Median(std::vector<int64_t> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

bool Async(const SpanRow& parent, const SpanRow& child) {
  return parent.kind == SpanKind::kProducer || child.kind == SpanKind::kConsumer;
}

class Doctor {
 public:
  Doctor(const SpanTable& table, const DoctorOptions& options) : table_(table), options_(options) {}

  void Visit(absl::Span<const SpanRow> rows) {
    ++traces_;
    SpanLookup lookup(rows);
    const std::vector<ptrdiff_t>& parents = lookup.parents();
    std::vector<uint32_t> children(rows.size(), 0);
    for (ptrdiff_t p : parents) {
      if (p >= 0) ++children[p];
    }
    size_t roots = 0;
    std::vector<uint32_t> services;
    uint64_t last_start = 0;
    for (const SpanRow& r : rows) last_start = std::max(last_start, r.start);
    const bool recent = last_start + options_.late_span_window_nanos > table_.max_start();
    for (size_t i = 0; i < rows.size(); ++i) {
      const SpanRow& r = rows[i];
      services.push_back(r.service);
      if (r.end < r.start) negative_[r.service].Add(r.trace);
      if (r.is_root()) {
        if (++roots > 1) multiple_roots_[r.service].Add(r.trace);
        if (r.kind == SpanKind::kServer || r.kind == SpanKind::kConsumer) {
          new_trace_roots_[r.service].Add(r.trace);
        }
      } else if (parents[i] < 0 && !recent) {
        orphans_[r.service].Add(r.trace);
      }
      if (r.kind == SpanKind::kClient || r.kind == SpanKind::kProducer) {
        CallSite& site = calls_[{r.service, r.operation}];
        ++site.spans;
        if (children[i] == 0) site.childless.Add(r.trace);
      }
      const ptrdiff_t pi = parents[i];
      if (pi < 0) continue;
      const SpanRow& p = rows[pi];
      if (p.service != r.service &&
          (p.kind == SpanKind::kClient || p.kind == SpanKind::kProducer) &&
          (r.kind == SpanKind::kServer || r.kind == SpanKind::kConsumer)) {
        ++calls_[{p.service, p.operation}].callees[r.service];
      }
      if (Async(p, r)) continue;
      PairStats& pair = pairs_[{p.service, r.service}];
      if (p.service != r.service) {
        // NTP's estimate: with the request and the response taking equal time on the wire,
        // the child's clock is off by the mean of the two differences.
        const int64_t before = static_cast<int64_t>(r.start - p.start);
        const int64_t after = static_cast<int64_t>(r.clamped_end() - p.clamped_end());
        pair.offsets.push_back(before / 2 + after / 2);
      }
      if (r.start < p.start || r.clamped_end() > p.clamped_end()) {
        pair.outside.Add(r.trace);
        if (p.service != r.service) {
          outside_by_service_[p.service].Add(r.trace);
          outside_by_service_[r.service].Add(r.trace);
        }
      }
    }
    std::sort(services.begin(), services.end());
    services.erase(std::unique(services.begin(), services.end()), services.end());
    for (uint32_t s : services) ++traces_with_[s];
    CollectGaps(rows, parents);
  }

  DoctorReport Report() {
    DoctorReport report;
    report.traces = traces_;
    report.spans = table_.size();
    report.truncated = table_.truncated();
    auto add = [&](FindingKind kind, uint32_t service, const std::string& peer, const TraceCount& c,
                   double fraction, int64_t value, std::string detail) {
      Finding f{kind,       table_.str(service), peer, c.traces, fraction, value,
                c.examples, std::move(detail)};
      report.findings.push_back(std::move(f));
    };
    auto trace_fraction = [&](uint32_t service, uint64_t n) {
      const uint64_t d = traces_with_[service];
      return d ? static_cast<double>(n) / static_cast<double>(d) : 0.0;
    };

    const absl::flat_hash_map<uint32_t, int64_t> skew = AttributeSkew();
    for (const auto& [service, value] : skew) {
      // The traces broken: those with a call of the service's outside its parent.
      const TraceCount& broken = outside_by_service_[service];
      uint32_t worst_peer = service;
      uint64_t worst = 0;
      for (const auto& [pair, stats] : pairs_) {
        if (pair.first != service && pair.second != service) continue;
        if (pair.first == pair.second) continue;
        const uint32_t peer = pair.first == service ? pair.second : pair.first;
        if (stats.outside.traces > worst) {
          worst = stats.outside.traces;
          worst_peer = peer;
        }
      }
      add(FindingKind::kClockSkew, service, worst_peer == service ? "" : table_.str(worst_peer),
          broken, trace_fraction(service, broken.traces), value,
          absl::StrFormat("%s's clock is %+.3f ms off its peers' (median of its calls); its spans "
                          "fall outside their parents'",
                          table_.str(service), static_cast<double>(value) / 1e6));
    }
    for (const auto& [pair, stats] : pairs_) {
      if (stats.outside.traces == 0 || skew.contains(pair.first) || skew.contains(pair.second)) {
        continue;
      }
      add(FindingKind::kChildOutsideParent, pair.second, table_.str(pair.first), stats.outside,
          trace_fraction(pair.second, stats.outside.traces), Median(stats.offsets),
          absl::StrFormat("%d spans of %s lie outside their %s parent's interval",
                          stats.outside.spans, table_.str(pair.second), table_.str(pair.first)));
    }

    // Dropped context, per (caller, usual callee).
    std::map<Pair, std::pair<TraceCount, uint64_t>> dropped;  // -> (childless, calls)
    for (const auto& [site, c] : calls_) {
      if (c.childless.traces == 0 || c.callees.empty()) continue;
      uint32_t callee = 0;
      uint64_t most = 0;
      for (const auto& [s, n] : c.callees) {
        if (n > most || (n == most && s < callee)) {
          most = n;
          callee = s;
        }
      }
      if (!new_trace_roots_.contains(callee)) continue;
      auto& [count, calls] = dropped[{site.first, callee}];
      count.traces += c.childless.traces;
      count.spans += c.childless.spans;
      for (const TraceId& t : c.childless.examples) {
        if (count.examples.size() < kExamples) count.examples.push_back(t);
      }
      calls += c.spans;
    }
    for (const auto& [pair, v] : dropped) {
      const auto& [count, calls] = v;
      add(FindingKind::kDroppedContext, pair.first, table_.str(pair.second), count,
          calls ? static_cast<double>(count.spans) / static_cast<double>(calls) : 0.0, 0,
          absl::StrFormat("%d of %d calls from %s reached no %s span while %s started %d new "
                          "traces: the trace context is not propagated on those calls",
                          count.spans, calls, table_.str(pair.first), table_.str(pair.second),
                          table_.str(pair.second), new_trace_roots_[pair.second].traces));
    }

    for (const auto& [s, c] : orphans_) {
      add(FindingKind::kOrphanSpan, s, "", c, trace_fraction(s, c.traces), 0,
          absl::StrFormat("%d spans of %s name a parent the trace does not hold", c.spans,
                          table_.str(s)));
    }
    for (const auto& [s, c] : multiple_roots_) {
      add(FindingKind::kMultipleRoots, s, "", c, trace_fraction(s, c.traces), 0,
          absl::StrFormat("%d extra root spans of %s in traces that already have a root", c.spans,
                          table_.str(s)));
    }
    for (const auto& [s, c] : negative_) {
      add(FindingKind::kNegativeDuration, s, "", c, trace_fraction(s, c.traces), 0,
          absl::StrFormat("%d spans of %s end before they start", c.spans, table_.str(s)));
    }

    // Gaps, less whatever the skew of the two clocks explains.
    for (const auto& [pair, gaps] : gaps_) {
      TraceCount c;
      uint64_t largest = 0;
      const int64_t shift = SkewOf(skew, pair.second) - SkewOf(skew, pair.first);
      std::vector<LargeGap> sorted = gaps;
      std::sort(sorted.begin(), sorted.end(),
                [](const LargeGap& a, const LargeGap& b) { return a.nanos > b.nanos; });
      for (const LargeGap& g : sorted) {
        const int64_t real = static_cast<int64_t>(g.nanos) - shift;
        if (real < static_cast<int64_t>(options_.min_gap_nanos)) continue;
        c.Add(g.trace);
        largest = std::max<uint64_t>(largest, static_cast<uint64_t>(real));
      }
      if (c.traces == 0) continue;
      add(FindingKind::kGap, pair.first, table_.str(pair.second), c,
          trace_fraction(pair.first, c.traces), static_cast<int64_t>(largest),
          absl::StrFormat("%s waited up to %.3f s with nothing running before calling %s",
                          table_.str(pair.first), static_cast<double>(largest) / 1e9,
                          table_.str(pair.second)));
    }

    std::stable_sort(report.findings.begin(), report.findings.end(),
                     [](const Finding& a, const Finding& b) {
                       return std::tie(b.count, a.kind, a.service, a.peer) <
                              std::tie(a.count, b.kind, b.service, b.peer);
                     });
    return report;
  }

 private:
  struct CallSite {
    uint64_t spans = 0;
    TraceCount childless;
    absl::flat_hash_map<uint32_t, uint64_t> callees;
  };

  static int64_t SkewOf(const absl::flat_hash_map<uint32_t, int64_t>& skew, uint32_t s) {
    auto it = skew.find(s);
    return it == skew.end() ? 0 : it->second;
  }

  void CollectGaps(absl::Span<const SpanRow> rows, const std::vector<ptrdiff_t>& parents) {
    // Children per parent in start order (rows are in start order already).
    std::vector<std::vector<size_t>> kids(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      if (parents[i] >= 0 && !Async(rows[parents[i]], rows[i])) kids[parents[i]].push_back(i);
    }
    for (size_t p = 0; p < rows.size(); ++p) {
      uint64_t busy_until = rows[p].start;
      for (size_t k : kids[p]) {
        const uint64_t start = rows[k].start;
        // A gap is reported after the skew correction, so collect those that a skew of up to
        // the largest plausible size could still leave above the threshold: all of them above
        // a tenth of it.
        if (start > busy_until && start - busy_until >= options_.min_gap_nanos / 10) {
          gaps_[{rows[p].service, rows[k].service}].push_back({rows[k].trace, start - busy_until});
        }
        busy_until = std::max(busy_until, rows[k].clamped_end());
      }
    }
  }

  // Services whose clock is off: every pair the service is part of shows an offset of the same
  // sign beyond the threshold, seen from the service's side. Greedy, most pairs first, each
  // attributed service's pairs then set aside -- so in a caller/callee pair the service with
  // the other consistently skewed peers is the one blamed.
  absl::flat_hash_map<uint32_t, int64_t> AttributeSkew() {
    struct View {
      uint32_t peer;
      int64_t offset;  // the service's clock minus the peer's
      size_t samples;
    };
    std::map<uint32_t, std::vector<View>> views;
    for (const auto& [pair, stats] : pairs_) {
      if (pair.first == pair.second || stats.offsets.empty()) continue;
      const int64_t m = Median(stats.offsets);
      views[pair.second].push_back({pair.first, m, stats.offsets.size()});
      views[pair.first].push_back({pair.second, -m, stats.offsets.size()});
    }
    absl::flat_hash_map<uint32_t, int64_t> skewed;
    const int64_t threshold = static_cast<int64_t>(options_.min_skew_nanos);
    while (true) {
      uint32_t best = 0;
      size_t best_pairs = 0, best_samples = 0;
      for (const auto& [s, vs] : views) {
        if (skewed.contains(s)) continue;
        size_t pairs = 0, samples = 0, pos = 0, neg = 0;
        for (const View& v : vs) {
          if (skewed.contains(v.peer)) continue;
          ++pairs;
          samples += v.samples;
          if (v.offset >= threshold) ++pos;
          if (v.offset <= -threshold) ++neg;
        }
        if (pairs == 0 || (pos != pairs && neg != pairs)) continue;
        if (pairs > best_pairs || (pairs == best_pairs && samples > best_samples)) {
          best = s;
          best_pairs = pairs;
          best_samples = samples;
        }
      }
      if (best_pairs == 0) break;
      std::vector<int64_t> offsets;
      for (const View& v : views[best]) {
        if (!skewed.contains(v.peer)) offsets.push_back(v.offset);
      }
      skewed[best] = Median(offsets);
    }
    return skewed;
  }

  const SpanTable& table_;
  const DoctorOptions& options_;
  uint64_t traces_ = 0;
  absl::flat_hash_map<uint32_t, uint64_t> traces_with_;
  std::map<uint32_t, TraceCount> negative_, multiple_roots_, orphans_, new_trace_roots_;
  std::map<uint32_t, TraceCount> outside_by_service_;  // traces with a cross-service violation
  std::map<Pair, CallSite> calls_;  // (service, operation) of client and producer spans
  std::map<Pair, PairStats> pairs_;
  std::map<Pair, std::vector<LargeGap>> gaps_;
};

}  // namespace

const char* FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kDroppedContext:
      return "dropped_context";
    case FindingKind::kOrphanSpan:
      return "orphan_span";
    case FindingKind::kMultipleRoots:
      return "multiple_roots";
    case FindingKind::kClockSkew:
      return "clock_skew";
    case FindingKind::kChildOutsideParent:
      return "child_outside_parent";
    case FindingKind::kNegativeDuration:
      return "negative_duration";
    case FindingKind::kGap:
      return "gap";
  }
  return "unknown";
}

absl::StatusOr<DoctorReport> RunDoctor(Store& store, const AnalysisWindow& window,
                                       const DoctorOptions& options) {
  SpanTable table;
  if (absl::Status s = table.Load(store, window); !s.ok()) return s;
  Doctor doctor(table, options);
  table.ForEachTrace([&](absl::Span<const SpanRow> rows) { doctor.Visit(rows); });
  return doctor.Report();
}

std::string DoctorJson(const DoctorReport& report) {
  std::string out =
      absl::StrCat("{\"traces\":", report.traces, ",\"spans\":", report.spans,
                   ",\"truncated\":", report.truncated ? "true" : "false", ",\"findings\":[");
  for (size_t i = 0; i < report.findings.size(); ++i) {
    const Finding& f = report.findings[i];
    absl::StrAppend(&out, i ? "," : "", "{\"kind\":\"", FindingKindName(f.kind), "\",\"service\":");
    AppendJsonString(f.service, &out);
    out += ",\"peer\":";
    AppendJsonString(f.peer, &out);
    absl::StrAppend(&out, ",\"count\":", f.count,
                    ",\"fraction\":", absl::StrFormat("%.6g", f.fraction),
                    ",\"value_ns\":", f.value_ns, ",\"example_trace_ids\":[");
    for (size_t j = 0; j < f.example_trace_ids.size(); ++j) {
      absl::StrAppend(&out, j ? "," : "", "\"", f.example_trace_ids[j].ToHex(), "\"");
    }
    out += "],\"detail\":";
    AppendJsonString(f.detail, &out);
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace spanstore
