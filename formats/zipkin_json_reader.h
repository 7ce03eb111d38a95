// One parsed Zipkin v2 JSON document (an array of spans) into spans
// (formats/zipkin_json_reader.cc).

#ifndef SPANSTORE_FORMATS_ZIPKIN_JSON_READER_H_
#define SPANSTORE_FORMATS_ZIPKIN_JSON_READER_H_

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "spanstore/span.h"

namespace spanstore {

// As OtlpJsonToSpans (formats/otlp_json_reader.h), for a Zipkin v2 array of spans.
absl::Status ZipkinJsonToSpans(simdjson::dom::element document, bool skip_invalid,
                               std::vector<Span>* out, uint64_t* skipped_spans,
                               std::string* first_error);

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_ZIPKIN_JSON_READER_H_
