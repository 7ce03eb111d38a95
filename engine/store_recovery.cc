// StoreImpl's recovery at Open: take the lock, open the blocks the manifest names, replay the
// WAL segments not yet in blocks into memtables, and start a fresh segment. How damage found in
// a segment is treated depends on Options::recovery (docs/wal_format.md, "Recovery").

#include <algorithm>

#include "absl/strings/str_format.h"
#include "engine/store_impl.h"
#include "format/filenames.h"
#include "format/span_codec.h"
#include "format/wal_reader.h"
#include "format/wal_record.h"

namespace spanstore {

absl::Status StoreImpl::Recover() {
  absl::Status s = env_->CreateDir(dir_);
  if (s.ok()) s = env_->CreateDir(WalDirName(dir_));
  if (!s.ok()) return s;
  auto lock = env_->LockFile(LockFileName(dir_));
  if (!lock.ok()) return lock.status();
  lock_ = std::move(*lock);

  // Blocks first: the manifest says which segments are already compacted.
  s = OpenBlocks();
  if (!s.ok()) return s;
  uint64_t first_live;
  {
    port::MutexLock c(&compaction_mu_);
    first_live = manifest_.first_live_segment;
  }
  s = RemoveCompactedSegments(first_live);
  if (!s.ok()) return s;

  auto children = env_->GetChildren(WalDirName(dir_));
  if (!children.ok()) return children.status();
  std::vector<uint64_t> segments;
  for (const std::string& name : *children) {
    if (auto n = ParseSegmentFileName(name); n.has_value() && *n >= first_live) {
      segments.push_back(*n);
    }
  }
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    s = ReplaySegment(segments[i], i + 1 == segments.size());
    if (!s.ok()) return s;
  }

  port::MutexLock l(&mu_);
  // New segments must number at or above first_live, or the next Open would skip them.
  wal_number_ = std::max(segments.empty() ? 0 : segments.back(), first_live);
  s = StartNewSegment();
  if (!s.ok()) return s;
  if (options_.sync == SyncPolicy::kInterval) {
    sync_thread_ = std::thread([this] { IntervalSyncLoop(); });
  }
  if (options_.background_compaction) {
    compaction_thread_ = std::thread([this] { CompactionLoop(); });
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::ReplaySegment(uint64_t number, bool newest) {
  const std::string path = SegmentFileName(dir_, number);
  auto contents = env_->ReadFile(path);
  if (!contents.ok()) return contents.status();
  const bool salvage = options_.recovery == RecoveryMode::kSalvage;
  WalReader reader(*contents, path, salvage, nullptr);

  port::MutexLock l(&mu_);
  auto mem = std::make_shared<MemTable>(number);
  wal::RecordType type;
  std::string_view payload;
  std::string uncompressed;
  SpanBatchView spans;
  while (reader.ReadRecord(&type, &payload)) {
    std::string_view batch;
    absl::Status s = SpanBatchOfRecord(type, payload, &uncompressed, &batch);
    if (s.ok()) s = SplitSpanBatch(batch, &spans);
    if (!s.ok()) {
      // The checksum verified, so the writer produced these bytes: a bug or a hostile file.
      if (!salvage) {
        return absl::DataLossError(
            absl::StrFormat("%s: offset %d: %s", path, reader.last_record_offset(), s.message()));
      }
      ++stats_.corrupt_records_skipped;
      // The bytes of the batch that failed (the record's, when it did not unpack).
      stats_.corrupt_bytes_skipped += (batch.data() != nullptr ? batch : payload).size();
      continue;
    }
    if (mem->full()) {
      imm_.push_back(std::move(mem));
      mem = std::make_shared<MemTable>(number);
    }
    stats_.recovered_spans += mem->Add(spans);
  }
  if (!reader.status().ok()) {
    if (!salvage) return reader.status();
    ++stats_.corrupt_records_skipped;
    stats_.corrupt_bytes_skipped += contents->size();
  }
  stats_.corrupt_records_skipped += reader.corrupt_records();
  stats_.corrupt_bytes_skipped += reader.corrupt_bytes();

  if (reader.torn_tail()) {
    if (options_.recovery == RecoveryMode::kStrict) {
      return absl::DataLossError(absl::StrFormat(
          "%s: offset %d: incomplete record at the end (%d bytes; a write torn by a crash); "
          "RecoveryMode::kStrict refuses it, kTolerateTornTail drops it",
          path, reader.valid_end(), reader.torn_bytes()));
    }
    if (!newest && !salvage) {
      return absl::DataLossError(absl::StrFormat(
          "%s: offset %d: damaged record at the end of a sealed segment (sealed segments are "
          "synced, so this is not a torn write); open with RecoveryMode::kSalvage to skip it",
          path, reader.valid_end()));
    }
    ++stats_.torn_tail_records;
    stats_.torn_tail_bytes += reader.torn_bytes();
    // Cut the torn bytes off durably so later segments never follow a damaged tail.
    absl::Status s = env_->TruncateFile(path, reader.valid_end());
    if (s.ok()) {
      auto file = env_->NewAppendableFile(path);
      s = file.ok() ? (*file)->Sync() : file.status();
    }
    if (!s.ok()) return s;
  }

  if (mem->count() > 0) {
    imm_.push_back(std::move(mem));
    sealed_segments_[number] += std::min<uint64_t>(contents->size(), reader.valid_end());
  } else if (reader.valid_end() <= wal::kFileHeaderSize && reader.status().ok() &&
             reader.corrupt_records() == 0) {
    // Holds nothing (e.g. created just before a crash): remove it rather than keep it forever.
    absl::Status s = env_->RemoveFile(path);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace spanstore
