#include "tools/spanctl/render.h"

#include <algorithm>
#include <ctime>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore::spanctl {

std::string FormatTime(uint64_t unix_nanos) {
  const time_t secs = static_cast<time_t>(unix_nanos / 1'000'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         static_cast<int>(unix_nanos / 1'000'000 % 1000));
}

std::string FormatDuration(uint64_t ns) {
  if (ns < 1000) return absl::StrCat(ns, "ns");
  if (ns < 1'000'000) return absl::StrFormat("%.1fus", ns / 1e3);
  if (ns < 1'000'000'000) return absl::StrFormat("%.2fms", ns / 1e6);
  if (ns < 60'000'000'000ull) return absl::StrFormat("%.2fs", ns / 1e9);
  const uint64_t s = ns / 1'000'000'000;
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60);
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return absl::StrFormat("%.1f %s", v, units[u]);
}

namespace {

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  const char c = s[0];
  return (c >= '0' && c <= '9') || (c == '-' && s.size() > 1);
}

// Display width of UTF-8 text (code points; good enough for our tables).
size_t Width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string Pad(const std::string& s, size_t width, bool right) {
  const size_t w = Width(s);
  if (w >= width) return s;
  return right ? std::string(width - w, ' ') + s : s + std::string(width - w, ' ');
}

struct Tree {
  explicit Tree(const Trace& trace) : trace(trace) {
    absl::flat_hash_map<SpanId, size_t> index;
    for (size_t i = 0; i < trace.spans.size(); ++i) index[trace.spans[i].span_id] = i;
    children.resize(trace.spans.size());
    for (size_t i = 0; i < trace.spans.size(); ++i) {
      const Span& s = trace.spans[i];
      auto parent = s.is_root() ? index.end() : index.find(s.parent_span_id);
      if (parent == index.end() || parent->second == i) {
        roots.push_back(i);  // a root, or a span whose parent is not (yet) stored
      } else {
        children[parent->second].push_back(i);
      }
    }
    // Damaged input can name parents in a cycle (a -> b -> a); such spans are reachable from no
    // root. Detach the first unreached span of each cycle from its parent and show it as a root,
    // so that every span is drawn and the walks below terminate.
    std::vector<bool> reached(trace.spans.size(), false);
    auto reach = [&](size_t from) {
      std::vector<size_t> todo = {from};
      while (!todo.empty()) {
        const size_t n = todo.back();
        todo.pop_back();
        if (reached[n]) continue;
        reached[n] = true;
        for (size_t k : children[n]) todo.push_back(k);
      }
    };
    for (size_t r : roots) reach(r);
    for (size_t i = 0; i < trace.spans.size(); ++i) {
      if (reached[i]) continue;
      auto& siblings = children[index[trace.spans[i].parent_span_id]];
      siblings.erase(std::find(siblings.begin(), siblings.end(), i));
      roots.push_back(i);
      reach(i);
    }
    auto by_start = [&](size_t a, size_t b) {
      return trace.spans[a].start_time_unix_nano < trace.spans[b].start_time_unix_nano;
    };
    std::sort(roots.begin(), roots.end(), by_start);
    for (auto& c : children) std::sort(c.begin(), c.end(), by_start);
  }
  uint64_t End(size_t i) const {
    const Span& s = trace.spans[i];
    return std::max(s.end_time_unix_nano, s.start_time_unix_nano);
  }
  const Trace& trace;
  std::vector<size_t> roots;
  std::vector<std::vector<size_t>> children;
};

void WalkCritical(const Tree& tree, size_t node, uint64_t limit, std::vector<size_t>* path,
                  int depth) {
  path->push_back(node);
  if (depth > 1000) return;  // pathological parent chains
  std::vector<size_t> kids = tree.children[node];
  std::sort(kids.begin(), kids.end(), [&](size_t a, size_t b) { return tree.End(a) > tree.End(b); });
  uint64_t cursor = std::min(tree.End(node), limit);
  for (size_t k : kids) {
    // The last child to finish before the cursor is what the parent was waiting for.
    if (tree.trace.spans[k].start_time_unix_nano >= cursor) continue;
    WalkCritical(tree, k, cursor, path, depth + 1);
    cursor = tree.trace.spans[k].start_time_unix_nano;
  }
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  std::vector<bool> numeric(header.size(), true);
  for (size_t c = 0; c < header.size(); ++c) widths[c] = Width(header[c]);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], Width(row[c]));
      numeric[c] = numeric[c] && LooksNumeric(row[c]);
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool is_header) {
    std::string l;
    for (size_t c = 0; c < cells.size() && c < widths.size(); ++c) {
      if (c > 0) l += "  ";
      const bool last = c + 1 == cells.size();
      l += last && !numeric[c] ? cells[c] : Pad(cells[c], widths[c], numeric[c] && !is_header);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header, true);
  for (const auto& row : rows) line(row, false);
  return out;
}

