// Arbitrary bytes as a span batch payload and as a single encoded span.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/span_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<spanstore::Span> spans;
  if (spanstore::DecodeSpanBatch(bytes, &spans).ok()) {
    // What decodes must re-encode and decode to the same spans.
    std::string again;
    spanstore::EncodeSpanBatch(spans, &again);
    std::vector<spanstore::Span> twice;
    if (!spanstore::DecodeSpanBatch(again, &twice).ok() || !(twice == spans)) __builtin_trap();
  }
  spanstore::Span span;
  auto n = spanstore::EncodedSpanSize(bytes);
  if (n.ok()) (void)spanstore::DecodeSpan(bytes.substr(0, *n), &span);
  return 0;
}
