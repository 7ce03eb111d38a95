// Decoding OTLP protobuf: spans/s and MB/s of DecodeOtlpTraces on checkout-generator spans, in
// requests of ~1000 spans as an OTLP/HTTP exporter batches them.
//
//   build-release/benchmarks/load_proto_bench

#include <benchmark/benchmark.h>

#include "spanstore/otlp_proto.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

struct Input {
  std::vector<std::string> requests;
  size_t spans = 0;
  size_t bytes = 0;
};

const Input& Requests() {
  static const Input* input = [] {
    auto* in = new Input;
    GeneratorOptions o;
    o.traces = 5000;
    CheckoutGenerator gen(o);
    std::vector<Span> trace, batch;
    auto flush = [&] {
      std::string msg;
      EncodeOtlpTraces(batch, &msg);
      in->spans += batch.size();
      in->bytes += msg.size();
      in->requests.push_back(std::move(msg));
      batch.clear();
    };
    while (gen.NextTrace(&trace)) {
      batch.insert(batch.end(), trace.begin(), trace.end());
      if (batch.size() >= 1000) flush();
    }
    if (!batch.empty()) flush();
    return in;
  }();
  return *input;
}

void BM_DecodeOtlpProto(benchmark::State& state) {
  const Input& in = Requests();
  std::vector<Span> spans;
  for (auto _ : state) {
    for (const std::string& r : in.requests) {
      spans.clear();
      if (!DecodeOtlpTraces(r, &spans).ok()) state.SkipWithError("decode failed");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * in.spans));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.bytes));
  state.counters["proto_bytes_per_span"] = static_cast<double>(in.bytes) / in.spans;
}
BENCHMARK(BM_DecodeOtlpProto)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace spanstore
