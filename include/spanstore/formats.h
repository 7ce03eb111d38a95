// Trace file formats: writing spans as OTLP JSON. Reading trace files (OTLP JSON and protobuf,
// Jaeger JSON, Zipkin v2 JSON) is spanstore/loader.h's; OTLP protobuf messages are
// spanstore/otlp_proto.h's.

#ifndef SPANSTORE_FORMATS_H_
#define SPANSTORE_FORMATS_H_

#include <string>

#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/span.h"

namespace spanstore {

// Appends an OTLP/JSON `ExportTraceServiceRequest` (the protobuf JSON mapping, as the
// OpenTelemetry Collector writes it) holding `spans`, grouped by resource and scope in order of
// first appearance. Ids are lower-case hex; 64-bit integers are strings; NaN and infinities are
// "NaN", "Infinity", "-Infinity"; bytes are base64; invalid UTF-8 in strings becomes U+FFFD.
SPANSTORE_EXPORT void WriteOtlpJson(absl::Span<const Span> spans, std::string* out);

// Appends `s` as a quoted JSON string (escapes, U+FFFD for bytes that are not UTF-8).
SPANSTORE_EXPORT void AppendJsonString(std::string_view s, std::string* out);

// Appends one attribute value in the OTLP/JSON mapping, as WriteOtlpJson spells it
// ({"stringValue":"x"}, {"intValue":"5"}, {"arrayValue":{"values":[...]}}, ...).
SPANSTORE_EXPORT void AppendOtlpJsonValue(const AnyValue& value, std::string* out);

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_H_
