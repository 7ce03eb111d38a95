#include "engine/store_impl.h"

#include <algorithm>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "util/coding.h"
#include "format/filenames.h"
#include "format/span_codec.h"
#include "engine/span_validation.h"
#include "format/wal_reader.h"
#include "format/wal_record.h"

namespace spanstore {
namespace {

// A group never grows past this many bytes, so one slow giant group cannot starve the queue.
constexpr size_t kMaxGroupBytes = 8 << 20;

bool SpanOrder(const Span& a, const Span& b) {
  if (a.start_time_unix_nano != b.start_time_unix_nano) {
    return a.start_time_unix_nano < b.start_time_unix_nano;
  }
  return a.span_id < b.span_id;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const Options& options,
                                                   const std::string& dir) {
  auto store = std::make_unique<StoreImpl>(options, dir);
  absl::Status s = store->Recover();
  if (!s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

StoreImpl::StoreImpl(const Options& options, std::string dir)
    : options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      dir_(std::move(dir)) {}

StoreImpl::~StoreImpl() { (void)Close(); }

// --- Recovery --------------------------------------------------------------------------------

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
        return absl::DataLossError(absl::StrFormat("%s: offset %d: %s", path,
                                                   reader.last_record_offset(), s.message()));
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

absl::Status StoreImpl::StartNewSegment() {
  const uint64_t number = wal_number_ + 1;
  auto writer = WalWriter::Create(env_, SegmentFileName(dir_, number));
  if (!writer.ok()) return writer.status();
  // The new file's directory entry must be durable before any record in it is acknowledged.
  absl::Status s = (*writer)->Flush();
  if (s.ok()) s = env_->SyncDir(WalDirName(dir_));
  if (!s.ok()) return s;
  wal_ = std::move(*writer);
  wal_number_ = number;
  mem_ = std::make_shared<MemTable>(number);
  return absl::OkStatus();
}

absl::Status StoreImpl::SealActiveSegment() {
  absl::Status s = wal_->Sync();
  if (s.ok()) s = wal_->Close();
  if (!s.ok()) {
    SetBackgroundError(s);
    return bg_error_;
  }
  unsynced_bytes_ = 0;
  const uint64_t size = wal_->size();
  if (mem_->count() > 0) {
    imm_.push_back(mem_);
    sealed_segments_[wal_number_] += size;
    compaction_cv_.Signal();
  } else if (size <= wal::kFileHeaderSize) {
    (void)env_->RemoveFile(wal_->path());  // an empty segment; harmless if it stays
  }
  s = StartNewSegment();
  if (!s.ok()) SetBackgroundError(s);
  return s;
}

// --- Write path ------------------------------------------------------------------------------

absl::Status StoreImpl::Append(absl::Span<const Span> spans) {
  if (spans.empty()) return absl::OkStatus();
  Writer w;
  // Room for the record header, then the payload encoded in place (no second copy).
  w.framed.reserve(wal::kRecordHeaderSize + 64 + spans.size() * 384);
  w.framed.resize(wal::kRecordHeaderSize);
  SpanBatchEncoder encoder(spans.size(), &w.framed);
  for (const Span& span : spans) {
    absl::Status s = ValidateSpan(options_, span);
    if (!s.ok()) return s;
    const size_t encoded = encoder.Add(span);
    if (encoded > options_.max_span_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "span %s/%s encodes to %d bytes, more than max_span_bytes (%d)", span.trace_id.ToHex(),
          span.span_id.ToHex(), encoded, options_.max_span_bytes));
    }
  }
  encoder.Finish();
  if (w.framed.size() - wal::kRecordHeaderSize > wal::kMaxPayloadSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a batch of %d spans encodes to %d bytes, more than one WAL record holds (%d); "
        "append it in smaller batches",
        spans.size(), w.framed.size(), wal::kMaxPayloadSize));
  }
  SealFramedRecord(wal::kSpanBatch, &w.framed);
  w.spans = spans.size();
  return Commit(&w);
}

absl::Status StoreImpl::CheckWritable() const {
  if (closed_) return absl::FailedPreconditionError(dir_ + ": the store is closed");
  if (!bg_error_.ok()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: the store is read-only after an unrecoverable write error (%s); reopen the store "
        "to recover",
        dir_, bg_error_.message()));
  }
  return absl::OkStatus();
}

