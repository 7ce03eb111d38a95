// Per-block trace-id index: open addressing (linear probing) on XXH3_64bits(trace id) mapping a
// trace to its rows. Rows are sorted by trace id, so a trace is one contiguous range
// (first_row, count). The table keeps the full 16-byte id in every slot, so the in-memory index
// is also the block's exact membership filter: GetTrace on a block without the trace answers
// from memory, with no false positives and no page decompressed.
//
// Serialized form (little-endian): the list of traces, not the table, which Parse rebuilds:
//   entry_count fixed32
//   entries     entry_count x { trace id 16 bytes, varint zig-zag(first_row - end of the
//               previous entry's range), varint count (> 0) }
//   checksum    fixed64  XXH3_64bits of everything above
// About 18 bytes per trace on disk; in memory the table's load factor is at most 3/4, about 32
// bytes per trace.
//
// Thread safety: TraceIndexBuilder is thread-compatible. A TraceIndex is immutable after
// construction and safe for concurrent Lookup.

#ifndef SPANSTORE_INDEX_TRACE_INDEX_H_
#define SPANSTORE_INDEX_TRACE_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spanstore/span.h"

namespace spanstore {

struct RowRange {
  uint32_t first_row = 0;
  uint32_t count = 0;
  friend bool operator==(const RowRange&, const RowRange&) = default;
};

class TraceIndex {
 public:
  // Parses a serialized index. Damage (bad checksum, sizes that disagree, a full table, an
  // empty trace) -> DataLoss naming `file`.
  static absl::StatusOr<TraceIndex> Parse(std::string_view data, std::string_view file);

  // The rows of `id` in this block, or nullopt if the block does not hold it.
  std::optional<RowRange> Lookup(const TraceId& id) const;

  // Calls fn(id, rows) for every trace in the index (in slot order).
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Slot& slot : slots_) {
      if (slot.rows.count != 0) fn(slot.id, slot.rows);
    }
  }

  // An empty index (holds no trace).
  TraceIndex() = default;

  size_t size() const { return entries_; }
  // Bytes the table occupies in memory.
  size_t MemoryBytes() const { return slots_.size() * sizeof(Slot); }

 private:
  friend class TraceIndexBuilder;
  struct Slot {
    TraceId id;
    RowRange rows;
  };
  std::vector<Slot> slots_;  // size is a power of two
  size_t entries_ = 0;
};

class TraceIndexBuilder {
 public:
  // Records that `id` occupies `rows`. InvalidArgument for an empty range. The block writer adds
  // each trace once (rows are sorted by trace id); an id added again keeps its last range.
  absl::Status Add(const TraceId& id, RowRange rows);

  // Appends the serialized table to `out`.
  void Serialize(std::string* out) const;

  // The in-memory index of what was added (for a block just written).
  TraceIndex Build() const;

 private:
  friend class TraceIndex;
  std::vector<std::pair<TraceId, RowRange>> entries_;
};

}  // namespace spanstore

#endif  // SPANSTORE_INDEX_TRACE_INDEX_H_
