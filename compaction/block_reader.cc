#include "compaction/block_reader.h"

#include <xxhash.h>

#include <algorithm>

#include "absl/strings/str_format.h"
#include "compaction/column_dictionary.h"
#include "compaction/group_data.h"
#include "compaction/page_codec.h"
#include "engine/coding.h"

namespace spanstore {
namespace {

absl::Status BlockError(const std::string& path, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("block %s: %s", path, what));
}

// Narrows `rows` to those for which keep(row) is true.
template <typename Keep>
void Narrow(std::vector<uint32_t>* rows, Keep keep) {
  rows->erase(std::remove_if(rows->begin(), rows->end(), [&](uint32_t r) { return !keep(r); }),
              rows->end());
}

// Dictionary ids of a group whose entries are among `wanted`.
std::vector<bool> WantedIds(const std::vector<std::string_view>& dict,
                            const std::vector<std::string>& wanted) {
  std::vector<bool> ok(dict.size());
  for (size_t i = 0; i < dict.size(); ++i) {
    ok[i] = std::find(wanted.begin(), wanted.end(), dict[i]) != wanted.end();
  }
  return ok;
}

}  // namespace

BlockReader::BlockReader(Env* env, std::string path, uint64_t number)
    : env_(env), path_(std::move(path)), number_(number) {}

BlockReader::~BlockReader() {
  if (obsolete_.load(std::memory_order_acquire)) {
    file_.reset();
    // Best effort: a file left behind is an orphan the next Open removes.
    (void)env_->RemoveFile(path_);
  }
}

absl::StatusOr<std::shared_ptr<BlockReader>> BlockReader::Open(Env* env, const std::string& path,
                                                               uint64_t number) {
  std::shared_ptr<BlockReader> block(new BlockReader(env, path, number));
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
  if (got.size() != kBlockHeaderSize || got.substr(0, 8) != kBlockMagic) {
    return BlockError(path_, "offset 0: bad magic (not a spanstore block)");
  }
  const uint32_t header_version = DecodeFixed32(got.data() + 8);
  if (header_version > kBlockFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "block %s: format version %d was written by a newer spanstore; this build reads "
        "versions up to %d",
        path_, header_version, kBlockFormatVersion));
  }

  std::string footer(kBlockFooterSize, '\0');
  const uint64_t footer_offset = file_bytes_ - kBlockFooterSize;
  s = file_->Read(footer_offset, kBlockFooterSize, footer.data(), &got);
  if (!s.ok()) return s;
  if (got.size() != kBlockFooterSize || got.substr(kBlockFooterSize - 8) != kBlockMagic) {
    return BlockError(path_, absl::StrFormat("offset %d: bad footer magic (truncated block?)",
                                             footer_offset));
  }
  const char* f = got.data();
  if (XXH3_64bits(f, 40) != DecodeFixed64(f + 40)) {
    return BlockError(path_, absl::StrFormat("offset %d: footer checksum mismatch",
                                             footer_offset));
  }
  const uint64_t meta_offset = DecodeFixed64(f);
  const uint64_t meta_size = DecodeFixed64(f + 8);
  const uint64_t index_offset = DecodeFixed64(f + 16);
  const uint64_t index_size = DecodeFixed64(f + 24);
  const uint32_t version = DecodeFixed32(f + 32);
  const uint32_t columns = DecodeFixed32(f + 36);
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

  std::string buffer(meta_size, '\0');
  s = file_->Read(meta_offset, meta_size, buffer.data(), &got);
  if (!s.ok()) return s;
  if (got.size() != meta_size) return BlockError(path_, "short read of the meta page");
  std::string_view in = got;
  s = DecodePage(&in, PageLocation{path_, UINT64_MAX, meta_offset}, &meta_);
  if (!s.ok()) return s;
  s = ParseMeta(meta_);
  if (!s.ok()) return s;

  buffer.resize(index_size);
  s = file_->Read(index_offset, index_size, buffer.data(), &got);
  if (!s.ok()) return s;
  if (got.size() != index_size) return BlockError(path_, "short read of the trace index");
  auto index = TraceIndex::Parse(got, path_);
  if (!index.ok()) return index.status();
  index_ = std::move(*index);
  // Every row belongs to exactly one trace; a mismatch means the index and rows disagree.
  if (index_.size() == 0 || index_.size() > rows_) {
    return BlockError(path_, "trace index does not match the rows");
  }
  return absl::OkStatus();
}

