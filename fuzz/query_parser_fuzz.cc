// ParseQuery on arbitrary text; a query that parses is evaluated against a few spans.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto q = spanstore::ParseQuery(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!q.ok()) return 0;
  spanstore::Span span;
  span.name = "GET /";
  span.service_name = "frontend";
  span.end_time_unix_nano = 5'000'000'000;
  span.attributes = {{"http.status_code", spanstore::AnyValue::Int(500)},
                     {"http.host", spanstore::AnyValue::String("staging")},
                     {"ratio", spanstore::AnyValue::Double(0.5)}};
  (void)spanstore::SpanMatches(*q, span);
  (void)spanstore::SpanMatches(*q, spanstore::Span());
  return 0;
}
