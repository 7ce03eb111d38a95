// The comparison's output: one markdown document with the machine, the absolute figures per
// engine, spanstore/peer ratios against the targets, the physical limits, and whether every
// engine returned the same data.

#ifndef SPANSTORE_BENCHMARKS_COMPARE_REPORT_H_
#define SPANSTORE_BENCHMARKS_COMPARE_REPORT_H_

#include <string>
#include <vector>

#include "benchmarks/compare/engine.h"
#include "benchmarks/compare/runner.h"

namespace spanstore::compare {

struct EngineRun {
  EngineInfo info;
  bool ran = false;
  std::string skipped;  // why it did not run
  Results results;
  double peak_rss_bytes = 0;
};

struct Report {
  std::string command;
  std::string dir;
  RunConfig config;
  Results physical;
  std::vector<EngineRun> runs;
};

// nproc, CPU model, memory, and the file system and device holding `dir`.
std::string DescribeMachine(const std::string& dir);

// Differences between the engines' answers (empty when they all agree), and the engines' own
// errors.
std::vector<std::string> Disagreements(const Report& report);

std::string RenderMarkdown(const Report& report, const std::vector<std::string>& problems);

}  // namespace spanstore::compare

#endif  // SPANSTORE_BENCHMARKS_COMPARE_REPORT_H_
