#include "format/zstd_dictionaries.h"

#include <zdict.h>
#include <zstd.h>

#include <algorithm>

#include "util/coding.h"

namespace spanstore {
namespace {

// Less than this is too little to learn from (Zdict's training wants several samples, and
// some KB of them for a dictionary of 16 KiB).
constexpr size_t kMinSamples = 4;  // of the even groups
size_t MinSampleBytes(size_t max_dictionary_bytes) {
  return std::max<size_t>(1024, max_dictionary_bytes / 4);
}

}  // namespace

ZstdDictionaries::~ZstdDictionaries() { Clear(); }

void ZstdDictionaries::Clear() {
  for (int c = 0; c < kNumBlockColumns; ++c) {
    ZSTD_freeCDict(compress_[c]);
    ZSTD_freeDDict(decompress_[c]);
    compress_[c] = nullptr;
    decompress_[c] = nullptr;
    bytes_[c].clear();
  }
}

void ZstdDictionaries::Train(const std::vector<GroupColumns>& groups, int zstd_level,
                             bool more_groups_follow, size_t max_bytes) {
  max_bytes = std::min(max_bytes, kMaxDictionaryBytes);
  Clear();
  std::string samples, dict, payload;
  std::vector<size_t> sizes;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    // Trained on the even groups, judged on the odd ones: a dictionary holds pieces of its
    // samples, so judged on them even random bytes (span ids) would seem to compress.
    samples.clear();
    sizes.clear();
    for (size_t i = 0; i < groups.size(); i += 2) {
      if (groups[i][c].empty()) continue;
      samples += groups[i][c];
      sizes.push_back(groups[i][c].size());
    }
    if (sizes.size() < kMinSamples || samples.size() < MinSampleBytes(max_bytes)) continue;
    dict.resize(max_bytes);
    const size_t n = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sizes.data(),
                                           static_cast<unsigned>(sizes.size()));
    if (ZDICT_isError(n)) continue;  // nothing to learn (random bytes such as span ids)
    dict.resize(n);
    ZSTD_CDict* trained = ZSTD_createCDict(dict.data(), dict.size(), zstd_level);
    if (trained == nullptr) continue;
    // What the dictionary saves on the groups it did not see, against its own size (a block
    // pays for it once; the odd groups stand for every other group of the block).
    uint64_t plain = 0, with_dict = 0;
    for (size_t i = 1; i < groups.size(); i += 2) {
      const GroupColumns& g = groups[i];
      payload.clear();
      if (CompressPayload(Codec::kZstd, zstd_level, g[c], true, &payload).ok()) {
        plain += payload.size();
      }
      payload.clear();
      if (CompressPayload(Codec::kZstd, zstd_level, g[c], true, &payload, trained).ok()) {
        with_dict += payload.size();
      }
    }
    // Half the groups were judged: these groups alone save twice that. When more follow, the
    // block is likely to be several times longer (a sealed segment makes ~500 groups, a merge
    // thousands), so the dictionary needs to pay only an eighth of itself here.
    plain *= 2;
    with_dict *= 2;
    const uint64_t cost = more_groups_follow ? n / 8 : n;
    if (with_dict + cost >= plain) {
      ZSTD_freeCDict(trained);
      continue;
    }
    bytes_[c] = dict;
    compress_[c] = trained;
  }
}

bool ZstdDictionaries::Parse(std::string_view* in) {
  Clear();
  for (int c = 0; c < kNumBlockColumns; ++c) {
    std::string_view dict;
    if (!GetLengthPrefixed(in, &dict) || dict.size() > kMaxDictionaryBytes) return false;
    if (dict.empty()) continue;
    bytes_[c].assign(dict.data(), dict.size());
    decompress_[c] = ZSTD_createDDict(bytes_[c].data(), bytes_[c].size());
    if (decompress_[c] == nullptr) return false;
  }
  return true;
}

std::unique_ptr<ZstdDictionaries> ZstdDictionaries::ForCompression(int zstd_level) const {
  auto copy = std::make_unique<ZstdDictionaries>();
  for (int c = 0; c < kNumBlockColumns; ++c) {
    if (bytes_[c].empty()) continue;
    copy->bytes_[c] = bytes_[c];
    copy->compress_[c] = ZSTD_createCDict(bytes_[c].data(), bytes_[c].size(), zstd_level);
  }
  return copy;
}

void ZstdDictionaries::Serialize(std::string* out) const {
  for (const std::string& dict : bytes_) PutLengthPrefixed(out, dict);
}

bool ZstdDictionaries::empty() const {
  for (const std::string& dict : bytes_) {
    if (!dict.empty()) return false;
  }
  return true;
}

uint64_t ZstdDictionaries::MemoryBytes() const {
  uint64_t bytes = 0;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    bytes +=
        bytes_[c].capacity() + ZSTD_sizeof_CDict(compress_[c]) + ZSTD_sizeof_DDict(decompress_[c]);
  }
  return bytes;
}

}  // namespace spanstore
