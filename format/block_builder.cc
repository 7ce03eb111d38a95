#include "format/block_builder.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "format/block_footer.h"
#include "format/column_dictionary.h"
#include "format/column_ints.h"
#include "format/group_page.h"
#include "format/page_codec.h"
#include "format/time_columns.h"
#include "format/value_codec.h"
#include "format/value_codes.h"
#include "index/block_value_filter.h"
#include "index/value_filter.h"
#include "util/coding.h"

namespace spanstore {

std::string_view BlockColumnName(int column) {
  static constexpr std::string_view kNames[kNumBlockParts] = {
      "parent",     "op",          "context",      "status", "start.class",
      "end.class",  "time.bits",   "span_id",      "parent_id", "attr.values",
      "attr.strings", "misc",      "events",       "links",  "meta",
      "trace_index",
  };
  return column >= 0 && column < kNumBlockParts ? kNames[column] : "unknown";
}

bool BlockRowLess(const Span& a, const Span& b) {
  if (a.trace_id != b.trace_id) return a.trace_id < b.trace_id;
  if (a.start_time_unix_nano != b.start_time_unix_nano) {
    return a.start_time_unix_nano < b.start_time_unix_nano;
  }
  return a.span_id < b.span_id;
}

void SortBlockRows(std::vector<Span>* spans) {
  std::sort(spans->begin(), spans->end(), BlockRowLess);
  struct TraceRows {
    uint64_t first_start;
    size_t begin, end;
  };
  std::vector<TraceRows> traces;
  for (size_t i = 0; i < spans->size();) {
    size_t j = i + 1;
    while (j < spans->size() && (*spans)[j].trace_id == (*spans)[i].trace_id) ++j;
    traces.push_back({(*spans)[i].start_time_unix_nano, i, j});
    i = j;
  }
  std::sort(traces.begin(), traces.end(), [&](const TraceRows& a, const TraceRows& b) {
    return TraceOrderLess(a.first_start, (*spans)[a.begin].trace_id, b.first_start,
                          (*spans)[b.begin].trace_id);
  });
  std::vector<Span> sorted;
  sorted.reserve(spans->size());
  for (const TraceRows& t : traces) {
    for (size_t k = t.begin; k < t.end; ++k) sorted.push_back(std::move((*spans)[k]));
  }
  spans->swap(sorted);
}

// The columns of one row group under construction, uncompressed (block_format.h).
class BlockBuilder::GroupEncoder {
 public:
  // `block_filter`: where the entries go for the block value filter too, and the group filters
  // take the blocked layout (version 5; null before).
  // `pack_values`: key streams may take the packed form (version 6).
  GroupEncoder(BlockTablesBuilder* tables, BlockValueFilterBuilder* block_filter, bool pack_values)
      : tables_(tables), block_filter_(block_filter), pack_values_(pack_values) {}

  size_t rows() const { return starts_.size(); }
  const ZoneMap& zone() const { return zone_; }
  // Appends the group's value filter (length-prefixed) to *out; Finish resets it.
  void FinishFilter(std::string* out) {
    std::string filter;
    filter_.Finish(&filter, /*blocked=*/block_filter_ != nullptr);
    PutLengthPrefixed(out, filter);
  }

  void Add(const Span& span, std::string_view encoded_context, uint64_t group) {
    const uint32_t row = static_cast<uint32_t>(starts_.size());
    zone_.Add(span);
    if (row == 0 || span.trace_id != last_trace_) trace_rows_.clear();
    last_trace_ = span.trace_id;

    // Parents are usually earlier rows of the same trace: a small backward distance replaces
    // the 8 random bytes that no compressor can shrink, and tells the time columns the tree.
    if (!span.parent_span_id.IsValid()) {
      PutVarint64(&parent_codes_, kParentNone);
      parent_rows_.push_back(-1);
    } else if (auto it = trace_rows_.find(span.parent_span_id); it != trace_rows_.end()) {
      PutVarint64(&parent_codes_, kParentRowBias + (row - it->second));
      parent_rows_.push_back(static_cast<int32_t>(it->second));
    } else {
      PutVarint64(&parent_codes_, kParentExplicit);
      parent_ids_.append(reinterpret_cast<const char*>(span.parent_span_id.bytes.data()), 8);
      parent_rows_.push_back(-1);
    }
    trace_rows_.emplace(span.span_id, row);

    uint32_t op, context_rank;
    tables_->Classify(span, encoded_context, &op, &context_rank);
    uint64_t code = kOpIdBias + op;
    if (row > 0 && tables_->Follow(last_op_, op) == op) code = kOpSuccessor;
    PutVarint64(&op_codes_, code);
    last_op_ = op;
    context_ranks_.push_back(context_rank);
    statuses_.push_back(static_cast<uint32_t>(span.status_code));
    starts_.push_back(span.start_time_unix_nano);
    ends_.push_back(span.end_time_unix_nano);
    span_ids_.append(reinterpret_cast<const char*>(span.span_id.bytes.data()), 8);

    PutVarint64(&misc_, span.flags);
    PutLengthPrefixed(&misc_, span.trace_state);
    PutLengthPrefixed(&misc_, span.status_message);
    PutVarint64(&misc_, span.dropped_attributes_count);
    PutVarint64(&misc_, span.dropped_events_count);
    PutVarint64(&misc_, span.dropped_links_count);

    const BlockOp& o = tables_->op(op);
    for (size_t i = 0; i < span.attributes.size(); ++i) {
      AddValue(o.keys[i], o.templates[i], span.attributes[i].value, group);
    }

    EncodeEventList(span.events, span.start_time_unix_nano, &events_);
    EncodeLinkList(span.links, &links_);
  }

