// Issue 3's storage targets, measured through the public API on checkout-generator spans:
// on-disk bytes per span after compaction (and against OTLP JSON), compaction throughput,
// GetTrace latency percentiles, and scan speed with and without predicates.
//
//   build/benchmarks/store_bench --spans 10000000 --codec both --out store_bench.md
//
// A program with its own main rather than a Google Benchmark: it needs latency percentiles and
// builds its store once (generating 10M spans takes minutes). The method:
//   1. A pilot of 2,000 traces measures spans per trace and WAL bytes per span (to size the run
//      and choose Options::segment_bytes so the store has >= 128 segments, hence >= 100 blocks
//      if compaction writes a block per segment) and the span durations (to choose a duration
//      threshold that only ~0.1% of spans reach).
//   2. The spans are generated once and appended in batches of whole traces (~1000 spans,
//      SyncPolicy::kNone, no background compaction); each batch is also written as one OTLP JSON
//      ExportTraceServiceRequest, whose bytes are counted. The expected answer of every query
//      is computed here with SpanMatches, the reference semantics.
//   3. The store is closed (so reopening leaves every span in a sealed WAL segment), copied once
//      per codec, reopened with that codec and background_compaction=false, and CompactAll is
//      timed (wall and process CPU time; the slower of the two counts, so "one core" holds).
//   4. On the compacted store: bytes on disk (the benchmark walks the directory itself), full
//      scans, a one-service 1%-window scan, a duration-predicate scan (each checked against the
//      expected count, median of --repeat runs), then random GetTrace latencies after a warm-up.
// Wrong answers from the store make the program exit 1; missed targets do not.

#include <sys/vfs.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "benchmarks/bench_util.h"
#include "spanstore/formats.h"
#include "spanstore/spanstore.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;
using bench::CpuSeconds;
using bench::ParseCount;
using bench::Progress;
using bench::Seconds;

// Issue 3's targets.
constexpr double kMaxBytesPerSpan = 25;
constexpr double kMinJsonRatio = 20;
constexpr double kMinCompactSpansPerSecond = 300'000;
constexpr double kMaxGetTraceMedianMicros = 100;
constexpr double kMaxGetTraceP99Micros = 1000;
constexpr uint64_t kMinBlocks = 100;
constexpr double kMinServiceScanSpeedup = 10;
constexpr double kMinDurationScanSpansPerSecond = 20'000'000;

constexpr size_t kBatchSpans = 1000;     // spans per Append and per OTLP JSON request
constexpr uint64_t kPilotTraces = 2000;  // traces in the sizing pilot
constexpr uint64_t kTargetSegments = 128;
constexpr double kSlowQuantile = 0.999;  // duration threshold: ~0.1% of spans match
constexpr double kWindowFraction = 0.01;

struct Flags {
  uint64_t spans = 1'000'000;
  std::vector<Codec> codecs = {Codec::kLz4, Codec::kZstd};
  std::string dir;  // where the working directory is created; empty: $TMPDIR or /tmp
  std::string out;
  uint64_t seed = 1;
  std::string service = "checkout";
  uint64_t lookups = 10'000;
  int repeat = 3;
  uint64_t segment_bytes = 0;  // 0: chosen from the pilot
  bool keep = false;
};

