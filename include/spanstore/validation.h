// Checking a span against a store's limits before appending it.
//
// Store::Append refuses a whole batch when one span in it is invalid. A receiver that must keep
// the valid spans of a request (OTLP's partial_success) checks each span first with
// ValidateSpan and drops the ones it refuses.
//
// Thread safety: a pure function.

#ifndef SPANSTORE_VALIDATION_H_
#define SPANSTORE_VALIDATION_H_

#include "absl/status/status.h"
#include "spanstore/export.h"
#include "spanstore/options.h"
#include "spanstore/span.h"

namespace spanstore {

// InvalidArgument, naming the span and the limit, when Store::Append would refuse `span` under
// `options`: a zero trace or span id, a string over max_string_bytes, an attribute list (array,
// event or link list) over max_attributes entries, or values nested more than 32 deep.
// Store::Append also refuses a span whose encoding exceeds max_span_bytes; that is measured on
// the encoding and not checked here.
SPANSTORE_EXPORT absl::Status ValidateSpan(const Options& options, const Span& span);

}  // namespace spanstore

#endif  // SPANSTORE_VALIDATION_H_
