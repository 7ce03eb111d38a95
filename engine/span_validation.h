// Checks a span against the limits in Options before it is appended, so hostile or broken input
// is refused with a message naming the span and the limit, instead of bloating the store.

#ifndef SPANSTORE_ENGINE_SPAN_VALIDATION_H_
#define SPANSTORE_ENGINE_SPAN_VALIDATION_H_

#include "absl/status/status.h"
#include "spanstore/options.h"
#include "spanstore/span.h"

namespace spanstore {

// InvalidArgument when a span has a zero trace or span id, a string over max_string_bytes, an
// attribute list (or array, or event/link list) over max_attributes entries, or values nested
// more than 32 deep. (max_span_bytes is checked on the encoded size by the store.)
absl::Status ValidateSpan(const Options& options, const Span& span);

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_SPAN_VALIDATION_H_
