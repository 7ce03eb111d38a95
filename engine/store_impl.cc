// StoreImpl's life cycle: Store::Open and Close. The rest of StoreImpl is one file per part:
// store_recovery.cc (replaying the WAL at Open), store_write.cc (Append's group commit, segment
// rotation, Flush), store_read.cc (snapshots and queries), store_compaction.cc (blocks and
// compaction, CompactAll), store_stats.cc (Stats).

#include "engine/store_impl.h"

namespace spanstore {

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
      dir_(std::move(dir)),
      page_cache_(options.page_cache_bytes),
      // One shard: a few entries of a few MB (a block's filters), touched once per block per
      // search.
      filter_cache_(options.value_filter_cache_bytes, 1),
      index_cache_(options.trace_index_cache_bytes) {}

StoreImpl::~StoreImpl() { (void)Close(); }

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

}  // namespace spanstore
