#include "index/block_value_filter.h"

#include <algorithm>
#include <utility>

#include "index/value_filter.h"
#include "util/coding.h"

namespace spanstore {

void BlockValueFilterBuilder::Add(uint32_t key, uint64_t hash) {
  Recent& recent = recent_[(hash ^ (uint64_t{key} * 0x9e3779b97f4a7c15ull)) % kRecent];
  if (recent.used && recent.hash == hash && recent.key == key) return;
  recent = {hash, key, true};
  if (key >= keys_.size()) keys_.resize(size_t{key} + 1);
  KeyEntries& entries = keys_[key];
  if (entries.dropped) return;
  if (!entries.hashes.insert(hash).second) return;
  if (++tracked_ > kMaxTrackedEntries) DropLargestKey();
}

void BlockValueFilterBuilder::DropLargestKey() {
  KeyEntries* largest = nullptr;
  for (KeyEntries& k : keys_) {
    if (largest == nullptr || k.hashes.size() > largest->hashes.size()) largest = &k;
  }
  tracked_ -= largest->hashes.size();
  largest->dropped = true;
  absl::flat_hash_set<uint64_t>().swap(largest->hashes);  // release its memory now
}

void BlockValueFilterBuilder::Finish(uint32_t key_count, size_t max_entries, std::string* out) {
  // Fewest entries first (ties by key id, so the choice does not depend on hash-set order).
  std::vector<std::pair<size_t, uint32_t>> candidates;
  for (uint32_t key = 0; key < key_count; ++key) {
    if (key >= keys_.size()) {
      candidates.emplace_back(0, key);
    } else if (!keys_[key].dropped) {
      candidates.emplace_back(keys_[key].hashes.size(), key);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  std::vector<uint32_t> covered;
  size_t total = 0;
  for (const auto& [entries, key] : candidates) {
    if (total + entries > max_entries) break;
    total += entries;
    covered.push_back(key);
  }
  if (!covered.empty()) {
    std::sort(covered.begin(), covered.end());
    PutVarint64(out, covered.size());
    uint32_t previous = 0;
    ValueFilterBuilder filter;
    for (size_t i = 0; i < covered.size(); ++i) {
      PutVarint64(out, covered[i] - (i == 0 ? 0 : previous));
      previous = covered[i];
      if (covered[i] >= keys_.size()) continue;
      for (uint64_t hash : keys_[covered[i]].hashes) filter.Add(hash);
    }
    filter.Finish(out, /*blocked=*/true);
  }
  keys_.clear();
  tracked_ = 0;
  recent_.fill(Recent{});
}

bool BlockValueFilter::Parse(std::string_view data, size_t key_count) {
  covered_.clear();
  covered_count_ = 0;
  filter_ = {};
  if (data.empty()) return true;
  uint64_t count;
  if (!GetVarint64(&data, &count) || count == 0 || count > key_count) return false;
  std::vector<bool> covered(key_count, false);
  uint64_t key = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t delta;
    if (!GetVarint64(&data, &delta) || (i > 0 && delta == 0) || delta >= key_count - key) {
      return false;
    }
    key += delta;
    covered[key] = true;
  }
  if (!ValueFilterValid(data)) return false;
  covered_ = std::move(covered);
  covered_count_ = count;
  filter_ = data;
  return true;
}

bool BlockValueFilter::MayContain(uint64_t hash) const {
  return ValueFilterMayContain(filter_, hash);
}

}  // namespace spanstore
