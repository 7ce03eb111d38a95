// StoreImpl::RebuildManifest: RecoveryMode::kSalvage's answer to a MANIFEST that is missing
// (while block files exist) or damaged (docs/recovery.md).
//
// A block file describes itself (footer, meta page, trace index, zone map), so the block list
// of a manifest can be rebuilt from the files. Two things cannot be, and are made safe instead:
//   - which WAL segments are already compacted: blocks do not record it, so first_live_segment
//     becomes 0 and every segment left is replayed. A replayed span that a block already holds
//     is an exact duplicate, which queries drop (StoreImpl::AppearsEarlier) and compaction drops
//     (CompactSpans checks the live blocks), so nothing is returned twice.
//   - which block files were live: besides the live ones the directory may hold what a crash
//     left (the output of a merge that was never installed, or inputs it replaced that were not
//     yet deleted). Those share spans with other blocks, and queries assume live blocks never
//     do, so blocks that share a span are merged (MergeBlocks drops exact duplicates) and the
//     merged inputs deleted once the new manifest is durable.
// A block that fails any check (BlockReader::Verify reads every page) is moved to DIR/lost/,
// never deleted; so is the damaged manifest.

#include <algorithm>
#include <numeric>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "compaction/compactor.h"
#include "engine/store_impl.h"
#include "format/filenames.h"

