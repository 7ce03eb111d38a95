// AnalysisSummary: the pairing rules of the service graph and RED (moved here from
// service_graph.cc so that a scan and a block summary run the same code), and the byte form.

#include "query/analysis_summary.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "query/span_table.h"
#include "util/coding.h"

namespace spanstore {
namespace {

bool IsEntryKind(SpanKind k) { return k == SpanKind::kServer || k == SpanKind::kConsumer; }
bool IsUnpairedKind(SpanKind k) { return k == SpanKind::kUnspecified || k == SpanKind::kInternal; }

// Interned keys while a table is walked (string keys cost a compare per span); turned into
// strings once per table.
struct IdKeyHash {
  size_t operator()(const std::tuple<uint32_t, uint32_t, uint8_t>& k) const {
    return absl::HashOf(std::get<0>(k), std::get<1>(k), std::get<2>(k));
  }
};

constexpr uint64_t kMaxEntries = uint64_t{1} << 24;  // a bound a decoder trusts, not a limit

}  // namespace

void AnalysisSummary::AddTable(const SpanTable& table,
                               absl::FunctionRef<bool(absl::Span<const SpanRow>)>* is_open) {
  if (table.size() == 0) return;
  absl::flat_hash_map<std::tuple<uint32_t, uint32_t, uint8_t>, SummaryCell, IdKeyHash> ops,
      edges_by_id;
  absl::flat_hash_map<uint32_t, SummaryCell> served;
  std::vector<bool> seen;
  std::vector<TraceId> open;
  std::vector<bool> has_child;
  absl::flat_hash_map<uint32_t, uint32_t> open_ids;  // table string -> open_strings
  auto open_id = [&](uint32_t i) {
    auto [it, inserted] = open_ids.try_emplace(i, static_cast<uint32_t>(open_strings.size()));
    if (inserted) open_strings.push_back(table.str(i));
    return it->second;
  };
  if (is_open != nullptr && open_strings.empty()) open_strings.push_back("");  // "no peer"
  uint64_t folded = 0, min_folded = UINT64_MAX, max_folded = 0;
  table.ForEachTrace([&](absl::Span<const SpanRow> rows) {
    if (is_open != nullptr && (*is_open)(rows)) {
      open.push_back(rows.front().trace);
      for (const SpanRow& r : rows) {
        SpanRow& o = open_rows.emplace_back(r);
        o.service = open_id(r.service);
        o.operation = open_id(r.operation);
        o.peer = r.peer == 0 ? 0 : open_id(r.peer);
      }
      return;
    }
    folded += rows.size();
    for (const SpanRow& r : rows) {
      min_folded = std::min(min_folded, r.start);
      max_folded = std::max(max_folded, r.start);
    }
    SpanLookup lookup(rows);
    has_child.assign(rows.size(), false);
    for (ptrdiff_t p : lookup.parents()) {
      if (p >= 0) has_child[p] = true;
    }
    auto node = [&](uint32_t service) {
      if (service >= seen.size()) seen.resize(service + 1, false);
      seen[service] = true;
    };
    for (size_t i = 0; i < rows.size(); ++i) {
      const SpanRow& c = rows[i];
      const ptrdiff_t pi = lookup.parents()[i];
      // RED, every span.
      ops[{c.service, c.operation, static_cast<uint8_t>(c.kind)}].Add(c.error(), c.duration());
      // RED, requests served: server and consumer spans, roots, and spans of unset or internal
      // kind whose parent is in another service or absent.
      bool entry = IsEntryKind(c.kind) || c.is_root();
      if (!entry && IsUnpairedKind(c.kind)) entry = pi < 0 || rows[pi].service != c.service;
      if (entry) served[c.service].Add(c.error(), c.duration());
      // The service graph.
      node(c.service);
      // A call to an uninstrumented service (a database, a queue, a named peer): no span
      // answers it, so the edge goes to a virtual node named by the client's attribute.
      if (c.peer != 0 && !has_child[i] && c.peer != c.service) {
        node(c.peer);
        edges_by_id[{c.service, c.peer, 1}].Add(c.error(), c.duration());
      }
      if (pi < 0) continue;
      const SpanRow& p = rows[pi];
      if (p.service == c.service) continue;
      // What the caller waits for a call; the consumer's time for a message; the child's
      // otherwise.
      const uint64_t latency =
          p.kind == SpanKind::kClient && c.kind == SpanKind::kServer ? p.duration() : c.duration();
      edges_by_id[{p.service, c.service, 0}].Add(p.error() || c.error(), latency);
    }
  });
  spans += folded;
  min_start = std::min(min_start, min_folded);
  max_start = std::max(max_start, max_folded);
  for (auto& [k, cell] : ops) {
    operations[{table.str(std::get<0>(k)), table.str(std::get<1>(k)), std::get<2>(k)}].Merge(cell);
  }
  for (auto& [k, cell] : served) services[table.str(k)].Merge(cell);
  for (auto& [k, cell] : edges_by_id) {
    edges[{table.str(std::get<0>(k)), table.str(std::get<1>(k)), std::get<2>(k) != 0}].Merge(cell);
  }
  for (uint32_t i = 0; i < seen.size(); ++i) {
    if (seen[i]) nodes.insert(table.str(i));
  }
  // ForEachTrace walks traces in id order, so `open` is sorted.
  std::vector<TraceId> merged;
  std::merge(open_traces.begin(), open_traces.end(), open.begin(), open.end(),
             std::back_inserter(merged));
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  open_traces = std::move(merged);
}

void AnalysisSummary::Merge(const AnalysisSummary& o) {
  spans += o.spans;
  min_start = std::min(min_start, o.min_start);
  max_start = std::max(max_start, o.max_start);
  for (const auto& [k, cell] : o.operations) operations[k].Merge(cell);
  for (const auto& [k, cell] : o.services) services[k].Merge(cell);
  for (const auto& [k, cell] : o.edges) edges[k].Merge(cell);
  nodes.insert(o.nodes.begin(), o.nodes.end());
}

void AnalysisSummary::AddOpenRowsTo(SpanTable* table) const {
  for (const SpanRow& r : open_rows) table->AddRow(r, open_strings);
}

bool AnalysisSummary::IsOpen(const TraceId& trace) const {
  return std::binary_search(open_traces.begin(), open_traces.end(), trace);
}

// Byte form: varints spans, min_start, max_start; a string table (count, then
// length-prefixed strings, each distinct string once); operations (count, then service,
// operation as string ids, kind, cell); services (count, id, cell); edges (count, client,
// server, virtual, cell); nodes (count, ids); open traces (count, 16-byte ids, sorted); open
// strings (count, length-prefixed); open rows (count, then each: trace as an index into the
// open traces, span id and parent as 8 bytes each, start, end, service, operation, peer as
// open string ids, kind, status). A cell: calls,
// errors, sketch (QuantileSketch::EncodeTo).
void AnalysisSummary::EncodeTo(std::string* out) const {
  std::map<std::string_view, uint32_t> ids;
  std::vector<std::string_view> strings;
  auto intern = [&](std::string_view s) {
    auto [it, inserted] = ids.try_emplace(s, static_cast<uint32_t>(strings.size()));
    if (inserted) strings.push_back(s);
  };
  for (const auto& [k, c] : operations) intern(std::get<0>(k)), intern(std::get<1>(k));
  for (const auto& [k, c] : services) intern(k);
  for (const auto& [k, c] : edges) intern(std::get<0>(k)), intern(std::get<1>(k));
  for (const std::string& n : nodes) intern(n);
  auto id = [&](std::string_view s) { PutVarint32(out, ids.at(s)); };
  auto cell = [&](const SummaryCell& c) {
    PutVarint64(out, c.calls);
    PutVarint64(out, c.errors);
    c.sketch.EncodeTo(out);
  };
  PutVarint64(out, spans);
  PutVarint64(out, min_start);
  PutVarint64(out, max_start);
  PutVarint64(out, strings.size());
  for (std::string_view s : strings) PutLengthPrefixed(out, s);
  PutVarint64(out, operations.size());
  for (const auto& [k, c] : operations) {
    id(std::get<0>(k));
    id(std::get<1>(k));
    out->push_back(static_cast<char>(std::get<2>(k)));
    cell(c);
  }
  PutVarint64(out, services.size());
  for (const auto& [k, c] : services) id(k), cell(c);
  PutVarint64(out, edges.size());
  for (const auto& [k, c] : edges) {
    id(std::get<0>(k));
    id(std::get<1>(k));
    out->push_back(std::get<2>(k) ? 1 : 0);
    cell(c);
  }
  PutVarint64(out, nodes.size());
  for (const std::string& n : nodes) id(n);
  PutVarint64(out, open_traces.size());
  for (const TraceId& t : open_traces) {
    out->append(reinterpret_cast<const char*>(t.bytes.data()), 16);
  }
  PutVarint64(out, open_strings.size());
  for (const std::string& str : open_strings) PutLengthPrefixed(out, str);
  PutVarint64(out, open_rows.size());
  for (const SpanRow& r : open_rows) {
    auto it = std::lower_bound(open_traces.begin(), open_traces.end(), r.trace);
    PutVarint64(out, static_cast<uint64_t>(it - open_traces.begin()));
    out->append(reinterpret_cast<const char*>(r.id.bytes.data()), 8);
    out->append(reinterpret_cast<const char*>(r.parent.bytes.data()), 8);
    PutVarint64(out, r.start);
    PutVarint64(out, r.end);
    PutVarint32(out, r.service);
    PutVarint32(out, r.operation);
    PutVarint32(out, r.peer);
    out->push_back(static_cast<char>(r.kind));
    out->push_back(static_cast<char>(r.status));
  }
}

absl::StatusOr<AnalysisSummary> AnalysisSummary::Decode(std::string_view in) {
  auto bad = [](std::string_view what) {
    return absl::DataLossError("analysis summary: " + std::string(what));
  };
  AnalysisSummary s;
  uint64_t n;
  if (!GetVarint64(&in, &s.spans) || !GetVarint64(&in, &s.min_start) ||
      !GetVarint64(&in, &s.max_start) || !GetVarint64(&in, &n) || n > in.size()) {
    return bad("truncated header");
  }
  std::vector<std::string> strings(n);
  for (std::string& str : strings) {
    std::string_view v;
    if (!GetLengthPrefixed(&in, &v)) return bad("truncated string table");
    str = std::string(v);
  }
  auto str = [&](const std::string** out) {
    uint32_t i;
    if (!GetVarint32(&in, &i) || i >= strings.size()) return false;
    *out = &strings[i];
    return true;
  };
  auto cell = [&](SummaryCell* c) {
    return GetVarint64(&in, &c->calls) && GetVarint64(&in, &c->errors) && c->errors <= c->calls &&
           QuantileSketch::DecodeFrom(&in, &c->sketch) && c->sketch.count() == c->calls;
  };
  auto count = [&](uint64_t* m) {
    return GetVarint64(&in, m) && *m <= kMaxEntries && *m <= in.size();
  };
  const std::string *a, *b;
  if (!count(&n)) return bad("operation count");
  for (uint64_t i = 0; i < n; ++i) {
    SummaryCell c;
    if (!str(&a) || !str(&b) || in.empty() ||
        static_cast<uint8_t>(in[0]) > static_cast<uint8_t>(SpanKind::kConsumer)) {
      return bad("operation key");
    }
    const uint8_t kind = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (!cell(&c)) return bad("operation cell");
    s.operations[{*a, *b, kind}] = std::move(c);
  }
  if (!count(&n)) return bad("service count");
  for (uint64_t i = 0; i < n; ++i) {
    SummaryCell c;
    if (!str(&a) || !cell(&c)) return bad("service row");
    s.services[*a] = std::move(c);
  }
  if (!count(&n)) return bad("edge count");
  for (uint64_t i = 0; i < n; ++i) {
    SummaryCell c;
    if (!str(&a) || !str(&b) || in.empty() || static_cast<uint8_t>(in[0]) > 1) {
      return bad("edge key");
    }
    const bool virt = in[0] == 1;
    in.remove_prefix(1);
    if (!cell(&c)) return bad("edge cell");
    s.edges[{*a, *b, virt}] = std::move(c);
  }
  if (!count(&n)) return bad("node count");
  for (uint64_t i = 0; i < n; ++i) {
    if (!str(&a)) return bad("node");
    s.nodes.insert(*a);
  }
  if (!GetVarint64(&in, &n) || n > in.size() / 16) return bad("open traces");
  s.open_traces.resize(n);
  for (TraceId& t : s.open_traces) {
    std::copy(in.begin(), in.begin() + 16, t.bytes.begin());
    in.remove_prefix(16);
  }
  if (std::adjacent_find(s.open_traces.begin(), s.open_traces.end(),
                         [](const TraceId& x, const TraceId& y) { return !(x < y); }) !=
      s.open_traces.end()) {
    return bad("open traces out of order");
  }
  if (!count(&n)) return bad("open string count");
  s.open_strings.resize(n);
  for (std::string& str : s.open_strings) {
    std::string_view v;
    if (!GetLengthPrefixed(&in, &v)) return bad("truncated open strings");
    str = std::string(v);
  }
  if (!count(&n)) return bad("open row count");
  s.open_rows.resize(n);
  for (SpanRow& r : s.open_rows) {
    uint64_t trace;
    if (!GetVarint64(&in, &trace) || trace >= s.open_traces.size() || in.size() < 16) {
      return bad("open row");
    }
    r.trace = s.open_traces[trace];
    std::copy(in.begin(), in.begin() + 8, r.id.bytes.begin());
    std::copy(in.begin() + 8, in.begin() + 16, r.parent.bytes.begin());
    in.remove_prefix(16);
    if (!GetVarint64(&in, &r.start) || !GetVarint64(&in, &r.end) || !GetVarint32(&in, &r.service) ||
        !GetVarint32(&in, &r.operation) || !GetVarint32(&in, &r.peer) ||
        r.service >= s.open_strings.size() || r.operation >= s.open_strings.size() ||
        r.peer >= s.open_strings.size() || in.size() < 2 ||
        static_cast<uint8_t>(in[0]) > static_cast<uint8_t>(SpanKind::kConsumer) ||
        static_cast<uint8_t>(in[1]) > static_cast<uint8_t>(StatusCode::kError)) {
      return bad("open row");
    }
    r.kind = static_cast<SpanKind>(in[0]);
    r.status = static_cast<StatusCode>(in[1]);
    in.remove_prefix(2);
  }
  if (!in.empty()) return bad("trailing bytes");
  return s;
}

}  // namespace spanstore
