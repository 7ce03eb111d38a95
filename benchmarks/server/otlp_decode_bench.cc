// Which OTLP protobuf decoder spanstored should use for ingest: the library's hand-written one
// (OtlpProtoDecoder, what the daemon uses for OTLP/HTTP and, through a raw gRPC method, for
// OTLP/gRPC) against libprotobuf's generated parser, on checkout-generator spans in requests of
// 512 spans (the OpenTelemetry Collector's default batch). Rates are spans per CPU second.
//
//   build/benchmarks/server/otlp_decode_bench --benchmark_repetitions=3   (see the README)
//
// BM_HandWritten:          OtlpProtoDecoder::Decode into reused Span objects.
// BM_HandWrittenValidated: OtlpExportDecoder::Decode, which also checks every span against the
//                          store's limits: exactly the daemon's ingest decode.
// BM_LibprotobufParse:     ExportTraceServiceRequest::ParseFromString on an arena: parsing
//                          only, no Span objects (a lower bound for the generated path).
// BM_LibprotobufToSpans:   the parse plus the conversion to Span objects a Store::Append
//                          needs, refilling Span objects like the hand-written decoder.

#include <benchmark/benchmark.h>
#include <google/protobuf/arena.h>

#include <cstring>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "spanstore/otlp_http.h"
#include "spanstore/otlp_proto.h"
#include "workload/checkout_generator.h"

namespace spanstore {
namespace {

namespace otlp = opentelemetry::proto;

struct Input {
  std::vector<std::string> requests;
  size_t spans = 0;
  size_t bytes = 0;
};

const Input& Requests() {
  static const Input* input = [] {
    auto* in = new Input;
    GeneratorOptions o;
    o.traces = 3000;
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
      for (Span& s : trace) {
        batch.push_back(std::move(s));
        if (batch.size() == 512) flush();
      }
    }
    if (!batch.empty()) flush();
    return in;
  }();
  return *input;
}

void Report(benchmark::State& state, const Input& in) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * in.spans));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.bytes));
}

void ToValue(const otlp::common::v1::AnyValue& in, AnyValue* out) {
  switch (in.value_case()) {
    case otlp::common::v1::AnyValue::kStringValue:
      out->set_string(in.string_value());
      break;
    case otlp::common::v1::AnyValue::kBoolValue:
      out->set_bool(in.bool_value());
      break;
    case otlp::common::v1::AnyValue::kIntValue:
      out->set_int(in.int_value());
      break;
    case otlp::common::v1::AnyValue::kDoubleValue:
      out->set_double(in.double_value());
      break;
    case otlp::common::v1::AnyValue::kBytesValue:
      out->set_bytes(in.bytes_value());
      break;
    case otlp::common::v1::AnyValue::kArrayValue: {
      AnyValue::Array& a = out->reuse_array();
      a.resize(in.array_value().values_size());
      for (int i = 0; i < in.array_value().values_size(); ++i) {
        ToValue(in.array_value().values(i), &a[i]);
      }
      break;
    }
    case otlp::common::v1::AnyValue::kKvlistValue: {
      AnyValue::Map& m = out->reuse_map();
      m.resize(in.kvlist_value().values_size());
      for (int i = 0; i < in.kvlist_value().values_size(); ++i) {
        m[i].key = in.kvlist_value().values(i).key();
        ToValue(in.kvlist_value().values(i).value(), &m[i].value);
      }
      break;
    }
    default:
      out->set_empty();
  }
}

template <typename Repeated>
void ToAttributes(const Repeated& in, Attributes* out) {
  out->resize(in.size());
  for (int i = 0; i < in.size(); ++i) {
    (*out)[i].key = in.Get(i).key();
    ToValue(in.Get(i).value(), &(*out)[i].value);
  }
}

template <size_t N>
void ToId(const std::string& in, std::array<uint8_t, N>* out) {
  out->fill(0);
  if (in.size() == N) std::memcpy(out->data(), in.data(), N);
}

