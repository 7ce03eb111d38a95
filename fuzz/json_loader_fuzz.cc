// The JSON loaders (OTLP, Jaeger, Zipkin, by detection) on arbitrary bytes (plain; gzip and zstd
// magic bytes reach the streaming decompressors too), through the streaming path: with the
// default piece limit, and with a tiny one so that any document over 256 bytes is split by
// JsonSplitter and its elements are handed over one piece at a time.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  spanstore::LoadOptions options;
  options.max_input_bytes = 64 << 20;
  options.batch_spans = 7;
  for (uint64_t piece : {uint64_t{64} << 20, uint64_t{256}}) {
    options.max_document_bytes = piece;
    for (bool skip : {false, true}) {
      options.skip_invalid = skip;
      (void)spanstore::LoadBuffer(std::string_view(reinterpret_cast<const char*>(data), size),
                                  "fuzz.json", options,
                                  [](std::vector<spanstore::Span>&) { return absl::OkStatus(); });
    }
  }
  return 0;
}
