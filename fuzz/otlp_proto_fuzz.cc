// DecodeOtlpTraces and the length-prefixed stream on arbitrary bytes; what decodes must
// re-encode and decode to the same spans.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/otlp_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<spanstore::Span> spans;
  if (spanstore::DecodeOtlpTraces(bytes, &spans).ok()) {
    std::string again;
    spanstore::EncodeOtlpTraces(spans, &again);
    std::vector<spanstore::Span> twice;
    if (!spanstore::DecodeOtlpTraces(again, &twice).ok() || twice.size() != spans.size()) {
      __builtin_trap();
    }
  }
  (void)spanstore::ForEachLengthPrefixedMessage(bytes, [](std::string_view m, size_t) {
    std::vector<spanstore::Span> s;
    return spanstore::DecodeOtlpTraces(m, &s);
  });
  return 0;
}
