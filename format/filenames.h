// Names of the files in a store directory (docs/store_layout.md):
//   DIR/LOCK              advisory lock held by the process that has the store open
//   DIR/wal/NNNNNN.log    WAL segments, numbered in write order
//   DIR/MANIFEST          live blocks and the first un-compacted segment (format/manifest.h)
//   DIR/blocks/NNNNNN.blk compacted column blocks (format/block_format.h)
//   DIR/blocks/NNNNNN.sum the block's analysis summary, derived and rebuildable
//                         (engine/summary_file.h)

#ifndef SPANSTORE_FORMAT_FILENAMES_H_
#define SPANSTORE_FORMAT_FILENAMES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"

namespace spanstore {

inline std::string LockFileName(const std::string& dir) { return dir + "/LOCK"; }
inline std::string WalDirName(const std::string& dir) { return dir + "/wal"; }
inline std::string SegmentFileName(const std::string& dir, uint64_t number) {
  return absl::StrFormat("%s/wal/%06d.log", dir, number);
}

inline std::string ManifestFileName(const std::string& dir) { return dir + "/MANIFEST"; }
inline std::string BlockDirName(const std::string& dir) { return dir + "/blocks"; }
inline std::string BlockFileName(const std::string& dir, uint64_t number) {
  return absl::StrFormat("%s/blocks/%06d.blk", dir, number);
}

inline std::string SummaryFileName(const std::string& dir, uint64_t number) {
  return absl::StrFormat("%s/blocks/%06d.sum", dir, number);
}
// The summary beside a block file: "…/NNNNNN.blk" -> "…/NNNNNN.sum".
inline std::string SummaryPathOfBlock(const std::string& block_path) {
  std::string p = block_path;
  if (p.size() >= 4 && p.compare(p.size() - 4, 4, ".blk") == 0) p.resize(p.size() - 4);
  return p + ".sum";
}

// The number in a file name "NNNNNN<suffix>", or nullopt for any other name.
inline std::optional<uint64_t> ParseNumberedFileName(std::string_view name,
                                                     std::string_view suffix) {
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(0, name.size() - suffix.size());
  if (digits.size() > 18) return std::nullopt;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}
inline std::optional<uint64_t> ParseBlockFileName(std::string_view name) {
  return ParseNumberedFileName(name, ".blk");
}

inline std::optional<uint64_t> ParseSummaryFileName(std::string_view name) {
  return ParseNumberedFileName(name, ".sum");
}

// The number of a segment file name ("000042.log" -> 42), or nullopt for any other name.
inline std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  return ParseNumberedFileName(name, ".log");
}

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_FILENAMES_H_
