// One parsed Jaeger JSON document into spans (formats/jaeger_json_reader.cc).

#ifndef SPANSTORE_FORMATS_JAEGER_JSON_READER_H_
#define SPANSTORE_FORMATS_JAEGER_JSON_READER_H_

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "formats/json_path.h"
#include "spanstore/span.h"

namespace spanstore {

// As OtlpJsonToSpans (formats/otlp_json_reader.h), for {"data": [trace...]} or a bare trace.
absl::Status JaegerJsonToSpans(simdjson::dom::element document, const JsonReadOptions& options,
                               std::vector<Span>* out, uint64_t* skipped_spans,
                               std::string* first_error);

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_JAEGER_JSON_READER_H_
