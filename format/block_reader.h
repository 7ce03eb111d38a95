// BlockReader: an open block file (format/block_format.h): its footer and meta page in memory,
// its trace index and value filters read on first use, its row groups read and decoded on
// demand (format/group_data.h).
//
// Open reads the footer and the meta page -- a few bytes per row group, the block-wide tables,
// and (format 4) the trace count and a Bloom filter of the trace ids -- and keeps them in
// memory. The trace index (~18 bytes per trace on disk, ~35 in memory) is read when a lookup
// that the filter lets through, a scan or a merge first needs it (older formats: at Open) and
// then kept; the row groups' value filters (~2 bytes per span) are read on the first attribute
// search and kept in the store's filter cache, within its byte budget (or, without a cache, for
// the reader's life). Group pages are read
// and decompressed per call. So opening a store costs per block, not per trace, and ReadTrace
// on a block without the trace touches no file at all once the index is in memory.
// Planning and running span queries over the columns is the engine's business
// (engine/block_scan.h), as is the file's lifetime (engine/block_source.h).
//
// Thread safety: immutable after Open; every method may be called concurrently.

#ifndef SPANSTORE_FORMAT_BLOCK_READER_H_
#define SPANSTORE_FORMAT_BLOCK_READER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "format/block_builder.h"
#include "format/block_format.h"
#include "format/block_tables.h"
#include "format/page_cache.h"
#include "format/trace_index_cache.h"
#include "format/zstd_dictionaries.h"
#include "index/block_value_filter.h"
#include "index/trace_index.h"
#include "index/zone_map.h"
#include "spanstore/env.h"
#include "util/port_mutex.h"

namespace spanstore {

class GroupData;
struct SpanFields;

// The row groups' value filters of one block, by group, as BlockReader::ValueFilters hands them
// out: the views stay valid while this object lives (it holds the bytes when they come from a
// cache that may evict them meanwhile).
class GroupValueFilters {
 public:
  GroupValueFilters() = default;
  const std::vector<std::string_view>& get() const {
    return resident_ != nullptr ? *resident_ : views_;
  }

 private:
  friend class BlockReader;
  const std::vector<std::string_view>* resident_ = nullptr;  // the reader's own, if it keeps them
  PageCache::Page section_;                                  // else the cached bytes
  std::vector<std::string_view> views_;                      // and views into them
};

class BlockReader {
 public:
  struct Group {
    uint64_t first_row = 0;
    uint32_t rows = 0;
    // Without its services (zone.services() is empty): those are group_services(g), ids into
    // tables().services, ascending. Copies of the names in every group would cost more than
    // the block's ids can back (a long service name in thousands of groups), and a vector per
    // group was a heap allocation per group at open (~400k at 100M spans).
    ZoneMap zone;
    uint32_t services_begin = 0;  // into the block's list of group service ids
    uint32_t services_count = 0;
    uint64_t offset = 0;  // of the group page in the file
    uint64_t size = 0;
    // Whether the group has a value filter (ValueFilters()): false in a version 2 block.
    bool has_filter = false;
  };

  // Opens `path` and validates its footer, meta page and index. DataLoss naming the file (and
  // offset) for damage; FailedPrecondition for a block written by a newer format version.
  // `cache` (optional, not owned, must outlive the reader) keeps decompressed column pages:
  // trace reads fill it, every read looks there first (format/page_cache.h). `filter_cache`
  // (optional, likewise) keeps the row groups' value filters once a search read them, within
  // its budget; without one the reader keeps them for its life. `index_cache` (optional,
  // likewise) keeps the trace index once read (LoadTraceIndex).
  static absl::StatusOr<std::unique_ptr<BlockReader>> Open(Env* env, const std::string& path,
                                                           uint64_t number,
                                                           PageCache* cache = nullptr,
                                                           PageCache* filter_cache = nullptr,
                                                           TraceIndexCache* index_cache = nullptr);
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  // Appends the spans of the trace held by this block, in row order (start time, span id).
  absl::Status ReadTrace(const TraceId& trace_id, std::vector<Span>* out) const;
  // The same with only `fields` built (format/group_data.h), the span attributes among them
  // limited to those named in `keys`: what a search evaluates a candidate trace on.
  absl::Status ReadTraceFields(const TraceId& trace_id, const SpanFields& fields,
                               const std::vector<std::string_view>& keys,
                               std::vector<Span>* out) const;
  // True if this block holds a span equal to `span` (the same span appended twice). False
  // also when the rows cannot be read: the caller then keeps its copy.
  bool Contains(const Span& span) const;
  // Service name -> the span names of that service, over every row.
  const absl::btree_map<std::string, absl::btree_set<std::string>>& operations() const {
    return operations_;
  }
  // The string values of attribute key `key` (an id of tables().keys) among the operations'
  // templates.
  const std::vector<std::string_view>& template_strings(uint32_t key) const {
    return template_strings_[key];
  }

