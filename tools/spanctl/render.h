// Text output of spanctl: times, durations, tables and the trace waterfall.

#ifndef SPANSTORE_TOOLS_SPANCTL_RENDER_H_
#define SPANSTORE_TOOLS_SPANCTL_RENDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "spanstore/store.h"

namespace spanstore::spanctl {

// 2026-01-01T00:00:01.234Z (UTC, milliseconds).
std::string FormatTime(uint64_t unix_nanos);
// 850ns, 12.3us, 1.23ms, 5.01s, 2m03s.
std::string FormatDuration(uint64_t nanos);
// 1.2 KiB, 35.0 MiB.
std::string FormatBytes(uint64_t bytes);

// Left-aligned columns separated by two spaces; numeric-looking cells right-aligned.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

struct WaterfallOptions {
  int width = 120;     // total characters per line
  bool color = false;  // ANSI colors for errors and the critical path
  int top_gaps = 3;    // how many of the largest gaps to mark
};

// The spans of a trace as a tree ordered by start time: service, operation, a bar placed on the
// trace's time axis, and the duration. Spans on the critical path (the chain of children that
// determines when the root finishes) are marked '*'; the largest idle gaps -- time between a
// parent's start (or the end of the previous sibling) and a child's start, when nothing else of
// the parent was running -- are marked with their length.
std::string RenderWaterfall(const Trace& trace, const WaterfallOptions& options);

// Indexes (into trace.spans) of the critical path, root first.
std::vector<size_t> CriticalPath(const Trace& trace);

struct Gap {
  size_t span;         // index of the span that started late
  uint64_t nanos;      // idle time before it
};
// The largest idle gaps, longest first.
std::vector<Gap> LargestGaps(const Trace& trace, size_t max);

}  // namespace spanstore::spanctl

#endif  // SPANSTORE_TOOLS_SPANCTL_RENDER_H_
