// The memtable: the spans of one WAL segment, kept in their encoded row form (span_codec.h) and
// indexed by trace id, service and operation.
//
// Spans are encoded once, by the appender; the memtable copies the bytes into an arena whose
// chunks never move, and publishes each batch by bumping an entry count with release semantics.
// A reader that loads the count (acquire) may then read entries [0, count) without any lock,
// however long its scan takes; only the small indexes are behind a mutex, held briefly.
//
// Thread safety: one writer at a time (the store's group-commit leader, or recovery); any number
// of concurrent readers.

#ifndef SPANSTORE_ENGINE_MEMTABLE_H_
#define SPANSTORE_ENGINE_MEMTABLE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "engine/read_source.h"
#include "format/span_codec.h"
#include "spanstore/span.h"
#include "util/port_mutex.h"

namespace spanstore {

class MemTable {
 public:
  // Entries per index block and blocks per memtable: 4096 * 4096 = 16M spans at most.
  static constexpr size_t kEntriesPerBlock = 4096;
  static constexpr size_t kMaxBlocks = 4096;
  static constexpr size_t kMaxEntries = kEntriesPerBlock * kMaxBlocks;

  explicit MemTable(uint64_t segment_number);
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // Adds the spans of a batch. Contexts (resource + scope) are interned: each distinct one is
  // stored once per memtable. A span equal to one already present (same bytes and context) is
  // skipped, as after a retried Append; the number added is returned.
  // REQUIRES: one writer at a time; !full().
  size_t Add(const SpanBatchView& batch);

  // Published entries; entries [0, count()) are immutable and readable without locks.
  size_t count() const { return count_.load(std::memory_order_acquire); }
  EncodedSpan entry(size_t i) const;
  // True when there may be no room for another batch (of up to kEntriesPerBlock spans and
  // contexts): the store then seals the segment.
  bool full() const {
    return count() + kEntriesPerBlock > kMaxEntries ||
           contexts_.load(std::memory_order_relaxed) + kEntriesPerBlock > kMaxContexts;
  }

  // Encoded spans of the trace among entries [0, limit).
  void GetTrace(const TraceId& trace_id, size_t limit, std::vector<EncodedSpan>* out) const;

  // Distinct services and, per service, span names.
  void CollectServices(absl::btree_set<std::string>* out) const;
  void CollectOperations(const std::string& service, absl::btree_set<std::string>* out) const;

  uint64_t segment_number() const { return segment_number_; }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t distinct_traces() const;

 private:
  static constexpr size_t kMaxContextBlocks = 256;
  static constexpr size_t kMaxContexts = kEntriesPerBlock * kMaxContextBlocks;

  struct Entry {
    const char* data;
    uint32_t size;
    uint32_t context;  // index into the context table, or kNoContext
  };
  struct Blob {
    const char* data;
    uint32_t size;
  };
  char* Allocate(size_t n);
  std::string_view CopyToArena(std::string_view bytes);
  // Index of `context` in the table, adding it when new. REQUIRES: mu_ held, single writer.
  uint32_t InternContext(std::string_view context) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string_view context(uint32_t i) const;

  const uint64_t segment_number_;

  // Writer-only state.
  std::vector<uint32_t> batch_contexts_;  // Add's map of batch context -> interned context
  std::vector<std::unique_ptr<char[]>> chunks_;
  char* chunk_ptr_ = nullptr;
  size_t chunk_left_ = 0;

  std::array<std::atomic<Entry*>, kMaxBlocks> blocks_{};
  std::atomic<size_t> count_{0};
  std::array<std::atomic<Blob*>, kMaxContextBlocks> context_blocks_{};
  std::atomic<size_t> contexts_{0};
  std::atomic<uint64_t> bytes_{0};

  mutable port::Mutex mu_;
  // The entries of each trace, in insertion order: a chain from `first` through next_, so that
  // adding a span allocates nothing of its own (a vector per trace grew ~6 times per trace).
  struct TraceChain {
    uint32_t first;
    uint32_t last;
  };
  absl::flat_hash_map<TraceId, TraceChain> traces_ ABSL_GUARDED_BY(mu_);
  // next_[i]: the entry after entry i in its trace's chain, or kNoEntry.
  static constexpr uint32_t kNoEntry = UINT32_MAX;
  std::vector<uint32_t> next_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, absl::btree_set<std::string>> operations_ ABSL_GUARDED_BY(mu_);
  // Context bytes (views into the arena) -> index.
  absl::flat_hash_map<std::string_view, uint32_t> context_index_ ABSL_GUARDED_BY(mu_);
};

// A memtable as a query's snapshot sees it: the entries published when the snapshot was taken.
class MemTableSource final : public ReadSource {
 public:
  MemTableSource(std::shared_ptr<const MemTable> mem, size_t count)
      : mem_(std::move(mem)), count_(count) {}

  absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* out) const override;
  absl::Status Scan(const SpanQuery& query,
                    absl::FunctionRef<bool(const Span&)> visitor) const override;
  bool Contains(const Span& span) const override;
  void CollectServices(absl::btree_set<std::string>* out) const override;
  void CollectOperations(const std::string& service,
                         absl::btree_set<std::string>* out) const override;

 private:
  std::shared_ptr<const MemTable> mem_;
  size_t count_;
};

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_MEMTABLE_H_
