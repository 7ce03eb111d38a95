#include "benchmarks/compare/runner.h"

#include <sys/resource.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "benchmarks/compare/engine.h"
#include "spanstore/otlp_proto.h"

namespace spanstore::compare {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double ProcessCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// Bytes of every file under `dir` (apparent sizes).
uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uint64_t size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

std::string Hex64(uint64_t v) { return absl::StrCat(absl::Hex(v, absl::kZeroPad16)); }

// Everything a summary says, for comparing engines.
void AppendSummary(const TraceSummary& s, std::string* out) {
  absl::StrAppend(out, s.trace_id.ToHex(), " ", s.start_time_unix_nano, " ", s.duration_nanos,
                  " ", s.span_count, " ", s.error_count, " ", s.matched_spans, " ",
                  s.root_service, "/", s.root_name, " ", absl::StrJoin(s.services, ","), "\n");
}

void Progress(const std::string& name, const std::string& what) {
  fprintf(stderr, "[%s] %s\n", name.c_str(), what.c_str());
}

absl::Status Run(const std::string& name, const RunConfig& config, const std::string& dir,
                 Results* r) {
  std::unique_ptr<Engine> engine = NewEngine(name);
  if (engine == nullptr) return absl::NotFoundError("engine not built: " + name);
  if (absl::Status s = engine->Open(dir); !s.ok()) return s;

  // Ingest: only the engine's own calls are timed; generating the spans is not.
  Progress(name, absl::StrCat("ingest ", config.workload.spans, " spans"));
  std::vector<TraceId> trace_ids;
  double write_seconds = 0, generate_cpu = 0;
  uint64_t written = 0;
  const double cpu0 = ProcessCpuSeconds();
  absl::Status ingest = ForEachBatch(config.workload, config.batch, &trace_ids, &generate_cpu,
                                     [&](absl::Span<const Span> batch) {
                                       const double t0 = Now();
                                       absl::Status s = engine->Write(batch);
                                       write_seconds += Now() - t0;
                                       written += batch.size();
                                       return s;
                                     });
  if (!ingest.ok()) return ingest;
  // spans/s and bytes/span divide by the planned count, so it must be what was generated.
  if (written != config.workload.spans) {
    return absl::InternalError(
        absl::StrCat("generated ", written, " spans, planned ", config.workload.spans));
  }
  SetNumber(r, "ingest_seconds", write_seconds);
  SetNumber(r, "ingest_spans_per_s", static_cast<double>(config.workload.spans) / write_seconds);
  SetNumber(r, "ingest_cpu_seconds", ProcessCpuSeconds() - cpu0 - generate_cpu);
  SetNumber(r, "disk_after_ingest", static_cast<double>(DirBytes(dir)));

  Progress(name, "compact");
  double t0 = Now();
  if (absl::Status s = engine->Compact(); !s.ok()) return s;
  SetNumber(r, "compact_seconds", Now() - t0);
  if (absl::Status s = engine->Close(); !s.ok()) return s;
  SetNumber(r, "disk_bytes", static_cast<double>(DirBytes(dir)));

  t0 = Now();
  if (absl::Status s = engine->Open(dir); !s.ok()) return s;
  SetNumber(r, "open_seconds", Now() - t0);

  Progress(name, absl::StrCat("GetTrace x", config.lookups));
  const std::vector<TraceId> lookups = PickLookups(trace_ids, config.lookups);
  std::vector<double> micros;
  micros.reserve(lookups.size());
  XXH3_state_t* digest = XXH3_createState();
  XXH3_64bits_reset(digest);
  std::vector<Span> spans;
  std::string encoded;
  uint64_t returned = 0;
  for (const TraceId& id : lookups) {
    t0 = Now();
    absl::Status s = engine->GetTrace(id, &spans);
    micros.push_back((Now() - t0) * 1e6);
    if (!s.ok()) {
      XXH3_freeState(digest);
      return s;
    }
    returned += spans.size();
    encoded.clear();
    EncodeOtlpTraces(spans, &encoded);
    XXH3_64bits_update(digest, encoded.data(), encoded.size());
  }
  SetNumber(r, "get_median_us", Percentile(micros, 0.5));
  SetNumber(r, "get_p99_us", Percentile(micros, 0.99));
  SetNumber(r, "get_spans", static_cast<double>(returned));
  (*r)["get_digest"] = Hex64(XXH3_64bits_digest(digest));
  XXH3_freeState(digest);

  Progress(name, "FindTraces");
  auto queries = SearchQueries(config.workload);
  if (!queries.ok()) return queries.status();
  std::vector<double> millis;
  std::string summaries;
  uint64_t found = 0;
  for (int round = 0; round < kSearchRounds; ++round) {
    for (const SpanQuery& q : *queries) {
      t0 = Now();
      auto result = engine->FindTraces(q, kSearchLimit);
      millis.push_back((Now() - t0) * 1e3);
      if (!result.ok()) return result.status();
      if (round > 0) continue;
      found += result->size();
      for (const TraceSummary& s : *result) AppendSummary(s, &summaries);
      summaries += "--\n";
    }
  }
  SetNumber(r, "search_median_ms", Percentile(millis, 0.5));
  SetNumber(r, "search_max_ms", *std::max_element(millis.begin(), millis.end()));
  SetNumber(r, "search_traces", static_cast<double>(found));
  (*r)["search_digest"] = Hex64(XXH3_64bits(summaries.data(), summaries.size()));

  // Attribute equality: the needle over the whole store, then the common value per window.
  // One warm-up round first, so the median and max are warm (and a peer's lazily loaded
  // service list is not counted in them); it is reported on its own as the first run. Then
  // the timed rounds.
  auto needle = NeedleQuery();
  if (!needle.ok()) return needle.status();
  auto common = CommonValueQueries(config.workload);
  if (!common.ok()) return common.status();
  struct Question {
    const char* key;
    std::vector<SpanQuery> queries;
    int rounds;
  };
  const Question attribute_questions[] = {{"attr_needle", {*needle}, kNeedleRounds},
                                          {"attr_common", *common, kCommonRounds}};
  for (const auto& [key, questions, rounds] : attribute_questions) {
    Progress(name, absl::StrCat("FindTraces ", key));
    millis.clear();
    summaries.clear();
    found = 0;
    double first_ms = 0;
    for (int round = 0; round <= rounds; ++round) {
      for (const SpanQuery& q : questions) {
        t0 = Now();
        auto result = engine->FindTraces(q, kAttributeLimit);
        const double ms = (Now() - t0) * 1e3;
        if (round > 0) millis.push_back(ms);
        if (round == 0) first_ms += ms;
        if (!result.ok()) return result.status();
        if (round > 0) continue;
        found += result->size();
        for (const TraceSummary& s : *result) AppendSummary(s, &summaries);
        summaries += "--\n";
      }
    }
    const std::string k(key);
    SetNumber(r, k + "_median_ms", Percentile(millis, 0.5));
    SetNumber(r, k + "_max_ms", *std::max_element(millis.begin(), millis.end()));
    SetNumber(r, k + "_first_ms", first_ms / static_cast<double>(questions.size()));
    SetNumber(r, k + "_traces", static_cast<double>(found));
    (*r)[k + "_digest"] = Hex64(XXH3_64bits(summaries.data(), summaries.size()));
  }

  Progress(name, "scan");
  auto scan = ScanQuery();
  if (!scan.ok()) return scan.status();
  std::vector<std::pair<TraceId, SpanId>> matches;
  t0 = Now();
  absl::Status scanned = engine->Scan(
      *scan, [&](const Span& span) { matches.emplace_back(span.trace_id, span.span_id); });
  const double scan_seconds = Now() - t0;
  if (!scanned.ok()) return scanned;
  SetNumber(r, "scan_seconds", scan_seconds);
  SetNumber(r, "scan_spans_per_s", static_cast<double>(config.workload.spans) / scan_seconds);
  SetNumber(r, "scan_matches", static_cast<double>(matches.size()));
  std::sort(matches.begin(), matches.end());
  (*r)["scan_digest"] = Hex64(XXH3_64bits(matches.data(), matches.size() * sizeof(matches[0])));

  return engine->Close();
}

}  // namespace

void SetNumber(Results* results, const std::string& key, double value) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.17g", value);
  (*results)[key] = buf;
}

double GetNumber(const Results& results, const std::string& key) {
  auto it = results.find(key);
  double v;
  if (it == results.end() || !absl::SimpleAtod(it->second, &v)) return NAN;
  return v;
}

std::string SerializeResults(const Results& results) {
  std::string out;
  for (const auto& [key, value] : results) {
    std::string one_line = value;
    std::replace(one_line.begin(), one_line.end(), '\n', ' ');
    absl::StrAppend(&out, key, " ", one_line, "\n");
  }
  return out;
}

Results ParseResults(const std::string& text) {
  Results out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const size_t space = line.find(' ');
    if (space == absl::string_view::npos) continue;
    out[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return out;
}

Results RunEngine(const std::string& name, const RunConfig& config, const std::string& dir) {
  Results r;
  SetNumber(&r, "spans", static_cast<double>(config.workload.spans));
  if (absl::Status s = Run(name, config, dir, &r); !s.ok()) r["error"] = s.ToString();
  return r;
}

}  // namespace spanstore::compare
