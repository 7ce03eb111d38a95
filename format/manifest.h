// The manifest: which blocks are live and which WAL segments still hold un-compacted spans.
//
// It is one small file, DIR/MANIFEST, replaced atomically (write MANIFEST.tmp, fdatasync,
// rename, fsync the directory), so a crash leaves either the old or the new set, never a mix.
// A block file is written and synced before the manifest that names it; a file the manifest no
// longer names is deleted only after that manifest is durable. Open deletes whatever a crash
// left in between (docs/store_layout.md).
//
// Encoding (docs/store_layout.md): magic "SPNMANIF", format version fixed32, then varints
// next_block_number, first_live_segment, block count, and per block: number, level, rows,
// traces, min_start, max_start, file_bytes; then fixed64 xxh3 of everything before. Version 1
// (magic "SPNMANI1", no version field, the same body) is still read.
//
// Thread safety: plain value type and stateless functions.

#ifndef SPANSTORE_FORMAT_MANIFEST_H_
#define SPANSTORE_FORMAT_MANIFEST_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spanstore/env.h"

namespace spanstore {

inline constexpr std::string_view kManifestMagic = "SPNMANIF";
// Bump on any incompatible change; Decode refuses a newer version (FailedPrecondition naming
// the file and both versions) before trusting anything else in the file.
// Version 3 allows levels above 1 (time-window merges, compaction/merge_policy.h). Encode
// still writes version 2 while every level is 0 or 1, so a store that never merged twice stays
// readable by older builds; one that did is refused by them as "newer", not taken as damage.
inline constexpr uint32_t kManifestFormatVersion = 3;
// Levels above this are damage: a merge raises the level by one, and with the block-size cap
// even one-row L0 blocks stop being merged after ~21 levels of fan-in 2.
inline constexpr uint32_t kMaxManifestLevel = 63;

struct ManifestBlock {
  uint64_t number = 0;
  // 0: written from memtables; L+1: the output of a merge of level-L blocks (a salvage's
  // rebuild says 1 for any merged block).
  uint32_t level = 0;
  uint64_t rows = 0;
  uint64_t traces = 0;
  uint64_t min_start = 0;
  uint64_t max_start = 0;
  uint64_t file_bytes = 0;
  friend bool operator==(const ManifestBlock&, const ManifestBlock&) = default;
};

struct Manifest {
  uint64_t next_block_number = 1;
  // WAL segments numbered below this are wholly in blocks: Open neither replays nor keeps them.
  uint64_t first_live_segment = 0;
  std::vector<ManifestBlock> blocks;  // oldest first
  friend bool operator==(const Manifest&, const Manifest&) = default;

  std::string Encode() const;
  // DataLoss naming `file` for damage; FailedPrecondition for a newer format version.
  static absl::StatusOr<Manifest> Decode(std::string_view data, std::string_view file);
};

// True if the last 8 bytes of `data` are the xxh3 of the rest, as this build computes it. A
// manifest whose version field says "newer" but whose checksum does not match is more likely
// damaged than new (kSalvage rebuilds it; a newer writer may compute the checksum differently,
// but then its blocks are newer too and the rebuild refuses them before changing anything).
bool ManifestChecksumMatches(std::string_view data);

// Reads DIR/MANIFEST; a store without one (new, or written before compaction existed) gets the
// empty manifest.
absl::StatusOr<Manifest> ReadManifest(Env* env, const std::string& dir);
// Replaces DIR/MANIFEST atomically and durably.
absl::Status WriteManifest(Env* env, const std::string& dir, const Manifest& manifest);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_MANIFEST_H_