absl::Status BlockReader::ParseMeta(std::string_view in) {
  const uint64_t footer_offset = file_bytes_ - kBlockFooterSize;
  uint64_t rows, groups;
  if (!GetVarint64(&in, &rows) || !GetVarint64(&in, &groups) || rows == 0 ||
      rows >= UINT32_MAX || groups == 0 || groups > rows) {
    return BlockError(path_, "meta page: bad row or group count");
  }
  // Bound the claims by the file before allocating for them: a group is kNumBlockColumns pages
  // of at least kMinPageBytes, and every row takes 8 bytes of its span_id page.
  constexpr uint64_t kMinPageBytes = 11;
  if (groups > footer_offset / (kNumBlockColumns * kMinPageBytes)) {
    return BlockError(path_, absl::StrFormat("meta page: %d row groups cannot fit in %d bytes",
                                             groups, file_bytes_));
  }
  rows_ = rows;
  groups_.resize(groups);
  uint64_t next_row = 0;
  for (Group& g : groups_) {
    uint64_t n;
    if (!GetVarint64(&in, &n) || n == 0 || n > rows - next_row || n > kMaxRowsPerGroup ||
        !g.zone.Parse(&in) || g.zone.rows() != n) {
      return BlockError(path_, "meta page: bad row group entry");
    }
    g.first_row = next_row;
    g.rows = static_cast<uint32_t>(n);
    next_row += n;
    for (int c = 0; c < kNumBlockColumns; ++c) {
      PageExtent& p = g.pages[c];
      if (!GetVarint64(&in, &p.offset) || !GetVarint64(&in, &p.size) ||
          p.offset < kBlockHeaderSize || p.size > footer_offset || p.offset > footer_offset - p.size) {
        return BlockError(path_, "meta page: page extent out of range");
      }
      column_bytes_[c] += p.size;
    }
    // The span_id page holds 8 bytes per row; a compressed page cannot shrink below ~1/255
    // of its size (LZ4's worst ratio; Zstd's is similar), so a row count far beyond what the
    // page could hold is damage, not data.
    if (n * 8 > g.pages[kColSpanId].size * 256 + 64) {
      return BlockError(path_, absl::StrFormat("meta page: a row group claims %d rows its pages "
                                               "cannot hold",
                                               n));
    }
  }
  if (next_row != rows || !zone_.Parse(&in) || zone_.rows() != rows) {
    return BlockError(path_, "meta page: rows disagree");
  }
  uint64_t services;
  if (!GetVarint64(&in, &services) || services > in.size()) {
    return BlockError(path_, "meta page: bad service count");
  }
  for (uint64_t i = 0; i < services; ++i) {
    std::string_view service, name;
    uint64_t names;
    if (!GetLengthPrefixed(&in, &service) || !GetVarint64(&in, &names) || names > in.size()) {
      return BlockError(path_, "meta page: bad service entry");
    }
    auto& set = operations_[std::string(service)];
    for (uint64_t j = 0; j < names; ++j) {
      if (!GetLengthPrefixed(&in, &name)) return BlockError(path_, "meta page: bad operation");
      set.insert(std::string(name));
    }
  }
  if (!GetDictionary(&in, &service_dict_) || !GetDictionary(&in, &name_dict_) ||
      !GetDictionary(&in, &key_dict_) || !GetDictionary(&in, &context_dict_)) {
    return BlockError(path_, "meta page: malformed dictionaries");
  }
  uint64_t with_strings;
  if (!GetVarint64(&in, &with_strings) || with_strings > key_dict_.size()) {
    return BlockError(path_, "meta page: bad key string count");
  }
  key_strings_.assign(with_strings > 0 ? key_dict_.size() : 0, {});
  for (uint64_t i = 0; i < with_strings; ++i) {
    uint64_t key;
    if (!GetVarint64(&in, &key) || key >= key_dict_.size() || !key_strings_[key].empty() ||
        !GetDictionary(&in, &key_strings_[key]) || key_strings_[key].empty()) {
      return BlockError(path_, "meta page: malformed key strings");
    }
  }
  if (!in.empty()) return BlockError(path_, "meta page: trailing bytes");
  return absl::OkStatus();
}

uint64_t BlockReader::memory_bytes() const {
  return index_.MemoryBytes() + groups_.size() * sizeof(Group);
}

