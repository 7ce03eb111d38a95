// OTLP/HTTP trace export bodies: media types, content encodings with a bounded output,
// decoding with per-span validation, partial appends and the response body.

#include "spanstore/otlp_http.h"

#include <simdjson.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "formats/otlp_json_reader.h"
#include "spanstore/formats.h"
#include "spanstore/store.h"
#include "spanstore/validation.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

// A media type without its parameters, trimmed and lower-cased.
std::string MediaType(std::string_view header) {
  const size_t semicolon = header.find(';');
  if (semicolon != std::string_view::npos) header = header.substr(0, semicolon);
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(AsAbsl(header)));
}

absl::Status TooLarge(uint64_t max_bytes) {
  return absl::OutOfRangeError(absl::StrFormat(
      "the request body is larger than %d bytes after decompression (--max-request-bytes)",
      max_bytes));
}

// Grows *out towards `cap` bytes: doubling keeps the copies linear, the cap keeps a bomb from
// costing more than the limit.
void Grow(std::string* out, size_t cap) {
  const size_t next = std::min(cap, std::max<size_t>(out->size() * 2, 64 << 10));
  out->resize(next);
}

// zlib streams: window_bits 16+15 for gzip, 15 for the zlib wrapper ("deflate" in HTTP).
// Concatenated gzip members are one body (RFC 1952 allows them; some clients write them).
absl::Status Inflate(std::string_view in, int window_bits, uint64_t max_bytes, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return absl::InternalError("zlib: init failed");
  // One byte beyond the limit tells "exactly at the limit" from "over it".
  const size_t cap = static_cast<size_t>(std::min<uint64_t>(max_bytes, SIZE_MAX - 1)) + 1;
  out->clear();
  size_t produced = 0;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  absl::Status status;
  bool ended = false;
  while (true) {
    if (produced == out->size()) {
      if (out->size() == cap) {
        status = TooLarge(max_bytes);
        break;
      }
      Grow(out, cap);
    }
    z.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    const size_t room = std::min<size_t>(out->size() - produced, 1u << 30);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) {
        ended = true;
        break;
      }
      if (inflateReset(&z) != Z_OK) {
        status = absl::InternalError("zlib: reset failed");
        break;
      }
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended inside the stream
    if (rc == Z_BUF_ERROR) continue;                  // output full: grow and go on
    status = absl::InvalidArgumentError(
        absl::StrFormat("corrupt compressed body at byte %d: %s", in.size() - z.avail_in,
                        z.msg != nullptr ? z.msg : "inflate failed"));
    break;
  }
  inflateEnd(&z);
  if (status.ok() && produced > max_bytes) status = TooLarge(max_bytes);
  if (status.ok() && !ended) {
    status = absl::InvalidArgumentError(absl::StrFormat(
        "the compressed body is truncated (%d bytes, the stream does not end)", in.size()));
  }
  if (!status.ok()) {
    out->clear();
    out->shrink_to_fit();  // a bomb's buffer is not kept by the caller's reused string
    return status;
  }
  out->resize(produced);
  return absl::OkStatus();
}

absl::Status Unzstd(std::string_view in, uint64_t max_bytes, std::string* out) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (ctx == nullptr) return absl::InternalError("zstd: init failed");
  const size_t cap = static_cast<size_t>(std::min<uint64_t>(max_bytes, SIZE_MAX - 1)) + 1;
  out->clear();
  size_t produced = 0;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  absl::Status status;
  size_t rc = 1;  // non-zero: a frame is open
  while (input.pos < input.size || rc != 0) {
    if (produced == out->size()) {
      if (out->size() == cap) {
        status = TooLarge(max_bytes);
        break;
      }
      Grow(out, cap);
    }
    ZSTD_outBuffer output{out->data() + produced, out->size() - produced, 0};
    const size_t before_in = input.pos;
    rc = ZSTD_decompressStream(ctx.get(), &output, &input);
    produced += output.pos;
    if (ZSTD_isError(rc)) {
      status = absl::InvalidArgumentError(
          absl::StrFormat("corrupt zstd body at byte %d: %s", input.pos, ZSTD_getErrorName(rc)));
      break;
    }
    if (input.pos == input.size && output.pos == 0 && input.pos == before_in && rc != 0) {
      status = absl::InvalidArgumentError("the zstd body is truncated");
      break;
    }
  }
  if (status.ok() && produced > max_bytes) status = TooLarge(max_bytes);
  if (!status.ok()) {
    out->clear();
    out->shrink_to_fit();
    return status;
  }
  out->resize(produced);
  return absl::OkStatus();
}

// Moves the spans that pass ValidateSpan to the front (swapping, so every Span object keeps
// its buffers for the next refill) and counts the others.
size_t KeepValid(const Options& limits, absl::Span<Span> spans, OtlpExportResult* result) {
  size_t kept = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    absl::Status s = ValidateSpan(limits, spans[i]);
    if (!s.ok()) {
      ++result->rejected_spans;
      if (result->error_message.empty()) result->error_message = std::string(s.message());
      continue;
    }
    if (kept != i) std::swap(spans[kept], spans[i]);
    ++kept;
  }
  return kept;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::optional<OtlpEncoding> OtlpEncodingFromContentType(std::string_view content_type) {
  const std::string type = MediaType(content_type);
  if (type == "application/x-protobuf" || type == "application/protobuf") {
    return OtlpEncoding::kProtobuf;
  }
  if (type == "application/json") return OtlpEncoding::kJson;
  return std::nullopt;
}

std::string_view OtlpContentType(OtlpEncoding encoding) {
  return encoding == OtlpEncoding::kJson ? "application/json" : "application/x-protobuf";
}

