// OTLP protobuf: decoding an ExportTraceServiceRequest (or TracesData, which has the same
// layout) -- the body of an OTLP/HTTP request a backend receives -- straight into spans, and
// encoding spans back. No libprotobuf: the handful of OTLP messages are decoded directly from the
// buffer, bounds-checked, with unknown fields skipped.

#ifndef SPANSTORE_OTLP_PROTO_H_
#define SPANSTORE_OTLP_PROTO_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "spanstore/span.h"

namespace spanstore {

// Appends the spans of one serialized ExportTraceServiceRequest to *out. Errors are
// InvalidArgument "byte offset N: <what>" (truncated message, length past the end, bad wire
// type, invalid id length, nesting too deep); nothing is appended on error.
absl::Status DecodeOtlpTraces(std::string_view message, std::vector<Span>* out);

// Appends an ExportTraceServiceRequest holding `spans` (grouped by resource and scope).
void EncodeOtlpTraces(absl::Span<const Span> spans, std::string* out);

// The OpenTelemetry Collector file exporter's `format: proto`: messages back to back, each
// preceded by its length as a 4-byte big-endian integer. Calls `on_message` with each message's
// bytes and its byte offset; stops at the first error (its own, or the callback's).
absl::Status ForEachLengthPrefixedMessage(
    std::string_view data,
    const std::function<absl::Status(std::string_view message, size_t offset)>& on_message);

}  // namespace spanstore

#endif  // SPANSTORE_OTLP_PROTO_H_
