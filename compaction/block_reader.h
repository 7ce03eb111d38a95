// BlockReader: an open block file (compaction/block_format.h) as a query source.
//
// Open reads the footer, the meta page and the trace index -- a few bytes per trace and per row
// group -- and keeps them in memory; pages are read and decompressed per query. So GetTrace on a
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
#include "engine/read_source.h"
#include "index/trace_index.h"
#include "index/zone_map.h"
#include "spanstore/env.h"

namespace spanstore {

class GroupData;

class BlockReader final : public ReadSource {
 public:
  struct PageExtent {
    uint64_t offset = 0;
    uint64_t size = 0;
  };
  struct Group {
    uint64_t first_row = 0;
    uint32_t rows = 0;
    ZoneMap zone;
    std::array<PageExtent, kNumBlockColumns> pages;
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

  // Every row in block order (trace id, start, span id) until the visitor returns false.
  absl::Status ForEachRow(absl::FunctionRef<bool(const Span&)> visitor) const;

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
  const std::array<uint64_t, kNumBlockColumns>& column_bytes() const { return column_bytes_; }
  // Block-wide dictionaries (views into the meta page held in memory).
  const std::vector<std::string_view>& service_dict() const { return service_dict_; }
  const std::vector<std::string_view>& name_dict() const { return name_dict_; }
  const std::vector<std::string_view>& key_dict() const { return key_dict_; }
  const std::vector<std::string_view>& context_dict() const { return context_dict_; }
  // Block-wide string values of attribute `key` (a key id); empty for most keys.
  const std::vector<std::string_view>& key_strings(uint32_t key) const {
    static const std::vector<std::string_view> kNone;
    return key < key_strings_.size() ? key_strings_[key] : kNone;
  }
  // Bytes of index structures held in memory.
  uint64_t memory_bytes() const;

  // For GroupData: reads and decompresses one page.
  absl::Status ReadPage(size_t group, int column, std::string* raw) const;

 private:
  BlockReader(Env* env, std::string path, uint64_t number);
  absl::Status Load();
  absl::Status ParseMeta(std::string_view meta);
  // Calls fn(group index) for the groups overlapping rows [first, first + count).
  size_t GroupOfRow(uint64_t row) const;
  // The rows of group `data` that pass the query's column predicates (time, duration,
  // services, names, kinds, status) and the group-level attribute skips. False: none can match.
  absl::Status CandidateRows(const SpanQuery& query, GroupData* data,
                             std::vector<uint32_t>* rows) const;

  Env* const env_;
  const std::string path_;
  const uint64_t number_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_bytes_ = 0;
  uint64_t rows_ = 0;
  std::vector<Group> groups_;
  ZoneMap zone_;
  absl::btree_map<std::string, absl::btree_set<std::string>> operations_;
  std::string meta_;  // the decoded meta page; the dictionaries point into it
  std::vector<std::string_view> service_dict_, name_dict_, key_dict_, context_dict_;
  std::vector<std::vector<std::string_view>> key_strings_;  // by key id
  TraceIndex index_;
  std::array<uint64_t, kNumBlockColumns> column_bytes_{};
  std::atomic<bool> obsolete_{false};
};

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_BLOCK_READER_H_
