// RocksDB as Jaeger's embedded (Badger) span storage lays it out -- the layout Jaeger's own
// comments say works as-is on RocksDB (plugin/storage/badger/spanstore/writer.go):
//
//   span row:  0x80 | trace id (16) | start (8, big-endian) | span id (8)  ->  span bytes
//   indexes:   0x81 | service                      | start | trace id     ->  (empty)
//              0x82 | service + operation          | start | trace id
//              0x83 | service + key + value string | start | trace id     (every span, resource
//                                                                            and event attribute)
//              0x84 | duration (8, big-endian)     | start | trace id
//
// Differences from Jaeger, each in the peer's favour or neutral: times are nanoseconds (the
// model's unit) rather than microseconds; the span value is the OTLP protobuf of the span
// (Jaeger stores its own protobuf model, the same kind of encoding) with no TTL field.
//
// FindTraces follows Jaeger's FindTraceIDs plan: a range scan of the duration index collects the
// trace ids in the time window (a hash set), then the service (or service+operation) index is
// scanned newest first inside the window and filtered by that set; each candidate trace is then
// fetched (Jaeger's getTraces) and checked span by span, so the answer has Store's span-level
// semantics. Jaeger answers a full scan only by reading every span row, which Scan does.
//
// An attribute equality (FindTraces with one `key = value` predicate, a TraceQL search such as
// `{ span.http.host = "..." }`) goes through the tag index as Jaeger's reader does for a tag:
// a range scan of service+key+value inside the time window. Its keys start with the service,
// so a search without one (TraceQL's, Tempo's) scans that range for every known service; the
// services come from Jaeger's service cache, which Jaeger's reader fills at startup with a
// key-only scan of the service index (CacheStore prefill) and here fills on first use, outside
// the timed rounds. The candidates are ranked by their earliest indexed start in the window,
// the order Store ranks by, then fetched and checked span by span (RankCandidates).

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/compare/engine.h"
#include "spanstore/otlp_proto.h"

namespace spanstore::compare {
namespace {

constexpr char kSpanPrefix = '\x80';
constexpr char kServiceIndex = '\x81';
constexpr char kOperationIndex = '\x82';
constexpr char kTagIndex = '\x83';
constexpr char kDurationIndex = '\x84';
constexpr size_t kTraceIdSize = 16;

absl::Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("rocksdb ", what, ": ", s.ToString()));
}

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void AppendTraceId(std::string* out, const TraceId& id) {
  out->append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
}

TraceId TraceIdAt(const char* p) {
  TraceId id;
  std::copy(p, p + kTraceIdSize, id.bytes.begin());
  return id;
}

// The smallest key greater than every key starting with `prefix` (empty: none).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

bool StartsWith(const rocksdb::Slice& key, const std::string& prefix) {
  return key.size() >= prefix.size() && memcmp(key.data(), prefix.data(), prefix.size()) == 0;
}

class RocksDbEngine : public Engine {
 public:
  absl::Status Open(const std::string& dir) override {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.IncreaseParallelism(2);  // this machine's cores: flushes and compactions
    options.max_background_jobs = 2;
    options.write_buffer_size = 64 << 20;
    options.max_write_buffer_number = 3;
    options.target_file_size_base = 64 << 20;
    options.max_bytes_for_level_base = 256 << 20;
    options.compression = rocksdb::kLZ4Compression;
    options.bottommost_compression = rocksdb::kZSTD;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(64 << 20);
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DB* db = nullptr;
    if (absl::Status s = FromRocks(rocksdb::DB::Open(options, dir, &db), "open"); !s.ok()) {
      return s;
    }
    db_.reset(db);
    return absl::OkStatus();
  }

