// spanstore_compare: spanstore against the storage a tracing backend would otherwise embed
// (RocksDB with Jaeger's key layout, SQLite), on the same generated spans, in one run, with the
// machine's physical limits measured alongside. Prints a markdown report and optionally writes
// it to a file; exits 1 when an engine fails or the engines return different data.
//
//   spanstore_compare [--spans N] [--lookups N] [--engines a,b,...] [--dir DIR] [--out FILE]
//                     [--seed S] [--keep] [--no-physical]

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "benchmarks/compare/engine.h"
#include "benchmarks/compare/report.h"
#include "benchmarks/compare/runner.h"

namespace spanstore::compare {
namespace {

constexpr char kUsage[] = R"(usage: spanstore_compare [flags]

Runs the same workload against spanstore (LZ4 and Zstd) and the peers built in (RocksDB with
Jaeger's key layout, SQLite), each in its own process, and prints a markdown table of absolute
figures and spanstore/peer ratios, plus the machine's physical limits.

  --spans N        spans to generate (default 1000000; 10000000 for the large run)
  --lookups N      GetTrace lookups of random trace ids (default 10000)
  --engines LIST   comma-separated subset of: spanstore-zstd,spanstore-lz4,rocksdb,sqlite
  --dir DIR        where the stores go (default $TMPDIR or /tmp); a fresh subdirectory is made
  --out FILE       also write the report to FILE
  --seed S         generator seed (default 1)
  --keep           keep the stores afterwards
  --no-physical    skip the disk/memory/codec measurements
)";

struct Flags {
  uint64_t spans = 1000000;
  uint64_t lookups = 10000;
  std::vector<std::string> engines;
  std::string dir;
  std::string out;
  uint64_t seed = 1;
  bool keep = false;
  bool physical = true;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto next = [&]() -> bool {
      if (eq != std::string::npos) return true;
      if (i + 1 >= argc) {
        fprintf(stderr, "spanstore_compare: %s needs a value\n", arg.c_str());
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto number = [&](uint64_t* out) {
      if (!next()) return false;
      if (!absl::SimpleAtoi(value, out) || *out == 0) {
        fprintf(stderr, "spanstore_compare: %s wants a positive integer, got '%s'\n",
                arg.c_str(), value.c_str());
        return false;
      }
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      fputs(kUsage, stdout);
      exit(0);
    } else if (arg == "--spans") {
      if (!number(&f->spans)) return false;
    } else if (arg == "--lookups") {
      if (!number(&f->lookups)) return false;
    } else if (arg == "--seed") {
      if (!number(&f->seed)) return false;
    } else if (arg == "--engines") {
      if (!next()) return false;
      f->engines = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else if (arg == "--dir") {
      if (!next()) return false;
      f->dir = value;
    } else if (arg == "--out") {
      if (!next()) return false;
      f->out = value;
    } else if (arg == "--keep") {
      f->keep = true;
    } else if (arg == "--no-physical") {
      f->physical = false;
    } else {
      fprintf(stderr, "spanstore_compare: unknown flag %s (see --help)\n", arg.c_str());
      return false;
    }
  }
  for (const std::string& e : f->engines) {
    bool known = false;
    for (const EngineInfo& info : AllEngines()) known |= info.name == e;
    if (!known) {
      fprintf(stderr, "spanstore_compare: unknown engine '%s' (see --help)\n", e.c_str());
      return false;
    }
  }
  return true;
}

// Runs `work` in a forked child and returns what it reported, with the child's peak RSS.
// The parent holds no engine and no span data, so the child's RSS is its own work's.
template <typename Work>
Results RunInChild(Work work, double* peak_rss_bytes) {
  int fds[2];
  if (pipe(fds) != 0) return Results{{"error", absl::StrCat("pipe: ", strerror(errno))}};
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return Results{{"error", absl::StrCat("fork: ", strerror(errno))}};
  if (pid == 0) {
    close(fds[0]);
    const std::string text = SerializeResults(work());
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = write(fds[1], text.data() + done, text.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  rusage ru{};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  *peak_rss_bytes = static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux reports KiB
  Results results = ParseResults(text);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    results["error"] = WIFSIGNALED(status)
                           ? absl::StrCat("child killed by signal ", WTERMSIG(status))
                           : absl::StrCat("child exited with ", WEXITSTATUS(status));
  }
  return results;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  std::string base = flags.dir;
  if (base.empty()) {
    const char* tmp = getenv("TMPDIR");
    base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  }
  const std::string root = absl::StrCat(base, "/spanstore_compare.", getpid());
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    fprintf(stderr, "spanstore_compare: cannot create %s: %s\n", root.c_str(),
            ec.message().c_str());
    return 1;
  }

  Report report;
  std::vector<std::string> words(argv, argv + argc);
  words[0] = std::filesystem::path(words[0]).filename().string();
  report.command = absl::StrJoin(words, " ");
  report.dir = root;
  fprintf(stderr, "spanstore_compare: planning %llu spans\n",
          static_cast<unsigned long long>(flags.spans));
  report.config.workload = PlanWorkload(flags.spans, flags.seed);
  report.config.lookups = flags.lookups;

  if (flags.physical) {
    double rss = 0;
    report.physical = RunInChild([&] { return RunPhysical(report.config, root); }, &rss);
  }
  for (const EngineInfo& info : AllEngines()) {
    EngineRun run;
    run.info = info;
    const bool chosen =
        flags.engines.empty() ||
        std::find(flags.engines.begin(), flags.engines.end(), info.name) != flags.engines.end();
    if (!chosen) {
      run.skipped = "not selected with --engines";
    } else if (!info.available) {
      run.skipped = "its library was not found when the program was configured";
      fprintf(stderr, "spanstore_compare: %s skipped: not built (install its -dev package and "
                      "re-run cmake)\n", info.name.c_str());
    } else {
      const std::string dir = root + "/" + info.name;
      run.results = RunInChild([&] { return RunEngine(info.name, report.config, dir); },
                               &run.peak_rss_bytes);
      run.ran = true;
      SetNumber(&run.results, "peak_rss_mb", run.peak_rss_bytes / 1e6);
      SetNumber(&run.results, "disk_bytes_per_span",
                GetNumber(run.results, "disk_bytes") /
                    static_cast<double>(report.config.workload.spans));
      if (!flags.keep) std::filesystem::remove_all(dir, ec);
    }
    report.runs.push_back(std::move(run));
  }
  if (!flags.keep) std::filesystem::remove_all(root, ec);

  std::vector<std::string> problems = Disagreements(report);
  if (auto it = report.physical.find("error"); it != report.physical.end()) {
    problems.push_back("physical limits: " + it->second);
  }
  const std::string md = RenderMarkdown(report, problems);
  fputs(md.c_str(), stdout);
  fflush(stdout);
  if (!flags.out.empty()) {
    std::ofstream out(flags.out, std::ios::trunc);
    out << md;
    if (!out.good()) {
      fprintf(stderr, "spanstore_compare: cannot write %s\n", flags.out.c_str());
      return 1;
    }
  }
  return problems.empty() ? 0 : 1;
}

}  // namespace
}  // namespace spanstore::compare

int main(int argc, char** argv) { return spanstore::compare::Main(argc, argv); }
