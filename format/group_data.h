// GroupData: the decoded columns of one row group of a block, decoded column by column on demand.
//
// Read() fetches the group page (one read, one checksum). A scan then decodes the predicate
// columns (operations, times, status), narrows the candidate rows, and only then decodes the
// wide columns -- and Materialize builds a Span only for the rows that survive. Every column is
// validated as it is decoded (lengths, ids inside their tables, row counts), so a damaged page
// is DataLoss naming the block, group and column, never an out-of-bounds read.
//
// Thread safety: thread-compatible; one query owns a GroupData.

#ifndef SPANSTORE_FORMAT_GROUP_DATA_H_
#define SPANSTORE_FORMAT_GROUP_DATA_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "format/block_format.h"
#include "format/block_reader.h"
#include "format/block_tables.h"
#include "format/group_page.h"
#include "format/page_cache.h"
#include "format/value_codes.h"
#include "spanstore/span.h"

namespace spanstore {

// Which parts of a span MaterializeFields builds besides those every span gets (ids, parent,
// times, service, name, kind, status): a scan builds only what its predicates read, tests
// them, and builds the whole span only for the rows that match.
struct SpanFields {
  bool misc = false;        // flags, trace_state, status_message, dropped counts
  bool context = false;     // resource and instrumentation scope
  bool attributes = false;  // span attributes: those of `keys` (block key ids), or all
  const std::vector<bool>* keys = nullptr;
  bool events = false;
  bool links = false;

  static SpanFields All() { return {true, true, true, nullptr, true, true}; }
};

class GroupData {
 public:
  GroupData(const BlockReader& block, size_t group);
  ~GroupData();
  // Pinned: the parsed columns are views into the page and the scratch buffers.
  GroupData(const GroupData&) = delete;
  GroupData& operator=(const GroupData&) = delete;

  uint32_t rows() const { return rows_; }
  uint64_t first_row() const { return first_row_; }
  const BlockReader& block() const { return block_; }
  size_t group() const { return group_; }

  // Only rows [begin, end) will be materialized (a GetTrace needs a few): the per-row indexes
  // of the variable-length columns then stop at `end`, and attribute values are resolved from
  // `begin` on. Call before loading anything.
  void LimitRows(uint32_t begin, uint32_t end);

  // Put this group, every column decompressed, into the block's page cache (when it has one)
  // on a miss: trace reads do, scans do not (a scan passes over far more groups than a cache
  // holds, and would evict what lookups read again; it also decompresses only the columns its
  // predicates need). Every read looks in the cache first, once per GroupData.
  void FillCache() { fill_cache_ = true; }

  // The block's trace index, which gives the rows their trace ids, for a caller that holds it
  // already: Load otherwise asks the block for it (BlockReader::LoadTraceIndex).
  void SetTraceIndex(TraceIndexCache::Ref index) { index_ = std::move(index); }

  // Decodes `column` (reading the page first, and the columns it depends on) unless done.
  // The four time columns decode together.
  absl::Status Load(int column);
  absl::Status LoadAll();

  // Valid after the column is loaded.
  uint64_t start(uint32_t row) const { return c_->starts[row]; }  // kColStartClass
  uint64_t end(uint32_t row) const { return c_->ends[row]; }
  // Duration as Span::duration_nanos computes it (0 when end precedes start).
  uint64_t duration(uint32_t row) const {
    return c_->ends[row] > c_->starts[row] ? c_->ends[row] - c_->starts[row] : 0;
  }
  uint32_t op_id(uint32_t row) const { return c_->op_ids[row]; }  // kColOp
  const BlockTables::Op& op(uint32_t row) const { return tables_.ops[c_->op_ids[row]]; }
  StatusCode status(uint32_t row) const { return static_cast<StatusCode>(c_->statuses[row]); }
  // The row's context id (kColContext).
  uint32_t context_id(uint32_t row) const {
    return tables_.op_contexts[op(row).context_begin + c_->context_ranks[row]];
  }
  // From the block's trace index, which gives every row its trace (no column needed).
  // REQUIRES: a Load succeeded (the first one reads the index if it is not in memory yet).
  const TraceId& trace_id(uint32_t row) const;
  // A hint for trace_id(): the rows asked for belong to trace index entry `entry`.
  void SetTraceEntry(size_t entry) { entry_ = entry; }
  // Start loading into the cache what Materialize will read of the block's tables for rows
  // [begin, end), in three waves, each needing what the one before brought in: the rows'
  // operations (REQUIRES kColOp), then their templates, context ids and names (REQUIRES
  // kColContext), then the contexts' bytes, key names, template and block strings (REQUIRES
  // LoadAll). A block touched by a random trace lookup is cold in the cache, and these misses
  // were most of a lookup; issued together, with decompression in between, they overlap.
  void PrefetchOps(uint32_t begin, uint32_t end) const;
  void PrefetchTables(uint32_t begin, uint32_t end) const;
  void PrefetchValues(uint32_t begin, uint32_t end) const;
  SpanId span_id(uint32_t row) const;  // kColSpanId
  // True if the group's heap of attribute key `key` (a key id) holds `value`. A string value
  // of the key is in that heap, among the key's block strings or among the operations'
  // templates. Needs kColAttrStrings.
  bool HeapHasString(uint32_t key, std::string_view value) const;

