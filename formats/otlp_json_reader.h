// One parsed OTLP/JSON document into spans (formats/otlp_json_reader.cc).

#ifndef SPANSTORE_FORMATS_OTLP_JSON_READER_H_
#define SPANSTORE_FORMATS_OTLP_JSON_READER_H_

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "formats/json_path.h"
#include "spanstore/span.h"

namespace spanstore {

// Appends the spans of `document` to *out. InvalidArgument names the JSON path of the first
// problem. With skip_invalid, an invalid span is skipped (counted in *skipped_spans, the first
// message kept in *first_error) instead; problems above the span level still fail.
absl::Status OtlpJsonToSpans(simdjson::dom::element document, const JsonReadOptions& options,
                             std::vector<Span>* out, uint64_t* skipped_spans,
                             std::string* first_error);
absl::Status OtlpJsonToSpans(simdjson::dom::element document, bool skip_invalid,
                             std::vector<Span>* out, uint64_t* skipped_spans,
                             std::string* first_error);

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_OTLP_JSON_READER_H_
