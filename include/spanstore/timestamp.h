// Parsing the points in time a person or a client gives a query: RFC 3339, or unix time with
// its unit. Span times are unsigned unix nanoseconds, so the accepted range is 1970-01-01 to
// 2554-07-21 (UINT64_MAX ns); anything outside it, or ambiguous, is an error, never wrapped or
// guessed.
//
// Thread safety: pure functions.

#ifndef SPANSTORE_TIMESTAMP_H_
#define SPANSTORE_TIMESTAMP_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "spanstore/export.h"

namespace spanstore {

// The unit a bare number is read in (a number with a unit suffix ignores it).
enum class TimeUnit : uint8_t { kSeconds, kMilliseconds, kMicroseconds, kNanoseconds };

// Parses `text` into unix nanoseconds:
//   2026-01-01T00:00:00Z, 2026-01-01T01:00:00.5+01:00   RFC 3339 (any offset, any fraction)
//   1767225600s  1767225600000ms  1767225600000000us  1767225600000000000ns
//                                                       unix time with an explicit unit
//   1767225600, 1767225600.25                           a bare number, in `bare_unit`
// A bare number must also look like a time in its unit: in seconds at most 1e11 (year 5138),
// so that a millisecond or nanosecond value given by mistake is an error ("add a unit")
// rather than a date tens of thousands of years away. Negative values, times before 1970 and
// times past 2554 (which overflow unix nanoseconds) are InvalidArgument, naming the value and
// what is accepted.
SPANSTORE_EXPORT absl::StatusOr<uint64_t> ParseTimestamp(std::string_view text,
                                                         TimeUnit bare_unit = TimeUnit::kSeconds);

}  // namespace spanstore

#endif  // SPANSTORE_TIMESTAMP_H_
