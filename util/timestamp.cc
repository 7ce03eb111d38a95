// ParseTimestamp (include/spanstore/timestamp.h).

#include "spanstore/timestamp.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

constexpr char kAccepted[] =
    "use RFC 3339 (2026-01-01T00:00:00Z) or unix time with a unit (1767225600s, "
    "1767225600000ms, ...us, ...ns)";

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("'%s' is not a time: %s; %s", AsAbsl(text), AsAbsl(why), kAccepted));
}

uint64_t NanosPer(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSeconds:
      return 1'000'000'000;
    case TimeUnit::kMilliseconds:
      return 1'000'000;
    case TimeUnit::kMicroseconds:
      return 1'000;
    case TimeUnit::kNanoseconds:
      return 1;
  }
  return 1;
}

}  // namespace

absl::StatusOr<uint64_t> ParseTimestamp(std::string_view text, TimeUnit bare_unit) {
  const std::string trimmed(absl::StripAsciiWhitespace(AsAbsl(text)));
  if (trimmed.empty()) return Bad(text, "it is empty");
  if (trimmed.find('T') != std::string::npos || trimmed.find('-', 1) != std::string::npos) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, trimmed, &t, &err)) {
      return Bad(text, absl::StrFormat("not RFC 3339 (%s)", err));
    }
    if (t < absl::UnixEpoch()) return Bad(text, "it is before 1970 (span times are unix times)");
    // Whole seconds and the rest apart: ToUnixNanos would saturate at INT64_MAX (2262).
    const int64_t secs = absl::ToUnixSeconds(t);
    const int64_t rest = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(secs));
    const unsigned __int128 nanos =
        static_cast<unsigned __int128>(secs) * 1'000'000'000u + static_cast<uint64_t>(rest);
    if (nanos > std::numeric_limits<uint64_t>::max()) {
      return Bad(text, "it is after 2554, past what unix nanoseconds hold");
    }
    return static_cast<uint64_t>(nanos);
  }

  // A number, with an optional unit suffix.
  std::string number = trimmed;
  TimeUnit unit = bare_unit;
  bool bare = true;
  for (const auto& [suffix, u] :
       {std::pair{"ns", TimeUnit::kNanoseconds}, std::pair{"us", TimeUnit::kMicroseconds},
        std::pair{"ms", TimeUnit::kMilliseconds}, std::pair{"s", TimeUnit::kSeconds}}) {
    const std::string_view sfx(suffix);
    if (number.size() > sfx.size() &&
        number.compare(number.size() - sfx.size(), sfx.size(), sfx.data(), sfx.size()) == 0) {
      number.resize(number.size() - sfx.size());
      unit = u;
      bare = false;
      break;
    }
  }
  if (!number.empty() && number[0] == '-') return Bad(text, "it is negative");
  const uint64_t per = NanosPer(unit);
  uint64_t whole = 0;
  uint64_t frac_nanos = 0;
  const size_t dot = number.find('.');
  const std::string int_part = number.substr(0, dot);
  if (int_part.empty() || !absl::SimpleAtoi(int_part, &whole) ||
      int_part.find_first_not_of("0123456789") != std::string::npos) {
    return Bad(text, "not a number");
  }
  if (dot != std::string::npos) {
    const std::string frac = number.substr(dot + 1);
    if (frac.empty() || frac.size() > 9 ||
        frac.find_first_not_of("0123456789") != std::string::npos) {
      return Bad(text, "a bad fraction (at most 9 digits after the point)");
    }
    uint64_t digits = 0;
    (void)absl::SimpleAtoi(frac, &digits);
    // frac / 10^len of a unit, in nanoseconds, without floating point.
    uint64_t scale = 1;
    for (size_t i = 0; i < frac.size(); ++i) scale *= 10;
    frac_nanos = static_cast<uint64_t>(static_cast<unsigned __int128>(digits) * per / scale);
  }
  if (bare && unit == TimeUnit::kSeconds && whole > 100'000'000'000ull) {
    return Bad(text,
               "a bare number is unix seconds, and this one would be after the year 5000 "
               "(a time in ms, us or ns needs its unit)");
  }
  const unsigned __int128 nanos = static_cast<unsigned __int128>(whole) * per + frac_nanos;
  if (nanos > std::numeric_limits<uint64_t>::max()) {
    return Bad(text, "it is after 2554, past what unix nanoseconds hold");
  }
  return static_cast<uint64_t>(nanos);
}

}  // namespace spanstore
