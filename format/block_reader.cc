#include "format/block_reader.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "format/block_footer.h"
#include "format/column_dictionary.h"
#include "format/group_data.h"
#include "format/page_cache.h"
#include "format/page_codec.h"
#include "format/value_codec.h"
#include "index/value_filter.h"
#include "util/coding.h"
#include "util/prefault.h"

namespace spanstore {
namespace {

absl::Status BlockError(const std::string& path, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("block %s: %s", path, what));
}

// A reader's key in the filter cache: its one entry, the whole filters' section.
constexpr uint64_t kFilterSectionKey = 0;

}  // namespace

BlockReader::BlockReader(Env* env, std::string path, uint64_t number, PageCache* cache,
                         PageCache* filter_cache, TraceIndexCache* index_cache)
    : env_(env),
      path_(std::move(path)),
      number_(number),
      cache_(cache),
      filter_cache_(filter_cache),
      index_cache_(index_cache),
      cache_id_(cache != nullptr || filter_cache != nullptr || index_cache != nullptr
                    ? PageCache::NewReaderId()
                    : 0) {}

BlockReader::~BlockReader() {
  // A closed reader's pages and filters are never asked for again: free them now rather than
  // when the caches' LRU order reaches them (a merge closes the readers of every block it
  // replaced), so the budget holds live blocks only.
  if (filter_cache_ != nullptr) filter_cache_->Erase(PageCache::Key{cache_id_, kFilterSectionKey});
  if (index_cache_ != nullptr) index_cache_->Erase(cache_id_);
  if (cache_ != nullptr && has_cached_pages()) {
    for (uint64_t g = 0; g < groups_.size(); ++g) cache_->Erase(PageCache::Key{cache_id_, g});
  }
}

absl::StatusOr<std::unique_ptr<BlockReader>> BlockReader::Open(Env* env, const std::string& path,
                                                               uint64_t number, PageCache* cache,
                                                               PageCache* filter_cache,
                                                               TraceIndexCache* index_cache) {
  std::unique_ptr<BlockReader> block(
      new BlockReader(env, path, number, cache, filter_cache, index_cache));
  absl::Status s = block->Load();
  if (!s.ok()) return s;
  return block;
}