  // Serializes every column into cols[c] (replacing their contents) and resets the encoder.
  void Finish(std::array<std::string, kNumBlockColumns>* cols) {
    for (std::string& c : *cols) c.clear();
    (*cols)[kColParent].swap(parent_codes_);
    (*cols)[kColOp].swap(op_codes_);
    PutBitPacked(context_ranks_, &(*cols)[kColContext]);
    PutBitPacked(statuses_, &(*cols)[kColStatus]);
    TimeColumns times;
    EncodeTimes(parent_rows_, starts_, ends_, zone_.min_start(), &times);
    (*cols)[kColStartClass].swap(times.start_classes);
    (*cols)[kColEndClass].swap(times.end_classes);
    (*cols)[kColTimeBits].swap(times.bits);
    (*cols)[kColSpanId].swap(span_ids_);
    (*cols)[kColParentId].swap(parent_ids_);
    // Typed attribute columns: the values of one key sit together, with a string heap of
    // their own, which is what makes them compress.
    std::string& values = (*cols)[kColAttrValues];
    std::string& strings = (*cols)[kColAttrStrings];
    PutVarint64(&values, key_columns_.size());
    size_t heaps = 0;
    for (const auto& [key, column] : key_columns_) heaps += column->heap.size() > 0;
    PutVarint64(&strings, heaps);
    for (const auto& [key, column] : key_columns_) {
      PutVarint64(&values, key);
      const uint8_t form = column->ints_only ? kFormInts : kFormGeneric;
      const std::string& codes = column->ints_only ? column->int_codes : column->codes;
      packed_.clear();
      if (pack_values_ && PackValueCodes(codes, column->ints_only, &pack_scratch_, &packed_)) {
        values.push_back(static_cast<char>(form | kFormPacked));
        PutLengthPrefixed(&values, packed_);
      } else {
        values.push_back(static_cast<char>(form));
        PutLengthPrefixed(&values, codes);
      }
      if (column->heap.size() == 0) continue;
      PutVarint64(&strings, key);
      column->heap.Serialize(&strings);
    }
    (*cols)[kColMisc].swap(misc_);
    (*cols)[kColEvents].swap(events_);
    (*cols)[kColLinks].swap(links_);
    Reset();
  }

 private:
  struct KeyColumn {
    std::string codes;      // generic form
    std::string int_codes;  // int form, kept while every literal is an int
    bool ints_only = true;
    DictionaryBuilder heap;
  };

