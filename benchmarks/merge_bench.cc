// Issue 16, "blocks do not pile up": the block count, open time and query latencies of a store
// as it grows, with time-window merges (compaction/merge_policy.h) running as they do live.
//
//   build-rel/benchmarks/merge_bench --spans 1M,10M,100M --dir /work/tmp --out merge_bench.md
//
// For each size, through the public API on checkout-generator spans (the needle trace planted
// in the middle, as spanstore_compare does):
//   1. Ingest: the spans appended in batches of 1000 (SyncPolicy::kNone, default segments of
//      64 MB, background compaction on, default back-pressure), then CompactAll until no merge
//      is due. Timed together (wall, and process CPU for both threads); Stats() gives the L0
//      blocks written, the merges, the spans they rewrote, the bytes compaction wrote and the
//      Appends that waited for compaction (write stalls).
//   2. Open: closed, then reopened once after evicting the store's files from the page cache
//      (posix_fadvise DONTNEED on every file: "cold" without root), and three times warm.
//   3. Queries on the warm store: GetTrace of 500 random traces with the files evicted again
//      (cold: mostly disk reads), then of --lookups random traces after reading every file
//      once (warm: the OS cache holds the store, as on a server that has been answering for a
//      while) and 500 unmeasured lookups (span counts checked),
//      FindTraces `{ resource.service.name = "frontend" && duration > 1s }` over a 10-minute
//      window of the hour, and the needle `{ span.http.host = "payments.staging.internal" }`
//      over the whole store (exactly one trace), both limit 20, median of --repeat; the needle
//      also once right after evicting the files again. Then the same for the planted trace's
//      user, `{ span.app.user.id = "u-…" }` (a key of ~5M values, which the block value filter
//      does not cover: each row group's filter is asked; the planted trace must be found).
// Wrong answers exit 1. `--keep` leaves each store in place; `--reuse DIR --spans N` measures
// steps 2 and 3 again on such a store (N its size), without writing: its cold open is then the
// first open of a fresh process, which is what a restarted server pays.
//
//   build-rel/benchmarks/merge_bench --spans 100M --reuse /work/tmp/merge_bench.<pid>.100000000
//
// `--memtable-mb N` writes with Options::max_memtable_bytes = N MiB (the back-pressure bound,
// most of the writer's memory) instead of the default.

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "benchmarks/bench_util.h"
#include "format/manifest.h"
#include "spanstore/spanstore.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBatchSpans = 1000;
constexpr char kSearchFilter[] = R"({ resource.service.name = "frontend" && duration > 1s })";
constexpr char kNeedleFilter[] = R"({ span.http.host = "payments.staging.internal" })";
constexpr size_t kLimit = 20;

struct Flags {
  std::vector<uint64_t> sizes = {1'000'000};
  std::string dir = ".";
  std::string out;
  uint64_t lookups = 2000;
  int repeat = 5;
  uint64_t memtable_mb = 0;  // --memtable-mb: Options::max_memtable_bytes (0: the default)
  bool keep = false;
  // A store an earlier --keep run left, reused for the read measurements (one size only): the
  // generator runs again for the trace ids and span counts, nothing is written.
  std::string reuse;
};

using bench::CpuSeconds;
using bench::ParseCount;
using bench::Progress;
using bench::Seconds;
using bench::Since;

absl::StatusOr<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--keep") {
      f.keep = true;
      continue;
    }
    if (i + 1 >= argc) return absl::InvalidArgumentError(arg + ": missing value or unknown flag");
    const std::string value = argv[++i];
    uint64_t n = 0;
    if (arg == "--spans") {
      f.sizes.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        if (!ParseCount(std::string(part), &n) || n == 0) {
          return absl::InvalidArgumentError(value);
        }
        f.sizes.push_back(n);
      }
    } else if (arg == "--dir") {
      f.dir = value;
    } else if (arg == "--reuse") {
      f.reuse = value;
    } else if (arg == "--out") {
      f.out = value;
    } else if (arg == "--lookups" && ParseCount(value, &n) && n > 0) {
      f.lookups = n;
    } else if (arg == "--memtable-mb" && ParseCount(value, &n) && n > 0) {
      f.memtable_mb = n;
    } else if (arg == "--repeat" && ParseCount(value, &n) && n > 0) {
      f.repeat = static_cast<int>(n);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(arg, " ", value, ": unknown flag or value"));
    }
  }
  return f;
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// Calls fn(fd) with each file of the store opened for reading.
template <typename Fn>
void ForEachFile(const std::string& dir, Fn fn) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    fn(fd);
    ::close(fd);
  }
}

