// StoreImpl's read path: a query takes a Snapshot (the live blocks and the memtables' published
// entries) and reads it without holding the store's mutex. GetTrace, Scan, FindTraces,
// Services and Operations; duplicates across sources are returned once.

#include <algorithm>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "engine/recent_traces.h"
#include "engine/store_impl.h"

namespace spanstore {
namespace {

bool SpanOrder(const Span& a, const Span& b) {
  if (a.start_time_unix_nano != b.start_time_unix_nano) {
    return a.start_time_unix_nano < b.start_time_unix_nano;
  }
  return a.span_id < b.span_id;
}

}  // namespace

StoreImpl::Snapshot StoreImpl::TakeSnapshot() {
  port::MutexLock l(&mu_);
  Snapshot snap;
  snap.blocks = block_list_;
  snap.memtables.reserve(imm_.size() + 1);
  for (const auto& m : imm_) {
    snap.memtables.push_back(std::make_shared<MemTableSource>(m, m->count()));
  }
  if (mem_ != nullptr) {
    snap.memtables.push_back(std::make_shared<MemTableSource>(mem_, mem_->count()));
  }
  return snap;
}

bool StoreImpl::AppearsEarlier(const Snapshot& snap, size_t source, const Span& span) {
  // Blocks never share a span (compaction drops duplicates against the live blocks), and a
  // memtable drops exact duplicates within itself; across the other sources (an Append retried
  // after a segment rotation or a reopen) the oldest copy wins.
  if (source < snap.disjoint()) return false;
  for (size_t earlier = 0; earlier < source; ++earlier) {
    if (snap.source(earlier).Contains(span)) return true;
  }
  return false;
}

absl::Status StoreImpl::CollectTrace(const Snapshot& snap, const TraceId& trace_id,
                                     std::vector<Span>* spans, const SpanFields* fields,
                                     const std::vector<std::string_view>* keys) {
  spans->clear();
  // Blocks: test every trace index from memory, their first slots prefetched together (with
  // hundreds of blocks the cache misses are most of a lookup), and read only the blocks that
  // may hold the trace.
  const uint64_t hash = TraceIndex::Hash(trace_id);
  const std::vector<const BlockReader*>& readers = snap.blocks->readers;
  for (const BlockReader* r : readers) r->PrefetchTrace(hash);
  for (size_t i = 0; i < readers.size(); ++i) {
    if (!readers[i]->MayHoldTrace(hash)) continue;
    absl::Status s = fields != nullptr
                         ? snap.blocks->blocks[i]->GetTraceFields(trace_id, *fields, *keys, spans)
                         : snap.blocks->blocks[i]->GetTrace(trace_id, spans);
    if (!s.ok()) return s;
  }
  for (const auto& mem : snap.memtables) {
    absl::Status s = mem->GetTrace(trace_id, spans);
    if (!s.ok()) return s;
  }
  // Usually sorted already: one block holds the trace, in row order.
  if (!std::is_sorted(spans->begin(), spans->end(), SpanOrder)) {
    std::sort(spans->begin(), spans->end(), SpanOrder);
  }
  // The same span appended twice (a retried Append) is returned once.
  spans->erase(std::unique(spans->begin(), spans->end()), spans->end());
  return absl::OkStatus();
}

absl::Status StoreImpl::CheckOpen() {
  port::MutexLock l(&mu_);
  if (closed_) return absl::FailedPreconditionError(dir_ + ": the store is closed");
  return absl::OkStatus();
}

absl::StatusOr<Trace> StoreImpl::GetTrace(const TraceId& trace_id) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  Trace trace;
  trace.trace_id = trace_id;
  absl::Status s = CollectTrace(TakeSnapshot(), trace_id, &trace.spans);
  if (!s.ok()) return s;
  if (trace.spans.empty()) {
    return absl::NotFoundError(absl::StrFormat("trace %s not found", trace_id.ToHex()));
  }
  trace.total_spans = trace.spans.size();
  if (trace.spans.size() > options_.max_trace_spans) {
    trace.spans.resize(options_.max_trace_spans);
    trace.truncated = true;
  }
  return trace;
}

