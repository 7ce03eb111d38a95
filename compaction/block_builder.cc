#include "compaction/block_builder.h"

#include <xxhash.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "compaction/column_dictionary.h"
#include "compaction/column_ints.h"
#include "compaction/page_codec.h"
#include "engine/coding.h"
#include "engine/span_codec.h"

namespace spanstore {

std::string_view BlockColumnName(int column) {
  static constexpr std::string_view kNames[kNumBlockColumns] = {
      "start_time", "duration", "service",      "name",         "kind_status",
      "trace_id",   "span_id",  "parent",       "misc",         "resource",
      "attr.keys",  "attr.values", "attr.strings", "events",    "links",
  };
  return column >= 0 && column < kNumBlockColumns ? kNames[column] : "unknown";
}

bool BlockRowLess(const Span& a, const Span& b) {
  if (a.trace_id != b.trace_id) return a.trace_id < b.trace_id;
  if (a.start_time_unix_nano != b.start_time_unix_nano) {
    return a.start_time_unix_nano < b.start_time_unix_nano;
  }
  return a.span_id < b.span_id;
}

// The columns of one row group under construction, uncompressed.
// Services, names, attribute keys and contexts repeat across the whole block: their
// dictionaries are block-wide (in the meta page, held in memory by readers), so a small row
// group does not pay for them again.
//
// String attribute values of a low-cardinality key (http.method, db.system, ...) go to a
// block-wide dictionary of that key too, until it holds kMaxBlockStrings values; later new
// values (ids, URLs: high cardinality) go to the row group's own heap for the key.
struct BlockBuilder::Dictionaries {
  DictionaryBuilder services, names, keys, contexts;
  std::vector<std::unique_ptr<DictionaryBuilder>> key_strings;  // by key id

  // The block-wide id of `value` for `key`, or -1 when it is (or must go) in the group heap.
  int64_t BlockString(uint32_t key, std::string_view value) {
    if (key >= key_strings.size()) key_strings.resize(key + 1);
    auto& dict = key_strings[key];
    if (dict == nullptr) dict = std::make_unique<DictionaryBuilder>();
    const int64_t id = dict->Find(value);
    if (id >= 0) return id;
    if (dict->size() >= kMaxBlockStrings) return -1;
    return dict->Add(value);
  }
};

class BlockBuilder::GroupEncoder {
 public:
  explicit GroupEncoder(Dictionaries* dicts)
      : dicts_(dicts),
        services_(dicts->services),
        names_(dicts->names),
        keys_(dicts->keys),
        contexts_(dicts->contexts) {}

  size_t rows() const { return starts_.size(); }
  const ZoneMap& zone() const { return zone_; }