constexpr char kUsage[] = R"(usage: store_bench [flags]
  --spans N          spans to generate (default 1000000; 10M, 1e7 and 10,000,000 work too)
  --codec C          lz4 | zstd | both (default both)
  --dir PATH         create the working store under PATH (default $TMPDIR or /tmp, unless that
                     is a tmpfs, then the current directory); removed afterwards
  --out FILE         also write the markdown report to FILE
  --seed S           generator seed (default 1)
  --service NAME     service of the 1%-window scan (default checkout)
  --lookups N        timed GetTrace calls (default 10000)
  --repeat N         runs of each scan; the median counts (default 3)
  --segment-bytes N  Options::segment_bytes (default: ~1/128 of the WAL, from a pilot)
  --keep             keep the working directory
)";

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg == "--keep") {
      f.keep = true;
      continue;
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(arg + ": missing value or unknown flag");
    const std::string value = argv[++i];
    uint64_t n = 0;
    const bool is_count = ParseCount(value, &n);
    if (arg == "--spans" && is_count && n > 0) {
      f.spans = n;
    } else if (arg == "--codec" && (value == "lz4" || value == "zstd" || value == "both")) {
      f.codecs.clear();
      if (value != "zstd") f.codecs.push_back(Codec::kLz4);
      if (value != "lz4") f.codecs.push_back(Codec::kZstd);
    } else if (arg == "--dir") {
      f.dir = value;
    } else if (arg == "--out") {
      f.out = value;
    } else if (arg == "--seed" && is_count) {
      f.seed = n;
    } else if (arg == "--service" && !value.empty()) {
      f.service = value;
    } else if (arg == "--lookups" && is_count && n > 0) {
      f.lookups = n;
    } else if (arg == "--repeat" && is_count && n > 0 && n < 1000) {
      f.repeat = static_cast<int>(n);
    } else if (arg == "--segment-bytes" && is_count && n >= 4096) {
      f.segment_bytes = n;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad flag or value: ", arg, " ", value));
    }
  }
  return f;
}

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::kNone:
      return "none";
    case Codec::kLz4:
      return "LZ4";
    case Codec::kZstd:
      return "Zstd";
  }
  return "?";
}

