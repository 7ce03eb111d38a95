#include "format/trace_index_cache.h"

#include <utility>
#include <vector>

namespace spanstore {

TraceIndexCache::TraceIndexCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

TraceIndexCache::~TraceIndexCache() = default;

TraceIndexCache::Ref TraceIndexCache::Lookup(uint64_t reader) {
  port::MutexLock l(&mu_);
  auto it = map_.find(reader);
  if (it == map_.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->index;
}

TraceIndexCache::Ref TraceIndexCache::Insert(uint64_t reader, TraceIndex index) {
  const uint64_t charge = index.MemoryBytes() + kEntryOverhead;
  Ref ref = std::make_shared<const TraceIndex>(std::move(index));
  if (charge > capacity_) return ref;
  std::vector<Ref> victims;  // released after the lock, as in Erase
  port::MutexLock l(&mu_);
  if (auto it = map_.find(reader); it != map_.end()) {
    usage_ -= it->second->charge;
    victims.push_back(std::move(it->second->index));
    lru_.erase(it->second);
    map_.erase(it);
  }
  // Evict before inserting, so the new entry is never its own victim.
  while (!lru_.empty() && usage_ + charge > capacity_) {
    usage_ -= lru_.back().charge;
    victims.push_back(std::move(lru_.back().index));
    map_.erase(lru_.back().reader);
    lru_.pop_back();
  }
  lru_.push_front(Entry{reader, ref, charge});
  map_[reader] = lru_.begin();
  usage_ += charge;
  return ref;
}

void TraceIndexCache::Erase(uint64_t reader) {
  Ref dropped;  // released after the lock: freeing a large index takes a while
  port::MutexLock l(&mu_);
  auto it = map_.find(reader);
  if (it == map_.end()) return;
  usage_ -= it->second->charge;
  dropped = std::move(it->second->index);
  lru_.erase(it->second);
  map_.erase(it);
}

uint64_t TraceIndexCache::usage() const {
  port::MutexLock l(&mu_);
  return usage_;
}

}  // namespace spanstore
