// The service graph and RED metrics: one scan of the window into a SpanTable, then one pass
// over its traces pairing each span with its parent.

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/span_table.h"
#include "spanstore/analysis.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

bool IsEntryKind(SpanKind k) { return k == SpanKind::kServer || k == SpanKind::kConsumer; }
bool IsUnpairedKind(SpanKind k) { return k == SpanKind::kUnspecified || k == SpanKind::kInternal; }

void AppendSketchQuantiles(const QuantileSketch& s, std::string* out, bool p90) {
  absl::StrAppend(out, ",\"p50_ns\":", s.Quantile(0.5));
  if (p90) absl::StrAppend(out, ",\"p90_ns\":", s.Quantile(0.9));
  absl::StrAppend(out, ",\"p99_ns\":", s.Quantile(0.99));
}

}  // namespace

absl::StatusOr<ServiceGraph> ComputeServiceGraph(Store& store, const AnalysisWindow& window) {
  SpanTable table;
  if (absl::Status s = table.Load(store, window); !s.ok()) return s;
  // (client, server, server is virtual)
  std::map<std::tuple<uint32_t, uint32_t, bool>, ServiceEdge> edges;
  std::vector<bool> seen_service;
  table.ForEachTrace([&](absl::Span<const SpanRow> rows) {
    SpanLookup lookup(rows);
    std::vector<bool> has_child(rows.size(), false);
    for (ptrdiff_t p : lookup.parents()) {
      if (p >= 0) has_child[p] = true;
    }
    auto node = [&](uint32_t service) {
      if (service >= seen_service.size()) seen_service.resize(service + 1, false);
      seen_service[service] = true;
    };
    for (size_t i = 0; i < rows.size(); ++i) {
      const SpanRow& c = rows[i];
      node(c.service);
      // A call to an uninstrumented service (a database, a queue, a named peer): no span
      // answers it, so the edge goes to a virtual node named by the client's attribute.
      if (c.peer != 0 && !has_child[i] && c.peer != c.service) {
        node(c.peer);
        ServiceEdge& e = edges[{c.service, c.peer, true}];
        ++e.calls;
        if (c.error()) ++e.errors;
        e.latency.Add(c.duration());
      }
      const ptrdiff_t pi = lookup.parents()[i];
      if (pi < 0) continue;
      const SpanRow& p = rows[pi];
      if (p.service == c.service) continue;
      uint64_t latency;
      if (p.kind == SpanKind::kClient && c.kind == SpanKind::kServer) {
        latency = p.duration();
      } else if (p.kind == SpanKind::kProducer && c.kind == SpanKind::kConsumer) {
        latency = c.duration();
      } else {
        latency = c.duration();
      }
      ServiceEdge& e = edges[{p.service, c.service, false}];
      ++e.calls;
      if (p.error() || c.error()) ++e.errors;
      e.latency.Add(latency);
    }
  });
  ServiceGraph graph;
  graph.spans = table.size();
  graph.truncated = table.truncated();
  for (uint32_t i = 0; i < seen_service.size(); ++i) {
    if (seen_service[i]) graph.services.push_back(table.str(i));
  }
  std::sort(graph.services.begin(), graph.services.end());
  for (auto& [key, e] : edges) {
    e.client = table.str(std::get<0>(key));
    e.server = table.str(std::get<1>(key));
    e.virtual_server = std::get<2>(key);
    graph.edges.push_back(std::move(e));
  }
  std::sort(graph.edges.begin(), graph.edges.end(), [](const ServiceEdge& a, const ServiceEdge& b) {
    return std::tie(a.client, a.server, a.virtual_server) <
           std::tie(b.client, b.server, b.virtual_server);
  });
  return graph;
}

std::string ServiceGraphJson(const ServiceGraph& graph) {
  std::string out = "{\"nodes\":[";
  for (size_t i = 0; i < graph.services.size(); ++i) {
    out += i ? ",{\"service\":" : "{\"service\":";
    AppendJsonString(graph.services[i], &out);
    out += "}";
  }
  out += "],\"edges\":[";
  for (size_t i = 0; i < graph.edges.size(); ++i) {
    const ServiceEdge& e = graph.edges[i];
    out += i ? ",{\"client\":" : "{\"client\":";
    AppendJsonString(e.client, &out);
    out += ",\"server\":";
    AppendJsonString(e.server, &out);
    absl::StrAppend(&out, ",\"calls\":", e.calls, ",\"errors\":", e.errors);
    AppendSketchQuantiles(e.latency, &out, false);
    out += "}";
  }
  out += "]}";
  return out;
}

