// BlockBuilder: writes one block file (format/block_format.h) from spans given in row order.
//
// Spans stream through: the builder holds one row group's columns in memory at a time (plus the
// block-wide tables, the trace index and the per-group summaries), so a block of millions of
// spans is written with a few megabytes of memory. The file is synced before Finish returns; the
// caller makes it live by recording it in the manifest.
//
// Thread safety: thread-compatible (one thread uses a builder).

#ifndef SPANSTORE_FORMAT_BLOCK_BUILDER_H_
#define SPANSTORE_FORMAT_BLOCK_BUILDER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "format/block_format.h"
#include "format/block_tables.h"
#include "format/zstd_dictionaries.h"
#include "index/block_value_filter.h"
#include "index/trace_index.h"
#include "index/value_filter.h"
#include "index/zone_map.h"
#include "spanstore/env.h"
#include "spanstore/options.h"
#include "spanstore/span.h"

namespace spanstore {

struct BlockBuildOptions {
  Codec codec = Codec::kZstd;
  int zstd_level = 3;
  uint32_t rows_per_group = 4096;  // clamped to [1, kMaxRowsPerGroup]
  // kBlockFormatVersion, or kOldestBlockFormatVersion (2: no value filters) so that tests can
  // write the blocks an older build wrote and check that this one still reads them.
  uint32_t format_version = kBlockFormatVersion;
  // Version 7, Zstd: the largest column dictionary to train (ZstdDictionaries::Train); smaller
  // only in tests and fuzz seeds, to keep their blocks small.
  size_t max_dictionary_bytes = ZstdDictionaries::kMaxDictionaryBytes;
};

// What a finished block holds: recorded in the manifest and summed into StoreStats.
struct BlockProperties {
  uint64_t rows = 0;
  uint64_t traces = 0;
  uint64_t file_bytes = 0;
  uint64_t min_start = 0;
  uint64_t max_start = 0;
  // Bytes of each column (BlockColumnName), then of the meta page and of the trace index.
  std::array<uint64_t, kNumBlockParts> column_bytes{};
};

// Rows in trace-id order: trace id, then start time, then span id. One order the builder
// accepts (any order does in which each trace's rows are contiguous and sorted by start, then
// span id); it keeps a trace's spans together, but every row group of a large block then spans
// the block's whole time range.
bool BlockRowLess(const Span& a, const Span& b);
// The order compaction writes traces in (format/block_format.h): by the start of the trace's
// first span in the block, then by trace id.
inline bool TraceOrderLess(uint64_t a_first_start, const TraceId& a, uint64_t b_first_start,
                           const TraceId& b) {
  if (a_first_start != b_first_start) return a_first_start < b_first_start;
  return a < b;
}
// Sorts `spans` into the rows compaction writes: traces in TraceOrderLess order, each trace's
// spans by start, then span id.
void SortBlockRows(std::vector<Span>* spans);

class BlockBuilder {
 public:
  BlockBuilder(Env* env, std::string path, const BlockBuildOptions& options);
  ~BlockBuilder();
  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  // Creates the file. Must be called (and succeed) before Add.
  absl::Status Open();
  // Adds the next row. InvalidArgument when `span` continues the previous row's trace but sorts
  // before that row (start, then span id); a trace that is resumed after another one started
  // fails Finish.
  // `encoded_context`, when given, is the span's context as EncodeSpanContext writes it (a
  // memtable or a block holds each distinct one once); the builder then need not encode it.
  // It must stay alive until Finish returns.
  absl::Status Add(const Span& span, std::string_view encoded_context = {});
  // Writes the last group, the meta page, the trace index and the footer, syncs and closes.
  // InvalidArgument for a block with no rows or with a trace in two row ranges.
  absl::Status Finish(BlockProperties* properties);
  // Closes and deletes a partly written file (after an error, or when the output is empty).
  void Abandon();

  uint64_t rows() const { return rows_; }
  // Bytes written to the file so far (the current group is not counted until it is flushed,
  // nor, in a version 7 Zstd block, the first groups until their dictionaries are trained).
  uint64_t file_bytes() const;
  const std::string& path() const { return path_; }

 private:
  class GroupEncoder;
  absl::Status FlushGroup();
  // Version 7 with Zstd: the first groups train a dictionary per column (TrainDictionaries,
  // then every group page is written with them).
  bool TrainsDictionaries() const;
  absl::Status TrainDictionaries(bool more_groups_follow);
  absl::Status WriteGroupPage(const std::array<std::string, kNumBlockColumns>& columns);
  void EndTrace();

  Env* const env_;
  const std::string path_;
  const BlockBuildOptions options_;
  std::unique_ptr<WritableFile> file_;
  std::unique_ptr<BlockTablesBuilder> tables_;
  std::unique_ptr<GroupEncoder> group_;

  uint64_t rows_ = 0;
  // Per row group written: its zone map and page size (the meta page lists them).
  std::vector<ZoneMap> group_zones_;
  std::vector<uint64_t> group_sizes_;
  std::string group_filters_;  // each group's value filter, length-prefixed, in group order
  ZoneMap block_zone_;
  std::array<uint64_t, kNumBlockParts> column_bytes_{};

  TraceIndexBuilder trace_index_;
  ValueFilterBuilder trace_filter_;  // version 4: a Bloom filter of the trace ids, in the meta page
  BlockValueFilterBuilder block_filter_;  // version 5: the block's attribute values, block-wide
  uint64_t traces_ = 0;
  bool have_last_ = false;
  TraceId last_trace_;
  uint64_t last_start_ = 0;
  SpanId last_span_;
  uint64_t trace_first_row_ = 0;
  std::string scratch_;
  std::array<std::string, kNumBlockColumns> columns_;
  ZstdDictionaries dictionaries_;
  bool dictionaries_trained_ = false;
  std::vector<std::array<std::string, kNumBlockColumns>> pending_groups_;  // awaiting them
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_BLOCK_BUILDER_H_
