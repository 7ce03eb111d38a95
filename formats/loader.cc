// LoadFile / LoadBuffer: input handling (stdin, gzip, zstd), document splitting and batching.
//
// simdjson parses (it validates UTF-8 and structure at several GB/s, which keeps parsing far
// below the cost of building Span objects). Newline-delimited input -- the OpenTelemetry
// Collector's file exporter -- is parsed line by line, so an error names its line and
// --skip-invalid can drop one bad line; other input (one document, or several concatenated) is
// parsed as a document stream and errors name the byte offset's line.

#include "spanstore/loader.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "formats/jaeger_json_reader.h"
#include "formats/otlp_json_reader.h"
#include "formats/zipkin_json_reader.h"
#include "spanstore/otlp_proto.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

absl::Status ReadAll(const std::string& path, uint64_t limit, std::string* out) {
  FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out->append(buf, n);
    if (out->size() > limit) {
      if (f != stdin) std::fclose(f);
      return absl::ResourceExhaustedError(
          absl::StrFormat("%s: larger than the %d-byte input limit", path, limit));
    }
  }
  const bool failed = std::ferror(f);
  if (f != stdin) std::fclose(f);
  if (failed) return absl::UnavailableError(absl::StrCat(path, ": read error"));
  return absl::OkStatus();
}

absl::Status Gunzip(const std::string& name, std::string_view in, uint64_t limit,
                    std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return absl::InternalError("zlib init failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: gzip data is damaged at compressed byte %d: %s", name, z.total_in,
                          z.msg ? z.msg : "inflate failed"));
    }
    out->append(buf, sizeof buf - z.avail_out);
    if (out->size() > limit) {
      inflateEnd(&z);
      return absl::ResourceExhaustedError(
          absl::StrFormat("%s: decompresses to more than the %d-byte input limit", name, limit));
    }
    if (rc == Z_STREAM_END && z.avail_in > 0) {  // concatenated gzip members
      inflateReset(&z);
      rc = Z_OK;
    }
  } while (rc != Z_STREAM_END);
  inflateEnd(&z);
  return absl::OkStatus();
}

absl::Status Unzstd(const std::string& name, std::string_view in, uint64_t limit,
                    std::string* out) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char buf[1 << 16];
  size_t rc = 1;
  while (input.pos < input.size || rc != 0) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    rc = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(rc)) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: zstd data is damaged at byte %d: %s",
                                                        name, input.pos, ZSTD_getErrorName(rc)));
    }
    out->append(buf, output.pos);
    if (out->size() > limit) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("%s: decompresses to more than the %d-byte input limit", name, limit));
    }
    if (input.pos == input.size && output.pos == 0 && rc != 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": zstd data is truncated"));
    }
  }
  return absl::OkStatus();
}

size_t LineOf(std::string_view data, size_t offset) {
  size_t line = 1;
  for (size_t i = 0; i < offset && i < data.size(); ++i) line += data[i] == '\n';
  return line;
}

// Newline-delimited when the first non-empty line is a complete JSON document and more follows.
bool LooksNewlineDelimited(simdjson::dom::parser& parser, std::string_view data) {
  size_t start = data.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return false;
  const size_t end = data.find('\n', start);
  if (end == std::string_view::npos) return false;
  if (data.find_first_not_of(" \t\r\n", end) == std::string_view::npos) return false;
  simdjson::dom::element e;
  return parser.parse(data.data() + start, end - start).get(e) == simdjson::SUCCESS;
}

std::string DocumentTooLarge(const std::string& name, size_t line, const LoadOptions& options) {
  return absl::StrFormat(
      "%s: line %d: a JSON document is larger than the %d-byte document limit "
      "(LoadOptions::max_document_bytes)",
      name, line, options.max_document_bytes);
}

// The format of one document, from its shape and first keys.
TraceFormat DetectFormat(simdjson::dom::element doc) {
  if (doc.is_array()) return TraceFormat::kZipkinJson;
  simdjson::dom::object o;
  if (doc.get(o) != simdjson::SUCCESS) return TraceFormat::kAuto;
  simdjson::dom::element unused;
  for (const char* key : {"resourceSpans", "resource_spans", "batches"}) {
    if (o.at_key(key).get(unused) == simdjson::SUCCESS) return TraceFormat::kOtlpJson;
  }
  if (o.at_key("data").get(unused) == simdjson::SUCCESS) return TraceFormat::kJaegerJson;
  if (o.at_key("traceID").get(unused) == simdjson::SUCCESS &&
      o.at_key("spans").get(unused) == simdjson::SUCCESS) {
    return TraceFormat::kJaegerJson;
  }
  return TraceFormat::kAuto;
}