  void Add(const Span& span) {
    const uint32_t row = static_cast<uint32_t>(starts_.size());
    zone_.Add(span);
    starts_.push_back(static_cast<int64_t>(span.start_time_unix_nano));
    PutVarint64(&durations_, ZigZagEncode(static_cast<int64_t>(span.end_time_unix_nano -
                                                               span.start_time_unix_nano)));
    service_ids_.push_back(services_.Add(span.service_name));
    name_ids_.push_back(names_.Add(span.name));
    kinds_.push_back(static_cast<uint32_t>(span.kind));
    statuses_.push_back(static_cast<uint32_t>(span.status_code));

    if (runs_.empty() || runs_.back().first != span.trace_id) {
      runs_.emplace_back(span.trace_id, 0);
      trace_rows_.clear();
    }
    ++runs_.back().second;
    span_ids_.append(reinterpret_cast<const char*>(span.span_id.bytes.data()), 8);

    // Parents are usually earlier rows of the same trace: a small backward distance replaces
    // the 8 random bytes that no compressor can shrink.
    if (!span.parent_span_id.IsValid()) {
      PutVarint64(&parent_codes_, 0);
    } else if (auto it = trace_rows_.find(span.parent_span_id); it != trace_rows_.end()) {
      PutVarint64(&parent_codes_, uint64_t{row - it->second} + 1);
    } else {
      PutVarint64(&parent_codes_, 1);
      parent_explicit_.append(reinterpret_cast<const char*>(span.parent_span_id.bytes.data()), 8);
    }
    trace_rows_.emplace(span.span_id, row);

    PutVarint64(&misc_, span.flags);
    PutLengthPrefixed(&misc_, span.trace_state);
    PutLengthPrefixed(&misc_, span.status_message);
    PutVarint64(&misc_, span.dropped_attributes_count);
    PutVarint64(&misc_, span.dropped_events_count);
    PutVarint64(&misc_, span.dropped_links_count);

    context_scratch_.clear();
    EncodeSpanContext(span, &context_scratch_);
    context_ids_.push_back(contexts_.Add(context_scratch_));

    PutVarint64(&attr_keys_, span.attributes.size());
    for (const KeyValue& kv : span.attributes) {
      const uint32_t key = keys_.Add(kv.key);
      PutVarint64(&attr_keys_, key);
      KeyColumn& column = ColumnOf(key);
      const AnyValue& v = kv.value;
      if (v.type() == AnyValue::Type::kString) {
        const int64_t shared = dicts_->BlockString(key, v.string_value());
        if (shared >= 0) {
          column.values.push_back(static_cast<char>(kBlockStringTag));
          PutVarint64(&column.values, static_cast<uint64_t>(shared));
        } else {
          column.values.push_back(static_cast<char>(v.type()));
          PutVarint64(&column.values, column.strings.Add(v.string_value()));
        }
      } else {
        // Ints, doubles and bools have compact value encodings already; bytes, arrays and
        // maps are rare and kept whole.
        EncodeAnyValue(v, &column.values);
      }
    }

    PutVarint64(&events_, span.events.size());
    for (const SpanEvent& e : span.events) {
      PutVarint64(&events_, ZigZagEncode(static_cast<int64_t>(e.time_unix_nano -
                                                             span.start_time_unix_nano)));
      PutLengthPrefixed(&events_, e.name);
      EncodeAttributeList(e.attributes, &events_);
      PutVarint64(&events_, e.dropped_attributes_count);
    }
    PutVarint64(&links_, span.links.size());
    for (const SpanLink& l : span.links) {
      links_.append(reinterpret_cast<const char*>(l.trace_id.bytes.data()), 16);
      links_.append(reinterpret_cast<const char*>(l.span_id.bytes.data()), 8);
      PutLengthPrefixed(&links_, l.trace_state);
      EncodeAttributeList(l.attributes, &links_);
      PutVarint64(&links_, l.dropped_attributes_count);
      PutVarint64(&links_, l.flags);
    }
  }

  // Serializes every column into cols[c] (replacing their contents) and resets the encoder.
  void Finish(std::array<std::string, kNumBlockColumns>* cols) {
    for (std::string& c : *cols) c.clear();
    PutDeltaVarints(starts_, 0, &(*cols)[kColStartTime]);
    (*cols)[kColDuration].swap(durations_);
    PutBitPacked(service_ids_, &(*cols)[kColService]);
    PutBitPacked(name_ids_, &(*cols)[kColName]);
    PutBitPacked(kinds_, &(*cols)[kColKindStatus]);
    PutBitPacked(statuses_, &(*cols)[kColKindStatus]);
    std::string& t = (*cols)[kColTraceId];
    PutVarint64(&t, runs_.size());
    for (const auto& [id, count] : runs_) {
      t.append(reinterpret_cast<const char*>(id.bytes.data()), 16);
      PutVarint64(&t, count);
    }
    (*cols)[kColSpanId].swap(span_ids_);
    (*cols)[kColParent].swap(parent_codes_);
    (*cols)[kColParent].append(parent_explicit_);
    (*cols)[kColMisc].swap(misc_);
    PutBitPacked(context_ids_, &(*cols)[kColResource]);
    (*cols)[kColAttrKeys].append(attr_keys_);
    // Typed attribute columns: the values of one key sit together (its own string heap, its
    // ids small), which is what makes them compress: a status-code column of 200s costs
    // almost nothing, a URL heap keeps similar strings side by side.
    PutVarint64(&(*cols)[kColAttrValues], key_columns_.size());
    PutVarint64(&(*cols)[kColAttrStrings], key_columns_.size());
    for (const auto& [key, column] : key_columns_) {
      PutVarint64(&(*cols)[kColAttrValues], key);
      PutLengthPrefixed(&(*cols)[kColAttrValues], column->values);
      PutVarint64(&(*cols)[kColAttrStrings], key);
      column->strings.Serialize(&(*cols)[kColAttrStrings]);
    }
    (*cols)[kColEvents].swap(events_);
    (*cols)[kColLinks].swap(links_);
    Reset();
  }

