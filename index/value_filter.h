// Value filter: a Bloom filter over the attribute values a row group holds, so that a search for
// one value ("the spans that called payments.staging.internal") skips every group without it
// from memory, before reading or decompressing anything.
//
// An entry is a (key id, value) pair, the key id being the block's own id of the attribute key.
// Strings and ints are entries of their own: they are what equality searches ask for (a Jaeger
// tag, a TraceQL `span.k = "v"`), and the only values whose cardinality calls for a filter.
// Every other value (double, bool, bytes, array, map) adds one marker entry for its key,
// (key, "other types"), so a probe can tell that an int 500 may also be present as a double
// 500.0 or a Jaeger tag "true" as a bool; an array adds the marker and each of its string and
// int elements, so element-wise array matching keeps the filter's promise. A reader probes
// only for equality, and only on values the writer offered (block_format.md says which: not
// the operations' template values).
//
// Serialized form: u8 header, then the bit array (m = 8 * bytes bits, LSB first within each
// byte). Zero bytes of bits: the group holds no entry. Two layouts, told apart by the header:
//  - standard (header = k, the probe count, 1..16): entry h sets bits (h1 + j * h2) mod m for
//    j < k, with h1, h2 the halves of the entry's 64-bit hash (ValueFilterHash);
//  - blocked (header = 0x80 | k; block format 5 on): the bits are 32-byte blocks; entry h sets
//    k bits of one block, block (h1 * blocks) >> 32, bit positions the top 8 bits of x after
//    each of k steps x *= 0x9e3779b9 (x = h2, 32-bit arithmetic). A probe then reads one block
//    (one or two cache lines) instead of k scattered lines: a search that asks thousands of
//    groups' filters is bound by the lines it reads.
// With 10 bits per distinct entry and k = 7 a probe is wrong (says "maybe" for an absent entry)
// about 1% of the time (a little more, blocked); it is never wrong the other way.
//
// Thread safety: ValueFilterBuilder is thread-compatible; ValueFilterMayContain is pure.

#ifndef SPANSTORE_INDEX_VALUE_FILTER_H_
#define SPANSTORE_INDEX_VALUE_FILTER_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spanstore/span.h"

namespace spanstore {

// The hash of one entry. Strings and ints hash differently (an int 500 is not the string
// "500").
uint64_t ValueFilterHash(uint32_t key, std::string_view string_value);
uint64_t ValueFilterHash(uint32_t key, int64_t int_value);
// The marker entry of a key that has a value of another type than string and int.
uint64_t ValueFilterOtherTypesHash(uint32_t key);

// Calls add(hash) with each entry of `value` for key `key`: the value itself if a string or an
// int; else the key's marker and, for an array, its string and int elements (one level, as
// TraceQL compares array elements; nested arrays are not searched).
template <typename Add>
void ForEachValueFilterEntry(uint32_t key, const AnyValue& value, Add add) {
  switch (value.type()) {
    case AnyValue::Type::kString:
      add(ValueFilterHash(key, value.string_value()));
      break;
    case AnyValue::Type::kInt:
      add(ValueFilterHash(key, value.int_value()));
      break;
    case AnyValue::Type::kArray:
      add(ValueFilterOtherTypesHash(key));
      for (const AnyValue& e : value.array_value()) {
        if (e.type() == AnyValue::Type::kString) add(ValueFilterHash(key, e.string_value()));
        if (e.type() == AnyValue::Type::kInt) add(ValueFilterHash(key, e.int_value()));
      }
      break;
    default:
      add(ValueFilterOtherTypesHash(key));
      break;
  }
}

class ValueFilterBuilder {
 public:
  static constexpr int kBitsPerEntry = 10;
  static constexpr int kProbes = 7;

  void Add(uint64_t hash) {
    // Most values repeat within a group (a host, a user id per trace): a small direct-mapped
    // cache of recent entries keeps the repeats out of the list Finish sorts.
    // A slot holds hash + 1, so 0 is an empty slot (a hash of UINT64_MAX is never cached).
    uint64_t& recent = recent_[hash % kRecent];
    if (recent != 0 && recent == hash + 1) return;
    recent = hash + 1;
    hashes_.push_back(hash);
  }
  // Adds the entries of `value`: itself if a string or an int; else the key's marker and, for
  // an array, its string and int elements.
  void AddValue(uint32_t key, const AnyValue& value) {
    ForEachValueFilterEntry(key, value, [this](uint64_t hash) { Add(hash); });
  }
  // The hashes added so far (duplicates included), and forgetting them.
  const std::vector<uint64_t>& hashes() const { return hashes_; }
  void Clear() {
    hashes_.clear();
    recent_.fill(0);
  }

  // Appends the serialized filter of the entries added (duplicates counted once) to *out and
  // starts over. Blocked: the blocked layout (a multiple of 32 bytes of bits).
  void Finish(std::string* out, bool blocked = false);

 private:
  static constexpr size_t kRecent = 64;
  std::vector<uint64_t> hashes_;
  std::array<uint64_t, kRecent> recent_{};
};

// Checks the serialized form (before a reader trusts it): false when malformed.
bool ValueFilterValid(std::string_view filter);
// False only if no entry with this hash was added. REQUIRES: ValueFilterValid(filter).
bool ValueFilterMayContain(std::string_view filter, uint64_t hash);
// Starts loading the bytes the first two probes of `hash` read, for a caller about to test a
// run of filters in turn (a scan over row groups): each filter is a few hundred bytes of the
// meta page, cold in the CPU's caches, so a probe is a cache miss, and issued ahead the misses
// overlap instead of following one another.
void ValueFilterPrefetch(std::string_view filter, uint64_t hash);

}  // namespace spanstore

#endif  // SPANSTORE_INDEX_VALUE_FILTER_H_