// Drops the store's files from the page cache (their pages are clean once the store is closed
// or its files synced), so the next read goes to the disk.
void Evict(const std::string& dir) {
  ForEachFile(dir, [](int fd) { (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); });
}

// Reads every file of the store once, into the OS page cache.
void ReadFiles(const std::string& dir) {
  std::vector<char> buf(1 << 20);
  ForEachFile(dir, [&](int fd) {
    while (::read(fd, buf.data(), buf.size()) > 0) {
    }
  });
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * v.size()));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

struct Row {
  uint64_t spans = 0, traces = 0;
  StoreStats stats;  // after CompactAll
  uint32_t max_level = 0;
  uint64_t dir_bytes = 0;
  double ingest_wall = 0, ingest_cpu = 0;
  double open_cold = 0, open_warm = 0;
  double get_p50 = 0, get_p99 = 0;            // the files in the OS page cache
  double get_cold_p50 = 0, get_cold_p99 = 0;  // just after evicting them
  double search_ms = 0, needle_ms = 0, needle_cold_ms = 0;
  double user_ms = 0, user_cold_ms = 0;
  uint64_t user_traces = 0;
  uint64_t search_traces = 0;
  bool reused = false;  // --reuse: no ingest, so no write-side figures
};

Options StoreOptions() {
  Options o;
  o.sync = SyncPolicy::kNone;
  return o;
}

// The median of `repeat` runs of FindTraces in ms; *found is the last run's answer.
absl::StatusOr<double> TimeFind(Store* store, const SpanQuery& q, int repeat,
                                std::vector<TraceSummary>* found) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = store->FindTraces(q, kLimit);
    ms.push_back(Since(t0) * 1e3);
    if (!r.ok()) return r.status();
    *found = std::move(*r);
  }
  return Percentile(ms, 0.5);
}

// Once right after evicting the store's files (*cold), then the median of `repeat` (*warm).
absl::Status TimeColdThenWarm(Store* store, const std::string& dir, const SpanQuery& q, int repeat,
                              double* cold, double* warm, std::vector<TraceSummary>* found) {
  Evict(dir);
  absl::StatusOr<double> ms = TimeFind(store, q, 1, found);
  if (!ms.ok()) return ms.status();
  *cold = *ms;
  ms = TimeFind(store, q, repeat, found);
  if (!ms.ok()) return ms.status();
  *warm = *ms;
  return absl::OkStatus();
}

// What the write side hands the read side: the row so far, and every trace's id and span count.
struct Written {
  Row row;
  std::vector<TraceId> ids;
  std::vector<uint32_t> sizes;
  TraceId planted;
  std::string planted_user;  // the planted trace's app.user.id
};

// Notes the planted trace and its user once the generator has made it (`trace` is its latest).
void NotePlanted(const CheckoutGenerator& gen, const std::vector<Span>& trace, Written* w) {
  if (!w->planted_user.empty() || !gen.planted_trace_id().has_value() ||
      *gen.planted_trace_id() != trace.front().trace_id) {
    return;
  }
  w->planted = trace.front().trace_id;
  for (const Span& s : trace) {
    for (const KeyValue& kv : s.attributes) {
      if (kv.key == "app.user.id" && kv.value.type() == AnyValue::Type::kString) {
        w->planted_user = kv.value.string_value();
        return;
      }
    }
  }
}

absl::StatusOr<Row> ReadSide(const Flags& flags, const GeneratorOptions& g, const std::string& dir,
                             absl::StatusOr<Written> written);

