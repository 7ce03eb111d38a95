// LoadFile / LoadBuffer: input handling (stdin, gzip, zstd), format detection, pieces and
// batching, all streaming: memory stays bounded by the largest piece (a document up to 4 MiB,
// else one element of it; a protobuf message), whatever the input's size.
//
// simdjson parses each piece (it validates UTF-8 and structure at several GB/s, which keeps
// parsing far below the cost of building Span objects). formats/json_splitter.h cuts the
// input into pieces; newline-delimited input -- the OpenTelemetry Collector's file exporter --
// is recognised there, so an error names its line and --skip-invalid can drop one bad line.

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
#include "formats/input_stream.h"
#include "formats/jaeger_json_reader.h"
#include "formats/json_splitter.h"
#include "formats/otlp_json_reader.h"
#include "formats/zipkin_json_reader.h"
#include "spanstore/otlp_proto.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

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
  // Runs `validate` over the pending spans from `from` on; a refused span is an error, or with
  // skip_invalid is dropped and counted. `where` prefixes messages.
  absl::Status Check(size_t from, const LoadOptions& options, const std::string& where) {
    if (!options.validate) return absl::OkStatus();
    for (size_t i = from; i < pending_;) {
      absl::Status s = options.validate(spans_[i]);
      if (s.ok()) {
        ++i;
        continue;
      }
      const std::string text = absl::StrCat(where, ": ", s.message());
      if (!options.skip_invalid) {
        pending_ = from;  // the message adds nothing
        return absl::InvalidArgumentError(text);
      }
      ++stats_->skipped_spans;
      if (stats_->first_error.empty()) stats_->first_error = text;
      std::rotate(spans_.begin() + i, spans_.begin() + i + 1, spans_.begin() + pending_);
      --pending_;
    }
    return absl::OkStatus();
  }
  size_t pending() const { return pending_; }
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

namespace {

// Exactly n bytes (fewer only at the end of the input).
absl::StatusOr<size_t> ReadFull(InputStream* in, char* buf, size_t n) {
  size_t have = 0;
  while (have < n) {
    auto got = in->Read(buf + have, n - have);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    have += *got;
  }
  return have;
}

constexpr std::string_view kUnknownFormat =
    "unknown or empty format: expected OTLP JSON ({\"resourceSpans\": ...}), Jaeger JSON "
    "({\"data\": [...]}), Zipkin v2 JSON ([{\"traceId\": ...}]) or OTLP protobuf";

// One load: the batcher, the statistics and the messages' prefix.
class Load {
 public:
  Load(const std::string& name, const LoadOptions& options, SpanSink sink)
      : name_(name), options_(options), sink_(sink), batcher_(options, sink, &stats_) {
    stats_.format = options.format;
    if (options_.validate) validate_ = &options_.validate;
  }

  absl::StatusOr<LoadStats> Run(InputStream* raw) {
    auto in = DecompressingInput(std::unique_ptr<InputStream>(new Borrowed(raw)), name_,
                                 options_.max_input_bytes);
    if (!in.ok()) return in.status();
    in_ = in->get();
    total_ = (*in)->SizeHint();
    // The first byte decides between JSON and protobuf: JSON starts with '{', '[' or white
    // space; a request with field 1 (0x0a, also '\n'); a length-prefixed stream with the high
    // byte of its first length (0x00 for a message under 16 MiB).
    char first = 0;
    auto n = ReadFull(in_, &first, 1);
    if (!n.ok()) return n.status();
    if (*n == 0) return stats_;  // empty input: nothing to load
    const bool json_start = first == '{' || first == '[' || first == ' ' || first == '\t' ||
                            first == '\r' || first == '\n';
    TraceFormat format = options_.format;
    std::string head(1, first);
    if (format == TraceFormat::kAuto && first == 0x0a) {
      // A request, if the input (up to the message limit) decodes as one; else JSON.
      head.resize(options_.max_document_bytes + 1);
      auto more = ReadFull(in_, head.data() + 1, head.size() - 1);
      if (!more.ok()) return more.status();
      head.resize(1 + *more);
      if (head.size() <= options_.max_document_bytes && proto_.Decode(head).ok() &&
          proto_.pending() > 0) {
        stats_.format = TraceFormat::kOtlpProto;
        return Finish(ProtoMessage(head, 0, /*decoded=*/true));
      }
    } else if (format == TraceFormat::kAuto && !json_start) {
      format = TraceFormat::kOtlpProtoStream;
      auto_binary_ = true;
    }
    auto rest = PrependInput(std::move(head), std::move(*in));
    stream_ = std::move(rest);
    in_ = stream_.get();
    if (format == TraceFormat::kOtlpProto) return Finish(ProtoSingle());
    if (format == TraceFormat::kOtlpProtoStream) return Finish(ProtoStream());
    return Finish(Json());
  }