  // Every row in block order (trace id, start, span id) until the visitor returns false. The
  // visitor also gets the row's context as EncodeSpanContext writes it (a view into the meta
  // page, valid while this reader lives), so a merge need not re-encode it.
  absl::Status ForEachRow(
      absl::FunctionRef<bool(const Span&, std::string_view context)> visitor) const;

  // The row groups' value filters (index/value_filter.h), by group; an empty view for a group
  // without one (Group::has_filter false). A version 4 block reads them on the first call --
  // one read of its filters' section, whose checksum and every filter are checked -- and keeps
  // them in the filter cache (read again once evicted) or, without one, while it lives; so a
  // store never searched by attribute value never holds them. A version 3 block has them in
  // its meta page. DataLoss naming the file and offset for damage; a failed read is returned
  // and tried again by the next call.
  absl::StatusOr<GroupValueFilters> ValueFilters() const;
  // The block value filter (index/block_value_filter.h): a version 5 block reads it (a few
  // kilobytes, with a checksum of its own) on the first call and keeps it; a search asks it
  // before the groups' filters, so a block it rules out never reads those. Covers no key before
  // version 5. Errors as ValueFilters.
  absl::StatusOr<const BlockValueFilter*> LoadBlockValueFilter() const;
  // Where the filters' parts lie in the file (offset, bytes with their checksum; 0 bytes:
  // none), for tools that rewrite checksums (the fuzzer).
  std::pair<uint64_t, uint64_t> group_filters_extent() const {
    return {filter_offset_, filter_section_bytes_};
  }
  std::pair<uint64_t, uint64_t> block_filter_extent() const {
    return {block_filter_offset_, block_filter_bytes_};
  }

  // Reads every page, checks every checksum and decodes every column of every row group.
  absl::Status Verify() const;

  // The trace index (index/trace_index.h). A version 4 block reads it on the first call --
  // a lookup, scan or merge that needs this block -- and keeps it: in the index cache when
  // Open was given one (read again once evicted), else for the reader's life. Open reads only
  // the trace count and a filter of the ids from the meta page, so opening a store does not
  // grow with its traces. Older blocks read it at Open and keep it. `keep` false (a merge or
  // verify reads the block once, end to end) takes a cached index but does not cache one it
  // reads. The index stays valid while the caller holds it, evicted or not. DataLoss naming
  // the file for damage; a failed read is returned and tried again by the next call.
  absl::StatusOr<TraceIndexCache::Ref> LoadTraceIndex(bool keep = true) const;
  // Whether the block may hold the trace with this TraceIndex::Hash: from the index's slot
  // table when the reader keeps its index (exact but for a 32-bit fingerprint collision),
  // else from the meta page's filter (about 1% false positives). False is certain. A store
  // asks every block; PrefetchTrace for all of them first overlaps the cache misses.
  bool MayHoldTrace(uint64_t hash) const;
  void PrefetchTrace(uint64_t hash) const;
  // Whether the block holds trace `id`: exact, but true also when the index cannot be read
  // (the caller's read of the trace then reports why).
  // The filter is asked first, so callers need not: with `hash` (TraceIndex::Hash(id)) when the
  // caller has it.
  bool MayContainTrace(const TraceId& id) const {
    return MayContainTrace(id, TraceIndex::Hash(id));
  }
  bool MayContainTrace(const TraceId& id, uint64_t hash) const;

  Env* env() const { return env_; }
  PageCache* page_cache() const { return cache_; }
  // This reader's keys in the page cache (PageCache::NewReaderId).
  uint64_t cache_id() const { return cache_id_; }
  // False until a page of this reader was cached: a scan of a block no lookup has touched then
  // skips the cache (a mutex per column) altogether.
  bool has_cached_pages() const { return has_cached_.load(std::memory_order_relaxed); }
  void NoteCachedPage() const { has_cached_.store(true, std::memory_order_relaxed); }
  uint64_t number() const { return number_; }
  uint32_t format_version() const { return version_; }
  // The columns' Zstd dictionaries (version 7; empty before), for GroupPage::Parse.
  const ZstdDictionaries* dictionaries() const { return &dictionaries_; }
  const std::string& path() const { return path_; }
  uint64_t rows() const { return rows_; }
  uint64_t traces() const { return trace_count_; }
  uint64_t file_bytes() const { return file_bytes_; }
  const ZoneMap& zone() const { return zone_; }
  const std::vector<Group>& groups() const { return groups_; }
  // The ids (into tables().services, ascending) of the services of group `g`.
  absl::Span<const uint32_t> group_services(const Group& g) const {
    return absl::Span<const uint32_t>(group_service_ids_.data() + g.services_begin,
                                      g.services_count);
  }
  // Bytes of each column (BlockColumnName) over all groups, then of the meta page and the
  // trace index.
  const std::array<uint64_t, kNumBlockParts>& column_bytes() const { return column_bytes_; }
  const BlockTables& tables() const { return tables_; }
  // Bytes of index structures and tables held in memory (the trace index only while the reader
  // keeps it itself: the index cache counts the ones it holds).
  uint64_t memory_bytes() const;