 private:
  void Reset() {
    zone_ = ZoneMap();
    starts_.clear();
    durations_.clear();
    service_ids_.clear();
    name_ids_.clear();
    kinds_.clear();
    statuses_.clear();
    runs_.clear();
    trace_rows_.clear();
    span_ids_.clear();
    parent_codes_.clear();
    parent_explicit_.clear();
    misc_.clear();
    context_ids_.clear();
    attr_keys_.clear();
    key_columns_.clear();
    key_slots_.clear();
    events_.clear();
    links_.clear();
  }

  ZoneMap zone_;
  std::vector<int64_t> starts_;
  std::string durations_;
  Dictionaries* const dicts_;
  DictionaryBuilder& services_;
  DictionaryBuilder& names_;
  DictionaryBuilder& keys_;
  DictionaryBuilder& contexts_;
  std::vector<uint32_t> service_ids_, name_ids_;
  std::vector<uint32_t> kinds_, statuses_;
  std::vector<std::pair<TraceId, uint32_t>> runs_;
  absl::flat_hash_map<SpanId, uint32_t> trace_rows_;  // span id -> row, current trace
  std::string span_ids_;
  std::string parent_codes_, parent_explicit_;
  std::string misc_;
  std::vector<uint32_t> context_ids_;
  std::string context_scratch_;
  struct KeyColumn {
    std::string values;
    DictionaryBuilder strings;
  };
  KeyColumn& ColumnOf(uint32_t key) {
    auto [it, added] = key_slots_.try_emplace(key, key_columns_.size());
    if (added) key_columns_.emplace_back(key, std::make_unique<KeyColumn>());
    return *key_columns_[it->second].second;
  }