 private:
  // Reads through to an InputStream the caller owns.
  class Borrowed final : public InputStream {
   public:
    explicit Borrowed(InputStream* in) : in_(in) {}
    absl::StatusOr<size_t> Read(char* buf, size_t n) override { return in_->Read(buf, n); }
    uint64_t SizeHint() const override { return in_->SizeHint(); }

   private:
    InputStream* in_;
  };

  absl::StatusOr<LoadStats> Finish(absl::Status s) {
    // What came before an error is handed over (and stays), so the caller can report it.
    absl::Status f =
        stats_.format == TraceFormat::kOtlpProto || stats_.format == TraceFormat::kOtlpProtoStream
            ? proto_.Flush()
            : batcher_.Flush();
    if (!s.ok()) return s;
    if (!f.ok()) return f;
    return stats_;
  }

  // A problem with the input: an error, or with skip_invalid counted (in *skipped) and OK.
  absl::Status Invalid(std::string message, uint64_t* skipped) {
    if (!options_.skip_invalid) return absl::InvalidArgumentError(std::move(message));
    ++*skipped;
    if (stats_.first_error.empty()) stats_.first_error = std::move(message);
    return absl::OkStatus();
  }

  void Progress() {
    if (options_.progress) options_.progress(bytes_, total_);
  }

  // ---- OTLP protobuf ----

  absl::Status ProtoMessage(std::string_view message, uint64_t offset, bool decoded) {
    ++stats_.documents;
    const size_t before = proto_.pending();
    absl::Status s = decoded ? absl::OkStatus() : proto_.Decode(message);
    const std::string where =
        absl::StrFormat("%s: %s message at byte %d", name_, TraceFormatName(stats_.format), offset);
    if (!s.ok()) return Invalid(absl::StrCat(where, ": ", s.message()), &stats_.skipped_documents);
    if (absl::Status c = proto_.Check(decoded ? 0 : before, options_, where); !c.ok()) return c;
    return proto_.FlushFull();
  }

