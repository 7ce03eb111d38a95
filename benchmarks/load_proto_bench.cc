// Decoding OTLP protobuf into Span objects ready for Store::Append: spans/s and MB/s on
// checkout-generator spans, in requests of ~1000 spans as an OTLP/HTTP exporter batches them
// (5000 traces, ~97k spans, ~54 MB of protobuf). Rates are per CPU second of the benchmark thread.
//
//   build/benchmarks/load_proto_bench --benchmark_repetitions=5
//
// BM_OtlpProtoDecoder: one OtlpProtoDecoder for every request, as a backend decodes request
//   after request (the fast path).
// BM_LoadBufferProtoStream: LoadBuffer on the Collector's length-prefixed file of the same
//   requests, batches of 1000 to a sink (what `spanctl load` gets, minus the store).
// BM_DecodeOtlpTraces: the one-shot DecodeOtlpTraces, new Span objects every request.

#include <benchmark/benchmark.h>

#include "spanstore/loader.h"
#include "spanstore/otlp_proto.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

struct Input {
  std::vector<std::string> requests;
  std::string stream;  // the requests, each after a 4-byte big-endian length
  size_t spans = 0;
  size_t bytes = 0;  // of the requests
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
      const uint32_t n = msg.size();
      const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                           static_cast<char>(n >> 8), static_cast<char>(n)};
      in->stream.append(len, 4);
      in->stream += msg;
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

void Report(benchmark::State& state, const Input& in, size_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * in.spans));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["proto_bytes_per_span"] = static_cast<double>(in.bytes) / in.spans;
}

void BM_OtlpProtoDecoder(benchmark::State& state) {
  const Input& in = Requests();
  OtlpProtoDecoder decoder;
  for (auto _ : state) {
    size_t n = 0;
    for (const std::string& r : in.requests) {
      auto spans = decoder.Decode(r);
      if (!spans.ok()) state.SkipWithError("decode failed");
      n += spans->size();
      benchmark::DoNotOptimize(spans->data());
    }
    if (n != in.spans) state.SkipWithError("wrong span count");
  }
  Report(state, in, in.bytes);
}
BENCHMARK(BM_OtlpProtoDecoder)->Unit(benchmark::kMillisecond);

void BM_LoadBufferProtoStream(benchmark::State& state) {
  const Input& in = Requests();
  LoadOptions options;
  options.format = TraceFormat::kOtlpProtoStream;
  for (auto _ : state) {
    size_t n = 0;
    auto stats = LoadBuffer(in.stream, "bench", options, [&](std::vector<Span>& batch) {
      n += batch.size();
      benchmark::DoNotOptimize(batch.data());
      return absl::OkStatus();
    });
    if (!stats.ok() || n != in.spans) state.SkipWithError("load failed");
  }
  Report(state, in, in.stream.size());
}
BENCHMARK(BM_LoadBufferProtoStream)->Unit(benchmark::kMillisecond);

void BM_DecodeOtlpTraces(benchmark::State& state) {
  const Input& in = Requests();
  std::vector<Span> spans;
  for (auto _ : state) {
    for (const std::string& r : in.requests) {
      spans.clear();
      if (!DecodeOtlpTraces(r, &spans).ok()) state.SkipWithError("decode failed");
    }
  }
  Report(state, in, in.bytes);
}
BENCHMARK(BM_DecodeOtlpTraces)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spanstore