absl::Status DecodeContentEncoding(std::string_view content_encoding, std::string_view body,
                                   uint64_t max_bytes, std::string* out) {
  const std::string encoding = MediaType(content_encoding);
  if (encoding.empty() || encoding == "identity") {
    if (body.size() > max_bytes) {
      out->clear();
      out->shrink_to_fit();
      return TooLarge(max_bytes);
    }
    out->assign(body.data(), body.size());
    return absl::OkStatus();
  }
  if (encoding == "gzip" || encoding == "x-gzip")
    return Inflate(body, 16 + MAX_WBITS, max_bytes, out);
  if (encoding == "deflate") return Inflate(body, MAX_WBITS, max_bytes, out);
  if (encoding == "zstd") return Unzstd(body, max_bytes, out);
  return absl::UnimplementedError(absl::StrCat("unsupported Content-Encoding \"",
                                               AsAbsl(content_encoding),
                                               "\"; use gzip, deflate, zstd or none"));
}

OtlpExportDecoder::OtlpExportDecoder(const Options& limits) : limits_(limits) {
  limits_.env = nullptr;  // only the span limits are kept; never dereferenced
  limits_.sampling.keep = nullptr;
  proto_.set_accept_zero_ids(true);  // they become rejected spans, not a failed request
}

OtlpExportDecoder::~OtlpExportDecoder() = default;

absl::StatusOr<absl::Span<Span>> OtlpExportDecoder::Decode(OtlpEncoding encoding,
                                                           std::string_view body,
                                                           OtlpExportResult* result) {
  *result = OtlpExportResult();
  if (encoding == OtlpEncoding::kProtobuf) {
    absl::StatusOr<absl::Span<Span>> spans = proto_.Decode(body);
    if (!spans.ok()) return spans.status();
    result->received_spans = spans->size();
    const size_t kept = KeepValid(limits_, *spans, result);
    return spans->subspan(0, kept);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  // simdjson reads past the end of its input: the body is copied into a padded buffer.
  if (auto error = parser.parse(body.data(), body.size(), true).get(doc);
      error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON: ", simdjson::error_message(error)));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        "expected a JSON object (an ExportTraceServiceRequest: {\"resourceSpans\": [...]})");
  }
  spans_.clear();
  uint64_t skipped = 0;
  std::string first_error;
  absl::Status s = OtlpJsonToSpans(doc, /*skip_invalid=*/true, &spans_, &skipped, &first_error);
  if (!s.ok()) return s;
  result->received_spans = spans_.size() + skipped;
  result->rejected_spans = skipped;
  result->error_message = first_error;
  const size_t kept = KeepValid(limits_, absl::MakeSpan(spans_), result);
  return absl::MakeSpan(spans_).subspan(0, kept);
}

absl::Status AppendPartially(Store& store, absl::Span<const Span> spans, OtlpExportResult* result,
                             size_t batch_spans) {
  if (batch_spans == 0) batch_spans = 1;
  for (size_t i = 0; i < spans.size(); i += batch_spans) {
    const absl::Span<const Span> batch = spans.subspan(i, batch_spans);
    absl::Status s = store.Append(batch);
    if (s.ok()) continue;
    if (s.code() != absl::StatusCode::kInvalidArgument) return s;
    if (batch.size() == 1) {
      ++result->rejected_spans;
      if (result->error_message.empty()) result->error_message = std::string(s.message());
      continue;
    }
    // Halve until the spans the store refuses are alone; the rest go in.
    const size_t half = batch.size() / 2;
    s = AppendPartially(store, batch.subspan(0, half), result, half);
    if (!s.ok()) return s;
    s = AppendPartially(store, batch.subspan(half), result, batch.size() - half);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string EncodeOtlpExportResponse(OtlpEncoding encoding, const OtlpExportResult& result) {
  std::string out;
  if (encoding == OtlpEncoding::kJson) {
    if (result.rejected_spans == 0 && result.error_message.empty()) return "{}";
    absl::StrAppend(&out, "{\"partialSuccess\":{\"rejectedSpans\":\"", result.rejected_spans,
                    "\",\"errorMessage\":");
    AppendJsonString(result.error_message, &out);
    out.append("}}");
    return out;
  }
  if (result.rejected_spans == 0 && result.error_message.empty()) return out;  // empty message
  std::string partial;
  if (result.rejected_spans != 0) {
    partial.push_back(0x08);  // field 1, varint: rejected_spans
    AppendVarint(result.rejected_spans, &partial);
  }
  if (!result.error_message.empty()) {
    partial.push_back(0x12);  // field 2, length-delimited: error_message
    AppendVarint(result.error_message.size(), &partial);
    partial.append(result.error_message);
  }
  out.push_back(0x0a);  // field 1, length-delimited: partial_success
  AppendVarint(partial.size(), &out);
  out.append(partial);
  return out;
}

std::string EncodeOtlpStatus(OtlpEncoding encoding, int grpc_code, std::string_view message) {
  std::string out;
  if (encoding == OtlpEncoding::kJson) {
    absl::StrAppend(&out, "{\"code\":", grpc_code, ",\"message\":");
    AppendJsonString(message, &out);
    out.push_back('}');
    return out;
  }
  if (grpc_code != 0) {
    out.push_back(0x08);  // field 1, varint: code
    AppendVarint(static_cast<uint64_t>(static_cast<uint32_t>(grpc_code)), &out);
  }
  if (!message.empty()) {
    out.push_back(0x12);  // field 2, length-delimited: message
    AppendVarint(message.size(), &out);
    out.append(message);
  }
  return out;
}

}  // namespace spanstore
