// The fixed-size ends of a block file (format/block_format.h, docs/block_format.md): the header
// at offset 0 and the footer in the last kBlockFooterSize bytes. A reader reads both first: the
// header says which format version wrote the file, the footer where the meta page and the
// trace index are.
//
//   header  magic "SPNBLOCK" (8) | format version fixed32 | reserved fixed32 (0)
//   footer  meta offset fixed64 | meta size fixed64 | index offset fixed64 | index size fixed64
//           | format version fixed32 | column count fixed32 | xxh3 of the 40 bytes before
//           fixed64 | magic "SPNBLOCK" (8)
//
// Thread safety: plain values and pure functions.

#ifndef SPANSTORE_FORMAT_BLOCK_FOOTER_H_
#define SPANSTORE_FORMAT_BLOCK_FOOTER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "format/block_format.h"

namespace spanstore {

// Appends the header of a block of the current format version.
void EncodeBlockHeader(std::string* out, uint32_t version = kBlockFormatVersion);

// The format version of the header at the front of `data`, or 0 when `data` is not a block
// header (too short, or another magic).
uint32_t DecodeBlockHeaderVersion(std::string_view data);

struct BlockFooter {
  uint64_t meta_offset = 0;
  uint64_t meta_size = 0;
  uint64_t index_offset = 0;
  uint64_t index_size = 0;
  uint32_t version = 0;
  uint32_t columns = 0;

  // Appends the kBlockFooterSize bytes.
  void EncodeTo(std::string* out) const;
  // Reads the footer from exactly kBlockFooterSize bytes. On failure returns false and sets
  // *what to what is wrong ("bad footer magic", "footer checksum mismatch"); the fields are
  // not range-checked here (the reader checks them against the file).
  bool DecodeFrom(std::string_view data, std::string* what);
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_BLOCK_FOOTER_H_
