#include "benchmarks/compare/report.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace spanstore::compare {
namespace {

struct Metric {
  const char* key;
  const char* label;
  double scale;
  int decimals;
  bool higher_is_better;
  double target;  // on spanstore / better peer; 0 = none
  // When set, the target compares spanstore with this engine (EngineInfo::name) instead.
  const char* versus = nullptr;
};

// Rows of both tables. Targets (issue 6) compare spanstore with the better of the two peers;
// issue 16's attribute target ("within 10x of RocksDB's tag-index lookup") names its peer.
constexpr Metric kMetrics[] = {
    {"ingest_spans_per_s", "ingest, spans/s (batches of 1000, durable)", 1, 0, true, 5},
    {"ingest_cpu_seconds", "ingest CPU, s (all threads)", 1, 1, false, 0},
    {"disk_after_ingest", "on disk after ingest, MB", 1e-6, 1, false, 0},
    {"compact_seconds", "compaction / checkpoint, s", 1, 2, false, 0},
    {"disk_bytes", "on disk after compaction, MB", 1e-6, 1, false, 1.0 / 3},
    {"disk_bytes_per_span", "on disk per span, bytes", 1, 0, false, 0},
    {"open_seconds", "reopen, s", 1, 2, false, 0},
    {"get_median_us", "GetTrace median, µs", 1, 0, false, 1},
    {"get_p99_us", "GetTrace p99, µs", 1, 0, false, 0},
    {"search_median_ms", "FindTraces median, ms", 1, 2, false, 0.1},
    {"search_max_ms", "FindTraces max, ms", 1, 2, false, 0},
    {"attr_needle_median_ms", "attribute equality (needle) median, ms", 1, 2, false, 10, "rocksdb"},
    {"attr_needle_max_ms", "attribute equality (needle) max, ms", 1, 2, false, 0},
    {"attr_needle_first_ms", "attribute equality (needle) first run, ms", 1, 2, false, 0},
    {"attr_common_median_ms", "attribute equality (common value, 10-min window) median, ms", 1, 2,
     false, 10, "rocksdb"},
    {"attr_common_max_ms", "attribute equality (common value, 10-min window) max, ms", 1, 2, false,
     0},
    {"attr_common_first_ms", "attribute equality (common value) first run, ms", 1, 2, false, 0},
    {"scan_spans_per_s", "scan with attribute predicate, spans/s", 1, 0, true, 0},
    {"peak_rss_mb", "peak RSS, MB", 1, 0, false, 0},
};

std::string Grouped(double v, int decimals) {
  if (std::isnan(v) || std::isinf(v)) return "–";
  const std::string s = absl::StrFormat("%.*f", decimals, v);
  const size_t begin = s[0] == '-' ? 1 : 0;
  const size_t end = std::min(s.find('.'), s.size());
  std::string out = s.substr(0, begin);
  for (size_t i = begin; i < end; ++i) {
    if (i > begin && (end - i) % 3 == 0) out += ',';
    out += s[i];
  }
  out += s.substr(end);
  return out;
}

std::string Ratio(double r) {
  if (std::isnan(r) || std::isinf(r)) return "–";
  if (r >= 100) return absl::StrFormat("%.0f", r);
  if (r >= 0.1) return absl::StrFormat("%.2f", r);
  return absl::StrFormat("%.3f", r);
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
  }
  return "unknown CPU";
}

double MemTotalGiB() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key) {
    if (key == "MemTotal:") {
      in >> kb;
      break;
    }
    in.ignore(1 << 10, '\n');
  }
  return kb / (1024.0 * 1024.0);
}

