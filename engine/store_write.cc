// StoreImpl's write path: Append encodes and frames its batch on its own thread, then joins
// the group-commit queue (Commit); the leader writes the group (WriteGroup) with one write and
// at most one fdatasync, and inserts it into the active memtable. Also segment rotation
// (StartNewSegment, SealActiveSegment), Flush, and the SyncPolicy::kInterval thread.

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "engine/store_impl.h"
#include "format/filenames.h"
#include "format/span_codec.h"
#include "spanstore/validation.h"

namespace spanstore {
namespace {

// A group never grows past this many bytes, so one slow giant group cannot starve the queue.
constexpr size_t kMaxGroupBytes = 8 << 20;
// The longest a leader waits for the writers it expects (WriteGroup), however slow the disk.
constexpr int64_t kMaxGroupWaitMs = 1;

}  // namespace

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

namespace {

// Each appending thread encodes into a buffer it keeps between calls. A batch of 1000 spans
// encodes to ~0.5 MB; a fresh buffer per call is a fresh mmap (glibc serves such sizes from
// mmap, or trims them back to the kernel on free), so every Append paid page faults and the
// kernel's page zeroing for its whole record -- a third of the CPU of bulk ingest. The memtable
// copies the bytes, so the buffer is free again once Commit returns. Buffers that grew past
// kMaxKeptEncodeBuffer (a rare huge batch) are released rather than kept per thread.
constexpr size_t kMaxKeptEncodeBuffer = 8u << 20;

class EncodeBuffer {
 public:
  explicit EncodeBuffer(std::string* out) : out_(out) { out_->swap(Kept()); }
  ~EncodeBuffer() {
    if (out_->capacity() <= kMaxKeptEncodeBuffer) {
      out_->clear();
      out_->swap(Kept());
    }
  }
  EncodeBuffer(const EncodeBuffer&) = delete;
  EncodeBuffer& operator=(const EncodeBuffer&) = delete;

 private:
  static std::string& Kept() {
    thread_local std::string kept;
    return kept;
  }
  std::string* out_;
};

}  // namespace

absl::Status StoreImpl::Append(absl::Span<const Span> spans) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(dir_ + ": the store was opened read-only");
  }
  if (spans.empty()) return absl::OkStatus();
  Writer w;
  const EncodeBuffer reuse(&w.framed);
  // Room for the record header, then the payload encoded in place (no second copy).
  w.framed.reserve(wal::kRecordHeaderSize + 64 + spans.size() * 384);
  w.framed.resize(wal::kRecordHeaderSize);
  // The encoder's tables too are kept per thread (SpanBatchEncoder::Tables), so an Append
  // allocates nothing of its own once its thread has appended a batch as large.
  thread_local SpanBatchEncoder::Tables tables;
  SpanBatchEncoder encoder(spans.size(), &w.framed, &tables);
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
  if (leader_waiting_) group_cv_.Signal();
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
    // A failing compaction (disk full, I/O error, a bug) cannot catch up: stop waiting then, so
    // Append reports its own errors instead of hanging.
    while (!imm_.empty() && MemTableBytes() > options_.max_memtable_bytes && !closed_ &&
           !stop_compaction_ && compaction_error_.ok()) {
      compaction_cv_.Signal();
      stall_cv_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
    }
    // Memory may grow past the budget while compaction fails -- a transient failure should
    // not refuse data at once -- but not without bound: at twice the budget, refuse (and keep
    // everything acknowledged) until compaction recovers, rather than exhaust the machine.
    // (A sync request or CompactAll's barrier adds nothing, and must pass: CompactAll is how a
    // caller gets compaction going again.)
    if (!compaction_error_.ok() && MemTableBytes() > 2 * options_.max_memtable_bytes &&
        !writers_.front()->framed.empty()) {
      ++stats_.appends_refused_compaction_failing;
      *status = absl::UnavailableError(absl::StrFormat(
          "%s: compaction is failing (%s); %d bytes of spans wait in memory, over twice "
          "max_memtable_bytes (%d): Append is refused until compaction recovers (nothing "
          "acknowledged is lost; retry later)",
          dir_, compaction_error_.message(), MemTableBytes(), options_.max_memtable_bytes));
      return writers_.front();
    }
  }
  // Closed-loop appenders (each waits for its Append, then appends again) otherwise split into
  // two alternating groups: the writers released by one sync come back while the next group,
  // formed from those that queued during the sync, is already syncing. So under kEveryBatch a
  // leader that finds fewer writers queued than the last groups held waits for the others,
  // for at most half the last sync: a group then shares one fdatasync among all of them. A
  // lone appender never waits (its target is 1), and a wait that times out lowers the target
  // to what arrived.
  bool waited_out = false;
  if (options_.sync == SyncPolicy::kEveryBatch && writers_.size() < group_target_ &&
      !writers_.front()->barrier) {
    const absl::Time deadline =
        absl::Now() + std::min(last_sync_ / 2, absl::Milliseconds(kMaxGroupWaitMs));
    leader_waiting_ = true;
    while (writers_.size() < group_target_ && !closed_ && !waited_out) {
      waited_out = group_cv_.WaitWithTimeout(&mu_, deadline - absl::Now());
    }
    leader_waiting_ = false;
  }
  // Inline up to 16 writers: a group is formed on every write, and appenders rarely number more.
  absl::InlinedVector<Writer*, 16> group;
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
  if (options_.sync == SyncPolicy::kEveryBatch) {
    group_target_ = waited_out ? group.size() : std::max(group_target_, group.size());
  }
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
  absl::Duration sync_time;
  if (wrote && sync) {
    const absl::Time sync_start = absl::Now();
    s = wal_->Sync();
    sync_time = absl::Now() - sync_start;
  }
  size_t spans = 0;
  if (s.ok()) {
    SpanBatchView& encoded = leader_batch_view_;  // only the leader gets here: reuse its vectors
    for (Writer* x : group) {
      if (x->framed.empty()) continue;
      const std::string_view payload = std::string_view(x->framed).substr(wal::kRecordHeaderSize);
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
    if (sync) last_sync_ = sync_time;
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
  if (options_.read_only) return CheckOpen();  // nothing was written, nothing to make durable
  Writer w;
  w.sync = true;
  return Commit(&w);
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

}  // namespace spanstore
