#include "engine/block_source.h"

#include <utility>

#include "engine/block_scan.h"
#include "engine/summary_file.h"
#include "format/filenames.h"

namespace spanstore {

BlockSource::BlockSource(std::unique_ptr<BlockReader> reader) : reader_(std::move(reader)) {}

BlockSource::~BlockSource() {
  if (obsolete_.load(std::memory_order_acquire)) {
    Env* const env = reader_->env();
    const std::string path = reader_->path();
    reader_.reset();  // close the file first
    // Best effort: a file left behind is an orphan the next Open removes.
    (void)env->RemoveFile(path);
    const std::string summary = SummaryPathOfBlock(path);
    if (env->FileExists(summary)) (void)env->RemoveFile(summary);
  }
}

std::shared_ptr<const AnalysisSummary> BlockSource::summary() const {
  // The file is read under the lock so that a SetSummary (compaction re-opening traces) is
  // never overwritten by an older read.
  port::MutexLock l(&summary_mu_);
  if (!summary_loaded_) {
    auto s = ReadBlockSummary(reader_->env(), *reader_);
    if (s.ok()) summary_ = std::make_shared<const AnalysisSummary>(std::move(*s));
    summary_loaded_ = true;
  }
  return summary_;
}

void BlockSource::SetSummary(std::shared_ptr<const AnalysisSummary> summary) {
  port::MutexLock l(&summary_mu_);
  summary_ = std::move(summary);
  summary_loaded_ = true;
}

absl::StatusOr<std::shared_ptr<BlockSource>> BlockSource::Open(Env* env, const std::string& path,
                                                               uint64_t number, PageCache* cache,
                                                               PageCache* filter_cache,
                                                               TraceIndexCache* index_cache) {
  auto reader = BlockReader::Open(env, path, number, cache, filter_cache, index_cache);
  if (!reader.ok()) return reader.status();
  return std::make_shared<BlockSource>(std::move(*reader));
}

absl::Status BlockSource::GetTrace(const TraceId& trace_id, std::vector<Span>* out) const {
  return reader_->ReadTrace(trace_id, out);
}

absl::Status BlockSource::GetTraceFields(const TraceId& trace_id, const SpanFields& fields,
                                         const std::vector<std::string_view>& keys,
                                         std::vector<Span>* out) const {
  return reader_->ReadTraceFields(trace_id, fields, keys, out);
}

absl::Status BlockSource::Scan(const SpanQuery& query,
                               absl::FunctionRef<bool(const Span&)> visitor) const {
  return ScanBlock(*reader_, query, visitor);
}

absl::Status BlockSource::ScanKeys(
    const SpanQuery& query, absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor) const {
  if (!ScanKeysFromColumns(query)) return ReadSource::ScanKeys(query, visitor);
  return ScanBlockKeys(*reader_, query, visitor);
}

absl::Status BlockSource::ScanKeysNewestFirst(
    const SpanQuery& query, absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor,
    absl::FunctionRef<bool(uint64_t rest)> more) const {
  if (!ScanKeysFromColumns(query)) return ReadSource::ScanKeys(query, visitor);
  return ScanBlockKeys(*reader_, query, visitor, &more);
}

bool BlockSource::Contains(const Span& span) const { return reader_->Contains(span); }

void BlockSource::CollectServices(absl::btree_set<std::string>* out) const {
  for (const auto& [service, names] : reader_->operations()) out->insert(service);
}

void BlockSource::CollectOperations(const std::string& service,
                                    absl::btree_set<std::string>* out) const {
  auto it = reader_->operations().find(service);
  if (it != reader_->operations().end()) out->insert(it->second.begin(), it->second.end());
}

}  // namespace spanstore
