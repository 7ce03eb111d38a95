// The row encoding of spans, used by WAL records and by the memtable (which keeps spans encoded,
// so an Append is encoded exactly once).
//
// An encoded span starts with a fixed 48-byte header (format/row_format.h) so the memtable and
// scans can read the trace id, span id, start time and duration without decoding the rest,
// followed by body_size bytes of varint-encoded fields (see docs/wal_format.md); its attributes,
// events, links and context use the encodings of format/value_codec.h.
//
// A span batch (the payload of one WAL record) is described at SpanBatchEncoder.
//
// Decoding never trusts a length: every length is checked against the bytes that remain, so a
// corrupt or hostile payload yields DataLoss, never a huge allocation or an out-of-bounds read.
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_FORMAT_SPAN_CODEC_H_
#define SPANSTORE_FORMAT_SPAN_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "format/row_format.h"
#include "spanstore/span.h"

namespace spanstore {

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

// Appends the self-contained encoding of `span` to *out (its resource and scope inline).
void EncodeSpan(const Span& span, std::string* out);

// Encodes a batch. A batch stores each distinct *context* -- resource attributes, resource
// schema url and the instrumentation scope, which repeat for every span of a service instance
// and are most of a span's bytes -- once; spans refer to it by index. Layout: varint span count,
// the spans, varint context count, the contexts (length-prefixed).
//
// Allocation: none per span or per context -- a context is encoded into a scratch buffer, and
// contexts that share a signature are chained through an array instead of a vector per
// signature. The tables that do this grow by doubling; a caller that encodes batch after batch
// passes its own Tables, whose memory the next batch reuses, so that a batch allocates nothing
// once they have grown to its size (without them: a handful of allocations per batch).
class SpanBatchEncoder {
 public:
  struct Tables {
    static constexpr uint32_t kNone = UINT32_MAX;
    // Empties the tables for the next batch, keeping their memory unless a huge batch grew
    // them past kMaxKeptBytes.
    void Clear();
    static constexpr size_t kMaxKeptBytes = 4u << 20;

    std::string contexts;                      // the batch's contexts, length-prefixed
    std::string scratch;                       // one context's encoding
    std::vector<const Span*> representatives;  // one span per distinct context
    // Signature -> the latest context with it; next_same[c] is the context before c with c's
    // signature (kNone: none).
    absl::flat_hash_map<uint64_t, uint32_t> by_signature;
    std::vector<uint32_t> next_same;
  };

  // Appends to *out, which must outlive the encoder; exactly `count` spans must be added.
  // `tables` (optional, cleared here) must outlive the encoder too.
  SpanBatchEncoder(size_t count, std::string* out, Tables* tables = nullptr);
  // Encodes one span; returns the bytes it took (without its context). The span must stay
  // alive until Finish (its context is compared with later spans').
  size_t Add(const Span& span);
  void Finish();

 private:
  std::string* out_;
  Tables own_;  // used when the caller passes none
  Tables* t_;
  int64_t last_ = -1;
};

// Appends a whole batch to *out.
void EncodeSpanBatch(absl::Span<const Span> spans, std::string* out);

// An encoded span and, when it refers to one, its encoded context.
struct EncodedSpan {
  std::string_view span;
  std::string_view context;  // null data() when the span's context is inline
};

inline constexpr uint32_t kNoContext = UINT32_MAX;

// A batch split into views (into the payload), every length validated, bodies not decoded.
struct SpanBatchView {
  std::vector<std::string_view> spans;
  std::vector<uint32_t> span_contexts;  // index into contexts, or kNoContext
  std::vector<std::string_view> contexts;
};
absl::Status SplitSpanBatch(std::string_view payload, SpanBatchView* batch);

// Size of the encoded span at the front of `data` (header + body), or DataLoss when `data` is
// too short to hold it.
absl::StatusOr<size_t> EncodedSpanSize(std::string_view data);

// Reads the fixed header of the encoded span at the front of `data`.
absl::StatusOr<EncodedSpanHeader> PeekSpanHeader(std::string_view data);

// Reads the service and span name of an encoded span without decoding the rest (views into
// `data`).
absl::Status PeekServiceAndName(std::string_view data, std::string_view* service,
                                std::string_view* name);

// The context index an encoded span refers to (InvalidArgument if its context is inline).
absl::StatusOr<uint64_t> SpanContextId(std::string_view data);

// Decodes one span (exactly as delimited by EncodedSpanSize) with its context, if it refers to
// one; the self-contained form needs no context.
absl::Status DecodeSpan(const EncodedSpan& encoded, Span* span);
// Like DecodeSpan, but a context given separately (encoded.context) is neither decoded nor
// checked: the span's context fields are left empty, for a caller that handles the encoded
// context itself (compaction stores it as is). An inline context is decoded.
absl::Status DecodeSpanWithoutContext(const EncodedSpan& encoded, Span* span);
absl::Status DecodeSpan(std::string_view data, Span* span);

// Decodes a whole batch.
absl::Status DecodeSpanBatch(std::string_view payload, std::vector<Span>* spans);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_SPAN_CODEC_H_
