// spanctl trace, query, search, services, stats, verify.

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/spanctl/commands.h"
#include "tools/spanctl/render.h"

namespace spanstore::spanctl {
namespace {

std::vector<FlagSpec> WindowFlags() {
  return {{"start", "TIME", "",
           "only spans starting at or after TIME: RFC 3339 (2026-01-01T00:00:00Z), unix seconds "
           "(1767225600), or unix time with a unit (1767225600000ms, ...us, ...ns)"},
          {"end", "TIME", "", "only spans starting at or before TIME (as --start)"},
          {"since", "DURATION", "", "only spans from the last DURATION (e.g. 15m, 2h)"}};
}

absl::StatusOr<uint64_t> ParseTimeFlag(const std::string& name, const std::string& value) {
  auto t = ParseTimestamp(value);
  if (!t.ok())
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", t.status().message()));
  return *t;
}

// Applies --start/--end/--since to the query.
absl::Status ApplyWindow(const ParsedFlags& flags, SpanQuery* q) {
  if (flags.Has("start")) {
    auto t = ParseTimeFlag("start", flags.Get("start"));
    if (!t.ok()) return t.status();
    q->start_min = *t;
  }
  if (flags.Has("end")) {
    auto t = ParseTimeFlag("end", flags.Get("end"));
    if (!t.ok()) return t.status();
    q->start_max = *t;
  }
  if (flags.Has("since")) {
    auto d = ParseDuration(flags.Get("since"));
    if (!d.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--since: ", d.status().message()));
    }
    if (*d == 0) return absl::InvalidArgumentError("--since: the window must be longer than 0");
    const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
    q->start_min = std::max(q->start_min, now > *d ? now - *d : 0);
  }
  if (q->start_min > q->start_max) {
    return absl::InvalidArgumentError("the time window is empty (start is after end)");
  }
  return absl::OkStatus();
}

// The query of `query` and `search`: one span filter (a SpanQuery, which the single-filter
// paths answer), or TraceQL beyond it in *traceql (the SpanQuery then only carries the window
// and the deadline).
absl::StatusOr<SpanQuery> QueryFromFlags(const ParsedFlags& flags,
                                         std::optional<TraceQuery>* traceql) {
  const std::string text = flags.args.empty() ? "{ }" : flags.args[0];
  auto q = ParseQuery(text);
  if (!q.ok()) {
    auto full = ParseTraceQuery(text);
    if (!full.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query: ", full.status().message()));
    }
    *traceql = *std::move(full);
    q = SpanQuery();
  }
  if (absl::Status s = ApplyWindow(flags, &*q); !s.ok()) return s;
  if (flags.Has("timeout")) {
    auto d = ParseDuration(flags.Get("timeout"));
    if (!d.ok() || *d == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout: expected a duration longer than 0 such as 30s or 500ms, found '",
                       flags.Get("timeout"), "'"));
    }
    q->deadline = absl::Now() + absl::Nanoseconds(*d);
  }
  return q;
}

std::string StatusName(StatusCode c) { return std::string(StatusCodeName(c)); }

int RunTrace(const ParsedFlags& flags) {
  const std::string& arg = flags.args[0];
  TraceId id;
  if (arg.size() == 55 && arg[2] == '-') {
    auto tp = ParseTraceparent(arg);
    if (!tp.ok()) return Fail("trace", absl::InvalidArgumentError(tp.status().message()));
    id = tp->trace_id;
  } else {
    auto parsed = TraceId::FromShortHex(arg);
    if (!parsed.ok() || !parsed->IsValid()) {
      return Fail("trace", absl::InvalidArgumentError(absl::StrFormat(
                               "'%s' is neither a trace id (1-32 hex digits) nor a traceparent "
                               "(00-<32 hex>-<16 hex>-<2 hex>)",
                               arg)));
    }
    id = *parsed;
  }
  auto store = OpenStoreForReading(flags);
  if (!store.ok()) return Fail("trace", store.status());
  auto trace = (*store)->GetTrace(id);
  if (!trace.ok()) return Fail("trace", trace.status());
  if (flags.GetBool("json")) {
    std::string out;
    WriteOtlpJson(trace->spans, &out);
    std::printf("%s\n", out.c_str());
    return kExitOk;
  }
  auto width = flags.GetInt("width", 40, 1000);
  if (!width.ok()) return Fail("trace", width.status());
  WaterfallOptions o;
  o.width = static_cast<int>(std::clamp<int64_t>(*width, 60, 400));
  o.color = StdoutIsTerminal() && !flags.GetBool("no-color");
  std::fputs(RenderWaterfall(*trace, o).c_str(), stdout);
  return kExitOk;
}

