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

// The cells of the traces of one table (or of one section of it) while the table is walked,
// keyed by the table's string ids.
struct TableCells {
  absl::flat_hash_map<std::tuple<uint32_t, uint32_t, uint8_t>, SummaryCell, IdKeyHash> ops, edges;
  absl::flat_hash_map<uint32_t, SummaryCell> served;
  std::vector<bool> seen;
  uint64_t spans = 0, min_start = UINT64_MAX, max_start = 0;

  // Pairs the rows of one trace (the rules of spanstore/analysis.h) into the cells.
  void Fold(absl::Span<const SpanRow> rows, std::vector<bool>* has_child) {
    spans += rows.size();
    for (const SpanRow& r : rows) {
      min_start = std::min(min_start, r.start);
      max_start = std::max(max_start, r.start);
    }
    SpanLookup lookup(rows);
    has_child->assign(rows.size(), false);
    for (ptrdiff_t p : lookup.parents()) {
      if (p >= 0) (*has_child)[p] = true;
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
      if (c.peer != 0 && !(*has_child)[i] && c.peer != c.service) {
        node(c.peer);
        edges[{c.service, c.peer, 1}].Add(c.error(), c.duration());
      }
      if (pi < 0) continue;
      const SpanRow& p = rows[pi];
      if (p.service == c.service) continue;
      // What the caller waits for a call; the consumer's time for a message; the child's
      // otherwise.
      const uint64_t latency =
          p.kind == SpanKind::kClient && c.kind == SpanKind::kServer ? p.duration() : c.duration();
      edges[{p.service, c.service, 0}].Add(p.error() || c.error(), latency);
    }
  }

  // Adds the cells to *out, with the table's strings.
  void AddTo(const SpanTable& table, AnalysisSummary* out) const {
    out->spans += spans;
    out->min_start = std::min(out->min_start, min_start);
    out->max_start = std::max(out->max_start, max_start);
    for (const auto& [k, cell] : ops) {
      out->operations[{table.str(std::get<0>(k)), table.str(std::get<1>(k)), std::get<2>(k)}].Merge(
          cell);
    }
    for (const auto& [k, cell] : served) out->services[table.str(k)].Merge(cell);
    for (const auto& [k, cell] : edges) {
      out->edges[{table.str(std::get<0>(k)), table.str(std::get<1>(k)), std::get<2>(k) != 0}].Merge(
          cell);
    }
    for (uint32_t i = 0; i < seen.size(); ++i) {
      if (seen[i]) out->nodes.insert(table.str(i));
    }
  }
};

// The keyed cells (operations, services, edges, nodes) with string ids from `id`.
void EncodeKeyedCells(const AnalysisSummary& s, std::string* out,
                      absl::FunctionRef<uint32_t(std::string_view)> id);

}  // namespace

void AnalysisSummary::AddTable(const SpanTable& table, IsOpenFn* is_open, SectionBuild* sections) {
  if (table.size() == 0) return;
  TableCells all;
  // With sections: one TableCells per section (first, last bucket) met in this table.
  absl::flat_hash_map<SectionKey, TableCells> by_section;
  std::vector<bool> has_child;
  std::vector<TraceId> open;
  absl::flat_hash_map<uint32_t, uint32_t> open_ids;  // table string -> open_strings
  auto open_id = [&](uint32_t i) {
    auto [it, inserted] = open_ids.try_emplace(i, static_cast<uint32_t>(open_strings.size()));
    if (inserted) open_strings.push_back(table.str(i));
    return it->second;
  };
  if (is_open != nullptr && open_strings.empty()) open_strings.push_back("");  // "no peer"
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
    if (sections == nullptr) {
      all.Fold(rows, &has_child);
      return;
    }
    uint64_t first = UINT64_MAX, last = 0;
    for (const SpanRow& r : rows) {
      first = std::min(first, r.start / sections->bucket_nanos);
      last = std::max(last, r.start / sections->bucket_nanos);
    }
    if (first != last) sections->spread.emplace_back(rows.front().trace, SectionKey{first, last});
    by_section[{first, last}].Fold(rows, &has_child);
  });
  all.AddTo(table, this);
  for (const auto& [key, cells] : by_section) cells.AddTo(table, &sections->cells[key]);
  // ForEachTrace walks traces in id order, so `open` is sorted.
  std::vector<TraceId> merged;
  std::merge(open_traces.begin(), open_traces.end(), open.begin(), open.end(),
             std::back_inserter(merged));
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  open_traces = std::move(merged);
}

