#include "benchmarks/compare/engine.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace spanstore::compare {

const std::vector<EngineInfo>& AllEngines() {
  static const std::vector<EngineInfo>* engines = new std::vector<EngineInfo>{
      {"spanstore-zstd", "spanstore zstd",
       "spanstore, public API only: Options defaults (kEveryBatch, codec kZstd level 3); "
       "Store::CompactAll for the final state",
       true, true},
      {"spanstore-lz4", "spanstore lz4", "spanstore as above with Options::codec = kLz4", true,
       true},
      {"rocksdb", "RocksDB",
       "RocksDB with the key layout of Jaeger's Badger storage: span rows keyed by trace id + "
       "start + span id holding the OTLP protobuf of the span; index keys (no value) for "
       "service, service+operation, duration and every span/resource/event attribute as "
       "service+key+value, each followed by start + trace id; one WriteBatch per batch with "
       "WriteOptions::sync; LZ4 on upper levels and Zstd on the bottommost (RocksDB's "
       "recommended setup), 64 MB block cache; CompactRange for the final state. Attribute "
       "search: a range scan of the tag index (service+key+value) in the time window for "
       "every service of Jaeger's service cache (filled on first use by a key-only scan of the "
       "service index, outside the timed rounds), candidates ranked by earliest indexed start",
#ifdef SPANSTORE_COMPARE_HAVE_ROCKSDB
       true,
#else
       false,
#endif
       false},
      {"sqlite", "SQLite",
       "table spans (one row per span: ids, service, name, kind, start, end, duration, "
       "status, scope, events/links as an OTLP protobuf blob when present) and table attributes "
       "(span, seq, scope, key, type, value; WITHOUT ROWID, clustered by span); indexes on "
       "trace id, (service, start), (service, name, start), and attributes (key, value) for "
       "attribute search (added with that search: it costs ingest time and disk); WAL mode, "
       "synchronous=FULL, one "
       "transaction per batch; wal_checkpoint(TRUNCATE) for the final state",
#ifdef SPANSTORE_COMPARE_HAVE_SQLITE
       true,
#else
       false,
#endif
       false},
  };
  return *engines;
}

std::unique_ptr<Engine> NewEngine(const std::string& name) {
  if (name == "spanstore-zstd") return NewSpanstoreEngine(Codec::kZstd);
  if (name == "spanstore-lz4") return NewSpanstoreEngine(Codec::kLz4);
#ifdef SPANSTORE_COMPARE_HAVE_ROCKSDB
  if (name == "rocksdb") return NewRocksDbEngine();
#endif
#ifdef SPANSTORE_COMPARE_HAVE_SQLITE
  if (name == "sqlite") return NewSqliteEngine();
#endif
  return nullptr;
}

absl::StatusOr<std::vector<TraceSummary>> RankCandidates(Engine* engine,
                                                         const std::vector<TraceId>& candidates,
                                                         const SpanQuery& query, size_t limit) {
  struct Hit {
    uint64_t first_match_start;
    TraceSummary summary;
  };
  std::vector<Hit> hits;
  absl::flat_hash_set<TraceId> seen;
  std::vector<Span> spans;
  for (const TraceId& id : candidates) {
    if (limit != 0 && hits.size() >= limit) break;
    if (!seen.insert(id).second) continue;
    if (absl::Status s = engine->GetTrace(id, &spans); !s.ok()) return s;
    uint64_t first = UINT64_MAX;
    uint32_t matched = 0;
    for (const Span& sp : spans) {
      if (!SpanMatches(query, sp)) continue;
      ++matched;
      first = std::min(first, sp.start_time_unix_nano);
    }
    if (matched == 0) continue;
    TraceSummary summary = SummarizeTrace(id, spans);
    summary.matched_spans = matched;
    hits.push_back({first, std::move(summary)});
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.first_match_start != b.first_match_start) {
      return a.first_match_start > b.first_match_start;
    }
    return a.summary.trace_id < b.summary.trace_id;
  });
  std::vector<TraceSummary> out;
  for (Hit& h : hits) out.push_back(std::move(h.summary));
  std::stable_sort(out.begin(), out.end(), [](const TraceSummary& a, const TraceSummary& b) {
    return a.start_time_unix_nano > b.start_time_unix_nano;
  });
  return out;
}

}  // namespace spanstore::compare