SearchOptions SearchOptionsFrom(const SpanQuery& q, size_t limit) {
  SearchOptions o;
  o.start_min = q.start_min;
  o.start_max = q.start_max;
  o.deadline = q.deadline;
  o.limit = limit;
  return o;
}

int RunQuery(const ParsedFlags& flags) {
  std::optional<TraceQuery> traceql;
  auto q = QueryFromFlags(flags, &traceql);
  if (!q.ok()) return Fail("query", q.status());
  auto limit = flags.GetInt("limit", 0, std::numeric_limits<int32_t>::max());
  if (!limit.ok()) return Fail("query", limit.status());
  q->limit = static_cast<size_t>(*limit);
  auto store = OpenStoreForReading(flags);
  if (!store.ok()) return Fail("query", store.status());
  const bool json = flags.GetBool("json");
  std::vector<Span> spans;
  absl::Status s;
  if (traceql.has_value()) {
    // The spans of every spanset of the matching traces, most recent traces first.
    auto found = (*store)->Search(*traceql, SearchOptionsFrom(*q, 0));
    s = found.status();
    for (size_t t = 0; s.ok() && t < found->size(); ++t) {
      for (const Spanset& set : (*found)[t].spansets) {
        for (const Span& span : set.spans) {
          if (q->limit == 0 || spans.size() < q->limit) spans.push_back(span);
        }
      }
    }
  } else {
    s = (*store)->Scan(*q, [&](const Span& span) {
      spans.push_back(span);
      return true;
    });
  }
  if (!s.ok()) return Fail("query", s);
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.start_time_unix_nano > b.start_time_unix_nano;
  });
  if (json) {
    std::string out;
    WriteOtlpJson(spans, &out);
    std::printf("%s\n", out.c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Span& sp : spans) {
    rows.push_back({sp.trace_id.ToHex(), sp.span_id.ToHex(), sp.service_name, sp.name,
                    FormatTime(sp.start_time_unix_nano), FormatDuration(sp.duration_nanos()),
                    StatusName(sp.status_code)});
  }
  std::fputs(FormatTable({"TRACE ID", "SPAN ID", "SERVICE", "NAME", "START", "DURATION", "STATUS"},
                         rows)
                 .c_str(),
             stdout);
  std::fprintf(stderr, "%zu spans\n", spans.size());
  return kExitOk;
}

// FindTraces' answer for a TraceQL query: each trace's summary, matched_spans counting the spans
// of all its spansets.
absl::StatusOr<std::vector<TraceSummary>> SearchSummaries(Store& store, const TraceQuery& query,
                                                          const SearchOptions& options) {
  auto found = store.Search(query, options);
  if (!found.ok()) return found.status();
  std::vector<TraceSummary> out;
  for (TraceSearchResult& r : *found) out.push_back(std::move(r.summary));
  return out;
}