void AnalysisSummary::FinishSections(SectionBuild build) {
  sectioned = true;
  section_nanos = build.bucket_nanos;
  // One string table for all sections: their names repeat from minute to minute.
  std::map<std::string_view, uint32_t> ids;
  auto intern = [&](std::string_view v) { ids.try_emplace(v, 0); };
  for (const auto& [key, cells] : build.cells) {
    for (const auto& [k, c] : cells.operations) intern(std::get<0>(k)), intern(std::get<1>(k));
    for (const auto& [k, c] : cells.services) intern(k);
    for (const auto& [k, c] : cells.edges) intern(std::get<0>(k)), intern(std::get<1>(k));
    for (const std::string& n : cells.nodes) intern(n);
  }
  section_strings.clear();
  for (auto& [v, id] : ids) {
    id = static_cast<uint32_t>(section_strings.size());
    section_strings.emplace_back(v);
  }
  sections.clear();
  for (const auto& [key, cells] : build.cells) {
    Merge(cells);
    SummarySection& sec = sections.emplace_back();
    sec.first = key.first;
    sec.last = key.second;
    sec.min_start = cells.min_start;
    sec.max_start = cells.max_start;
    sec.spans = cells.spans;
    EncodeKeyedCells(cells, &sec.cells, [&](std::string_view v) { return ids.at(v); });
  }
  std::sort(build.spread.begin(), build.spread.end());
  spread_traces.clear();
  spread_sections.clear();
  for (const auto& [trace, key] : build.spread) {
    spread_traces.push_back(trace);
    // std::map order is (first, last) order, as is `sections`.
    auto it = std::lower_bound(sections.begin(), sections.end(), key,
                               [](const SummarySection& s, const SectionKey& k) {
                                 return SectionKey{s.first, s.last} < k;
                               });
    spread_sections.push_back(static_cast<uint32_t>(it - sections.begin()));
  }
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
  table->AddRows(open_rows, open_strings);
}

bool AnalysisSummary::IsOpen(const TraceId& trace) const {
  return std::binary_search(open_traces.begin(), open_traces.end(), trace);
}

ptrdiff_t AnalysisSummary::SectionOf(const TraceId& trace, uint64_t start) const {
  auto spread = std::lower_bound(spread_traces.begin(), spread_traces.end(), trace);
  if (spread != spread_traces.end() && *spread == trace) {
    return spread_sections[spread - spread_traces.begin()];
  }
  const SectionKey key{start / section_nanos, start / section_nanos};
  auto it = std::lower_bound(sections.begin(), sections.end(), key,
                             [](const SummarySection& s, const SectionKey& k) {
                               return SectionKey{s.first, s.last} < k;
                             });
  if (it == sections.end() || it->first != key.first || it->last != key.second) return -1;
  return it - sections.begin();
}