  void AddValue(uint32_t key, const AnyValue& templ, const AnyValue& v, uint64_t group) {
    KeyColumn& column = ColumnOf(key);
    if (v == templ) {
      column.codes.push_back(static_cast<char>(kValueTemplate));
      if (column.ints_only) column.int_codes.push_back(static_cast<char>(kValueTemplate));
      return;
    }
    // Every value but the templates (which a reader checks in the meta page) is an entry.
    ForEachValueFilterEntry(key, v, [&](uint64_t hash) {
      filter_.Add(hash);
      if (block_filter_ != nullptr) block_filter_->Add(key, hash);
    });
    if (v.type() == AnyValue::Type::kInt) {
      // INT64_MIN zigzags to UINT64_MAX, and kValueInline + that wraps to kValueTemplate: the
      // int form cannot code it, so its key's column keeps the generic form (an inline value).
      const uint64_t zigzag = ZigZagEncode(v.int_value());
      if (zigzag > UINT64_MAX - kValueInline) column.ints_only = false;
      if (column.ints_only) PutVarint64(&column.int_codes, kValueInline + zigzag);
      PutVarint64(&column.codes, kValueInline);
      EncodeAnyValue(v, &column.codes);
      return;
    }
    column.ints_only = false;
    if (v.type() == AnyValue::Type::kString) {
      const int64_t shared = tables_->BlockString(key, v.string_value(), group);
      if (shared >= 0) {
        PutVarint64(&column.codes, BlockStringCode(static_cast<uint64_t>(shared)));
      } else {
        PutVarint64(&column.codes, HeapStringCode(column.heap.Add(v.string_value())));
      }
      return;
    }
    // Doubles, bools, bytes, arrays and maps have compact value encodings already.
    PutVarint64(&column.codes, kValueInline);
    EncodeAnyValue(v, &column.codes);
  }

  KeyColumn& ColumnOf(uint32_t key) {
    auto [it, added] = key_slots_.try_emplace(key, key_columns_.size());
    if (added) key_columns_.emplace_back(key, std::make_unique<KeyColumn>());
    return *key_columns_[it->second].second;
  }

  void Reset() {
    zone_ = ZoneMap();
    trace_rows_.clear();
    parent_codes_.clear();
    parent_ids_.clear();
    parent_rows_.clear();
    op_codes_.clear();
    context_ranks_.clear();
    statuses_.clear();
    starts_.clear();
    ends_.clear();
    span_ids_.clear();
    misc_.clear();
    key_columns_.clear();
    key_slots_.clear();
    events_.clear();
    links_.clear();
  }

  BlockTablesBuilder* const tables_;
  BlockValueFilterBuilder* const block_filter_;
  const bool pack_values_;
  ZoneMap zone_;
  ValueFilterBuilder filter_;
  TraceId last_trace_;
  absl::flat_hash_map<SpanId, uint32_t> trace_rows_;  // span id -> row, current trace
  std::string parent_codes_, parent_ids_;
  std::vector<int32_t> parent_rows_;
  std::string op_codes_;
  std::string packed_;                  // a key stream's packed form, reused
  PackScratch pack_scratch_;
  uint32_t last_op_ = kNoOp;
  std::vector<uint32_t> context_ranks_, statuses_;
  std::vector<uint64_t> starts_, ends_;
  std::string span_ids_;
  std::string misc_;
  // Per attribute key present in the group (block key id), in order of first appearance.
  std::vector<std::pair<uint32_t, std::unique_ptr<KeyColumn>>> key_columns_;
  absl::flat_hash_map<uint32_t, size_t> key_slots_;
  std::string events_, links_;
};

namespace {

// How many entries the block value filter may hold: one per 4 rows (at 10 bits each, at most
// ~0.3 byte per span, against ~2 for the row groups' filters; the checkout workload needs ~0.2
// entries per row for every key), and at least enough for the common keys of a small block.
size_t BlockValueFilterBudget(uint64_t rows) { return std::max<uint64_t>(1024, rows / 4); }

// Readers refuse a group of more than kMaxRowsPerGroup rows (and the time columns assume the
// bound), so the builder never writes one, whatever it is asked for.
BlockBuildOptions Clamped(BlockBuildOptions options) {
  options.rows_per_group = std::clamp<uint32_t>(options.rows_per_group, 1, kMaxRowsPerGroup);
  options.format_version =
      std::clamp<uint32_t>(options.format_version, kOldestBlockFormatVersion, kBlockFormatVersion);
  options.max_dictionary_bytes =
      std::min(options.max_dictionary_bytes, ZstdDictionaries::kMaxDictionaryBytes);
  return options;
}

}  // namespace

BlockBuilder::BlockBuilder(Env* env, std::string path, const BlockBuildOptions& options)
    : env_(env),
      path_(std::move(path)),
      options_(Clamped(options)),
      tables_(new BlockTablesBuilder),
      group_(new GroupEncoder(tables_.get(),
                              options_.format_version >= 5 ? &block_filter_ : nullptr,
                              /*pack_values=*/options_.format_version >= 6)) {}

BlockBuilder::~BlockBuilder() = default;

absl::Status BlockBuilder::Open() {
  auto file = env_->NewWritableFile(path_);
  if (!file.ok()) return file.status();
  file_ = std::move(*file);
  std::string header;
  EncodeBlockHeader(&header, options_.format_version);
  return file_->Append(header);
}

uint64_t BlockBuilder::file_bytes() const { return file_ != nullptr ? file_->Size() : 0; }

void BlockBuilder::EndTrace() {
  if (!have_last_) return;
  // Cannot fail: the range is never empty.
  (void)trace_index_.Add(last_trace_, RowRange{static_cast<uint32_t>(trace_first_row_),
                                               static_cast<uint32_t>(rows_ - trace_first_row_)});
  ++traces_;
  trace_filter_.Add(TraceIndex::Hash(last_trace_));
}

absl::Status BlockBuilder::Add(const Span& span, std::string_view encoded_context) {
  // Any order of traces will do (readers find them through the trace index); within a trace
  // the time columns and GetTrace rely on start order. A trace resumed after another one
  // started is caught by Finish (checking here would cost a hash set of every trace).
  if (have_last_ && last_trace_ == span.trace_id) {
    const bool in_order = last_start_ != span.start_time_unix_nano
                              ? last_start_ < span.start_time_unix_nano
                              : !(span.span_id < last_span_);
    if (!in_order) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: span %s/%s added out of order", path_, span.trace_id.ToHex(),
          span.span_id.ToHex()));
    }
  }
  if (rows_ >= UINT32_MAX - 1) {
    return absl::InvalidArgumentError(path_ + ": a block holds at most 2^32-2 rows");
  }
  if (!have_last_ || last_trace_ != span.trace_id) {
    EndTrace();
    trace_first_row_ = rows_;
  }
  have_last_ = true;
  last_trace_ = span.trace_id;
  last_start_ = span.start_time_unix_nano;
  last_span_ = span.span_id;

  group_->Add(span, encoded_context, group_zones_.size());
  block_zone_.Add(span);
  ++rows_;
  if (group_->rows() >= options_.rows_per_group) return FlushGroup();
  return absl::OkStatus();
}