// --reuse: the ids and counts from the generator, the store's own figures from Stats().
absl::StatusOr<Written> ReuseStore(const GeneratorOptions& g, const std::string& dir) {
  Written w;
  w.row.reused = true;
  w.ids.reserve(g.traces);
  w.sizes.reserve(g.traces);
  CheckoutGenerator gen(g);
  std::vector<Span> trace;
  while (gen.NextTrace(&trace)) {
    NotePlanted(gen, trace, &w);
    w.ids.push_back(trace.front().trace_id);
    w.sizes.push_back(static_cast<uint32_t>(trace.size()));
    w.row.spans += trace.size();
  }
  w.row.traces = w.ids.size();
  // From the manifest, not an Open: the timed cold open below is then this process's first.
  auto manifest = ReadManifest(Env::Default(), dir);
  if (!manifest.ok()) return manifest.status();
  uint64_t rows = 0;
  for (const ManifestBlock& b : manifest->blocks) {
    w.row.max_level = std::max(w.row.max_level, b.level);
    rows += b.rows;
  }
  w.row.stats.blocks = manifest->blocks.size();
  if (rows != w.row.spans) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s holds %d spans in blocks, the generator makes %d: not a compacted --keep store of "
        "this size",
        dir, rows, w.row.spans));
  }
  w.row.dir_bytes = DirectoryBytes(dir);
  return w;
}

absl::StatusOr<Row> RunSize(const Flags& flags, uint64_t spans, const std::string& dir) {
  Row row;
  GeneratorOptions g;
  g.plant_gap_trace = true;
  {
    // Spans per trace, to size the run.
    GeneratorOptions pilot = g;
    pilot.traces = 2000;
    CheckoutGenerator gen(pilot);
    std::vector<Span> t;
    uint64_t n = 0;
    while (gen.NextTrace(&t)) n += t.size();
    g.traces = std::max<uint64_t>(1, spans * pilot.traces / n);
  }
  if (!flags.reuse.empty()) return ReadSide(flags, g, dir, ReuseStore(g, dir));
  Written w;
  std::vector<TraceId>& ids = w.ids;
  std::vector<uint32_t>& sizes = w.sizes;
  ids.reserve(g.traces);
  sizes.reserve(g.traces);

  Options write = StoreOptions();
  if (flags.memtable_mb > 0) write.max_memtable_bytes = flags.memtable_mb << 20;
  auto opened = Store::Open(write, dir);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<Store> store = std::move(*opened);
  const double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  CheckoutGenerator gen(g);
  std::vector<Span> trace, batch;
  uint64_t next_progress = 5'000'000;
  while (gen.NextTrace(&trace)) {
    NotePlanted(gen, trace, &w);
    ids.push_back(trace.front().trace_id);
    sizes.push_back(static_cast<uint32_t>(trace.size()));
    row.spans += trace.size();
    for (Span& s : trace) batch.push_back(std::move(s));
    if (batch.size() >= kBatchSpans) {
      if (absl::Status s = store->Append(batch); !s.ok()) return s;
      batch.clear();
    }
    if (row.spans >= next_progress) {
      const StoreStats st = store->Stats();
      Progress(absl::StrFormat("%d spans: %d blocks, %d merges, %d write stalls", row.spans,
                               st.blocks, st.merges, st.write_stalls));
      next_progress += 5'000'000;
    }
  }
  if (absl::Status s = store->Append(batch); !s.ok()) return s;
  if (absl::Status s = store->CompactAll(); !s.ok()) return s;
  row.ingest_wall = Since(t0);
  row.ingest_cpu = CpuSeconds() - cpu0;
  row.traces = ids.size();
  row.stats = store->Stats();
  if (absl::Status s = store->Close(); !s.ok()) return s;
  store.reset();
  auto manifest = ReadManifest(Env::Default(), dir);
  if (!manifest.ok()) return manifest.status();
  for (const ManifestBlock& b : manifest->blocks) row.max_level = std::max(row.max_level, b.level);
  row.dir_bytes = DirectoryBytes(dir);
  Progress(absl::StrFormat("%d spans in %d blocks, ingest + compaction %.1f s", row.spans,
                           row.stats.blocks, row.ingest_wall));
  w.row = std::move(row);
  return ReadSide(flags, g, dir, std::move(w));
}