namespace {

void EncodeCell(const SummaryCell& c, std::string* out) {
  PutVarint64(out, c.calls);
  PutVarint64(out, c.errors);
  c.sketch.EncodeTo(out);
}

void EncodeKeyedCells(const AnalysisSummary& s, std::string* out,
                      absl::FunctionRef<uint32_t(std::string_view)> id) {
  PutVarint64(out, s.operations.size());
  for (const auto& [k, c] : s.operations) {
    PutVarint32(out, id(std::get<0>(k)));
    PutVarint32(out, id(std::get<1>(k)));
    out->push_back(static_cast<char>(std::get<2>(k)));
    EncodeCell(c, out);
  }
  PutVarint64(out, s.services.size());
  for (const auto& [k, c] : s.services) {
    PutVarint32(out, id(k));
    EncodeCell(c, out);
  }
  PutVarint64(out, s.edges.size());
  for (const auto& [k, c] : s.edges) {
    PutVarint32(out, id(std::get<0>(k)));
    PutVarint32(out, id(std::get<1>(k)));
    out->push_back(std::get<2>(k) ? 1 : 0);
    EncodeCell(c, out);
  }
  PutVarint64(out, s.nodes.size());
  for (const std::string& n : s.nodes) PutVarint32(out, id(n));
}

bool GetCount(std::string_view* in, uint64_t* n) {
  return GetVarint64(in, n) && *n <= kMaxEntries && *n <= in->size();
}

// The inverse of EncodeKeyedCells, string ids into `strings`; an error message, or empty.
std::string DecodeKeyedCells(std::string_view* in, const std::vector<std::string>& strings,
                             AnalysisSummary* s) {
  auto str = [&](const std::string** out) {
    uint32_t i;
    if (!GetVarint32(in, &i) || i >= strings.size()) return false;
    *out = &strings[i];
    return true;
  };
  auto cell = [&](SummaryCell* c) {
    return GetVarint64(in, &c->calls) && GetVarint64(in, &c->errors) && c->errors <= c->calls &&
           QuantileSketch::DecodeFrom(in, &c->sketch) && c->sketch.count() == c->calls;
  };
  const std::string *a, *b;
  uint64_t n;
  if (!GetCount(in, &n)) return "operation count";
  for (uint64_t i = 0; i < n; ++i) {
    SummaryCell c;
    if (!str(&a) || !str(&b) || in->empty() ||
        static_cast<uint8_t>((*in)[0]) > static_cast<uint8_t>(SpanKind::kConsumer)) {
      return "operation key";
    }
    const uint8_t kind = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    if (!cell(&c)) return "operation cell";
    s->operations[{*a, *b, kind}] = std::move(c);
  }
  if (!GetCount(in, &n)) return "service count";
  for (uint64_t i = 0; i < n; ++i) {
    SummaryCell c;
    if (!str(&a) || !cell(&c)) return "service row";
    s->services[*a] = std::move(c);
  }
  if (!GetCount(in, &n)) return "edge count";
  for (uint64_t i = 0; i < n; ++i) {
    SummaryCell c;
    if (!str(&a) || !str(&b) || in->empty() || static_cast<uint8_t>((*in)[0]) > 1) {
      return "edge key";
    }
    const bool virt = (*in)[0] == 1;
    in->remove_prefix(1);
    if (!cell(&c)) return "edge cell";
    s->edges[{*a, *b, virt}] = std::move(c);
  }
  if (!GetCount(in, &n)) return "node count";
  for (uint64_t i = 0; i < n; ++i) {
    if (!str(&a)) return "node";
    s->nodes.insert(*a);
  }
  return "";
}

bool GetStrings(std::string_view* in, std::vector<std::string>* out) {
  uint64_t n;
  if (!GetCount(in, &n)) return false;
  out->resize(n);
  for (std::string& str : *out) {
    std::string_view v;
    if (!GetLengthPrefixed(in, &v)) return false;
    str = std::string(v);
  }
  return true;
}

bool GetTraceIds(std::string_view* in, std::vector<TraceId>* out) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size() / 16) return false;
  out->resize(n);
  for (TraceId& t : *out) {
    std::copy(in->begin(), in->begin() + 16, t.bytes.begin());
    in->remove_prefix(16);
  }
  // Sorted and distinct.
  return std::adjacent_find(out->begin(), out->end(), [](const TraceId& x, const TraceId& y) {
           return !(x < y);
         }) == out->end();
}

}  // namespace