absl::Status BlockReader::Load() {
  auto file = env_->NewRandomAccessFile(path_);
  if (!file.ok()) return file.status();
  file_ = std::move(*file);
  file_bytes_ = file_->Size();
  if (file_bytes_ < kBlockHeaderSize + kBlockFooterSize) {
    return BlockError(path_, absl::StrFormat("%d bytes, too short for a block", file_bytes_));
  }
  std::string header(kBlockHeaderSize, '\0');
  std::string_view got;
  absl::Status s = file_->Read(0, kBlockHeaderSize, header.data(), &got);
  if (!s.ok()) return s;
  const uint32_t header_version = DecodeBlockHeaderVersion(got);
  if (header_version == 0) {
    return BlockError(path_, "offset 0: bad magic (not a spanstore block)");
  }
  std::string footer(kBlockFooterSize, '\0');
  const uint64_t footer_offset = file_bytes_ - kBlockFooterSize;
  s = file_->Read(footer_offset, kBlockFooterSize, footer.data(), &got);
  if (!s.ok()) return s;
  BlockFooter footer_fields;
  std::string what;
  const bool footer_ok = footer_fields.DecodeFrom(got, &what);
  const auto readable = [](uint32_t v) {
    return v >= kOldestBlockFormatVersion && v <= kBlockFormatVersion;
  };
  if (header_version != footer_fields.version && footer_ok && readable(footer_fields.version)) {
    // The header's version is not checksummed, the footer's is: a file of another version
    // would say so in both, so this is a damaged header (kSalvage must not take it for a
    // newer file it has to leave alone).
    return BlockError(path_, absl::StrFormat("offset 8: the header says format version %d, the "
                                             "checksummed footer %d: the header is damaged",
                                             header_version, footer_fields.version));
  }
  if (header_version > kBlockFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "block %s: format version %d was written by a newer spanstore; this build reads "
        "versions up to %d",
        path_, header_version, kBlockFormatVersion));
  }
  if (header_version < kOldestBlockFormatVersion) {
    // Version 1 was written only by development builds before the first release of the
    // format (docs/block_format.md, Versions).
    return absl::FailedPreconditionError(absl::StrFormat(
        "block %s: format version %d was written by an older development build; this build "
        "reads versions %d to %d only",
        path_, header_version, kOldestBlockFormatVersion, kBlockFormatVersion));
  }
  version_ = header_version;
  if (!footer_ok) {
    return BlockError(path_, absl::StrFormat("offset %d: %s", footer_offset, what));
  }
  const uint64_t meta_offset = footer_fields.meta_offset;
  const uint64_t meta_size = footer_fields.meta_size;
  const uint64_t index_offset = footer_fields.index_offset;
  const uint64_t index_size = footer_fields.index_size;
  const uint32_t version = footer_fields.version;
  const uint32_t columns = footer_fields.columns;
  if (version != header_version || columns != kNumBlockColumns) {
    return BlockError(path_, absl::StrFormat("footer says version %d with %d columns, header "
                                             "version %d (expected %d columns)",
                                             version, columns, header_version, kNumBlockColumns));
  }
  if (meta_offset < kBlockHeaderSize || meta_size > footer_offset ||
      meta_offset > footer_offset - meta_size || index_offset != meta_offset + meta_size ||
      index_size != footer_offset - index_offset) {
    return BlockError(path_, "footer offsets out of range");
  }

  std::string buffer;
  s = ReadExactly(meta_offset, meta_size, "the meta page", &buffer);
  if (!s.ok()) return s;
  std::string_view in = buffer;
  s = DecodePage(&in, PageLocation{path_, UINT64_MAX, meta_offset}, &meta_);
  if (!s.ok()) return s;
  s = ParseMeta(meta_, meta_offset);
  if (!s.ok()) return s;
  // As the writer counts: the filters' section is meta.
  column_bytes_[kNumBlockColumns] = meta_size + filter_section_bytes_ + block_filter_bytes_;
  column_bytes_[kNumBlockColumns + 1] = index_size;
  index_offset_ = index_offset;
  index_size_ = index_size;
  if (version_ >= 4) return absl::OkStatus();  // the trace index is read on first use
  auto index = ReadTraceIndex();
  if (!index.ok()) return index.status();
  trace_count_ = index->size();
  index_ = std::move(*index);
  index_loaded_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<TraceIndex> BlockReader::ReadTraceIndex() const {
  std::string buffer;
  absl::Status s = ReadExactly(index_offset_, index_size_, "the trace index", &buffer);
  if (!s.ok()) return s;
  auto index = TraceIndex::Parse(buffer, path_);
  if (!index.ok()) return index.status();
  // Every row belongs to exactly one trace, in row order: the groups take their rows' trace
  // ids from the index.
  if (index->size() == 0 || index->size() != index->entries().size() ||
      !index->CoversRowsInOrder(rows_)) {
    return BlockError(path_, "trace index does not match the rows");
  }
  if (version_ >= 4 && index->size() != trace_count_) {
    return BlockError(path_, absl::StrFormat("the trace index holds %d traces, the meta page "
                                             "says %d",
                                             index->size(), trace_count_));
  }
  return index;
}

