#include "format/group_data.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "format/column_dictionary.h"
#include "format/column_ints.h"
#include "format/time_columns.h"
#include "format/value_codec.h"
#include "util/coding.h"

namespace spanstore {
namespace {

// Offsets into a column are kept as uint32: columns are at most kMaxPageRawSize (256 MiB).
static_assert((256ull << 20) < UINT32_MAX);

bool SkipString(std::string_view* in) {
  std::string_view s;
  return GetLengthPrefixed(in, &s);
}

// A varint that Materialize stores in a uint32 field: a larger one is damage, not a value to
// truncate.
bool SkipUint32(std::string_view* in) {
  uint64_t v;
  return GetVarint64(in, &v) && v <= UINT32_MAX;
}

// The most bytes column `column` of a group of `rows` rows can take decompressed, for the
// columns whose size follows from the row count (kMaxPageRawSize for the others): a varint
// takes at most 10 bytes, a bit-packed value at most 32 bits after the width byte, a row two
// time residuals of at most 63 raw bits. Load checks a column's raw_size against it before
// decompressing, so a small payload cannot claim a large buffer; Parse then checks the exact
// size.
uint64_t MaxRawColumnBytes(int column, uint64_t rows) {
  switch (column) {
    case kColParent:
    case kColOp:
      return 10 * rows;
    case kColContext:
    case kColStatus:
      return 1 + 4 * rows;
    case kColStartClass:
    case kColEndClass:
      return rows;
    case kColTimeBits:
      return 16 * rows;
    case kColSpanId:
    case kColParentId:
      return 8 * rows;
    default:
      return kMaxPageRawSize;
  }
}

// Per-row offsets of a column whose rows are lists, each checked by decode(&in) (which
// advances past one row's list).
template <typename DecodeList>
bool RowOffsets(std::string_view data, uint32_t rows, bool whole, std::vector<uint32_t>* offsets,
                DecodeList decode) {
  offsets->resize(rows);
  std::string_view in = data;
  for (uint32_t r = 0; r < rows; ++r) {
    (*offsets)[r] = static_cast<uint32_t>(data.size() - in.size());
    if (!decode(&in)) return false;
  }
  return !whole || in.empty();
}

// Buffer sets kept per thread. A merge holds one GroupData per input block at once, so the
// pool holds a few; a set that grew huge (a group of huge attributes) is dropped rather than
// kept alive.
constexpr size_t kMaxPooledColumns = 16;
constexpr size_t kMaxPooledBytes = 4 << 20;

}  // namespace

std::vector<std::unique_ptr<GroupData::Columns>>& GroupData::Pool() {
  thread_local std::vector<std::unique_ptr<GroupData::Columns>> pool;
  return pool;
}

std::unique_ptr<GroupData::Columns> GroupData::Acquire() {
  auto& pool = Pool();
  if (pool.empty()) return std::make_unique<Columns>();
  std::unique_ptr<Columns> c = std::move(pool.back());
  pool.pop_back();
  return c;
}

void GroupData::Release(std::unique_ptr<Columns> c) {
  auto& pool = Pool();
  if (c == nullptr || pool.size() >= kMaxPooledColumns) return;
  size_t bytes = c->page_bytes.capacity() + c->refs.capacity() * sizeof(ValueRef);
  for (const std::string& s : c->scratch) bytes += s.capacity();
  if (bytes > kMaxPooledBytes) return;
  pool.push_back(std::move(c));
}

GroupData::GroupData(const BlockReader& block, size_t group)
    : block_(block),
      tables_(block.tables()),
      group_(group),
      rows_(block.groups()[group].rows),
      first_row_(block.groups()[group].first_row),
      limit_(rows_),
      c_(Acquire()) {}

GroupData::~GroupData() { Release(std::move(c_)); }

void GroupData::LimitRows(uint32_t begin, uint32_t end) {
  limit_ = std::min(end, rows_);
  begin_ = std::min(begin, limit_);
}

absl::Status GroupData::Corrupt(int column, std::string_view what) const {
  return absl::DataLossError(absl::StrFormat("block %s: row group %d: column %s: %s",
                                             block_.path(), group_, BlockColumnName(column),
                                             what));
}

absl::Status GroupData::Read() {
  if (read_) return absl::OkStatus();
  absl::Status s = block_.ReadGroup(group_, &c_->page_bytes);
  if (!s.ok()) return s;
  const BlockReader::Group& g = block_.groups()[group_];
  s = page_.Parse(c_->page_bytes, PageLocation{block_.path(), group_, g.offset},
                  block_.dictionaries());
  if (!s.ok()) return s;
  read_ = true;
  return absl::OkStatus();
}

absl::Status GroupData::LoadAll() {
  for (int c = 0; c < kNumBlockColumns; ++c) {
    absl::Status s = Load(c);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status GroupData::Load(int column) {
  if (index_ == nullptr) {
    // The rows' trace ids come from the block's trace index (format/block_format.h).
    auto index = block_.LoadTraceIndex();
    if (!index.ok()) return index.status();
    index_ = std::move(*index);
  }
  if (column == kColEndClass || column == kColTimeBits) {
    column = kColStartClass;  // the time columns decode together
  }
  if (loaded_[column]) return absl::OkStatus();
  absl::Status s;
  // Columns that refer to others load those first. (The page itself is read by Decompress,
  // only when a column is not in the page cache.)
  std::array<int, 2> needs = {-1, -1};
  switch (column) {
    case kColContext:
      needs = {kColOp, -1};
      break;
    case kColStartClass:
      needs = {kColParent, -1};
      break;
    case kColParentId:
      needs = {kColParent, kColSpanId};
      break;
    case kColAttrValues:
      needs = {kColOp, kColAttrStrings};
      break;
    case kColEvents:
      needs = {kColStartClass, -1};  // event times are relative to the span start
      break;
    default:
      break;
  }
  for (int other : needs) {
    if (other >= 0 && !(s = Load(other)).ok()) return s;
  }
  if (column == kColStartClass) {
    std::array<std::string_view, 3> parts;
    for (int c = kColStartClass; c <= kColTimeBits; ++c) {
      s = Decompress(c, &parts[c - kColStartClass]);
      if (!s.ok()) return s;
    }
    // Only rows before limit_ (format/time_columns.h says when that equals a whole decode).
    if (!DecodeTimesPrefix(c_->parent_rows, limit_, block_.groups()[group_].zone.min_start(),
                           parts[0], parts[1], parts[2], &c_->starts, &c_->ends)) {
      return Corrupt(column, "malformed time columns");
    }
  } else {
    s = Decompress(column, &raw_[column]);
    if (!s.ok()) return s;
    s = Parse(column, raw_[column]);
    if (!s.ok()) return s;
  }
  loaded_[column] = true;
  return absl::OkStatus();
}

absl::Status GroupData::RawColumn(int column, std::string_view* raw) {
  return Decompress(column, raw);
}

// A cached group: per column (offset, size) as two fixed64, then the columns' bytes.
constexpr size_t kCachedHeaderBytes = 16 * kNumBlockColumns;

absl::Status GroupData::DecompressWholeGroup(std::string* out) {
  absl::Status s = Read();
  if (!s.ok()) return s;
  uint64_t total = kCachedHeaderBytes;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    const uint64_t claimed = page_.raw_size(c);
    if (claimed > MaxRawColumnBytes(c, rows_)) {
      return Corrupt(c, absl::StrFormat("%d bytes for %d rows", claimed, rows_));
    }
    total += claimed;
  }
  // Each column decompresses straight to its place in the cached copy.
  out->resize(total);
  uint64_t at = kCachedHeaderBytes;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    const uint64_t size = page_.raw_size(c);
    if (s = page_.ColumnInto(c, out->data() + at); !s.ok()) return s;
    EncodeFixed64(out->data() + 16 * c, at);
    EncodeFixed64(out->data() + 16 * c + 8, size);
    at += size;
  }
  return absl::OkStatus();
}

absl::Status GroupData::Decompress(int column, std::string_view* raw) {
  PageCache* const cache = block_.page_cache();
  if (cache != nullptr && !cache_checked_) {
    cache_checked_ = true;
    if (fill_cache_ || block_.has_cached_pages()) {
      const PageCache::Key key{block_.cache_id(), group_};
      bool admit = false;
      // Only reads that would fill count towards admission (a scan's misses do not).
      cached_ = cache->Lookup(key, fill_cache_ ? &admit : nullptr);
      if (cached_ == nullptr && fill_cache_ && admit) {
        std::string whole;
        if (absl::Status s = DecompressWholeGroup(&whole); !s.ok()) return s;
        cached_ = cache->Insert(key, std::move(whole));
        block_.NoteCachedPage();
      }
    }
  }
  if (cached_ != nullptr) {
    // Built by DecompressWholeGroup from this very file, with the checks below.
    const char* header = cached_->data() + 16 * column;
    *raw = std::string_view(*cached_).substr(DecodeFixed64(header), DecodeFixed64(header + 8));
    return absl::OkStatus();
  }
  absl::Status s = Read();
  if (!s.ok()) return s;
  const uint64_t claimed = page_.raw_size(column);
  if (claimed > MaxRawColumnBytes(column, rows_)) {
    return Corrupt(column, absl::StrFormat("%d bytes for %d rows", claimed, rows_));
  }
  return page_.Column(column, &c_->scratch[column], raw);
}

absl::Status GroupData::Parse(int column, std::string_view in) {
  const uint32_t n = rows_;
  // The row-ordered columns are decoded up to limit_ only (LimitRows): a trace read needs a
  // few rows, and the rows after them are other traces'. Only a whole decode can tell that a
  // column has no bytes left over.
  const bool whole = limit_ == n;
  switch (column) {
    case kColParent: {
      c_->parent_rows.assign(n, -1);
      c_->parent_kinds.assign(n, kNoParent);
      for (uint32_t r = 0; r < limit_; ++r) {
        uint64_t code;
        if (!GetVarint64(&in, &code)) return Corrupt(column, "malformed code");
        if (code == kParentNone) continue;
        if (code == kParentExplicit) {
          c_->parent_kinds[r] = kExplicitParent;
          continue;
        }
        const uint64_t back = code - kParentRowBias;
        if (back > r) return Corrupt(column, "parent row out of range");
        c_->parent_rows[r] = static_cast<int32_t>(r - back);
        c_->parent_kinds[r] = kParentInGroup;
      }
      return in.empty() || !whole ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColOp: {
      c_->op_ids.resize(n);
      const uint64_t ops = tables_.ops.size();
      for (uint32_t r = 0; r < limit_; ++r) {
        uint64_t code;
        if (!GetVarint64(&in, &code)) return Corrupt(column, "malformed code");
        if (code == kOpSuccessor) {
          const uint32_t successor = r > 0 ? tables_.ops[c_->op_ids[r - 1]].successor : kNoOp;
          if (successor == kNoOp) return Corrupt(column, "no successor operation");
          c_->op_ids[r] = successor;
        } else {
          if (code - kOpIdBias >= ops) return Corrupt(column, "operation id out of range");
          c_->op_ids[r] = static_cast<uint32_t>(code - kOpIdBias);
        }
      }
      return in.empty() || !whole ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColContext:
      if (!GetBitPacked(&in, n, &c_->context_ranks) || !in.empty()) {
        return Corrupt(column, "malformed");
      }
      for (uint32_t r = 0; r < limit_; ++r) {  // op ids are known up to limit_
        if (c_->context_ranks[r] >= op(r).context_end - op(r).context_begin) {
          return Corrupt(column, "context out of range");
        }
      }
      return absl::OkStatus();
    case kColStatus:
      if (!GetBitPacked(&in, n, &c_->statuses) || !in.empty()) return Corrupt(column, "malformed");
      for (uint32_t r = 0; r < n; ++r) {
        if (c_->statuses[r] > static_cast<uint32_t>(StatusCode::kError)) {
          return Corrupt(column, "invalid status");
        }
      }
      return absl::OkStatus();
    case kColSpanId:
      if (in.size() != uint64_t{n} * 8) return Corrupt(column, "size is not 8 bytes per row");
      span_ids_ = in;
      return absl::OkStatus();
    case kColParentId: {
      c_->parents.assign(n, SpanId());
      for (uint32_t r = 0; r < limit_; ++r) {
        if (c_->parent_kinds[r] == kExplicitParent) {
          if (in.size() < 8) return Corrupt(column, "short explicit id");
          std::memcpy(c_->parents[r].bytes.data(), in.data(), 8);
          in.remove_prefix(8);
        } else if (c_->parent_kinds[r] == kParentInGroup) {
          c_->parents[r] = span_id(static_cast<uint32_t>(c_->parent_rows[r]));
        }
      }
      return in.empty() || !whole ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColMisc: {
      c_->misc_offsets.resize(limit_);
      const std::string_view all = in;
      for (uint32_t r = 0; r < limit_; ++r) {
        c_->misc_offsets[r] = static_cast<uint32_t>(all.size() - in.size());
        if (!SkipUint32(&in) || !SkipString(&in) || !SkipString(&in) || !SkipUint32(&in) ||
            !SkipUint32(&in) || !SkipUint32(&in)) {
          return Corrupt(column, "malformed row");
        }
      }
      return in.empty() || !whole ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColAttrStrings: {
      uint64_t count;
      // At most one heap per key of the block.
      if (!GetVarint64(&in, &count) || count > in.size() || count > tables_.keys.size()) {
        return Corrupt(column, "count");
      }
      c_->heaps.resize(count);  // entries reused: their vectors keep their capacity
      c_->heap_slots.assign(tables_.keys.size(), kNoSlot);
      for (uint64_t i = 0; i < count; ++i) {
        KeyHeap& h = c_->heaps[i];
        uint64_t key;
        if (!GetVarint64(&in, &key) || key >= tables_.keys.size() ||
            !GetDictionary(&in, &h.strings) || h.strings.empty()) {
          return Corrupt(column, "malformed key heap");
        }
        h.key = static_cast<uint32_t>(key);
        if (c_->heap_slots[h.key] != kNoSlot) return Corrupt(column, "key twice");
        c_->heap_slots[h.key] = static_cast<uint32_t>(i);
      }
      return in.empty() ? absl::OkStatus() : Corrupt(column, "trailing bytes");
    }
    case kColAttrValues:
      return ParseValues(in);
    case kColEvents: {
      std::vector<SpanEvent> scratch;
      if (!RowOffsets(in, limit_, whole, &c_->event_offsets,
                      [&](std::string_view* s) { return DecodeEventList(s, 0, &scratch); })) {
        return Corrupt(column, "malformed events");
      }
      return absl::OkStatus();
    }
    case kColLinks: {
      std::vector<SpanLink> scratch;
      if (!RowOffsets(in, limit_, whole, &c_->link_offsets,
                      [&](std::string_view* s) { return DecodeLinkList(s, &scratch); })) {
        return Corrupt(column, "malformed links");
      }
      return absl::OkStatus();
    }
  }
  return Corrupt(column, "unknown column");
}

absl::Status GroupData::ParseValues(std::string_view in) {
  constexpr int kColumn = kColAttrValues;
  uint64_t count;
  // At most one stream per key of the block (checked below), bounded before the streams are
  // sized (24 bytes a stream).
  if (!GetVarint64(&in, &count) || count > in.size() || count > tables_.keys.size()) {
    return Corrupt(kColumn, "count");
  }
  c_->streams.resize(count);
  c_->stream_slots.assign(tables_.keys.size(), kNoSlot);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t key;
    if (!ParseStreamHeader(&in, &key, &c_->streams[i]) || c_->stream_slots[key] != kNoSlot) {
      return Corrupt(kColumn, "malformed key column");
    }
    c_->stream_slots[key] = static_cast<uint32_t>(i);
  }
  if (!in.empty()) return Corrupt(kColumn, "trailing bytes");
  const char* const base = raw_[kColumn].data();
  c_->attr_first.assign(limit_ - begin_ + 1, 0);
  c_->refs.clear();
  AnyValue scratch;
  const uint32_t* const op_keys = tables_.op_keys.data();
  for (uint32_t r = 0; r < limit_; ++r) {
    const BlockTables::Op& op = tables_.ops[c_->op_ids[r]];
    const uint32_t* const keys_end = op_keys + op.key_end;
    if (r < begin_) {
      // Rows before begin_ are walked (the streams are sequential) but not resolved: only an
      // inline value's length matters. Materialize never reads these rows.
      for (const uint32_t* k = op_keys + op.key_begin; k != keys_end; ++k) {
        const uint32_t slot = c_->stream_slots[*k];
        if (slot == kNoSlot) return Corrupt(kColumn, "no column for a key");
        Stream& stream = c_->streams[slot];
        if (stream.codes.packed()) {
          if (!stream.codes.SkipPacked()) return StreamError(stream);
          continue;
        }
        uint64_t code;
        if (!stream.codes.Next(&code)) return StreamError(stream);
        if (code == kValueInline && !stream.ints &&
            !DecodeAnyValue(stream.codes.varint_rest(), &scratch)) {
          return Corrupt(kColumn, "malformed value");
        }
      }
      continue;
    }
    c_->attr_first[r - begin_] = static_cast<uint32_t>(c_->refs.size());
    for (const uint32_t* k = op_keys + op.key_begin; k != keys_end; ++k) {
      const uint32_t key = *k;
      const uint32_t slot = c_->stream_slots[key];
      if (slot == kNoSlot) return Corrupt(kColumn, "no column for a key");
      Stream& stream = c_->streams[slot];
      uint64_t code;
      if (!stream.codes.Next(&code)) return StreamError(stream);
      ValueRef& ref = c_->refs.emplace_back();
      if (code == kValueTemplate) {
        ref.kind = ValueRef::kTemplate;
      } else if (stream.ints) {
        ref.kind = ValueRef::kInt;
        ref.value = static_cast<uint64_t>(ZigZagDecode(code - kValueInline));
      } else if (code == kValueInline) {
        ref.kind = ValueRef::kInline;
        ref.value = static_cast<uint64_t>(stream.codes.varint_rest()->data() - base);
        if (!DecodeAnyValue(stream.codes.varint_rest(), &scratch)) {
          return Corrupt(kColumn, "malformed value");
        }
      } else if (IsBlockStringCode(code)) {
        ref.kind = ValueRef::kBlockString;
        ref.value = StringIndexOf(code);
        if (ref.value >= tables_.strings_of(key).size()) {
          return Corrupt(kColumn, "block string out of range");
        }
      } else {
        ref.kind = ValueRef::kHeapString;
        ref.value = StringIndexOf(code);
        ref.heap = c_->heap_slots[key];
        if (ref.heap == kNoSlot || ref.value >= c_->heaps[ref.heap].strings.size()) {
          return Corrupt(kColumn, "heap string out of range");
        }
      }
    }
  }
  c_->attr_first[limit_ - begin_] = static_cast<uint32_t>(c_->refs.size());
  if (limit_ == rows_) {
    for (const Stream& s : c_->streams) {
      if (!s.codes.Done()) return Corrupt(kColumn, "values left over");
    }
  }
  return absl::OkStatus();
}

const TraceId& GroupData::trace_id(uint32_t row) const {
  const TraceIndex& index = *index_;
  const uint64_t r = first_row_ + row;
  if (entry_ < index.entries().size()) {
    const RowRange& range = index.entries()[entry_].rows;
    if (r >= range.first_row && r - range.first_row < range.count) return index.entries()[entry_].id;
  }
  entry_ = index.EntryOfRow(r);
  return index.entries()[entry_].id;
}

void GroupData::PrefetchOps(uint32_t begin, uint32_t end) const {
  for (uint32_t r = begin; r < end; ++r) __builtin_prefetch(&op(r));
}

void GroupData::PrefetchTables(uint32_t begin, uint32_t end) const {
  for (uint32_t r = begin; r < end; ++r) {
    const BlockTables::Op& o = op(r);
    // data() + offset, not &v[offset]: an operation without attributes has an empty range,
    // possibly at the end of an empty array.
    __builtin_prefetch(tables_.op_templates.data() + o.key_begin);
    __builtin_prefetch(tables_.op_template_strings.data() + o.key_begin);
    __builtin_prefetch(tables_.op_keys.data() + o.key_begin);
    __builtin_prefetch(tables_.op_contexts.data() + o.context_begin + c_->context_ranks[r]);
    __builtin_prefetch(&tables_.names[o.name]);
  }
}

void GroupData::PrefetchValues(uint32_t begin, uint32_t end) const {
  for (uint32_t r = begin; r < end; ++r) {
    const BlockTables::Op& o = op(r);
    const std::string_view context = tables_.contexts[context_id(r)];
    for (size_t at = 0; at < context.size(); at += 64) __builtin_prefetch(context.data() + at);
    __builtin_prefetch(tables_.names[o.name].data());
    const ValueRef* ref = c_->refs.data() + c_->attr_first[r - begin_];
    for (uint32_t k = o.key_begin; k < o.key_end; ++k, ++ref) {
      const uint32_t key = tables_.op_keys[k];
      __builtin_prefetch(tables_.keys[key].data());
      if (ref->kind == ValueRef::kTemplate) {
        __builtin_prefetch(tables_.op_template_strings[k].data());
      } else if (ref->kind == ValueRef::kBlockString) {
        __builtin_prefetch(tables_.strings_of(key)[ref->value].data());
      }
    }
  }
}

SpanId GroupData::span_id(uint32_t row) const {
  SpanId id;
  std::memcpy(id.bytes.data(), span_ids_.data() + uint64_t{row} * 8, 8);
  return id;
}

bool GroupData::HeapHasString(uint32_t key, std::string_view value) const {
  if (key >= c_->heap_slots.size() || c_->heap_slots[key] == kNoSlot) return false;
  const auto& strings = c_->heaps[c_->heap_slots[key]].strings;
  return std::find(strings.begin(), strings.end(), value) != strings.end();
}

bool GroupData::ParseStreamHeader(std::string_view* in, uint64_t* key, Stream* stream) const {
  if (!GetVarint64(in, key) || *key >= tables_.keys.size() || in->empty()) return false;
  const uint8_t form = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  std::string_view bytes;
  if (form > kMaxAttrStreamForm || !GetLengthPrefixed(in, &bytes)) return false;
  stream->ints = (form & kFormInts) != 0;
  if ((form & kFormPacked) == 0) {
    stream->codes.ResetVarint(bytes);
    return true;
  }
  // Packed streams came with version 6; an older block holding one is damaged.
  return block_.format_version() >= 6 && stream->codes.ResetPacked(bytes, stream->ints);
}

absl::Status GroupData::StreamError(const Stream& stream) const {
  // A packed stream with codes left failed on a generic code that claims an inline value.
  return Corrupt(kColAttrValues, stream.codes.packed() && !stream.codes.Done()
                                     ? "inline value code in a packed stream"
                                     : "values run out");
}

absl::Status GroupData::ForEachValueOf(uint32_t key, absl::Span<const int32_t> op_positions,
                                       absl::FunctionRef<void(uint32_t, const AnyValue&)> fn) {
  constexpr int kColumn = kColAttrValues;
  absl::Status s = Load(kColOp);
  if (s.ok()) s = Load(kColAttrStrings);
  std::string_view in = raw_[kColumn];
  if (s.ok() && !loaded_[kColumn] && in.data() == nullptr) s = Decompress(kColumn, &in);
  if (!s.ok()) return s;
  raw_[kColumn] = in;
  // The stream headers, as ParseValues reads them; only `key`'s codes are walked.
  uint64_t count;
  if (!GetVarint64(&in, &count) || count > in.size() || count > tables_.keys.size()) {
    return Corrupt(kColumn, "count");
  }
  Stream stream;
  bool found = false;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t k;
    Stream st;
    if (!ParseStreamHeader(&in, &k, &st)) return Corrupt(kColumn, "malformed key column");
    if (k == key && !found) {
      stream = st;
      found = true;
    }
  }
  if (!found) return absl::OkStatus();  // no row of the group has the key
  AnyValue value, skipped;
  for (uint32_t r = 0; r < limit_; ++r) {
    const uint32_t op_id = c_->op_ids[r];
    const int32_t pos = op_id < op_positions.size() ? op_positions[op_id] : -1;
    if (pos < 0) continue;
    const uint32_t k = tables_.ops[op_id].key_begin + static_cast<uint32_t>(pos);
    uint64_t code;
    if (!stream.codes.Next(&code)) return StreamError(stream);
    if (code == kValueTemplate) {
      if (tables_.op_templates[k].type() == AnyValue::Type::kString) {
        value.set_string(tables_.op_template_strings[k]);
      } else {
        value = tables_.op_templates[k];
      }
    } else if (stream.ints) {
      value.set_int(ZigZagDecode(code - kValueInline));
    } else if (code == kValueInline) {
      if (!DecodeAnyValue(stream.codes.varint_rest(), &value)) {
        return Corrupt(kColumn, "malformed value");
      }
    } else if (IsBlockStringCode(code)) {
      const auto& strings = tables_.strings_of(key);
      if (StringIndexOf(code) >= strings.size()) {
        return Corrupt(kColumn, "block string out of range");
      }
      value.set_string(strings[StringIndexOf(code)]);
    } else {
      const uint32_t heap = key < c_->heap_slots.size() ? c_->heap_slots[key] : kNoSlot;
      if (heap == kNoSlot || StringIndexOf(code) >= c_->heaps[heap].strings.size()) {
        return Corrupt(kColumn, "heap string out of range");
      }
      value.set_string(c_->heaps[heap].strings[StringIndexOf(code)]);
    }
    // A key repeated within the span (allowed on the wire) has one code per occurrence, in
    // the operation's key order: lookups see the first, and the others are skipped so the
    // rows after this one read their own codes.
    for (uint32_t j = k + 1; j < tables_.ops[op_id].key_end; ++j) {
      if (tables_.op_keys[j] != key) continue;
      if (!stream.codes.Next(&code)) return StreamError(stream);
      if (code == kValueInline && !stream.ints &&
          !DecodeAnyValue(stream.codes.varint_rest(), &skipped)) {
        return Corrupt(kColumn, "malformed value");
      }
    }
    fn(r, value);
  }
  return absl::OkStatus();
}

absl::Status GroupData::Materialize(uint32_t row, Span* span) const {
  return MaterializeFields(row, SpanFields::All(), span);
}

absl::Status GroupData::MaterializeFields(uint32_t row, const SpanFields& fields,
                                          Span* span) const {
  const BlockTables::Op& o = op(row);
  span->trace_id = trace_id(row);
  span->span_id = span_id(row);
  span->parent_span_id = c_->parents[row];
  span->start_time_unix_nano = c_->starts[row];
  span->end_time_unix_nano = c_->ends[row];
  span->service_name.assign(tables_.services[o.service]);
  span->name.assign(tables_.names[o.name]);
  span->kind = o.kind;
  span->status_code = status(row);

  if (fields.misc) {
    // Offsets and lengths were validated by Parse; these reads cannot fail.
    std::string_view misc = raw_[kColMisc].substr(c_->misc_offsets[row]);
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
  }

  if (fields.context) block_.DecodeContext(context_id(row), span);

  if (fields.attributes) {
    // The span's KeyValues are overwritten in place, so their strings keep their capacity
    // from one row to the next.
    size_t n = 0;
    // One allocation for the span's list: growing it one attribute at a time allocated five
    // times for a dozen attributes, the last two large enough to make glibc consolidate its
    // free lists each time.
    if (fields.keys == nullptr) span->attributes.reserve(o.key_end - o.key_begin);
    const ValueRef* ref = c_->refs.data() + c_->attr_first[row - begin_];
    for (uint32_t k = o.key_begin; k < o.key_end; ++k, ++ref) {
      const uint32_t key = tables_.op_keys[k];
      if (fields.keys != nullptr && (key >= fields.keys->size() || !(*fields.keys)[key])) continue;
      KeyValue& kv =
          n < span->attributes.size() ? span->attributes[n] : span->attributes.emplace_back();
      ++n;
      kv.key.assign(tables_.keys[key]);
      switch (ref->kind) {
        case ValueRef::kTemplate:
          if (tables_.op_templates[k].type() == AnyValue::Type::kString) {
            kv.value.set_string(tables_.op_template_strings[k]);
          } else {
            kv.value = tables_.op_templates[k];
          }
          break;
        case ValueRef::kInt:
          kv.value.set_int(static_cast<int64_t>(ref->value));
          break;
        case ValueRef::kBlockString:
          kv.value.set_string(tables_.strings_of(key)[ref->value]);
          break;
        case ValueRef::kHeapString:
          kv.value.set_string(c_->heaps[ref->heap].strings[ref->value]);
          break;
        case ValueRef::kInline: {
          std::string_view at = raw_[kColAttrValues].substr(ref->value);
          if (!DecodeAnyValue(&at, &kv.value)) {
            return Corrupt(kColAttrValues, absl::StrFormat("row %d: malformed value", row));
          }
          break;
        }
      }
    }
    span->attributes.resize(n);
  }

  if (fields.events) {
    std::string_view events = raw_[kColEvents].substr(c_->event_offsets[row]);
    if (!DecodeEventList(&events, span->start_time_unix_nano, &span->events)) {
      return Corrupt(kColEvents, absl::StrFormat("row %d: malformed event", row));
    }
  }
  if (fields.links) {
    std::string_view links = raw_[kColLinks].substr(c_->link_offsets[row]);
    if (!DecodeLinkList(&links, &span->links)) {
      return Corrupt(kColLinks, absl::StrFormat("row %d: malformed link", row));
    }
  }
  return absl::OkStatus();
}

absl::Status GroupData::LoadFields(const SpanFields& fields) {
  // The fields every span gets: ids, parents, times, operation, status.
  for (int c : {kColOp, kColStatus, kColStartClass, kColSpanId, kColParentId}) {
    if (absl::Status s = Load(c); !s.ok()) return s;
  }
  const std::pair<bool, int> optional[] = {{fields.misc, kColMisc},
                                           {fields.context, kColContext},
                                           {fields.attributes, kColAttrValues},
                                           {fields.events, kColEvents},
                                           {fields.links, kColLinks}};
  for (const auto& [wanted, column] : optional) {
    if (!wanted) continue;
    if (absl::Status s = Load(column); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace spanstore