void StoreImpl::SetBackgroundError(const absl::Status& s) {
  if (bg_error_.ok()) bg_error_ = s;
}

absl::Status StoreImpl::Commit(Writer* w) {
  port::MutexLock l(&mu_);
  writers_.push_back(w);
  while (!w->done && w != writers_.front()) w->cv.Wait(&mu_);
  if (w->done) return w->status;

  absl::Status s = CheckWritable();
  Writer* last = w;
  if (s.ok()) last = WriteGroup(&s);
  while (true) {
    Writer* ready = writers_.front();
    writers_.pop_front();
    if (ready != w) {
      ready->status = s;
      ready->done = true;
      ready->cv.Signal();
    }
    if (ready == last) break;
  }
  if (!writers_.empty()) writers_.front()->cv.Signal();
  return s;
}

StoreImpl::Writer* StoreImpl::WriteGroup(absl::Status* status) {
  if (wal_->size() >= options_.segment_bytes || mem_->full()) {
    *status = SealActiveSegment();
    if (!status->ok()) return writers_.front();
  }
  // Back-pressure: while compaction is behind and memtables are over budget, wait (holding the
  // leader position, so the whole queue waits) instead of growing memory without bound.
  if (options_.background_compaction && !imm_.empty() &&
      MemTableBytes() > options_.max_memtable_bytes) {
    ++stats_.write_stalls;
    // A failing compaction (disk full, I/O error) cannot catch up: stop waiting then, so
    // Append reports its own errors instead of hanging; memory grows until compaction recovers.
    while (!imm_.empty() && MemTableBytes() > options_.max_memtable_bytes && !closed_ &&
           !stop_compaction_ && compaction_error_.ok()) {
      compaction_cv_.Signal();
      stall_cv_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
    }
  }
  std::vector<Writer*> group;
  size_t bytes = 0;
  bool sync = options_.sync == SyncPolicy::kEveryBatch;
  for (Writer* x : writers_) {
    if (!group.empty() && bytes + x->framed.size() > kMaxGroupBytes) break;
    if (!group.empty() && x->barrier) break;  // CompactAll must become the leader itself
    group.push_back(x);
    bytes += x->framed.size();
    sync = sync || x->sync;
  }
  sync = sync && (bytes > 0 || unsynced_bytes_ > 0);
  MemTable* const mem = mem_.get();
  const uint64_t before = wal_->size();

  // Only the leader gets here, so the WAL and the active memtable are ours until we re-lock.
  mu_.Unlock();
  absl::Status s;
  for (Writer* x : group) {
    if (x->framed.empty()) continue;
    s = wal_->AppendFramed(x->framed);
    if (!s.ok()) break;
  }
  if (s.ok() && bytes > 0) s = wal_->Flush();
  const bool wrote = s.ok();
  if (wrote && sync) s = wal_->Sync();
  size_t spans = 0;
  if (s.ok()) {
    SpanBatchView encoded;
    for (Writer* x : group) {
      if (x->framed.empty()) continue;
      const std::string_view payload =
          std::string_view(x->framed).substr(wal::kRecordHeaderSize);
      if (SplitSpanBatch(payload, &encoded).ok()) mem->Add(encoded);
      spans += x->spans;
    }
  }
  mu_.Lock();

  if (!wrote) {
    // Nothing of the group is acknowledged. Cut the segment back to the last whole record so
    // later records never follow a partial one; if even that fails, stop writing.
    absl::Status t = wal_->Truncate(before);
    if (!t.ok()) SetBackgroundError(t);
  } else if (!s.ok()) {
    // A failed fdatasync: the kernel may have dropped the dirty pages, and retrying the sync
    // could report success for data that is gone. Never trust this file again.
    SetBackgroundError(s);
  } else {
    unsynced_bytes_ = sync ? 0 : unsynced_bytes_ + bytes;
    ++stats_.wal_writes;
    stats_.wal_bytes_written += bytes;
    if (sync) ++stats_.wal_syncs;
    for (Writer* x : group) {
      if (!x->framed.empty()) ++stats_.appends;
    }
    stats_.appended_spans += spans;
  }
  *status = s;
  return group.back();
}

absl::Status StoreImpl::Flush() {
  Writer w;
  w.sync = true;
  return Commit(&w);
}

absl::Status StoreImpl::CompactAll() {
  // Seal the active segment so that everything appended so far is in sealed, synced segments,
  // then compact until nothing is left.
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
  return s;
}

