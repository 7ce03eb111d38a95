// PageCache: decompressed column pages of block row groups, kept within a byte budget
// (Options::page_cache_bytes) and evicted least recently used first.
//
// Why it exists: a trace lookup decompresses and parses every column of the one or two row
// groups holding the trace, and with Zstd pages the decompression is about a quarter of the
// lookup. Lookups cluster (a trace viewed, then its neighbours; a search's candidates read
// again to build results), so the groups they touch are worth keeping decompressed -- within a
// bound, because a store holds far more decompressed bytes than any reader should keep.
//
// What is cached: one row group with every column decompressed, in one buffer (GroupData lays
// it out): a lookup costs one hash probe and one lock, and the columns a reader walks through
// sit next to each other in memory. Keys name the reader that read them (BlockReader::cache_id(),
// unique in the process), not the block file: a block number reused after a repair, or a reader
// reopened on a rewritten file, can never see another file's bytes. A reader erases its entries
// when it closes (they would never be looked up again).
//
// A reader looks a group up once per query that touches it (GroupData), not once per column.
//
// Admission: while a shard has room for another page (of its entries' average size), a group
// is cached on its first miss -- inserting it evicts nothing, so a store whose groups fit the
// budget, and every store while the cache warms up, is cached as it is read. Once a shard is
// full, a group is cached on its second miss, not its first: each shard remembers the keys of
// its recent misses (keys only, twice as many as it holds pages, at least 64); Lookup says
// whether the key missed within that window, and GroupData caches the group only then: when
// lookups are spread over a store many times the budget, a page inserted on every first miss
// would evict one as likely to be read again, so groups read again soon (a trace opened twice,
// its neighbours) are the ones kept. Measured, old rule (second miss only) against this one,
// alternating runs: spanstore_compare at 1M spans (10,000 lookups on a freshly opened store,
// Zstd; the store fits the budget) GetTrace p50 48-50 -> 41-42 us; lookup_bench at 10M (uniform,
// 64 MiB, mean) 54-58 -> 53-56 us, hit rate 8 % -> 15 % (evictions leave room now and then).
//
// Memory: usage() counts each entry's bytes plus a fixed per-entry overhead; Insert evicts
// until the shard holding the key is within its share of the budget. A page handed out stays
// alive while its user holds it (a shared pointer), so the bytes in use can exceed the budget
// by the pages of the queries running at that moment -- a group per query.
//
// Thread safety: every method may be called concurrently (up to 16 shards, a mutex each).

#ifndef SPANSTORE_FORMAT_PAGE_CACHE_H_
#define SPANSTORE_FORMAT_PAGE_CACHE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "util/port_mutex.h"

namespace spanstore {

class PageCache {
 public:
  struct Key {
    uint64_t reader = 0;  // BlockReader::cache_id()
    uint64_t group = 0;
    friend bool operator==(const Key&, const Key&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.reader, k.group);
    }
  };
  using Page = std::shared_ptr<const std::string>;

  // Bytes charged per entry besides its contents: the list node, the map slot, the shared
  // pointer's control block and the string header, rounded up.
  static constexpr uint64_t kEntryOverhead = 160;

  // A capacity of 0 keeps nothing (every Lookup misses, Insert returns its page uncached).
  // `shards` (1..16) splits the budget: fewer suit a few large entries (a store's value
  // filters, a few MB per block), which would crowd some shards while others stay empty.
  explicit PageCache(uint64_t capacity_bytes, size_t shards = kShards);
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // The page of `key`, made the most recently used, or nullptr. A caller that would insert
  // what it reads on a miss passes `admit`: the miss is remembered, and `*admit` says whether
  // the key missed recently already, i.e. whether the page is worth inserting (Admission).
  Page Lookup(const Key& key, bool* admit = nullptr);
  // Caches `bytes` under `key` (replacing an entry already there) and returns the page. A page
  // larger than a shard's budget is returned without being cached.
  Page Insert(const Key& key, std::string bytes);
  // Drops the entry of `key`, if any (its page lives on while a user holds it).
  void Erase(const Key& key);

  uint64_t capacity() const { return capacity_; }
  uint64_t usage() const;
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

  // A process-wide unique id for a new reader's keys.
  static uint64_t NewReaderId();

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMinRecentMisses = 64;  // per shard
  struct Entry {
    Key key;
    Page page;
    uint64_t charge = 0;
  };
  struct Shard {
    mutable port::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);  // front: most recently used
    absl::flat_hash_map<Key, std::list<Entry>::iterator> map ABSL_GUARDED_BY(mu);
    uint64_t usage ABSL_GUARDED_BY(mu) = 0;
    // Keys of recent misses (each once, from its first miss in the window on), oldest first,
    // and the same keys as a set.
    std::deque<Key> recent_order ABSL_GUARDED_BY(mu);
    absl::flat_hash_set<Key> recent_misses ABSL_GUARDED_BY(mu);
  };
  // Records a miss of `key`; true if it missed within the window already (the key then stays
  // where its first miss put it: the caller is about to insert the page).
  static bool NoteMiss(Shard& shard, const Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Whether the shard can take a page of its entries' average size without evicting.
  bool HasRoom(const Shard& shard) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  Shard& ShardOf(const Key& key);

  const uint64_t capacity_;
  const size_t shard_count_;
  const uint64_t shard_capacity_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_PAGE_CACHE_H_