std::string ServiceGraphDot(const ServiceGraph& graph) {
  // Graphviz IDs are quoted strings; a quote or backslash in a name is escaped.
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q.push_back('\\');
      q.push_back(c);
    }
    return q + "\"";
  };
  auto ms = [](uint64_t ns) { return absl::StrFormat("%.2fms", static_cast<double>(ns) / 1e6); };
  std::string out =
      "digraph services {\n  rankdir=LR;\n  node [shape=box, style=rounded, "
      "fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  // Virtual nodes (databases, uninstrumented peers) drawn as dashed cylinders.
  std::vector<std::string> virtual_nodes;
  for (const ServiceEdge& e : graph.edges) {
    if (e.virtual_server) virtual_nodes.push_back(e.server);
  }
  for (const std::string& s : graph.services) {
    const bool is_virtual =
        std::find(virtual_nodes.begin(), virtual_nodes.end(), s) != virtual_nodes.end();
    absl::StrAppend(&out, "  ", quote(s), is_virtual ? " [shape=cylinder, style=dashed]" : "",
                    ";\n");
  }
  for (const ServiceEdge& e : graph.edges) {
    const std::string label = absl::StrFormat(
        "%d calls%s\\np50 %s p99 %s", e.calls,
        e.errors ? absl::StrFormat(", %d error%s", e.errors, e.errors == 1 ? "" : "s") : "",
        ms(e.latency.Quantile(0.5)), ms(e.latency.Quantile(0.99)));
    absl::StrAppend(&out, "  ", quote(e.client), " -> ", quote(e.server), " [label=\"", label, "\"",
                    e.errors ? ", color=red, fontcolor=red" : "", "];\n");
  }
  out += "}\n";
  return out;
}

absl::StatusOr<RedReport> ComputeRed(Store& store, const AnalysisWindow& window,
                                     RedGrouping grouping) {
  SpanTable table;
  if (absl::Status s = table.Load(store, window); !s.ok()) return s;
  // Keyed by (service, operation, kind) as interned indexes; the operation is ~0u when grouped
  // by service.
  std::map<std::tuple<uint32_t, uint32_t, uint8_t>, RedRow> rows;
  table.ForEachTrace([&](absl::Span<const SpanRow> trace) {
    std::optional<SpanLookup> lookup;
    for (size_t i = 0; i < trace.size(); ++i) {
      const SpanRow& r = trace[i];
      std::tuple<uint32_t, uint32_t, uint8_t> key;
      if (grouping == RedGrouping::kOperation) {
        key = {r.service, r.operation, static_cast<uint8_t>(r.kind)};
      } else {
        bool entry = IsEntryKind(r.kind) || r.is_root();
        if (!entry && IsUnpairedKind(r.kind)) {
          if (!lookup) lookup.emplace(trace);
          const ptrdiff_t p = lookup->parents()[i];
          entry = p < 0 || trace[p].service != r.service;
        }
        if (!entry) continue;
        key = {r.service, ~0u, 0};
      }
      RedRow& row = rows[key];
      ++row.calls;
      if (r.error()) ++row.errors;
      row.duration.Add(r.duration());
    }
  });
  RedReport report;
  report.spans = table.size();
  report.truncated = table.truncated();
  report.window_seconds = WindowSeconds(window, table);
  for (auto& [key, row] : rows) {
    row.service = table.str(std::get<0>(key));
    if (grouping == RedGrouping::kOperation) {
      row.operation = table.str(std::get<1>(key));
      row.kind = static_cast<SpanKind>(std::get<2>(key));
    }
    row.rate_per_s = static_cast<double>(row.calls) / report.window_seconds;
    row.p50_ns = row.duration.Quantile(0.5);
    row.p90_ns = row.duration.Quantile(0.9);
    row.p99_ns = row.duration.Quantile(0.99);
    report.rows.push_back(std::move(row));
  }
  std::sort(report.rows.begin(), report.rows.end(), [](const RedRow& a, const RedRow& b) {
    return std::tie(a.service, a.operation, a.kind) < std::tie(b.service, b.operation, b.kind);
  });
  return report;
}

std::string RedJson(const RedReport& report) {
  std::string out = "[";
  for (size_t i = 0; i < report.rows.size(); ++i) {
    const RedRow& r = report.rows[i];
    out += i ? ",{\"service\":" : "{\"service\":";
    AppendJsonString(r.service, &out);
    out += ",\"operation\":";
    AppendJsonString(r.operation, &out);
    absl::StrAppend(&out, ",\"kind\":\"", std::string(SpanKindName(r.kind)),
                    "\",\"calls\":", r.calls, ",\"errors\":", r.errors,
                    ",\"rate_per_s\":", absl::StrFormat("%.6g", r.rate_per_s));
    AppendSketchQuantiles(r.duration, &out, true);
    out += "}";
  }
  out += "]";
  return out;
}

}  // namespace spanstore
