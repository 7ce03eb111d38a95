// SpanTable: one Store::Scan of the window into compact rows, sorted by trace.

#include "query/span_table.h"

#include <algorithm>
#include <tuple>

#include "spanstore/store.h"

namespace spanstore {

uint32_t SpanTable::Intern(const std::string& s) {
  auto [it, inserted] = index_.try_emplace(s, static_cast<uint32_t>(strings_.size()));
  if (inserted) strings_.push_back(s);
  return it->second;
}

bool SpanTable::Add(const Span& span, uint64_t max_spans) {
  if (strings_.empty()) Intern("");  // index 0: "no peer"
  SpanRow& r = rows_.emplace_back();
  r.trace = span.trace_id;
  r.id = span.span_id;
  r.parent = span.parent_span_id;
  r.start = span.start_time_unix_nano;
  r.end = span.end_time_unix_nano;
  r.service = Intern(span.service_name);
  r.operation = Intern(span.name);
  r.kind = span.kind;
  r.status = span.status_code;
  if (span.kind == SpanKind::kClient || span.kind == SpanKind::kProducer) {
    const AnyValue* peer = nullptr;
    for (const KeyValue& kv : span.attributes) {
      if (kv.key == kSpanTablePeerKeys[0]) {
        peer = &kv.value;
        break;
      }
      if (kv.key == kSpanTablePeerKeys[1]) peer = &kv.value;
    }
    if (peer != nullptr && peer->type() == AnyValue::Type::kString) {
      r.peer = Intern(peer->string_value());
    }
  }
  min_start_ = std::min(min_start_, r.start);
  max_start_ = std::max(max_start_, r.start);
  if (max_spans != 0 && rows_.size() >= max_spans) {
    truncated_ = true;
    return false;
  }
  return true;
}

void SpanTable::AddRows(absl::Span<const SpanRow> rows, const std::vector<std::string>& strings) {
  if (strings_.empty()) Intern("");
  constexpr uint32_t kUnmapped = UINT32_MAX;
  std::vector<uint32_t> mapped(strings.size(), kUnmapped);
  auto map = [&](uint32_t i) {
    if (mapped[i] == kUnmapped) mapped[i] = Intern(strings[i]);
    return mapped[i];
  };
  for (const SpanRow& row : rows) {
    SpanRow& r = rows_.emplace_back(row);
    r.service = map(row.service);
    r.operation = map(row.operation);
    r.peer = map(row.peer);
    min_start_ = std::min(min_start_, r.start);
    max_start_ = std::max(max_start_, r.start);
  }
}

absl::Status SpanTable::Load(Store& store, const AnalysisWindow& window) {
  if (window.end_unix_nano <= window.start_unix_nano) {
    return absl::InvalidArgumentError("the time window is empty (start is not before end)");
  }
  absl::Status s = store.Scan(WindowQuery(window),
                              [&](const Span& span) { return Add(span, window.max_spans); });
  if (!s.ok()) return s;
  Finish();
  return absl::OkStatus();
}

void SpanTable::Finish() {
  if (strings_.empty()) Intern("");
  std::sort(rows_.begin(), rows_.end(), [](const SpanRow& a, const SpanRow& b) {
    return std::tie(a.trace, a.start, a.id) < std::tie(b.trace, b.start, b.id);
  });
  // Drop repeats of a (trace, span id): a retried Append the store has not merged yet. In
  // place (rows only move towards the front), so the table never needs twice its memory.
  size_t begin = 0, out = 0;
  std::vector<SpanId> seen;
  while (begin < rows_.size()) {
    size_t end = begin;
    while (end < rows_.size() && rows_[end].trace == rows_[begin].trace) ++end;
    seen.clear();
    for (size_t i = begin; i < end; ++i) seen.push_back(rows_[i].id);
    std::sort(seen.begin(), seen.end());
    const bool repeats = std::adjacent_find(seen.begin(), seen.end()) != seen.end();
    const size_t first = out;
    for (size_t i = begin; i < end; ++i) {
      if (repeats) {
        bool dup = false;
        for (size_t j = first; j < out && !dup; ++j) dup = rows_[j].id == rows_[i].id;
        if (dup) continue;
      }
      rows_[out++] = rows_[i];
    }
    begin = end;
  }
  rows_.resize(out);
}

SpanQuery WindowQuery(const AnalysisWindow& window) {
  SpanQuery q;
  q.start_min = window.start_unix_nano;
  // The window is half-open; SpanQuery's is inclusive.
  q.start_max = window.end_unix_nano == UINT64_MAX ? UINT64_MAX : window.end_unix_nano - 1;
  q.deadline = window.deadline;
  return q;
}

void SpanTable::ForEachTrace(absl::FunctionRef<void(absl::Span<const SpanRow>)> fn) const {
  size_t begin = 0;
  while (begin < rows_.size()) {
    size_t end = begin + 1;
    while (end < rows_.size() && rows_[end].trace == rows_[begin].trace) ++end;
    fn(absl::MakeConstSpan(rows_.data() + begin, end - begin));
    begin = end;
  }
}

SpanLookup::SpanLookup(absl::Span<const SpanRow> rows) : rows_(rows) {
  by_id_.resize(rows.size());
  for (uint32_t i = 0; i < rows.size(); ++i) by_id_[i] = i;
  std::sort(by_id_.begin(), by_id_.end(),
            [&](uint32_t a, uint32_t b) { return rows[a].id < rows[b].id; });
  parents_.resize(rows.size(), -1);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].is_root()) parents_[i] = Find(rows[i].parent);
    if (parents_[i] == static_cast<ptrdiff_t>(i)) parents_[i] = -1;  // a span its own parent
  }
}

ptrdiff_t SpanLookup::Find(const SpanId& id) const {
  auto it = std::lower_bound(by_id_.begin(), by_id_.end(), id,
                             [&](uint32_t i, const SpanId& v) { return rows_[i].id < v; });
  if (it == by_id_.end() || !(rows_[*it].id == id)) return -1;
  return *it;
}

double WindowSeconds(const AnalysisWindow& window, const SpanTable& table) {
  uint64_t start = window.start_unix_nano, end = window.end_unix_nano;
  if (start == 0 && table.size() > 0) start = table.min_start();
  if (end == UINT64_MAX) end = table.size() > 0 ? table.max_start() + 1 : start;
  const double seconds = end > start ? static_cast<double>(end - start) / 1e9 : 0.0;
  return std::max(seconds, 1.0);
}

}  // namespace spanstore