absl::Status BlockReader::ReadPage(size_t group, int column, std::string* raw) const {
  const PageExtent& p = groups_[group].pages[column];
  std::string buffer(p.size, '\0');
  std::string_view got;
  absl::Status s = file_->Read(p.offset, p.size, buffer.data(), &got);
  if (!s.ok()) return s;
  if (got.size() != p.size) {
    return BlockError(path_, absl::StrFormat("offset %d: short read (%d of %d bytes)", p.offset,
                                             got.size(), p.size));
  }
  std::string_view in = got;
  s = DecodePage(&in, PageLocation{path_, group * kNumBlockColumns + column, p.offset}, raw);
  if (!s.ok()) return s;
  if (!in.empty()) return BlockError(path_, absl::StrFormat("offset %d: page size", p.offset));
  return absl::OkStatus();
}

size_t BlockReader::GroupOfRow(uint64_t row) const {
  auto it = std::upper_bound(groups_.begin(), groups_.end(), row,
                             [](uint64_t r, const Group& g) { return r < g.first_row; });
  return static_cast<size_t>(it - groups_.begin()) - 1;
}

absl::Status BlockReader::GetTrace(const TraceId& trace_id, std::vector<Span>* out) const {
  const std::optional<RowRange> range = index_.Lookup(trace_id);
  if (!range.has_value()) return absl::OkStatus();
  const uint64_t first = range->first_row, last = first + range->count;  // [first, last)
  if (last > rows_) return BlockError(path_, "trace index points past the last row");
  for (size_t g = GroupOfRow(first); g < groups_.size() && groups_[g].first_row < last; ++g) {
    GroupData data(*this, g);
    data.LimitRows(static_cast<uint32_t>(std::min(last, data.first_row() + data.rows()) -
                                         data.first_row()));
    absl::Status s = data.LoadAll();
    if (!s.ok()) return s;
    const uint64_t begin = std::max(first, data.first_row());
    const uint64_t end = std::min(last, data.first_row() + data.rows());
    for (uint64_t row = begin; row < end; ++row) {
      Span& span = out->emplace_back();
      s = data.Materialize(static_cast<uint32_t>(row - data.first_row()), &span);
      if (!s.ok()) return s;
      if (span.trace_id != trace_id) {
        return BlockError(path_, absl::StrFormat("trace index row %d holds another trace", row));
      }
    }
  }
  return absl::OkStatus();
}

bool BlockReader::Contains(const Span& span) const {
  const std::optional<RowRange> range = index_.Lookup(span.trace_id);
  if (!range.has_value()) return false;
  const uint64_t first = range->first_row, last = first + range->count;
  if (last > rows_) return false;
  Span candidate;
  for (size_t g = GroupOfRow(first); g < groups_.size() && groups_[g].first_row < last; ++g) {
    GroupData data(*this, g);
    data.LimitRows(static_cast<uint32_t>(std::min(last, data.first_row() + data.rows()) -
                                         data.first_row()));
    if (!data.Load(kColSpanId).ok()) return false;
    const uint64_t begin = std::max(first, data.first_row());
    const uint64_t end = std::min(last, data.first_row() + data.rows());
    for (uint64_t row = begin; row < end; ++row) {
      const uint32_t r = static_cast<uint32_t>(row - data.first_row());
      if (data.span_id(r) != span.span_id) continue;
      if (!data.LoadAll().ok() || !data.Materialize(r, &candidate).ok()) return false;
      if (candidate == span) return true;
    }
  }
  return false;
}

