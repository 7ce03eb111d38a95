// Random traces and random queries over one small vocabulary -- 8 services, a few span names
// each, attribute keys whose values are usually of one type and sometimes of another -- so that a
// random query selects some spans, not none or all. Spans still carry every field and every
// AnyValue type (and the awkward values of RandomSpans) so storage round trips are exercised.
//
// Thread safety: none; one generator per thread. Deterministic for a given seed.

#ifndef SPANSTORE_TESTS_UTIL_MODEL_WORKLOAD_H_
#define SPANSTORE_TESTS_UTIL_MODEL_WORKLOAD_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/query.h"
#include "spanstore/span.h"
#include "tests/util/random_spans.h"

namespace spanstore::test {

// Start times of generated spans fall in [kModelEpoch, kModelEpoch + kModelWindow) (traces
// may run a few seconds past the end), except for the rare span with an extreme time.
inline constexpr uint64_t kModelEpoch = 1'700'000'000'000'000'000ull;
inline constexpr uint64_t kModelWindow = 3'600'000'000'000ull;  // one hour

const std::vector<std::string>& ModelServices();

struct ModelQuery {
  SpanQuery query;
  std::string description;  // for failure messages: the TraceQL text and the structured fields
};

class ModelWorkload {
 public:
  explicit ModelWorkload(uint64_t seed);

  std::mt19937_64& rng() { return rng_; }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) { return rng_() % n; }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  // Whether a rare span starts near the Unix epoch (on by default). Off for tests with a
  // retention period, where such a span would be expired data.
  void set_extreme_times(bool on) { extreme_times_ = on; }

  TraceId NextTraceId() { return random_.NextTraceId(); }
  // A trace of `n` spans starting at `start`: one root (none when `rootless`, as when the root
  // has not arrived yet), children pointing at earlier spans, 1-3 services.
  std::vector<Span> NextTrace(int n, uint64_t start, bool rootless);

  // A random query. `sample` (spans the store holds) supplies boundary values: start times and
  // durations that some span has exactly, trace and span ids. Half the queries are TraceQL text
  // through ParseQuery (an error there is returned: the generator only writes valid text).
  absl::StatusOr<ModelQuery> NextQuery(absl::Span<const Span> sample);
  // A random TraceQL span filter, e.g. `{ span.http.status_code >= 500 && kind = server }`.
  std::string NextTraceQL(absl::Span<const Span> sample);

 private:
  Span NextSpan(const TraceId& trace_id, const SpanId& parent, const std::string& service,
                uint64_t start);
  uint64_t NextDuration();
  Attributes SpanAttributes();
  Attributes ResourceAttributes(const std::string& service);
  AnyValue ValueFor(const std::string& key);
  AnyValue LiteralFor(const std::string& key);
  // An attribute to ask about: usually one a sampled span has (key, scope and value), else any
  // key of the vocabulary with a literal of its usual type or another.
  struct AttributeChoice {
    AttributeScope scope = AttributeScope::kAny;
    std::string key;
    AnyValue value;
  };
  AttributeChoice ChooseAttribute(absl::Span<const Span> sample);
  // An operator that makes sense for the value's type, now and then one that does not.
  CompareOp OpFor(const AnyValue& value);
  std::string PatternFor(const std::string& value);
  AttributePredicate NextPredicate(absl::Span<const Span> sample);
  // A value of `field` (start time or duration) that some span of `sample` has: a random
  // span's, or the least or greatest of all spans or of one trace -- the edges of zone maps.
  uint64_t EdgeValue(absl::Span<const Span> sample, uint64_t (*field)(const Span&));
  std::string Expr(absl::Span<const Span> sample, int depth);
  std::string Leaf(absl::Span<const Span> sample);
  // The value as a TraceQL literal; nullopt when TraceQL cannot write it.
  std::optional<std::string> TraceQLLiteral(const AnyValue& value);
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(v.size())];
  }

  std::mt19937_64 rng_;
  RandomSpans random_;  // ids and awkward values
  bool extreme_times_ = true;
  // What most spans of the trace being generated have.
  SpanKind trace_kind_ = SpanKind::kServer;
  StatusCode trace_status_ = StatusCode::kUnset;
  double trace_error_rate_ = 0.02;
};

// A readable rendering of a query's structured fields (the filter is named, not rendered).
std::string DescribeQuery(const SpanQuery& query);

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_MODEL_WORKLOAD_H_
