// Loading OTLP JSON: spans/s and MB/s of LoadBuffer on checkout-generator traces written as
// newline-delimited ExportTraceServiceRequests of ~1000 spans each, as the Collector's file
// exporter writes its batches (and as load_proto_bench batches the same spans).
//
//   build-release/benchmarks/load_json_bench

#include <benchmark/benchmark.h>

#include "spanstore/formats.h"
#include "spanstore/loader.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

const std::string& Input(size_t* spans) {
  static size_t count = 0;
  static const std::string* json = [] {
    auto* out = new std::string;
    GeneratorOptions o;
    o.traces = 5000;
    CheckoutGenerator gen(o);
    std::vector<Span> trace, batch;
    auto flush = [&] {
      WriteOtlpJson(batch, out);
      out->push_back('\n');
      count += batch.size();
      batch.clear();
    };
    while (gen.NextTrace(&trace)) {
      batch.insert(batch.end(), trace.begin(), trace.end());
      if (batch.size() >= 1000) flush();
    }
    if (!batch.empty()) flush();
    return out;
  }();
  *spans = count;
  return *json;
}

void BM_LoadOtlpJson(benchmark::State& state) {
  size_t spans = 0;
  const std::string& json = Input(&spans);
  for (auto _ : state) {
    size_t n = 0;
    auto stats = LoadBuffer(json, "bench", LoadOptions(), [&](std::vector<Span>& batch) {
      n += batch.size();
      return absl::OkStatus();
    });
    if (!stats.ok() || n != spans) state.SkipWithError("load failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * spans));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.counters["json_bytes_per_span"] = static_cast<double>(json.size()) / spans;
}
BENCHMARK(BM_LoadOtlpJson)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace spanstore
