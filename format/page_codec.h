// One compressed, checksummed page of a block file: the unit a reader decompresses.
//
// Layout of an encoded page (all integers little-endian):
//   codec        u8      CodecByte of the payload (block_format.h: 0 none, 1 LZ4, 2 Zstd)
//   raw_size     varint  size of the page after decompression
//   stored_size  varint  size of the payload that follows
//   payload      stored_size bytes
//   checksum     fixed64 XXH3_64bits of every byte above (codec through payload)
//
// The checksum covers the header as well as the payload, so a flipped codec byte or size is
// caught before any decompressor sees the bytes. Sizes are bounded (kMaxPageRawSize) so a damaged
// size can never make the reader allocate gigabytes.
//
// Thread safety: stateless functions; safe to call concurrently.

#ifndef SPANSTORE_FORMAT_PAGE_CODEC_H_
#define SPANSTORE_FORMAT_PAGE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "format/block_format.h"
#include "spanstore/options.h"

// <zstd.h>'s handles, declared here so that includers need not see Zstd.
typedef struct ZSTD_CDict_s ZSTD_CDict;
typedef struct ZSTD_DDict_s ZSTD_DDict;

namespace spanstore {

// Upper bound on a page's (or a group-page column's) decompressed size. A column holds
// Options::rows_per_group rows; 256 MiB leaves room for huge attribute strings while bounding a
// damaged size field.
inline constexpr uint64_t kMaxPageRawSize = 256ull << 20;

// Bytes a page adds around its payload at most (codec, two varints, checksum).
inline constexpr size_t kMaxPageOverhead = 1 + 10 + 10 + 8;

// The codec byte of `codec`, and the codec of a byte read from a file (false when the byte
// names no codec).
inline uint8_t ToCodecByte(Codec codec) {
  switch (codec) {
    case Codec::kNone:
      return kCodecNone;
    case Codec::kLz4:
      return kCodecLz4;
    case Codec::kZstd:
      return kCodecZstd;
  }
  return kCodecNone;  // not reached: CompressPayload refuses an unknown Codec
}
inline bool FromCodecByte(uint8_t byte, Codec* codec) {
  switch (byte) {
    case kCodecNone:
      *codec = Codec::kNone;
      return true;
    case kCodecLz4:
      *codec = Codec::kLz4;
      return true;
    case kCodecZstd:
      *codec = Codec::kZstd;
      return true;
  }
  return false;
}

// Where a page sits, for error messages: "block <file>: page <index> at offset <offset>: ...".
struct PageLocation {
  std::string_view file;
  uint64_t page_index = 0;
  uint64_t offset = 0;
};

// Compresses `raw` with `codec` (Zstd at `zstd_level`) and appends the encoded page to `out`.
// When compression does not make the payload smaller the page is stored uncompressed
// (codec 0), so incompressible columns cost no decode time. Fails only with InvalidArgument
// when `raw` exceeds kMaxPageRawSize, or Internal if a compressor reports an error.
absl::Status EncodePage(Codec codec, int zstd_level, std::string_view raw, std::string* out);

// The compression step shared by pages and group-page columns. Appends the payload of `raw`
// compressed with `codec` to *out and returns the codec used: kNone (raw bytes appended) when
// compression does not shrink it. `bare_zstd` drops the Zstd frame's magic number and content
// size, which the caller stores itself.
// `dict` (Zstd only; block format 7, format/zstd_dictionaries.h): compress with this trained
// dictionary, and leave its id out of the frame (the caller knows which it is).
absl::StatusOr<Codec> CompressPayload(Codec codec, int zstd_level, std::string_view raw,
                                      bool bare_zstd, std::string* out,
                                      const ZSTD_CDict* dict = nullptr);
// False when no payload of `stored_size` bytes can decompress to `raw_size` bytes with `codec`
// (or the codec is unknown). A stored payload is its own size; LZ4 turns a byte into at most
// 255 (a match grows by 255 per length byte); a Zstd block decodes to at most 128 KiB and takes
// at least 4 bytes (an RLE block), so at most 32 KiB per byte. Readers check this before they
// allocate raw_size bytes: a payload of a few bytes cannot make them allocate 256 MiB.
bool PayloadMayDecodeTo(Codec codec, uint64_t stored_size, uint64_t raw_size);

// Decompresses `payload` into exactly `raw_size` bytes at `dst`; false when it does not
// decode to exactly that many (damage), never writing past dst + raw_size.
// `dict`: the dictionary a Zstd payload was compressed with (CompressPayload's).
bool DecompressPayload(Codec codec, std::string_view payload, bool bare_zstd, size_t raw_size,
                       char* dst, const ZSTD_DDict* dict = nullptr);

// Decodes the page at the start of `*in`, verifies its checksum and decompresses it into `*raw`
// (replacing its contents), then advances `*in` past the page. Any damage (short input, bad
// checksum, unknown codec, sizes that disagree) returns DataLoss naming the location.
absl::Status DecodePage(std::string_view* in, const PageLocation& where, std::string* raw);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_PAGE_CODEC_H_
