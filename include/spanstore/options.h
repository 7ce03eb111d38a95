// Options for opening a Store. Every field has a default that suits a tracing backend; each
// comment states the trade-off.

#ifndef SPANSTORE_OPTIONS_H_
#define SPANSTORE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "spanstore/export.h"

namespace spanstore {

class Env;
struct Trace;

// When Append makes its spans durable.
enum class SyncPolicy : uint8_t {
  // fdatasync before Append returns. A machine crash or power cut loses nothing that was
  // acknowledged. Concurrent appenders share one write and one fdatasync (group commit), so the
  // cost per caller falls as concurrency rises.
  kEveryBatch = 0,
  // Append returns once the bytes are in the OS page cache; a background thread fdatasyncs every
  // `Options::sync_interval`. A process crash loses nothing; a machine crash loses at most the
  // spans acknowledged in the last sync_interval (plus the time one fdatasync takes).
  kInterval = 1,
  // Never fdatasync except when a segment is sealed and on Close. A process crash loses nothing;
  // a machine crash can lose everything since the last sealed segment.
  kNone = 2,
};

// How Open treats damage found while replaying the write-ahead log.
enum class RecoveryMode : uint8_t {
  // A partial record at the very end of the newest segment (a write torn by a crash) is
  // truncated and counted in Stats().torn_tail_records. Any other damage fails Open with
  // DataLoss naming the segment and byte offset -- also a missing or damaged MANIFEST while
  // block files exist, and a WAL segment missing from the middle of the sequence: nothing is
  // deleted, and the message says to run `spanctl repair` (kSalvage).
  kTolerateTornTail = 0,
  // Damaged records anywhere are skipped and counted (Stats().corrupt_records_skipped,
  // corrupt_bytes_skipped); Open succeeds with whatever is readable. For getting data out of a
  // damaged store, never the default. A missing or damaged MANIFEST is rebuilt from the block
  // files (damaged blocks are moved to DIR/lost/, never deleted) and every WAL segment is
  // replayed, duplicates of block spans dropped; a segment missing from the middle of the WAL
  // is reported in Stats().recovery_notes (docs/recovery.md).
  kSalvage = 1,
  // Any damage, even a torn tail, fails Open.
  kStrict = 2,
};

// Compression of compacted blocks: each column of a row group, and a block's meta page, is
// compressed on its own (stored as is when compression does not shrink it).
enum class Codec : uint8_t {
  kNone = 0,
  kLz4 = 1,   // fast to decode; larger
  kZstd = 2,  // about a third smaller than LZ4 on span data; slower to compact
};

// Tail-based sampling, applied by compaction when whole traces are in hand. The default keeps
// every span. The decision for a trace depends only on the trace (and its id's hash for the
// percentage), so every span of a trace gets the same fate even when compacted at different
// times.
struct SPANSTORE_EXPORT SamplingPolicy {
  bool enabled = false;
  // Keep every trace with at least one error span.
  bool keep_errors = true;
  // Keep every trace with a span at least this slow. Zero disables the rule.
  absl::Duration keep_slower_than = absl::ZeroDuration();
  // Keep this percentage of the remaining traces, chosen by trace-id hash.
  double keep_percent = 100.0;
  // Optional custom rule, consulted first: return true to keep, false to drop, or leave empty.
  std::function<bool(const Trace&)> keep;
};

// Options keeps a deprecated field (rows_per_page); the copies and initializations the compiler
// writes for the struct would warn of it wherever an Options is copied, so the warning is off
// for the definition itself. Code that names the field still gets it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct SPANSTORE_EXPORT Options {
  // Durability of Append. See SyncPolicy.
  SyncPolicy sync = SyncPolicy::kEveryBatch;
  // Loss window for SyncPolicy::kInterval.
  absl::Duration sync_interval = absl::Milliseconds(100);

  // A WAL segment is sealed (fdatasync'd and handed to compaction) when it reaches this size.
  // Larger segments mean fewer, larger compactions; smaller ones bound replay time and memory.
  uint64_t segment_bytes = 64ull << 20;

  // Upper bound on the bytes of spans held in memory (active + sealed-but-uncompacted
  // memtables). When compaction falls behind, Append waits (back-pressure) rather than growing
  // memory without bound; Stats().write_stalls counts the waits. 256 MiB holds ~600k typical
  // spans (~420 bytes each in a memtable), a burst of a second or two at full ingest speed;
  // twice that bought no throughput in the 100M-span benchmark (the run was slower: more
  // level-0 blocks waited for merges) and cost 0.2 GB of peak RSS.
  uint64_t max_memtable_bytes = 256ull << 20;