absl::Status BlockBuilder::FlushGroup() {
  if (group_->rows() == 0) return absl::OkStatus();
  group_zones_.push_back(group_->zone());
  group_->FinishFilter(&group_filters_);
  group_->Finish(&columns_);
  if (!TrainsDictionaries() || dictionaries_trained_) return WriteGroupPage(columns_);
  // The first groups wait for the dictionaries they train (and will be compressed with).
  pending_groups_.push_back(std::move(columns_));
  columns_ = {};
  if (pending_groups_.size() < ZstdDictionaries::kTrainingGroups) return absl::OkStatus();
  return TrainDictionaries(/*more_groups_follow=*/true);
}

bool BlockBuilder::TrainsDictionaries() const {
  return options_.format_version >= 7 && options_.codec == Codec::kZstd;
}

absl::Status BlockBuilder::TrainDictionaries(bool more_groups_follow) {
  dictionaries_.Train(pending_groups_, options_.zstd_level, more_groups_follow,
                      options_.max_dictionary_bytes);
  dictionaries_trained_ = true;
  for (const auto& group : pending_groups_) {
    if (absl::Status s = WriteGroupPage(group); !s.ok()) return s;
  }
  pending_groups_.clear();
  pending_groups_.shrink_to_fit();
  return absl::OkStatus();
}

absl::Status BlockBuilder::WriteGroupPage(
    const std::array<std::string, kNumBlockColumns>& columns) {
  scratch_.clear();
  std::array<uint64_t, kNumBlockColumns> stored{};
  absl::Status s = EncodeGroupPage(options_.codec, options_.zstd_level, columns, &scratch_, &stored,
                                   &dictionaries_);
  if (!s.ok()) return s;
  for (int c = 0; c < kNumBlockColumns; ++c) column_bytes_[c] += stored[c];
  group_sizes_.push_back(scratch_.size());
  return file_->Append(scratch_);
}

