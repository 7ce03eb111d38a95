// ParseTraceparent and the id parsers on arbitrary text; what parses must round-trip.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/span.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tp = spanstore::ParseTraceparent(text);
  if (tp.ok() && (!tp->trace_id.IsValid() || !tp->span_id.IsValid())) __builtin_trap();
  auto id = spanstore::TraceId::FromShortHex(text);
  if (id.ok() && spanstore::TraceId::FromHex(id->ToHex()).value() != *id) __builtin_trap();
  (void)spanstore::SpanId::FromHex(text);
  return 0;
}
