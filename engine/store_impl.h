// StoreImpl: the Store over a WAL segment log, memtables and compacted blocks. One file per
// part: store_impl.cc (Open, Close), store_recovery.cc (WAL replay at Open), store_write.cc,
// store_read.cc, store_compaction.cc, store_stats.cc.
//
// Write path (group commit, after LevelDB's DBImpl::Write): each Append validates and encodes its
// batch and frames the WAL record on its own thread, then joins a queue. The writer at the front
// is the leader: it takes the batches queued behind it (up to kMaxGroupBytes), writes them with
// one write(2) and, under SyncPolicy::kEveryBatch, one fdatasync, inserts them into the active
// memtable, and wakes the others. Only the leader touches the WAL file and inserts into the
// active memtable, so neither needs a lock of its own; mu_ is released during the I/O.
//
// Read path: a query takes a Snapshot under mu_ -- a list of ReadSources: the live blocks, and
// each memtable with the number of entries published at that moment -- and reads without holding
// mu_. Entries never move and blocks are immutable, so a long scan never blocks appenders.
//
// Compaction (engine/store_compaction.cc): a background thread turns sealed memtables into
// blocks, merges L0 blocks that share traces and runs of adjacent blocks of one level (time-window
// tiers, compaction/merge_policy.h), and drops expired ones; each step installs its
// outputs with one atomic manifest write (format/manifest.h) and a swap under mu_. compaction_mu_
// serializes compaction steps (the thread and CompactAll); lock order: compaction_mu_, then mu_.
//
// Thread safety: all public methods are thread-safe.

#ifndef SPANSTORE_ENGINE_STORE_IMPL_H_
#define SPANSTORE_ENGINE_STORE_IMPL_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "compaction/compactor.h"
#include "compaction/merge_policy.h"
#include "engine/block_source.h"
#include "engine/memtable.h"
#include "engine/read_source.h"
#include "format/manifest.h"
#include "format/page_cache.h"
#include "format/trace_index_cache.h"
#include "format/wal_writer.h"
#include "spanstore/env.h"
#include "spanstore/store.h"
#include "util/port_mutex.h"

namespace spanstore {

// A merge output (compaction's, or a salvage's) is cut at a trace boundary once it holds this
// many rows.
inline constexpr uint64_t kMaxMergedBlockRows = 2'000'000;

class StoreImpl final : public Store {
 public:
  StoreImpl(const Options& options, std::string dir);
  ~StoreImpl() override;

  // Takes the lock, replays the WAL, starts a fresh segment. Called once by Store::Open.
  absl::Status Recover();

  absl::Status Append(absl::Span<const Span> spans) override;
  absl::StatusOr<Trace> GetTrace(const TraceId& trace_id) override;
  absl::Status Scan(const SpanQuery& query, absl::FunctionRef<bool(const Span&)> visitor) override;
  absl::StatusOr<std::vector<TraceSummary>> FindTraces(const SpanQuery& query,
                                                       size_t limit) override;
  absl::StatusOr<std::vector<TraceSearchResult>> Search(const TraceQuery& query,
                                                        const SearchOptions& options) override;
  // engine/store_analysis.cc.
  absl::Status ScanForAnalysis(const SpanQuery& query,
                               absl::FunctionRef<void(const AnalysisSummary*)> summary,
                               absl::FunctionRef<bool(const Span&)> visitor) override;
  absl::StatusOr<std::vector<std::string>> Services() override;
  absl::StatusOr<std::vector<std::string>> Operations(const std::string& service) override;
  absl::Status Flush() override;
  absl::Status CompactAll() override;
  StoreStats Stats() override;
  absl::StatusOr<std::vector<ColumnCodecBytes>> MeasureColumnCodecs(uint64_t max_groups) override;
  absl::Status Close() override;

 private:
  // One Append (or a sync request) waiting in the group-commit queue.
  struct Writer {
    std::string framed;  // the framed WAL record; empty for a sync request
    size_t spans = 0;
    bool sync = false;  // force an fdatasync for this group (Flush, interval sync)
    // CompactAll's place holder: no group may take it along; it waits to lead alone.
    bool barrier = false;
    bool done = false;
    absl::Status status;
    port::CondVar cv;
  };

  // What a query reads: every source, oldest first (engine/read_source.h). The first
  // `disjoint` sources are blocks, which never share a span with each other (compaction drops
  // duplicates against the live blocks), so only memtable spans need de-duplication.
  //
  // The blocks are one shared, immutable list (rebuilt whenever compaction changes the live
  // set), so taking a snapshot copies one pointer, not one per block.
  struct BlockList {
    std::vector<std::shared_ptr<const BlockSource>> blocks;
    // blocks[i]->reader(), side by side, for the trace lookups that ask every block.
    std::vector<const BlockReader*> readers;
  };
  struct Snapshot {
    std::shared_ptr<const BlockList> blocks;
    std::vector<std::shared_ptr<const ReadSource>> memtables;

