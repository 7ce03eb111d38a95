// One parsed Zipkin v2 JSON document (an array of spans) into spans
// (formats/zipkin_json_reader.cc).

#ifndef SPANSTORE_FORMATS_ZIPKIN_JSON_READER_H_
#define SPANSTORE_FORMATS_ZIPKIN_JSON_READER_H_

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "formats/json_path.h"
#include "spanstore/span.h"

namespace spanstore {

// As OtlpJsonToSpans (formats/otlp_json_reader.h), for a Zipkin v2 array of spans.
// Also takes the API's list of traces, [[span, ...], ...]. Spans are converted one by one;
// FixZipkinTraces then puts their traces together.
absl::Status ZipkinJsonToSpans(simdjson::dom::element document, const JsonReadOptions& options,
                               std::vector<Span>* out, uint64_t* skipped_spans,
                               std::string* first_error);

// Puts together the traces of `spans` (converted by ZipkinJsonToSpans with info[i] for
// spans[i]), which needs the trace's other spans:
//   - a shared server half whose client half (same id, not shared) is among the spans gets an
//     id of its own, derived from (trace id, span id, service) and unused in the trace, and
//     the client half as parent; spans of the same service whose parentId is the shared id
//     become its children. Without the client half the server span keeps its id (it is then
//     often the trace's root, e.g. the first service behind a proxy that does not trace).
//   - a span without timestamp (and no annotations) starts when its parent does, else at its
//     trace's earliest start, and keeps its duration; the attribute zipkin.timestamp_from says
//     which. The indices of the ones with neither are appended to *untimed.
void FixZipkinTraces(std::vector<Span>* spans, std::vector<ZipkinSpanInfo>* info,
                     std::vector<size_t>* untimed);

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_ZIPKIN_JSON_READER_H_
