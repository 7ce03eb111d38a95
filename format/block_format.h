// The layout of a block file: one immutable file of compacted spans (docs/block_format.md).
//
//   header      magic "SPNBLOCK" (8), format version fixed32, reserved fixed32
//   row groups  for each group of up to Options::rows_per_group rows: one group page
//               (format/group_page.h) holding every column of the group, each column
//               compressed on its own, and one checksum
//   filters     (version 4) the row groups' value filters (index/value_filter.h), raw, one
//               after another, then fixed64 XXH3_64bits of them: read on a block's first
//               attribute search, not at open
//   meta        one page (format/page_codec.h): row count, the block zone map, the
//               block-wide dictionaries (services, span names, attribute keys, contexts), the
//               operation table (service, name, kind, attribute keys, contexts, template
//               values, successor), per-key block strings, and per group its row count, zone
//               map, page size and value filter (version 3: the filter; version 4: its size)
//   trace index index/trace_index.h: the trace list in row order (carries its own checksum);
//               it also gives each row its trace id, so the groups do not store trace ids
//   footer      kBlockFooterSize bytes: meta offset/size, index offset/size (fixed64 each),
//               version fixed32, column count fixed32, xxh3 of the 40 bytes before, magic
//
// A trace is one contiguous row range, its rows sorted by (start time, span id); a trace
// appears once. Readers assume no order among traces; writers put them in order of (first
// start, trace id) -- TraceOrderLess -- so that row groups cover narrow, consecutive stretches
// of time and their zone maps prune time windows.
//
// Thread safety: constants and pure functions.

#ifndef SPANSTORE_FORMAT_BLOCK_FORMAT_H_
#define SPANSTORE_FORMAT_BLOCK_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spanstore {

inline constexpr std::string_view kBlockMagic = "SPNBLOCK";
// Bump on any incompatible change; a reader refuses a newer version with a clear message.
// Version 3 adds each row group's value filter (index/value_filter.h) to the meta page;
// version 2 blocks are still read (their groups have no filter, so value searches read them).
// Version 4 moves the filters out of the (compressed) meta page into a raw section of their own
// before it, so that opening a block reads and decompresses no filter (they were ~90% of the
// meta page: Bloom bits do not compress) and a store that is never searched by attribute value
// never holds them. Version 5 ends that section with a block value filter
// (index/block_value_filter.h) over the block's distinct values (of the keys that fit its
// budget), so that a search for a rare value skips a block in one probe rather than one per row
// group, and writes the filters in a blocked layout (one or two cache lines per probe). Version
// 1 (one page per column, trace ids in every group) is no longer read. Version 6 may store an
// attribute key's value codes packed (format/value_codes.h: kFormPacked) rather than as varints.
// Version 7 ends the meta page with a Zstd dictionary per column (format/zstd_dictionaries.h),
// and a group page's column may be compressed with it (kCodecZstdDict).
inline constexpr uint32_t kBlockFormatVersion = 7;
inline constexpr uint32_t kOldestBlockFormatVersion = 2;
inline constexpr size_t kBlockHeaderSize = 16;
inline constexpr size_t kBlockFooterSize = 8 * 4 + 4 + 4 + 8 + 8;
// Rows per row group at most (Options::rows_per_group is clamped to it); a reader refuses more.
inline constexpr uint32_t kMaxRowsPerGroup = 1 << 20;

// The columns of a row group, in file order. The predicate columns come first: a scan decodes
// them, narrows the rows, and decompresses the rest only for groups with candidates.
enum BlockColumn : uint8_t {
  kColParent = 0,   // varint per row: 0 no parent, 1 explicit (kColParentId), d+1 = the row d
                    // rows earlier in this group
  kColOp,           // varint per row: 0 = the block's successor of the previous row's
                    // operation, else operation id + 1 (operation = service, name, kind and
                    // attribute keys; the table is in the meta page)
  kColContext,      // bit-packed per row: index into the operation's context list
  kColStatus,       // bit-packed StatusCode per row
  kColStartClass,   // one byte per row: bit width of the start residual (time_columns.h)
  kColEndClass,     // one byte per row: bit width of the end residual
  kColTimeBits,     // the residuals' low bits, LSB first (start residuals, then end residuals)
  kColSpanId,       // 8 bytes per row
  kColParentId,     // 8 bytes per explicit parent, in row order
  kColAttrValues,   // per key present: key id, form, then one code per value in row order
                    // (template / inline / block string / heap string)
  kColAttrStrings,  // per key with a heap: key id, the group's string heap of that key
  kColMisc,         // per row: flags, trace_state, status_message, three dropped counts
  kColEvents,       // per row: an event list (format/value_codec.h)
  kColLinks,        // per row: a link list (format/value_codec.h)
  kNumBlockColumns,
};

