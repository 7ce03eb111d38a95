// On-disk constants of the write-ahead log (docs/wal_format.md describes the format).
//
// A segment file wal/NNNNNN.log (6+ decimal digits, increasing) is:
//   file header (16 bytes): magic "SPNSWAL\0" [8] | format version u32 LE | reserved u32 (0)
//   records, back to back:
//     checksum u64 LE | length u32 LE | type u8 | payload[length]
//   checksum = XXH3_64bits over (length, type, payload) -- the 5 header bytes after the
//   checksum, then the payload -- so a torn or bit-flipped header is detected like a torn payload.

#ifndef SPANSTORE_FORMAT_WAL_FORMAT_H_
#define SPANSTORE_FORMAT_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace spanstore::wal {

inline constexpr char kMagic[8] = {'S', 'P', 'N', 'S', 'W', 'A', 'L', '\0'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kFileHeaderSize = 16;
inline constexpr size_t kRecordHeaderSize = 13;  // checksum 8 + length 4 + type 1

// A payload larger than this is never written, so a longer length field is corruption and is
// rejected before anything is allocated.
inline constexpr uint32_t kMaxPayloadSize = 64u << 20;

// Record types. A reader skips an unknown type that has kSafeToIgnoreBit set (a newer writer's
// optional record) and treats any other unknown type as corruption.
enum RecordType : uint8_t {
  kSpanBatch = 1,     // payload: a span batch (format/span_codec.h)
  kSpanBatchLz4 = 2,  // payload: u32 LE uncompressed size | LZ4 block of a span batch
  kSafeToIgnoreBit = 0x80,
};

}  // namespace spanstore::wal

#endif  // SPANSTORE_FORMAT_WAL_FORMAT_H_
