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
  const bool read_only = options_.read_only;
  // A store is a directory with wal/ or a MANIFEST in it. Neither a tool that only reads nor a
  // caller who asked not to create one gets an empty store made for a mistyped path.
  const bool exists =
      env_->FileExists(WalDirName(dir_)) || env_->FileExists(ManifestFileName(dir_));
  if (!exists && (read_only || !options_.create_if_missing)) {
    return absl::NotFoundError(
        absl::StrFormat("%s: no spanstore store there (%s); nothing was created", dir_,
                        env_->FileExists(dir_) ? "the directory has no wal/ and no MANIFEST"
                                               : "no such directory"));
  }
  absl::Status s;
  if (!read_only) {
    s = env_->CreateDir(dir_);
    if (s.ok()) s = env_->CreateDir(WalDirName(dir_));
    if (!s.ok()) return s;
  }
  if (!read_only || env_->FileExists(LockFileName(dir_))) {
    auto lock = env_->LockFile(LockFileName(dir_));
    if (lock.ok()) {
      lock_ = std::move(*lock);
    } else if (!read_only || lock.status().code() == absl::StatusCode::kFailedPrecondition) {
      return lock.status();
    }
    // Read-only and the lock file cannot be opened for writing (read-only media, no
    // permission): no writer can have the store open through it either, so read unlocked.
  }

  // Blocks first: the manifest says which segments are already compacted.
  s = OpenBlocks();
  if (!s.ok()) return s;
  uint64_t first_live;
  {
    port::MutexLock c(&compaction_mu_);
    first_live = manifest_.first_live_segment;
  }
  if (!read_only) {
    s = RemoveCompactedSegments(first_live);
    if (!s.ok()) return s;
  }

  std::vector<uint64_t> segments;
  if (env_->FileExists(WalDirName(dir_))) {
    auto children = env_->GetChildren(WalDirName(dir_));
    if (!children.ok()) return children.status();
    for (const std::string& name : *children) {
      if (auto n = ParseSegmentFileName(name); n.has_value() && *n >= first_live) {
        segments.push_back(*n);
      }
    }
  }
  std::sort(segments.begin(), segments.end());
  s = CheckSegmentSequence(segments);
  if (!s.ok()) return s;
  for (size_t i = 0; i < segments.size(); ++i) {
    s = ReplaySegment(segments[i], i + 1 == segments.size());
    if (!s.ok()) return s;
  }

  port::MutexLock l(&mu_);
  if (read_only) return absl::OkStatus();  // no segment, no threads: nothing is written
  // The next segment takes the number after the newest one still there (an empty newest one
  // was just removed, and its number is reused so that the sequence has no hole), and numbers
  // at or above first_live, or the next Open would skip it.
  uint64_t newest = segments.empty() ? 0 : segments.back();
  if (newest > 0 && !env_->FileExists(SegmentFileName(dir_, newest))) --newest;
  wal_number_ = std::max(newest, first_live > 0 ? first_live - 1 : 0);
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