    size_t size() const { return blocks->blocks.size() + memtables.size(); }
    size_t disjoint() const { return blocks->blocks.size(); }
    const ReadSource& source(size_t i) const {
      const auto& b = blocks->blocks;
      return i < b.size() ? static_cast<const ReadSource&>(*b[i]) : *memtables[i - b.size()];
    }
  };
  // Makes block_list_ match blocks_.
  void PublishBlocks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status ReplaySegment(uint64_t number, bool newest);
  // kSalvage: keeps a copy of a damaged segment in DIR/lost/; one with no readable span is
  // moved there and replaced by an empty segment. REQUIRES: mu_.
  absl::Status SetAsideDamagedSegment(uint64_t number, std::string_view contents, bool has_spans)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails (DataLoss) on a hole in the live segment numbers; kSalvage notes it and goes on.
  absl::Status CheckSegmentSequence(const std::vector<uint64_t>& segments);
  // kSalvage with a MANIFEST that is missing (while block files exist), damaged, or intact but
  // naming a block that does not open (`manifest_intact`), `why` saying which: rebuilds it from
  // the block files (store_repair.cc). Sets manifest_ and returns the live blocks.
  absl::Status RebuildManifest(const absl::Status& why, bool manifest_intact,
                               std::vector<std::shared_ptr<BlockSource>>* blocks);
  absl::Status StartNewSegment() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Seals the active segment: fdatasync, memtable becomes immutable, new segment + memtable.
  absl::Status SealActiveSegment() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `w` through the group-commit queue and returns its status.
  absl::Status Commit(Writer* w);
  // Leader: writes the group from writers_.front() on. Returns the group's last writer.
  Writer* WriteGroup(absl::Status* status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckWritable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetBackgroundError(const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IntervalSyncLoop();

  // Compaction (store_compaction.cc).
  // Opens the blocks the manifest names and deletes files a crash left behind. Called by
  // Recover before the WAL is replayed; sets first_live_segment_.
  absl::Status OpenBlocks();
  // BlockSource::Open of each of `blocks`, in order, on up to four threads for a big store.
  std::vector<absl::StatusOr<std::shared_ptr<BlockSource>>> OpenBlocksInParallel(
      const std::vector<ManifestBlock>& blocks);
  // Deletes WAL segments numbered below `first_live` (already in blocks).
  absl::Status RemoveCompactedSegments(uint64_t first_live);
  void CompactionLoop();
  // One step of compaction work: expire, flush the sealed segments, or one merge (L0 blocks that
  // share traces, else a time-window tier). *did_work is false when there was nothing to do.
  // Notes the outcome of a compaction step (or CompactAll) for back-pressure and Stats.
  void RecordCompactionResult(const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CompactStep(bool* did_work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  absl::Status DropExpiredBlocks(bool* did_work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  absl::Status FlushMemTables(bool* did_work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  absl::Status MergeL0Blocks(bool* did_work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  // Merges the run of blocks the time-window policy picks (compaction/merge_policy.h), if any.
  absl::Status MergeTiers(bool* did_work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  MergePolicy TieredMergePolicy() const;
  // Merges live `inputs` into blocks of `level`, writes their summaries and installs them in
  // place of the inputs with one manifest write.
  absl::Status MergeAndInstall(const std::vector<std::shared_ptr<BlockSource>>& inputs,
                               uint32_t level, bool* did_work)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  // Writes `next` as the manifest, then swaps the live blocks to match it. `flushed` memtables
  // (a prefix of imm_) leave the memtable list; `replaced` blocks become obsolete.
  absl::Status Install(Manifest next, std::vector<std::shared_ptr<BlockSource>> added,
                       size_t flushed_memtables,
                       const std::vector<std::shared_ptr<BlockSource>>& replaced)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  NewBlock AllocateBlockFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  // Writes the analysis summaries (engine/summary_file.h) of `fresh` blocks, which join the
  // live `others`, and rewrites those of `others` that now share a trace the summary keeps
  // closed. A summary that cannot be written is removed (the block is then scanned) and
  // counted; an error only when even that fails.
  absl::Status WriteSummaries(const std::vector<std::shared_ptr<BlockSource>>& fresh,
                              const std::vector<std::shared_ptr<BlockSource>>& others)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  BlockBuildOptions BuildOptions() const;
  // Memory held by memtables. REQUIRES: mu_.
  uint64_t MemTableBytes() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Snapshot TakeSnapshot();
  absl::Status CheckOpen();
  // True if an exact copy of `span` (from snap[source]) is in an earlier source.
  static bool AppearsEarlier(const Snapshot& snap, size_t source, const Span& span);
  // Search's first phase (engine/store_search.cc): the traces that may match `e`, each with the
  // earliest start of a span that made it one; only traces in *within when it is given (the
  // caller intersects with it anyway). right_only: the left sides of `&&` and of the structural
  // operators are left out (a superset). *scanned counts the spans the scans handed over
  // (SearchOptions::max_scanned_spans).
  static absl::Status SearchCandidates(const Snapshot& snap, const SpansetExpr& e,
                                       const SearchOptions& options,
                                       const absl::flat_hash_map<TraceId, uint64_t>* within,
                                       bool right_only, uint64_t* scanned,
                                       absl::flat_hash_map<TraceId, uint64_t>* out);
  // Every matching span of the snapshot once, until the visitor returns false.
  static absl::Status ScanSnapshot(const Snapshot& snap, const SpanQuery& query,
                                   absl::FunctionRef<bool(const Span&)> visitor);
  // Spans of one trace from a snapshot, sorted by start time then span id, exact duplicates
  // removed. With `fields`, spans from blocks are built with only those parts (and of their
  // attributes, those named in `keys`): what a search evaluates a candidate on.
  static absl::Status CollectTrace(const Snapshot& snap, const TraceId& trace_id,
                                   std::vector<Span>* spans, const SpanFields* fields = nullptr,
                                   const std::vector<std::string_view>* keys = nullptr);

  const Options options_;
  Env* const env_;
  const std::string dir_;
  // Before every member that holds block readers, so that they outlive them.
  PageCache page_cache_;
  // The blocks' row-group value filters (Options::value_filter_cache_bytes).
  PageCache filter_cache_;
  // The blocks' trace indexes (Options::trace_index_cache_bytes).
  TraceIndexCache index_cache_;
  std::unique_ptr<FileLock> lock_;

  port::Mutex mu_;
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(mu_);
  // Group commit under kEveryBatch (WriteGroup): the size the last synced groups reached, and
  // the last fdatasync's duration. A leader that finds fewer writers queued than that waits
  // for them (a fraction of a sync at most); group_cv_ tells it of each arrival.
  size_t group_target_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Duration last_sync_ ABSL_GUARDED_BY(mu_);
  bool leader_waiting_ ABSL_GUARDED_BY(mu_) = false;
  port::CondVar group_cv_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // Sticky: set by a failed fdatasync (or a failed cleanup of a failed write); every later
  // write fails with it.
  absl::Status bg_error_ ABSL_GUARDED_BY(mu_);

  // Touched only by the leader (or under mu_ with no leader active, in recovery/seal/close).
  std::unique_ptr<WalWriter> wal_;
  uint64_t wal_number_ = 0;
  uint64_t unsynced_bytes_ = 0;
  SpanBatchView leader_batch_view_;  // WriteGroup's split of each record, its vectors reused

  std::shared_ptr<MemTable> mem_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<MemTable>> imm_ ABSL_GUARDED_BY(mu_);
  // Sealed segment number -> bytes, for segments whose spans are not yet in blocks.
  std::map<uint64_t, uint64_t> sealed_segments_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<BlockSource>> blocks_ ABSL_GUARDED_BY(mu_);  // oldest first
  std::shared_ptr<const BlockList> block_list_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<const BlockList>();  // blocks_, as snapshots share it
  // Append waits here while memtables exceed Options::max_memtable_bytes (back-pressure).
  port::CondVar stall_cv_;
  // Wakes the compaction thread (a segment was sealed, or Close).
  port::CondVar compaction_cv_;
  bool stop_compaction_ ABSL_GUARDED_BY(mu_) = false;
  std::thread compaction_thread_;

  port::Mutex compaction_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  Manifest manifest_ ABSL_GUARDED_BY(compaction_mu_);
  // The newest L0 block already checked for traces shared with older L0 blocks.
  uint64_t merge_checked_block_ ABSL_GUARDED_BY(compaction_mu_) = 0;
  // The last step flushed: a due merge goes before the next flush (CompactStep).
  bool merge_turn_ ABSL_GUARDED_BY(compaction_mu_) = false;
  absl::Status compaction_error_ ABSL_GUARDED_BY(mu_);  // the last failed step, for Stats

  StoreStats stats_ ABSL_GUARDED_BY(mu_);

  // SyncPolicy::kInterval.
  port::Mutex sync_mu_;
  port::CondVar sync_cv_;
  bool stop_sync_ ABSL_GUARDED_BY(sync_mu_) = false;
  std::thread sync_thread_;
};

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_STORE_IMPL_H_