absl::Status BlockReader::CandidateRows(const SpanQuery& query, GroupData* data,
                                        std::vector<uint32_t>* rows) const {
  rows->clear();
  absl::Status s;
  // Cheap skips first: a string equality on a span attribute needs the value in that key's
  // string heap in this group; on any-scope attributes also in one of the block's contexts.
  for (const AttributePredicate& p : query.attributes) {
    if (p.op != CompareOp::kEq || p.value.type() != AnyValue::Type::kString ||
        p.scope == AttributeScope::kResource) {
      continue;
    }
    if (s = data->Load(kColAttrStrings); !s.ok()) return s;
    if (data->HasAttributeString(p.key, p.value.string_value())) continue;
    if (p.scope == AttributeScope::kAny &&
        std::any_of(context_dict_.begin(), context_dict_.end(), [&](std::string_view c) {
          return c.find(p.value.string_value()) != std::string_view::npos;
        })) {
      continue;
    }
    return absl::OkStatus();
  }
  const bool by_time = query.start_min != 0 || query.start_max != UINT64_MAX;
  const bool by_duration = query.min_duration_nanos != 0 || query.max_duration_nanos != UINT64_MAX;
  rows->resize(data->rows());
  for (uint32_t r = 0; r < data->rows(); ++r) (*rows)[r] = r;
  // Predicate columns, narrowing the candidates before the wide columns are read.
  if (by_time) {
    if (s = data->Load(kColStartTime); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) {
      return data->start(r) >= query.start_min && data->start(r) <= query.start_max;
    });
  }
  if (by_duration && !rows->empty()) {
    if (s = data->Load(kColDuration); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) {
      const uint64_t d = data->duration(r);
      return d >= query.min_duration_nanos && d <= query.max_duration_nanos;
    });
  }
  if (!query.services.empty() && !rows->empty()) {
    if (s = data->Load(kColService); !s.ok()) return s;
    const std::vector<bool> ok = WantedIds(service_dict_, query.services);
    Narrow(rows, [&](uint32_t r) { return ok[data->service_id(r)]; });
  }
  if (!query.names.empty() && !rows->empty()) {
    if (s = data->Load(kColName); !s.ok()) return s;
    const std::vector<bool> ok = WantedIds(name_dict_, query.names);
    Narrow(rows, [&](uint32_t r) { return ok[data->name_id(r)]; });
  }
  if ((query.status.has_value() || !query.kinds.empty()) && !rows->empty()) {
    if (s = data->Load(kColKindStatus); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) {
      if (query.status.has_value() && data->status(r) != *query.status) return false;
      return query.kinds.empty() ||
             std::find(query.kinds.begin(), query.kinds.end(), data->kind(r)) !=
                 query.kinds.end();
    });
  }
  return absl::OkStatus();
}

absl::Status BlockReader::Scan(const SpanQuery& query,
                               absl::FunctionRef<bool(const Span&)> visitor) const {
  if (!zone_.MayMatch(query)) return absl::OkStatus();
  std::vector<uint32_t> rows;
  Span span;
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!groups_[g].zone.MayMatch(query)) continue;
    GroupData data(*this, g);
    absl::Status s = CandidateRows(query, &data, &rows);
    if (!s.ok()) return s;
    if (rows.empty()) continue;
    if (s = data.LoadAll(); !s.ok()) return s;
    for (uint32_t r : rows) {
      if (s = data.Materialize(r, &span); !s.ok()) return s;
      if (SpanMatches(query, span) && !visitor(span)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status BlockReader::ScanKeys(
    const SpanQuery& query, absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor) const {
  // Everything else SpanMatches checks is decided by CandidateRows' columns.
  if (!query.attributes.empty() || query.filter.has_value()) {
    return ReadSource::ScanKeys(query, visitor);
  }
  if (!zone_.MayMatch(query)) return absl::OkStatus();
  std::vector<uint32_t> rows;
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!groups_[g].zone.MayMatch(query)) continue;
    GroupData data(*this, g);
    absl::Status s = CandidateRows(query, &data, &rows);
    if (!s.ok()) return s;
    if (rows.empty()) continue;
    if (s = data.Load(kColTraceId); !s.ok()) return s;
    if (s = data.Load(kColStartTime); !s.ok()) return s;
    for (uint32_t r : rows) {
      if (!visitor(data.trace_id(r), data.start(r))) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status BlockReader::ForEachRow(absl::FunctionRef<bool(const Span&)> visitor) const {
  Span span;
  for (size_t g = 0; g < groups_.size(); ++g) {
    GroupData data(*this, g);
    absl::Status s = data.LoadAll();
    if (!s.ok()) return s;
    for (uint32_t r = 0; r < data.rows(); ++r) {
      if (s = data.Materialize(r, &span); !s.ok()) return s;
      if (!visitor(span)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status BlockReader::Verify() const {
  uint64_t row = 0;
  absl::Status misplaced;
  absl::Status s = ForEachRow([&](const Span& span) {
    const std::optional<RowRange> range = index_.Lookup(span.trace_id);
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

void BlockReader::CollectServices(absl::btree_set<std::string>* out) const {
  for (const auto& [service, names] : operations_) out->insert(service);
}

void BlockReader::CollectOperations(const std::string& service,
                                    absl::btree_set<std::string>* out) const {
  auto it = operations_.find(service);
  if (it != operations_.end()) out->insert(it->second.begin(), it->second.end());
}

}  // namespace spanstore
