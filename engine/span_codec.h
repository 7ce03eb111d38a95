// The row encoding of spans, used by WAL records and by the memtable (which keeps spans encoded,
// so an Append is encoded exactly once).
//
// An encoded span starts with a fixed 48-byte header so the memtable and scans can read the
// trace id, span id, start time and duration without decoding the rest:
//   trace_id[16] span_id[8] start_time_unix_nano[8 LE] end_time_unix_nano[8 LE]
//   kind[1] status_code[1] flags-of-the-encoding[2] body_size[4 LE]
// followed by body_size bytes of varint-encoded fields (see docs/wal_format.md).
//
// A span batch (the payload of one WAL record) is: varint count, then `count` encoded spans.
//
// Decoding never trusts a length: every length is checked against the bytes that remain, so a
// corrupt or hostile payload yields DataLoss, never a huge allocation or an out-of-bounds read.
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_ENGINE_SPAN_CODEC_H_
#define SPANSTORE_ENGINE_SPAN_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/span.h"

namespace spanstore {

inline constexpr size_t kEncodedSpanHeaderSize = 48;

// The fixed header of an encoded span.
struct EncodedSpanHeader {
  TraceId trace_id;
  SpanId span_id;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  SpanKind kind = SpanKind::kUnspecified;
  StatusCode status_code = StatusCode::kUnset;
  uint32_t body_size = 0;
};

// Appends the encoding of `span` to *out.
void EncodeSpan(const Span& span, std::string* out);

// Appends a batch (varint count + spans) to *out.
void EncodeSpanBatch(absl::Span<const Span> spans, std::string* out);

// Size of the encoded span at the front of `data` (header + body), or DataLoss when `data` is
// too short to hold it.
absl::StatusOr<size_t> EncodedSpanSize(std::string_view data);

// Reads the fixed header of the encoded span at the front of `data`.
absl::StatusOr<EncodedSpanHeader> PeekSpanHeader(std::string_view data);

// Reads the service and span name of an encoded span without decoding the rest (views into
// `data`).
absl::Status PeekServiceAndName(std::string_view data, std::string_view* service,
                                std::string_view* name);

// Decodes one encoded span (exactly `data`, as delimited by EncodedSpanSize).
absl::Status DecodeSpan(std::string_view data, Span* span);

// Splits a batch payload into the encoded spans it holds (views into `payload`), validating
// every length. Does not decode the bodies.
absl::Status SplitSpanBatch(std::string_view payload, std::vector<std::string_view>* spans);

// Decodes a whole batch.
absl::Status DecodeSpanBatch(std::string_view payload, std::vector<Span>* spans);

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_SPAN_CODEC_H_
