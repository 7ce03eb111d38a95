// The span-filter parser as a part of a larger grammar: ParseTraceQuery (query/traceql_parser.cc)
// reads spanset operators and pipelines around `{ ... }` filters with the same lexer, and the
// filters share one budget of terms and regex program size (QueryLimits).
//
// Thread safety: a ParseState is used by one thread.

#ifndef SPANSTORE_QUERY_FILTER_PARSER_H_
#define SPANSTORE_QUERY_FILTER_PARSER_H_

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "query/lexer.h"
#include "spanstore/query.h"
#include "spanstore/traceql.h"

namespace spanstore::query {

struct ParseState {
  explicit ParseState(std::string_view text) : lexer(text) {}
  Lexer lexer;
  Token tok;                   // the current token
  size_t terms = 0;            // comparisons so far, for QueryLimits::max_terms
  int regex_program_size = 0;  // all patterns so far
};

// Parses `{ ... }` starting at st->tok (which must be '{') and leaves the token after '}'
// current.
absl::StatusOr<FilterExpr> ParseSpanFilter(ParseState* st, const QueryLimits& limits);

// The current token as a field (an intrinsic or a scoped attribute); does not advance.
absl::Status ParseFieldHere(ParseState* st, const QueryLimits& limits, TraceQLField* out);

// A SpanQuery for one filter, its top-level conjuncts lifted into the structured fields.
SpanQuery LiftConjuncts(FilterExpr expr);

}  // namespace spanstore::query

#endif  // SPANSTORE_QUERY_FILTER_PARSER_H_