// Every field, into reused Span objects: the work the hand-written decoder does in one pass.
size_t ToSpans(const otlp::collector::trace::v1::ExportTraceServiceRequest& request,
               std::vector<Span>* spans) {
  size_t n = 0;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) {
        if (n == spans->size()) spans->emplace_back();
        Span& out = (*spans)[n++];
        ToAttributes(rs.resource().attributes(), &out.resource_attributes);
        out.service_name.clear();
        for (const auto& kv : rs.resource().attributes()) {
          if (kv.key() == "service.name") out.service_name = kv.value().string_value();
        }
        out.resource_schema_url = rs.schema_url();
        out.scope_name = ss.scope().name();
        out.scope_version = ss.scope().version();
        ToAttributes(ss.scope().attributes(), &out.scope_attributes);
        out.scope_schema_url = ss.schema_url();
        ToId(s.trace_id(), &out.trace_id.bytes);
        ToId(s.span_id(), &out.span_id.bytes);
        ToId(s.parent_span_id(), &out.parent_span_id.bytes);
        out.trace_state = s.trace_state();
        out.flags = s.flags();
        out.name = s.name();
        out.kind = static_cast<SpanKind>(s.kind());
        out.start_time_unix_nano = s.start_time_unix_nano();
        out.end_time_unix_nano = s.end_time_unix_nano();
        ToAttributes(s.attributes(), &out.attributes);
        out.dropped_attributes_count = s.dropped_attributes_count();
        out.events.resize(s.events_size());
        for (int i = 0; i < s.events_size(); ++i) {
          out.events[i].time_unix_nano = s.events(i).time_unix_nano();
          out.events[i].name = s.events(i).name();
          ToAttributes(s.events(i).attributes(), &out.events[i].attributes);
        }
        out.links.resize(s.links_size());
        for (int i = 0; i < s.links_size(); ++i) {
          ToId(s.links(i).trace_id(), &out.links[i].trace_id.bytes);
          ToId(s.links(i).span_id(), &out.links[i].span_id.bytes);
          out.links[i].trace_state = s.links(i).trace_state();
          ToAttributes(s.links(i).attributes(), &out.links[i].attributes);
        }
        out.status_code = static_cast<StatusCode>(s.status().code());
        out.status_message = s.status().message();
      }
    }
  }
  return n;
}

void BM_HandWritten(benchmark::State& state) {
  const Input& in = Requests();
  OtlpProtoDecoder decoder;
  for (auto _ : state) {
    for (const std::string& r : in.requests) {
      auto spans = decoder.Decode(r);
      if (!spans.ok()) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(spans->data());
    }
  }
  Report(state, in);
}
BENCHMARK(BM_HandWritten)->Unit(benchmark::kMillisecond);

void BM_HandWrittenValidated(benchmark::State& state) {
  const Input& in = Requests();
  OtlpExportDecoder decoder{Options()};
  for (auto _ : state) {
    for (const std::string& r : in.requests) {
      OtlpExportResult result;
      auto spans = decoder.Decode(OtlpEncoding::kProtobuf, r, &result);
      if (!spans.ok() || result.rejected_spans != 0) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(spans->data());
    }
  }
  Report(state, in);
}
BENCHMARK(BM_HandWrittenValidated)->Unit(benchmark::kMillisecond);

void BM_LibprotobufParse(benchmark::State& state) {
  const Input& in = Requests();
  for (auto _ : state) {
    for (const std::string& r : in.requests) {
      google::protobuf::Arena arena;
      auto* request = google::protobuf::Arena::CreateMessage<
          otlp::collector::trace::v1::ExportTraceServiceRequest>(&arena);
      if (!request->ParseFromString(r)) state.SkipWithError("parse failed");
      benchmark::DoNotOptimize(request);
    }
  }
  Report(state, in);
}
BENCHMARK(BM_LibprotobufParse)->Unit(benchmark::kMillisecond);

void BM_LibprotobufToSpans(benchmark::State& state) {
  const Input& in = Requests();
  std::vector<Span> spans;
  for (auto _ : state) {
    for (const std::string& r : in.requests) {
      google::protobuf::Arena arena;
      auto* request = google::protobuf::Arena::CreateMessage<
          otlp::collector::trace::v1::ExportTraceServiceRequest>(&arena);
      if (!request->ParseFromString(r)) state.SkipWithError("parse failed");
      benchmark::DoNotOptimize(ToSpans(*request, &spans));
    }
  }
  Report(state, in);
}
BENCHMARK(BM_LibprotobufToSpans)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spanstore