  // Compression of block columns (Zstd at zstd_level).
  Codec codec = Codec::kZstd;
  int zstd_level = 3;
  // Rows per row group of a block. A group is what a reader decompresses and what a scan skips
  // by its zone map (each column of a group is compressed on its own): larger groups compress
  // better; smaller ones skip more precisely and make GetTrace cheaper (it decompresses the
  // groups that hold the trace). Clamped to [1, 2^20].
  uint32_t rows_per_group = 256;
  // Byte budget of the cache of decompressed block pages (one row group, every column, each),
  // shared by every reader of the store and evicted least recently used first. Trace lookups
  // fill it with the row groups they read while it has room, and once it is full with a group
  // the second time they miss it recently (a group read once is then not worth an eviction).
  // Every read looks there first; scans do not fill it, so a long scan does not evict what
  // lookups keep reading. A page in use by a running query stays alive past its eviction, so
  // memory can exceed the budget by the groups of the queries in flight. 0 turns the cache
  // off: every read decompresses.
  uint64_t page_cache_bytes = 64ull << 20;
  // Byte budget of the blocks' row-group value filters (Bloom filters of each row group's
  // attribute values, ~2 bytes per span) held in memory for attribute searches: a block's are
  // read on its first search and kept, least recently used evicted beyond the budget, then
  // read again (one read and checksum of a few MB per block) by the next search that needs
  // them. The default holds a 100M-span store's. A search holds the filters it probes past
  // their eviction, so memory can exceed the budget by those of the searches in flight. 0
  // keeps none: every search reads them.
  uint64_t value_filter_cache_bytes = 256ull << 20;
  // Byte budget of the blocks' trace indexes (which rows of a block hold a trace; ~35 bytes per
  // trace, ~2 bytes per span on typical traces) held in memory: a block's is read on the first
  // lookup, search or merge that needs it and kept, least recently used evicted beyond the
  // budget, then read again (one read and parse of ~18 bytes per trace: a few ms for a
  // million-span block) by the next lookup that needs it. Opening a block reads none: the meta
  // page's trace-id filter answers for blocks without the trace. The default holds a
  // 100M-span store's (~190 MB). A query holds the index it uses past its eviction, so memory
  // can exceed the budget by those of the queries in flight. 0 keeps none: every lookup reads
  // the index of the block it reads.
  uint64_t trace_index_cache_bytes = 256ull << 20;
  // The old name of rows_per_group, from when blocks had one page per column. 0 (the default):
  // unset; any other value is used instead of rows_per_group.
  [[deprecated("use rows_per_group")]] uint32_t rows_per_page = 0;

  // Blocks whose newest span started more than this long ago are deleted by compaction.
  // Zero keeps data forever.
  absl::Duration retention = absl::ZeroDuration();

  // Run compaction on a background thread. When false, only CompactAll() compacts.
  bool background_compaction = true;

  RecoveryMode recovery = RecoveryMode::kTolerateTornTail;

  // Create the directory (and an empty store in it) when it holds no store. True keeps the
  // API's old behaviour for embedders that open a fresh directory; a tool that only reads sets
  // it false, so a mistyped path fails with NotFound instead of leaving an empty store behind.
  bool create_if_missing = true;

  // Open for queries only: no lock file is created (an existing one is taken when it can be),
  // and nothing is created, truncated, renamed or deleted -- a torn WAL tail is skipped in
  // memory, orphans stay, no segment is started and no compaction runs. Append and CompactAll
  // return FailedPrecondition (Flush has nothing to do and succeeds). This is what lets a store on
  // read-only media (or a directory without write permission, or one being inspected after damage)
  // answer queries; the price is that WAL spans are replayed into memory at every open. A store
  // whose MANIFEST is missing or damaged is refused (repairing it writes), whatever `recovery`
  // says; with kSalvage, damaged WAL records, blocks that do not open and missing segments are
  // skipped in memory only (spanctl's read commands take --salvage for this).
  bool read_only = false;

  SamplingPolicy sampling;

  // Limits against hostile input. Append rejects (InvalidArgument) a span larger than
  // max_span_bytes encoded, with more than max_attributes attributes in one list, or with a
  // string longer than max_string_bytes.
  uint64_t max_span_bytes = 4ull << 20;
  uint32_t max_attributes = 1024;
  uint64_t max_string_bytes = 1ull << 20;
  // GetTrace returns at most this many spans and sets Trace::truncated beyond it.
  uint32_t max_trace_spans = 100000;

  // The file system. nullptr: Env::Default(). Not owned; must outlive the Store.
  Env* env = nullptr;
};
#pragma GCC diagnostic pop

}  // namespace spanstore

#endif  // SPANSTORE_OPTIONS_H_
