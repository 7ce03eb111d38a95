// The parameters of Jaeger's query API that need more than a number: Go durations and tags.

#include <simdjson.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spanstore/jaeger.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

absl::Status BadDuration(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "invalid duration \"%s\": %s (expected e.g. 1.5s, 250ms, 1h2m; units ns, us, ms, s, m, h)",
      AsAbsl(text), AsAbsl(why)));
}

// Nanoseconds per unit; 0 when `unit` is not one.
uint64_t UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
    return 1000;  // µ (U+00B5, U+03BC)
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return 1000ull * 1000 * 1000;
  if (unit == "m") return 60ull * 1000 * 1000 * 1000;
  if (unit == "h") return 3600ull * 1000 * 1000 * 1000;
  return 0;
}

void SetTag(std::vector<JaegerTag>* tags, std::string key, std::string value) {
  for (JaegerTag& t : *tags) {
    if (t.key == key) {
      t.value = std::move(value);
      return;
    }
  }
  tags->push_back({std::move(key), std::move(value)});
}

}  // namespace

absl::StatusOr<uint64_t> ParseGoDuration(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (s[0] == '-' && s != "-0") return BadDuration(text, "negative");
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return BadDuration(text, "empty");
  constexpr uint64_t kMax = UINT64_MAX / 2;  // Go's limit is int64; stay well inside uint64
  uint64_t total = 0;
  while (!s.empty()) {
    uint64_t whole = 0;
    size_t i = 0;
    bool digits = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (whole > (kMax - 9) / 10) return BadDuration(text, "too large");
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      digits = true;
    }
    uint64_t fraction = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        digits = true;
        if (scale < 1000000000000000000ull) {  // more digits than that cannot change a ns count
          fraction = fraction * 10 + static_cast<uint64_t>(s[i] - '0');
          scale *= 10;
        }
      }
    }
    if (!digits) return BadDuration(text, "expected a number");
    size_t u = i;
    while (u < s.size() && s[u] != '.' && (s[u] < '0' || s[u] > '9')) ++u;
    const std::string_view unit = s.substr(i, u - i);
    if (unit.empty()) return BadDuration(text, "missing unit");
    const uint64_t nanos = UnitNanos(unit);
    if (nanos == 0) return BadDuration(text, absl::StrCat("unknown unit \"", AsAbsl(unit), "\""));
    if (whole > kMax / nanos) return BadDuration(text, "too large");
    // fraction/scale of a unit, in nanoseconds; long double keeps 18 digits exact enough.
    const uint64_t part =
        whole * nanos + static_cast<uint64_t>(static_cast<long double>(fraction) * nanos / scale);
    if (total > kMax - part) return BadDuration(text, "too large");
    total += part;
    s.remove_prefix(u);
  }
  return total;
}

absl::StatusOr<std::vector<JaegerTag>> ParseJaegerTags(absl::Span<const std::string> tag_params,
                                                       absl::Span<const std::string> tags_json) {
  std::vector<JaegerTag> tags;
  for (const std::string& param : tag_params) {
    const size_t colon = param.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed 'tag' parameter, expecting key:value, received: ", param));
    }
    SetTag(&tags, param.substr(0, colon), param.substr(colon + 1));
  }
  simdjson::dom::parser parser;
  for (const std::string& json : tags_json) {
    simdjson::dom::element doc;
    simdjson::dom::object object;
    auto error = parser.parse(json).get(doc);
    if (error == simdjson::SUCCESS) error = doc.get(object);
    if (error != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed 'tags' parameter, expecting a JSON object of strings: ",
                       simdjson::error_message(error)));
    }
    for (const simdjson::dom::key_value_pair field : object) {
      std::string_view value;
      if (field.value.get(value) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("malformed 'tags' parameter: the value of \"", AsAbsl(field.key),
                         "\" is not a string"));
      }
      SetTag(&tags, std::string(field.key), std::string(value));
    }
  }
  return tags;
}

}  // namespace spanstore