class Batcher {
 public:
  Batcher(const LoadOptions& options, SpanSink sink, LoadStats* stats)
      : options_(options), sink_(sink), stats_(stats) {}
  // Takes a whole document's spans.
  absl::Status Add(std::vector<Span>* spans) {
    for (Span& s : *spans) {
      pending_.push_back(std::move(s));
      if (pending_.size() >= options_.batch_spans) {
        absl::Status st = Flush();
        if (!st.ok()) return st;
      }
    }
    spans->clear();
    return absl::OkStatus();
  }
  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    const size_t n = pending_.size();
    absl::Status s = sink_(pending_);
    if (s.ok()) stats_->spans += n;
    pending_.clear();
    return s;
  }

 private:
  const LoadOptions& options_;
  SpanSink sink_;
  LoadStats* stats_;
  std::vector<Span> pending_;
};

// Batches for OTLP protobuf. Each message is decoded straight into the Span objects of the
// batch (OtlpProtoDecoder::DecodeInto), which are refilled rather than rebuilt from one batch to
// the next: once they have grown to the data, loading allocates almost nothing. A message is
// decoded whole before any of it is handed on, so a bad one adds nothing.
class ProtoBatcher {
 public:
  ProtoBatcher(const LoadOptions& options, SpanSink sink, LoadStats* stats)
      : batch_(std::max<size_t>(options.batch_spans, 1)), sink_(sink), stats_(stats) {}