absl::Status AnalysisSummary::ReplaceSections(
    absl::Span<const std::pair<size_t, AnalysisSummary>> replacements) {
  if (!sectioned) return absl::InvalidArgumentError("analysis summary: not sectioned");
  absl::flat_hash_map<std::string_view, uint32_t> ids;
  for (uint32_t k = 0; k < section_strings.size(); ++k) ids.try_emplace(section_strings[k], k);
  // Everything is checked and encoded before anything changes.
  std::vector<AnalysisSummary> cells(sections.size());
  std::vector<std::string> encoded(sections.size());
  std::vector<bool> replaced(sections.size(), false);
  for (const auto& [i, with] : replacements) {
    if (i >= sections.size())
      return absl::InvalidArgumentError("analysis summary: no such section");
    bool missing = false;
    encoded[i].clear();
    EncodeKeyedCells(with, &encoded[i], [&](std::string_view v) {
      auto it = ids.find(v);
      if (it == ids.end()) {
        missing = true;
        return uint32_t{0};
      }
      return it->second;
    });
    if (missing) {
      return absl::InvalidArgumentError("analysis summary: a new string in a replaced section");
    }
    cells[i] = with;
    replaced[i] = true;
  }
  for (size_t k = 0; k < sections.size(); ++k) {
    if (replaced[k]) continue;
    auto d = DecodeSection(k);
    if (!d.ok()) return absl::InvalidArgumentError(d.status().message());
    cells[k] = std::move(*d);
  }
  spans = 0;
  min_start = UINT64_MAX;
  max_start = 0;
  operations.clear();
  services.clear();
  edges.clear();
  nodes.clear();
  for (size_t k = 0; k < sections.size(); ++k) {
    if (replaced[k]) {
      SummarySection& sec = sections[k];
      sec.cells = std::move(encoded[k]);
      sec.spans = cells[k].spans;
      if (cells[k].spans > 0) {  // an emptied section keeps its old (wider) start range
        sec.min_start = cells[k].min_start;
        sec.max_start = cells[k].max_start;
      }
    }
    Merge(cells[k]);
  }
  return absl::OkStatus();
}

absl::StatusOr<AnalysisSummary> AnalysisSummary::DecodeSection(size_t i) const {
  AnalysisSummary s;
  if (i >= sections.size()) return absl::DataLossError("analysis summary: no such section");
  const SummarySection& sec = sections[i];
  s.spans = sec.spans;
  s.min_start = sec.min_start;
  s.max_start = sec.max_start;
  std::string_view in = sec.cells;
  if (std::string bad = DecodeKeyedCells(&in, section_strings, &s); !bad.empty()) {
    return absl::DataLossError("analysis summary section: " + bad);
  }
  if (!in.empty()) return absl::DataLossError("analysis summary section: trailing bytes");
  return s;
}

// Byte form: varints spans, min_start, max_start; a string table (count, then
// length-prefixed strings, each distinct string once); the keyed cells: operations (count,
// then service, operation as string ids, kind, cell); services (count, id, cell); edges
// (count, client, server, virtual, cell); nodes (count, ids); open traces (count, 16-byte ids,
// sorted); open strings (count, length-prefixed); open rows (count, then each: trace as an
// index into the open traces, span id and parent as 8 bytes each, start, end, service,
// operation, peer as open string ids, kind, status). A cell: calls, errors, sketch
// (QuantileSketch::EncodeTo). Then (summary file version 2) the sections part: a byte, 0 when
// not sectioned, else 1 and: the bucket width in ns; the section string table (as above); sections
// (count, then each: first bucket, last - first, min_start, max_start - min_start, spans,
// length-prefixed keyed cells with ids into the section strings); spread traces (count, 16-byte
// ids, sorted), then each one's section index.
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
  PutVarint64(out, spans);
  PutVarint64(out, min_start);
  PutVarint64(out, max_start);
  PutVarint64(out, strings.size());
  for (std::string_view s : strings) PutLengthPrefixed(out, s);
  EncodeKeyedCells(*this, out, [&](std::string_view s) { return ids.at(s); });
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
  out->push_back(sectioned ? 1 : 0);
  if (!sectioned) return;
  PutVarint64(out, section_nanos);
  PutVarint64(out, section_strings.size());
  for (const std::string& str : section_strings) PutLengthPrefixed(out, str);
  PutVarint64(out, sections.size());
  for (const SummarySection& sec : sections) {
    PutVarint64(out, sec.first);
    PutVarint64(out, sec.last - sec.first);
    PutVarint64(out, sec.min_start);
    PutVarint64(out, sec.max_start - sec.min_start);
    PutVarint64(out, sec.spans);
    PutLengthPrefixed(out, sec.cells);
  }
  PutVarint64(out, spread_traces.size());
  for (const TraceId& t : spread_traces) {
    out->append(reinterpret_cast<const char*>(t.bytes.data()), 16);
  }
  for (uint32_t i : spread_sections) PutVarint32(out, i);
}