std::string Commas(uint64_t n) {
  std::string digits = absl::StrCat(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Sum of the sizes of every regular file under `dir`: what the store occupies, measured
// without trusting the store's own accounting.
uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

// A fresh directory for the run, on a real disk: a store in tmpfs would measure memory, not
// the page cache over a file system. Removed when the object goes away unless kept.
class WorkDir {
 public:
  static absl::StatusOr<std::unique_ptr<WorkDir>> Create(std::string parent, bool keep) {
    if (parent.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
      struct statfs st;
      constexpr long kTmpfsMagic = 0x01021994;
      if (statfs(parent.c_str(), &st) == 0 && st.f_type == kTmpfsMagic) parent = ".";
    }
    std::string templ = parent + "/store_bench.XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat(templ, ": mkdtemp: ", std::strerror(errno)));
    }
    return std::unique_ptr<WorkDir>(new WorkDir(fs::absolute(templ).string(), keep));
  }
  ~WorkDir() {
    std::error_code ec;
    if (!keep_) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  WorkDir(std::string path, bool keep) : path_(std::move(path)), keep_(keep) {}
  std::string path_;
  bool keep_;
};

// What the pilot learns about the generator's spans.
struct Pilot {
  double spans_per_trace = 0;
  double wal_bytes_per_span = 0;
  uint64_t slow_threshold_nanos = 0;
};

absl::StatusOr<Pilot> RunPilot(const Flags& flags, const std::string& dir) {
  Options options;
  options.sync = SyncPolicy::kNone;
  options.background_compaction = false;
  auto store = Store::Open(options, dir);
  if (!store.ok()) return store.status();
  GeneratorOptions g;
  g.seed = flags.seed;
  g.traces = kPilotTraces;
  CheckoutGenerator gen(g);
  std::vector<Span> trace, batch;
  std::vector<uint64_t> durations;
  // Batches as the real run appends them: WAL bytes per span depend on the batch size, since a
  // batch stores each distinct resource and scope once.
  while (gen.NextTrace(&trace)) {
    for (Span& s : trace) {
      durations.push_back(s.duration_nanos());
      batch.push_back(std::move(s));
    }
    if (batch.size() < kBatchSpans) continue;
    absl::Status s = (*store)->Append(batch);
    if (!s.ok()) return s;
    batch.clear();
  }
  absl::Status s = (*store)->Append(batch);
  if (s.ok()) s = (*store)->Flush();
  if (!s.ok()) return s;
  const StoreStats stats = (*store)->Stats();
  s = (*store)->Close();
  if (!s.ok()) return s;
  Pilot p;
  p.spans_per_trace = static_cast<double>(durations.size()) / kPilotTraces;
  p.wal_bytes_per_span = static_cast<double>(stats.wal_bytes) / durations.size();
  std::sort(durations.begin(), durations.end());
  p.slow_threshold_nanos = durations[static_cast<size_t>(kSlowQuantile * durations.size())];
  return p;
}

// The generated spans as the queries need them, and the expected answers.
struct Workload {
  uint64_t spans = 0;
  std::vector<TraceId> trace_ids;
  std::vector<uint32_t> trace_spans;
  uint64_t json_bytes = 0;
  uint64_t wal_bytes = 0;
  uint64_t segment_bytes = 0;
  double generate_seconds = 0;  // the whole loop: generation, Append and JSON
  double append_seconds = 0;
  SpanQuery service_window;  // one service over a 1% window
  uint64_t service_window_matches = 0;
  SpanQuery slow;  // min_duration_nanos only
  uint64_t slow_matches = 0;
};

absl::StatusOr<Workload> Ingest(const Flags& flags, const Pilot& pilot, const std::string& dir) {
  Workload w;
  GeneratorOptions g;
  g.seed = flags.seed;
  g.traces = std::max<uint64_t>(1, std::llround(flags.spans / pilot.spans_per_trace));
  const uint64_t window = static_cast<uint64_t>(g.duration_nanos * kWindowFraction);
  w.service_window.services = {flags.service};
  w.service_window.start_min = g.start_time_unix_nano + g.duration_nanos / 2;
  w.service_window.start_max = w.service_window.start_min + window - 1;  // inclusive
  w.slow.min_duration_nanos = pilot.slow_threshold_nanos;
  w.segment_bytes = flags.segment_bytes;
  if (w.segment_bytes == 0) {
    const double wal = pilot.wal_bytes_per_span * flags.spans;
    w.segment_bytes = std::max<uint64_t>(64 << 10, static_cast<uint64_t>(wal / kTargetSegments));
  }

  Options options;
  options.sync = SyncPolicy::kNone;
  options.background_compaction = false;  // every span stays in the WAL for CompactAll to time
  options.segment_bytes = w.segment_bytes;
  // Nothing compacts while ingesting, so a memory bound could only stall the run.
  options.max_memtable_bytes = UINT64_MAX / 2;
  auto store = Store::Open(options, dir);
  if (!store.ok()) return store.status();

  CheckoutGenerator gen(g);
  std::vector<Span> trace, batch;
  std::string json;
  const auto start = std::chrono::steady_clock::now();
  uint64_t next_progress = 1'000'000;
  auto flush = [&]() -> absl::Status {
    const auto t0 = std::chrono::steady_clock::now();
    absl::Status s = (*store)->Append(batch);
    w.append_seconds += Seconds(std::chrono::steady_clock::now() - t0);
    if (!s.ok()) return s;
    json.clear();
    WriteOtlpJson(batch, &json);
    w.json_bytes += json.size();
    batch.clear();
    return absl::OkStatus();
  };
  while (gen.NextTrace(&trace)) {
    w.trace_ids.push_back(trace.front().trace_id);
    w.trace_spans.push_back(static_cast<uint32_t>(trace.size()));
    for (Span& s : trace) {
      w.service_window_matches += SpanMatches(w.service_window, s);
      w.slow_matches += SpanMatches(w.slow, s);
      batch.push_back(std::move(s));
    }
    w.spans += trace.size();
    if (batch.size() >= kBatchSpans) {
      absl::Status s = flush();
      if (!s.ok()) return s;
    }
    if (w.spans >= next_progress) {
      Progress(absl::StrFormat("ingest: %s spans", Commas(w.spans)));
      next_progress += 1'000'000;
    }
  }
  if (!batch.empty()) {
    absl::Status s = flush();
    if (!s.ok()) return s;
  }
  w.generate_seconds = Seconds(std::chrono::steady_clock::now() - start);
  w.wal_bytes = (*store)->Stats().wal_bytes;
  absl::Status s = (*store)->Close();
  if (!s.ok()) return s;
  if (w.service_window_matches == 0 || w.slow_matches == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "no span matches the service scan (%d) or the duration scan (%d): pick another "
        "--service or more --spans",
        w.service_window_matches, w.slow_matches));
  }
  return w;
}

