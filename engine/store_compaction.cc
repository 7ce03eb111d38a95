// StoreImpl's compaction: opening blocks at recovery, the background thread, CompactAll, and
// the steps -- expire blocks past the retention window, flush sealed memtables into an L0
// block, merge L0 blocks that share traces, merge runs of adjacent blocks of one level
// (time-window tiers, compaction/merge_policy.h) -- each installed with one atomic manifest
// write.
//
// Crash safety, step by step (StoreCompaction.PowerCutAtEveryIoStep cuts power at each I/O):
//   1. new block files are written and synced; a crash here leaves orphans that the next Open
//      deletes (they are not in the manifest), and the WAL still holds every span;
//   2. the manifest is replaced atomically; before the rename the old set is live, after it the
//      new one;
//   3. files the new manifest no longer needs (compacted WAL segments, merged or expired blocks)
//      are deleted; a crash before that leaves them to the next Open, which deletes them.
// Blocks replaced while queries read them are deleted when the last snapshot lets go
// (BlockSource::MarkObsolete).

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "compaction/compactor.h"
#include "engine/store_impl.h"
#include "engine/summary_file.h"
#include "format/filenames.h"

namespace spanstore {
namespace {

// A new L0 block is merged with the older L0 blocks that hold at least this fraction (and at
// least two) of its traces: those are late spans, and merging puts each such trace back in one
// contiguous range.
// Blocks that share only a few traces (those cut by a segment boundary) are left alone, so
// data without late spans is compacted once.
constexpr double kMergeSharedFraction = 0.05;

// Time-window merges (compaction/merge_policy.h) take runs of this many adjacent blocks of one
// level: each span is rewritten about log_4(kMaxMergedBlockRows / L0 rows) times (twice for
// 64 MB segments of ~125k checkout spans), and at most three blocks wait at each level.
constexpr uint32_t kMergeFanIn = 4;

ManifestBlock ManifestEntry(const NewBlock& block, uint32_t level) {
  const BlockProperties& p = block.properties;
  return ManifestBlock{block.number, level,       p.rows,      p.traces,
                       p.min_start,  p.max_start, p.file_bytes};
}

}  // namespace

BlockBuildOptions StoreImpl::BuildOptions() const {
  BlockBuildOptions b;
  b.codec = options_.codec;
  b.zstd_level = options_.zstd_level;
  // The deprecated spelling wins when it is set (Options::rows_per_page).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const uint32_t rows =
      options_.rows_per_page != 0 ? options_.rows_per_page : options_.rows_per_group;
#pragma GCC diagnostic pop
  b.rows_per_group = std::clamp<uint32_t>(rows, 1, kMaxRowsPerGroup);
  return b;
}

uint64_t StoreImpl::MemTableBytes() const {
  uint64_t bytes = mem_ != nullptr ? mem_->bytes() : 0;
  for (const auto& m : imm_) bytes += m->bytes();
  return bytes;
}

NewBlock StoreImpl::AllocateBlockFile() {
  NewBlock b;
  b.number = manifest_.next_block_number++;
  b.path = BlockFileName(dir_, b.number);
  return b;
}

std::vector<absl::StatusOr<std::shared_ptr<BlockSource>>> StoreImpl::OpenBlocksInParallel(
    const std::vector<ManifestBlock>& blocks) {
  // Opening a block decodes its meta page (a zone map per row group: ~400k at 100M spans) and,
  // before block format 4, parses its whole trace index (a hash per trace): CPU work that grows
  // with the store, so a big store spreads it over a few threads. A small one opens on this
  // thread: a thread costs more than a few blocks take.
  constexpr size_t kMinBlocksPerThread = 8;
  constexpr size_t kMaxThreads = 4;
  std::vector<absl::StatusOr<std::shared_ptr<BlockSource>>> opened(
      blocks.size(), absl::UnknownError("not opened"));
  auto open = [&](size_t i) {
    opened[i] = BlockSource::Open(env_, BlockFileName(dir_, blocks[i].number), blocks[i].number,
                                  &page_cache_, &filter_cache_, &index_cache_);
  };
  const size_t threads =
      std::min<size_t>({kMaxThreads, std::max(1u, std::thread::hardware_concurrency()),
                        blocks.size() / kMinBlocksPerThread});
  if (threads <= 1) {
    for (size_t i = 0; i < blocks.size(); ++i) open(i);
    return opened;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < blocks.size(); i = next.fetch_add(1)) open(i);
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  return opened;
}

absl::Status StoreImpl::OpenBlocks() {
  const bool read_only = options_.read_only;
  const bool fresh = !env_->FileExists(BlockDirName(dir_));
  absl::Status s;
  if (!read_only) {
    s = env_->CreateDir(BlockDirName(dir_));
    if (s.ok() && fresh) s = env_->SyncDir(dir_);
    if (!s.ok()) return s;
  }
  std::vector<std::string> names;
  if (!fresh || !read_only) {
    auto children = env_->GetChildren(BlockDirName(dir_));
    if (!children.ok()) return children.status();
    names = std::move(*children);
  }
  const size_t block_files = static_cast<size_t>(std::count_if(
      names.begin(), names.end(), [](const std::string& n) { return ParseBlockFileName(n); }));

  // Without a readable manifest nothing says which block files are live, or which WAL segments
  // are already in them: deleting "unreferenced" blocks would delete every block. Refuse, or
  // (kSalvage) rebuild the manifest from the blocks themselves.
  auto manifest = ReadManifest(env_, dir_);
  absl::Status damage;
  if (!manifest.ok() && manifest.status().code() == absl::StatusCode::kDataLoss) {
    damage = manifest.status();
  } else if (!manifest.ok() && manifest.status().code() == absl::StatusCode::kFailedPrecondition &&
             options_.recovery == RecoveryMode::kSalvage) {
    // "A newer version": believed only when the checksum matches (a flipped bit in the version
    // field reads as a newer version too).
    auto data = env_->ReadFile(ManifestFileName(dir_));
    if (!data.ok() || ManifestChecksumMatches(*data)) return manifest.status();
    damage =
        absl::DataLossError(absl::StrFormat("%s; and its checksum does not match, so taken "
                                            "as damage",
                                            manifest.status().message()));
  } else if (!manifest.ok()) {
    return manifest.status();  // I/O error, or a newer format: nothing to repair
  } else if (block_files > 0 && !env_->FileExists(ManifestFileName(dir_))) {
    damage = absl::DataLossError(absl::StrFormat(
        "%s is missing, but %s holds %d block files: the record of which blocks are live (and "
        "which WAL segments they hold) is lost",
        ManifestFileName(dir_), BlockDirName(dir_), block_files));
  }
  if (damage.ok() && !read_only && block_files == 0 && !env_->FileExists(ManifestFileName(dir_))) {
    // A new store (or one written before compaction existed) gets its manifest now, before
    // any block can be written: from here on a missing manifest is damage, never a crash
    // during the first compaction.
    s = WriteManifest(env_, dir_, *manifest);
    if (!s.ok()) return s;
  }
  std::vector<std::shared_ptr<BlockSource>> blocks;
  const bool manifest_intact = damage.ok();
  if (damage.ok() && options_.recovery == RecoveryMode::kSalvage && !read_only) {
    // A named block that is damaged: rebuilding moves it to lost/ and leaves a manifest
    // without it, so the store opens normally afterwards (keeping it named would make every
    // later default Open, or the queries that reach the damaged page, fail on it). Salvage is
    // an explicit, rare request, so it reads every page of every block to find out.
    for (const ManifestBlock& b : manifest->blocks) {
      auto block = BlockSource::Open(env_, BlockFileName(dir_, b.number), b.number, &page_cache_,
                                     &filter_cache_, &index_cache_);
      absl::Status checked = block.ok() ? (*block)->reader().Verify() : block.status();
      if (checked.ok() || checked.code() == absl::StatusCode::kFailedPrecondition) continue;
      damage = absl::DataLossError(
          absl::StrFormat("%s names %s, which is damaged (%s)", ManifestFileName(dir_),
                          BlockFileName(dir_, b.number), checked.message()));
      break;
    }
  }
  if (!damage.ok()) {
    if (options_.recovery != RecoveryMode::kSalvage || read_only) {
      return absl::DataLossError(absl::StrFormat(
          "%s. Nothing was deleted or changed; run `spanctl repair --db %s` (open with "
          "RecoveryMode::kSalvage) to rebuild the manifest from the block files and WAL "
          "segments",
          damage.message(), dir_));
    }
    s = RebuildManifest(damage, manifest_intact, &blocks);
    if (!s.ok()) return s;
  } else {
    absl::flat_hash_set<uint64_t> live;
    std::vector<absl::StatusOr<std::shared_ptr<BlockSource>>> opened =
        OpenBlocksInParallel(manifest->blocks);
    for (size_t i = 0; i < manifest->blocks.size(); ++i) {
      const ManifestBlock& b = manifest->blocks[i];
      live.insert(b.number);
      absl::StatusOr<std::shared_ptr<BlockSource>>& block = opened[i];
      if (!block.ok()) {
        if (options_.recovery == RecoveryMode::kSalvage) {
          // Leave the file where it is (it stays in the manifest, so nothing deletes it) and
          // serve the rest.
          port::MutexLock l(&mu_);
          ++stats_.corrupt_records_skipped;
          stats_.corrupt_bytes_skipped += b.file_bytes;
          stats_.recovery_notes.push_back(
              absl::StrFormat("%s: left out (%s); the file stays where it is",
                              BlockFileName(dir_, b.number), block.status().message()));
          continue;
        }
        return absl::Status(block.status().code(),
                            absl::StrFormat("%s: opening a block named in the manifest: %s", dir_,
                                            block.status().message()));
      }
      blocks.push_back(std::move(*block));
    }

    // Whatever a crash left behind: blocks written but never installed, blocks replaced by a
    // merge whose deletion did not happen, half-written blocks. Only a manifest that was read
    // can say a block is not live.
    for (const std::string& name : read_only ? std::vector<std::string>() : names) {
      auto number = ParseBlockFileName(name);
      if (!number.has_value()) number = ParseSummaryFileName(name);  // goes with its block
      const bool orphan =
          number.has_value() ? !live.contains(*number) : absl::EndsWith(name, ".tmp");
      if (orphan) {
        s = env_->RemoveFile(BlockDirName(dir_) + "/" + name);
        if (!s.ok()) return s;
      }
    }
    port::MutexLock c(&compaction_mu_);
    manifest_ = std::move(*manifest);
  }
  if (!read_only && env_->FileExists(ManifestFileName(dir_) + ".tmp")) {
    s = env_->RemoveFile(ManifestFileName(dir_) + ".tmp");
    if (!s.ok()) return s;
  }

  if (options_.recovery == RecoveryMode::kSalvage && !read_only) {
    // Repair also writes the analysis summaries that are missing, damaged or of version 1
    // (blocks written before summaries or their time sections existed, a write that failed):
    // they are derived from the block alone.
    port::MutexLock c(&compaction_mu_);
    std::vector<std::shared_ptr<BlockSource>> missing, present;
    for (const auto& b : blocks) {
      // A newer build's summary (FailedPrecondition) is left alone.
      auto summary = ReadBlockSummary(env_, b->reader());
      const absl::StatusCode code = summary.status().code();
      const bool rewrite = code == absl::StatusCode::kNotFound ||
                           code == absl::StatusCode::kDataLoss ||
                           (summary.ok() && !summary->sectioned);
      (rewrite ? missing : present).push_back(b);
    }
    if (!missing.empty()) {
      s = WriteSummaries(missing, present);
      if (!s.ok()) return s;
    }
  }
  port::MutexLock l(&mu_);
  blocks_ = std::move(blocks);
  PublishBlocks();
  return absl::OkStatus();
}

void StoreImpl::PublishBlocks() {
  auto list = std::make_shared<BlockList>();
  list->blocks.assign(blocks_.begin(), blocks_.end());
  for (const auto& b : blocks_) list->readers.push_back(&b->reader());
  block_list_ = std::move(list);
}

absl::Status StoreImpl::RemoveCompactedSegments(uint64_t first_live) {
  auto names = env_->GetChildren(WalDirName(dir_));
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    auto number = ParseSegmentFileName(name);
    if (number.has_value() && *number < first_live) {
      absl::Status s = env_->RemoveFile(WalDirName(dir_) + "/" + name);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::Install(Manifest next, std::vector<std::shared_ptr<BlockSource>> added,
                                size_t flushed_memtables,
                                const std::vector<std::shared_ptr<BlockSource>>& replaced) {
  // The new files' directory entries must be durable before a manifest names them.
  absl::Status s = added.empty() ? absl::OkStatus() : env_->SyncDir(BlockDirName(dir_));
  if (s.ok()) s = WriteManifest(env_, dir_, next);
  if (!s.ok()) {
    // Maybe the old manifest is intact, maybe the new one is (a failed directory fsync after
    // the rename cannot tell): leave the new files alone. The next Open keeps them if the
    // durable manifest names them and deletes them as orphans otherwise; meanwhile the WAL
    // still holds their spans.
    return s;
  }
  const bool segments_done = next.first_live_segment > manifest_.first_live_segment;
  manifest_ = std::move(next);
  {
    port::MutexLock l(&mu_);
    std::vector<std::shared_ptr<BlockSource>> live;
    live.reserve(blocks_.size() + added.size());
    for (auto& b : blocks_) {
      if (std::find(replaced.begin(), replaced.end(), b) == replaced.end()) live.push_back(b);
    }
    live.insert(live.end(), added.begin(), added.end());
    blocks_ = std::move(live);
    PublishBlocks();
    imm_.erase(imm_.begin(), imm_.begin() + static_cast<ptrdiff_t>(flushed_memtables));
    sealed_segments_.erase(sealed_segments_.begin(),
                           sealed_segments_.lower_bound(manifest_.first_live_segment));
    stall_cv_.SignalAll();
  }
  for (const auto& b : replaced) b->MarkObsolete();
  // The manifest is durable: the compacted segments are no longer needed. Queries that still
  // read their memtables hold them in memory, not the files.
  if (segments_done) return RemoveCompactedSegments(manifest_.first_live_segment);
  return absl::OkStatus();
}

absl::Status StoreImpl::WriteSummaries(const std::vector<std::shared_ptr<BlockSource>>& fresh,
                                       const std::vector<std::shared_ptr<BlockSource>>& others) {
  // Invariant (engine/store_analysis.cc relies on it): a trace that two live blocks may hold
  // is open in the summary of each. The trace filters answer "may hold" from memory, and the
  // trace indexes (read if need be) settle their false positives.
  std::vector<const BlockSource*> all;
  for (const auto& b : others) all.push_back(b.get());
  for (const auto& b : fresh) all.push_back(b.get());
  auto held_elsewhere = [&](const BlockSource* self, const TraceId& trace) {
    const uint64_t hash = TraceIndex::Hash(trace);
    for (const BlockSource* b : all) {
      if (b != self && b->reader().MayContainTrace(trace, hash)) return true;
    }
    return false;
  };
  // Writes one block's summary -- `reopened` when given, else one built from the whole block; a
  // summary that cannot be written is removed, so the block is scanned instead (a stale one
  // could claim a trace closed that another block now shares).
  auto write = [&](const BlockSource* b,
                   absl::StatusOr<AnalysisSummary> reopened =
                       absl::FailedPreconditionError("none")) -> absl::Status {
    auto summary =
        reopened.ok() ? std::move(reopened) : BuildBlockSummary(b->reader(), [&](const TraceId& t) {
          return held_elsewhere(b, t);
        });
    absl::Status s =
        summary.ok() ? WriteBlockSummary(env_, b->reader(), *summary) : summary.status();
    if (s.ok()) {
      const_cast<BlockSource*>(b)->SetSummary(
          std::make_shared<const AnalysisSummary>(std::move(*summary)));
      return s;
    }
    {
      port::MutexLock l(&mu_);
      ++stats_.summary_write_failures;
    }
    const_cast<BlockSource*>(b)->SetSummary(nullptr);
    const std::string path = SummaryPathOfBlock(b->reader().path());
    return env_->FileExists(path) ? env_->RemoveFile(path) : absl::OkStatus();
  };
  for (const auto& b : fresh) {
    if (absl::Status s = write(b.get()); !s.ok()) return s;
  }
  // The other blocks that share a trace with a fresh one must have it open. It is already when
  // a span of it lacked its parent there; a trace that was running at that block's end is
  // opened now, by folding again only the sections that held it (ReopenTraces).
  std::vector<TraceId> shared;
  for (const auto& o : others) {
    shared.clear();
    for (const auto& f : fresh) {
      auto index = f->reader().LoadTraceIndex();
      if (!index.ok()) return index.status();
      (*index)->ForEach([&](const TraceId& id, RowRange) {
        if (o->reader().MayContainTrace(id)) shared.push_back(id);
      });
    }
    if (shared.empty()) continue;
    // Read only now: most blocks share nothing with a new one and their summaries stay unread.
    // A block without a summary in memory is scanned; but a file that failed to read now might
    // read later (after a reopen), so it is rewritten too.
    std::shared_ptr<const AnalysisSummary> summary = o->summary();
    const bool stale = summary == nullptr
                           ? env_->FileExists(SummaryPathOfBlock(o->reader().path()))
                           : std::any_of(shared.begin(), shared.end(),
                                         [&](const TraceId& id) { return !summary->IsOpen(id); });
    if (!stale) continue;
    absl::StatusOr<AnalysisSummary> reopened = absl::FailedPreconditionError("no summary");
    if (summary != nullptr) reopened = ReopenTraces(o->reader(), *summary, shared);
    if (absl::Status s = write(o.get(), std::move(reopened)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::DropExpiredBlocks(bool* did_work) {
  *did_work = false;
  if (options_.retention <= absl::ZeroDuration()) return absl::OkStatus();
  const uint64_t now = env_->NowMicros() * 1000;
  const uint64_t window = static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.retention));
  const uint64_t cutoff = now > window ? now - window : 0;
  std::vector<std::shared_ptr<BlockSource>> expired;
  {
    port::MutexLock l(&mu_);
    for (const auto& b : blocks_) {
      if (b->reader().zone().max_start() < cutoff) expired.push_back(b);
    }
  }
  if (expired.empty()) return absl::OkStatus();
  Manifest next = manifest_;
  std::erase_if(next.blocks, [&](const ManifestBlock& m) {
    return std::any_of(expired.begin(), expired.end(),
                       [&](const auto& b) { return b->number() == m.number; });
  });
  absl::Status s = Install(std::move(next), {}, 0, expired);
  if (!s.ok()) return s;
  *did_work = true;
  port::MutexLock l(&mu_);
  stats_.expired_blocks_dropped += expired.size();
  return absl::OkStatus();
}

absl::Status StoreImpl::FlushMemTables(bool* did_work) {
  *did_work = false;
  std::vector<std::shared_ptr<const MemTable>> mems;
  std::vector<std::shared_ptr<BlockSource>> live;
  {
    port::MutexLock l(&mu_);
    if (imm_.empty()) return absl::OkStatus();
    mems.assign(imm_.begin(), imm_.end());
    live = blocks_;
  }
  std::vector<const BlockReader*> existing;
  existing.reserve(live.size() + mems.size());
  for (const auto& b : live) existing.push_back(&b->reader());
  std::vector<EncodedSpan> spans;
  // One L0 block per sealed segment (replay may have split a big segment into several
  // memtables; they go together), all installed by one manifest write.
  std::vector<std::shared_ptr<BlockSource>> added;
  Manifest next = manifest_;
  CompactionCounters counters;
  uint64_t flushed_bytes = 0;
  absl::Status s;
  for (size_t i = 0; i < mems.size() && s.ok();) {
    size_t j = i;
    while (j < mems.size() && mems[j]->segment_number() == mems[i]->segment_number()) ++j;
    NewBlock out;
    spans.clear();
    for (size_t m = i; m < j; ++m) {
      const size_t n = mems[m]->count();
      for (size_t e = 0; e < n; ++e) spans.push_back(mems[m]->entry(e));
    }
    s = CompactSpans(
        env_, BuildOptions(), options_.sampling, spans, existing,
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return AllocateBlockFile(); }, &out, &counters);
    if (s.ok() && !out.path.empty()) {
      auto block = BlockSource::Open(env_, out.path, out.number, &page_cache_, &filter_cache_,
                                     &index_cache_);
      if (block.ok()) {
        existing.push_back(&(*block)->reader());  // later segments are checked against it too
        added.push_back(*block);
        next.blocks.push_back(ManifestEntry(out, /*level=*/0));
        flushed_bytes += out.properties.file_bytes;
      } else {
        (void)env_->RemoveFile(out.path);
        s = block.status();
      }
    }
    next.first_live_segment = std::max(next.first_live_segment, mems[i]->segment_number() + 1);
    i = j;
  }
  next.next_block_number = manifest_.next_block_number;  // advanced by AllocateBlockFile
  // Before the manifest names them (Install syncs the directory first).
  if (s.ok()) s = WriteSummaries(added, live);
  if (!s.ok()) {
    for (const auto& b : added) b->MarkObsolete();  // never named by a manifest
    return s;
  }
  s = Install(std::move(next), added, mems.size(), {});
  if (!s.ok()) return s;  // Install decides what happens to the new files
  *did_work = true;
  port::MutexLock l(&mu_);
  stats_.compactions += added.size();
  stats_.compacted_spans += counters.output_spans;
  stats_.compaction_bytes_written += flushed_bytes;
  stats_.duplicate_spans_dropped += counters.duplicates_dropped;
  stats_.sampled_out_traces += counters.sampled_out_traces;
  return absl::OkStatus();
}

absl::Status StoreImpl::MergeL0Blocks(bool* did_work) {
  *did_work = false;
  std::vector<std::shared_ptr<BlockSource>> level0;
  {
    port::MutexLock l(&mu_);
    for (const auto& b : blocks_) {
      auto it = std::find_if(manifest_.blocks.begin(), manifest_.blocks.end(),
                             [&](const ManifestBlock& m) { return m.number == b->number(); });
      if (it != manifest_.blocks.end() && it->level == 0) level0.push_back(b);
    }
  }
  // Each new L0 block is checked once, against the older L0 blocks, from memory (trace
  // indexes only).
  if (level0.size() < 2 || level0.back()->number() <= merge_checked_block_) {
    return absl::OkStatus();
  }
  const std::shared_ptr<BlockSource> newest = level0.back();
  merge_checked_block_ = newest->number();
  const uint64_t needed = std::max<uint64_t>(
      2,
      static_cast<uint64_t>(kMergeSharedFraction * static_cast<double>(newest->reader().traces())));
  std::vector<std::shared_ptr<BlockSource>> inputs;
  auto newest_index = newest->reader().LoadTraceIndex();
  if (!newest_index.ok()) return newest_index.status();
  for (size_t i = 0; i + 1 < level0.size(); ++i) {
    uint64_t shared = 0;
    (*newest_index)->ForEach([&](const TraceId& id, RowRange) {
      if (level0[i]->reader().MayContainTrace(id)) ++shared;
    });
    if (shared >= needed) inputs.push_back(level0[i]);
  }
  if (inputs.empty()) return absl::OkStatus();
  inputs.push_back(newest);
  return MergeAndInstall(inputs, /*level=*/1, did_work);
}

MergePolicy StoreImpl::TieredMergePolicy() const {
  MergePolicy p;
  p.fan_in = kMergeFanIn;
  p.max_rows = kMaxMergedBlockRows;
  // Retention drops a block when its newest span expires, so a merged block keeps its oldest
  // spans for as long past their expiry as its inputs' newest spans lie apart: an eighth of the
  // retention at most.
  if (options_.retention > absl::ZeroDuration()) {
    p.window_nanos = static_cast<uint64_t>(absl::ToInt64Nanoseconds(options_.retention) / 8);
  }
  return p;
}

absl::Status StoreImpl::MergeTiers(bool* did_work) {
  *did_work = false;
  // The policy sees only blocks that are open (kSalvage may have left one out, which stays in
  // the manifest untouched).
  std::vector<ManifestBlock> open;
  std::vector<std::shared_ptr<BlockSource>> live;
  {
    port::MutexLock l(&mu_);
    live = blocks_;
  }
  for (const auto& b : live) {
    auto it = std::find_if(manifest_.blocks.begin(), manifest_.blocks.end(),
                           [&](const ManifestBlock& m) { return m.number == b->number(); });
    if (it != manifest_.blocks.end()) open.push_back(*it);
  }
  const MergePick pick = PickMerge(open, TieredMergePolicy());
  if (pick.numbers.empty()) return absl::OkStatus();
  std::vector<std::shared_ptr<BlockSource>> inputs;
  for (uint64_t number : pick.numbers) {
    for (const auto& b : live) {
      if (b->number() == number) inputs.push_back(b);
    }
  }
  return MergeAndInstall(inputs, pick.level, did_work);
}

absl::Status StoreImpl::MergeAndInstall(const std::vector<std::shared_ptr<BlockSource>>& inputs,
                                        uint32_t level, bool* did_work) {
  std::vector<const BlockReader*> readers;
  for (const auto& b : inputs) readers.push_back(&b->reader());
  std::vector<NewBlock> outs;
  CompactionCounters counters;
  absl::Status s = MergeBlocks(
      env_, BuildOptions(), readers, kMaxMergedBlockRows,
      [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return AllocateBlockFile(); }, &outs, &counters);
  std::vector<std::shared_ptr<BlockSource>> added;
  for (const NewBlock& out : outs) {
    if (s.ok()) {
      auto block = BlockSource::Open(env_, out.path, out.number, &page_cache_, &filter_cache_,
                                     &index_cache_);
      if (block.ok()) {
        added.push_back(*block);
        continue;
      }
      s = block.status();
    }
    (void)env_->RemoveFile(out.path);
  }
  if (s.ok()) {
    std::vector<std::shared_ptr<BlockSource>> others;
    {
      port::MutexLock l(&mu_);
      for (const auto& b : blocks_) {
        if (std::find(inputs.begin(), inputs.end(), b) == inputs.end()) others.push_back(b);
      }
    }
    s = WriteSummaries(added, others);
  }
  if (!s.ok()) {
    for (const auto& b : added) b->MarkObsolete();
    return s;
  }
  Manifest next = manifest_;
  std::erase_if(next.blocks, [&](const ManifestBlock& m) {
    return std::any_of(inputs.begin(), inputs.end(),
                       [&](const auto& b) { return b->number() == m.number; });
  });
  uint64_t bytes = 0;
  for (const NewBlock& out : outs) {
    next.blocks.push_back(ManifestEntry(out, level));
    bytes += out.properties.file_bytes;
  }
  s = Install(std::move(next), std::move(added), 0, inputs);
  if (!s.ok()) return s;
  *did_work = true;
  port::MutexLock l(&mu_);
  ++stats_.compactions;
  ++stats_.merges;
  stats_.merged_spans += counters.output_spans;
  stats_.compaction_bytes_written += bytes;
  stats_.duplicate_spans_dropped += counters.duplicates_dropped;
  return absl::OkStatus();
}

absl::Status StoreImpl::CompactStep(bool* did_work) {
  bool expired = false, flushed = false, merged = false;
  absl::Status s = DropExpiredBlocks(&expired);
  // Flushes come first, but not always: under sustained ingest a sealed segment is nearly always
  // waiting, and merges would wait until ingest stops while blocks pile up. So after a flush,
  // a due merge gets the next turn -- unless memtables hold half of max_memtable_bytes, where
  // back-pressure is near. A merge delays a flush by at most one merge (at most
  // kMaxMergedBlockRows rows).
  bool pressure;
  {
    port::MutexLock l(&mu_);
    pressure = MemTableBytes() > options_.max_memtable_bytes / 2;
  }
  const bool merge_first = merge_turn_ && !pressure;
  if (s.ok() && !merge_first) s = FlushMemTables(&flushed);
  if (s.ok() && !flushed) s = MergeL0Blocks(&merged);
  if (s.ok() && !flushed && !merged) s = MergeTiers(&merged);
  if (s.ok() && merge_first && !merged) s = FlushMemTables(&flushed);
  merge_turn_ = flushed;
  *did_work = expired || flushed || merged;
  return s;
}

void StoreImpl::CompactionLoop() {
  bool did_work = false;
  while (true) {
    {
      port::MutexLock l(&mu_);
      if (stop_compaction_) return;
      // Wake for sealed segments; otherwise check retention once a second. A step that did
      // work may have made a merge due (merges cascade up the levels): look again at once.
      if (imm_.empty() && !did_work) compaction_cv_.WaitWithTimeout(&mu_, absl::Seconds(1));
      if (stop_compaction_) return;
    }
    did_work = false;
    absl::Status s;
    {
      port::MutexLock c(&compaction_mu_);
      s = CompactStep(&did_work);
    }
    port::MutexLock l(&mu_);
    RecordCompactionResult(s);
    // After a failure (disk full, I/O error) retry later rather than spin; the WAL still holds
    // everything, so nothing is lost meanwhile.
    if (!s.ok() && !stop_compaction_) compaction_cv_.WaitWithTimeout(&mu_, absl::Seconds(1));
  }
}

absl::Status StoreImpl::CompactAll() {
  // Seal the active segment so that everything appended so far is in sealed, synced segments,
  // then compact until nothing is left.
  if (options_.read_only) {
    return absl::FailedPreconditionError(dir_ + ": the store was opened read-only");
  }
  absl::Status s = Flush();
  if (!s.ok()) return s;
  {
    Writer w;  // take the leader position so no group is in flight while we rotate
    w.barrier = true;
    port::MutexLock l(&mu_);
    writers_.push_back(&w);
    while (&w != writers_.front()) w.cv.Wait(&mu_);
    s = CheckWritable();
    if (s.ok() && mem_->count() > 0) s = SealActiveSegment();
    writers_.pop_front();
    if (!writers_.empty()) writers_.front()->cv.Signal();
  }
  if (!s.ok()) return s;
  port::MutexLock c(&compaction_mu_);
  bool did_work = true;
  while (s.ok() && did_work) s = CompactStep(&did_work);
  port::MutexLock l(&mu_);
  RecordCompactionResult(s);
  return s;
}

void StoreImpl::RecordCompactionResult(const absl::Status& s) {
  compaction_error_ = s;
  if (s.ok()) {
    stats_.compaction_failures = 0;
    stats_.compaction_error.clear();
  } else {
    ++stats_.compaction_failures;
    stats_.compaction_error = std::string(s.message());
  }
}

}  // namespace spanstore