  // Decodes one message after the pending spans; on error nothing of it is pending.
  absl::Status Decode(std::string_view message) {
    return decoder_.DecodeInto(message, &spans_, &pending_);
  }
  // Hands on every full batch.
  absl::Status FlushFull() {
    while (pending_ >= batch_) {
      if (absl::Status s = Hand(batch_); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // Hands on everything pending.
  absl::Status Flush() {
    while (pending_ > 0) {
      if (absl::Status s = Hand(std::min(pending_, batch_)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  // Hands on the first n pending spans.
  absl::Status Hand(size_t n) {
    // The sink gets the whole vector, so the objects after the batch -- spans still pending,
    // then spare objects -- wait in rest_ meanwhile. Moving a Span keeps its buffers.
    for (size_t i = n; i < spans_.size(); ++i) rest_.push_back(std::move(spans_[i]));
    spans_.erase(spans_.begin() + n, spans_.end());
    absl::Status s = sink_(spans_);
    if (s.ok()) stats_->spans += n;
    // The spans still pending go back to the front; whatever the sink left in the vector
    // (normally the n objects it was given) is kept for refilling.
    const size_t carry = pending_ - n;
    const size_t swapped = std::min(carry, spans_.size());
    for (size_t i = 0; i < swapped; ++i) std::swap(spans_[i], rest_[i]);
    for (size_t i = swapped; i < rest_.size(); ++i) spans_.push_back(std::move(rest_[i]));
    for (size_t i = 0; i < swapped; ++i) spans_.push_back(std::move(rest_[i]));
    rest_.clear();
    pending_ = s.ok() ? carry : 0;
    return s;
  }

  const size_t batch_;
  SpanSink sink_;
  LoadStats* stats_;
  OtlpProtoDecoder decoder_;
  std::vector<Span> spans_;  // the pending spans first, then spare objects
  size_t pending_ = 0;
  std::vector<Span> rest_;  // only during Hand
};

}  // namespace

std::string_view TraceFormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kAuto:
      return "auto";
    case TraceFormat::kOtlpJson:
      return "otlp-json";
    case TraceFormat::kJaegerJson:
      return "jaeger-json";
    case TraceFormat::kZipkinJson:
      return "zipkin-json";
    case TraceFormat::kOtlpProto:
      return "otlp-proto";
    case TraceFormat::kOtlpProtoStream:
      return "otlp-proto-stream";
  }
  return "unknown";
}

absl::StatusOr<LoadStats> LoadBuffer(std::string_view data, const std::string& name,
                                     const LoadOptions& options, SpanSink sink) {
  std::string decompressed;
  if (data.size() >= 2 && static_cast<uint8_t>(data[0]) == 0x1f &&
      static_cast<uint8_t>(data[1]) == 0x8b) {
    absl::Status s = Gunzip(name, data, options.max_input_bytes, &decompressed);
    if (!s.ok()) return s;
    data = decompressed;
  } else if (data.size() >= 4 && std::memcmp(data.data(), "\x28\xb5\x2f\xfd", 4) == 0) {
    absl::Status s = Unzstd(name, data, options.max_input_bytes, &decompressed);
    if (!s.ok()) return s;
    data = decompressed;
  }
  LoadStats stats;
  stats.bytes = data.size();
  stats.format = options.format;
  const size_t first = data.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return stats;  // empty input: nothing to load

  // Binary OTLP: a request starts with field 1 (0x0a); a length-prefixed stream with the high
  // byte of a big-endian length (0x00 for any message under 16 MiB).
  // 0x0a is also '\n', so JSON may start with it: a buffer that starts with 0x0a is protobuf
  // only when it decodes as a request.
  TraceFormat binary = options.format;
  ProtoBatcher proto(options, sink, &stats);
  bool probed = false;
  if (binary == TraceFormat::kAuto) {
    if (data[0] == 0x0a && proto.Decode(data).ok()) {  // the spans stay pending
      binary = TraceFormat::kOtlpProto;
      probed = true;
    } else if (data[first] != '{' && data[first] != '[') {
      binary = data[0] == 0x0a ? TraceFormat::kOtlpProto : TraceFormat::kOtlpProtoStream;
    }
  }
  if (binary == TraceFormat::kOtlpProto || binary == TraceFormat::kOtlpProtoStream) {
    stats.format = binary;
    auto one = [&](std::string_view message, size_t offset) -> absl::Status {
      ++stats.documents;
      absl::Status s = probed ? absl::OkStatus() : proto.Decode(message);
      if (!s.ok()) {
        const std::string text = absl::StrFormat(
            "%s: %s message at byte %d: %s", name, TraceFormatName(binary), offset, s.message());
        if (!options.skip_invalid) return absl::InvalidArgumentError(text);
        ++stats.skipped_documents;
        if (stats.first_error.empty()) stats.first_error = text;
        return absl::OkStatus();
      }
      return proto.FlushFull();
    };
    absl::Status s = binary == TraceFormat::kOtlpProto
                         ? one(data, 0)
                         : ForEachLengthPrefixedMessage(
                               data, [&](std::string_view message, size_t offset) {
                                 absl::Status st = one(message, offset);
                                 if (options.progress) {
                                   options.progress(offset + message.size(), data.size());
                                 }
                                 return st;
                               });
    absl::Status f = proto.Flush();
    if (!s.ok()) {
      return s.code() == absl::StatusCode::kInvalidArgument && !absl::StrContains(s.message(), name)
                 ? absl::InvalidArgumentError(absl::StrCat(name, ": ", s.message()))
                 : s;
    }
    if (!f.ok()) return f;
    return stats;
  }

  simdjson::dom::parser parser;
  Batcher batcher(options, sink, &stats);
  std::vector<Span> spans;
  auto handle = [&](simdjson::dom::element doc, size_t line) -> absl::Status {
    ++stats.documents;
    spans.clear();
    uint64_t skipped = 0;
    std::string first_error;
    const TraceFormat format =
        options.format != TraceFormat::kAuto ? options.format : DetectFormat(doc);
    if (stats.format == TraceFormat::kAuto) stats.format = format;
    absl::Status s;
    switch (format) {
      case TraceFormat::kJaegerJson:
        s = JaegerJsonToSpans(doc, options.skip_invalid, &spans, &skipped, &first_error);
        break;
      case TraceFormat::kZipkinJson:
        s = ZipkinJsonToSpans(doc, options.skip_invalid, &spans, &skipped, &first_error);
        break;
      case TraceFormat::kOtlpJson:
        s = OtlpJsonToSpans(doc, options.skip_invalid, &spans, &skipped, &first_error);
        break;
      case TraceFormat::kOtlpProto:
      case TraceFormat::kOtlpProtoStream:
      case TraceFormat::kAuto:
        s = absl::InvalidArgumentError(
            "not a known trace format: expected OTLP JSON ({\"resourceSpans\": ...}), Jaeger "
            "JSON ({\"data\": [...]}) or Zipkin v2 JSON ([{\"traceId\": ...}])");
        break;
    }
    if (!s.ok()) {
      const std::string message = absl::StrFormat(
          "%s: line %d: %s%s", name, line,
          format == TraceFormat::kAuto ? "" : absl::StrCat(AsAbsl(TraceFormatName(format)), ": "),
          s.message());
      if (!options.skip_invalid) return absl::InvalidArgumentError(message);
      ++stats.skipped_documents;
      if (stats.first_error.empty()) stats.first_error = message;
      return absl::OkStatus();
    }
    stats.skipped_spans += skipped;
    if (!first_error.empty() && stats.first_error.empty()) {
      stats.first_error = absl::StrFormat("%s: line %d: %s", name, line, first_error);
    }
    return batcher.Add(&spans);
  };

  if (LooksNewlineDelimited(parser, data)) {
    size_t line = 1, pos = 0;
    while (pos < data.size()) {
      size_t end = data.find('\n', pos);
      if (end == std::string_view::npos) end = data.size();
      const std::string_view text = data.substr(pos, end - pos);
      if (text.size() > options.max_document_bytes) {
        const std::string message = DocumentTooLarge(name, line, options);
        if (!options.skip_invalid) {
          absl::Status f = batcher.Flush();
          return f.ok() ? absl::InvalidArgumentError(message) : f;
        }
        ++stats.skipped_documents;
        if (stats.first_error.empty()) stats.first_error = message;
      } else if (text.find_first_not_of(" \t\r") != std::string_view::npos) {
        simdjson::dom::element doc;
        // simdjson reads up to SIMDJSON_PADDING bytes past a document; a line with that much
        // of the buffer after it is parsed in place instead of being copied.
        const bool copy = end + simdjson::SIMDJSON_PADDING > data.size();
        const auto error = parser.parse(text.data(), text.size(), copy).get(doc);
        if (error != simdjson::SUCCESS) {
          const std::string message = absl::StrFormat("%s: line %d: invalid JSON: %s", name, line,
                                                      simdjson::error_message(error));
          if (!options.skip_invalid) {
            absl::Status f = batcher.Flush();
            return f.ok() ? absl::InvalidArgumentError(message) : f;
          }
          ++stats.skipped_documents;
          if (stats.first_error.empty()) stats.first_error = message;
        } else if (absl::Status s = handle(doc, line); !s.ok()) {
          absl::Status f = batcher.Flush();
          return f.ok() ? s : f;
        }
      }
      pos = end + 1;
      ++line;
      if (options.progress) options.progress(std::min(pos, data.size()), data.size());
    }
  } else {
    simdjson::dom::document_stream stream;
    // parse_many reads up to SIMDJSON_PADDING bytes past the end of its input: it needs a
    // padded copy (a std::string has one spare byte; the fuzzer found the overread).
    const simdjson::padded_string padded(data.data(), data.size());
    // A document must fit in one batch, so the batch size is the document limit.
    const size_t batch = static_cast<size_t>(std::min<uint64_t>(
        std::max<uint64_t>(padded.size(), 1 << 20), std::max<uint64_t>(options.max_document_bytes, 64)));
    auto error = parser.parse_many(padded.data(), padded.size(), batch).get(stream);
    if (error != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: invalid JSON: %s", name, simdjson::error_message(error)));
    }
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      simdjson::dom::element doc;
      error = (*it).get(doc);
      const size_t line = LineOf(data, it.current_index());
      if (error == simdjson::CAPACITY) {
        absl::Status f = batcher.Flush();
        if (!f.ok()) return f;
        return absl::InvalidArgumentError(DocumentTooLarge(name, line, options));
      }
      if (error != simdjson::SUCCESS) {
        absl::Status f = batcher.Flush();
        if (!f.ok()) return f;
        return absl::InvalidArgumentError(absl::StrFormat("%s: line %d (byte %d): invalid JSON: %s",
                                                          name, line, it.current_index(),
                                                          simdjson::error_message(error)));
      }
      if (absl::Status s = handle(doc, line); !s.ok()) {
        absl::Status f = batcher.Flush();
        return f.ok() ? s : f;
      }
      if (options.progress) options.progress(it.current_index(), data.size());
    }
    if (stream.truncated_bytes() > 0) {
      absl::Status f = batcher.Flush();
      if (!f.ok()) return f;
      const size_t at = data.size() - stream.truncated_bytes();
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: line %d (byte %d): the input ends inside a JSON document (%d bytes unparsed)", name,
          LineOf(data, at), at, stream.truncated_bytes()));
    }
  }
  absl::Status s = batcher.Flush();
  if (!s.ok()) return s;
  return stats;
}

absl::StatusOr<LoadStats> LoadFile(const std::string& path, const LoadOptions& options,
                                   SpanSink sink) {
  std::string data;
  absl::Status s = ReadAll(path, options.max_input_bytes, &data);
  if (!s.ok()) return s;
  return LoadBuffer(data, path == "-" ? "<stdin>" : path, options, sink);
}

}  // namespace spanstore
