// Per-block trace-id index: which rows of a block hold a trace. A trace's rows are contiguous
// (format/block_format.h), so a trace is one range (first_row, count).
//
// Serialized form (little-endian): the list of traces, not the table, which Parse rebuilds:
//   entry_count fixed32
//   entries     entry_count x { trace id 16 bytes, varint zig-zag(first_row - end of the
//               previous entry's range), varint count (> 0) }
//   checksum    fixed64  XXH3_64bits of everything above
// About 18 bytes per trace on disk. In memory: the list in its on-disk order (which is row order
// in a block, so it also maps each row to its trace: the row groups store no trace ids) and an
// open-addressing table (linear probing on XXH3_64bits of the id) of 8-byte slots -- a 32-bit
// fingerprint of the hash and the entry's index -- at load factor at most 3/4, about 35 bytes
// per trace. A probe compares fingerprints, so a block without the trace is answered from the
// slot array alone but for a rare fingerprint collision (Filter::MayHold); Lookup and Find then
// compare the full id in the entry, so their answers are exact.
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
  // The index into entries() of `id`'s (last) entry, or nullopt.
  std::optional<size_t> Find(const TraceId& id) const;
  // The hash Lookup probes with, and a cheap test on it: false means the index certainly does
  // not hold the trace. A store asks every block for one trace; computing the hash once and
  // prefetching every block's first slot before testing overlaps the cache misses.
  static uint64_t Hash(const TraceId& id);
  // The slot table alone, for a caller that keeps the tables of many indexes side by side.
  struct Filter {
    const uint64_t* slots = nullptr;  // null: the index is empty
    uint64_t mask = 0;
    void Prefetch(uint64_t hash) const {
      if (slots != nullptr) __builtin_prefetch(&slots[hash & mask]);
    }
    bool MayHold(uint64_t hash) const;
  };
  Filter filter() const {
    return slots_.empty() ? Filter() : Filter{slots_.data(), slots_.size() - 1};
  }

  struct Entry {
    TraceId id;
    RowRange rows;
  };
  // Every entry, in the serialized order (row order for a block). An id added twice appears
  // twice here; Lookup finds its last range.
  const std::vector<Entry>& entries() const { return entries_; }

  // Calls fn(id, rows) for every entry, in order.
  template <typename Fn>
  void ForEach(Fn fn) const {
    for (const Entry& e : entries_) fn(e.id, e.rows);
  }

  // True when the entries cover rows [0, rows) in order, each starting where the previous one
  // ended: then EntryOfRow is defined for every row.
  bool CoversRowsInOrder(uint64_t rows) const;
  // Index of the entry holding `row`. REQUIRES: CoversRowsInOrder(n) and row < n.
  size_t EntryOfRow(uint64_t row) const;

  // An empty index (holds no trace).
  TraceIndex() = default;

  // Distinct traces.
  size_t size() const { return distinct_; }
  // Bytes the index occupies in memory.
  size_t MemoryBytes() const {
    return slots_.size() * sizeof(uint64_t) + entries_.size() * sizeof(Entry);
  }

 private:
  friend class TraceIndexBuilder;
  // Builds slots_ and distinct_ from entries_.
  void BuildTable();
  std::vector<Entry> entries_;
  // Power-of-two table: 0 empty, else fingerprint << 32 | (entry index + 1).
  std::vector<uint64_t> slots_;
  size_t distinct_ = 0;
};

class TraceIndexBuilder {
 public:
  // Records that `id` occupies `rows`. InvalidArgument for an empty range. The block writer adds
  // each trace once; an id added again keeps its last range (and Repeated reports it).
  absl::Status Add(const TraceId& id, RowRange rows);
  // An id added more than once, if any (a reader refuses such an index). Sorts a copy of the
  // ids: 16 bytes per trace for the call's duration.
  std::optional<TraceId> Repeated() const;

  // Appends the serialized index (the list of traces; Parse rebuilds the table) to `out`.
  void Serialize(std::string* out) const;

  // The in-memory index of what was added (for a block just written).
  TraceIndex Build() const;

 private:
  friend class TraceIndex;
  std::vector<std::pair<TraceId, RowRange>> entries_;
};

}  // namespace spanstore

#endif  // SPANSTORE_INDEX_TRACE_INDEX_H_