// Runs `query` `repeat` times, checking the count each time; the median wall time.
absl::StatusOr<double> TimeScan(Store* store, const SpanQuery& query, uint64_t expected, int repeat,
                                const std::string& what) {
  std::vector<double> times;
  for (int i = 0; i < repeat; ++i) {
    uint64_t count = 0;
    const auto t0 = std::chrono::steady_clock::now();
    absl::Status s = store->Scan(query, [&](const Span&) {
      ++count;
      return true;
    });
    times.push_back(Seconds(std::chrono::steady_clock::now() - t0));
    if (!s.ok()) return s;
    if (count != expected) {
      return absl::InternalError(
          absl::StrFormat("%s: Scan returned %d spans, expected %d", what, count, expected));
    }
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

struct CodecResult {
  Codec codec = Codec::kZstd;
  double open_seconds = 0;
  StoreStats before, after;
  double compact_wall = 0, compact_cpu = 0;
  uint64_t compacted = 0;
  uint64_t dir_bytes = 0;
  double full_scan = 0, service_scan = 0, slow_scan = 0;
  std::vector<double> lookup_micros;  // sorted

  double CompactSeconds() const { return std::max(compact_wall, compact_cpu); }
  double CompactRate() const { return CompactSeconds() > 0 ? compacted / CompactSeconds() : 0; }
  double Percentile(double p) const {
    const size_t n = lookup_micros.size();
    const size_t rank = static_cast<size_t>(std::ceil(p * n));
    return lookup_micros[std::clamp<size_t>(rank, 1, n) - 1];
  }
};

absl::StatusOr<CodecResult> RunCodec(const Flags& flags, const Workload& w, Codec codec,
                                     const std::string& dir) {
  CodecResult r;
  r.codec = codec;
  Options options;
  options.sync = SyncPolicy::kNone;
  options.codec = codec;
  options.background_compaction = false;
  options.segment_bytes = w.segment_bytes;
  options.max_memtable_bytes = UINT64_MAX / 2;
  auto t0 = std::chrono::steady_clock::now();
  auto opened = Store::Open(options, dir);
  if (!opened.ok()) return opened.status();
  Store* store = opened->get();
  r.open_seconds = Seconds(std::chrono::steady_clock::now() - t0);
  r.before = store->Stats();

  Progress(absl::StrFormat("%s: CompactAll over %d WAL segments", CodecName(codec),
                           r.before.wal_segments));
  const double cpu0 = CpuSeconds();
  t0 = std::chrono::steady_clock::now();
  absl::Status s = store->CompactAll();
  r.compact_wall = Seconds(std::chrono::steady_clock::now() - t0);
  r.compact_cpu = CpuSeconds() - cpu0;
  if (!s.ok()) return s;
  r.after = store->Stats();
  r.compacted = r.after.compacted_spans - r.before.compacted_spans;
  r.dir_bytes = DirectoryBytes(dir);

  // An untimed full scan first warms the page cache for everything after it.
  Progress(absl::StrFormat("%s: scans", CodecName(codec)));
  auto full = TimeScan(store, SpanQuery(), w.spans, 1, "warm-up scan");
  if (full.ok()) full = TimeScan(store, SpanQuery(), w.spans, flags.repeat, "full scan");
  if (!full.ok()) return full.status();
  r.full_scan = *full;
  auto service =
      TimeScan(store, w.service_window, w.service_window_matches, flags.repeat, "service scan");
  if (!service.ok()) return service.status();
  r.service_scan = *service;
  auto slow = TimeScan(store, w.slow, w.slow_matches, flags.repeat, "duration scan");
  if (!slow.ok()) return slow.status();
  r.slow_scan = *slow;

  Progress(absl::StrFormat("%s: GetTrace", CodecName(codec)));
  std::mt19937_64 rng(flags.seed);
  std::uniform_int_distribution<size_t> pick(0, w.trace_ids.size() - 1);
  const uint64_t warmup = std::min<uint64_t>(1000, flags.lookups);
  for (uint64_t i = 0; i < warmup + flags.lookups; ++i) {
    const size_t t = pick(rng);
    const auto start = std::chrono::steady_clock::now();
    auto trace = store->GetTrace(w.trace_ids[t]);
    const double micros = Seconds(std::chrono::steady_clock::now() - start) * 1e6;
    if (!trace.ok()) return trace.status();
    if (trace->spans.size() != w.trace_spans[t]) {
      return absl::InternalError(absl::StrFormat("GetTrace(%s): %d spans, expected %d",
                                                 w.trace_ids[t].ToHex(), trace->spans.size(),
                                                 w.trace_spans[t]));
    }
    if (i >= warmup) r.lookup_micros.push_back(micros);
  }
  std::sort(r.lookup_micros.begin(), r.lookup_micros.end());
  s = store->Close();
  if (!s.ok()) return s;
  return r;
}

struct Row {
  std::string target, goal, codec, measured, result;
};

std::string Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

std::string Report(const Flags& flags, const Pilot& pilot, const Workload& w,
                   const std::vector<CodecResult>& results) {
  const double n = static_cast<double>(w.spans);
  std::vector<Row> rows;
  auto add = [&](std::string target, std::string goal, const CodecResult& r, std::string measured,
                 std::string result) {
    rows.push_back({std::move(target), std::move(goal), CodecName(r.codec), std::move(measured),
                    std::move(result)});
  };
  // The size targets are for Zstd; LZ4 is reported beside it.
  for (const CodecResult& r : results) {
    const double bytes = r.dir_bytes / n;
    add("on-disk bytes per span after compaction", "≤ 25 (Zstd)", r, absl::StrFormat("%.1f", bytes),
        r.codec == Codec::kZstd ? Verdict(bytes <= kMaxBytesPerSpan) : "info");
  }
  for (const CodecResult& r : results) {
    const double ratio = r.dir_bytes > 0 ? static_cast<double>(w.json_bytes) / r.dir_bytes : 0;
    add("OTLP JSON bytes / on-disk bytes", "≥ 20× (Zstd)", r, absl::StrFormat("%.1f×", ratio),
        r.codec == Codec::kZstd ? Verdict(ratio >= kMinJsonRatio) : "info");
  }
  for (const CodecResult& r : results) {
    add("compaction throughput, one core (CompactAll)", "≥ 300,000 spans/s", r,
        absl::StrFormat("%s spans/s", Commas(std::llround(r.CompactRate()))),
        Verdict(r.CompactRate() >= kMinCompactSpansPerSecond));
  }
  for (const CodecResult& r : results) {
    add("blocks in the store (GetTrace setup)", "≥ 100", r, Commas(r.after.blocks),
        Verdict(r.after.blocks >= kMinBlocks));
  }
  for (const CodecResult& r : results) {
    add("GetTrace of a random trace, median", "< 100 µs", r,
        absl::StrFormat("%.1f µs", r.Percentile(0.5)),
        Verdict(r.Percentile(0.5) < kMaxGetTraceMedianMicros));
  }
  for (const CodecResult& r : results) {
    add("GetTrace of a random trace, p99", "< 1 ms", r,
        absl::StrFormat("%.1f µs", r.Percentile(0.99)),
        Verdict(r.Percentile(0.99) < kMaxGetTraceP99Micros));
  }
  for (const CodecResult& r : results) {
    const double speedup = r.service_scan > 0 ? r.full_scan / r.service_scan : 0;
    add("one service, 1% window: speed-up over a full scan", "≥ 10×", r,
        absl::StrFormat("%.1f×", speedup), Verdict(speedup >= kMinServiceScanSpeedup));
  }
  for (const CodecResult& r : results) {
    const double rate = r.slow_scan > 0 ? n / r.slow_scan : 0;
    add("full scan with a duration predicate", "≥ 20,000,000 spans/s", r,
        absl::StrFormat("%s spans/s", Commas(std::llround(rate))),
        Verdict(rate >= kMinDurationScanSpansPerSecond));
  }

  std::string md;
  absl::StrAppendFormat(&md, "## store_bench: issue 3 storage targets\n\n");
  absl::StrAppendFormat(
      &md,
      "%s spans in %s traces (checkout generator, seed %d); Options::segment_bytes %s; "
      "%d hardware threads.\n\n",
      Commas(w.spans), Commas(w.trace_ids.size()), flags.seed, Commas(w.segment_bytes),
      std::thread::hardware_concurrency());
  md += "| target | goal | codec | measured | result |\n|---|---|---|---|---|\n";
  for (const Row& row : rows) {
    absl::StrAppendFormat(&md, "| %s | %s | %s | %s | %s |\n", row.target, row.goal, row.codec,
                          row.measured, row.result);
  }

  md += "\n### Details\n\n";
  absl::StrAppendFormat(
      &md,
      "- ingest (generate, Append with kNone in batches of ~%d spans, write OTLP JSON): %.1f s; "
      "Append alone %s spans/s\n",
      kBatchSpans, w.generate_seconds,
      Commas(std::llround(w.append_seconds > 0 ? n / w.append_seconds : 0)));
  absl::StrAppendFormat(&md,
                        "- OTLP JSON: %s bytes, %.0f bytes per span (one request per ~%d spans)\n",
                        Commas(w.json_bytes), w.json_bytes / n, kBatchSpans);
  absl::StrAppendFormat(&md, "- WAL before compaction: %s bytes, %.0f bytes per span\n",
                        Commas(w.wal_bytes), w.wal_bytes / n);
  absl::StrAppendFormat(
      &md,
      "- scans: one service = `%s`, window = 1%% of the generator's hour; duration predicate "
      "≥ %.3f ms (the pilot's %.1fth percentile); median of %d run(s) each, after an untimed full "
      "scan\n",
      flags.service, pilot.slow_threshold_nanos / 1e6, kSlowQuantile * 100, flags.repeat);
  for (const CodecResult& r : results) {
    absl::StrAppendFormat(&md,
                          "- **%s**: Open (WAL replay) %.2f s; CompactAll %.2f s wall, %.2f s CPU "
                          "(%s spans per CPU second; the table counts the slower clock), "
                          "%s spans compacted, %s blocks, %s block bytes, %d WAL segments left\n",
                          CodecName(r.codec), r.open_seconds, r.compact_wall, r.compact_cpu,
                          Commas(std::llround(r.compact_cpu > 0 ? r.compacted / r.compact_cpu : 0)),
                          Commas(r.compacted), Commas(r.after.blocks), Commas(r.after.block_bytes),
                          r.after.wal_segments);
    absl::StrAppendFormat(
        &md,
        "  - on disk: %s bytes in the directory (Stats().disk_bytes %s); full scan %.3f s "
        "(%s spans/s), one-service window %.4f s (%s spans), duration %.3f s (%s spans)\n",
        Commas(r.dir_bytes), Commas(r.after.disk_bytes), r.full_scan,
        Commas(std::llround(r.full_scan > 0 ? n / r.full_scan : 0)), r.service_scan,
        Commas(w.service_window_matches), r.slow_scan, Commas(w.slow_matches));
    absl::StrAppendFormat(
        &md,
        "  - GetTrace, %s random traces after %s warm-up calls: mean %.1f µs, "
        "p50 %.1f, p90 %.1f, p99 %.1f, max %.1f µs\n",
        Commas(r.lookup_micros.size()), Commas(std::min<uint64_t>(1000, flags.lookups)),
        [&] {
          double sum = 0;
          for (double x : r.lookup_micros) sum += x;
          return sum / r.lookup_micros.size();
        }(),
        r.Percentile(0.5), r.Percentile(0.9), r.Percentile(0.99), r.lookup_micros.back());
    if (r.compacted == 0) {
      md +=
          "  - CompactAll compacted no spans: the store has no column blocks yet, so every "
          "figure above measures the WAL and memtables\n";
    }
  }

  for (const CodecResult& r : results) {
    absl::StrAppendFormat(&md, "\n### Bytes per column, %s\n\n", CodecName(r.codec));
    if (r.after.column_bytes.empty()) {
      md += "StoreStats::column_bytes is empty (no column blocks).\n";
      continue;
    }
    std::vector<std::pair<std::string, uint64_t>> cols(r.after.column_bytes.begin(),
                                                       r.after.column_bytes.end());
    std::sort(cols.begin(), cols.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    uint64_t total = 0;
    for (const auto& [name, bytes] : cols) total += bytes;
    md += "| column | bytes | bytes per span | % of total |\n|---|---|---|---|\n";
    for (const auto& [name, bytes] : cols) {
      absl::StrAppendFormat(&md, "| %s | %s | %.2f | %.1f %% |\n", name, Commas(bytes), bytes / n,
                            total > 0 ? 100.0 * bytes / total : 0.0);
    }
    absl::StrAppendFormat(&md, "| total | %s | %.2f | 100 %% |\n", Commas(total), total / n);
  }
  return md;
}

int Run(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "store_bench: " << flags.status().message() << "\n" << kUsage;
    return 2;
  }
  auto work = WorkDir::Create(flags->dir, flags->keep);
  if (!work.ok()) {
    std::cerr << "store_bench: " << work.status() << "\n";
    return 1;
  }
  const std::string root = (*work)->path();
  Progress("working directory " + root);
  auto fail = [](const std::string& what, const absl::Status& s) {
    std::cerr << "store_bench: " << what << ": " << s << "\n";
    return 1;
  };

  auto pilot = RunPilot(*flags, root + "/pilot");
  if (!pilot.ok()) return fail("pilot", pilot.status());
  std::error_code ec;
  fs::remove_all(root + "/pilot", ec);

  const std::string ingest_dir = root + "/ingest";
  auto workload = Ingest(*flags, *pilot, ingest_dir);
  if (!workload.ok()) return fail("ingest", workload.status());
  Progress(absl::StrFormat("ingested %s spans", Commas(workload->spans)));

  std::vector<CodecResult> results;
  for (size_t i = 0; i < flags->codecs.size(); ++i) {
    const Codec codec = flags->codecs[i];
    // Each codec compacts its own copy of the closed, uncompacted store; the last one takes
    // the original.
    const std::string dir = root + "/" + CodecName(codec);
    if (i + 1 < flags->codecs.size()) {
      fs::copy(ingest_dir, dir, fs::copy_options::recursive, ec);
    } else {
      fs::rename(ingest_dir, dir, ec);
    }
    if (ec) return fail("copy " + ingest_dir, absl::UnavailableError(ec.message()));
    auto r = RunCodec(*flags, *workload, codec, dir);
    if (!r.ok()) return fail(CodecName(codec), r.status());
    results.push_back(std::move(*r));
    if (!flags->keep) fs::remove_all(dir, ec);  // room on the disk for the next copy
  }

  if (flags->keep) Progress("kept " + root);
  const std::string md = Report(*flags, *pilot, *workload, results);
  std::cout << md;
  if (!flags->out.empty()) {
    std::ofstream out(flags->out, std::ios::trunc);
    out << md;
    out.close();
    if (!out) {
      std::cerr << "store_bench: cannot write " << flags->out << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace spanstore

int main(int argc, char** argv) { return spanstore::Run(argc, argv); }