absl::StatusOr<Row> ReadSide(const Flags& flags, const GeneratorOptions& g, const std::string& dir,
                             absl::StatusOr<Written> written) {
  if (!written.ok()) return written.status();
  Row row = std::move(written->row);
  const std::vector<TraceId>& ids = written->ids;
  const std::vector<uint32_t>& sizes = written->sizes;
  Options read = StoreOptions();
  read.background_compaction = false;
  Evict(dir);
  auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(read, dir);
  row.open_cold = Since(t0);
  if (!opened.ok()) return opened.status();
  opened->reset();
  std::vector<double> opens;
  for (int i = 0; i < 3; ++i) {
    t0 = std::chrono::steady_clock::now();
    opened = Store::Open(read, dir);
    opens.push_back(Since(t0));
    if (!opened.ok()) return opened.status();
    if (i < 2) opened->reset();
  }
  row.open_warm = Percentile(opens, 0.5);
  std::unique_ptr<Store> store = std::move(*opened);

  std::mt19937_64 rng(1);
  // Random lookups; the latencies of all but the first `skip`.
  auto lookups = [&](uint64_t skip, uint64_t n) -> absl::StatusOr<std::vector<double>> {
    std::vector<double> micros;
    for (uint64_t i = 0; i < skip + n; ++i) {
      const size_t k = rng() % ids.size();
      const auto start = std::chrono::steady_clock::now();
      auto t = store->GetTrace(ids[k]);
      const double us = Since(start) * 1e6;
      if (!t.ok()) return t.status();
      if (t->spans.size() != sizes[k]) {
        return absl::InternalError(absl::StrFormat("GetTrace(%s): %d spans, expected %d",
                                                   ids[k].ToHex(), t->spans.size(), sizes[k]));
      }
      if (i >= skip) micros.push_back(us);
    }
    return micros;
  };
  // Cold: the files out of the OS page cache, so nearly every lookup reads the disk.
  Evict(dir);
  auto micros = lookups(0, std::min<uint64_t>(500, flags.lookups));
  if (!micros.ok()) return micros.status();
  row.get_cold_p50 = Percentile(*micros, 0.5);
  row.get_cold_p99 = Percentile(*micros, 0.99);
  // Warm: the files read once (a server that has been answering for a while), then lookups
  // after 500 unmeasured ones. (Until 2026-12-07 this run followed the cold open directly, so
  // most of its lookups read the disk: the 59 / 114 / 140 µs medians at 1M / 10M / 100M
  // grew with the share of the store not yet in the OS cache.)
  ReadFiles(dir);
  micros = lookups(std::min<uint64_t>(500, flags.lookups), flags.lookups);
  if (!micros.ok()) return micros.status();
  row.get_p50 = Percentile(*micros, 0.5);
  row.get_p99 = Percentile(*micros, 0.99);

  auto search = ParseQuery(kSearchFilter);
  auto needle = ParseQuery(kNeedleFilter);
  if (!search.ok() || !needle.ok()) return absl::InternalError("bad filter");
  constexpr uint64_t kMinute = 60'000'000'000ull;
  search->start_min = g.start_time_unix_nano + 25 * kMinute;
  search->start_max = search->start_min + 10 * kMinute - 1;
  std::vector<TraceSummary> found;
  auto ms = TimeFind(store.get(), *search, 1 + flags.repeat, &found);  // the first run warms
  if (!ms.ok()) return ms.status();
  row.search_ms = *ms;
  row.search_traces = found.size();
  absl::Status s = TimeColdThenWarm(store.get(), dir, *needle, flags.repeat, &row.needle_cold_ms,
                                    &row.needle_ms, &found);
  if (!s.ok()) return s;
  if (found.size() != 1) {
    return absl::InternalError(absl::StrFormat("the needle found %d traces, not 1", found.size()));
  }
  if (written->planted_user.empty()) return absl::InternalError("no planted trace");
  auto user = ParseQuery(absl::StrFormat(R"({ span.app.user.id = "%s" })", written->planted_user));
  if (!user.ok()) return user.status();
  s = TimeColdThenWarm(store.get(), dir, *user, flags.repeat, &row.user_cold_ms, &row.user_ms,
                       &found);
  if (!s.ok()) return s;
  row.user_traces = found.size();
  if (std::none_of(found.begin(), found.end(),
                   [&](const TraceSummary& t) { return t.trace_id == written->planted; })) {
    return absl::InternalError("the user search missed the planted trace");
  }
  if (s = store->Close(); !s.ok()) return s;
  return row;
}

