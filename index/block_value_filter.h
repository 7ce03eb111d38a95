// Block value filter: one Bloom filter over the attribute values of a whole block, so that a
// search for a rare value ("the spans whose http.host is payments.staging.internal", "the
// traces of user u-00012345") skips a block without it in one probe, instead of probing the
// value filter of each of its thousands of row groups.
//
// Why it is cheap: the row groups' filters cost ~2 bytes per span because a value is counted
// again in every group it appears in (a host, a status code, a random body size recur in
// thousands of groups). Counted once per block, the distinct values are few: ~320k entries
// for 1.5M checkout spans, ~0.26 bytes per span at 10 bits each. Still, a block whose keys
// hold a unique value per span (request ids, timestamps as strings) could cost as much as the
// group filters again, so the builder covers the keys in order of fewest distinct entries while
// the total stays within a budget the caller gives (a fraction of the rows), and lists the keys
// it covers: a probe for any other key says "maybe", and the groups' filters answer as before.
//
// The entries are those of the row groups' filters (index/value_filter.h: strings and ints, a
// marker for other types, an array's string and int elements; not the operations' template
// values, which the caller leaves out of both), with the same hashes, so a plan asks the block
// filter exactly what it would ask the groups' filters.
//
// Serialized form (empty: no key is covered): varint covered key count (>= 1), the covered key
// ids ascending as varint deltas (the first from 0, then each minus the previous, >= 1), then a
// value filter (index/value_filter.h, blocked layout) of the covered keys' entries.
//
// Thread safety: BlockValueFilterBuilder is thread-compatible; a parsed BlockValueFilter is
// immutable and may be probed from any number of threads.

#ifndef SPANSTORE_INDEX_BLOCK_VALUE_FILTER_H_
#define SPANSTORE_INDEX_BLOCK_VALUE_FILTER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace spanstore {

class BlockValueFilterBuilder {
 public:
  // Entries tracked at most (~16 MB): past it the key with the most entries is dropped (not
  // covered, its entries no longer tracked), which bounds the builder's memory whatever the
  // block holds.
  static constexpr size_t kMaxTrackedEntries = 1 << 20;

  // Adds the entry `hash` (ValueFilterHash and friends) of key `key` (the block's key id).
  void Add(uint32_t key, uint64_t hash);

  // Appends the serialized filter to *out, covering the keys 0..key_count-1 of fewest distinct
  // entries whose entries add up to at most `max_entries` (a key that had no entry costs none),
  // and starts over. Appends nothing when no key can be covered.
  void Finish(uint32_t key_count, size_t max_entries, std::string* out);

 private:
  struct KeyEntries {
    bool dropped = false;  // for kMaxTrackedEntries: not covered
    absl::flat_hash_set<uint64_t> hashes;
  };
  void DropLargestKey();
  // Most entries repeat (a host on every span of a route): a direct-mapped cache of the last
  // (key, hash) pairs keeps repeats away from the hash sets.
  struct Recent {
    uint64_t hash = 0;
    uint32_t key = 0;
    bool used = false;
  };
  static constexpr size_t kRecent = 1024;
  std::vector<KeyEntries> keys_;  // by key id
  size_t tracked_ = 0;            // entries in keys_' sets
  std::array<Recent, kRecent> recent_{};
};

class BlockValueFilter {
 public:
  // Parses the serialized form of a block whose key dictionary has `key_count` keys (the view
  // must outlive this). False when malformed. An empty view is a valid filter covering no key.
  bool Parse(std::string_view data, size_t key_count);

  // Whether the key's entries are all in the filter, so that MayContain's "no" is certain.
  bool Covers(uint32_t key) const { return key < covered_.size() && covered_[key]; }
  // False only if no entry with this hash was added (for a covered key: the block has no such
  // value of that key).
  bool MayContain(uint64_t hash) const;
  size_t covered_keys() const { return covered_count_; }
  size_t MemoryBytes() const { return covered_.capacity() / 8; }

 private:
  std::vector<bool> covered_;  // by key id
  size_t covered_count_ = 0;
  std::string_view filter_;
};

}  // namespace spanstore

#endif  // SPANSTORE_INDEX_BLOCK_VALUE_FILTER_H_
