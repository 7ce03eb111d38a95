// TraceIndexCache: the blocks' trace indexes held in memory within a byte budget
// (Options::trace_index_cache_bytes), least recently used evicted first.
//
// Why it exists: a block's trace index (index/trace_index.h) costs ~35 bytes per trace in
// memory, ~190 MB for a 100M-span store once lookups have touched every block, and a reader
// used to keep each index for its life once read, so a reader's memory grew with the store.
// Opening a block reads none (the meta page's trace filter answers "not here"), and the index
// is read on the first lookup, scan or merge that needs it; this cache is where it is kept
// then, so the indexes of blocks nobody asks for go first. An index read again after its
// eviction costs one read and parse of its list (~18 bytes per trace; a few ms for a
// million-span block).
//
// Entries are whole indexes, keyed by BlockReader::cache_id() (unique in the process, never a
// file name, as in PageCache). A reader erases its entry when it closes. An index handed out
// stays alive while its user holds it (a shared pointer), so memory can exceed the budget by
// the indexes the queries running at that moment hold. An index larger than the whole budget
// is returned without being cached.
//
// Thread safety: every method may be called concurrently (one mutex: a store has one entry per
// block, and an entry is looked up once per block a query reads, not per row).

#ifndef SPANSTORE_FORMAT_TRACE_INDEX_CACHE_H_
#define SPANSTORE_FORMAT_TRACE_INDEX_CACHE_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "index/trace_index.h"
#include "util/port_mutex.h"

namespace spanstore {

class TraceIndexCache {
 public:
  using Ref = std::shared_ptr<const TraceIndex>;

  // Bytes charged per entry besides the index's own: the list node, the map slot and the
  // shared pointer's control block, rounded up.
  static constexpr uint64_t kEntryOverhead = 128;

  // A capacity of 0 keeps nothing: every Lookup misses.
  explicit TraceIndexCache(uint64_t capacity_bytes);
  ~TraceIndexCache();
  TraceIndexCache(const TraceIndexCache&) = delete;
  TraceIndexCache& operator=(const TraceIndexCache&) = delete;

  // The index of reader `reader`, made the most recently used, or nullptr.
  Ref Lookup(uint64_t reader);
  // Caches `index` for `reader` (replacing an entry already there), evicting the least
  // recently used entries beyond the budget, and returns it.
  Ref Insert(uint64_t reader, TraceIndex index);
  // Drops the entry of `reader`, if any (its index lives on while a user holds it).
  void Erase(uint64_t reader);

  uint64_t capacity() const { return capacity_; }
  uint64_t usage() const;
  // Lookups answered and missed (BlockReader looks up again after a miss, under its lock,
  // so a miss that waited for another thread's read counts twice).
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t reader = 0;
    Ref index;
    uint64_t charge = 0;
  };

  const uint64_t capacity_;
  mutable port::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // front: most recently used
  absl::flat_hash_map<uint64_t, std::list<Entry>::iterator> map_ ABSL_GUARDED_BY(mu_);
  uint64_t usage_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_TRACE_INDEX_CACHE_H_
