// StoreImpl::Stats and the column names it reports (include/spanstore/stats.h).

#include <string>
#include <vector>

#include "engine/store_impl.h"
#include "format/block_format.h"
#include "format/filenames.h"
#include "format/group_data.h"
#include "format/page_codec.h"
#include "spanstore/stats.h"
#include "util/coding.h"

namespace spanstore {

const std::vector<std::string>& BlockColumnNames() {
  static const std::vector<std::string>* names = [] {
    auto* v = new std::vector<std::string>;
    for (int c = 0; c < kNumBlockParts; ++c) v->emplace_back(BlockColumnName(c));
    return v;
  }();
  return *names;
}

StoreStats StoreImpl::Stats() {
  StoreStats st;
  std::string wal_path;
  {
    port::MutexLock l(&mu_);
    st = stats_;
    st.page_cache_bytes = page_cache_.usage();
    st.page_cache_hits = page_cache_.hits();
    st.page_cache_misses = page_cache_.misses();
    st.value_filter_cache_bytes = filter_cache_.usage();
    st.trace_index_cache_bytes = index_cache_.usage();
    auto add = [&](const MemTable& m) {
      st.memtable_spans += m.count();
      st.memtable_bytes += m.bytes();
    };
    for (const auto& m : imm_) add(*m);
    if (mem_ != nullptr) add(*mem_);
    st.read_only = !bg_error_.ok();
    if (!bg_error_.ok()) {
      st.background_error = std::string(bg_error_.message());
    } else if (!compaction_error_.ok()) {
      st.background_error = "compaction: " + std::string(compaction_error_.message());
    }
    for (const auto& block : blocks_) {
      ++st.blocks;
      st.block_spans += block->reader().rows();
      st.block_bytes += block->reader().file_bytes();
      for (int c = 0; c < kNumBlockParts; ++c) {
        st.column_bytes[std::string(BlockColumnName(c))] += block->reader().column_bytes()[c];
      }
    }
    st.compaction_backlog_bytes = 0;
    for (const auto& [number, bytes] : sealed_segments_) st.compaction_backlog_bytes += bytes;
    st.compaction_behind =
        options_.background_compaction && MemTableBytes() > options_.max_memtable_bytes / 2;
  }
  st.spans = st.memtable_spans + st.block_spans;
  auto names = env_->GetChildren(WalDirName(dir_));
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (!ParseSegmentFileName(name)) continue;
      auto size = env_->GetFileSize(WalDirName(dir_) + "/" + name);
      if (!size.ok()) continue;
      ++st.wal_segments;
      st.wal_bytes += *size;
    }
  }
  auto manifest = env_->GetFileSize(ManifestFileName(dir_));
  st.disk_bytes = st.wal_bytes + st.block_bytes + (manifest.ok() ? *manifest : 0);
  // The blocks' analysis summaries (a few percent of the blocks) are files of the store too.
  auto blocks = env_->GetChildren(BlockDirName(dir_));
  if (blocks.ok()) {
    for (const std::string& name : *blocks) {
      if (!ParseSummaryFileName(name)) continue;
      auto size = env_->GetFileSize(BlockDirName(dir_) + "/" + name);
      if (size.ok()) st.disk_bytes += *size;
    }
  }
  return st;
}

absl::StatusOr<std::vector<ColumnCodecBytes>> StoreImpl::MeasureColumnCodecs(uint64_t max_groups) {
  std::vector<std::shared_ptr<BlockSource>> blocks;
  {
    port::MutexLock l(&mu_);
    blocks = blocks_;
  }
  uint64_t total_groups = 0;
  for (const auto& b : blocks) total_groups += b->reader().groups().size();
  // Every k-th group, so that a sample covers every block and every part of each.
  const uint64_t stride = max_groups == 0 || total_groups <= max_groups
                              ? 1
                              : (total_groups + max_groups - 1) / max_groups;
  std::vector<ColumnCodecBytes> out(kNumBlockColumns);
  for (int c = 0; c < kNumBlockColumns; ++c) out[c].column = std::string(BlockColumnName(c));
  std::string compressed;
  // Zstd with the block's dictionary for the column where it has one, as its writer did.
  auto stored = [&](Codec codec, std::string_view raw,
                    const ZSTD_CDict* dict = nullptr) -> absl::StatusOr<uint64_t> {
    compressed.clear();
    absl::StatusOr<Codec> used = CompressPayload(codec, options_.zstd_level, raw,
                                                 /*bare_zstd=*/true, &compressed, dict);
    if (!used.ok()) return used.status();
    const uint64_t payload = *used == Codec::kNone ? raw.size() : compressed.size();
    // As StoreStats::column_bytes counts a column: its entry in the group page's column table
    // (codec byte, raw size, stored size) and its payload.
    return 1 + VarintLength(raw.size()) + VarintLength(payload) + payload;
  };
  uint64_t seen = 0;
  for (const auto& b : blocks) {
    const std::unique_ptr<ZstdDictionaries> dicts =
        b->reader().dictionaries()->ForCompression(options_.zstd_level);
    for (size_t g = 0; g < b->reader().groups().size(); ++g, ++seen) {
      if (seen % stride != 0) continue;
      GroupData data(b->reader(), g);
      for (int c = 0; c < kNumBlockColumns; ++c) {
        out[c].rows += data.rows();
        std::string_view raw;
        absl::Status s = data.RawColumn(c, &raw);
        if (!s.ok()) return s;
        absl::StatusOr<uint64_t> lz4 = stored(Codec::kLz4, raw);
        if (!lz4.ok()) return lz4.status();
        absl::StatusOr<uint64_t> zstd = stored(Codec::kZstd, raw, dicts->compress_dict(c));
        if (!zstd.ok()) return zstd.status();
        out[c].raw += raw.size();
        out[c].lz4 += *lz4;
        out[c].zstd += *zstd;
      }
    }
  }
  return out;
}

}  // namespace spanstore
