// A deterministic generator of realistic span data, modelled on a microservice checkout: about
// 20 services (frontend, checkout, cart, payment, inventory, shipping, currency, redis, postgres,
// kafka consumers, ...), 5-30 spans per trace, realistic resource and span attributes (http.*,
// db.*, rpc.*, messaging.*, k8s.*, host.*, 10-15 per span), ~1% error traces, an optional rate
// of slow traces, and optionally one planted trace with a large gap between two services (the
// "checkout that calls a staging endpoint" incident).
//
// Used by `spanctl gen`, the benchmarks and the tests. The same options and seed always produce
// the same spans, on every machine.
//
// Thread safety: a generator is used by one thread.

#ifndef SPANSTORE_WORKLOAD_CHECKOUT_GENERATOR_H_
#define SPANSTORE_WORKLOAD_CHECKOUT_GENERATOR_H_

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "spanstore/span.h"

namespace spanstore {

struct GeneratorOptions {
  uint64_t seed = 1;
  uint64_t traces = 1000;
  double error_rate = 0.01;  // fraction of traces with at least one error span
  double slow_rate = 0.01;   // fraction of traces with one pathologically slow span
  // Trace start times are spread uniformly (in order) over [start, start + duration).
  uint64_t start_time_unix_nano = 1'767'225'600'000'000'000ull;  // 2026-01-01T00:00:00Z
  uint64_t duration_nanos = 3'600'000'000'000ull;                 // one hour
  // Plant one trace (in the middle of the run) whose checkout -> payment call goes to
  // http.host "payments.staging.internal" and waits ~5 s before the payment span starts.
  bool plant_gap_trace = false;
};

class CheckoutGenerator {
 public:
  explicit CheckoutGenerator(GeneratorOptions options);

  // Replaces *spans with the next trace's spans (ordered by start time); false when all
  // `options.traces` traces have been produced.
  bool NextTrace(std::vector<Span>* spans);

  uint64_t traces_generated() const;
  // Set once the planted trace has been generated.
  std::optional<TraceId> planted_trace_id() const;

 private:
  struct State;
  GeneratorOptions options_;
  std::mt19937_64 rng_;
  uint64_t next_trace_ = 0;
  std::optional<TraceId> planted_;
};

}  // namespace spanstore

#endif  // SPANSTORE_WORKLOAD_CHECKOUT_GENERATOR_H_
