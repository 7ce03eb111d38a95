// Loading trace files into spans: OTLP JSON (an ExportTraceServiceRequest, newline-delimited
// files of them as the OpenTelemetry Collector's file exporter writes, or several documents
// concatenated), OTLP protobuf (one request, or the Collector's length-prefixed file), Jaeger JSON (the query API's {"data": [...]}) and Zipkin v2 JSON (an array of
// spans) -- gzip or zstd compressed or plain, from a file or stdin. docs/formats.md has the
// mapping of each format onto the OTLP model.
//
// Spans reach the caller through a sink in batches, so a large file never sits in memory as
// Span objects; an error from the sink stops the load. Everything handed to the sink before an
// error stays handed.
//
// Thread safety: the functions are reentrant; a sink is called from the calling thread.

#ifndef SPANSTORE_LOADER_H_
#define SPANSTORE_LOADER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "spanstore/export.h"
#include "spanstore/span.h"

namespace spanstore {

enum class TraceFormat : uint8_t {
  kAuto = 0,        // detect from the content, document by document
  kOtlpJson = 1,    // OTLP/JSON ExportTraceServiceRequest (or Tempo's {"batches": [...]})
  kJaegerJson = 2,  // {"data": [{"traceID", "spans", "processes"}]} or one such trace object
  kZipkinJson = 3,  // [{"traceId", "id", "localEndpoint", ...}]
  kOtlpProto = 4,   // one binary ExportTraceServiceRequest (an OTLP/HTTP request body)
  kOtlpProtoStream = 5,  // the Collector file exporter's proto format: u32 BE length + message
};

SPANSTORE_EXPORT std::string_view TraceFormatName(TraceFormat format);

struct SPANSTORE_EXPORT LoadOptions {
  TraceFormat format = TraceFormat::kAuto;
  // Skip (and count) invalid documents and spans instead of stopping at the first one.
  bool skip_invalid = false;
  // Spans per sink call.
  size_t batch_spans = 1000;
  // Refuse inputs (after decompression) larger than this. Loading streams, so this is not
  // needed to bound memory; it stops an endless input (or a decompression bomb of white space).
  uint64_t max_input_bytes = 8ull << 30;
  // The largest piece parsed at once: a JSON document up to this size, or else -- a document
  // over 4 MiB is split -- one element of its big array (an OTLP resourceSpans entry, a Jaeger
  // trace, a Zipkin span), and a protobuf message. Memory while loading is a small multiple
  // of it (docs/formats.md, "Memory"); a piece over it is an error naming its line and byte.
  uint64_t max_document_bytes = 64ull << 20;
  // Called on every span as it is converted, e.g. [&](const Span& s) { return
  // ValidateSpan(store_options, s); }: a refusal is an error naming the span's position in
  // the input (or with skip_invalid, a skipped span). May be empty.
  std::function<absl::Status(const Span&)> validate;
  // Called after each piece with the bytes (after decompression) consumed so far and the
  // input's size when known up front (a plain file or buffer; else 0). May be empty.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct SPANSTORE_EXPORT LoadStats {
  TraceFormat format = TraceFormat::kAuto;  // what was loaded
  uint64_t bytes = 0;                       // input bytes after decompression
  uint64_t documents = 0;
  uint64_t spans = 0;                       // handed to the sink
  uint64_t skipped_documents = 0;           // skip_invalid only: documents, or elements of
                                            // split ones, that were not valid JSON or OTLP
  uint64_t skipped_spans = 0;
  std::string first_error;                  // the first problem skipped, if any
};

using SpanSink = absl::FunctionRef<absl::Status(std::vector<Span>& spans)>;

// Loads `path` ("-" for standard input), decompressing .gz/.zst content (detected by magic
// bytes), streaming: memory is bounded by max_document_bytes, not by the input's size. Input
// that is not empty but holds no trace format (zeros, text) is InvalidArgument "unknown or
// empty format"; empty or all-white-space input loads nothing. Errors are InvalidArgument naming
// the file, line (and document) and what was expected, e.g. "traces.json: line 3:
// resourceSpans[0].scopeSpans[0].spans[2].traceId: expected 32 hex digits or 24 base64 characters,
// got \"xyz\"".
SPANSTORE_EXPORT absl::StatusOr<LoadStats> LoadFile(const std::string& path,
                                                    const LoadOptions& options, SpanSink sink);

// Loads from memory; `name` is used in messages.
SPANSTORE_EXPORT absl::StatusOr<LoadStats> LoadBuffer(std::string_view data,
                                                      const std::string& name,
                                                      const LoadOptions& options, SpanSink sink);

}  // namespace spanstore

#endif  // SPANSTORE_LOADER_H_