// Codes of kColParent (varints): no parent, an explicit id (the next 8 bytes of kColParentId),
// or kParentRowBias + d for the row d >= 1 rows earlier in the group.
inline constexpr uint64_t kParentNone = 0;
inline constexpr uint64_t kParentExplicit = 1;
inline constexpr uint64_t kParentRowBias = 1;

// Codes of kColOp (varints): the block's successor of the previous row's operation (the meta
// page's operation table names one per operation), or kOpIdBias + id for operation `id`.
inline constexpr uint64_t kOpSuccessor = 0;
inline constexpr uint64_t kOpIdBias = 1;
// An operation's successor in the meta page: kNoSuccessor, or kOpIdBias + id.
inline constexpr uint64_t kNoSuccessor = 0;

// Codes of an attribute value in kColAttrValues (varints). kValueTemplate is the value the
// row's operation had for this key when the block first saw the operation (its template, in the
// meta page): attributes that are constant per operation (rpc.method, db.system, server.port)
// cost a zero byte, which the compressor all but erases. Other codes, in a generic stream:
// kValueInline = an encoded value follows (format/value_codec.h), BlockStringCode(i) = block
// string i of the key, HeapStringCode(i) = heap string i; in an int stream (every non-template
// value an int, none INT64_MIN, whose code would wrap to kValueTemplate): kValueInline +
// zigzag(value).
inline constexpr uint64_t kValueTemplate = 0;
inline constexpr uint64_t kValueInline = 1;
inline constexpr uint64_t kValueBlockString = 2;  // + 2i
inline constexpr uint64_t kValueHeapString = 3;   // + 2i
constexpr uint64_t BlockStringCode(uint64_t i) { return kValueBlockString + 2 * i; }
constexpr uint64_t HeapStringCode(uint64_t i) { return kValueHeapString + 2 * i; }
// For a code >= kValueBlockString: whether it names a block string, and which.
constexpr bool IsBlockStringCode(uint64_t code) { return code % 2 == kValueBlockString % 2; }
constexpr uint64_t StringIndexOf(uint64_t code) { return (code - kValueBlockString) / 2; }
static_assert(StringIndexOf(BlockStringCode(7)) == 7 && StringIndexOf(HeapStringCode(7)) == 7 &&
              IsBlockStringCode(BlockStringCode(3)) && !IsBlockStringCode(HeapStringCode(3)));
// How a key's stream in kColAttrValues is coded (the byte before it): the codes' form, generic
// or ints, or'ed with kFormPacked when they are bit-packed (version 6; format/value_codes.h)
// rather than varints.
enum AttrStreamForm : uint8_t { kFormGeneric = 0, kFormInts = 1, kFormPacked = 2 };
inline constexpr uint8_t kMaxAttrStreamForm = kFormInts | kFormPacked;

// The codec byte of a page (format/page_codec.h) and of a group-page column
// (format/group_page.h).
enum CodecByte : uint8_t { kCodecNone = 0, kCodecLz4 = 1, kCodecZstd = 2 };
// A group-page column compressed with Zstd and its block's dictionary for the column (version 7).
inline constexpr uint8_t kCodecZstdDict = 3;

// A key's block-wide string dictionary stops growing at this many values, and a block's
// dictionaries of strings at this many bytes (they are held in memory by readers).
inline constexpr size_t kMaxBlockStrings = 1 << 16;
inline constexpr size_t kMaxBlockStringBytes = 4 << 20;

// The name used in StoreStats::column_bytes and `spanctl stats` ("attr.values", ...), and the
// names of the non-group parts of a block file ("meta", "trace_index": kNumBlockColumns and
// kNumBlockColumns + 1).
std::string_view BlockColumnName(int column);
inline constexpr int kNumBlockParts = kNumBlockColumns + 2;

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_BLOCK_FORMAT_H_
