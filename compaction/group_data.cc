#include "compaction/group_data.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "compaction/column_dictionary.h"
#include "compaction/column_ints.h"
#include "engine/coding.h"
#include "engine/span_codec.h"

namespace spanstore {
namespace {

// Offsets into a column are kept as uint32: pages are at most kMaxPageRawSize (256 MiB).
static_assert((256ull << 20) < UINT32_MAX);

bool GetIds(std::string_view* in, size_t n, size_t dict_size, std::vector<uint32_t>* ids) {
  if (!GetBitPacked(in, n, ids)) return false;
  for (uint32_t id : *ids) {
    if (id >= dict_size) return false;
  }
  return true;
}

bool SkipString(std::string_view* in) {
  std::string_view s;
  return GetLengthPrefixed(in, &s);
}

bool SkipVarint(std::string_view* in) {
  uint64_t v;
  return GetVarint64(in, &v);
}

// One attribute value as the block writes it: strings as a heap id, the rest as a row value.
bool GetBlockValue(std::string_view* in, const std::vector<std::string_view>& strings,
                   const std::vector<std::string_view>& block_strings, AnyValue* value) {
  if (in->empty()) return false;
  if (static_cast<uint8_t>((*in)[0]) == kBlockStringTag) {
    in->remove_prefix(1);
    uint64_t id;
    if (!GetVarint64(in, &id) || id >= block_strings.size()) return false;
    *value = AnyValue::String(std::string(block_strings[id]));
    return true;
  }
  if (static_cast<AnyValue::Type>((*in)[0]) == AnyValue::Type::kString) {
    in->remove_prefix(1);
    uint64_t id;
    if (!GetVarint64(in, &id) || id >= strings.size()) return false;
    *value = AnyValue::String(std::string(strings[id]));
    return true;
  }
  return DecodeAnyValue(in, value);
}

bool GetEvent(std::string_view* in, uint64_t span_start, SpanEvent* e) {
  uint64_t delta;
  std::string_view name;
  uint64_t dropped;
  if (!GetVarint64(in, &delta) || !GetLengthPrefixed(in, &name) ||
      !DecodeAttributeList(in, &e->attributes) || !GetVarint64(in, &dropped) ||
      dropped > UINT32_MAX) {
    return false;
  }
  e->time_unix_nano = span_start + static_cast<uint64_t>(ZigZagDecode(delta));
  e->name.assign(name.data(), name.size());
  e->dropped_attributes_count = static_cast<uint32_t>(dropped);
  return true;
}

bool GetLink(std::string_view* in, SpanLink* l) {
  if (in->size() < 24) return false;
  std::memcpy(l->trace_id.bytes.data(), in->data(), 16);
  std::memcpy(l->span_id.bytes.data(), in->data() + 16, 8);
  in->remove_prefix(24);
  std::string_view state;
  uint64_t dropped, flags;
  if (!GetLengthPrefixed(in, &state) || !DecodeAttributeList(in, &l->attributes) ||
      !GetVarint64(in, &dropped) || !GetVarint64(in, &flags) || dropped > UINT32_MAX ||
      flags > UINT32_MAX) {
    return false;
  }
  l->trace_state.assign(state.data(), state.size());
  l->dropped_attributes_count = static_cast<uint32_t>(dropped);
  l->flags = static_cast<uint32_t>(flags);
  return true;
}

// Skips one attribute value as the block writes it, without building it: the common types
// are a byte plus a varint or a fixed width; only bytes, arrays and maps are decoded.
bool SkipBlockValue(std::string_view* in, size_t strings, size_t block_strings,
                    AnyValue* scratch) {
  if (in->empty()) return false;
  if (static_cast<uint8_t>((*in)[0]) == kBlockStringTag) {
    in->remove_prefix(1);
    uint64_t id;
    return GetVarint64(in, &id) && id < block_strings;
  }
  const auto type = static_cast<AnyValue::Type>((*in)[0]);
  switch (type) {
    case AnyValue::Type::kEmpty:
      in->remove_prefix(1);
      return true;
    case AnyValue::Type::kString: {
      in->remove_prefix(1);
      uint64_t id;
      return GetVarint64(in, &id) && id < strings;
    }
    case AnyValue::Type::kBool:
      if (in->size() < 2 || static_cast<uint8_t>((*in)[1]) > 1) return false;
      in->remove_prefix(2);
      return true;
    case AnyValue::Type::kInt:
      in->remove_prefix(1);
      return SkipVarint(in);
    case AnyValue::Type::kDouble:
      if (in->size() < 9) return false;
      in->remove_prefix(9);
      return true;
    default:
      return DecodeAnyValue(in, scratch);
  }
}

// Per-row offsets of a column whose rows are "varint count, then count items".
template <typename SkipItem>
bool RowOffsets(std::string_view data, uint32_t rows, bool whole,
                std::vector<uint32_t>* offsets, SkipItem skip) {
  offsets->resize(rows);
  std::string_view in = data;
  for (uint32_t r = 0; r < rows; ++r) {
    (*offsets)[r] = static_cast<uint32_t>(data.size() - in.size());
    uint64_t n;
    if (!GetVarint64(&in, &n) || n > in.size()) return false;
    for (uint64_t i = 0; i < n; ++i) {
      if (!skip(&in)) return false;
    }
  }
  return !whole || in.empty();
}

}  // namespace

GroupData::GroupData(const BlockReader& block, size_t group)
    : block_(block),
      group_(group),
      rows_(block.groups()[group].rows),
      first_row_(block.groups()[group].first_row),
      limit_(rows_) {}

void GroupData::LimitRows(uint32_t rows) { limit_ = std::min(rows, rows_); }

absl::Status GroupData::Corrupt(int column, std::string_view what) const {
  return absl::DataLossError(absl::StrFormat("block %s: row group %d: column %s: %s",
                                             block_.path(), group_, BlockColumnName(column),
                                             what));
}

absl::Status GroupData::LoadAll() {
  for (int c = 0; c < kNumBlockColumns; ++c) {
    absl::Status s = Load(c);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status GroupData::Load(int column) {
  if (loaded_[column]) return absl::OkStatus();
  // Columns that refer to others load those first.
  if (column == kColParent || column == kColAttrValues) {
    const int first = column == kColParent ? kColSpanId : kColAttrKeys;
    absl::Status s = Load(first);
    if (s.ok() && column == kColAttrValues) s = Load(kColAttrStrings);
    if (!s.ok()) return s;
  }
  if (column == kColEvents || column == kColDuration) {
    absl::Status s = Load(kColStartTime);  // event times are relative to the span start
    if (!s.ok()) return s;
  }
  absl::Status s = block_.ReadPage(group_, column, &raw_[column]);
  if (!s.ok()) return s;
  s = Parse(column, raw_[column]);
  if (!s.ok()) return s;
  loaded_[column] = true;
  return absl::OkStatus();
}

absl::Status GroupData::Parse(int column, std::string_view in) {
  const uint32_t n = rows_;
  switch (column) {
    case kColStartTime:
      if (!GetDeltaVarints(&in, n, 0, &starts_) || !in.empty()) return Corrupt(column, "malformed");
      return absl::OkStatus();
    case kColDuration: {
      duration_diffs_.resize(n);
      for (uint32_t r = 0; r < n; ++r) {
        uint64_t z;
        if (!GetVarint64(&in, &z)) return Corrupt(column, "malformed varint");
        duration_diffs_[r] = ZigZagDecode(z);
      }
      return in.empty() ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColService:
    case kColName: {
      const auto& dict = column == kColService ? block_.service_dict() : block_.name_dict();
      auto& ids = column == kColService ? service_ids_ : name_ids_;
      if (!GetIds(&in, n, dict.size(), &ids) || !in.empty()) {
        return Corrupt(column, "malformed dictionary ids");
      }
      return absl::OkStatus();
    }
    case kColKindStatus:
      if (!GetBitPacked(&in, n, &kinds_) || !GetBitPacked(&in, n, &statuses_) || !in.empty()) {
        return Corrupt(column, "malformed");
      }
      for (uint32_t r = 0; r < n; ++r) {
        if (kinds_[r] > static_cast<uint32_t>(SpanKind::kConsumer) ||
            statuses_[r] > static_cast<uint32_t>(StatusCode::kError)) {
          return Corrupt(column, "invalid kind or status");
        }
      }
      return absl::OkStatus();
    case kColTraceId: {
      uint64_t runs;
      if (!GetVarint64(&in, &runs) || runs > n) return Corrupt(column, "bad run count");
      trace_ids_.clear();
      trace_ids_.reserve(n);
      for (uint64_t i = 0; i < runs; ++i) {
        TraceId id;
        uint64_t len;
        if (in.size() < 16) return Corrupt(column, "short");
        std::memcpy(id.bytes.data(), in.data(), 16);
        in.remove_prefix(16);
        if (!GetVarint64(&in, &len) || len == 0 || len > n - trace_ids_.size()) {
          return Corrupt(column, "bad run length");
        }
        trace_ids_.insert(trace_ids_.end(), len, id);
      }
      if (trace_ids_.size() != n || !in.empty()) return Corrupt(column, "rows disagree");
      return absl::OkStatus();
    }
    case kColSpanId:
      if (in.size() != uint64_t{n} * 8) return Corrupt(column, "size is not 8 bytes per row");
      span_ids_ = in;
      return absl::OkStatus();
    case kColParent: {
      parents_.assign(n, SpanId());
      std::vector<uint64_t> codes(n);
      for (uint32_t r = 0; r < n; ++r) {
        if (!GetVarint64(&in, &codes[r])) return Corrupt(column, "malformed code");
      }
      for (uint32_t r = 0; r < n; ++r) {
        if (codes[r] == 0) continue;
        if (codes[r] == 1) {
          if (in.size() < 8) return Corrupt(column, "short explicit id");
          std::memcpy(parents_[r].bytes.data(), in.data(), 8);
          in.remove_prefix(8);
        } else {
          const uint64_t back = codes[r] - 1;
          if (back > r) return Corrupt(column, "parent row out of range");
          parents_[r] = span_id(static_cast<uint32_t>(r - back));
        }
      }
      return in.empty() ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColMisc: {
      misc_offsets_.resize(limit_);
      const std::string_view all = in;
      for (uint32_t r = 0; r < limit_; ++r) {
        misc_offsets_[r] = static_cast<uint32_t>(all.size() - in.size());
        if (!SkipVarint(&in) || !SkipString(&in) || !SkipString(&in) || !SkipVarint(&in) ||
            !SkipVarint(&in) || !SkipVarint(&in)) {
          return Corrupt(column, "malformed row");
        }
      }
      return in.empty() || limit_ < n ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColResource:
      if (!GetIds(&in, n, block_.context_dict().size(), &context_ids_) || !in.empty()) {
        return Corrupt(column, "malformed dictionary ids");
      }
      return absl::OkStatus();
    case kColAttrKeys: {
      key_stream_ = in;
      const size_t dict = block_.key_dict().size();
      if (!RowOffsets(key_stream_, limit_, limit_ == n, &key_offsets_, [dict](std::string_view* s) {
            uint64_t id;
            return GetVarint64(s, &id) && id < dict;
          })) {
        return Corrupt(column, "malformed key list");
      }
      return absl::OkStatus();
    }
    case kColAttrStrings: {
      uint64_t columns;
      if (!GetVarint64(&in, &columns) || columns > in.size()) return Corrupt(column, "count");
      key_columns_.clear();
      key_slots_.assign(block_.key_dict().size(), kNoSlot);
      for (uint64_t i = 0; i < columns; ++i) {
        KeyColumn c;
        uint64_t key;
        if (!GetVarint64(&in, &key) || key >= block_.key_dict().size() ||
            !GetDictionary(&in, &c.strings)) {
          return Corrupt(column, "malformed key heap");
        }
        c.key = static_cast<uint32_t>(key);
        if (key_slots_[c.key] != kNoSlot) return Corrupt(column, "key twice");
        key_slots_[c.key] = static_cast<uint32_t>(i);
        key_columns_.push_back(std::move(c));
      }
      return in.empty() ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColAttrValues: {
      uint64_t columns;
      if (!GetVarint64(&in, &columns) || columns != key_columns_.size()) {
        return Corrupt(column, "column count disagrees with the string heaps");
      }
      const char* const base = raw_[kColAttrValues].data();
      std::vector<std::string_view> cursors(columns);
      for (uint64_t i = 0; i < columns; ++i) {
        uint64_t key;
        if (!GetVarint64(&in, &key) || key != key_columns_[i].key ||
            !GetLengthPrefixed(&in, &cursors[i])) {
          return Corrupt(column, "malformed key column");
        }
      }
      if (!in.empty()) return Corrupt(column, "trailing bytes");
      // Where each attribute's value starts, walking the rows' key lists in order.
      attr_first_.assign(limit_ + 1, 0);
      attr_slot_.clear();
      attr_value_at_.clear();
      AnyValue scratch;
      for (uint32_t r = 0; r < limit_; ++r) {
        attr_first_[r] = static_cast<uint32_t>(attr_slot_.size());
        std::string_view keys = key_stream_.substr(key_offsets_[r]);
        uint64_t count = 0, key = 0;
        GetVarint64(&keys, &count);  // validated when the keys were loaded
        for (uint64_t i = 0; i < count; ++i) {
          GetVarint64(&keys, &key);
          const uint32_t slot = key_slots_[key];  // key < dictionary size: checked on load
          if (slot == kNoSlot) return Corrupt(column, "no column for a key");
          std::string_view& cursor = cursors[slot];
          attr_slot_.push_back(slot);
          attr_value_at_.push_back(static_cast<uint32_t>(cursor.data() - base));
          if (!SkipBlockValue(&cursor, key_columns_[slot].strings.size(),
                              block_.key_strings(static_cast<uint32_t>(key)).size(), &scratch)) {
            return Corrupt(column, "malformed value");
          }
        }
      }
      attr_first_[limit_] = static_cast<uint32_t>(attr_slot_.size());
      for (std::string_view c : cursors) {
        if (!c.empty() && limit_ == n) return Corrupt(column, "values left over");
      }
      return absl::OkStatus();
    }
    case kColEvents: {
      SpanEvent scratch;
      if (!RowOffsets(in, limit_, limit_ == n, &event_offsets_,
                      [&](std::string_view* s) { return GetEvent(s, 0, &scratch); })) {
        return Corrupt(column, "malformed events");
      }
      return absl::OkStatus();
    }
    case kColLinks: {
      SpanLink scratch;
      if (!RowOffsets(in, limit_, limit_ == n, &link_offsets_,
                      [&](std::string_view* s) { return GetLink(s, &scratch); })) {
        return Corrupt(column, "malformed links");
      }
      return absl::OkStatus();
    }
  }
  return Corrupt(column, "unknown column");
}

SpanId GroupData::span_id(uint32_t row) const {
  SpanId id;
  std::memcpy(id.bytes.data(), span_ids_.data() + uint64_t{row} * 8, 8);
  return id;
}

bool GroupData::HasAttributeString(std::string_view key, std::string_view value) const {
  const auto& dict = block_.key_dict();
  for (size_t k = 0; k < dict.size(); ++k) {
    if (dict[k] != key) continue;
    if (key_slots_[k] == kNoSlot) return false;
    const auto& shared = block_.key_strings(static_cast<uint32_t>(k));
    if (std::find(shared.begin(), shared.end(), value) != shared.end()) return true;
    const auto& strings = key_columns_[key_slots_[k]].strings;
    return std::find(strings.begin(), strings.end(), value) != strings.end();
  }
  return false;
}

absl::Status GroupData::Materialize(uint32_t row, Span* span) const {
  span->trace_id = trace_ids_[row];
  span->span_id = span_id(row);
  span->parent_span_id = parents_[row];
  span->start_time_unix_nano = start(row);
  span->end_time_unix_nano = end(row);
  span->service_name.assign(block_.service_dict()[service_ids_[row]]);
  span->name.assign(block_.name_dict()[name_ids_[row]]);
  span->kind = kind(row);
  span->status_code = status(row);

  // Offsets and lengths were validated by Parse; these reads cannot fail.
  std::string_view misc = std::string_view(raw_[kColMisc]).substr(misc_offsets_[row]);
  uint64_t v = 0;
  std::string_view s;
  GetVarint64(&misc, &v);
  span->flags = static_cast<uint32_t>(v);
  GetLengthPrefixed(&misc, &s);
  span->trace_state.assign(s.data(), s.size());
  GetLengthPrefixed(&misc, &s);
  span->status_message.assign(s.data(), s.size());
  GetVarint64(&misc, &v);
  span->dropped_attributes_count = static_cast<uint32_t>(v);
  GetVarint64(&misc, &v);
  span->dropped_events_count = static_cast<uint32_t>(v);
  GetVarint64(&misc, &v);
  span->dropped_links_count = static_cast<uint32_t>(v);

  if (!DecodeSpanContext(block_.context_dict()[context_ids_[row]], span)) {
    return Corrupt(kColResource, absl::StrFormat("row %d: malformed context", row));
  }

  std::string_view keys = key_stream_.substr(key_offsets_[row]);
  uint64_t count = 0;
  GetVarint64(&keys, &count);
  span->attributes.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t key = 0;
    GetVarint64(&keys, &key);
    KeyValue& kv = span->attributes[i];
    kv.key.assign(block_.key_dict()[key]);
    const uint32_t a = attr_first_[row] + static_cast<uint32_t>(i);
    std::string_view values = std::string_view(raw_[kColAttrValues]).substr(attr_value_at_[a]);
    if (!GetBlockValue(&values, key_columns_[attr_slot_[a]].strings,
                       block_.key_strings(static_cast<uint32_t>(key)), &kv.value)) {
      return Corrupt(kColAttrValues, absl::StrFormat("row %d: malformed value", row));
    }
  }

  std::string_view events = std::string_view(raw_[kColEvents]).substr(event_offsets_[row]);
  GetVarint64(&events, &count);
  span->events.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!GetEvent(&events, span->start_time_unix_nano, &span->events[i])) {
      return Corrupt(kColEvents, absl::StrFormat("row %d: malformed event", row));
    }
  }
  std::string_view links = std::string_view(raw_[kColLinks]).substr(link_offsets_[row]);
  GetVarint64(&links, &count);
  span->links.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!GetLink(&links, &span->links[i])) {
      return Corrupt(kColLinks, absl::StrFormat("row %d: malformed link", row));
    }
  }
  return absl::OkStatus();
}

}  // namespace spanstore
