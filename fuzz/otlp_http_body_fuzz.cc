// The OTLP/HTTP request body path of spanstored (spanstore/otlp_http.h) on arbitrary bytes:
// the first byte picks the Content-Type and Content-Encoding, the rest is the body. The
// decompression must stay within its limit; what decodes must hold only spans a store accepts,
// counted consistently, and must survive a re-encode; the response bodies must encode.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spanstore/options.h"
#include "spanstore/otlp_http.h"
#include "spanstore/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kEncodings[] = {"", "gzip", "deflate", "zstd"};
  const spanstore::OtlpEncoding encoding =
      (data[0] & 1) ? spanstore::OtlpEncoding::kJson : spanstore::OtlpEncoding::kProtobuf;
  const char* content_encoding = kEncodings[(data[0] >> 1) & 3];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  constexpr uint64_t kLimit = 1 << 20;
  static std::string* plain = new std::string;
  absl::Status s = spanstore::DecodeContentEncoding(content_encoding, body, kLimit, plain);
  if (s.ok() && plain->size() > kLimit) __builtin_trap();
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kOutOfRange &&
        s.code() != absl::StatusCode::kInvalidArgument) {
      __builtin_trap();
    }
    return 0;
  }

  static const spanstore::Options* limits = new spanstore::Options;
  static auto* decoder = new spanstore::OtlpExportDecoder(*limits);  // refilled across inputs
  spanstore::OtlpExportResult result;
  auto spans = decoder->Decode(encoding, *plain, &result);
  if (!spans.ok()) return 0;
  if (spans->size() + result.rejected_spans != result.received_spans) __builtin_trap();
  for (const spanstore::Span& span : *spans) {
    if (!spanstore::ValidateSpan(*limits, span).ok()) __builtin_trap();
  }
  std::string again;
  spanstore::EncodeOtlpTraces(*spans, &again);
  spanstore::OtlpExportResult second;
  spanstore::OtlpExportDecoder fresh(*limits);
  auto twice = fresh.Decode(spanstore::OtlpEncoding::kProtobuf, again, &second);
  if (!twice.ok() || twice->size() != spans->size() || second.rejected_spans != 0) {
    __builtin_trap();
  }
  (void)spanstore::EncodeOtlpExportResponse(encoding, result);
  (void)spanstore::EncodeOtlpStatus(encoding, 3, result.error_message);
  return 0;
}