absl::StatusOr<AnalysisSummary> AnalysisSummary::Decode(std::string_view in, bool with_sections) {
  auto bad = [](std::string_view what) {
    return absl::DataLossError("analysis summary: " + std::string(what));
  };
  AnalysisSummary s;
  std::vector<std::string> strings;
  if (!GetVarint64(&in, &s.spans) || !GetVarint64(&in, &s.min_start) ||
      !GetVarint64(&in, &s.max_start) || !GetStrings(&in, &strings)) {
    return bad("truncated header");
  }
  if (std::string what = DecodeKeyedCells(&in, strings, &s); !what.empty()) return bad(what);
  if (!GetTraceIds(&in, &s.open_traces)) return bad("open traces");
  if (!GetStrings(&in, &s.open_strings)) return bad("open strings");
  uint64_t n;
  if (!GetCount(&in, &n)) return bad("open row count");
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
  if (with_sections) {
    if (in.empty() || static_cast<uint8_t>(in[0]) > 1) return bad("sections flag");
    s.sectioned = in[0] == 1;
    in.remove_prefix(1);
  }
  if (s.sectioned) {
    if (!GetVarint64(&in, &s.section_nanos) || s.section_nanos == 0) return bad("section width");
    if (!GetStrings(&in, &s.section_strings)) return bad("section strings");
    if (!GetCount(&in, &n)) return bad("section count");
    s.sections.resize(n);
    for (size_t i = 0; i < s.sections.size(); ++i) {
      SummarySection& sec = s.sections[i];
      uint64_t width, range;
      std::string_view cells;
      if (!GetVarint64(&in, &sec.first) || !GetVarint64(&in, &width) ||
          !GetVarint64(&in, &sec.min_start) || !GetVarint64(&in, &range) ||
          !GetVarint64(&in, &sec.spans) || !GetLengthPrefixed(&in, &cells) ||
          width > UINT64_MAX - sec.first || range > UINT64_MAX - sec.min_start) {
        return bad("section");
      }
      sec.last = sec.first + width;
      sec.max_start = sec.min_start + range;
      sec.cells = std::string(cells);
      // What the builder's keys guarantee: the section's spans start in its first and last
      // buckets, and sections come in (first, last) order.
      if (sec.spans == 0 || sec.min_start / s.section_nanos != sec.first ||
          sec.max_start / s.section_nanos != sec.last ||
          (i > 0 && !(SectionKey{s.sections[i - 1].first, s.sections[i - 1].last} <
                      SectionKey{sec.first, sec.last}))) {
        return bad("section key");
      }
    }
    if (!GetTraceIds(&in, &s.spread_traces)) return bad("spread traces");
    s.spread_sections.resize(s.spread_traces.size());
    for (uint32_t& i : s.spread_sections) {
      if (!GetVarint32(&in, &i) || i >= s.sections.size() ||
          s.sections[i].first == s.sections[i].last) {
        return bad("spread trace section");
      }
    }
  }
  if (!in.empty()) return bad("trailing bytes");
  return s;
}

}  // namespace spanstore
