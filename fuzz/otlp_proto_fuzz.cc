// DecodeOtlpTraces, OtlpProtoDecoder and the length-prefixed stream (through LoadBuffer's
// in-place batches) on arbitrary bytes. What decodes must re-encode and decode to the same
// spans; a decoder reused across inputs must answer exactly as a fresh decode (a field left
// over from an earlier input would differ); the loader must hand on exactly the spans of the
// messages that decode.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/loader.h"
#include "spanstore/otlp_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static auto* decoder = new spanstore::OtlpProtoDecoder;  // refilled across inputs

  std::vector<spanstore::Span> spans;
  const absl::Status status = spanstore::DecodeOtlpTraces(bytes, &spans);
  auto reused = decoder->Decode(bytes);
  if (reused.status() != status) __builtin_trap();
  if (status.ok()) {
    if (!std::equal(spans.begin(), spans.end(), reused->begin(), reused->end())) {
      __builtin_trap();
    }
    std::string again;
    spanstore::EncodeOtlpTraces(spans, &again);
    std::vector<spanstore::Span> twice;
    if (!spanstore::DecodeOtlpTraces(again, &twice).ok() || twice.size() != spans.size()) {
      __builtin_trap();
    }
  }

  // LoadBuffer would decompress gzip or zstd input first.
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return 0;
  if (size >= 4 && bytes.substr(0, 4) == "\x28\xb5\x2f\xfd") return 0;
  size_t want = 0;
  (void)spanstore::ForEachLengthPrefixedMessage(bytes, [&](std::string_view m, size_t) {
    std::vector<spanstore::Span> s;
    if (spanstore::DecodeOtlpTraces(m, &s).ok()) want += s.size();
    return absl::OkStatus();
  });
  spanstore::LoadOptions options;
  options.format = spanstore::TraceFormat::kOtlpProtoStream;
  options.skip_invalid = true;
  options.batch_spans = 3;
  size_t handed = 0;
  auto stats = spanstore::LoadBuffer(bytes, "fuzz", options, [&](std::vector<spanstore::Span>& b) {
    if (b.empty() || b.size() > 3) __builtin_trap();
    handed += b.size();
    return absl::OkStatus();
  });
  // A broken length prefix ends the stream with an error; until then every message counts.
  if (stats.ok() && handed != want) __builtin_trap();
  if (handed > want) __builtin_trap();
  return 0;
}
