// The pieces of SpanMatches (spanstore/query.h) that a scan over block columns uses to test a
// predicate before it builds the span.
//
// Thread safety: pure functions.

#ifndef SPANSTORE_QUERY_SPAN_MATCHER_H_
#define SPANSTORE_QUERY_SPAN_MATCHER_H_

#include "spanstore/query.h"
#include "spanstore/span.h"

namespace spanstore {

// Whether `value`, the attribute p.key of a span in p's scope, satisfies p -- exactly what
// SpanMatches decides for that value (typed or Jaeger string comparison, regexes, arrays
// element by element).
bool AttributeValueMatches(const AttributePredicate& p, const AnyValue& value);

// `a op b` for the ordering operators (=, !=, <, <=, >, >=); false for any other op. The one
// numeric comparison of TraceQL's filters, pipelines and metrics thresholds.
bool CompareNumbers(double a, CompareOp op, double b);

}  // namespace spanstore

#endif  // SPANSTORE_QUERY_SPAN_MATCHER_H_