std::vector<size_t> CriticalPath(const Trace& trace) {
  std::vector<size_t> path;
  if (trace.spans.empty()) return path;
  Tree tree(trace);
  // The root that finishes last bounds the trace.
  size_t root = tree.roots[0];
  for (size_t r : tree.roots) {
    if (tree.End(r) > tree.End(root)) root = r;
  }
  WalkCritical(tree, root, UINT64_MAX, &path, 0);
  return path;
}

std::vector<Gap> LargestGaps(const Trace& trace, size_t max) {
  std::vector<Gap> gaps;
  if (trace.spans.empty()) return gaps;
  Tree tree(trace);
  for (size_t p = 0; p < trace.spans.size(); ++p) {
    uint64_t busy_until = trace.spans[p].start_time_unix_nano;
    for (size_t k : tree.children[p]) {
      const uint64_t start = trace.spans[k].start_time_unix_nano;
      if (start > busy_until) gaps.push_back({k, start - busy_until});
      busy_until = std::max(busy_until, tree.End(k));
    }
  }
  std::sort(gaps.begin(), gaps.end(), [](const Gap& a, const Gap& b) { return a.nanos > b.nanos; });
  if (gaps.size() > max) gaps.resize(max);
  return gaps;
}

std::string RenderWaterfall(const Trace& trace, const WaterfallOptions& options) {
  if (trace.spans.empty()) return "";
  Tree tree(trace);
  uint64_t t0 = UINT64_MAX, t1 = 0;
  for (size_t i = 0; i < trace.spans.size(); ++i) {
    t0 = std::min(t0, trace.spans[i].start_time_unix_nano);
    t1 = std::max(t1, tree.End(i));
  }
  const uint64_t total = std::max<uint64_t>(t1 - t0, 1);
  const std::vector<size_t> critical = CriticalPath(trace);
  const absl::flat_hash_set<size_t> on_path(critical.begin(), critical.end());
  absl::flat_hash_map<size_t, uint64_t> gap_before;
  const std::vector<Gap> gaps = LargestGaps(trace, options.top_gaps);
  for (const Gap& g : gaps) gap_before[g.span] = g.nanos;

  const int label_width = std::max(30, options.width * 2 / 5);
  const int bar_width = std::max(10, options.width - label_width - 14);
  const char* red = options.color ? "\033[31m" : "";
  const char* bold = options.color ? "\033[1m" : "";
  const char* yellow = options.color ? "\033[33m" : "";
  const char* reset = options.color ? "\033[0m" : "";

  std::string out = absl::StrFormat(
      "trace %s  %d spans  %s  started %s\n", trace.trace_id.ToHex(), trace.spans.size(),
      FormatDuration(t1 - t0), FormatTime(t0));
  if (trace.truncated) {
    absl::StrAppend(&out, absl::StrFormat("(showing %d of %d spans)\n", trace.spans.size(),
                                          trace.total_spans));
  }
  absl::StrAppend(&out, Pad("service / operation", label_width, false), " ",
                  Pad(absl::StrCat("0", std::string(bar_width - 1 - FormatDuration(total).size(), ' '),
                                   FormatDuration(total)),
                      bar_width, false),
                  "  duration\n");

  struct Item {
    size_t span;
    int depth;
  };
  std::vector<Item> stack;
  for (auto it = tree.roots.rbegin(); it != tree.roots.rend(); ++it) stack.push_back({*it, 0});
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    const Span& s = trace.spans[item.span];
    const bool critical_span = on_path.contains(item.span);
    const bool error = s.status_code == StatusCode::kError;
    std::string label = absl::StrCat(std::string(std::min(item.depth, 20) * 2, ' '),
                                     critical_span ? "*" : " ", error ? "!" : " ", s.service_name,
                                     " ", s.name);
    if (Width(label) > static_cast<size_t>(label_width)) {
      std::string cut;
      size_t w = 0;
      for (unsigned char c : label) {
        if ((c & 0xC0) != 0x80 && ++w > static_cast<size_t>(label_width - 1)) break;
        cut.push_back(static_cast<char>(c));
      }
      label = cut + "~";
    }
    const int from = static_cast<int>((s.start_time_unix_nano - t0) * bar_width / total);
    int to = static_cast<int>((tree.End(item.span) - t0) * bar_width / total);
    to = std::max(to, from + 1);
    to = std::min(to, bar_width);
    std::string bar;
    for (int i = 0; i < bar_width; ++i) {
      bar += i >= from && i < to ? "█" : " ";
    }
    std::string line = absl::StrCat(Pad(label, label_width, false), " ",
                                    error ? red : (critical_span ? bold : ""), bar, reset, "  ",
                                    FormatDuration(s.duration_nanos()));
    if (auto g = gap_before.find(item.span); g != gap_before.end()) {
      absl::StrAppend(&line, "  ", yellow, "<- gap ", FormatDuration(g->second), reset);
    }
    absl::StrAppend(&out, line, "\n");
    const auto& kids = tree.children[item.span];
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, item.depth + 1});
  }
  absl::StrAppend(&out, "\n* critical path   ! error   <- gap: idle time before the span started "
                        "(largest ",
                  gaps.size(), ")\n");
  return out;
}

}  // namespace spanstore::spanctl