  absl::Status Write(absl::Span<const Span> spans) override {
    rocksdb::WriteBatch batch;
    std::string key, value;
    for (const Span& span : spans) {
      const uint64_t start = span.start_time_unix_nano;
      key.assign(1, kSpanPrefix);
      AppendTraceId(&key, span.trace_id);
      PutBigEndian64(&key, start);
      key.append(reinterpret_cast<const char*>(span.span_id.bytes.data()), 8);
      value.clear();
      EncodeOtlpTraces(absl::MakeConstSpan(&span, 1), &value);
      batch.Put(key, value);

      auto index = [&](char prefix, std::string_view v1, std::string_view v2,
                       std::string_view v3) {
        key.assign(1, prefix);
        key.append(v1).append(v2).append(v3);
        PutBigEndian64(&key, start);
        AppendTraceId(&key, span.trace_id);
        batch.Put(key, rocksdb::Slice());
      };
      index(kServiceIndex, span.service_name, "", "");
      index(kOperationIndex, span.service_name, span.name, "");
      std::string duration;
      PutBigEndian64(&duration, span.duration_nanos());
      index(kDurationIndex, duration, "", "");
      for (const KeyValue& kv : span.attributes) {
        index(kTagIndex, span.service_name, kv.key, kv.value.ToString());
      }
      for (const KeyValue& kv : span.resource_attributes) {
        index(kTagIndex, span.service_name, kv.key, kv.value.ToString());
      }
      for (const SpanEvent& event : span.events) {
        for (const KeyValue& kv : event.attributes) {
          index(kTagIndex, span.service_name, kv.key, kv.value.ToString());
        }
      }
    }
    rocksdb::WriteOptions options;
    options.sync = true;
    return FromRocks(db_->Write(options, &batch), "write");
  }

  absl::Status Compact() override {
    rocksdb::CompactRangeOptions options;
    // Rewrite the bottommost level too, so every file ends up in its final (Zstd) form.
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
    return FromRocks(db_->CompactRange(options, nullptr, nullptr), "compact");
  }

  absl::Status Close() override {
    absl::Status s = FromRocks(db_->Close(), "close");
    db_.reset();
    services_.clear();
    services_loaded_ = false;
    return s;
  }

  absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* spans) override {
    spans->clear();
    std::string prefix(1, kSpanPrefix);
    AppendTraceId(&prefix, trace_id);
    const std::string upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      const rocksdb::Slice v = it->value();
      if (absl::Status s = DecodeOtlpTraces(std::string_view(v.data(), v.size()), spans);
          !s.ok()) {
        return s;
      }
    }
    return FromRocks(it->status(), "get trace");
  }

  absl::StatusOr<std::vector<TraceSummary>> FindTraces(const SpanQuery& query,
                                                       size_t limit) override {
    if (!query.attributes.empty()) return FindByTag(query, limit);
    // What Jaeger's TraceQueryParameters can say: one service, at most one operation, a time
    // window and a duration range.
    if (query.services.size() != 1 || query.names.size() > 1 || !query.kinds.empty() ||
        query.status.has_value() || !query.attributes.empty() || query.filter.has_value()) {
      return absl::UnimplementedError("rocksdb peer: query outside Jaeger's search parameters");
    }
    const uint64_t start_min = query.start_min, start_max = query.start_max;
    absl::flat_hash_set<TraceId> by_duration;
    const bool has_duration = query.min_duration_nanos > 0 || query.max_duration_nanos != UINT64_MAX;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    if (has_duration) {
      std::string from(1, kDurationIndex);
      PutBigEndian64(&from, query.min_duration_nanos);
      for (it->Seek(from); it->Valid(); it->Next()) {
        const rocksdb::Slice k = it->key();
        if (k.size() != 1 + 8 + 8 + kTraceIdSize || k[0] != kDurationIndex) break;
        if (GetBigEndian64(k.data() + 1) > query.max_duration_nanos) break;
        const uint64_t start = GetBigEndian64(k.data() + 9);
        if (start < start_min || start > start_max) continue;
        by_duration.insert(TraceIdAt(k.data() + 17));
      }
      if (absl::Status s = FromRocks(it->status(), "duration index"); !s.ok()) return s;
    }

    std::string prefix(1, query.names.empty() ? kServiceIndex : kOperationIndex);
    prefix += query.services[0];
    if (!query.names.empty()) prefix += query.names[0];
    std::string seek = prefix;
    PutBigEndian64(&seek, start_max);
    seek.append(kTraceIdSize, '\xff');
    std::vector<TraceId> candidates;
    absl::flat_hash_set<TraceId> seen;
    for (it->SeekForPrev(seek); it->Valid(); it->Prev()) {
      const rocksdb::Slice k = it->key();
      if (!StartsWith(k, prefix)) break;
      // A longer service name sharing the prefix (Jaeger's keys have no separator).
      if (k.size() != prefix.size() + 8 + kTraceIdSize) continue;
      const uint64_t start = GetBigEndian64(k.data() + prefix.size());
      if (start > start_max) continue;
      if (start < start_min) break;
      const TraceId id = TraceIdAt(k.data() + prefix.size() + 8);
      if (has_duration && !by_duration.contains(id)) continue;
      if (seen.insert(id).second) candidates.push_back(id);
    }
    if (absl::Status s = FromRocks(it->status(), "service index"); !s.ok()) return s;
    it.reset();
    return RankCandidates(this, candidates, query, limit);
  }

  absl::Status Scan(const SpanQuery& query,
                    absl::FunctionRef<void(const Span&)> visit) override {
    const std::string prefix(1, kSpanPrefix);
    const std::string upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice;
    options.fill_cache = false;  // a full scan must not evict the lookups' working set
    options.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    std::vector<Span> spans;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      spans.clear();
      const rocksdb::Slice v = it->value();
      if (absl::Status s = DecodeOtlpTraces(std::string_view(v.data(), v.size()), &spans);
          !s.ok()) {
        return s;
      }
      for (const Span& span : spans) {
        if (SpanMatches(query, span)) visit(span);
      }
    }
    return FromRocks(it->status(), "scan");
  }

 private:
  // One `key = value` tag, at most one service, a time window: Jaeger's tag search.
  absl::StatusOr<std::vector<TraceSummary>> FindByTag(const SpanQuery& query, size_t limit) {
    if (query.attributes.size() != 1 || query.services.size() > 1 || !query.names.empty() ||
        !query.kinds.empty() || query.status.has_value() || query.filter.has_value() ||
        query.min_duration_nanos != 0 || query.max_duration_nanos != UINT64_MAX) {
      return absl::UnimplementedError("rocksdb peer: tag search takes one tag and a service");
    }
    const AttributePredicate& tag = query.attributes[0];
    if (tag.op != CompareOp::kEq || tag.value.type() != AnyValue::Type::kString) {
      return absl::UnimplementedError("rocksdb peer: tag search is string equality");
    }
    std::vector<std::string> services = query.services;
    if (services.empty()) {
      if (absl::Status s = LoadServices(); !s.ok()) return s;
      services = services_;
    }
    // Earliest indexed start of each candidate inside the window, over every service.
    absl::flat_hash_map<TraceId, uint64_t> earliest;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (const std::string& service : services) {
      std::string prefix(1, kTagIndex);
      prefix.append(service).append(tag.key).append(tag.value.string_value());
      std::string seek = prefix;
      PutBigEndian64(&seek, query.start_min);
      for (it->Seek(seek); it->Valid(); it->Next()) {
        const rocksdb::Slice k = it->key();
        if (!StartsWith(k, prefix)) break;
        // A longer value (or key, or service) sharing the prefix: Jaeger's keys have no
        // separators either.
        if (k.size() != prefix.size() + 8 + kTraceIdSize) continue;
        const uint64_t start = GetBigEndian64(k.data() + prefix.size());
        if (start > query.start_max) break;
        const TraceId id = TraceIdAt(k.data() + prefix.size() + 8);
        auto [slot, inserted] = earliest.try_emplace(id, start);
        if (!inserted) slot->second = std::min(slot->second, start);
      }
      if (absl::Status s = FromRocks(it->status(), "tag index"); !s.ok()) return s;
    }
    it.reset();
    std::vector<std::pair<uint64_t, TraceId>> ranked;
    ranked.reserve(earliest.size());
    for (const auto& [id, start] : earliest) ranked.emplace_back(start, id);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<TraceId> candidates;
    candidates.reserve(ranked.size());
    for (const auto& [start, id] : ranked) candidates.push_back(id);
    return RankCandidates(this, candidates, query, limit);
  }

  // Jaeger's service cache: every service name in the service index, read once.
  absl::Status LoadServices() {
    if (services_loaded_) return absl::OkStatus();
    const std::string prefix(1, kServiceIndex);
    const std::string upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    absl::flat_hash_set<std::string> seen;
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key();
      if (k.size() < 1 + 8 + kTraceIdSize) continue;
      std::string service(k.data() + 1, k.size() - 1 - 8 - kTraceIdSize);
      if (seen.insert(service).second) services_.push_back(std::move(service));
    }
    if (absl::Status s = FromRocks(it->status(), "service index"); !s.ok()) return s;
    services_loaded_ = true;
    return absl::OkStatus();
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> services_;
  bool services_loaded_ = false;
};

}  // namespace

std::unique_ptr<Engine> NewRocksDbEngine() { return std::make_unique<RocksDbEngine>(); }

}  // namespace spanstore::compare