// The mount holding `dir`: device, mount point and file system type from /proc/mounts.
std::string DescribeDisk(const std::string& dir) {
  char resolved[PATH_MAX];
  const std::string path = realpath(dir.c_str(), resolved) ? resolved : dir;
  std::ifstream in("/proc/mounts");
  std::string line, best_dev, best_mount, best_type;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() < 3) continue;
    const std::string& mount = f[1];
    const bool covers = path == mount || mount == "/" ||
                        absl::StartsWith(path, mount + "/");
    if (covers && mount.size() >= best_mount.size()) {
      best_dev = f[0];
      best_mount = mount;
      best_type = f[2];
    }
  }
  std::string out = absl::StrCat(best_type, " on ", best_dev, " (mounted at ", best_mount, ")");
  // /dev/vda1 -> vda, /dev/nvme0n1p2 -> nvme0n1: the block device's queue says what it is.
  std::string dev = best_dev.substr(best_dev.rfind('/') + 1);
  for (std::string candidate = dev; !candidate.empty(); candidate.pop_back()) {
    const std::string rot = ReadFirstLine("/sys/block/" + candidate + "/queue/rotational");
    if (rot.empty()) continue;
    const std::string model = ReadFirstLine("/sys/block/" + candidate + "/device/model");
    absl::StrAppend(&out, ", ", rot == "1" ? "rotational" : "non-rotational", " block device ",
                    candidate, model.empty() ? "" : absl::StrCat(" (", model, ")"),
                    absl::StartsWith(candidate, "vd") ? ", virtio virtual disk" : "");
    break;
  }
  return out;
}

std::string Text(const Results& results, const std::string& key) {
  auto it = results.find(key);
  return it == results.end() ? "–" : it->second;
}

std::string EngineLabel(const std::string& name) {
  for (const EngineInfo& info : AllEngines()) {
    if (info.name == name) return info.label;
  }
  return name;
}

}  // namespace

std::string DescribeMachine(const std::string& dir) {
  utsname u;
  uname(&u);
  return absl::StrFormat("%d cores (nproc), %s, %.1f GiB RAM, Linux %s; stores on %s",
                         static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), CpuModel(),
                         MemTotalGiB(), u.release, DescribeDisk(dir));
}

std::vector<std::string> Disagreements(const Report& report) {
  std::vector<std::string> out;
  const EngineRun* reference = nullptr;
  for (const EngineRun& run : report.runs) {
    if (!run.ran) continue;
    auto err = run.results.find("error");
    if (err != run.results.end()) {
      out.push_back(absl::StrCat(run.info.label, " failed: ", err->second));
      continue;
    }
    // The planted trace is the needle's only answer; agreeing on another count is still wrong.
    if (const double needles = GetNumber(run.results, "attr_needle_traces"); needles != 1) {
      out.push_back(absl::StrCat(run.info.label, " found ", Text(run.results, "attr_needle_traces"),
                                 " traces for ", kNeedleFilter, ", not the one planted"));
    }
    if (reference == nullptr) {
      reference = &run;
      continue;
    }
    for (const char* key : {"spans", "get_spans", "get_digest", "search_traces", "search_digest",
                            "attr_needle_traces", "attr_needle_digest", "attr_common_traces",
                            "attr_common_digest", "scan_matches", "scan_digest"}) {
      auto a = reference->results.find(key);
      auto b = run.results.find(key);
      const std::string va = a == reference->results.end() ? "(none)" : a->second;
      const std::string vb = b == run.results.end() ? "(none)" : b->second;
      if (va != vb) {
        out.push_back(absl::StrCat(run.info.label, " differs from ", reference->info.label,
                                   " in ", key, ": ", vb, " vs ", va));
      }
    }
  }
  return out;
}