absl::StatusOr<TraceIndexCache::Ref> BlockReader::LoadTraceIndex(bool keep) const {
  // An index the reader keeps itself is handed out as a pointer that owns nothing (the
  // reader outlives its callers), so the common case pays no reference count.
  const auto resident = [this] { return TraceIndexCache::Ref(TraceIndexCache::Ref(), &index_); };
  if (index_loaded_.load(std::memory_order_acquire)) return resident();
  if (index_cache_ == nullptr) {
    port::MutexLock lock(&index_mu_);
    if (index_loaded_.load(std::memory_order_relaxed)) return resident();
    auto index = ReadTraceIndex();
    if (!index.ok()) return index.status();
    index_ = std::move(*index);
    index_loaded_.store(true, std::memory_order_release);
    return resident();
  }
  if (TraceIndexCache::Ref cached = index_cache_->Lookup(cache_id_)) return cached;
  // Concurrent misses read the index once: the others find it cached after the lock.
  port::MutexLock lock(&index_mu_);
  if (TraceIndexCache::Ref cached = index_cache_->Lookup(cache_id_)) return cached;
  auto index = ReadTraceIndex();
  if (!index.ok()) return index.status();
  if (!keep) return std::make_shared<const TraceIndex>(std::move(*index));
  return index_cache_->Insert(cache_id_, std::move(*index));
}

bool BlockReader::MayHoldTrace(uint64_t hash) const {
  if (index_loaded_.load(std::memory_order_acquire)) return index_.filter().MayHold(hash);
  return ValueFilterMayContain(trace_filter_, hash);
}

void BlockReader::PrefetchTrace(uint64_t hash) const {
  if (index_loaded_.load(std::memory_order_acquire)) {
    index_.filter().Prefetch(hash);
  } else {
    ValueFilterPrefetch(trace_filter_, hash);
  }
}

bool BlockReader::MayContainTrace(const TraceId& id, uint64_t hash) const {
  if (!MayHoldTrace(hash)) return false;
  auto index = LoadTraceIndex();
  return !index.ok() || (*index)->Lookup(id).has_value();
}

