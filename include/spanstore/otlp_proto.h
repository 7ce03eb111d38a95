// OTLP protobuf: decoding an ExportTraceServiceRequest (or TracesData, which has the same
// layout) -- the body of an OTLP/HTTP request a backend receives -- straight into spans, and
// encoding spans back. No libprotobuf: the handful of OTLP messages are decoded directly from the
// buffer, bounds-checked, with unknown fields skipped.
//
// Two ways to decode. DecodeOtlpTraces builds new Span objects: simple, but a span carries ~40
// strings (its attributes plus copies of its resource's and scope's), so building them is mostly
// malloc and free. OtlpProtoDecoder refills the Span objects it handed out last time instead,
// which allocates (almost) nothing once they have grown to the data: several times faster, the
// way to decode request after request (benchmarks/load_proto_bench.cc). LoadBuffer uses it.

#ifndef SPANSTORE_OTLP_PROTO_H_
#define SPANSTORE_OTLP_PROTO_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/span.h"

namespace spanstore {

// Appends the spans of one serialized ExportTraceServiceRequest to *out. Errors are
// InvalidArgument "byte offset N: <what>" (truncated message, length past the end, bad wire
// type, invalid id length, nesting too deep); nothing is appended on error.
SPANSTORE_EXPORT absl::Status DecodeOtlpTraces(std::string_view message, std::vector<Span>* out);

// Decodes ExportTraceServiceRequests into Span objects it keeps and refills: every field of a
// refilled span is overwritten (or reset, when the message lacks it), and strings and vectors
// keep their capacity, so a steady stream of requests decodes without allocating. Results are
// identical to DecodeOtlpTraces'. Memory: the decoder keeps as many spans as the largest request
// (or batch, with DecodeInto) held, until it is destroyed.
//
//   OtlpProtoDecoder decoder;                       // one per request-handling thread
//   auto spans = decoder.Decode(request_body);      // OTLP/HTTP body, application/x-protobuf
//   if (!spans.ok()) return BadRequest(spans.status().message());
//   absl::Status s = store->Append(*spans);
//
// Thread safety: use a decoder from one thread at a time (one per thread).
class SPANSTORE_EXPORT OtlpProtoDecoder {
 public:
  OtlpProtoDecoder();
  ~OtlpProtoDecoder();
  OtlpProtoDecoder(const OtlpProtoDecoder&) = delete;
  OtlpProtoDecoder& operator=(const OtlpProtoDecoder&) = delete;

  // Decodes one serialized ExportTraceServiceRequest (or TracesData). On success returns its
  // spans in message order, ready for Store::Append; they stay valid until the next call or the
  // decoder's destruction. The caller may modify or move from them (the next call refills them
  // anyway; a moved-from span only loses its buffers). Errors are DecodeOtlpTraces' errors, and
  // return no spans.
  absl::StatusOr<absl::Span<Span>> Decode(std::string_view message);

  // The same into a vector the caller owns, e.g. to fill fixed-size batches across requests:
  // decodes into (*spans)[*count], (*spans)[*count + 1], ..., refilling the objects already there
  // and appending when it runs out, then advances *count past the decoded spans. On error *count
  // is unchanged. Objects from *count on are left valid but unspecified (the next call refills
  // them). REQUIRES: *count <= spans->size().
  absl::Status DecodeInto(std::string_view message, std::vector<Span>* spans, size_t* count);

  // By default a span whose trace or span id is absent or all zeros fails the whole message.
  // With `accept` it is decoded, ids zero, for the caller to drop and count: what a receiver
  // needs to answer with OTLP's partial_success. An id of the wrong length still fails.
  void set_accept_zero_ids(bool accept);

 private:
  struct SPANSTORE_NO_EXPORT State;  // the decoder's internals, not part of the API
  std::unique_ptr<State> state_;
  std::vector<Span> spans_;  // what Decode hands out
};

// Appends an ExportTraceServiceRequest holding `spans` (grouped by resource and scope).
SPANSTORE_EXPORT void EncodeOtlpTraces(absl::Span<const Span> spans, std::string* out);

// The OpenTelemetry Collector file exporter's `format: proto`: messages back to back, each
// preceded by its length as a 4-byte big-endian integer. Calls `on_message` with each message's
// bytes and its byte offset; stops at the first error (its own, or the callback's).
SPANSTORE_EXPORT absl::Status ForEachLengthPrefixedMessage(
    std::string_view data,
    const std::function<absl::Status(std::string_view message, size_t offset)>& on_message);

}  // namespace spanstore

#endif  // SPANSTORE_OTLP_PROTO_H_
