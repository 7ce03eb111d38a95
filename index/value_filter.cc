#include "index/value_filter.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace spanstore {
namespace {

constexpr char kStringTag = 's';
constexpr char kIntTag = 'i';
constexpr char kOtherTag = 'x';

uint64_t HashTagged(uint32_t key, char tag, const void* data, size_t size) {
  // The tag goes into the seed with the key, so the value bytes hash without a copy.
  const uint64_t seed = (uint64_t{key} << 8) | static_cast<uint8_t>(tag);
  return XXH3_64bits_withSeed(data, size, seed);
}

// The j-th probe position of a hash in a filter of m bits (Kirsch-Mitzenmacher double hashing).
inline uint64_t Probe(uint64_t hash, int j, uint64_t m) {
  const uint64_t h1 = hash & 0xffffffffu;
  const uint64_t h2 = (hash >> 32) | 1;  // odd: the probes never collapse onto one bit
  return (h1 + static_cast<uint64_t>(j) * h2) % m;
}

// The blocked layout: 32-byte blocks, k probes inside one (value_filter.h).
constexpr uint8_t kBlockedFlag = 0x80;
constexpr uint64_t kBlockBytes = 32;

inline uint64_t BlockOf(uint64_t hash, uint64_t blocks) {
  return ((hash & 0xffffffffu) * blocks) >> 32;
}

// The j-th bit (0..255) of a hash's block, for j = 0, 1, ... in turn: *x starts at the hash's
// high half.
inline uint32_t NextBlockBit(uint32_t* x) {
  *x *= 0x9e3779b9u;
  return *x >> 24;
}

}  // namespace

uint64_t ValueFilterHash(uint32_t key, std::string_view string_value) {
  return HashTagged(key, kStringTag, string_value.data(), string_value.size());
}

uint64_t ValueFilterHash(uint32_t key, int64_t int_value) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(uint64_t(int_value) >> (8 * i));
  return HashTagged(key, kIntTag, bytes, sizeof(bytes));
}

uint64_t ValueFilterOtherTypesHash(uint32_t key) { return HashTagged(key, kOtherTag, "", 0); }

void ValueFilterBuilder::Finish(std::string* out, bool blocked) {
  std::sort(hashes_.begin(), hashes_.end());
  hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
  if (blocked) {
    out->push_back(static_cast<char>(kBlockedFlag | kProbes));
    const uint64_t blocks =
        (hashes_.size() * kBitsPerEntry + kBlockBytes * 8 - 1) / (kBlockBytes * 8);
    const size_t at = out->size();
    out->resize(at + blocks * kBlockBytes, '\0');
    for (uint64_t hash : hashes_) {
      char* block = out->data() + at + BlockOf(hash, blocks) * kBlockBytes;
      uint32_t x = static_cast<uint32_t>(hash >> 32);
      for (int j = 0; j < kProbes; ++j) {
        const uint32_t bit = NextBlockBit(&x);
        block[bit / 8] = static_cast<char>(block[bit / 8] | (1 << (bit % 8)));
      }
    }
    Clear();
    return;
  }
  out->push_back(static_cast<char>(kProbes));
  const size_t bytes = (hashes_.size() * kBitsPerEntry + 7) / 8;
  const size_t at = out->size();
  out->resize(at + bytes, '\0');
  const uint64_t m = uint64_t{bytes} * 8;
  for (uint64_t hash : hashes_) {
    for (int j = 0; j < kProbes; ++j) {
      const uint64_t bit = Probe(hash, j, m);
      (*out)[at + bit / 8] = static_cast<char>((*out)[at + bit / 8] | (1 << (bit % 8)));
    }
  }
  Clear();
}

bool ValueFilterValid(std::string_view filter) {
  if (filter.empty()) return false;
  const uint8_t header = static_cast<uint8_t>(filter[0]);
  const uint8_t k = header & ~kBlockedFlag;
  if ((header & kBlockedFlag) != 0 && (filter.size() - 1) % kBlockBytes != 0) return false;
  return k >= 1 && k <= 16;
}

void ValueFilterPrefetch(std::string_view filter, uint64_t hash) {
  if (filter.size() < 2) return;
  if ((static_cast<uint8_t>(filter[0]) & kBlockedFlag) != 0) {
    const char* block =
        filter.data() + 1 + BlockOf(hash, (filter.size() - 1) / kBlockBytes) * kBlockBytes;
    __builtin_prefetch(block);
    __builtin_prefetch(block + kBlockBytes - 1);
    return;
  }
  const uint64_t m = uint64_t{filter.size() - 1} * 8;
  const char* bits = filter.data() + 1;
  __builtin_prefetch(bits + Probe(hash, 0, m) / 8);
  __builtin_prefetch(bits + Probe(hash, 1, m) / 8);
}

bool ValueFilterMayContain(std::string_view filter, uint64_t hash) {
  const uint64_t m = uint64_t{filter.size() - 1} * 8;
  if (m == 0) return false;
  const uint8_t header = static_cast<uint8_t>(filter[0]);
  const auto* bits = reinterpret_cast<const unsigned char*>(filter.data() + 1);
  if ((header & kBlockedFlag) != 0) {
    const int k = header & ~kBlockedFlag;
    const unsigned char* block =
        bits + BlockOf(hash, (filter.size() - 1) / kBlockBytes) * kBlockBytes;
    uint32_t x = static_cast<uint32_t>(hash >> 32);
    for (int j = 0; j < k; ++j) {
      const uint32_t bit = NextBlockBit(&x);
      if ((block[bit / 8] & (1u << (bit % 8))) == 0) return false;
    }
    return true;
  }
  const int k = header;
  for (int j = 0; j < k; ++j) {
    const uint64_t bit = Probe(hash, j, m);
    if ((bits[bit / 8] & (1u << (bit % 8))) == 0) return false;
  }
  return true;
}

}  // namespace spanstore