absl::Status BlockReader::ParseMeta(std::string_view in, uint64_t meta_offset) {
  uint64_t rows, groups;
  if (!GetVarint64(&in, &rows) || !GetVarint64(&in, &groups) || rows == 0 || rows >= UINT32_MAX ||
      groups == 0 || groups > rows) {
    return BlockError(path_, "meta page: bad row or group count");
  }
  // Bound the claims by the file before allocating for them: the group pages lie between the
  // header and the meta page, a group page takes at least kMinGroupBytes (its column table and
  // checksum), and a group holds at most kMaxRowsPerGroup rows. Rows are not bounded by bytes:
  // every column may be compressed, and low-entropy rows (sequential span ids, repeated
  // attributes, predicted times) take well under a byte each -- a reader that assumed 8 bytes
  // of span id per row refused blocks the writer had written. What a row costs a reader is
  // bounded per group instead (GroupData checks each column against the row count).
  constexpr uint64_t kMinGroupBytes = kNumBlockColumns * 3 + 8;
  const uint64_t page_bytes = meta_offset - kBlockHeaderSize;  // Load: meta_offset >= header
  if (groups > page_bytes / kMinGroupBytes || rows > groups * uint64_t{kMaxRowsPerGroup}) {
    return BlockError(path_, absl::StrFormat("meta page: %d rows in %d row groups cannot fit "
                                             "in the %d bytes before the meta page",
                                             rows, groups, page_bytes));
  }
  rows_ = rows;
  if (!zone_.Parse(&in) || zone_.rows() != rows) {
    return BlockError(path_, "meta page: bad block zone map");
  }
  if (!tables_.Parse(&in, rows)) return BlockError(path_, "meta page: malformed tables");
  groups_.reserve(groups);
  PrefaultForWrite(groups_.data(), groups * sizeof(Group));
  groups_.resize(groups);
  uint64_t next_row = 0;
  uint64_t next_offset = kBlockHeaderSize;
  std::vector<uint32_t> services;
  for (Group& g : groups_) {
    if (!g.zone.ParseCompact(&in, zone_.min_start(), tables_.services.size(), &services) ||
        g.zone.rows() > rows - next_row || g.zone.rows() > kMaxRowsPerGroup ||
        !GetVarint64(&in, &g.size) || g.size > meta_offset - next_offset) {
      return BlockError(path_, "meta page: bad row group entry");
    }
    // ParseCompact bounds the count by the group's rows, and those add up to at most `rows`.
    g.services_begin = static_cast<uint32_t>(group_service_ids_.size());
    g.services_count = static_cast<uint32_t>(services.size());
    group_service_ids_.insert(group_service_ids_.end(), services.begin(), services.end());
    if (version_ == 3) {
      std::string_view filter;
      if (!GetLengthPrefixed(&in, &filter) || !ValueFilterValid(filter)) {
        return BlockError(path_, "meta page: bad row group value filter");
      }
      filters_.push_back(filter);
      g.has_filter = true;
    } else if (version_ >= 4) {
      uint64_t filter_size;
      if (!GetVarint64(&in, &filter_size) || filter_size > UINT32_MAX ||
          filter_size > meta_offset - filter_section_bytes_) {
        return BlockError(path_, "meta page: bad row group value filter size");
      }
      filter_sizes_.push_back(static_cast<uint32_t>(filter_size));
      filter_section_bytes_ += filter_size;
      g.has_filter = true;
    } else {
      filters_.emplace_back();
    }
    g.first_row = next_row;
    g.rows = static_cast<uint32_t>(g.zone.rows());
    g.offset = next_offset;
    next_row += g.rows;
    next_offset += g.size;
  }
  if (next_row != rows) return BlockError(path_, "meta page: rows disagree");
  if (version_ >= 4) {
    // The filters' section fills the bytes between the last group page and the meta page.
    // (checked once the block value filter's size is known, below).
    filter_offset_ = next_offset;
    filter_section_bytes_ += 8;
  } else {
    filters_loaded_.store(true, std::memory_order_release);  // in the meta page, or none
  }
  group_first_rows_.resize(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) group_first_rows_[g] = groups_[g].first_row;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    if (!GetVarint64(&in, &column_bytes_[c])) {
      return BlockError(path_, "meta page: bad column sizes");
    }
  }
  if (version_ >= 4) {
    if (!GetVarint64(&in, &trace_count_) || trace_count_ == 0 || trace_count_ > rows) {
      return BlockError(path_, "meta page: bad trace count");
    }
    if (!GetLengthPrefixed(&in, &trace_filter_) || trace_filter_.empty() ||
        !ValueFilterValid(trace_filter_)) {
      return BlockError(path_, "meta page: bad trace id filter");
    }
  }
  if (version_ >= 5) {
    if (!GetVarint64(&in, &block_filter_bytes_) ||
        block_filter_bytes_ > meta_offset - filter_offset_ ||
        (block_filter_bytes_ != 0 && block_filter_bytes_ < 8)) {
      return BlockError(path_, "meta page: bad block value filter size");
    }
    block_filter_offset_ = filter_offset_ + filter_section_bytes_;
  }
  if (version_ >= 7 && !dictionaries_.Parse(&in)) {
    return BlockError(path_, "meta page: bad column dictionaries");
  }
  if (block_filter_bytes_ == 0) {
    block_filter_loaded_.store(true, std::memory_order_release);  // none: it covers no key
  }
  if (version_ >= 4 &&
      filter_section_bytes_ + block_filter_bytes_ != meta_offset - filter_offset_) {
    return BlockError(path_, absl::StrFormat("meta page: the value filters take %d bytes, but "
                                             "%d lie between the row groups and the meta page",
                                             filter_section_bytes_ + block_filter_bytes_,
                                             meta_offset - filter_offset_));
  }
  if (!in.empty()) return BlockError(path_, "meta page: trailing bytes");

  // Every context must decode, so that Materialize (which decodes them again) cannot fail.
  Span scratch;
  for (size_t i = 0; i < tables_.contexts.size(); ++i) {
    if (!DecodeSpanContext(tables_.contexts[i], &scratch)) {
      return BlockError(path_, absl::StrFormat("meta page: context %d is malformed", i));
    }
  }
  template_strings_.assign(tables_.keys.size(), {});
  for (const BlockTables::Op& op : tables_.ops) {
    auto& names = operations_[std::string(tables_.services[op.service])];
    names.insert(std::string(tables_.names[op.name]));
  }
  for (size_t k = 0; k < tables_.op_keys.size(); ++k) {
    if (tables_.op_templates[k].type() == AnyValue::Type::kString) {
      template_strings_[tables_.op_keys[k]].push_back(tables_.op_template_strings[k]);
    }
  }
  return absl::OkStatus();
}