absl::Status StoreImpl::ScanSnapshot(const Snapshot& snap, const SpanQuery& query,
                                     absl::FunctionRef<bool(const Span&)> visitor) {
  bool stopped = false;
  for (size_t i = 0; i < snap.size() && !stopped; ++i) {
    absl::Status s = snap.source(i).Scan(query, [&](const Span& span) {
      if (AppearsEarlier(snap, i, span)) return true;
      stopped = !visitor(span);
      return !stopped;
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::Scan(const SpanQuery& query, absl::FunctionRef<bool(const Span&)> visitor) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (absl::Status s = CheckQueryInterrupted(query); !s.ok()) return s;
  size_t emitted = 0;
  return ScanSnapshot(TakeSnapshot(), query, [&](const Span& span) {
    if (!visitor(span)) return false;
    return query.limit == 0 || ++emitted < query.limit;
  });
}

absl::StatusOr<std::vector<TraceSummary>> StoreImpl::FindTraces(const SpanQuery& query,
                                                                size_t limit) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  if (absl::Status s = CheckQueryInterrupted(query); !s.ok()) return s;
  const Snapshot snap = TakeSnapshot();
  struct Hit {
    uint64_t first_match_start = UINT64_MAX;
    uint32_t matched = 0;
  };
  absl::flat_hash_map<TraceId, Hit> hits;
  auto hit = [&](const TraceId& trace_id, uint64_t start) {
    Hit& h = hits[trace_id];
    h.first_match_start = std::min(h.first_match_start, start);
    ++h.matched;
    return true;
  };
  // Memtables first: they are small and hold the newest spans. Their spans are checked against
  // every earlier source.
  for (size_t i = snap.disjoint(); i < snap.size(); ++i) {
    absl::Status s = snap.source(i).Scan(query, [&](const Span& span) {
      if (AppearsEarlier(snap, i, span)) return true;
      return hit(span.trace_id, span.start_time_unix_nano);
    });
    if (!s.ok()) return s;
  }

  // A summary reads ids, parents, times, service, name and status: the parts every partial
  // span has (SpanFields{}), so no attribute, resource, event or link of the trace is built.
  const SpanFields summary_fields;
  const std::vector<std::string_view> no_keys;
  absl::flat_hash_map<TraceId, TraceSummary> summaries;
  std::vector<Span> spans;
  auto summarize = [&](const TraceId& trace_id) -> absl::StatusOr<const TraceSummary*> {
    auto it = summaries.find(trace_id);
    if (it != summaries.end()) return &it->second;
    absl::Status s = CheckQueryInterrupted(query);
    if (!s.ok()) return s;
    s = CollectTrace(snap, trace_id, &spans, &summary_fields, &no_keys);
    if (!s.ok()) return s;
    // Partial spans cannot tell a span stored twice (or in a memtable and a block) from two
    // different spans with one id: a trace with a repeated span id is read whole instead.
    const bool repeated =
        std::adjacent_find(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
          return a.span_id == b.span_id;
        }) != spans.end();
    if (repeated && !(s = CollectTrace(snap, trace_id, &spans)).ok()) return s;
    return &summaries.emplace(trace_id, SummarizeTrace(trace_id, spans)).first->second;
  };

  // Blocks, newest first. Blocks share no span, so they need no de-duplication and may answer
  // from their columns. A trace starts no later than any of its spans, so once `limit` traces
  // found so far start after every span the remaining blocks hold, those blocks cannot change
  // the result: a trace with a span there starts before each of those `limit` traces, and
  // those have no span there (so their matched_spans are complete).
  const auto& blocks = snap.blocks->blocks;
  std::vector<size_t> order(snap.disjoint());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto max_start = [&](size_t i) { return blocks[i]->reader().zone().max_start(); };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return max_start(a) > max_start(b); });
  // The same holds between the row groups of a block (rows are in time order, so its groups
  // cover consecutive stretches of time): each block is read newest group first, and `rest`
  // is the latest start of anything not read yet -- the groups left in this block and the
  // blocks after it.
  auto done = [&](uint64_t rest) -> absl::StatusOr<bool> {
    rest = std::min(rest, query.start_max);
    std::vector<RecentTraces::Candidate> ahead;  // candidates that may start after `rest`
    for (const auto& [trace_id, h] : hits) {
      if (h.first_match_start > rest) ahead.emplace_back(trace_id, h.first_match_start);
    }
    if (ahead.size() < limit) return false;
    RecentTraces::Order(&ahead);
    RecentTraces found(limit);
    for (const auto& [trace_id, bound] : ahead) {
      if (found.Done(bound) || found.Done(rest)) break;
      auto sum = summarize(trace_id);
      if (!sum.ok()) return sum.status();
      found.Add(trace_id, (*sum)->start_time_unix_nano);
    }
    return found.Done(rest);
  };
  size_t scanned = 0;
  while (scanned < order.size()) {
    const BlockSource& block = *blocks[order[scanned++]];
    if (limit == 0) {
      if (absl::Status s = block.ScanKeys(query, hit); !s.ok()) return s;
      continue;
    }
    const uint64_t next_block = scanned < order.size() ? max_start(order[scanned]) : 0;
    absl::Status failed;
    bool stopped = false;
    absl::Status s = block.ScanKeysNewestFirst(query, hit, [&](uint64_t rest_of_block) {
      absl::StatusOr<bool> d = done(std::max(rest_of_block, next_block));
      if (!d.ok()) failed = d.status();
      stopped = d.ok() && *d;
      return d.ok() && !*d;
    });
    if (!s.ok()) return s;
    if (!failed.ok()) return failed;
    if (stopped || scanned == order.size()) break;
    absl::StatusOr<bool> d = done(next_block);
    if (!d.ok()) return d.status();
    if (*d) break;
  }

  // Most recent first, as Search (RecentTraces): the earliest matching span bounds a trace's
  // start, so reading in that order can stop once no trace left can enter the result.
  std::vector<RecentTraces::Candidate> ranked;
  ranked.reserve(hits.size());
  for (const auto& [trace_id, hit] : hits) ranked.emplace_back(trace_id, hit.first_match_start);
  RecentTraces::Order(&ranked);
  RecentTraces recent(limit);
  std::vector<TraceSummary> out;
  for (const auto& [trace_id, bound] : ranked) {
    if (recent.Done(bound)) break;
    auto sum = summarize(trace_id);
    if (!sum.ok()) return sum.status();
    recent.Add(trace_id, (*sum)->start_time_unix_nano);
    out.push_back(**sum);
    out.back().matched_spans = hits[trace_id].matched;
  }
  std::sort(out.begin(), out.end(), [](const TraceSummary& a, const TraceSummary& b) {
    return RecentTraces::Before(a.start_time_unix_nano, a.trace_id, b.start_time_unix_nano,
                                b.trace_id);
  });
  if (limit != 0 && out.size() > limit) out.resize(limit);

  return out;
}

absl::StatusOr<std::vector<std::string>> StoreImpl::Services() {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  absl::btree_set<std::string> services;
  const Snapshot snap = TakeSnapshot();
  for (size_t i = 0; i < snap.size(); ++i) snap.source(i).CollectServices(&services);
  return std::vector<std::string>(services.begin(), services.end());
}

absl::StatusOr<std::vector<std::string>> StoreImpl::Operations(const std::string& service) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  absl::btree_set<std::string> names;
  const Snapshot snap = TakeSnapshot();
  for (size_t i = 0; i < snap.size(); ++i) snap.source(i).CollectOperations(service, &names);
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace spanstore