absl::Status StoreImpl::CheckSegmentSequence(const std::vector<uint64_t>& segments) {
  // Segments are numbered in write order and deleted only from the front (below
  // first_live_segment, once compacted), so a hole in the middle is a file lost or deleted by
  // hand -- acknowledged spans that are nowhere else unless they were already compacted.
  for (size_t i = 1; i < segments.size(); ++i) {
    if (segments[i] == segments[i - 1] + 1) continue;
    const std::string missing =
        segments[i] == segments[i - 1] + 2
            ? SegmentFileName(dir_, segments[i - 1] + 1)
            : absl::StrFormat("%s .. %06d.log", SegmentFileName(dir_, segments[i - 1] + 1),
                              segments[i] - 1);
    if (options_.recovery != RecoveryMode::kSalvage) {
      return absl::DataLossError(absl::StrFormat(
          "%s: WAL segment %s is missing (segments %d and %d exist): a WAL file was lost or "
          "deleted, and the spans it held are gone unless they were already compacted. Nothing "
          "was changed; run `spanctl repair --db %s` (RecoveryMode::kSalvage) to open the store "
          "with the segments that remain",
          dir_, missing, segments[i - 1], segments[i], dir_));
    }
    port::MutexLock l(&mu_);
    stats_.missing_wal_segments += segments[i] - segments[i - 1] - 1;
    stats_.recovery_notes.push_back(absl::StrFormat(
        "WAL segment %s is missing (segments %d and %d exist); its spans are lost unless they "
        "were already in blocks; continuing with the segments that remain",
        missing, segments[i - 1], segments[i]));
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
  const uint64_t corrupt_before = stats_.corrupt_records_skipped;
  const uint64_t recovered_before = stats_.recovered_spans;
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
    // Cut the torn bytes off durably so later segments never follow a damaged tail (read-only:
    // no segment follows, and the bytes are simply not replayed).
    absl::Status s;
    if (!options_.read_only) s = env_->TruncateFile(path, reader.valid_end());
    if (s.ok() && !options_.read_only) {
      auto file = env_->NewAppendableFile(path);
      s = file.ok() ? (*file)->Sync() : file.status();
    }
    if (!s.ok()) return s;
  }

  if (salvage && !options_.read_only && stats_.corrupt_records_skipped > corrupt_before) {
    absl::Status s =
        SetAsideDamagedSegment(number, *contents, stats_.recovered_spans > recovered_before);
    if (!s.ok()) return s;
  }

  if (mem->count() > 0) {
    imm_.push_back(std::move(mem));
    sealed_segments_[number] += std::min<uint64_t>(contents->size(), reader.valid_end());
  } else if (newest && !options_.read_only && reader.valid_end() <= wal::kFileHeaderSize &&
             reader.status().ok() && reader.corrupt_records() == 0) {
    // Holds nothing (created just before a crash): remove it rather than keep it forever.
    // Recover gives the next segment its number, so no hole is left in the sequence. An
    // empty older segment stays until compaction passes it (removing it would leave a hole).
    absl::Status s = env_->RemoveFile(path);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::SetAsideDamagedSegment(uint64_t number, std::string_view contents,
                                               bool has_spans) {
  const std::string path = SegmentFileName(dir_, number);
  const std::string lost_dir = dir_ + "/lost";
  absl::Status s = env_->CreateDir(lost_dir);
  std::string target = absl::StrFormat("%s/%06d.log", lost_dir, number);
  for (int i = 1; s.ok() && env_->FileExists(target); ++i) {
    target = absl::StrFormat("%s/%06d.log.%d", lost_dir, number, i);
  }
  if (!s.ok()) return s;
  if (has_spans) {
    // Its intact spans are in memory and reach a block at the next compaction, which then
    // deletes the segment: keep the damaged bytes.
    s = env_->WriteFileAtomically(target, contents);
  } else {
    // Nothing in it could be read, so no compaction would ever pass it and every later Open
    // would fail on it: move it away and leave an empty segment of the same number, so the
    // sequence keeps no hole.
    s = env_->RenameFile(path, target);
    if (s.ok()) {
      auto empty = WalWriter::Create(env_, path);
      s = empty.ok() ? (*empty)->Sync() : empty.status();
      if (s.ok()) s = (*empty)->Close();
    }
    if (s.ok()) s = env_->SyncDir(WalDirName(dir_));
    if (s.ok()) s = env_->SyncDir(lost_dir);
  }
  if (!s.ok()) return s;
  ++stats_.files_moved_to_lost;
  stats_.recovery_notes.push_back(
      absl::StrFormat("wal/%06d.log: damaged records skipped; the file was %s %s", number,
                      has_spans ? "copied to" : "moved to (and replaced by an empty segment)",
                      target.substr(dir_.size() + 1)));
  return absl::OkStatus();
}

}  // namespace spanstore