int RunSearch(const ParsedFlags& flags) {
  std::optional<TraceQuery> traceql;
  auto q = QueryFromFlags(flags, &traceql);
  if (!q.ok()) return Fail("search", q.status());
  auto limit = flags.GetInt("limit", 0, std::numeric_limits<int32_t>::max());
  if (!limit.ok()) return Fail("search", limit.status());
  auto store = OpenStoreForReading(flags);
  if (!store.ok()) return Fail("search", store.status());
  auto found = traceql.has_value()
                   ? SearchSummaries(**store, *traceql, SearchOptionsFrom(*q, *limit))
                   : (*store)->FindTraces(*q, static_cast<size_t>(*limit));
  if (!found.ok()) return Fail("search", found.status());
  if (flags.GetBool("json")) {
    std::string out = "{\"traces\":[";
    for (size_t i = 0; i < found->size(); ++i) {
      const TraceSummary& t = (*found)[i];
      absl::StrAppendFormat(&out, "%s{\"traceID\":\"%s\",\"rootServiceName\":", i ? "," : "",
                            t.trace_id.ToHex());
      AppendJsonString(t.root_service, &out);
      out += ",\"rootTraceName\":";
      AppendJsonString(t.root_name, &out);
      absl::StrAppendFormat(&out,
                            ",\"startTimeUnixNano\":\"%d\",\"durationMs\":%d,\"spanCount\":%d,"
                            "\"errorCount\":%d,\"matchedSpans\":%d}",
                            t.start_time_unix_nano, t.duration_nanos / 1'000'000, t.span_count,
                            t.error_count, t.matched_spans);
    }
    out += "]}";
    std::printf("%s\n", out.c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const TraceSummary& t : *found) {
    rows.push_back({t.trace_id.ToHex(), t.root_service.empty() ? "<root not stored>" : t.root_service,
                    t.root_name, FormatTime(t.start_time_unix_nano),
                    FormatDuration(t.duration_nanos), absl::StrCat(t.span_count),
                    absl::StrCat(t.error_count)});
  }
  std::fputs(FormatTable({"TRACE ID", "ROOT SERVICE", "ROOT NAME", "START", "DURATION", "SPANS",
                          "ERRORS"},
                         rows)
                 .c_str(),
             stdout);
  std::fprintf(stderr, "%zu traces\n", found->size());
  return kExitOk;
}

int RunServices(const ParsedFlags& flags) {
  auto store = OpenStoreForReading(flags);
  if (!store.ok()) return Fail("services", store.status());
  auto services = (*store)->Services();
  if (!services.ok()) return Fail("services", services.status());
  for (const std::string& s : *services) {
    std::printf("%s\n", s.c_str());
    if (!flags.GetBool("operations")) continue;
    auto ops = (*store)->Operations(s);
    if (!ops.ok()) return Fail("services", ops.status());
    for (const std::string& op : *ops) std::printf("  %s\n", op.c_str());
  }
  return kExitOk;
}

// The Zstd vs LZ4 split per column and per kind of data (ids, times, attributes, the rest),
// in bytes per span: which codec each column pays for, and which bytes are the next target.
void PrintCodecSplit(const std::vector<ColumnCodecBytes>& columns, uint64_t block_spans) {
  auto kind = [](const std::string& c) -> std::string {
    if (c == "span_id" || c == "parent_id" || c == "parent") return "ids";
    if (c == "start.class" || c == "end.class" || c == "time.bits") return "times";
    if (c == "attr.values" || c == "attr.strings") return "attributes";
    return "operations, status, events, links, misc";
  };
  ColumnCodecBytes total{"total"};
  std::vector<ColumnCodecBytes> kinds;
  for (const ColumnCodecBytes& c : columns) {
    total.raw += c.raw;
    total.lz4 += c.lz4;
    total.zstd += c.zstd;
    const std::string k = kind(c.column);
    auto it = std::find_if(kinds.begin(), kinds.end(),
                           [&](const ColumnCodecBytes& x) { return x.column == k; });
    if (it == kinds.end()) it = kinds.insert(kinds.end(), ColumnCodecBytes{k});
    it->raw += c.raw;
    it->lz4 += c.lz4;
    it->zstd += c.zstd;
  }
  total.rows = columns.empty() ? 0 : columns[0].rows;
  // Per span of the row groups measured.
  const double spans = static_cast<double>(total.rows);
  auto per = [&](uint64_t b) { return absl::StrFormat("%.2f", spans > 0 ? b / spans : 0.0); };
  std::vector<std::vector<std::string>> rows;
  auto row = [&](const ColumnCodecBytes& c) {
    rows.push_back({c.column, per(c.raw), per(c.lz4), per(c.zstd),
                    absl::StrFormat("%.2f", c.lz4 ? static_cast<double>(c.zstd) / c.lz4 : 0.0)});
  };
  for (const ColumnCodecBytes& c : columns) row(c);
  for (const ColumnCodecBytes& c : kinds) row(c);
  row(total);
  std::printf("\ncolumns recompressed with each codec, bytes per span (%llu spans%s):\n",
              static_cast<unsigned long long>(total.rows),
              total.rows < block_spans ? ", a sample of the row groups" : "");
  std::fputs(FormatTable({"COLUMN", "RAW", "LZ4", "ZSTD", "ZSTD/LZ4"}, rows).c_str(), stdout);
}

int RunStats(const ParsedFlags& flags) {
  auto store = OpenStoreForReading(flags);
  if (!store.ok()) return Fail("stats", store.status());
  // Per attribute key: distinct values (counted up to a cap) and bytes of key + value.
  constexpr size_t kCardinalityCap = 100000;
  struct KeyStats {
    absl::flat_hash_set<std::string> values;
    bool capped = false;
    uint64_t bytes = 0;
    uint64_t spans = 0;
  };
  absl::flat_hash_map<std::string, KeyStats> keys;
  absl::flat_hash_set<TraceId> traces;
  uint64_t spans = 0;
  absl::Status s = (*store)->Scan(SpanQuery(), [&](const Span& span) {
    ++spans;
    traces.insert(span.trace_id);
    for (const KeyValue& kv : span.attributes) {
      KeyStats& k = keys[kv.key];
      const std::string v = kv.value.ToString();
      k.bytes += kv.key.size() + v.size();
      ++k.spans;
      if (!k.capped) {
        k.values.insert(v);
        k.capped = k.values.size() >= kCardinalityCap;
      }
    }
    return true;
  });
  if (!s.ok()) return Fail("stats", s);
  const StoreStats st = (*store)->Stats();
  std::printf("spans            %llu\n", static_cast<unsigned long long>(spans));
  std::printf("traces           %zu\n", traces.size());
  std::printf("services         %zu\n", (*store)->Services()->size());
  std::printf("bytes on disk    %s (%llu)\n", FormatBytes(st.disk_bytes).c_str(),
              static_cast<unsigned long long>(st.disk_bytes));
  std::printf("bytes per span   %.1f\n", spans ? static_cast<double>(st.disk_bytes) / spans : 0.0);
  std::printf("wal segments     %llu (%s)\n", static_cast<unsigned long long>(st.wal_segments),
              FormatBytes(st.wal_bytes).c_str());
  std::printf("blocks           %llu (%s)\n", static_cast<unsigned long long>(st.blocks),
              FormatBytes(st.block_bytes).c_str());
  std::printf("memtable         %llu spans, %s\n",
              static_cast<unsigned long long>(st.memtable_spans),
              FormatBytes(st.memtable_bytes).c_str());
  if (st.compaction_failures > 0) {
    std::printf("compaction       FAILING (%llu steps in a row): %s\n",
                static_cast<unsigned long long>(st.compaction_failures),
                st.compaction_error.c_str());
  }
  if (!st.column_bytes.empty()) {
    // In file order (predicate columns first), per span of the blocks, and each one's share:
    // what each part of a span costs once compacted.
    uint64_t total = 0;
    for (const auto& [column, bytes] : st.column_bytes) total += bytes;
    std::vector<std::vector<std::string>> rows;
    auto row = [&](const std::string& name, uint64_t bytes) {
      rows.push_back(
          {name, FormatBytes(bytes),
           absl::StrFormat("%.1f",
                           st.block_spans ? static_cast<double>(bytes) / st.block_spans : 0.0),
           absl::StrFormat("%.1f%%", total ? 100.0 * bytes / total : 0.0)});
    };
    for (const std::string& column : BlockColumnNames()) {
      auto it = st.column_bytes.find(column);
      if (it != st.column_bytes.end()) row(it->first, it->second);
    }
    row("total", total);
    std::printf("\nbytes per column (%llu spans in blocks):\n",
                static_cast<unsigned long long>(st.block_spans));
    std::fputs(FormatTable({"COLUMN", "BYTES", "PER SPAN", "SHARE"}, rows).c_str(), stdout);
  }
  if (flags.GetBool("codecs") && st.blocks > 0) {
    auto sample = flags.GetInt("sample-groups", 0, 1'000'000'000);
    if (!sample.ok()) return Fail("stats", sample.status());
    auto measured = (*store)->MeasureColumnCodecs(static_cast<uint64_t>(*sample));
    if (!measured.ok()) return Fail("stats", measured.status());
    PrintCodecSplit(*measured, st.block_spans);
  }
  std::vector<std::pair<std::string, const KeyStats*>> sorted;
  for (const auto& [k, v] : keys) sorted.push_back({k, &v});
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second->values.size() != b.second->values.size()
               ? a.second->values.size() > b.second->values.size()
               : a.first < b.first;
  });
  auto top = flags.GetInt("top", 0, 1'000'000);
  if (!top.ok()) return Fail("stats", top.status());
  if (sorted.size() > static_cast<size_t>(*top)) sorted.resize(*top);
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, k] : sorted) {
    rows.push_back({key, absl::StrCat(k->values.size(), k->capped ? "+" : ""),
                    FormatBytes(k->bytes), absl::StrCat(k->spans)});
  }
  std::printf("\ntop span attribute keys by cardinality (high cardinality bloats storage):\n");
  std::fputs(FormatTable({"KEY", "DISTINCT VALUES", "BYTES (RAW)", "SPANS"}, rows).c_str(), stdout);
  return kExitOk;
}

}  // namespace