  std::string attr_keys_;
  // Per attribute key present in the group (block key id), in order of first appearance.
  std::vector<std::pair<uint32_t, std::unique_ptr<KeyColumn>>> key_columns_;
  absl::flat_hash_map<uint32_t, size_t> key_slots_;
  std::string events_, links_;
};

BlockBuilder::BlockBuilder(Env* env, std::string path, const BlockBuildOptions& options)
    : env_(env),
      path_(std::move(path)),
      options_(options),
      dicts_(new Dictionaries),
      group_(new GroupEncoder(dicts_.get())) {}

BlockBuilder::~BlockBuilder() = default;

absl::Status BlockBuilder::Open() {
  auto file = env_->NewWritableFile(path_);
  if (!file.ok()) return file.status();
  file_ = std::move(*file);
  std::string header(kBlockMagic);
  PutFixed32(&header, kBlockFormatVersion);
  PutFixed32(&header, 0);
  return file_->Append(header);
}

uint64_t BlockBuilder::file_bytes() const { return file_ != nullptr ? file_->Size() : 0; }

void BlockBuilder::EndTrace() {
  if (!have_last_) return;
  // Cannot fail: the range is never empty.
  (void)trace_index_.Add(last_trace_, RowRange{static_cast<uint32_t>(trace_first_row_),
                                               static_cast<uint32_t>(rows_ - trace_first_row_)});
  ++traces_;
}

absl::Status BlockBuilder::Add(const Span& span) {
  if (have_last_) {
    const bool in_order =
        last_trace_ != span.trace_id
            ? last_trace_ < span.trace_id
            : (last_start_ != span.start_time_unix_nano ? last_start_ < span.start_time_unix_nano
                                                        : !(span.span_id < last_span_));
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

  group_->Add(span);
  block_zone_.Add(span);
  auto it = operations_.find(span.service_name);
  if (it == operations_.end()) it = operations_.try_emplace(span.service_name).first;
  if (!it->second.contains(span.name)) it->second.insert(span.name);
  ++rows_;
  if (group_->rows() >= options_.rows_per_group) return FlushGroup();
  return absl::OkStatus();
}

absl::Status BlockBuilder::FlushGroup() {
  if (group_->rows() == 0) return absl::OkStatus();
  PutVarint64(&meta_groups_, group_->rows());
  group_->zone().Serialize(&meta_groups_);
  std::array<std::string, kNumBlockColumns> cols;
  group_->Finish(&cols);
  for (int c = 0; c < kNumBlockColumns; ++c) {
    scratch_.clear();
    absl::Status s = EncodePage(options_.codec, options_.zstd_level, cols[c], &scratch_);
    if (!s.ok()) return s;
    PutVarint64(&meta_groups_, file_->Size());
    PutVarint64(&meta_groups_, scratch_.size());
    column_bytes_[c] += scratch_.size();
    s = file_->Append(scratch_);
    if (!s.ok()) return s;
  }
  ++groups_;
  return absl::OkStatus();
}

absl::Status BlockBuilder::Finish(BlockProperties* properties) {
  if (rows_ == 0) return absl::InvalidArgumentError(path_ + ": a block needs at least one row");
  EndTrace();
  have_last_ = false;
  absl::Status s = FlushGroup();
  if (!s.ok()) return s;

  std::string meta;
  PutVarint64(&meta, rows_);
  PutVarint64(&meta, groups_);
  meta.append(meta_groups_);
  block_zone_.Serialize(&meta);
  PutVarint64(&meta, operations_.size());
  for (const auto& [service, names] : operations_) {
    PutLengthPrefixed(&meta, service);
    PutVarint64(&meta, names.size());
    for (const std::string& name : names) PutLengthPrefixed(&meta, name);
  }
  dicts_->services.Serialize(&meta);
  dicts_->names.Serialize(&meta);
  dicts_->keys.Serialize(&meta);
  dicts_->contexts.Serialize(&meta);
  size_t with_strings = 0;
  for (const auto& d : dicts_->key_strings) with_strings += d != nullptr && d->size() > 0;
  PutVarint64(&meta, with_strings);
  for (size_t key = 0; key < dicts_->key_strings.size(); ++key) {
    const auto& d = dicts_->key_strings[key];
    if (d == nullptr || d->size() == 0) continue;
    PutVarint64(&meta, key);
    d->Serialize(&meta);
  }
  scratch_.clear();
  s = EncodePage(options_.codec, options_.zstd_level, meta, &scratch_);
  if (!s.ok()) return s;
  const uint64_t meta_offset = file_->Size();
  const uint64_t meta_size = scratch_.size();
  s = file_->Append(scratch_);
  if (!s.ok()) return s;

  scratch_.clear();
  trace_index_.Serialize(&scratch_);
  const uint64_t index_offset = file_->Size();
  const uint64_t index_size = scratch_.size();
  s = file_->Append(scratch_);
  if (!s.ok()) return s;

  std::string footer;
  PutFixed64(&footer, meta_offset);
  PutFixed64(&footer, meta_size);
  PutFixed64(&footer, index_offset);
  PutFixed64(&footer, index_size);
  PutFixed32(&footer, kBlockFormatVersion);
  PutFixed32(&footer, kNumBlockColumns);
  PutFixed64(&footer, XXH3_64bits(footer.data(), footer.size()));
  footer.append(kBlockMagic);
  s = file_->Append(footer);
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
