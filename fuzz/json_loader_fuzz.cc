// The JSON loaders (OTLP, Jaeger, Zipkin, by detection) on arbitrary bytes (plain; gzip and zstd magic bytes reach the
// decompressors too).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spanstore::LoadOptions options;
  options.max_input_bytes = 64 << 20;
  for (bool skip : {false, true}) {
    options.skip_invalid = skip;
    (void)spanstore::LoadBuffer(std::string_view(reinterpret_cast<const char*>(data), size),
                                "fuzz.json", options,
                                [](std::vector<spanstore::Span>&) { return absl::OkStatus(); });
  }
  return 0;
}
