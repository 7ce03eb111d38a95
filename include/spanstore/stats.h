// StoreStats: what a store holds and what it has done, from Store::Stats().
//
// Thread safety: a plain value; Store::Stats() returns a consistent copy.

#ifndef SPANSTORE_STATS_H_
#define SPANSTORE_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spanstore/export.h"

namespace spanstore {

struct SPANSTORE_EXPORT StoreStats {
  // Contents.
  uint64_t spans = 0;  // spans held (memtables + blocks), duplicates not yet removed
  uint64_t memtable_spans = 0;
  uint64_t memtable_bytes = 0;
  uint64_t blocks = 0;
  uint64_t block_spans = 0;
  uint64_t block_bytes = 0;
  uint64_t wal_segments = 0;
  uint64_t wal_bytes = 0;
  uint64_t disk_bytes = 0;  // every file of the store
  // The cache of decompressed block pages (Options::page_cache_bytes): bytes held now, and
  // lookups answered and missed since open.
  uint64_t page_cache_bytes = 0;
  uint64_t page_cache_hits = 0;
  uint64_t page_cache_misses = 0;
  // The blocks' row-group value filters held for attribute searches
  // (Options::value_filter_cache_bytes): bytes held now.
  uint64_t value_filter_cache_bytes = 0;
  // The blocks' trace indexes held for lookups (Options::trace_index_cache_bytes): bytes held
  // now.
  uint64_t trace_index_cache_bytes = 0;

  // Write path.
  uint64_t appends = 0;            // successful Append calls
  uint64_t appended_spans = 0;     // spans acknowledged by this process
  uint64_t wal_writes = 0;         // write() calls on the WAL (one per group commit)
  uint64_t wal_bytes_written = 0;  // bytes those writes appended (records with their framing)
  uint64_t wal_syncs = 0;          // fdatasync calls on the WAL
  uint64_t write_stalls = 0;       // Appends that waited for compaction (back-pressure)
  bool read_only = false;          // writes refused after an unrecoverable I/O error
  std::string background_error;    // the sticky error that made the store read-only, if any

  // Recovery (from the last Open).
  uint64_t recovered_spans = 0;
  uint64_t torn_tail_records = 0;  // partial records truncated at the end of the WAL
  uint64_t torn_tail_bytes = 0;
  uint64_t corrupt_records_skipped = 0;  // kSalvage only
  uint64_t corrupt_bytes_skipped = 0;
  // kSalvage: the MANIFEST was missing or damaged and was rebuilt from the block files.
  bool manifest_rebuilt = false;
  // kSalvage: WAL segments missing from the middle of the sequence (their spans are lost unless
  // they were already in blocks).
  uint64_t missing_wal_segments = 0;
  // kSalvage: damaged files moved or copied to DIR/lost/ (kept for inspection, never deleted).
  uint64_t files_moved_to_lost = 0;
  // kSalvage: what was found and done, one line each (spanctl repair prints them).
  std::vector<std::string> recovery_notes;

  // Compaction.
  uint64_t compactions = 0;
  uint64_t compacted_spans = 0;
  uint64_t duplicate_spans_dropped = 0;
  uint64_t expired_blocks_dropped = 0;
  // Merges of blocks into larger ones (counted in `compactions` too), and the spans they wrote:
  // merged_spans / compacted_spans is how often a span was rewritten after its flush.
  uint64_t merges = 0;
  uint64_t merged_spans = 0;
  // Block bytes written by flushes and merges since Open (write amplification: this over
  // block_bytes).
  uint64_t compaction_bytes_written = 0;
  uint64_t sampled_out_traces = 0;
  // Block analysis summaries (blocks/NNNNNN.sum) that could not be written; the analyses scan
  // those blocks instead (issue 17).
  uint64_t summary_write_failures = 0;
  uint64_t compaction_backlog_bytes = 0;  // sealed WAL bytes not yet compacted
  bool compaction_behind = false;         // ingest currently outruns compaction
  // Compaction steps that failed in a row (0 once one succeeds), the last failure's message,
  // and Appends refused because memtables reached twice max_memtable_bytes while compaction
  // was failing (Unavailable: nothing acknowledged is lost; retry once compaction recovers).
  uint64_t compaction_failures = 0;
  std::string compaction_error;
  uint64_t appends_refused_compaction_failing = 0;

  // Bytes on disk per block column (compressed), summed over live blocks, e.g. "attr.values";
  // BlockColumnNames() lists the keys in file order.
  std::map<std::string, uint64_t> column_bytes;
};

// What one block column would take under each codec (Store::MeasureColumnCodecs): its bytes
// before compression, and stored with LZ4 and with Zstd (each column of each row group
// compressed on its own, stored raw when that is smaller, as block files do; the stored sizes
// count the column's entry in the group's column table, as StoreStats::column_bytes does).
struct SPANSTORE_EXPORT ColumnCodecBytes {
  std::string column;  // a BlockColumnNames() name
  uint64_t rows = 0;   // rows of the row groups measured
  uint64_t raw = 0;
  uint64_t lz4 = 0;
  uint64_t zstd = 0;
};

// The names of the parts of a block file that StoreStats::column_bytes counts, in file order:
// the columns of a row group (predicate columns first), then "meta" and "trace_index".
SPANSTORE_EXPORT const std::vector<std::string>& BlockColumnNames();

}  // namespace spanstore

#endif  // SPANSTORE_STATS_H_
