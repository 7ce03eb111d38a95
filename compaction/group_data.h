// GroupData: the decoded columns of one row group of a block, loaded column by column on demand.
//
// A scan loads the predicate columns (start time, duration, service, name, kind/status) first,
// narrows the candidate rows, and only then loads the wide columns -- and Materialize builds a
// Span only for the rows that survive. Every column is validated when it is loaded (lengths,
// dictionary ids, row counts), so a damaged page is DataLoss naming the block, group and column,
// never an out-of-bounds read.
//
// Thread safety: thread-compatible; one query owns a GroupData.

#ifndef SPANSTORE_COMPACTION_GROUP_DATA_H_
#define SPANSTORE_COMPACTION_GROUP_DATA_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "compaction/block_format.h"
#include "compaction/block_reader.h"
#include "spanstore/span.h"

namespace spanstore {

class GroupData {
 public:
  GroupData(const BlockReader& block, size_t group);
  // Pinned: the parsed columns are views into raw_.
  GroupData(const GroupData&) = delete;
  GroupData& operator=(const GroupData&) = delete;

  uint32_t rows() const { return rows_; }
  uint64_t first_row() const { return first_row_; }

  // Only rows [0, rows) will be materialized (a GetTrace needs a few): the per-row indexes of
  // the variable-length columns then stop there. Call before loading anything.
  void LimitRows(uint32_t rows);

  // Reads, decompresses and parses `column` unless it is loaded already.
  absl::Status Load(int column);
  absl::Status LoadAll();

  // Valid after the column is loaded.
  uint64_t start(uint32_t row) const { return static_cast<uint64_t>(starts_[row]); }
  uint64_t end(uint32_t row) const {
    return static_cast<uint64_t>(starts_[row]) + static_cast<uint64_t>(duration_diffs_[row]);
  }
  // Duration as Span::duration_nanos computes it (0 when end precedes start). Needs the start
  // and duration columns.
  uint64_t duration(uint32_t row) const {
    // Unsigned, like Span::duration_nanos: a span longer than INT64_MAX ns (end = UINT64_MAX)
    // has a negative signed difference but a huge duration.
    return end(row) > start(row) ? end(row) - start(row) : 0;
  }
  uint32_t service_id(uint32_t row) const { return service_ids_[row]; }
  const std::vector<std::string_view>& service_dict() const { return block_.service_dict(); }
  uint32_t name_id(uint32_t row) const { return name_ids_[row]; }
  const std::vector<std::string_view>& name_dict() const { return block_.name_dict(); }
  SpanKind kind(uint32_t row) const { return static_cast<SpanKind>(kinds_[row]); }
  StatusCode status(uint32_t row) const { return static_cast<StatusCode>(statuses_[row]); }
  const TraceId& trace_id(uint32_t row) const { return trace_ids_[row]; }
  SpanId span_id(uint32_t row) const;
  // True if some span of the group has span attribute `key` with string value `value` (from
  // the key's string heap). Needs kColAttrStrings.
  bool HasAttributeString(std::string_view key, std::string_view value) const;

  // Builds the whole span of `row`. REQUIRES: LoadAll() succeeded.
  absl::Status Materialize(uint32_t row, Span* span) const;

 private:
  absl::Status Parse(int column, std::string_view data);
  absl::Status Corrupt(int column, std::string_view what) const;

  const BlockReader& block_;
  const size_t group_;
  const uint32_t rows_;
  const uint64_t first_row_;
  uint32_t limit_;
  std::array<bool, kNumBlockColumns> loaded_{};
  std::array<std::string, kNumBlockColumns> raw_;

  std::vector<int64_t> starts_;
  std::vector<int64_t> duration_diffs_;
  std::vector<uint32_t> service_ids_, name_ids_;
  std::vector<uint32_t> kinds_, statuses_;
  std::vector<TraceId> trace_ids_;
  std::string_view span_ids_;
  std::vector<SpanId> parents_;
  std::vector<uint32_t> misc_offsets_;
  std::vector<uint32_t> context_ids_;
  std::string_view key_stream_;
  // Per row: offset of its attribute count in key_stream_.
  std::vector<uint32_t> key_offsets_;
  // The typed attribute columns: per key present in the group, its string heap.
  struct KeyColumn {
    uint32_t key = 0;  // block key id
    std::vector<std::string_view> strings;
  };
  std::vector<KeyColumn> key_columns_;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  std::vector<uint32_t> key_slots_;  // block key id -> key_columns_ index, or kNoSlot
  // Per attribute occurrence (rows in order): its key column and where its value starts in
  // raw_[kColAttrValues]; attr_first_[r] is row r's first occurrence.
  std::vector<uint32_t> attr_first_, attr_slot_, attr_value_at_;
  std::vector<uint32_t> event_offsets_, link_offsets_;
};

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_GROUP_DATA_H_