namespace spanstore {
namespace {

// True if the two blocks hold an equal span (read only for the traces both hold).
bool ShareASpan(const BlockReader& a, const BlockReader& b) {
  if (a.zone().max_start() < b.zone().min_start() || b.zone().max_start() < a.zone().min_start()) {
    return false;
  }
  const BlockReader& small = a.traces() <= b.traces() ? a : b;
  const BlockReader& large = &small == &a ? b : a;
  bool shared = false;
  std::vector<Span> spans;
  auto index = small.LoadTraceIndex();
  if (!index.ok()) return false;  // its spans cannot be read to compare either
  (*index)->ForEach([&](const TraceId& id, RowRange) {
    if (shared || !large.MayContainTrace(id)) return;
    spans.clear();
    if (!small.ReadTrace(id, &spans).ok()) return;
    for (const Span& span : spans) {
      if (large.Contains(span)) {
        shared = true;
        return;
      }
    }
  });
  return shared;
}

}  // namespace

absl::Status StoreImpl::RebuildManifest(const absl::Status& why, bool manifest_intact,
                                        std::vector<std::shared_ptr<BlockSource>>* out) {
  auto note = [&](const std::string& line) {
    port::MutexLock l(&mu_);
    stats_.recovery_notes.push_back(line);
  };
  const std::string lost_dir = dir_ + "/lost";
  // Moves a damaged file out of the way, keeping it (under a new name if one is taken).
  auto set_aside = [&](const std::string& path, const std::string& name) -> absl::Status {
    absl::Status s = env_->CreateDir(lost_dir);
    std::string target = lost_dir + "/" + name;
    for (int i = 1; s.ok() && env_->FileExists(target); ++i) {
      target = absl::StrFormat("%s/%s.%d", lost_dir, name, i);
    }
    if (s.ok()) s = env_->RenameFile(path, target);
    if (s.ok()) s = env_->SyncDir(lost_dir);
    if (!s.ok()) return s;
    port::MutexLock l(&mu_);
    ++stats_.files_moved_to_lost;
    return absl::OkStatus();
  };

  auto names = env_->GetChildren(BlockDirName(dir_));
  if (!names.ok()) return names.status();
  std::vector<uint64_t> numbers;
  for (const std::string& name : *names) {
    if (auto n = ParseBlockFileName(name)) numbers.push_back(*n);
  }
  std::sort(numbers.begin(), numbers.end());

  // Every block is checked before anything is changed: a block of a newer format is not
  // damaged, and this build must leave such a store alone.
  std::vector<std::shared_ptr<BlockSource>> good;
  std::vector<std::pair<uint64_t, absl::Status>> damaged;
  uint64_t next_number = 1;
  for (uint64_t number : numbers) {
    next_number = std::max(next_number, number + 1);
    auto block = BlockSource::Open(env_, BlockFileName(dir_, number), number, &page_cache_,
                                   &filter_cache_, &index_cache_);
    absl::Status s = block.ok() ? (*block)->reader().Verify() : block.status();
    if (s.code() == absl::StatusCode::kFailedPrecondition) return s;
    if (s.ok()) {
      good.push_back(std::move(*block));
    } else {
      damaged.emplace_back(number, s);
    }
  }

  note(absl::StrFormat("MANIFEST: %s; rebuilding it from the block files", why.message()));
  absl::Status s;
  if (env_->FileExists(ManifestFileName(dir_)) && manifest_intact) {
    // The manifest itself is intact: keep a copy for inspection, the rebuild replaces it.
    auto data = env_->ReadFile(ManifestFileName(dir_));
    s = data.ok() ? env_->CreateDir(lost_dir) : data.status();
    if (s.ok()) s = env_->WriteFileAtomically(lost_dir + "/MANIFEST.before-repair", *data);
    if (!s.ok()) return s;
  } else if (env_->FileExists(ManifestFileName(dir_))) {
    s = set_aside(ManifestFileName(dir_), "MANIFEST");
    if (!s.ok()) return s;
    note("MANIFEST: the damaged file was moved to lost/");
  }
  for (const auto& [number, why_damaged] : damaged) {
    const std::string path = BlockFileName(dir_, number);
    auto size = env_->GetFileSize(path);
    s = set_aside(path, absl::StrFormat("%06d.blk", number));
    if (!s.ok()) return s;
    port::MutexLock l(&mu_);
    ++stats_.corrupt_records_skipped;
    stats_.corrupt_bytes_skipped += size.ok() ? *size : 0;
    stats_.recovery_notes.push_back(
        absl::StrFormat("blocks/%06d.blk: damaged (%s); moved to lost/, its spans are left out",
                        number, why_damaged.message()));
  }

  // Group the blocks that share a span (union-find); each group of two or more is merged.
  std::vector<size_t> parent(good.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (size_t i = 0; i < good.size(); ++i) {
    for (size_t j = i + 1; j < good.size(); ++j) {
      if (root(i) != root(j) && ShareASpan(good[i]->reader(), good[j]->reader())) {
        parent[root(j)] = root(i);
      }
    }
  }

  port::MutexLock c(&compaction_mu_);
  manifest_ = Manifest();
  manifest_.next_block_number = next_number;  // AllocateBlockFile numbers the merge outputs
  manifest_.first_live_segment = 0;           // unknown: replay every segment (see above)
  std::vector<std::shared_ptr<BlockSource>> live, replaced;
  CompactionCounters counters;
  for (size_t i = 0; i < good.size() && s.ok(); ++i) {
    if (root(i) != i) continue;
    std::vector<const BlockReader*> readers;
    std::vector<std::shared_ptr<BlockSource>> inputs;
    for (size_t j = i; j < good.size(); ++j) {
      if (root(j) == i) {
        readers.push_back(&good[j]->reader());
        inputs.push_back(good[j]);
      }
    }
    if (inputs.size() == 1) {
      live.push_back(good[i]);
      continue;
    }
    std::vector<NewBlock> outs;
    s = MergeBlocks(
        env_, BuildOptions(), readers, kMaxMergedBlockRows,
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return AllocateBlockFile(); }, &outs, &counters);
    for (const NewBlock& o : outs) {
      if (s.ok()) {
        auto block =
            BlockSource::Open(env_, o.path, o.number, &page_cache_, &filter_cache_, &index_cache_);
        if (block.ok()) {
          live.push_back(std::move(*block));
          continue;
        }
        s = block.status();
      }
      (void)env_->RemoveFile(o.path);
    }
    replaced.insert(replaced.end(), inputs.begin(), inputs.end());
    note(
        absl::StrFormat("%d blocks share spans (left by a compaction a crash interrupted); "
                        "merged into %d, duplicates dropped",
                        inputs.size(), outs.size()));
  }
  if (!s.ok()) {
    // The new files are not named anywhere; the old ones are untouched. Give up cleanly.
    for (const auto& b : live) {
      if (std::find(good.begin(), good.end(), b) == good.end()) b->MarkObsolete();
    }
    return s;
  }
  std::sort(live.begin(), live.end(),
            [](const auto& a, const auto& b) { return a->number() < b->number(); });

  Manifest next = manifest_;
  for (const auto& b : live) {
    const BlockReader& r = b->reader();
    // Whether a block was an L0 flush or a merge output is not in the file; level 1 keeps the
    // salvaged blocks out of the L0 late-span merge, which only matters for speed. The tiered
    // merges may then rewrite some of them once more (runs of level-1 blocks under the size
    // cap): the count stays bounded, only a little write amplification is spent.
    next.blocks.push_back(ManifestBlock{b->number(), 1, r.rows(), r.traces(), r.zone().min_start(),
                                        r.zone().max_start(), r.file_bytes()});
  }
  s = env_->SyncDir(BlockDirName(dir_));
  if (s.ok()) s = WriteManifest(env_, dir_, next);
  if (!s.ok()) return s;
  manifest_ = std::move(next);
  // The manifest is durable and names the merged blocks: the inputs' spans are all in them.
  for (const auto& b : replaced) b->MarkObsolete();

  uint64_t rows = 0;
  for (const auto& b : live) rows += b->reader().rows();
  port::MutexLock l(&mu_);
  stats_.manifest_rebuilt = true;
  stats_.duplicate_spans_dropped += counters.duplicates_dropped;
  stats_.recovery_notes.push_back(absl::StrFormat(
      "MANIFEST rebuilt: %d blocks, %d spans; every WAL segment is replayed (spans already in "
      "blocks are dropped as duplicates)",
      live.size(), rows));
  *out = std::move(live);
  return absl::OkStatus();
}

}  // namespace spanstore
