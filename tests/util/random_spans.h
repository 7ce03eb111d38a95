// Random spans for property tests: every field populated, with the awkward values that break
// encoders (empty and huge strings, unicode, NaN/inf, negative ints, nested arrays and maps).

#ifndef SPANSTORE_TESTS_UTIL_RANDOM_SPANS_H_
#define SPANSTORE_TESTS_UTIL_RANDOM_SPANS_H_

#include <cstdint>
#include <random>
#include <vector>

#include "spanstore/span.h"

namespace spanstore::test {

struct RandomSpanOptions {
  // Probability that a string is one of the awkward ones (empty, unicode, huge, binary).
  double awkward = 0.2;
  // Upper bound for "huge" strings.
  size_t huge_string_bytes = 70000;
  int max_attributes = 16;
  int max_events = 4;
  int max_links = 3;
  int max_nesting = 3;
};

// Deterministic for a given seed.
class RandomSpans {
 public:
  explicit RandomSpans(uint64_t seed, RandomSpanOptions options = {});

  TraceId NextTraceId();
  SpanId NextSpanId();
  std::string NextString();
  AnyValue NextValue(int depth = 0);
  Attributes NextAttributes(int max);
  // A span with every field populated; trace id is random unless given.
  Span NextSpan();
  Span NextSpanInTrace(const TraceId& trace_id, const SpanId& parent);
  // A trace of `n` spans linked parent -> child.
  std::vector<Span> NextTrace(int n);

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  RandomSpanOptions options_;
};

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_RANDOM_SPANS_H_