void StoreImpl::IntervalSyncLoop() {
  while (true) {
    {
      port::MutexLock l(&sync_mu_);
      if (!stop_sync_) sync_cv_.WaitWithTimeout(&sync_mu_, options_.sync_interval);
      if (stop_sync_) return;
    }
    bool needed;
    {
      port::MutexLock l(&mu_);
      needed = unsynced_bytes_ > 0 && bg_error_.ok() && !closed_;
    }
    if (needed) (void)Flush();
  }
}

absl::Status StoreImpl::Close() {
  {
    port::MutexLock l(&mu_);
    if (closed_) return absl::OkStatus();
  }
  if (compaction_thread_.joinable()) {
    {
      port::MutexLock l(&mu_);
      stop_compaction_ = true;
      compaction_cv_.SignalAll();
      stall_cv_.SignalAll();
    }
    compaction_thread_.join();
  }
  if (sync_thread_.joinable()) {
    {
      port::MutexLock l(&sync_mu_);
      stop_sync_ = true;
      sync_cv_.SignalAll();
    }
    sync_thread_.join();
  }
  absl::Status s;
  {
    port::MutexLock l(&mu_);
    s = bg_error_;
  }
  if (s.ok() && wal_ != nullptr) s = Flush();
  port::MutexLock l(&mu_);
  closed_ = true;
  if (wal_ != nullptr) {
    absl::Status c = wal_->Close();
    if (s.ok() && bg_error_.ok()) s = c;
  }
  lock_.reset();
  return s;
}

// --- Read path -------------------------------------------------------------------------------

StoreImpl::Snapshot StoreImpl::TakeSnapshot() {
  port::MutexLock l(&mu_);
  Snapshot snap;
  snap.blocks = block_list_;
  snap.memtables.reserve(imm_.size() + 1);
  for (const auto& m : imm_) {
    snap.memtables.push_back(std::make_shared<MemTableSource>(m, m->count()));
  }
  if (mem_ != nullptr) {
    snap.memtables.push_back(std::make_shared<MemTableSource>(mem_, mem_->count()));
  }
  return snap;
}

bool StoreImpl::AppearsEarlier(const Snapshot& snap, size_t source, const Span& span) {
  // Blocks never share a span (compaction drops duplicates against the live blocks), and a
  // memtable drops exact duplicates within itself; across the other sources (an Append retried
  // after a segment rotation or a reopen) the oldest copy wins.
  if (source < snap.disjoint()) return false;
  for (size_t earlier = 0; earlier < source; ++earlier) {
    if (snap.source(earlier).Contains(span)) return true;
  }
  return false;
}

absl::Status StoreImpl::CollectTrace(const Snapshot& snap, const TraceId& trace_id,
                                     std::vector<Span>* spans) {
  spans->clear();
  // Blocks: test every trace index from memory, their first slots prefetched together (with
  // hundreds of blocks the cache misses are most of a lookup), and read only the blocks that
  // may hold the trace.
  const uint64_t hash = TraceIndex::Hash(trace_id);
  const std::vector<TraceIndex::Filter>& filters = snap.blocks->filters;
  for (const TraceIndex::Filter& f : filters) f.Prefetch(hash);
  for (size_t i = 0; i < filters.size(); ++i) {
    if (!filters[i].MayHold(hash)) continue;
    absl::Status s = snap.blocks->blocks[i]->GetTrace(trace_id, spans);
    if (!s.ok()) return s;
  }
  for (const auto& mem : snap.memtables) {
    absl::Status s = mem->GetTrace(trace_id, spans);
    if (!s.ok()) return s;
  }
  // Usually sorted already: one block holds the trace, in row order.
  if (!std::is_sorted(spans->begin(), spans->end(), SpanOrder)) {
    std::sort(spans->begin(), spans->end(), SpanOrder);
  }
  // The same span appended twice (a retried Append) is returned once.
  spans->erase(std::unique(spans->begin(), spans->end()), spans->end());
  return absl::OkStatus();
}

absl::Status StoreImpl::CheckOpen() {
  port::MutexLock l(&mu_);
  if (closed_) return absl::FailedPreconditionError(dir_ + ": the store is closed");
  return absl::OkStatus();
}

