// Block value filter: one Bloom filter over the attribute values of a whole block, for the keys
// that have few distinct values in it, so that a search for a rare value of such a key ("the
// spans whose http.host is payments.staging.internal") skips a block without it in one probe,
// instead of probing the value filter of each of its thousands of row groups.
//
// Why only the keys of few values: a block's row-group filters already cost ~2 bytes per span,
// almost all of it the keys whose values are local to a trace (user, session and order ids,
// random sizes and ports). A block-wide filter over those would cost nearly as much again, and
// they are the keys a group filter answers well anyway (a value sits in one group or two).
// The keys of few values (hosts, routes, methods, status codes, table names, regions) are the
// ones whose group filters say "maybe" for the value's usual neighbours and are probed in every
// group; covering them costs a few kilobytes per block. The builder covers the keys in order of
// fewest distinct entries while the total stays within a budget the caller gives (a fraction of
// the rows), and lists the keys it covers, so a probe for any other key says "maybe".
//
// The entries are those of the row groups' filters (index/value_filter.h: strings and ints, a
// marker for other types, an array's string and int elements; not the operations' template
// values, which the caller leaves out of both), with the same hashes, so a plan asks the block
// filter exactly what it would ask the groups' filters.
//
// Serialized form (empty: no key is covered): varint covered key count (>= 1), the covered key
// ids ascending as varint deltas (the first from 0, then each minus the previous, >= 1), then a
// value filter (index/value_filter.h) of the covered keys' entries.
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
  // A key with more distinct entries than this in the block is not covered (and its entries
  // are no longer tracked), which bounds the builder's memory by keys × this.
  static constexpr size_t kMaxEntriesPerKey = 4096;

  // Adds the entry `hash` (ValueFilterHash and friends) of key `key` (the block's key id).
  void Add(uint32_t key, uint64_t hash);

  // Appends the serialized filter to *out, covering the keys 0..key_count-1 of fewest distinct
  // entries whose entries add up to at most `max_entries` (a key that had no entry costs none),
  // and starts over. Appends nothing when no key can be covered.
  void Finish(uint32_t key_count, size_t max_entries, std::string* out);

 private:
  struct KeyEntries {
    bool over = false;  // more than kMaxEntriesPerKey: not covered
    absl::flat_hash_set<uint64_t> hashes;
  };
  // Most entries repeat (a host on every span of a route): a direct-mapped cache of the last
  // (key, hash) pairs keeps repeats away from the hash sets.
  struct Recent {
    uint64_t hash = 0;
    uint32_t key = 0;
    bool used = false;
  };
  static constexpr size_t kRecent = 256;
  std::vector<KeyEntries> keys_;  // by key id
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
