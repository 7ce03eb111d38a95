// Zstd dictionaries trained per block, one per column (block format 7; docs/block_format.md).
//
// Every column of a row group is compressed on its own (format/group_page.h), and a 256-row
// group's column is small: a few hundred bytes to a few KB. Zstd then pays, in every group, for
// entropy tables it describes from scratch and for matches it cannot find in so little data --
// the class bytes of the time columns cost 4.2 bits each against an entropy of 3, the op and
// parent codes half again what they do with a dictionary. A dictionary trained on the block's
// first groups carries the tables and the common byte strings once per block: on the checkout
// workload the columns take 19.4 instead of 20.8 bytes per span (1M spans, Zstd), the
// dictionaries ~0.1 (16 KB each at most, trained only for the columns they shrink).
//
// Serialized in the meta page: per column, a length-prefixed dictionary (empty: none).
//
// Thread safety: const methods are safe to call concurrently (Zstd's dictionaries are read-only
// once built); Train and Parse are not.

#ifndef SPANSTORE_FORMAT_ZSTD_DICTIONARIES_H_
#define SPANSTORE_FORMAT_ZSTD_DICTIONARIES_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/block_format.h"
#include "format/page_codec.h"

namespace spanstore {

class ZstdDictionaries {
 public:
  using GroupColumns = std::array<std::string, kNumBlockColumns>;
  // Groups a writer trains on: the first of a block (fewer when the block has fewer).
  static constexpr size_t kTrainingGroups = 128;
  static constexpr size_t kMaxDictionaryBytes = 16 << 10;

  ZstdDictionaries() = default;
  ~ZstdDictionaries();
  ZstdDictionaries(const ZstdDictionaries&) = delete;
  ZstdDictionaries& operator=(const ZstdDictionaries&) = delete;

  // Trains a dictionary per column on half of `groups` (their uncompressed columns) and keeps
  // those that pay for themselves on the other half: the bytes saved, doubled, exceed the
  // dictionary's size (an eighth of it when `more_groups_follow`, which it will also serve).
  // A dictionary takes at most `max_bytes` (<= kMaxDictionaryBytes).
  void Train(const std::vector<GroupColumns>& groups, int zstd_level, bool more_groups_follow,
             size_t max_bytes = kMaxDictionaryBytes);

  // Reads what Serialize wrote and advances *in; false when malformed or a dictionary is
  // refused by Zstd.
  bool Parse(std::string_view* in);
  void Serialize(std::string* out) const;

  // A copy that compresses too (a reader's dictionaries only decompress): what a measurement
  // needs to recompress a block's columns as its writer did.
  std::unique_ptr<ZstdDictionaries> ForCompression(int zstd_level) const;

  // Null where the column has none.
  const ZSTD_CDict* compress_dict(int column) const { return compress_[column]; }
  const ZSTD_DDict* decompress_dict(int column) const { return decompress_[column]; }
  bool empty() const;
  uint64_t MemoryBytes() const;

 private:
  void Clear();

  std::array<std::string, kNumBlockColumns> bytes_;
  std::array<ZSTD_CDict*, kNumBlockColumns> compress_{};
  std::array<ZSTD_DDict*, kNumBlockColumns> decompress_{};
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_ZSTD_DICTIONARIES_H_
