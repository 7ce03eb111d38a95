// StoreImpl::Search: a TraceQL query (spanset operators, structure, pipelines) over one snapshot.
//
// Two phases. First the candidate traces, from the columns: each span filter of the query runs
// as a span scan (block zone maps, dictionaries and predicate columns first, as every Scan;
// column-only when the filter has no attribute term), and the filters' trace sets combine as
// the operators need -- `&&` and the structural operators intersect (both sides must be
// present), `||` unites, a negated structural operator needs only its right side; with a limit
// the left sides of intersections are first left out (see Search). Then each candidate trace is
// read (one trace-index probe per block), its spans built with only the parts the query reads
// (ids, parents and times for the structure, the attributes its filters name...), and the query
// is evaluated on them (EvaluateTraceQuery), in the order RecentTraces gives: the result is the
// `limit` matching traces that started last (Tempo's order), and the reading stops once no
// candidate left can enter it, so a search with a limit reads few traces. Only the traces that
// match are built whole, for their spansets.

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/recent_traces.h"
#include "engine/span_fields.h"
#include "engine/store_impl.h"
#include "query/nested_set.h"

namespace spanstore {
namespace {

// Trace -> the earliest start of a span that made it a candidate: an upper bound on the trace's
// start, which orders the reading (RecentTraces).
using Candidates = absl::flat_hash_map<TraceId, uint64_t>;

bool UsesTraceIntrinsic(const FilterExpr& e) {
  if (e.kind == FilterExpr::Kind::kIntrinsic && IsTraceIntrinsic(e.intrinsic)) return true;
  return std::any_of(e.children.begin(), e.children.end(), UsesTraceIntrinsic);
}

// The span query that finds a filter's candidates: the filter itself, less the parts that
// compare a trace-level intrinsic, which no single span decides. The structured fields are
// top-level conjuncts and so always necessary; of the expression, a top-level `&&` keeps its
// other conjuncts, anything else goes whole (a superset of the candidates either way).
SpanQuery CandidateQuery(const SpanQuery& filter, const SearchOptions& options) {
  SpanQuery q = filter;
  if (q.filter.has_value() && UsesTraceIntrinsic(*q.filter)) {
    if (q.filter->kind == FilterExpr::Kind::kAnd) {
      std::vector<FilterExpr>& c = q.filter->children;
      c.erase(std::remove_if(c.begin(), c.end(), UsesTraceIntrinsic), c.end());
      if (c.empty()) {
        q.filter.reset();
      } else if (c.size() == 1) {
        FilterExpr only = std::move(c[0]);
        q.filter = std::move(only);
      }
    } else {
      q.filter.reset();
    }
  }
  q.start_min = options.start_min;
  q.start_max = options.start_max;
  q.limit = 0;
  q.deadline = options.deadline;
  q.cancel = options.cancel;
  return q;
}

// `&&` or a non-negated structural operator: the traces both sides find. HasIntersection: `e`
// has one somewhere, whose left side Search may leave to the per-trace evaluation.
bool IsIntersection(const SpansetExpr& e) {
  return e.op != SpansetOp::kFilter && e.op != SpansetOp::kOr && !e.negated;
}

bool HasIntersection(const SpansetExpr& e) {
  if (e.op == SpansetOp::kFilter) return false;
  if (IsIntersection(e)) return true;
  return std::any_of(e.children.begin(), e.children.end(), HasIntersection);
}

// Replaces each span of `spansets` (built with only some parts) by the whole span of `whole`
// (the same trace read whole, in start-then-id order) with its start and id.
void BuildWhole(const std::vector<Span>& whole, const std::vector<std::string_view>& keys,
                std::vector<Spanset>* spansets) {
  auto before = [](const Span& a, const Span& b) {
    return a.start_time_unix_nano != b.start_time_unix_nano
               ? a.start_time_unix_nano < b.start_time_unix_nano
               : a.span_id < b.span_id;
  };
  // The same span id may be stored twice with different contents (appended again, changed):
  // of the whole spans with its start and id, the one holding every attribute, event and
  // status message the partial span was built with.
  auto covers = [&](const Span& w, const Span& part) {
    if (w == part) return true;  // a span read whole already (from a memtable)
    // w's attributes limited to the keys the partial span was built with must be exactly its.
    size_t i = 0;
    for (const KeyValue& kv : w.attributes) {
      if (std::find(keys.begin(), keys.end(), kv.key) == keys.end()) continue;
      if (i >= part.attributes.size() || !(part.attributes[i] == kv)) return false;
      ++i;
    }
    return i == part.attributes.size() && (part.events.empty() || part.events == w.events) &&
           (part.links.empty() || part.links == w.links) &&
           (part.status_message.empty() || part.status_message == w.status_message) &&
           (part.resource_attributes.empty() || part.resource_attributes == w.resource_attributes);
  };
  for (Spanset& set : *spansets) {
    for (Span& span : set.spans) {
      auto it = std::lower_bound(whole.begin(), whole.end(), span, before);
      auto pick = whole.end();
      for (; it != whole.end() && it->span_id == span.span_id &&
             it->start_time_unix_nano == span.start_time_unix_nano;
           ++it) {
        if (pick == whole.end()) pick = it;
        if (covers(*it, span)) {
          pick = it;
          break;
        }
      }
      if (pick != whole.end()) span = *pick;
    }
  }
}

}  // namespace

absl::Status StoreImpl::SearchCandidates(const Snapshot& snap, const SpansetExpr& e,
                                         const SearchOptions& options, const Candidates* within,
                                         bool right_only, uint64_t* scanned, Candidates* out) {
  out->clear();
  if (e.op == SpansetOp::kFilter) {
    const SpanQuery q = CandidateQuery(e.filter, options);
    // A block hands over a trace's matching spans one after another (its rows are grouped by
    // trace), so the last trace's entry is kept at hand instead of hashing every span.
    TraceId last;
    uint64_t* last_bound = nullptr;
    for (size_t i = 0; i < snap.size(); ++i) {
      // Duplicates across sources only repeat a trace; they need no check here.
      absl::Status s = snap.source(i).ScanKeys(q, [&](const TraceId& id, uint64_t start) {
        if (last_bound != nullptr && id == last) {
          *last_bound = std::min(*last_bound, start);
        } else if (within == nullptr || within->contains(id)) {
          auto [it, added] = out->try_emplace(id, start);
          if (!added) it->second = std::min(it->second, start);
          last = id;
          last_bound = &it->second;
        }
        return options.max_scanned_spans == 0 || ++*scanned < options.max_scanned_spans;
      });
      if (!s.ok()) return s;
      if (options.max_scanned_spans != 0 && *scanned >= options.max_scanned_spans) break;
    }
    return absl::OkStatus();
  }
  const bool negated = e.op != SpansetOp::kAnd && e.op != SpansetOp::kOr && e.negated;
  if (negated || (right_only && e.op != SpansetOp::kOr)) {
    return SearchCandidates(snap, e.children[1], options, within, right_only, scanned, out);
  }
  if (e.op == SpansetOp::kOr) {
    absl::Status s =
        SearchCandidates(snap, e.children[0], options, within, right_only, scanned, out);
    if (!s.ok()) return s;
    Candidates right;
    s = SearchCandidates(snap, e.children[1], options, within, right_only, scanned, &right);
    if (!s.ok()) return s;
    for (const auto& [id, start] : right) {
      auto [it, added] = out->try_emplace(id, start);
      if (!added) it->second = std::min(it->second, start);
    }
    return absl::OkStatus();
  }
  // `&&` and the structural operators keep the traces both sides find. The right side goes
  // first -- of a structural operator it is the side returned, usually the narrower condition
  // (`{ kind = server } > { status = error }`) -- and the left side's scan then records only the
  // traces the right found: a semi-join, so a broad left side (every trace has a server span)
  // costs lookups in a small table instead of a table of every trace.
  Candidates right;
  absl::Status s = SearchCandidates(snap, e.children[1], options, within, false, scanned, &right);
  if (!s.ok() || right.empty()) return s;
  s = SearchCandidates(snap, e.children[0], options, &right, false, scanned, out);
  if (!s.ok()) return s;
  for (auto& [id, start] : *out) start = std::min(start, right.find(id)->second);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TraceSearchResult>> StoreImpl::Search(const TraceQuery& query,
                                                                 const SearchOptions& options) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  SpanQuery interrupt;  // carries the deadline and the cancel flag for the checks
  interrupt.deadline = options.deadline;
  interrupt.cancel = options.cancel;
  if (absl::Status s = CheckQueryInterrupted(interrupt); !s.ok()) return s;
  const Snapshot snap = TakeSnapshot();
  // With a limit, the candidates start out as the right sides' traces only (lazy): the
  // left side of `&&` or of a structural operator is then decided by reading the trace, which
  // is exact anyway. When the left side is broad (`{ kind = server } > { status = error }`:
  // every trace has a server span) the search skips a scan of every span for the price of the
  // few traces it reads. When it is narrow, most traces read fail: after lazy_reads the search
  // scans the left sides after all (a semi-join with the unread candidates) and goes on with
  // what remains, so a bad guess costs a bounded number of reads.
  const bool lazy = options.limit != 0 && HasIntersection(query.spansets);
  const size_t lazy_reads = 4 * options.limit + 64;
  Candidates candidates;
  uint64_t scanned = 0;
  absl::Status s = SearchCandidates(snap, query.spansets, options, /*within=*/nullptr, lazy,
                                    &scanned, &candidates);
  if (!s.ok()) return s;

  std::vector<RecentTraces::Candidate> ranked(candidates.begin(), candidates.end());
  candidates.clear();
  RecentTraces::Order(&ranked);
  RecentTraces recent(options.limit);
  std::vector<TraceSearchResult> out;
  std::vector<Span> spans, whole;
  // Late materialisation: a candidate is evaluated on spans built with only the parts the query
  // reads (ids, times, operation and status, plus the attributes, events, ... its filters and
  // pipeline name); the spans of a trace that matches are then built whole for its spansets.
  SpanFields fields;
  std::vector<std::string_view> keys;
  const bool partial = TraceQueryFields(query, &fields, &keys);
  bool exact = !lazy;
  size_t reads = 0;
  for (size_t next = 0; next < ranked.size(); ++next) {
    if (recent.Done(ranked[next].second)) break;
    if (!exact && reads >= lazy_reads) {
      exact = true;
      Candidates unread(ranked.begin() + next, ranked.end());
      Candidates full;
      const SpansetExpr& e = query.spansets;
      if (IsIntersection(e) && !HasIntersection(e.children[1])) {
        // `{A} op {B}` with a plain right side: the candidates are B's traces already, so only
        // A is left to scan (B, often the broad side here, is not scanned again).
        s = SearchCandidates(snap, e.children[0], options, &unread, false, &scanned, &full);
      } else {
        s = SearchCandidates(snap, e, options, &unread, false, &scanned, &full);
      }
      if (!s.ok()) return s;
      ranked.assign(full.begin(), full.end());
      for (auto& [id, bound] : ranked) bound = std::min(bound, unread.find(id)->second);
      RecentTraces::Order(&ranked);
      next = static_cast<size_t>(-1);  // the loop's ++ makes it 0
      continue;
    }
    const TraceId trace_id = ranked[next].first;
    if (s = CheckQueryInterrupted(interrupt); !s.ok()) return s;
    s = CollectTrace(snap, trace_id, &spans, partial ? &fields : nullptr, &keys);
    if (!s.ok()) return s;
    ++reads;
    TraceSearchResult r;
    r.summary = SummarizeTrace(trace_id, spans);
    r.spansets = EvaluateTraceQuery(query, spans, r.summary, options.start_min, options.start_max);
    if (r.spansets.empty()) continue;
    if (partial) {
      if (s = CollectTrace(snap, trace_id, &whole); !s.ok()) return s;
      r.summary = SummarizeTrace(trace_id, whole);
      BuildWhole(whole, keys, &r.spansets);
    }
    AddSelectedNestedSet(query, spans, &r.spansets);
    for (const Spanset& set : r.spansets) {
      r.summary.matched_spans += static_cast<uint32_t>(set.spans.size());
    }
    recent.Add(trace_id, r.summary.start_time_unix_nano);
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const TraceSearchResult& a, const TraceSearchResult& b) {
    return RecentTraces::Before(a.summary.start_time_unix_nano, a.summary.trace_id,
                                b.summary.start_time_unix_nano, b.summary.trace_id);
  });
  if (options.limit != 0 && out.size() > options.limit) out.resize(options.limit);
  return out;
}

}  // namespace spanstore