  absl::Status ProtoSingle() {
    stats_.format = TraceFormat::kOtlpProto;
    std::string message(options_.max_document_bytes + 1, '\0');
    auto n = ReadFull(in_, message.data(), message.size());
    if (!n.ok()) return n.status();
    if (*n > options_.max_document_bytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: an otlp-proto message larger than the %d-byte limit "
                          "(LoadOptions::max_document_bytes)",
                          name_, options_.max_document_bytes));
    }
    message.resize(*n);
    bytes_ = *n;
    absl::Status s = ProtoMessage(message, 0, false);
    Progress();
    return s;
  }

  absl::Status ProtoStream() {
    stats_.format = TraceFormat::kOtlpProtoStream;
    std::string message;
    uint64_t offset = 0;
    int empty_run = 0;
    constexpr int kMaxEmptyRun = 1000;
    while (true) {
      unsigned char len[4];
      auto n = ReadFull(in_, reinterpret_cast<char*>(len), 4);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      const uint64_t size =
          uint64_t{len[0]} << 24 | uint64_t{len[1]} << 16 | uint64_t{len[2]} << 8 | len[3];
      std::string problem;
      if (*n < 4) {
        problem = absl::StrFormat("the input ends inside the length of a message (%d bytes)", *n);
      } else if (size == 0 && (stats_.documents == 0 || ++empty_run > kMaxEmptyRun)) {
        // An empty request is legal, but a run of them is zeros, not a file an exporter wrote.
        problem = stats_.documents == 0
                      ? "an empty first message"
                      : absl::StrFormat("more than %d empty messages in a row", kMaxEmptyRun);
      } else if (size > options_.max_document_bytes) {
        problem = absl::StrFormat(
            "a message of %d bytes is over the %d-byte limit (LoadOptions::max_document_bytes)",
            size, options_.max_document_bytes);
      }
      if (size > 0) empty_run = 0;
      if (problem.empty()) {
        message.resize(size);
        auto got = ReadFull(in_, message.data(), size);
        if (!got.ok()) return got.status();
        if (*got < size) {
          problem = absl::StrFormat("the input ends inside a %d-byte message (%d bytes there)",
                                    size, *got);
        }
      }
      if (!problem.empty()) {
        // Garbage read as a stream fails here at once: say so rather than describe lengths.
        if (auto_binary_ && stats_.documents == 0) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: %s (read as a length-prefixed OTLP protobuf stream: %s at byte %d)", name_,
              kUnknownFormat, problem, offset));
        }
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: otlp-proto-stream message at byte %d: %s", name_, offset, problem));
      }
      if (auto_binary_ && stats_.documents == 0) {
        absl::Status s = proto_.Decode(message);
        if (!s.ok()) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: %s (read as a length-prefixed OTLP protobuf stream: the message at byte 0 "
              "does not decode: %s)",
              name_, kUnknownFormat, s.message()));
        }
        if (absl::Status st = ProtoMessage(message, offset, true); !st.ok()) return st;
      } else if (absl::Status st = ProtoMessage(message, offset, false); !st.ok()) {
        return st;
      }
      offset += 4 + size;
      bytes_ = offset;
      Progress();
    }
    if (stats_.documents > 0 && stats_.spans + proto_.pending() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(name_, ": ", AsAbsl(kUnknownFormat),
                                                     " (OTLP protobuf messages with no spans)"));
    }
    return absl::OkStatus();
  }

  // ---- JSON ----

  absl::Status Json() {
    JsonSplitter splitter(in_, name_, options_.format, options_.max_document_bytes);
    JsonPiece piece;
    while (true) {
      auto more = splitter.Next(&piece);
      if (!more.ok()) {
        if (more.status().code() != absl::StatusCode::kInvalidArgument) return more.status();
        std::string message(more.status().message());
        if (splitter.documents() <= 1 && stats_.spans == 0 &&
            absl::StrContains(message, "expected a document")) {
          message = absl::StrCat(name_, ": ", AsAbsl(kUnknownFormat), " (", message, ")");
        }
        if (absl::Status s = Invalid(message, &stats_.skipped_documents); !s.ok()) return s;
        if (!splitter.Recover()) return absl::InvalidArgumentError(message);
        continue;
      }
      if (!*more) break;
      bytes_ = splitter.bytes_read();
      absl::Status s = Piece(piece);
      if (!s.ok()) return s;
      Progress();
    }
    return ZipkinDone();
  }

  // The format of a piece, and its name for messages.
  TraceFormat PieceFormat(const JsonPiece& piece, simdjson::dom::element doc) const {
    if (options_.format != TraceFormat::kAuto) return options_.format;
    switch (piece.kind) {
      case JsonPiece::Kind::kResourceSpans:
        return TraceFormat::kOtlpJson;
      case JsonPiece::Kind::kJaegerTraces:
        return TraceFormat::kJaegerJson;
      case JsonPiece::Kind::kZipkinSpans:
        return TraceFormat::kZipkinJson;
      default:
        return DetectFormat(doc);
    }
  }

  absl::Status Piece(const JsonPiece& piece) {
    if (piece.kind == JsonPiece::Kind::kDocumentEnd) {
      ++stats_.documents;
      return ZipkinDone();
    }
    if (piece.kind == JsonPiece::Kind::kDocument) {
      ++stats_.documents;
      absl::Status s = Convert(piece, piece.text, 0, piece.line, piece.offset);
      if (!s.ok()) return s;
      return ZipkinDone();
    }
    // A piece of a split document: all its elements at once, or on a problem one by one, so
    // that the message names the element's line and the good ones around it are kept.
    if (ConvertQuietly(piece)) return absl::OkStatus();
    std::string one;
    for (size_t i = 0; i < piece.elements.size(); ++i) {
      const JsonPiece::Element& e = piece.elements[i];
      one.assign(piece.prefix);
      one.append(piece.text.substr(e.begin, e.end - e.begin));
      one.append(piece.suffix);
      absl::Status s = Convert(piece, one, piece.first_index + i, e.line, e.offset);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Converts a whole split piece if nothing in it is wrong; false (and nothing kept) otherwise.
  bool ConvertQuietly(const JsonPiece& piece) {
    simdjson::dom::element doc;
    if (parser_.parse(piece.text.data(), piece.text.size()).get(doc) != simdjson::SUCCESS) {
      return false;
    }
    const TraceFormat format = PieceFormat(piece, doc);
    spans_.clear();
    info_.clear();
    uint64_t skipped = 0;
    std::string first_error;
    if (!ToSpans(format, doc, piece.first_index, &skipped, &first_error).ok()) return false;
    if (skipped > 0) return false;  // redone one by one for the line of each skipped span
    if (stats_.format == TraceFormat::kAuto) stats_.format = format;
    return Take(format, piece.elements.empty() ? piece.line : 0, &piece).ok();
  }

  absl::Status ToSpans(TraceFormat format, simdjson::dom::element doc, size_t first_index,
                       uint64_t* skipped, std::string* first_error) {
    JsonReadOptions read;
    read.skip_invalid = options_.skip_invalid;
    read.first_index = first_index;
    read.validate = validate_;
    read.zipkin = &info_;
    switch (format) {
      case TraceFormat::kJaegerJson:
        return JaegerJsonToSpans(doc, read, &spans_, skipped, first_error);
      case TraceFormat::kZipkinJson:
        return ZipkinJsonToSpans(doc, read, &spans_, skipped, first_error);
      case TraceFormat::kOtlpJson:
        return OtlpJsonToSpans(doc, read, &spans_, skipped, first_error);
      default:
        return absl::InvalidArgumentError(
            "not a known trace format: expected OTLP JSON ({\"resourceSpans\": ...}), Jaeger "
            "JSON ({\"data\": [...]}) or Zipkin v2 JSON ([{\"traceId\": ...}])");
    }
  }

  // Converts one document or element (text) found at line/offset.
  absl::Status Convert(const JsonPiece& piece, std::string_view text, size_t first_index,
                       uint64_t line, uint64_t offset) {
    simdjson::dom::element doc;
    const auto error = parser_.parse(text.data(), text.size()).get(doc);
    if (error != simdjson::SUCCESS) {
      return Invalid(absl::StrFormat("%s: line %d: invalid JSON: %s (byte %d)", name_, line,
                                     simdjson::error_message(error), offset),
                     &stats_.skipped_documents);
    }
    const TraceFormat format = PieceFormat(piece, doc);
    if (stats_.format == TraceFormat::kAuto) stats_.format = format;
    spans_.clear();
    info_.clear();
    uint64_t skipped = 0;
    std::string first_error;
    absl::Status s = ToSpans(format, doc, first_index, &skipped, &first_error);
    const std::string where = absl::StrFormat(
        "%s: line %d: %s", name_, line,
        format == TraceFormat::kAuto ? "" : absl::StrCat(AsAbsl(TraceFormatName(format)), ": "));
    if (!s.ok()) {
      // With skip_invalid a problem above the span level drops the document (or element).
      return Invalid(absl::StrCat(where, s.message()), &stats_.skipped_documents);
    }
    stats_.skipped_spans += skipped;
    if (!first_error.empty() && stats_.first_error.empty()) {
      stats_.first_error = absl::StrCat(where, first_error);
    }
    return Take(format, line, nullptr);
  }

  // Hands the converted spans on -- Zipkin spans wait for their document's end.
  absl::Status Take(TraceFormat format, uint64_t line, const JsonPiece* piece) {
    if (format != TraceFormat::kZipkinJson) return batcher_.Add(&spans_);
    for (size_t i = 0; i < spans_.size(); ++i) {
      ZipkinSpanInfo info = info_[i];
      info.line = line;
      if (piece != nullptr && info.index >= piece->first_index &&
          info.index - piece->first_index < piece->elements.size()) {
        info.line = piece->elements[info.index - piece->first_index].line;
      }
      zipkin_spans_.push_back(std::move(spans_[i]));
      zipkin_info_.push_back(info);
    }
    spans_.clear();
    // A huge array is put together in groups, to bound memory; a trace across two groups
    // is then fixed up in each separately.
    if (zipkin_spans_.size() >= kZipkinGroupSpans) return ZipkinDone();
    return absl::OkStatus();
  }

  absl::Status ZipkinDone() {
    if (zipkin_spans_.empty()) return absl::OkStatus();
    std::vector<size_t> untimed;
    FixZipkinTraces(&zipkin_spans_, &zipkin_info_, &untimed);
    absl::Status problem;
    if (!untimed.empty()) {
      // Dropped (or the load stops here): a span with no time at all would sit at 1970.
      std::vector<bool> drop(zipkin_spans_.size());
      for (size_t i : untimed) {
        drop[i] = true;
        const Span& s = zipkin_spans_[i];
        absl::Status st = Invalid(
            absl::StrFormat("%s: line %d: zipkin-json: [%d]: span %s/%s (%s) has no timestamp, "
                            "and neither its parent nor any other span of its trace has one",
                            name_, zipkin_info_[i].line, zipkin_info_[i].index, s.trace_id.ToHex(),
                            s.span_id.ToHex(), s.name),
            &stats_.skipped_spans);
        if (!st.ok() && problem.ok()) problem = st;
      }
      size_t kept = 0;
      for (size_t i = 0; i < zipkin_spans_.size(); ++i) {
        if (!drop[i]) zipkin_spans_[kept++] = std::move(zipkin_spans_[i]);
      }
      zipkin_spans_.resize(kept);
    }
    zipkin_info_.clear();
    absl::Status s = batcher_.Add(&zipkin_spans_);
    zipkin_spans_.clear();
    return problem.ok() ? s : problem;
  }

  static constexpr size_t kZipkinGroupSpans = 100000;

  const std::string& name_;
  const LoadOptions& options_;
  SpanSink sink_;
  LoadStats stats_;
  Batcher batcher_;
  ProtoBatcher proto_{options_, sink_, &stats_};
  const std::function<absl::Status(const Span&)>* validate_ = nullptr;
  InputStream* in_ = nullptr;
  std::unique_ptr<InputStream> stream_;
  uint64_t bytes_ = 0, total_ = 0;
  bool auto_binary_ = false;
  simdjson::dom::parser parser_;
  std::vector<Span> spans_;
  std::vector<ZipkinSpanInfo> info_;
  std::vector<Span> zipkin_spans_;
  std::vector<ZipkinSpanInfo> zipkin_info_;
};

}  // namespace

absl::StatusOr<LoadStats> LoadBuffer(std::string_view data, const std::string& name,
                                     const LoadOptions& options, SpanSink sink) {
  std::unique_ptr<InputStream> in = MemoryInput(data);
  return Load(name, options, sink).Run(in.get());
}

absl::StatusOr<LoadStats> LoadFile(const std::string& path, const LoadOptions& options,
                                   SpanSink sink) {
  auto in = OpenFileInput(path);
  if (!in.ok()) return in.status();
  return Load(path == "-" ? "<stdin>" : path, options, sink).Run(in->get());
}

}  // namespace spanstore
