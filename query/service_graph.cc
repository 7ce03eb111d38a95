// The service graph and RED metrics: the window as one AnalysisSummary (block summaries kept
// at compaction plus a scan of the rest), turned into rows.

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/analysis_summary.h"
#include "query/span_table.h"
#include "spanstore/analysis.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

void AppendSketchQuantiles(const QuantileSketch& s, std::string* out, bool p90) {
  absl::StrAppend(out, ",\"p50_ns\":", s.Quantile(0.5));
  if (p90) absl::StrAppend(out, ",\"p90_ns\":", s.Quantile(0.9));
  absl::StrAppend(out, ",\"p99_ns\":", s.Quantile(0.99));
}

// The window's spans as one summary: the per-block summaries the store offers for the blocks
// it can answer that way (Store::ScanForAnalysis), plus a table of the rest, paired within
// itself. Both paths run AnalysisSummary::AddTable, so they agree span for span.
absl::Status SummarizeWindow(Store& store, const AnalysisWindow& window, AnalysisSummary* out,
                             bool* truncated) {
  if (window.end_unix_nano <= window.start_unix_nano) {
    return absl::InvalidArgumentError("the time window is empty (start is not before end)");
  }
  SpanTable table;
  auto add = [&](const Span& span) { return table.Add(span, window.max_spans); };
  absl::Status s;
  if (window.use_summaries) {
    s = store.ScanForAnalysis(
        WindowQuery(window),
        [&](const AnalysisSummary* block) {
          out->Merge(*block);
          block->AddOpenRowsTo(&table);
        },
        add);
  } else {
    s = store.Scan(WindowQuery(window), add);
  }
  if (!s.ok()) return s;
  table.Finish();
  out->AddTable(table);
  *truncated = table.truncated();
  return absl::OkStatus();
}

// The seconds a rate is over: the window, or where it is unbounded, the start times found.
double RateSeconds(const AnalysisWindow& window, const AnalysisSummary& sum) {
  uint64_t start = window.start_unix_nano, end = window.end_unix_nano;
  if (start == 0 && sum.spans > 0) start = sum.min_start;
  if (end == UINT64_MAX) end = sum.spans > 0 ? sum.max_start + 1 : start;
  const double seconds = end > start ? static_cast<double>(end - start) / 1e9 : 0.0;
  return std::max(seconds, 1.0);
}

}  // namespace

absl::StatusOr<ServiceGraph> ComputeServiceGraph(Store& store, const AnalysisWindow& window) {
  AnalysisSummary sum;
  ServiceGraph graph;
  if (absl::Status s = SummarizeWindow(store, window, &sum, &graph.truncated); !s.ok()) return s;
  graph.spans = sum.spans;
  graph.services.assign(sum.nodes.begin(), sum.nodes.end());
  for (auto& [key, cell] : sum.edges) {
    ServiceEdge& e = graph.edges.emplace_back();
    e.client = std::get<0>(key);
    e.server = std::get<1>(key);
    e.virtual_server = std::get<2>(key);
    e.calls = cell.calls;
    e.errors = cell.errors;
    e.latency = std::move(cell.sketch);
  }
  // std::map order: client, server, virtual.
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
  AnalysisSummary sum;
  RedReport report;
  if (absl::Status s = SummarizeWindow(store, window, &sum, &report.truncated); !s.ok()) return s;
  report.spans = sum.spans;
  report.window_seconds = RateSeconds(window, sum);
  auto add = [&](std::string service, std::string operation, SpanKind kind, SummaryCell& cell) {
    RedRow& row = report.rows.emplace_back();
    row.service = std::move(service);
    row.operation = std::move(operation);
    row.kind = kind;
    row.calls = cell.calls;
    row.errors = cell.errors;
    row.duration = std::move(cell.sketch);
    row.rate_per_s = static_cast<double>(row.calls) / report.window_seconds;
    row.p50_ns = row.duration.Quantile(0.5);
    row.p90_ns = row.duration.Quantile(0.9);
    row.p99_ns = row.duration.Quantile(0.99);
  };
  if (grouping == RedGrouping::kOperation) {
    for (auto& [key, cell] : sum.operations) {
      add(std::get<0>(key), std::get<1>(key), static_cast<SpanKind>(std::get<2>(key)), cell);
    }
  } else {
    for (auto& [service, cell] : sum.services) add(service, "", SpanKind::kUnspecified, cell);
  }
  // std::map order is (service, operation, kind) already.
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
