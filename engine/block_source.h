// BlockSource: one live block of the store as a query's snapshot sees it (engine/read_source.h).
//
// It owns the block's open reader and the file's lifetime (with its summary file): a block is
// shared by the snapshots that include it, and when compaction replaces it the store calls
// MarkObsolete; the file is deleted when the last snapshot drops its reference, so a scan that
// started before the swap keeps reading it.
//
// Thread safety: immutable apart from the obsolete flag; every method may be called
// concurrently.

#ifndef SPANSTORE_ENGINE_BLOCK_SOURCE_H_
#define SPANSTORE_ENGINE_BLOCK_SOURCE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/read_source.h"
#include "format/block_reader.h"
#include "query/analysis_summary.h"
#include "util/port_mutex.h"

namespace spanstore {

class BlockSource final : public ReadSource {
 public:
  explicit BlockSource(std::unique_ptr<BlockReader> reader);
  ~BlockSource() override;

  // Opens the block file `path` (BlockReader::Open's errors), reading through `cache` and
  // keeping its value filters in `filter_cache` and its trace index in `index_cache` when
  // given (not owned; must outlive the source).
  static absl::StatusOr<std::shared_ptr<BlockSource>> Open(Env* env, const std::string& path,
                                                           uint64_t number,
                                                           PageCache* cache = nullptr,
                                                           PageCache* filter_cache = nullptr,
                                                           TraceIndexCache* index_cache = nullptr);

  // The file is deleted when the last reference to this source goes away.
  void MarkObsolete() { obsolete_.store(true, std::memory_order_release); }

  const BlockReader& reader() const { return *reader_; }

  // The block's analysis summary (engine/summary_file.h), read on first use and kept; null
  // when it is missing, damaged or not this block's (the caller scans the block instead).
  // Read lazily so that Open stays as cheap as before.
  std::shared_ptr<const AnalysisSummary> summary() const;
  // Compaction, having written (or removed) the summary file: what summary() returns from now.
  void SetSummary(std::shared_ptr<const AnalysisSummary> summary);
  uint64_t number() const { return reader_->number(); }

  // ReadSource.
  absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* out) const override;
  absl::Status GetTraceFields(const TraceId& trace_id, const SpanFields& fields,
                              const std::vector<std::string_view>& keys,
                              std::vector<Span>* out) const override;
  absl::Status Scan(const SpanQuery& query,
                    absl::FunctionRef<bool(const Span&)> visitor) const override;
  // Answers from the predicate columns alone when the query needs nothing else (no attribute
  // predicates, no filter expression): no span is built.
  absl::Status ScanKeys(const SpanQuery& query,
                        absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor) const override;
  // ScanKeys over the row groups newest first, asking more(rest) between two groups
  // (ScanBlockKeys); a query the columns cannot answer is scanned whole without asking.
  absl::Status ScanKeysNewestFirst(const SpanQuery& query,
                                   absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor,
                                   absl::FunctionRef<bool(uint64_t rest)> more) const;
  bool Contains(const Span& span) const override;
  void CollectServices(absl::btree_set<std::string>* out) const override;
  void CollectOperations(const std::string& service,
                         absl::btree_set<std::string>* out) const override;

 private:
  std::unique_ptr<BlockReader> reader_;
  std::atomic<bool> obsolete_{false};
  mutable port::Mutex summary_mu_;
  mutable bool summary_loaded_ = false;
  mutable std::shared_ptr<const AnalysisSummary> summary_;
};

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_BLOCK_SOURCE_H_