absl::StatusOr<Trace> StoreImpl::GetTrace(const TraceId& trace_id) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  Trace trace;
  trace.trace_id = trace_id;
  absl::Status s = CollectTrace(TakeSnapshot(), trace_id, &trace.spans);
  if (!s.ok()) return s;
  if (trace.spans.empty()) {
    return absl::NotFoundError(absl::StrFormat("trace %s not found", trace_id.ToHex()));
  }
  trace.total_spans = trace.spans.size();
  if (trace.spans.size() > options_.max_trace_spans) {
    trace.spans.resize(options_.max_trace_spans);
    trace.truncated = true;
  }
  return trace;
}

absl::Status StoreImpl::ScanSnapshot(const Snapshot& snap, const SpanQuery& query,
                                     absl::FunctionRef<bool(const Span&)> visitor) {
  bool stopped = false;
  for (size_t i = 0; i < snap.size() && !stopped; ++i) {
    absl::Status s = snap.source(i).Scan(query, [&](const Span& span) {
      if (AppearsEarlier(snap, i, span)) return true;
      stopped = !visitor(span);
      return !stopped;
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::Scan(const SpanQuery& query,
                             absl::FunctionRef<bool(const Span&)> visitor) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  size_t emitted = 0;
  return ScanSnapshot(TakeSnapshot(), query, [&](const Span& span) {
    if (!visitor(span)) return false;
    return query.limit == 0 || ++emitted < query.limit;
  });
}

absl::StatusOr<std::vector<TraceSummary>> StoreImpl::FindTraces(const SpanQuery& query,
                                                                size_t limit) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  const Snapshot snap = TakeSnapshot();
  struct Hit {
    uint64_t first_match_start = UINT64_MAX;
    uint32_t matched = 0;
  };
  absl::flat_hash_map<TraceId, Hit> hits;
  auto hit = [&](const TraceId& trace_id, uint64_t start) {
    Hit& h = hits[trace_id];
    h.first_match_start = std::min(h.first_match_start, start);
    ++h.matched;
    return true;
  };
  // Blocks share no span, so they need no de-duplication and may answer from their columns;
  // memtable spans are checked against every earlier source.
  for (size_t i = 0; i < snap.disjoint(); ++i) {
    absl::Status s = snap.source(i).ScanKeys(query, hit);
    if (!s.ok()) return s;
  }
  for (size_t i = snap.disjoint(); i < snap.size(); ++i) {
    absl::Status s = snap.source(i).Scan(query, [&](const Span& span) {
      if (AppearsEarlier(snap, i, span)) return true;
      return hit(span.trace_id, span.start_time_unix_nano);
    });
    if (!s.ok()) return s;
  }
  // Most recent first. Rank by the earliest matching span, then summarise only the winners.
  std::vector<std::pair<TraceId, Hit>> ranked(hits.begin(), hits.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second.first_match_start != b.second.first_match_start) {
      return a.second.first_match_start > b.second.first_match_start;
    }
    return a.first < b.first;
  });
  if (limit != 0 && ranked.size() > limit) ranked.resize(limit);

  std::vector<TraceSummary> out;
  std::vector<Span> spans;
  for (const auto& [trace_id, hit] : ranked) {
    absl::Status s = CollectTrace(snap, trace_id, &spans);
    if (!s.ok()) return s;
    TraceSummary sum = SummarizeTrace(trace_id, spans);
    sum.matched_spans = hit.matched;
    out.push_back(std::move(sum));
  }
  std::stable_sort(out.begin(), out.end(), [](const TraceSummary& a, const TraceSummary& b) {
    return a.start_time_unix_nano > b.start_time_unix_nano;
  });
  return out;
}

absl::StatusOr<std::vector<std::string>> StoreImpl::Services() {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  absl::btree_set<std::string> services;
  const Snapshot snap = TakeSnapshot();
  for (size_t i = 0; i < snap.size(); ++i) snap.source(i).CollectServices(&services);
  return std::vector<std::string>(services.begin(), services.end());
}

absl::StatusOr<std::vector<std::string>> StoreImpl::Operations(const std::string& service) {
  if (absl::Status s = CheckOpen(); !s.ok()) return s;
  absl::btree_set<std::string> names;
  const Snapshot snap = TakeSnapshot();
  for (size_t i = 0; i < snap.size(); ++i) snap.source(i).CollectOperations(service, &names);
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace spanstore
