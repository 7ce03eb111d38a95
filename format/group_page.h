// A group page: every column of one row group of a block, each compressed on its own, behind
// one column table and one checksum.
//
// Layout (integers little-endian, varints LEB128):
//   per column, kNumBlockColumns times:
//     codec        u8      CodecByte of the column's payload (block_format.h: 0 none, 1 LZ4,
//                          2 Zstd)
//     raw_size     varint  bytes after decompression (at most kMaxPageRawSize)
//     stored_size  varint  bytes of the payload (equal to raw_size for codec 0)
//   payloads       the columns' payloads, in column order
//   checksum       fixed64 XXH3_64bits of every byte above
//
// Why one page per group and a codec per column: a reader needs the group's columns together
// (GetTrace all of them, a scan the predicate columns and then the rest for groups with
// candidates), so one read and one checksum serve them; compressing each column separately
// keeps each compressor's statistics to one kind of data (and incompressible columns such as
// span ids stored raw), lets a scan decompress only the columns it needs, and makes the
// per-column byte counts of StoreStats exact. Zstd payloads omit the 4-byte frame magic (the
// column table already says what they are) and the frame's content size (raw_size is here).
//
// Thread safety: EncodeGroupPage is a pure function. A GroupPage is thread-compatible.

#ifndef SPANSTORE_FORMAT_GROUP_PAGE_H_
#define SPANSTORE_FORMAT_GROUP_PAGE_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "format/block_format.h"
#include "format/page_codec.h"
#include "format/zstd_dictionaries.h"
#include "spanstore/options.h"

namespace spanstore {

// Appends the group page of `columns` to *out. stored_bytes[c] receives the bytes column c
// takes in the page (its payload and its share of the table). Codec per column: `codec`, or
// none when compression does not shrink the column. InvalidArgument for a column over
// kMaxPageRawSize.
// `dicts` (optional): a column that has a dictionary there is compressed with it
// (kCodecZstdDict) when `codec` is Zstd.
absl::Status EncodeGroupPage(Codec codec, int zstd_level,
                             const std::array<std::string, kNumBlockColumns>& columns,
                             std::string* out, std::array<uint64_t, kNumBlockColumns>* stored_bytes,
                             const ZstdDictionaries* dicts = nullptr);

class GroupPage {
 public:
  // Verifies the checksum and the column table of the page in `data` (which must stay alive
  // while this object is used). DataLoss naming `where` on any damage, and for a column
  // compressed with a dictionary `dicts` (the block's; optional, must outlive this object)
  // lacks.
  absl::Status Parse(std::string_view data, const PageLocation& where,
                     const ZstdDictionaries* dicts = nullptr);

  // The decompressed bytes of column `c`: a view into the page for an uncompressed column,
  // else into *scratch (replaced). DataLoss when the payload does not decompress to its size.
  absl::Status Column(int c, std::string* scratch, std::string_view* raw) const;
  // The same, written to out[0, raw_size(c)) (the caller sized it): no intermediate copy.
  absl::Status ColumnInto(int c, char* out) const;

  uint64_t raw_size(int c) const { return entries_[c].raw_size; }

 private:
  struct Entry {
    Codec codec = Codec::kNone;
    const ZSTD_DDict* dict = nullptr;  // kCodecZstdDict
    uint64_t raw_size = 0;
    std::string_view payload;
  };
  std::array<Entry, kNumBlockColumns> entries_{};
  PageLocation where_;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_GROUP_PAGE_H_
