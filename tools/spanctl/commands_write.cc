// spanctl gen, compact, bench -- and the helpers every command shares.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <thread>

#include "absl/strings/str_format.h"
#include "spanstore/loader.h"
#include "spanstore/validation.h"
#include "tools/spanctl/commands.h"
#include "tools/spanctl/render.h"
#include "workload/checkout_generator.h"

namespace spanstore::spanctl {

FlagSpec DbFlag() { return {"db", "DIR", "", "the store directory (required)"}; }

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const ParsedFlags& flags, Options options) {
  const std::string dir = flags.Get("db");
  if (dir.empty()) return absl::InvalidArgumentError("--db DIR is required");
  return Store::Open(options, dir);
}

int Fail(const std::string& command, const absl::Status& status) {
  std::fprintf(stderr, "spanctl %s: %s\n", command.c_str(), std::string(status.message()).c_str());
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int FailOperation(const std::string& command, const absl::Status& status) {
  std::fprintf(stderr, "spanctl %s: %s\n", command.c_str(), std::string(status.message()).c_str());
  return kExitFailure;
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }
bool StdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }

void Progress(const std::string& what, uint64_t done, uint64_t total) {
  if (!StderrIsTerminal()) return;
  const int width = 30;
  const int filled = total ? static_cast<int>(done * width / total) : 0;
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::fprintf(stderr, "\r%s [%s] %llu/%llu", what.c_str(), bar.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
  std::fflush(stderr);
}

void ProgressDone() {
  if (StderrIsTerminal()) std::fprintf(stderr, "\r\033[K");
}

namespace {

absl::StatusOr<SyncPolicy> ParseSync(const std::string& s) {
  if (s == "every-batch") return SyncPolicy::kEveryBatch;
  if (s == "interval") return SyncPolicy::kInterval;
  if (s == "none") return SyncPolicy::kNone;
  return absl::InvalidArgumentError(
      absl::StrFormat("--sync must be every-batch, interval or none, got '%s'", s));
}

int RunGen(const ParsedFlags& flags) {
  GeneratorOptions g;
  auto traces = flags.GetInt("traces", 0, 1'000'000'000);
  auto seed = flags.GetInt("seed", 0, std::numeric_limits<int64_t>::max());
  auto errors = flags.GetDouble("error-rate", 0, 1);
  auto slow = flags.GetDouble("slow-rate", 0, 1);
  auto batch = flags.GetInt("batch", 1, 1'000'000);
  auto sync = ParseSync(flags.Get("sync"));
  for (const absl::Status& s : {traces.status(), seed.status(), errors.status(), slow.status(),
                                batch.status(), sync.status()}) {
    if (!s.ok()) return Fail("gen", s);
  }
  g.traces = static_cast<uint64_t>(*traces);
  g.seed = static_cast<uint64_t>(*seed);
  g.error_rate = *errors;
  g.slow_rate = *slow;
  g.plant_gap_trace = flags.GetBool("plant-gap");
  Options options;
  options.sync = *sync;
  auto store = OpenStore(flags, options);
  if (!store.ok()) return Fail("gen", store.status());

  CheckoutGenerator gen(g);
  std::vector<Span> trace, pending;
  uint64_t spans = 0;
  const auto start = std::chrono::steady_clock::now();
  while (gen.NextTrace(&trace)) {
    pending.insert(pending.end(), std::make_move_iterator(trace.begin()),
                   std::make_move_iterator(trace.end()));
    if (pending.size() >= static_cast<size_t>(*batch)) {
      if (absl::Status s = (*store)->Append(pending); !s.ok()) return FailOperation("gen", s);
      spans += pending.size();
      pending.clear();
      if (gen.traces_generated() % 1000 == 0) Progress("gen", gen.traces_generated(), g.traces);
    }
  }
  if (!pending.empty()) {
    if (absl::Status s = (*store)->Append(pending); !s.ok()) return FailOperation("gen", s);
    spans += pending.size();
  }
  if (absl::Status s = (*store)->Close(); !s.ok()) return FailOperation("gen", s);
  ProgressDone();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("generated %llu traces, %llu spans in %.2fs (%.0f spans/s)\n",
              static_cast<unsigned long long>(g.traces), static_cast<unsigned long long>(spans),
              secs, secs > 0 ? spans / secs : 0.0);
  if (auto planted = gen.planted_trace_id()) {
    std::printf("planted slow trace (checkout -> payments.staging.internal): %s\n",
                planted->ToHex().c_str());
  }
  return kExitOk;
}

int RunLoad(const ParsedFlags& flags) {
  LoadOptions options;
  options.skip_invalid = flags.GetBool("skip-invalid");
  const std::string format = flags.Get("format");
  if (format == "otlp-json") {
    options.format = TraceFormat::kOtlpJson;
  } else if (format == "jaeger-json") {
    options.format = TraceFormat::kJaegerJson;
  } else if (format == "zipkin-json") {
    options.format = TraceFormat::kZipkinJson;
  } else if (format == "otlp-proto") {
    options.format = TraceFormat::kOtlpProto;
  } else if (format == "otlp-proto-stream") {
    options.format = TraceFormat::kOtlpProtoStream;
  } else if (format != "auto") {
    return Fail("load", absl::InvalidArgumentError(absl::StrFormat(
                            "--format must be auto, otlp-json, jaeger-json, zipkin-json, otlp-proto or "
                            "otlp-proto-stream, got '%s'",
                            format)));
  }
  auto sync = ParseSync(flags.Get("sync"));
  auto batch = flags.GetInt("batch", 1, 1'000'000);
  for (const absl::Status& s : {sync.status(), batch.status()}) {
    if (!s.ok()) return Fail("load", s);
  }
  options.batch_spans = static_cast<size_t>(*batch);
  Options store_options;
  store_options.sync = *sync;
  // Spans the store would refuse (over a limit) are found as they are read, so the message
  // names their place in the file, and --skip-invalid counts them with the rest.
  options.validate = [&store_options](const Span& span) {
    return ValidateSpan(store_options, span);
  };
  auto store = OpenStore(flags, store_options);
  if (!store.ok()) return Fail("load", store.status());
  // Counted as Append returns: exactly what is committed (per --sync) when something fails.
  uint64_t committed = 0, committed_file = 0, batches = 0, documents = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& file : flags.args) {
    committed_file = 0;
    auto stats = LoadFile(file, options, [&](std::vector<Span>& spans) {
      absl::Status s = (*store)->Append(spans);
      if (!s.ok()) return s;
      committed += spans.size();
      committed_file += spans.size();
      ++batches;
      if (StderrIsTerminal()) {
        std::fprintf(stderr, "\rload %s: %llu spans committed in %llu batches", file.c_str(),
                     static_cast<unsigned long long>(committed_file),
                     static_cast<unsigned long long>(batches));
        std::fflush(stderr);
      }
      return absl::OkStatus();
    });
    ProgressDone();
    if (!stats.ok()) {
      const absl::Status closed = (*store)->Close();
      std::fprintf(stderr, "spanctl load: %s\n", std::string(stats.status().message()).c_str());
      std::fprintf(stderr,
                   "spanctl load: %llu spans of %s before the error were committed and kept "
                   "(%llu in all, sync=%s)%s\n",
                   static_cast<unsigned long long>(committed_file), file.c_str(),
                   static_cast<unsigned long long>(committed), flags.Get("sync").c_str(),
                   closed.ok() ? "" : "; closing the store failed too");
      return kExitFailure;
    }
    documents += stats->documents;
    std::printf("%s: %llu spans from %llu documents (%s)", file.c_str(),
                static_cast<unsigned long long>(stats->spans),
                static_cast<unsigned long long>(stats->documents),
                std::string(TraceFormatName(stats->format)).c_str());
    if (stats->skipped_spans || stats->skipped_documents) {
      std::printf(", skipped %llu invalid spans and %llu invalid documents; first: %s",
                  static_cast<unsigned long long>(stats->skipped_spans),
                  static_cast<unsigned long long>(stats->skipped_documents),
                  stats->first_error.c_str());
    }
    std::printf("\n");
  }
  if (absl::Status s = (*store)->Close(); !s.ok()) return FailOperation("load", s);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loaded %llu spans from %llu documents in %.2fs (%.0f spans/s)\n",
              static_cast<unsigned long long>(committed),
              static_cast<unsigned long long>(documents), secs, secs > 0 ? committed / secs : 0.0);
  return kExitOk;
}

int RunCompact(const ParsedFlags& flags) {
  auto store = OpenStore(flags);
  if (!store.ok()) return Fail("compact", store.status());
  const auto start = std::chrono::steady_clock::now();
  // Progress: spans that have left the memtables for blocks, polled from Stats() while
  // CompactAll runs (it has no callback; Stats is safe to call concurrently).
  std::atomic<bool> done{false};
  std::thread progress;
  if (StderrIsTerminal()) {
    const uint64_t total = (*store)->Stats().memtable_spans;
    progress = std::thread([&, total] {
      while (!done.load()) {
        const uint64_t left = (*store)->Stats().memtable_spans;
        Progress("compact (spans)", total > left ? total - left : 0, total);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  }
  absl::Status compacted = (*store)->CompactAll();
  done = true;
  if (progress.joinable()) progress.join();
  ProgressDone();
  if (!compacted.ok()) return FailOperation("compact", compacted);
  const StoreStats st = (*store)->Stats();
  if (absl::Status s = (*store)->Close(); !s.ok()) return FailOperation("compact", s);
  std::printf("compacted in %.2fs: %llu spans, %s on disk\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              static_cast<unsigned long long>(st.spans), FormatBytes(st.disk_bytes).c_str());
  return kExitOk;
}

int RunBench(const ParsedFlags& flags) {
  auto sync = ParseSync(flags.Get("sync"));
  auto batch = flags.GetInt("batch", 1, 1'000'000);
  auto threads = flags.GetInt("threads", 1, 256);
  auto total = flags.GetInt("spans", 1, 1'000'000'000);
  for (const absl::Status& s : {sync.status(), batch.status(), threads.status(), total.status()}) {
    if (!s.ok()) return Fail("bench", s);
  }
  std::string dir = flags.Get("db");
  const bool temporary = dir.empty();
  if (temporary) {
    dir = (std::filesystem::temp_directory_path() /
           absl::StrFormat("spanctl-bench-%d", ::getpid()))
              .string();
  }
  // Spans are generated up front so that only Append is timed.
  GeneratorOptions g;
  g.traces = static_cast<uint64_t>(*total) / 15 + 1;
  CheckoutGenerator gen(g);
  std::vector<Span> spans, trace;
  while (spans.size() < static_cast<size_t>(*total) && gen.NextTrace(&trace)) {
    spans.insert(spans.end(), trace.begin(), trace.end());
  }
  spans.resize(std::min(spans.size(), static_cast<size_t>(*total)));

  Options options;
  options.sync = *sync;
  auto store = Store::Open(options, dir);
  if (!store.ok()) return Fail("bench", store.status());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const size_t b = static_cast<size_t>(*batch);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < *threads; ++t) {
    workers.emplace_back([&] {
      while (!failed) {
        const size_t at = next.fetch_add(b);
        if (at >= spans.size()) break;
        const size_t n = std::min(b, spans.size() - at);
        absl::Status s = (*store)->Append(absl::MakeConstSpan(spans.data() + at, n));
        if (!s.ok()) {
          std::fprintf(stderr, "spanctl bench: %s\n", std::string(s.message()).c_str());
          failed = true;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const StoreStats st = (*store)->Stats();
  (void)(*store)->Close();
  store->reset();
  if (temporary) std::filesystem::remove_all(dir);
  if (failed) return kExitFailure;
  const double mb = static_cast<double>(st.wal_bytes_written) / (1 << 20);
  std::printf("appended %zu spans (sync=%s, batch=%zu, threads=%lld) in %.3fs\n", spans.size(),
              flags.Get("sync").c_str(), b, static_cast<long long>(*threads), secs);
  std::printf("%.0f spans/s  %.1f MB/s of WAL  %.2f spans per write  %llu fdatasyncs\n",
              spans.size() / secs, mb / secs,
              st.wal_writes ? static_cast<double>(st.appended_spans) / st.wal_writes : 0.0,
              static_cast<unsigned long long>(st.wal_syncs));
  return kExitOk;
}

}  // namespace

std::vector<Command> WriteCommands() {
  return {
      {{"gen",
        "gen --db DIR [--traces N] [--seed S] [--error-rate R] [--slow-rate R] [--plant-gap]",
        "generate realistic checkout-style traces into a store",
        "About 20 services, 5-30 spans per trace, 10-15 attributes per span. The same --seed\n"
        "always gives the same spans. --plant-gap adds one trace whose checkout -> payment call\n"
        "goes to a staging host and waits ~5 s; its id is printed.",
        {DbFlag(),
         {"traces", "N", "10000", "number of traces"},
         {"seed", "S", "1", "random seed"},
         {"error-rate", "R", "0.01", "fraction of traces with an error"},
         {"slow-rate", "R", "0.01", "fraction of traces with a pathologically slow span"},
         {"plant-gap", "", "", "plant one trace with a 5 s gap before the payment call"},
         {"batch", "N", "1000", "spans per Append"},
         {"sync", "POLICY", "interval", "every-batch, interval or none"}},
        0,
        0},
       RunGen},
      {{"load",
        "load --db DIR FILE... [--format F] [--skip-invalid] [--sync P] [--batch N]",
        "load trace files (OTLP JSON or protobuf, Jaeger or Zipkin JSON; .gz/.zst; '-' = stdin)",
        "Accepts an OTLP ExportTraceServiceRequest, newline-delimited files of them (the\n"
        "OpenTelemetry Collector's file exporter) and concatenated documents. Files of any size\n"
        "load in bounded memory (a document over 4 MiB is read one resourceSpans entry, Jaeger\n"
        "trace or Zipkin span at a time; each at most 64 MiB). On bad input -- including a span\n"
        "over a store limit -- the load stops with the file, line, byte and JSON path of the\n"
        "problem (exit 1) and says how many spans before it were committed; they stay.\n"
        "--skip-invalid loads what is valid and reports what was skipped. Spans are committed\n"
        "in batches of --batch; --sync says what a machine crash may lose of them (every-batch:\n"
        "nothing committed; interval: the last ~100 ms; none: all since the last sealed WAL\n"
        "segment). A killed process loses nothing committed under any policy.",
        {DbFlag(),
         {"format", "F", "auto",
          "auto, otlp-json, jaeger-json, zipkin-json, otlp-proto, otlp-proto-stream"},
         {"skip-invalid", "", "", "skip invalid documents and spans instead of stopping"},
         {"sync", "POLICY", "interval", "every-batch, interval or none"},
         {"batch", "N", "1000", "spans per committed batch (Append)"}},
        1,
        SIZE_MAX},
       RunLoad},
      {{"compact",
        "compact --db DIR",
        "seal the write-ahead log and compact the store",
        "",
        {DbFlag()},
        0,
        0},
       RunCompact},
      {{"bench",
        "bench [--db DIR] [--sync P] [--batch N] [--threads N] [--spans N]",
        "measure ingest: spans/s and MB/s for a sync policy, batch size and thread count",
        "Generates --spans checkout spans up front, then appends them from --threads threads in\n"
        "batches of --batch. Without --db it uses a temporary directory under $TMPDIR.",
        {{"db", "DIR", "", "store directory (default: a temporary one, removed afterwards)"},
         {"sync", "POLICY", "none", "every-batch, interval or none"},
         {"batch", "N", "1000", "spans per Append"},
         {"threads", "N", "1", "appender threads"},
         {"spans", "N", "200000", "spans to append"}},
        0,
        0},
       RunBench},
  };
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* commands = [] {
    auto* all = new std::vector<Command>;
    for (Command& c : WriteCommands()) {
      if (c.spec.name == "gen" || c.spec.name == "load") all->push_back(std::move(c));
    }
    for (Command& c : ReadCommands()) all->push_back(std::move(c));
    for (Command& c : AnalysisCommands()) all->push_back(std::move(c));
    for (Command& c : WriteCommands()) {
      if (c.spec.name != "gen" && c.spec.name != "load") all->push_back(std::move(c));
    }
    return all;
  }();
  return *commands;
}

}  // namespace spanstore::spanctl