absl::Status BlockReader::ReadValueFilters(std::string* section) const {
  absl::Status s = ReadChecksummed(filter_offset_, filter_section_bytes_, "value filters", section);
  if (!s.ok()) return s;
  size_t at = 0;
  for (size_t g = 0; g < filter_sizes_.size(); ++g) {
    if (!ValueFilterValid(std::string_view(section->data() + at, filter_sizes_[g]))) {
      return BlockError(path_, absl::StrFormat("offset %d: the value filter of row group %d is "
                                               "malformed",
                                               filter_offset_ + at, g));
    }
    at += filter_sizes_[g];
  }
  return absl::OkStatus();
}

void BlockReader::SplitValueFilters(std::string_view section,
                                    std::vector<std::string_view>* views) const {
  views->clear();
  views->reserve(filter_sizes_.size());
  size_t at = 0;
  for (uint32_t size : filter_sizes_) {
    views->push_back(section.substr(at, size));
    at += size;
  }
}

absl::Status BlockReader::LoadResidentValueFilters() const {
  if (filters_loaded_.load(std::memory_order_acquire)) return absl::OkStatus();
  port::MutexLock lock(&filters_mu_);
  if (filters_loaded_.load(std::memory_order_relaxed)) return absl::OkStatus();
  std::string section;
  absl::Status s = ReadValueFilters(&section);
  if (!s.ok()) return s;
  filter_section_ = std::move(section);  // not read by others until filters_loaded_
  SplitValueFilters(filter_section_, &filters_);
  filters_loaded_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<GroupValueFilters> BlockReader::ValueFilters() const {
  GroupValueFilters out;
  // Kept by the reader: a version 3 block's (in the meta page), or any block's without a cache.
  if (filter_cache_ == nullptr || filters_loaded_.load(std::memory_order_acquire)) {
    if (absl::Status s = LoadResidentValueFilters(); !s.ok()) return s;
    out.resident_ = &filters_;
    return out;
  }
  // In the filter cache: a search holds the section while it probes, even if evicted meanwhile.
  const PageCache::Key key{cache_id_, kFilterSectionKey};
  PageCache::Page section = filter_cache_->Lookup(key);
  if (section == nullptr) {
    // One read per block at a time: concurrent first searches wait for it rather than each
    // reading the section.
    port::MutexLock lock(&filters_mu_);
    section = filter_cache_->Lookup(key);
    if (section == nullptr) {
      std::string bytes;
      absl::Status s = ReadValueFilters(&bytes);
      if (!s.ok()) return s;
      section = filter_cache_->Insert(key, std::move(bytes));
    }
  }
  SplitValueFilters(*section, &out.views_);
  out.section_ = std::move(section);
  return out;
}

absl::StatusOr<const BlockValueFilter*> BlockReader::LoadBlockValueFilter() const {
  if (block_filter_loaded_.load(std::memory_order_acquire)) return &block_filter_;
  port::MutexLock lock(&filters_mu_);
  if (block_filter_loaded_.load(std::memory_order_relaxed)) return &block_filter_;
  std::string data;
  absl::Status s =
      ReadChecksummed(block_filter_offset_, block_filter_bytes_, "block value filter", &data);
  if (!s.ok()) return s;
  block_filter_data_ = std::move(data);  // not read by others until block_filter_loaded_
  if (!block_filter_.Parse(block_filter_data_, tables_.keys.size())) {
    return BlockError(path_, absl::StrFormat("offset %d: the block value filter is malformed",
                                             block_filter_offset_));
  }
  block_filter_loaded_.store(true, std::memory_order_release);
  return &block_filter_;
}

uint64_t BlockReader::memory_bytes() const {
  const uint64_t group_services = group_service_ids_.capacity() * sizeof(uint32_t);
  uint64_t filters = 0;
  if (filters_loaded_.load(std::memory_order_acquire)) {
    filters = filter_section_.size() + filters_.size() * sizeof(std::string_view);
  }
  if (block_filter_loaded_.load(std::memory_order_acquire)) {
    filters += block_filter_data_.capacity() + block_filter_.MemoryBytes();
  }
  const uint64_t index = index_loaded_.load(std::memory_order_acquire) ? index_.MemoryBytes() : 0;
  return index + groups_.size() * sizeof(Group) + group_services + meta_.size() +
         dictionaries_.MemoryBytes() + tables_.MemoryBytes() + filters;
}

absl::Status BlockReader::ReadGroup(size_t group, std::string* out) const {
  const Group& g = groups_[group];
  return ReadExactly(g.offset, g.size, "a row group page", out);  // the offset names it
}

absl::Status BlockReader::ReadExactly(uint64_t offset, uint64_t size, std::string_view what,
                                      std::string* out) const {
  out->reserve(size);
  PrefaultForWrite(out->data(), out->capacity());  // util/prefault.h: big, fresh buffers
  out->resize(size);
  std::string_view got;
  absl::Status s = file_->Read(offset, size, out->data(), &got);
  if (!s.ok()) return s;
  if (got.size() != size) {
    return BlockError(path_, absl::StrFormat("offset %d: short read of %s (%d of %d bytes)", offset,
                                             what, got.size(), size));
  }
  if (got.data() != out->data()) std::memmove(out->data(), got.data(), got.size());
  return absl::OkStatus();
}

absl::Status BlockReader::ReadChecksummed(uint64_t offset, uint64_t size, std::string_view what,
                                          std::string* out) const {
  absl::Status s = ReadExactly(offset, size, what, out);
  if (!s.ok()) return s;
  const size_t body = out->size() - 8;  // ParseMeta: at least the checksum's 8 bytes
  const uint64_t stored = DecodeFixed64(out->data() + body);
  const uint64_t computed = XXH3_64bits(out->data(), body);
  if (stored != computed) {
    return BlockError(path_, absl::StrFormat("offset %d: %s: checksum mismatch (stored %016x, "
                                             "computed %016x)",
                                             offset, what, stored, computed));
  }
  out->resize(body);
  return absl::OkStatus();
}

void BlockReader::DecodeContext(uint32_t id, Span* span) const {
  // Decoding the encoded context (a few hundred contiguous bytes) is faster than copying a
  // decoded one, whose strings each sit in their own allocation, cold in the cache for a block
  // touched by a random lookup. Open checked that every context decodes.
  (void)DecodeSpanContext(tables_.contexts[id], span);
}

size_t BlockReader::GroupOfRow(uint64_t row) const {
  auto it = std::upper_bound(group_first_rows_.begin(), group_first_rows_.end(), row);
  return static_cast<size_t>(it - group_first_rows_.begin()) - 1;
}

void BlockReader::ForEachGroupOfRows(
    uint64_t first, uint64_t last, const TraceIndexCache::Ref& index,
    absl::FunctionRef<bool(GroupData&, uint32_t, uint32_t)> fn) const {
  for (size_t g = GroupOfRow(first); g < groups_.size() && groups_[g].first_row < last; ++g) {
    GroupData data(*this, g);
    data.SetTraceIndex(index);
    const uint64_t base = data.first_row();
    const uint32_t begin = static_cast<uint32_t>(std::max(first, base) - base);
    const uint32_t end = static_cast<uint32_t>(std::min(last, base + data.rows()) - base);
    data.LimitRows(begin, end);
    if (!fn(data, begin, end)) return;
  }
}

absl::Status BlockReader::ReadTrace(const TraceId& trace_id, std::vector<Span>* out) const {
  auto index = LoadTraceIndex();
  if (!index.ok()) return index.status();
  const std::optional<size_t> entry = (*index)->Find(trace_id);
  if (!entry.has_value()) return absl::OkStatus();
  const RowRange range = (*index)->entries()[*entry].rows;
  const uint64_t first = range.first_row, last = first + range.count;  // [first, last)
  if (last > rows_) return BlockError(path_, "trace index points past the last row");
  out->reserve(out->size() + range.count);
  absl::Status s;
  ForEachGroupOfRows(first, last, *index, [&](GroupData& data, uint32_t b, uint32_t e) {
    data.FillCache();
    // Operations and contexts first, so that the block tables the rows need are on their way
    // into the cache while the other columns decompress (GroupData::PrefetchOps).
    if (s = data.Load(kColOp); !s.ok()) return false;
    data.PrefetchOps(b, e);
    if (s = data.Load(kColContext); !s.ok()) return false;
    data.PrefetchTables(b, e);
    if (s = data.LoadAll(); !s.ok()) return false;
    data.PrefetchValues(b, e);
    data.SetTraceEntry(*entry);
    for (uint32_t r = b; r < e; ++r) {
      if (s = data.Materialize(r, &out->emplace_back()); !s.ok()) return false;
    }
    return true;
  });
  return s;
}

absl::Status BlockReader::ReadTraceFields(const TraceId& trace_id, const SpanFields& fields,
                                          const std::vector<std::string_view>& keys,
                                          std::vector<Span>* out) const {
  auto index = LoadTraceIndex();
  if (!index.ok()) return index.status();
  const std::optional<size_t> entry = (*index)->Find(trace_id);
  if (!entry.has_value()) return absl::OkStatus();
  const RowRange range = (*index)->entries()[*entry].rows;
  const uint64_t first = range.first_row, last = first + range.count;  // [first, last)
  if (last > rows_) return BlockError(path_, "trace index points past the last row");
  SpanFields wanted = fields;
  std::vector<bool> key_ids(tables_.keys.size(), false);
  for (std::string_view key : keys) {
    auto it = std::find(tables_.keys.begin(), tables_.keys.end(), key);
    if (it != tables_.keys.end()) key_ids[it - tables_.keys.begin()] = true;
  }
  wanted.keys = &key_ids;
  out->reserve(out->size() + range.count);
  absl::Status s;
  ForEachGroupOfRows(first, last, *index, [&](GroupData& data, uint32_t b, uint32_t e) {
    if (s = data.LoadFields(wanted); !s.ok()) return false;
    data.SetTraceEntry(*entry);
    for (uint32_t r = b; r < e; ++r) {
      if (s = data.MaterializeFields(r, wanted, &out->emplace_back()); !s.ok()) return false;
    }
    return true;
  });
  return s;
}

bool BlockReader::Contains(const Span& span) const {
  if (!MayHoldTrace(TraceIndex::Hash(span.trace_id))) return false;
  auto index = LoadTraceIndex();
  if (!index.ok()) return false;  // as documented: the caller keeps its copy
  const std::optional<RowRange> range = (*index)->Lookup(span.trace_id);
  if (!range.has_value()) return false;
  const uint64_t first = range->first_row, last = first + range->count;
  if (last > rows_) return false;
  Span candidate;
  bool found = false;
  ForEachGroupOfRows(first, last, *index, [&](GroupData& data, uint32_t b, uint32_t e) {
    if (!data.Load(kColSpanId).ok()) return false;
    for (uint32_t r = b; r < e; ++r) {
      if (data.span_id(r) != span.span_id) continue;
      if (!data.LoadAll().ok() || !data.Materialize(r, &candidate).ok()) return false;
      if (candidate == span) {
        found = true;
        return false;
      }
    }
    return true;
  });
  return found;
}

absl::Status BlockReader::ForEachRow(
    absl::FunctionRef<bool(const Span&, std::string_view context)> visitor) const {
  // Not kept: a pass over every row (verify) reads the block once.
  auto index = LoadTraceIndex(/*keep=*/false);
  if (!index.ok()) return index.status();
  Span span;
  for (size_t g = 0; g < groups_.size(); ++g) {
    GroupData data(*this, g);
    data.SetTraceIndex(*index);
    absl::Status s = data.LoadAll();
    if (!s.ok()) return s;
    for (uint32_t r = 0; r < data.rows(); ++r) {
      if (s = data.Materialize(r, &span); !s.ok()) return s;
      if (!visitor(span, tables_.contexts[data.context_id(r)])) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status BlockReader::Verify() const {
  // The value filters must hold every string and int a row has that is not its operation's
  // template: a filter that misses one would make searches skip a matching span silently.
  absl::flat_hash_map<std::string_view, uint32_t> key_ids;
  for (size_t k = 0; k < tables_.keys.size(); ++k) {
    key_ids.emplace(tables_.keys[k], static_cast<uint32_t>(k));
  }
  absl::flat_hash_set<uint64_t> template_hashes;
  for (size_t k = 0; k < tables_.op_keys.size(); ++k) {
    ValueFilterBuilder entries;
    entries.AddValue(tables_.op_keys[k], tables_.op_templates[k]);
    template_hashes.insert(entries.hashes().begin(), entries.hashes().end());
  }
  auto filters = ValueFilters();
  if (!filters.ok()) return filters.status();
  auto block_filter = LoadBlockValueFilter();
  if (!block_filter.ok()) return block_filter.status();
  auto index = LoadTraceIndex(/*keep=*/false);
  if (!index.ok()) return index.status();
  // A trace the meta page's filter lacks would be missed by every lookup until the index is
  // loaded.
  if (!trace_filter_.empty()) {
    for (const TraceIndex::Entry& e : (*index)->entries()) {
      if (!ValueFilterMayContain(trace_filter_, TraceIndex::Hash(e.id))) {
        return BlockError(path_,
                          absl::StrFormat("the trace id filter lacks trace %s", e.id.ToHex()));
      }
    }
  }
  ValueFilterBuilder entries;
  uint64_t row = 0;
  absl::Status misplaced;
  absl::Status s = ForEachRow([&](const Span& span, std::string_view) {
    const Group& g = groups_[GroupOfRow(row)];
    for (const KeyValue& kv : span.attributes) {
      if (!g.has_filter) break;
      auto key = key_ids.find(kv.key);
      if (key == key_ids.end()) {
        misplaced = BlockError(path_, absl::StrFormat("row %d: attribute key %s is not in the "
                                                      "key dictionary",
                                                      row, kv.key));
        return false;
      }
      entries.AddValue(key->second, kv.value);
      for (uint64_t hash : entries.hashes()) {
        if (!template_hashes.contains(hash) &&
            !ValueFilterMayContain(filters->get()[GroupOfRow(row)], hash)) {
          misplaced = BlockError(path_, absl::StrFormat("row %d: the value filter of row group "
                                                        "%d lacks the value of %s",
                                                        row, GroupOfRow(row), kv.key));
          return false;
        }
        if (block_filter_.Covers(key->second) && !template_hashes.contains(hash) &&
            !block_filter_.MayContain(hash)) {
          misplaced = BlockError(path_, absl::StrFormat("row %d: the block value filter lacks "
                                                        "the value of %s",
                                                        row, kv.key));
          return false;
        }
      }
      entries.Clear();
    }
    const std::optional<RowRange> range = (*index)->Lookup(span.trace_id);
    if (!range.has_value() || row < range->first_row ||
        row >= uint64_t{range->first_row} + range->count) {
      misplaced = BlockError(path_, absl::StrFormat("row %d (trace %s) is not where the trace "
                                                    "index says",
                                                    row, span.trace_id.ToHex()));
      return false;
    }
    ++row;
    return true;
  });
  if (!s.ok()) return s;
  if (!misplaced.ok()) return misplaced;
  if (row != rows_) return BlockError(path_, "row count disagrees with the meta page");
  return absl::OkStatus();
}

}  // namespace spanstore