  // For GroupData: reads the bytes of one group page into *out.
  absl::Status ReadGroup(size_t group, std::string* out) const;
  // Sets the context fields of *span (resource, scope) to those of context `id`, which must be
  // an id of tables().contexts.
  void DecodeContext(uint32_t id, Span* span) const;
  // The row group that holds `row`. REQUIRES: row < rows().
  size_t GroupOfRow(uint64_t row) const;

 private:
  BlockReader(Env* env, std::string path, uint64_t number, PageCache* cache,
              PageCache* filter_cache, TraceIndexCache* index_cache);
  // Reads the filters' section into *section and checks each filter in it.
  absl::Status ReadValueFilters(std::string* section) const;
  // Replaces *views with one view per group into `section`.
  void SplitValueFilters(std::string_view section, std::vector<std::string_view>* views) const;
  // ValueFilters without a filter cache: reads them once into filters_ (filters_loaded_).
  absl::Status LoadResidentValueFilters() const;
  absl::Status Load();
  // The decoded meta page of a block whose meta page starts at `meta_offset`.
  absl::Status ParseMeta(std::string_view meta, uint64_t meta_offset);
  // Reads [offset, offset + size) of the file into *out; DataLoss naming `what` if the file
  // ends first.
  absl::Status ReadExactly(uint64_t offset, uint64_t size, std::string_view what,
                           std::string* out) const;
  // ReadExactly of an extent that ends with the xxh3 of its other bytes, checked and removed.
  // REQUIRES: size >= 8.
  absl::Status ReadChecksummed(uint64_t offset, uint64_t size, std::string_view what,
                               std::string* out) const;
  // Reads, parses and checks the trace index (LoadTraceIndex keeps it).
  absl::StatusOr<TraceIndex> ReadTraceIndex() const;
  // Calls fn(data, begin, end) for each row group holding rows of [first, last), the group's
  // rows limited to those ([begin, end), numbered within the group), until fn returns false.
  // REQUIRES: last <= rows().
  // `index` is the block's trace index, handed to each group.
  void ForEachGroupOfRows(uint64_t first, uint64_t last, const TraceIndexCache::Ref& index,
                          absl::FunctionRef<bool(GroupData&, uint32_t, uint32_t)> fn) const;

  Env* const env_;
  const std::string path_;
  const uint64_t number_;
  PageCache* const cache_;
  PageCache* const filter_cache_;
  TraceIndexCache* const index_cache_;
  const uint64_t cache_id_;  // this reader's keys in the caches
  mutable std::atomic<bool> has_cached_{false};
  uint32_t version_ = 0;  // the file's format version
  ZstdDictionaries dictionaries_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_bytes_ = 0;
  uint64_t rows_ = 0;
  std::vector<Group> groups_;
  std::vector<uint64_t> group_first_rows_;
  std::vector<uint32_t> group_service_ids_;  // every group's, one after another  //
                                             // groups_[g].first_row, compact for searching
  ZoneMap zone_;
  std::string meta_;  // the decoded meta page; the tables point into it
  BlockTables tables_;
  // Per key id: the string values among the operations' templates.
  std::vector<std::vector<std::string_view>> template_strings_;
  absl::btree_map<std::string, absl::btree_set<std::string>> operations_;
  std::array<uint64_t, kNumBlockParts> column_bytes_{};
  // Where a version 4 block keeps the trace index until LoadTraceIndex reads it, and the
  // index once read when the reader keeps it itself (no index cache, or a block older than
  // version 4; index_loaded_ is set with release once index_ is complete). trace_filter_ is a
  // view into meta_ (version 4; empty before).
  uint64_t trace_count_ = 0;
  std::string_view trace_filter_;
  uint64_t index_offset_ = 0;
  uint64_t index_size_ = 0;
  mutable port::Mutex index_mu_;
  mutable std::atomic<bool> index_loaded_{false};
  mutable TraceIndex index_;
  // The value filters: where a version 4 block keeps them, and once read (filters_loaded_, set
  // with release after filters_ is complete) the section and a view per group into it (for a
  // version 3 block, into meta_).
  uint64_t filter_offset_ = 0;
  uint64_t filter_section_bytes_ = 0;  // with the checksum
  std::vector<uint32_t> filter_sizes_;
  // Version 5: the block value filter, after the groups' filters and their checksum, with a
  // checksum of its own (so it is read without them); once read (block_filter_loaded_) its
  // bytes and the parsed filter.
  uint64_t block_filter_offset_ = 0;
  uint64_t block_filter_bytes_ = 0;  // with the checksum; 0: none
  mutable std::atomic<bool> block_filter_loaded_{false};
  mutable std::string block_filter_data_;
  mutable port::Mutex filters_mu_;
  mutable std::atomic<bool> filters_loaded_{false};
  mutable std::string filter_section_;
  mutable std::vector<std::string_view> filters_;
  mutable BlockValueFilter block_filter_;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_BLOCK_READER_H_
