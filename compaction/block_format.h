// The layout of a block file: one immutable file of compacted spans (docs/block_format.md).
//
//   header      magic "SPNBLOCK" (8), format version fixed32, reserved fixed32
//   row groups  for each group of up to Options::rows_per_page rows: one page
//               (compaction/page_codec.h) per column, in BlockColumn order
//   meta        one page: row count, per-group row count, zone map and page extents, block
//               zone map, services and their operations, the block-wide dictionaries (services,
//               span names, attribute keys, contexts) and per-key block-wide string values
//   trace index index/trace_index.h: the sorted trace list (carries its own checksum)
//   footer      kBlockFooterSize bytes: meta offset/size, index offset/size (fixed64 each),
//               version fixed32, column count fixed32, xxh3 of the 40 bytes before, magic
//
// Rows are sorted by (trace id, start time, span id), so a trace is one contiguous row range.
//
// Thread safety: constants and a pure function.

#ifndef SPANSTORE_COMPACTION_BLOCK_FORMAT_H_
#define SPANSTORE_COMPACTION_BLOCK_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spanstore {

inline constexpr std::string_view kBlockMagic = "SPNBLOCK";
// Bump on any incompatible change; a reader refuses a newer version with a clear message.
inline constexpr uint32_t kBlockFormatVersion = 1;
inline constexpr size_t kBlockHeaderSize = 16;
inline constexpr size_t kBlockFooterSize = 8 * 4 + 4 + 4 + 8 + 8;
// Rows per row group at most (Options::rows_per_page is clamped to it); a reader refuses more.
inline constexpr uint32_t kMaxRowsPerGroup = 1 << 20;

// The columns of a row group, in file order. Predicate columns come first so a scan reads the
// few bytes it filters on before the wide attribute columns.
enum BlockColumn : uint8_t {
  kColStartTime = 0,  // delta zig-zag varints
  kColDuration,       // zig-zag varint of (end - start), so end < start round-trips
  kColService,        // bit-packed ids into the block-wide service dictionary
  kColName,           // bit-packed ids into the block-wide span name dictionary
  kColKindStatus,     // bit-packed kinds, then bit-packed status codes
  kColTraceId,        // runs: varint count, then (16-byte id, varint length) per run
  kColSpanId,         // 8 bytes per row
  kColParent,         // varint code per row (0 none, 1 explicit, d+1 = d rows earlier), then
                      // the explicit ids, 8 bytes each
  kColMisc,           // per row: flags, trace_state, status_message, three dropped counts
  kColResource,       // bit-packed ids into the block-wide contexts (resource + scope)
  kColAttrKeys,       // per row: varint count, then a block-wide key id per attribute
  kColAttrValues,     // per key present: key id, length, then each value of that key in row
                      // order: type byte, then heap id / block string id / varint / fixed64 /
                      // bool / nested value (arrays, maps, bytes)
  kColAttrStrings,    // per key present: key id, the group's string heap for the key
  kColEvents,         // per row: varint count, then per event time delta, name, attributes,
                      // dropped count
  kColLinks,          // per row: varint count, then per link ids, trace_state, attributes,
                      // dropped count, flags
  kNumBlockColumns,
};

// In kColAttrValues, this type byte marks a string stored in the key's block-wide dictionary
// (meta page) rather than in the row group's heap (type byte AnyValue::Type::kString).
inline constexpr uint8_t kBlockStringTag = 0x80;
// A key's block-wide string dictionary stops growing at this many values.
inline constexpr size_t kMaxBlockStrings = 256;

// The name used in StoreStats::column_bytes and `spanctl stats` ("attr.values", ...).
std::string_view BlockColumnName(int column);

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_BLOCK_FORMAT_H_