std::string RenderMarkdown(const Report& report, const std::vector<std::string>& problems) {
  std::ostringstream md;
  const Workload& w = report.config.workload;
  md << absl::StrFormat(
      "### spanstore vs peers: %s spans in %s traces (checkout generator, seed %d, with the "
      "planted incident trace)\n\n",
      Grouped(static_cast<double>(w.spans), 0), Grouped(static_cast<double>(w.traces), 0), w.seed);
  md << "- Command: `" << report.command << "`\n";
  md << "- Machine: " << DescribeMachine(report.dir) << "\n";
  md << "- Durability, the same for every engine: each batch of " << report.config.batch
     << " spans is on disk (fdatasync of the engine's log) before the write call returns — "
        "spanstore `SyncPolicy::kEveryBatch`, RocksDB `WriteOptions::sync`, SQLite WAL mode "
        "with `synchronous=FULL`. One writer thread; background threads as each engine "
        "configures them.\n";
  md << "- Each engine runs in its own forked process (peak RSS from wait4); it generates the "
        "spans itself and only its own calls are timed. Queries run after compaction, a close "
        "and a reopen, with a warm page cache.\n";
  md << "- GetTrace: " << report.config.lookups
     << " lookups of trace ids drawn at random (fixed seed) from the ingested traces.\n";
  md << "- FindTraces: `" << kSearchFilter << "`, limit " << kSearchLimit << ", "
     << kSearchWindows << ", each run " << kSearchRounds << " times.\n";
  md << "- Attribute equality: the needle `" << kNeedleFilter << "` over the whole store, limit "
     << kAttributeLimit << " (one planted trace answers it); the common value `" << kCommonFilter
     << "`, limit " << kAttributeLimit << ", in the same windows as FindTraces. One warm-up "
     << "round, reported as the first run (the first time the reopened engine meets the "
     << "question, after the GetTrace and FindTraces rows; the OS page cache is warm; for the "
     << "common value the mean of its windows; RocksDB's includes filling its service "
     << "cache), then the needle " << kNeedleRounds << " times and the windows " << kCommonRounds
     << " times each (median and max).\n";
  md << "- Scan: every span, `" << kScanFilter << "`; spans/s is all spans over the scan's "
     << "time.\n\n";

  // Absolute figures.
  std::vector<const EngineRun*> columns;
  for (const EngineRun& run : report.runs) {
    if (run.ran) columns.push_back(&run);
  }
  md << "| |";
  for (const EngineRun* run : columns) md << " " << run->info.label << " |";
  md << "\n|---|";
  for (size_t i = 0; i < columns.size(); ++i) md << "--:|";
  md << "\n";
  for (const Metric& m : kMetrics) {
    md << "| " << m.label << " |";
    for (const EngineRun* run : columns) {
      md << " " << Grouped(GetNumber(run->results, m.key) * m.scale, m.decimals) << " |";
    }
    md << "\n";
  }

  // Ratios.
  std::vector<const EngineRun*> ours, peers;
  for (const EngineRun* run : columns) (run->info.is_spanstore ? ours : peers).push_back(run);
  if (!ours.empty() && !peers.empty()) {
    md << "\nspanstore ÷ peer (for spans/s higher is better for spanstore; for bytes, seconds "
          "and latencies lower is better). Targets compare spanstore with the better peer of "
          "each row, or with the peer the target names.\n\n| | target |";
    for (const EngineRun* o : ours) {
      for (const EngineRun* p : peers) md << " " << o->info.label << " ÷ " << p->info.label << " |";
    }
    for (const EngineRun* o : ours) md << " " << o->info.label << " vs better peer |";
    md << "\n|---|---|";
    for (size_t i = 0; i < ours.size() * (peers.size() + 1); ++i) md << "--:|";
    md << "\n";
    for (const Metric& m : kMetrics) {
      md << "| " << m.label << " | ";
      if (m.target == 0) {
        md << "|";
      } else {
        md << (m.higher_is_better ? "≥ " : "≤ ") << Ratio(m.target);
        if (m.versus != nullptr) md << " vs " << EngineLabel(m.versus);
        md << " |";
      }
      for (const EngineRun* o : ours) {
        for (const EngineRun* p : peers) {
          md << " " << Ratio(GetNumber(o->results, m.key) / GetNumber(p->results, m.key)) << " |";
        }
      }
      for (const EngineRun* o : ours) {
        double best = NAN;
        for (const EngineRun* p : peers) {
          if (m.versus != nullptr && p->info.name != m.versus) continue;
          const double v = GetNumber(p->results, m.key);
          if (std::isnan(v)) continue;
          if (std::isnan(best) || (m.higher_is_better ? v > best : v < best)) best = v;
        }
        const double r = GetNumber(o->results, m.key) / best;
        if (m.target == 0 || std::isnan(r)) {
          md << " " << Ratio(r) << " |";
          continue;
        }
        const bool met = m.higher_is_better ? r >= m.target : r <= m.target;
        const double off = m.higher_is_better ? m.target / r : r / m.target;
        md << " " << Ratio(r) << (met ? " met" : absl::StrCat(" missed ", Ratio(off), "×"))
           << " |";
      }
      md << "\n";
    }
  }

  // Physical limits.
  const Results& ph = report.physical;
  if (!ph.empty()) {
    const double per_span = GetNumber(ph, "otlp_bytes_per_span");
    auto spans_per_s = [&](double mbps) { return Grouped(mbps * 1e6 / per_span, 0); };
    md << "\nPhysical limits, same run, stores' disk (" << Grouped(GetNumber(ph, "write_test_mb"), 0)
       << " MB per disk and memory test; codecs on the first "
       << Grouped(GetNumber(ph, "codec_test_spans"), 0) << " spans as OTLP protobuf, "
       << Grouped(per_span, 0) << " bytes per span, one request per batch):\n\n";
    md << "| | figure |\n|---|--:|\n";
    md << "| memcpy | " << Grouped(GetNumber(ph, "memcpy_gbps"), 1) << " GB/s |\n";
    md << "| sequential write, 1 MiB writes, no fdatasync | "
       << Grouped(GetNumber(ph, "write_mbps"), 0) << " MB/s |\n";
    md << "| sequential write, fdatasync after every 1 MiB | "
       << Grouped(GetNumber(ph, "write_sync_mbps"), 0) << " MB/s |\n";
    md << "| 4 KiB write + fdatasync, median | " << Grouped(GetNumber(ph, "sync_4k_median_us"), 0)
       << " µs |\n";
    for (const auto& [key, name] : {std::pair<std::string, std::string>{"lz4", "LZ4"},
                                    {"zstd", "Zstd level 3"}}) {
      const double c = GetNumber(ph, key + "_compress_mbps");
      const double d = GetNumber(ph, key + "_decompress_mbps");
      md << "| " << name << " compress (ratio " << Ratio(GetNumber(ph, key + "_ratio")) << ") | "
         << Grouped(c, 0) << " MB/s = " << spans_per_s(c) << " spans/s |\n";
      md << "| " << name << " decompress | " << Grouped(d, 0) << " MB/s = " << spans_per_s(d)
         << " spans/s |\n";
    }
  }

  md << "\nEngines:\n\n";
  for (const EngineRun& run : report.runs) {
    md << "- **" << run.info.label << "**: " << run.info.description;
    if (!run.ran) md << " — *not run: " << run.skipped << "*";
    md << "\n";
  }
  md << "\n";
  if (problems.empty()) {
    const EngineRun* any = nullptr;
    for (const EngineRun* run : columns) any = run;
    if (any != nullptr) {
      md << absl::StrFormat(
          "Every engine returned the same data: %s spans from the GetTrace lookups (OTLP "
          "digest %s), the same %s traces from the searches, the same %s trace for the needle "
          "and %s traces for the common value, the same %s spans from the scan.\n",
          Grouped(GetNumber(any->results, "get_spans"), 0), Text(any->results, "get_digest"),
          Grouped(GetNumber(any->results, "search_traces"), 0),
          Grouped(GetNumber(any->results, "attr_needle_traces"), 0),
          Grouped(GetNumber(any->results, "attr_common_traces"), 0),
          Grouped(GetNumber(any->results, "scan_matches"), 0));
    }
  } else {
    md << "**The engines disagree or failed:**\n\n";
    for (const std::string& p : problems) md << "- " << p << "\n";
  }
  return md.str();
}

}  // namespace spanstore::compare
