#include "format/page_cache.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace spanstore {

PageCache::PageCache(uint64_t capacity_bytes, size_t shards)
    : capacity_(capacity_bytes),
      shard_count_(std::clamp<size_t>(shards, 1, kShards)),
      shard_capacity_(capacity_bytes / shard_count_) {}

PageCache::~PageCache() = default;

PageCache::Shard& PageCache::ShardOf(const Key& key) {
  // The top bits: absl::Hash mixes them well, and the map inside the shard uses the low ones.
  return shards_[(absl::Hash<Key>()(key) >> 60) % shard_count_];
}

bool PageCache::NoteMiss(Shard& shard, const Key& key) {
  if (!shard.recent_misses.insert(key).second) return true;
  shard.recent_order.push_back(key);
  const size_t window = std::max(kMinRecentMisses, 2 * shard.map.size());
  while (shard.recent_order.size() > window) {
    shard.recent_misses.erase(shard.recent_order.front());
    shard.recent_order.pop_front();
  }
  return false;
}

bool PageCache::HasRoom(const Shard& shard) const {
  if (shard.map.empty()) return true;
  return shard.usage + shard.usage / shard.map.size() <= shard_capacity_;
}

PageCache::Page PageCache::Lookup(const Key& key, bool* admit) {
  if (admit != nullptr) *admit = false;
  if (capacity_ == 0) return nullptr;
  Shard& shard = ShardOf(key);
  port::MutexLock l(&shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    if (admit != nullptr) *admit = NoteMiss(shard, key) || HasRoom(shard);
    return nullptr;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->page;
}

PageCache::Page PageCache::Insert(const Key& key, std::string bytes) {
  const uint64_t charge = bytes.capacity() + kEntryOverhead;
  Page page = std::make_shared<const std::string>(std::move(bytes));
  if (charge > shard_capacity_) return page;
  Shard& shard = ShardOf(key);
  port::MutexLock l(&shard.mu);
  if (auto it = shard.map.find(key); it != shard.map.end()) {
    shard.usage -= it->second->charge;
    shard.lru.erase(it->second);
    shard.map.erase(it);
  }
  shard.lru.push_front(Entry{key, page, charge});
  shard.map.emplace(key, shard.lru.begin());
  shard.usage += charge;
  while (shard.usage > shard_capacity_) {
    const Entry& victim = shard.lru.back();
    shard.usage -= victim.charge;
    shard.map.erase(victim.key);
    shard.lru.pop_back();
  }
  return page;
}

void PageCache::Erase(const Key& key) {
  Shard& shard = ShardOf(key);
  port::MutexLock l(&shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return;
  shard.usage -= it->second->charge;
  shard.lru.erase(it->second);
  shard.map.erase(it);
}

uint64_t PageCache::usage() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) {
    port::MutexLock l(&shard.mu);
    total += shard.usage;
  }
  return total;
}

uint64_t PageCache::NewReaderId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace spanstore