absl::Status BlockBuilder::Finish(BlockProperties* properties) {
  if (rows_ == 0) return absl::InvalidArgumentError(path_ + ": a block needs at least one row");
  EndTrace();
  have_last_ = false;
  if (const std::optional<TraceId> repeated = trace_index_.Repeated(); repeated.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the rows of trace %s are not contiguous", path_, repeated->ToHex()));
  }
  absl::Status s = FlushGroup();
  if (s.ok() && TrainsDictionaries() && !dictionaries_trained_) {
    s = TrainDictionaries(/*more_groups_follow=*/false);  // a block of few groups
  }
  if (!s.ok()) return s;

  // Version 4: the filters' section, raw (Bloom bits do not compress), before the meta page:
  // the groups' filters and their checksum, then (version 5) the block value filter and its own
  // checksum, so that a search reads it alone first (index/block_value_filter.h).
  uint64_t block_filter_bytes = 0;
  if (options_.format_version >= 4) {
    std::string_view filters = group_filters_;
    scratch_.clear();
    for (size_t g = 0; g < group_zones_.size(); ++g) {
      std::string_view filter;
      GetLengthPrefixed(&filters, &filter);  // cannot fail: FinishFilter wrote it
      scratch_.append(filter);
    }
    PutFixed64(&scratch_, XXH3_64bits(scratch_.data(), scratch_.size()));
    if (options_.format_version >= 5) {
      const size_t at = scratch_.size();
      block_filter_.Finish(tables_->key_count(), BlockValueFilterBudget(rows_), &scratch_);
      if (scratch_.size() > at) {
        PutFixed64(&scratch_, XXH3_64bits(scratch_.data() + at, scratch_.size() - at));
      }
      block_filter_bytes = scratch_.size() - at;
    }
    column_bytes_[kNumBlockColumns] = scratch_.size();
    s = file_->Append(scratch_);
    if (!s.ok()) return s;
  }

  std::string meta;
  PutVarint64(&meta, rows_);
  PutVarint64(&meta, group_zones_.size());
  block_zone_.Serialize(&meta);
  tables_->Serialize(&meta);
  std::string_view filters = group_filters_;
  for (size_t g = 0; g < group_zones_.size(); ++g) {
    group_zones_[g].SerializeCompact(
        block_zone_.min_start(),
        [&](std::string_view service) { return tables_->service_id(service); }, &meta);
    PutVarint64(&meta, group_sizes_[g]);
    std::string_view filter;
    GetLengthPrefixed(&filters, &filter);  // cannot fail: FinishFilter wrote it
    if (options_.format_version == 3) PutLengthPrefixed(&meta, filter);
    if (options_.format_version >= 4) PutVarint64(&meta, filter.size());
  }
  for (int c = 0; c < kNumBlockColumns; ++c) PutVarint64(&meta, column_bytes_[c]);
  if (options_.format_version >= 4) {
    // What a reader needs of the trace index at open: the trace count and a filter of the ids,
    // so that it reads the index itself only when a lookup or scan needs this block.
    PutVarint64(&meta, traces_);
    std::string filter;
    trace_filter_.Finish(&filter);
    PutLengthPrefixed(&meta, filter);
  }
  if (options_.format_version >= 5) PutVarint64(&meta, block_filter_bytes);
  if (options_.format_version >= 7) dictionaries_.Serialize(&meta);
  scratch_.clear();
  s = EncodePage(options_.codec, options_.zstd_level, meta, &scratch_);
  if (!s.ok()) return s;
  const uint64_t meta_offset = file_->Size();
  const uint64_t meta_size = scratch_.size();
  column_bytes_[kNumBlockColumns] += meta_size;  // the filters' section counts as meta
  s = file_->Append(scratch_);
  if (!s.ok()) return s;

  scratch_.clear();
  trace_index_.Serialize(&scratch_);
  const uint64_t index_offset = file_->Size();
  const uint64_t index_size = scratch_.size();
  column_bytes_[kNumBlockColumns + 1] = index_size;
  s = file_->Append(scratch_);
  if (!s.ok()) return s;

  BlockFooter footer;
  footer.meta_offset = meta_offset;
  footer.meta_size = meta_size;
  footer.index_offset = index_offset;
  footer.index_size = index_size;
  footer.version = options_.format_version;
  footer.columns = kNumBlockColumns;
  scratch_.clear();
  footer.EncodeTo(&scratch_);
  s = file_->Append(scratch_);
  if (s.ok()) s = file_->Sync();
  absl::Status close = file_->Close();
  if (s.ok()) s = close;
  if (!s.ok()) return s;

  properties->rows = rows_;
  properties->traces = traces_;
  properties->file_bytes = file_->Size();
  properties->min_start = block_zone_.min_start();
  properties->max_start = block_zone_.max_start();
  properties->column_bytes = column_bytes_;
  return absl::OkStatus();
}

void BlockBuilder::Abandon() {
  if (file_ != nullptr) {
    (void)file_->Close();
    file_.reset();
  }
  (void)env_->RemoveFile(path_);
}

}  // namespace spanstore
