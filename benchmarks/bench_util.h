// What the standalone benchmarks (store_bench, merge_bench) share: wall and CPU clocks, a
// timestamped progress line, and the parsing of counts on their command lines -- so both time
// and read their flags the same way.

#ifndef SPANSTORE_BENCHMARKS_BENCH_UTIL_H_
#define SPANSTORE_BENCHMARKS_BENCH_UTIL_H_

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace spanstore::bench {

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Wall seconds since `t0`.
inline double Since(std::chrono::steady_clock::time_point t0) {
  return Seconds(std::chrono::steady_clock::now() - t0);
}

// CPU seconds of the whole process (every thread: the compaction thread's work counts).
inline double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// "[   12.3s] message" on stderr, timed from the first call.
inline void Progress(const std::string& message) {
  static const auto start = std::chrono::steady_clock::now();
  std::cerr << absl::StrFormat("[%7.1fs] %s\n", Since(start), message);
}

// Accepts 1000000, 1,000,000, 1_000_000, 1e6, 1M, 1k.
inline bool ParseCount(std::string text, uint64_t* out) {
  text = absl::StrReplaceAll(text, {{",", ""}, {"_", ""}});
  if (text.empty()) return false;
  uint64_t scale = 1;
  const char last = text.back();
  if (last == 'k' || last == 'K') scale = 1'000;
  if (last == 'm' || last == 'M') scale = 1'000'000;
  if (last == 'g' || last == 'G') scale = 1'000'000'000;
  if (scale != 1) text.pop_back();
  double value;
  if (absl::SimpleAtoi(text, out)) {
    *out *= scale;
    return true;
  }
  if (!absl::SimpleAtod(text, &value) || !(value >= 0) || value * scale > 1e18) return false;
  *out = static_cast<uint64_t>(std::llround(value * scale));
  return true;
}

}  // namespace spanstore::bench

#endif  // SPANSTORE_BENCHMARKS_BENCH_UTIL_H_
