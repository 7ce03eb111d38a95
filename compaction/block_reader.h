// BlockReader: an open block file (compaction/block_format.h) as a query source.
//
// Open reads the footer, the meta page and the trace index -- a few bytes per trace and per row
// group, and the block-wide tables -- and keeps them in memory; group pages are read and
// decompressed per query. So GetTrace on a
// block without the trace, or a scan whose window misses the block, touches no file at all.
//
// A block is shared by the snapshots that include it. When compaction replaces it, the store
// calls MarkObsolete; the file is deleted when the last snapshot drops its reference, so a scan
// that started before the swap keeps reading its files.
//
// Thread safety: immutable after Open; every method may be called concurrently.

#ifndef SPANSTORE_COMPACTION_BLOCK_READER_H_
#define SPANSTORE_COMPACTION_BLOCK_READER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compaction/block_builder.h"
#include "compaction/block_format.h"
#include "compaction/block_tables.h"
#include "engine/read_source.h"
#include "index/trace_index.h"
#include "index/zone_map.h"
#include "spanstore/env.h"

namespace spanstore {

class GroupData;

class BlockReader final : public ReadSource {
 public:
  struct Group {
    uint64_t first_row = 0;
    uint32_t rows = 0;
    // Without its services (zone.services() is empty): those are `services`, ids into
    // tables().services, ascending. Copies of the names in every group would cost more than
    // the block's ids can back (a long service name in thousands of groups).
    ZoneMap zone;
    std::vector<uint32_t> services;
    uint64_t offset = 0;  // of the group page in the file
    uint64_t size = 0;
  };

  // Opens `path` and validates its footer, meta page and index. DataLoss naming the file (and
  // offset) for damage; FailedPrecondition for a block written by a newer format version.
  static absl::StatusOr<std::shared_ptr<BlockReader>> Open(Env* env, const std::string& path,
                                                           uint64_t number);
  ~BlockReader() override;

  // The file is deleted when the last reference to this reader goes away.
  void MarkObsolete() { obsolete_.store(true, std::memory_order_release); }

  // ReadSource.
  absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* out) const override;
  absl::Status Scan(const SpanQuery& query,
                    absl::FunctionRef<bool(const Span&)> visitor) const override;
  // Answers from the predicate columns alone when the query needs nothing else (no attribute
  // predicates, no filter expression): no span is built.
  absl::Status ScanKeys(const SpanQuery& query,
                        absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor) const override;
  bool Contains(const Span& span) const override;
  void CollectServices(absl::btree_set<std::string>* out) const override;
  void CollectOperations(const std::string& service,
                         absl::btree_set<std::string>* out) const override;

  // Every row in block order (trace id, start, span id) until the visitor returns false. The
  // visitor also gets the row's context as EncodeSpanContext writes it (a view into the meta
  // page, valid while this reader lives), so a merge need not re-encode it.
  absl::Status ForEachRow(
      absl::FunctionRef<bool(const Span&, std::string_view context)> visitor) const;

  // Reads every page, checks every checksum and decodes every column of every row group.
  absl::Status Verify() const;

  bool MayContainTrace(const TraceId& id) const { return index_.Lookup(id).has_value(); }
  const TraceIndex& trace_index() const { return index_; }

  uint64_t number() const { return number_; }
  const std::string& path() const { return path_; }
  uint64_t rows() const { return rows_; }
  uint64_t traces() const { return index_.size(); }
  uint64_t file_bytes() const { return file_bytes_; }
  const ZoneMap& zone() const { return zone_; }
  const std::vector<Group>& groups() const { return groups_; }
  // Bytes of each column (BlockColumnName) over all groups, then of the meta page and the
  // trace index.
  const std::array<uint64_t, kNumBlockParts>& column_bytes() const { return column_bytes_; }
  const BlockTables& tables() const { return tables_; }
  // Bytes of index structures and tables held in memory.
  uint64_t memory_bytes() const;

  // For GroupData: reads the bytes of one group page into *out.
  absl::Status ReadGroup(size_t group, std::string* out) const;
  // Sets the context fields of *span (resource, scope) to those of context `id`, which must be
  // an id of tables().contexts.
  void DecodeContext(uint32_t id, Span* span) const;

 private:
  BlockReader(Env* env, std::string path, uint64_t number);
  absl::Status Load();
  // The decoded meta page of a block whose meta page starts at `meta_offset`.
  absl::Status ParseMeta(std::string_view meta, uint64_t meta_offset);
  size_t GroupOfRow(uint64_t row) const;
  struct Plan;
  // What a query asks of this block's columns, resolved once per scan.
  void MakePlan(const SpanQuery& query, Plan* plan) const;
  // False when group `g`'s zone map rules out every row for the query.
  bool GroupMayMatch(const Group& g, const SpanQuery& query, const Plan& plan) const;
  // The rows of group `data` that pass the query's column predicates (time, duration,
  // operation, status) and the group-level attribute skips.
  absl::Status CandidateRows(const SpanQuery& query, const Plan& plan, GroupData* data,
                             std::vector<uint32_t>* rows) const;

  Env* const env_;
  const std::string path_;
  const uint64_t number_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_bytes_ = 0;
  uint64_t rows_ = 0;
  std::vector<Group> groups_;
  std::vector<uint64_t> group_first_rows_;  // groups_[g].first_row, compact for searching
  ZoneMap zone_;
  std::string meta_;  // the decoded meta page; the tables point into it
  BlockTables tables_;
  // Per key id: the string values among the operations' templates.
  std::vector<std::vector<std::string_view>> template_strings_;
  absl::btree_map<std::string, absl::btree_set<std::string>> operations_;
  TraceIndex index_;
  std::array<uint64_t, kNumBlockParts> column_bytes_{};
  std::atomic<bool> obsolete_{false};
};

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_BLOCK_READER_H_