  // Calls fn(row, value) for each row of the group (in order) that has span attribute `key` (a
  // key id), walking only that key's value stream: a scan tests a predicate on one attribute
  // without decoding the others. op_positions[op id] is the key's first position among the
  // operation's keys, or -1 when the operation lacks it; a key repeated in a span yields the
  // first value, as attribute lookups do. Validates what it reads (DataLoss).
  absl::Status ForEachValueOf(uint32_t key, absl::Span<const int32_t> op_positions,
                              absl::FunctionRef<void(uint32_t, const AnyValue&)> fn);

  // The decompressed bytes of `column` as stored (a view valid while this GroupData lives),
  // for measurements; reads the page first.
  absl::Status RawColumn(int column, std::string_view* raw);

  // Builds the whole span of `row`. REQUIRES: LoadAll() succeeded; row in the LimitRows range.
  absl::Status Materialize(uint32_t row, Span* span) const;
  // Loads what MaterializeFields(fields) reads, and builds those parts of the span of `row`
  // (the others keep whatever *span held). REQUIRES for MaterializeFields: LoadFields(fields)
  // succeeded; row in the LimitRows range.
  absl::Status LoadFields(const SpanFields& fields);
  absl::Status MaterializeFields(uint32_t row, const SpanFields& fields, Span* span) const;

 private:
  absl::Status Read();
  // The decompressed bytes of `column` (a view into the page or a scratch buffer), after checking its
  // claimed size against the group's row count.
  absl::Status Decompress(int column, std::string_view* raw);
  // Reads the page and decompresses every column into one buffer: the page cache's entry.
  absl::Status DecompressWholeGroup(std::string* out);
  absl::Status Parse(int column, std::string_view data);
  absl::Status ParseValues(std::string_view in);
  absl::Status Corrupt(int column, std::string_view what) const;

  const BlockReader& block_;
  const BlockTables& tables_;
  const size_t group_;
  const uint32_t rows_;
  const uint64_t first_row_;
  uint32_t begin_ = 0;
  uint32_t limit_;
  bool read_ = false;
  bool fill_cache_ = false;
  // The trace index entry trace_id() found last: rows asked for in turn mostly share it.
  mutable size_t entry_ = SIZE_MAX;
  TraceIndexCache::Ref index_;  // the block's, set by the first Load (or SetTraceIndex)
  GroupPage page_;
  std::array<bool, kNumBlockColumns> loaded_{};
  std::array<std::string_view, kNumBlockColumns> raw_{};
  // The group from the page cache that raw_ views point into, held while this object lives;
  // null when not cached (or no cache). Looked up at the first column decompressed.
  PageCache::Page cached_;
  bool cache_checked_ = false;
  std::string_view span_ids_;

  static constexpr uint32_t kNoSlot = UINT32_MAX;
  // The typed attribute columns: per key present in the group, its string heap.
  struct KeyHeap {
    uint32_t key = 0;  // block key id
    std::vector<std::string_view> strings;
  };
  // One decoded value code per attribute occurrence, rows in order.
  struct ValueRef {
    enum Kind : uint8_t { kTemplate, kInline, kBlockString, kHeapString, kInt };
    Kind kind = kTemplate;
    uint32_t heap = 0;   // heaps index (kHeapString)
    uint64_t value = 0;  // string id, offset into attr.values (kInline), or int bits
  };
  struct Stream {
    bool ints = false;  // kFormInts codes
    ValueCodeReader codes;
  };
  // Reads a key stream's header in attr.values (key id, form, bytes) into *key and *stream.
  bool ParseStreamHeader(std::string_view* in, uint64_t* key, Stream* stream) const;
  // Why a stream's next code could not be read.
  absl::Status StreamError(const Stream& stream) const;
  // Where a row's parent id comes from (decoded from kColParent).
  enum ParentKind : uint8_t { kNoParent, kExplicitParent, kParentInGroup };
  // The buffers of the decoded columns. They come from a per-thread pool and go back to it,
  // capacity kept: a lookup decodes a group or two, and allocating a fresh set of kilobyte
  // buffers for each (then freeing them among the thousands of small strings of the spans
  // built) costs more than decoding the small columns themselves.
  struct Columns {
    std::string page_bytes;
    std::array<std::string, kNumBlockColumns> scratch;
    std::vector<int32_t> parent_rows;   // -1: none in this group
    std::vector<uint8_t> parent_kinds;  // ParentKind per row
    std::vector<uint32_t> op_ids;
    std::vector<uint32_t> context_ranks;
    std::vector<uint32_t> statuses;
    std::vector<uint64_t> starts, ends;
    std::vector<SpanId> parents;
    std::vector<uint32_t> misc_offsets;
    std::vector<KeyHeap> heaps;
    std::vector<uint32_t> heap_slots;  // block key id -> heaps index, or kNoSlot
    std::vector<ValueRef> refs;
    std::vector<uint32_t> attr_first;  // row - begin_ -> its first entry in refs
    std::vector<Stream> streams;        // per key column of attr.values
    std::vector<uint32_t> stream_slots;  // block key id -> streams index, or kNoSlot
    std::vector<uint32_t> event_offsets, link_offsets;
  };
  static std::vector<std::unique_ptr<Columns>>& Pool();  // this thread's
  static std::unique_ptr<Columns> Acquire();
  static void Release(std::unique_ptr<Columns> columns);
  std::unique_ptr<Columns> c_;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_GROUP_DATA_H_
