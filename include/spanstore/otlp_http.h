// Receiving OTLP/HTTP trace exports: everything between an HTTP server and Store::Append that a
// receiver needs, so that an embedder can serve POST /v1/traces with its own HTTP stack.
//
//   auto encoding = OtlpEncodingFromContentType(request.content_type);  // nullopt: 415
//   std::string body;
//   absl::Status s = DecodeContentEncoding(request.content_encoding, request.body,
//                                          max_request_bytes, &body);   // OutOfRange: 413
//   OtlpExportResult result;
//   auto spans = decoder.Decode(*encoding, body, &result);            // InvalidArgument: 400
//   s = AppendPartially(*store, options, *spans, &result);            // ResourceExhausted,
//                                                                      // Unavailable...: 503
//   reply 200 with EncodeOtlpExportResponse(*encoding, result)
//
// The OTLP specification (protocol/otlp.md) defines the status codes and the partial_success
// response; docs/formats.md describes the JSON mapping the decoder accepts.
//
// Thread safety: the functions are reentrant; an OtlpExportDecoder is used by one thread at a
// time (keep one per worker thread).

#ifndef SPANSTORE_OTLP_HTTP_H_
#define SPANSTORE_OTLP_HTTP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "spanstore/export.h"
#include "spanstore/options.h"
#include "spanstore/otlp_proto.h"
#include "spanstore/span.h"

namespace spanstore {

class Store;

enum class OtlpEncoding : uint8_t {
  kProtobuf = 0,  // application/x-protobuf
  kJson = 1,      // application/json, the OTLP/JSON mapping
};

// The encoding named by a Content-Type header: "application/x-protobuf" (or
// "application/protobuf") and "application/json", compared case-insensitively, parameters such
// as "; charset=utf-8" ignored. nullopt for anything else (answer 415).
SPANSTORE_EXPORT std::optional<OtlpEncoding> OtlpEncodingFromContentType(
    std::string_view content_type);

// The Content-Type of a response in `encoding`.
SPANSTORE_EXPORT std::string_view OtlpContentType(OtlpEncoding encoding);

// Undoes a Content-Encoding ("", "identity", "gzip", "x-gzip", "deflate", "zstd"; names
// compared case-insensitively) into *out, never holding more than max_bytes of output: the
// decompression streams into a buffer capped at max_bytes, so a compression bomb costs at most
// that much memory. Errors:
//   OutOfRange      the decoded body would exceed max_bytes (answer 413);
//   InvalidArgument corrupt or truncated compressed data (answer 400);
//   Unimplemented   an encoding not listed above (answer 415).
SPANSTORE_EXPORT absl::Status DecodeContentEncoding(std::string_view content_encoding,
                                                    std::string_view body, uint64_t max_bytes,
                                                    std::string* out);

// What became of the spans of one export request.
struct SPANSTORE_EXPORT OtlpExportResult {
  uint64_t received_spans = 0;  // spans the request held
  uint64_t rejected_spans = 0;  // dropped as invalid (OTLP partial_success.rejected_spans)
  std::string error_message;    // why the first of them was dropped
};

// Decodes ExportTraceServiceRequest bodies into spans, dropping and counting the spans a store
// opened with the given options would refuse (ValidateSpan), so that one bad span does not
// cost the request. Protobuf bodies go through OtlpProtoDecoder, which refills the spans of
// the previous request instead of allocating new ones.
class SPANSTORE_EXPORT OtlpExportDecoder {
 public:
  // `limits`: the options the store was opened with (only the span limits are read).
  explicit OtlpExportDecoder(const Options& limits);
  ~OtlpExportDecoder();
  OtlpExportDecoder(const OtlpExportDecoder&) = delete;
  OtlpExportDecoder& operator=(const OtlpExportDecoder&) = delete;

  // Decodes one request body (already decompressed). Returns the valid spans in request order;
  // they stay valid until the next Decode or the decoder's destruction, and the caller may
  // modify them. *result gets the counts. InvalidArgument, with the byte offset or JSON path,
  // when the body is not a decodable request: then nothing of it should be stored.
  absl::StatusOr<absl::Span<Span>> Decode(OtlpEncoding encoding, std::string_view body,
                                          OtlpExportResult* result);

 private:
  Options limits_;
  OtlpProtoDecoder proto_;
  std::vector<Span> spans_;  // JSON bodies decode here; protobuf bodies into proto_
};

// Appends `spans` in batches of at most `batch_spans`. When the store refuses a batch as
// invalid (InvalidArgument: a span whose encoding exceeds max_span_bytes, which ValidateSpan
// cannot see), the batch is split in halves until the offending spans are isolated; they are
// counted in result->rejected_spans and the rest are appended. Any other error is returned as
// is; batches appended before it stay appended (a retried request then appends them again,
// which a store tolerates: a span appended twice is returned once).
SPANSTORE_EXPORT absl::Status AppendPartially(Store& store, absl::Span<const Span> spans,
                                              OtlpExportResult* result, size_t batch_spans = 8192);

// The ExportTraceServiceResponse body: protobuf, or OTLP/JSON ("{}" when nothing was rejected,
// else {"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}).
SPANSTORE_EXPORT std::string EncodeOtlpExportResponse(OtlpEncoding encoding,
                                                      const OtlpExportResult& result);

// The body of an error response: a google.rpc.Status in the request's encoding, as the OTLP
// specification asks ({"code":3,"message":"..."} or its protobuf). `grpc_code` is a gRPC status
// code (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, ...).
SPANSTORE_EXPORT std::string EncodeOtlpStatus(OtlpEncoding encoding, int grpc_code,
                                              std::string_view message);

}  // namespace spanstore

#endif  // SPANSTORE_OTLP_HTTP_H_
