// The storage engines spanstore_compare puts side by side: spanstore itself (through its public
// API only) and the peers a tracing backend would otherwise embed, each used the way such a
// backend uses it. Every engine answers the same questions with the same semantics (those of
// Store and SpanMatches), so the program can check that all of them return the same data.
//
// Thread safety: an Engine is used by one thread.

#ifndef SPANSTORE_BENCHMARKS_COMPARE_ENGINE_H_
#define SPANSTORE_BENCHMARKS_COMPARE_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/options.h"
#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore::compare {

class Engine {
 public:
  virtual ~Engine() = default;

  // Opens the store in `dir`, creating it when absent.
  virtual absl::Status Open(const std::string& dir) = 0;
  // Stores one batch. Every engine makes the batch durable (fdatasync of its log) before
  // returning: the same durability for all, spanstore's default.
  virtual absl::Status Write(absl::Span<const Span> spans) = 0;
  // Brings the store to its final, compact state on disk (compaction, checkpoint).
  virtual absl::Status Compact() = 0;
  virtual absl::Status Close() = 0;

  // Replaces *spans with every span of the trace ordered by start time, then span id; leaves it
  // empty when the trace is absent.
  virtual absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* spans) = 0;
  // Store::FindTraces: traces with a span matching `query`, ranked as Store ranks them.
  virtual absl::StatusOr<std::vector<TraceSummary>> FindTraces(const SpanQuery& query,
                                                               size_t limit) = 0;
  // Calls `visit` with every span matching `query`, in any order.
  virtual absl::Status Scan(const SpanQuery& query,
                            absl::FunctionRef<void(const Span&)> visit) = 0;
};

// Every engine the program knows, built or not; `available` is false for a peer whose library
// was missing when the program was configured.
struct EngineInfo {
  std::string name;         // command-line name, e.g. "rocksdb"
  std::string label;        // table header, e.g. "RocksDB"
  std::string description;  // how it is set up, for the report
  bool available = true;
  bool is_spanstore = false;
};
const std::vector<EngineInfo>& AllEngines();

// nullptr when `name` is unknown or not built.
std::unique_ptr<Engine> NewEngine(const std::string& name);

std::unique_ptr<Engine> NewSpanstoreEngine(Codec codec);
#ifdef SPANSTORE_COMPARE_HAVE_ROCKSDB
std::unique_ptr<Engine> NewRocksDbEngine();
#endif
#ifdef SPANSTORE_COMPARE_HAVE_SQLITE
std::unique_ptr<Engine> NewSqliteEngine();
#endif

// For peers that find candidate traces through their own indexes: fetches each candidate
// (through engine->GetTrace), keeps those with a span matching `query`, and ranks and summarises
// them exactly as Store::FindTraces does (most recent earliest-matching span first, ties by
// trace id; the winners ordered by trace start, newest first). Candidates are tried in the given
// order and the search stops after `limit` matching traces.
absl::StatusOr<std::vector<TraceSummary>> RankCandidates(Engine* engine,
                                                         const std::vector<TraceId>& candidates,
                                                         const SpanQuery& query, size_t limit);

}  // namespace spanstore::compare

#endif  // SPANSTORE_BENCHMARKS_COMPARE_ENGINE_H_
