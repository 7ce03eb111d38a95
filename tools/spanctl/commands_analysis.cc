// spanctl graph, red, doctor, critical-path: the analyses of spanstore/analysis.h over a store.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/spanctl/commands.h"
#include "tools/spanctl/render.h"

namespace spanstore::spanctl {
namespace {

std::vector<FlagSpec> WindowFlags() {
  return {{"start", "TIME", "",
           "only spans starting at or after TIME: RFC 3339 (2026-01-01T00:00:00Z), unix seconds, "
           "or unix time with a unit (1767225600000ms, ...us, ...ns)"},
          {"end", "TIME", "", "only spans starting before TIME (as --start)"},
          {"since", "DURATION", "",
           "the last DURATION up to now (e.g. 15m, 24h); instead of --start and --end"},
          {"max-spans", "N", "0",
           "stop after N spans and say the answer is partial (0: no bound; ~80 bytes of memory "
           "per span)"}};
}

absl::StatusOr<AnalysisWindow> WindowFromFlags(const ParsedFlags& flags) {
  AnalysisWindow w;
  if (flags.Has("since")) {
    if (flags.Has("start") || flags.Has("end")) {
      return absl::InvalidArgumentError("--since is instead of --start and --end, not with them");
    }
    auto d = ParseDuration(flags.Get("since"));
    if (!d.ok() || *d == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--since: ", d.ok() ? "must be longer than 0" : d.status().message()));
    }
    w.end_unix_nano = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    w.start_unix_nano = w.end_unix_nano > *d ? w.end_unix_nano - *d : 0;
  }
  for (const char* name : {"start", "end"}) {
    if (!flags.Has(name)) continue;
    auto t = ParseTimestamp(flags.Get(name));
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", t.status().message()));
    }
    (std::string(name) == "start" ? w.start_unix_nano : w.end_unix_nano) = *t;
  }
  if (w.end_unix_nano <= w.start_unix_nano) {
    return absl::InvalidArgumentError("the time window is empty (--start is not before --end)");
  }
  if (flags.Has("max-spans")) {
    auto max = flags.GetInt("max-spans", 0, std::numeric_limits<int64_t>::max());
    if (!max.ok()) return max.status();
    w.max_spans = static_cast<uint64_t>(*max);
  }
  return w;
}

void WarnTruncated(const char* command, bool truncated, uint64_t spans) {
  if (!truncated) return;
  std::fprintf(stderr,
               "spanctl %s: stopped after %llu spans (--max-spans): the answer is partial\n",
               command, static_cast<unsigned long long>(spans));
}

std::string Ms(uint64_t ns) { return FormatDuration(ns); }

int RunGraph(const ParsedFlags& flags) {
  auto window = WindowFromFlags(flags);
  if (!window.ok()) return Fail("graph", window.status());
  const bool json = flags.GetBool("json"), dot = flags.GetBool("dot");
  const std::string svg = flags.Get("svg");
  if (static_cast<int>(json) + static_cast<int>(dot) + static_cast<int>(!svg.empty()) > 1) {
    return Fail("graph", absl::InvalidArgumentError("--json, --dot and --svg exclude each other"));
  }
  auto store = OpenStoreForReading(flags);  // read-only; never creates a store
  if (!store.ok()) return Fail("graph", store.status());
  auto graph = ComputeServiceGraph(**store, *window);
  if (!graph.ok()) return Fail("graph", graph.status());
  WarnTruncated("graph", graph->truncated, graph->spans);
  if (json) {
    std::printf("%s\n", ServiceGraphJson(*graph).c_str());
    return kExitOk;
  }
  if (dot) {
    std::fputs(ServiceGraphDot(*graph).c_str(), stdout);
    return kExitOk;
  }
  if (!svg.empty()) {
    // Graphviz renders; spanctl only writes its input.
    const std::string command = absl::StrCat("dot -Tsvg -o '", svg, "'");
    if (svg.find('\'') != std::string::npos) {
      return Fail("graph", absl::InvalidArgumentError("--svg: the file name has a quote"));
    }
    FILE* p = ::popen(command.c_str(), "w");
    if (p == nullptr) return FailOperation("graph", absl::InternalError("cannot run dot"));
    const std::string text = ServiceGraphDot(*graph);
    std::fwrite(text.data(), 1, text.size(), p);
    const int rc = ::pclose(p);
    if (rc != 0) {
      return FailOperation(
          "graph", absl::UnavailableError(
                       "Graphviz 'dot' failed or is not installed (apt-get install graphviz); "
                       "--dot prints its input"));
    }
    std::fprintf(stderr, "wrote %s\n", svg.c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const ServiceEdge& e : graph->edges) {
    rows.push_back({e.client, e.server, absl::StrCat(e.calls), absl::StrCat(e.errors),
                    Ms(e.latency.Quantile(0.5)), Ms(e.latency.Quantile(0.99))});
  }
  std::fputs(FormatTable({"CLIENT", "SERVER", "CALLS", "ERRORS", "P50", "P99"}, rows).c_str(),
             stdout);
  std::fprintf(stderr, "%zu services, %zu edges, %llu spans\n", graph->services.size(),
               graph->edges.size(), static_cast<unsigned long long>(graph->spans));
  return kExitOk;
}

int RunRed(const ParsedFlags& flags) {
  auto window = WindowFromFlags(flags);
  if (!window.ok()) return Fail("red", window.status());
  const std::string by = flags.Get("by");
  RedGrouping grouping;
  if (by == "service") {
    grouping = RedGrouping::kService;
  } else if (by == "operation") {
    grouping = RedGrouping::kOperation;
  } else {
    return Fail("red", absl::InvalidArgumentError(
                           absl::StrCat("--by: '", by, "' is neither 'service' nor 'operation'")));
  }
  auto store = OpenStoreForReading(flags);  // read-only; never creates a store
  if (!store.ok()) return Fail("red", store.status());
  auto red = ComputeRed(**store, *window, grouping);
  if (!red.ok()) return Fail("red", red.status());
  WarnTruncated("red", red->truncated, red->spans);
  if (flags.GetBool("json")) {
    std::printf("%s\n", RedJson(*red).c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const RedRow& r : red->rows) {
    std::vector<std::string> row = {r.service};
    if (grouping == RedGrouping::kOperation) {
      row.push_back(r.operation);
      row.push_back(std::string(SpanKindName(r.kind)));
    }
    for (std::string cell :
         {absl::StrCat(r.calls), absl::StrCat(r.errors),
          absl::StrFormat("%.2f%%", r.calls ? 100.0 * r.errors / r.calls : 0.0),
          absl::StrFormat("%.3f", r.rate_per_s), Ms(r.p50_ns), Ms(r.p90_ns), Ms(r.p99_ns)}) {
      row.push_back(cell);
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> header = {"SERVICE"};
  if (grouping == RedGrouping::kOperation) {
    header.push_back("OPERATION");
    header.push_back("KIND");
  }
  for (const char* h : {"CALLS", "ERRORS", "ERROR%", "RATE/S", "P50", "P90", "P99"}) {
    header.push_back(h);
  }
  std::fputs(FormatTable(header, rows).c_str(), stdout);
  std::fprintf(stderr, "rates over %.0f s, %llu spans\n", red->window_seconds,
               static_cast<unsigned long long>(red->spans));
  return kExitOk;
}

int RunDoctorCommand(const ParsedFlags& flags) {
  auto window = WindowFromFlags(flags);
  if (!window.ok()) return Fail("doctor", window.status());
  DoctorOptions options;
  if (flags.Has("min-gap")) {
    auto d = ParseDuration(flags.Get("min-gap"));
    if (!d.ok()) {
      return Fail("doctor",
                  absl::InvalidArgumentError(absl::StrCat("--min-gap: ", d.status().message())));
    }
    options.min_gap_nanos = *d;
  }
  auto store = OpenStoreForReading(flags);  // read-only; never creates a store
  if (!store.ok()) return Fail("doctor", store.status());
  auto report = RunDoctor(**store, *window, options);
  if (!report.ok()) return Fail("doctor", report.status());
  WarnTruncated("doctor", report->truncated, report->spans);
  if (flags.GetBool("json")) {
    std::printf("%s\n", DoctorJson(*report).c_str());
    return kExitOk;
  }
  if (report->findings.empty()) {
    std::printf("no propagation problems found in %llu traces (%llu spans)\n",
                static_cast<unsigned long long>(report->traces),
                static_cast<unsigned long long>(report->spans));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Finding& f : report->findings) {
    std::string value;
    if (f.kind == FindingKind::kClockSkew || f.kind == FindingKind::kChildOutsideParent) {
      value = absl::StrFormat("%+.3fms", static_cast<double>(f.value_ns) / 1e6);
    } else if (f.kind == FindingKind::kGap) {
      value = FormatDuration(static_cast<uint64_t>(f.value_ns));
    }
    rows.push_back({FindingKindName(f.kind), f.service, f.peer, absl::StrCat(f.count),
                    absl::StrFormat("%.2f%%", 100.0 * f.fraction), value,
                    f.example_trace_ids.empty() ? "" : f.example_trace_ids[0].ToHex()});
  }
  std::fputs(
      FormatTable({"KIND", "SERVICE", "PEER", "TRACES", "FRACTION", "VALUE", "EXAMPLE"}, rows)
          .c_str(),
      stdout);
  std::printf("\n");
  for (const Finding& f : report->findings) {
    std::printf("- %s: %s\n", FindingKindName(f.kind), f.detail.c_str());
  }
  return kExitOk;
}

int RunCriticalPath(const ParsedFlags& flags) {
  auto q = ParseQuery(flags.args.empty() ? "{ }" : flags.args[0]);
  if (!q.ok()) {
    return Fail("critical-path",
                absl::InvalidArgumentError(absl::StrCat("filter: ", q.status().message())));
  }
  auto window = WindowFromFlags(flags);
  if (!window.ok()) return Fail("critical-path", window.status());
  q->start_min = window->start_unix_nano;
  q->start_max = window->end_unix_nano == UINT64_MAX ? UINT64_MAX : window->end_unix_nano - 1;
  auto limit = flags.GetInt("limit", 0, std::numeric_limits<int32_t>::max());
  if (!limit.ok()) return Fail("critical-path", limit.status());
  auto top = flags.GetInt("top", 1, 100000);
  if (!top.ok()) return Fail("critical-path", top.status());
  auto store = OpenStoreForReading(flags);  // read-only; never creates a store
  if (!store.ok()) return Fail("critical-path", store.status());
  auto report = ComputeCriticalPaths(**store, *q, static_cast<size_t>(*limit));
  if (!report.ok()) return Fail("critical-path", report.status());
  if (flags.GetBool("json")) {
    std::printf("%s\n", CriticalPathJson(*report).c_str());
    return kExitOk;
  }
  std::printf(
      "%llu traces, duration p50 %s, p99 %s\n", static_cast<unsigned long long>(report->traces),
      FormatDuration(report->p50_trace_ns).c_str(), FormatDuration(report->p99_trace_ns).c_str());
  std::vector<std::vector<std::string>> rows;
  for (const CriticalPathRow& r : report->rows) {
    if (rows.size() >= static_cast<size_t>(*top)) break;
    rows.push_back({r.service, r.operation, absl::StrFormat("%.1f%%", 100 * r.share),
                    absl::StrFormat("%.1f%%", 100 * r.tail_share), FormatDuration(r.p50_ns),
                    FormatDuration(r.p99_ns)});
  }
  std::fputs(
      FormatTable({"SERVICE", "OPERATION", "SHARE", "SHARE>=P99", "P50/TRACE", "P99/TRACE"}, rows)
          .c_str(),
      stdout);
  return kExitOk;
}

// One line per series: its labels, a sparkline of its steps and the largest value.
std::string Sparklines(const MetricsResult& result, bool seconds) {
  static constexpr const char* kBars[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::vector<std::vector<std::string>> rows;
  for (const MetricsSeries& s : result.series) {
    std::string label;
    for (const auto& [k, v] : s.labels)
      absl::StrAppend(&label, label.empty() ? "" : " ", k, "=", v);
    if (label.empty()) label = "{}";
    // NaN: a step without a value (sum/min/max/avg_over_time), drawn as a blank.
    double max = 0;
    for (double v : s.values) {
      if (!std::isnan(v)) max = std::max(max, v);
    }
    std::string line;
    for (double v : s.values) {
      line += kBars[max > 0 && v > 0 ? static_cast<int>(std::ceil(v / max * 8)) : 0];
    }
    rows.push_back({label, line,
                    seconds ? FormatDuration(static_cast<uint64_t>(max * 1e9))
                            : absl::StrFormat("%.4g", max)});
  }
  return FormatTable({"SERIES", "STEPS", "MAX"}, rows);
}

// compare()'s answer as a person reads it: per attribute value, its share of the selection's
// spans that have the attribute against its share of the baseline's, the values most
// over-represented in the selection first (what sets the selection apart).
std::string CompareTable(const MetricsResult& result, size_t max_rows) {
  auto sum = [](const std::vector<double>& v) {
    double t = 0;
    for (double x : v) t += x;
    return t;
  };
  // (attribute, value) -> {selection count, baseline count}; attribute -> totals
  std::map<std::pair<std::string, std::string>, std::pair<double, double>> counts;
  std::map<std::string, std::pair<double, double>> totals;
  for (const MetricsSeries& s : result.series) {
    if (s.labels.size() != 2 || s.labels[0].first != "__meta_type") continue;
    const std::string& type = s.labels[0].second;
    const auto& [attribute, value] = s.labels[1];
    const double n = sum(s.values);
    if (type == "selection") counts[{attribute, value}].first = n;
    if (type == "baseline") counts[{attribute, value}].second = n;
    if (type == "selection_total") totals[attribute].first = n;
    if (type == "baseline_total") totals[attribute].second = n;
  }
  struct Row {
    double diff;
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;
  for (const auto& [key, n] : counts) {
    const auto& [sel_total, base_total] = totals[key.first];
    const double sel = sel_total > 0 ? n.first / sel_total : 0;
    const double base = base_total > 0 ? n.second / base_total : 0;
    rows.push_back({sel - base,
                    {key.first, key.second, absl::StrFormat("%.0f (%.1f%%)", n.first, 100 * sel),
                     absl::StrFormat("%.0f (%.1f%%)", n.second, 100 * base),
                     absl::StrFormat("%+.1f", 100 * (sel - base))}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.diff > b.diff; });
  if (rows.size() > max_rows) rows.resize(max_rows);
  std::vector<std::vector<std::string>> cells;
  for (Row& r : rows) cells.push_back(std::move(r.cells));
  return FormatTable({"ATTRIBUTE", "VALUE", "SELECTION", "BASELINE", "DIFF (PP)"}, cells);
}

int RunMetrics(const ParsedFlags& flags) {
  auto query = ParseMetricsQuery(flags.args[0]);
  if (!query.ok()) return Fail("metrics", query.status());
  if ((!flags.Has("start") || !flags.Has("end")) && !flags.Has("since")) {
    return Fail("metrics",
                absl::InvalidArgumentError("--start and --end are required (or --since)"));
  }
  auto window = WindowFromFlags(flags);
  if (!window.ok()) return Fail("metrics", window.status());
  uint64_t step =
      std::max<uint64_t>(1'000'000'000, (window->end_unix_nano - window->start_unix_nano) / 60);
  if (flags.Has("step")) {
    auto d = ParseDuration(flags.Get("step"));
    if (!d.ok() || *d == 0) {
      return Fail("metrics",
                  absl::InvalidArgumentError(absl::StrCat(
                      "--step: ", d.ok() ? "must be longer than 0" : d.status().message())));
    }
    step = *d;
  }
  auto store = OpenStoreForReading(flags);  // read-only; never creates a store
  if (!store.ok()) return Fail("metrics", store.status());
  auto result =
      EvaluateMetricsQuery(**store, *query, window->start_unix_nano, window->end_unix_nano, step);
  if (!result.ok()) return Fail("metrics", result.status());
  if (flags.GetBool("json")) {
    std::printf("%s\n", MetricsResultJson(*result).c_str());
    return kExitOk;
  }
  std::printf("%s .. %s, step %s, %llu spans\n", FormatTime(window->start_unix_nano).c_str(),
              FormatTime(window->end_unix_nano).c_str(), FormatDuration(step).c_str(),
              static_cast<unsigned long long>(result->spans));
  if (query->function == MetricsQuery::Function::kCompare) {
    std::fputs(CompareTable(*result, 30).c_str(), stdout);
    return kExitOk;
  }
  std::fputs(Sparklines(*result, query->function == MetricsQuery::Function::kQuantileOverTime ||
                                     (query->value == "duration" &&
                                      query->function != MetricsQuery::Function::kSumOverTime))
                 .c_str(),
             stdout);
  return kExitOk;
}

}  // namespace

std::vector<Command> AnalysisCommands() {
  auto with_window = [](std::vector<FlagSpec> flags) {
    std::vector<FlagSpec> all = {DbFlag()};
    for (FlagSpec& f : WindowFlags()) all.push_back(f);
    for (FlagSpec& f : flags) all.push_back(f);
    return all;
  };
  return {
      {{"graph", "graph --db DIR [--start T] [--end T] [--since D] [--json|--dot|--svg FILE]",
        "the service graph: which service calls which, with calls, errors and latency",
        "Edges are client/server and producer/consumer span pairs across services, and\n"
        "parent/child spans of different services where kinds are unset (Tempo's service graph\n"
        "and Jaeger's dependencies). Latency is the client's duration (for messages the\n"
        "consumer's); p50/p99 come from a sketch within 1% of the exact values.",
        with_window({{"json", "", "", "print {\"nodes\":[...],\"edges\":[...]}"},
                     {"dot", "", "", "print Graphviz input"},
                     {"svg", "FILE", "", "render an SVG with Graphviz's dot (if installed)"}}),
        0, 0},
       RunGraph},
      {{"red", "red --db DIR [--by service|operation] [--start T] [--end T] [--since D] [--json]",
        "rate, errors and duration quantiles per service or per operation",
        "--by service counts the requests each service serves (server and consumer spans, roots,\n"
        "and unset-kind spans called from another service); --by operation every span per\n"
        "(service, operation, kind). Calls and errors are exact; p50/p90/p99 within 1%.",
        with_window({{"by", "WHAT", "service", "service or operation"},
                     {"json", "", "", "print JSON rows"}}),
        0, 0},
       RunRed},
      {{"doctor", "doctor --db DIR [--start T] [--end T] [--since D] [--json]",
        "find broken trace propagation: dropped context, orphans, skewed clocks, gaps",
        "Findings, most traces broken first: dropped_context (a caller whose calls reach no\n"
        "callee span while the callee starts new traces), orphan_span, multiple_roots,\n"
        "clock_skew (the service whose clock is off, and by how much), child_outside_parent,\n"
        "negative_duration, gap (idle time before a call, by service pair).",
        with_window({{"json", "", "", "print JSON findings"},
                     {"min-gap", "DURATION", "100ms", "report gaps from this long"}}),
        0, 0},
       RunDoctorCommand},
      {{"critical-path",
        "critical-path --db DIR [FILTER] [--start T] [--end T] [--since D] [--json]",
        "which services and operations own the critical path of the traces a filter selects",
        "For each trace with a span matching FILTER (a TraceQL span filter), the critical path\n"
        "is the chain of spans the root waited for; each span owns its self time on it. Rows:\n"
        "share of all critical-path time, share within the traces at or above p99 duration,\n"
        "and p50/p99 of the time per trace.",
        {DbFlag(),
         WindowFlags()[0],
         WindowFlags()[1],
         WindowFlags()[2],
         {"limit", "N", "10000", "at most N traces, most recent first (0: all)"},
         {"top", "N", "20", "rows to print"},
         {"json", "", "", "print JSON"}},
        0,
        1},
       RunCriticalPath},
      {{"metrics",
        "metrics --db DIR QUERY (--start T --end T | --since D) [--step D] [--json]",
        "TraceQL metrics over time: rates, counts, quantiles, histograms, sums, extremes",
        "QUERY is a span filter and one function, as in Tempo:\n"
        "  '{ resource.service.name = \"checkout\" } | rate() by (span.http.route)'\n"
        "  '{ status = error } | count_over_time()'\n"
        "  '{ } | quantile_over_time(duration, .5, .99) by (resource.service.name)'\n"
        "  '{ kind = server } | histogram_over_time(duration)'   (or an int attribute)\n"
        "  '{ kind = client } | max_over_time(span.http.response.size) by (name)'\n"
        "  '{ } | avg_over_time(duration)'   (also sum_over_time, min_over_time)\n"
        "  '{ } | rate() by (resource.service.name) | topk(5)'   (or bottomk: per step)\n"
        "  '{ status = error } | rate() by (resource.service.name) > 0.5'   (a threshold)\n"
        "  '{ kind = server } | compare({ status = error })'   (what sets errors apart)\n"
        "  '{ nestedSetParent < 0 } | rate() with(exemplars=true)'   (root spans; exemplars)\n"
        "Durations are in seconds. sum/min/max/avg_over_time skip spans without the number;\n"
        "a step with none is blank. Prints one sparkline per series (for compare(), the 30 "
        "attribute\n"
        "values most over-represented in the selection), or Tempo's query_range JSON with --json.",
        {DbFlag(),
         WindowFlags()[0],
         WindowFlags()[1],
         WindowFlags()[2],
         {"step", "DURATION", "", "the step (default: a 60th of the range, at least 1s)"},
         {"json", "", "", "print Tempo's query_range JSON"}},
        1,
        1},
       RunMetrics},
  };
}

}  // namespace spanstore::spanctl