std::vector<Command> ReadCommands() {
  std::vector<FlagSpec> query_flags = {DbFlag(), SalvageFlag()};
  for (FlagSpec& f : WindowFlags()) query_flags.push_back(f);
  query_flags.push_back({"timeout", "D", "",
                         "give up after D (e.g. 30s) with exit code 1 and no results "
                         "(default: no limit)"});
  std::vector<FlagSpec> search_flags = query_flags;
  query_flags.push_back({"limit", "N", "20", "at most N spans (0: all)"});
  query_flags.push_back({"json", "", "", "print OTLP JSON instead of a table"});
  search_flags.push_back({"limit", "N", "20", "at most N traces (0: all)"});
  search_flags.push_back({"json", "", "", "print JSON instead of a table"});
  const std::string filter_help =
      "FILTER is a TraceQL query (docs/traceql.md): a span filter, e.g.\n"
      "  '{ resource.service.name = \"checkout\" && duration > 2s && status = error }'\n"
      "  '{ span.http.host =~ \".*staging.*\" || .http.response.status_code >= 500 }'\n"
      "or spansets combined and piped, e.g.\n"
      "  '{ resource.service.name = \"api\" } >> { status = error }'   (errors below api)\n"
      "  '{ name = \"GET\" } && { span.db.system = \"postgresql\" }'\n"
      "  '{ status = error } | by(resource.service.name) | count() > 1'\n"
      "Regular expressions (=~, !~) are fully anchored: =~ \"staging\" matches only \"staging\".\n"
      "query prints the matching spans (of every spanset), search the traces.\n"
      "Without FILTER every span matches; without a time window the whole store is searched.";
  return {
      {{"trace",
        "trace --db DIR <trace-id|traceparent> [--json]",
        "show one trace as a waterfall (critical path and largest gaps marked)",
        "The argument is a trace id (hex; leading zeros may be dropped) or a W3C traceparent.",
        {DbFlag(),
         {"json", "", "", "print the trace as OTLP JSON"},
         {"width", "N", "120", "width of the waterfall in characters"},
         {"no-color", "", "", "no ANSI colors even on a terminal"}},
        1,
        1},
       RunTrace},
      {{"query", "query --db DIR [FILTER] [--start T] [--end T] [--since D] [--limit N] [--json]",
        "find spans matching a TraceQL query (the spans of its span sets)", filter_help,
        query_flags, 0, 1},
       RunQuery},
      {{"search", "search --db DIR [FILTER] [--start T] [--end T] [--since D] [--limit N]",
        "find traces matching a TraceQL query (filters, structure, pipelines), most recent first",
        filter_help, search_flags, 0, 1},
       RunSearch},
      {{"services",
        "services --db DIR [--operations]",
        "list the services (and their operations)",
        "",
        {DbFlag(), {"operations", "", "", "also list each service's span names"}},
        0,
        0},
       RunServices},
      {{"stats",
        "stats --db DIR [--top N] [--codecs [--sample-groups N]]",
        "spans, traces, bytes on disk and the attribute keys that cost the most",
        "--codecs recompresses the blocks' columns with LZ4 and with Zstd (with each block's\n"
        "column dictionaries, as stored) and prints bytes per span of each, per column and per\n"
        "kind of data (ids, times, attributes, the rest).",
        {DbFlag(),
         {"top", "N", "15", "how many attribute keys to list"},
         {"codecs", "", "", "also measure every column under LZ4 and Zstd"},
         {"sample-groups", "N", "0", "with --codecs: measure about N row groups (0: all)"}},
        0,
        0},
       RunStats},
      VerifyCommand(),
      RepairCommand(),
  };
}

}  // namespace spanstore::spanctl