std::string Report(const std::vector<Row>& rows) {
  std::string md = "| spans | ";
  for (const Row& r : rows) absl::StrAppendFormat(&md, "%.0fM | ", r.spans / 1e6);
  md += "\n|---|";
  for (size_t i = 0; i < rows.size(); ++i) md += "--:|";
  md += "\n";
  auto line = [&](const std::string& name, auto cell) {
    md += "| " + name + " | ";
    for (const Row& r : rows) md += cell(r) + " | ";
    md += "\n";
  };
  line("blocks (levels 0..max)",
       [](const Row& r) { return absl::StrFormat("%d (..%d)", r.stats.blocks, r.max_level); });
  line("L0 blocks flushed (= blocks without merges)", [](const Row& r) {
    if (r.reused) return std::string("(reused store)");
    return absl::StrCat(r.stats.compactions - r.stats.merges);
  });
  line("merges; spans rewritten per span", [](const Row& r) {
    if (r.reused) return std::string("(reused store)");
    return absl::StrFormat("%d; %.2f", r.stats.merges,
                           static_cast<double>(r.stats.merged_spans) / r.stats.compacted_spans);
  });
  line("block bytes written ÷ block bytes", [](const Row& r) {
    if (r.reused) return std::string("(reused store)");
    return absl::StrFormat(
        "%.2f", static_cast<double>(r.stats.compaction_bytes_written) / r.stats.block_bytes);
  });
  line("store bytes per span (blocks + summaries + manifest)", [](const Row& r) {
    return absl::StrFormat("%.1f", static_cast<double>(r.dir_bytes) / r.spans);
  });
  line("store size", [](const Row& r) { return absl::StrFormat("%.2f GB", r.dir_bytes / 1e9); });
  line("ingest + compaction, wall (CPU, both threads)", [](const Row& r) {
    if (r.reused) return std::string("(reused store)");
    return absl::StrFormat("%.1f s (%.1f s)", r.ingest_wall, r.ingest_cpu);
  });
  line("write stalls (Appends that waited)", [](const Row& r) {
    if (r.reused) return std::string("(reused store)");
    return absl::StrCat(r.stats.write_stalls);
  });
  line("open, cold / warm", [](const Row& r) {
    return absl::StrFormat("%.1f / %.1f ms", r.open_cold * 1e3, r.open_warm * 1e3);
  });
  line("GetTrace p50 / p99, files in the OS cache",
       [](const Row& r) { return absl::StrFormat("%.0f / %.0f µs", r.get_p50, r.get_p99); });
  line("GetTrace p50 / p99, files evicted", [](const Row& r) {
    return absl::StrFormat("%.0f / %.0f µs", r.get_cold_p50, r.get_cold_p99);
  });
  line("service + duration search, 10 min window (traces)",
       [](const Row& r) { return absl::StrFormat("%.1f ms (%d)", r.search_ms, r.search_traces); });
  line("needle attribute search, warm / cold", [](const Row& r) {
    return absl::StrFormat("%.1f / %.1f ms", r.needle_ms, r.needle_cold_ms);
  });
  line("user id search, warm / cold (traces)", [](const Row& r) {
    return absl::StrFormat("%.1f / %.1f ms (%d)", r.user_ms, r.user_cold_ms, r.user_traces);
  });
  return md;
}

int Main(int argc, char** argv) {
  auto flags = ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::cerr << "merge_bench: " << flags.status().message() << "\n";
    return 2;
  }
  std::vector<Row> rows;
  for (uint64_t spans : flags->sizes) {
    const std::string dir = !flags->reuse.empty() ? flags->reuse
                                                  : absl::StrFormat("%s/merge_bench.%d.%d",
                                                                    flags->dir, ::getpid(), spans);
    Progress(absl::StrFormat("%d spans into %s", spans, dir));
    auto row = RunSize(*flags, spans, dir);
    std::error_code ec;
    if (!flags->keep && flags->reuse.empty()) fs::remove_all(dir, ec);
    if (!row.ok()) {
      std::cerr << "merge_bench: " << row.status() << "\n";
      return 1;
    }
    rows.push_back(*row);
    std::cout << Report(rows) << std::flush;  // after each size, in case a later one fails
  }
  if (!flags->out.empty()) std::ofstream(flags->out) << Report(rows);
  return 0;
}

}  // namespace
}  // namespace spanstore

int main(int argc, char** argv) { return spanstore::Main(argc, argv); }
