// Cuts a stream of JSON text into pieces small enough to parse one at a time, so that a JSON
// file of any size loads in bounded memory (hardening issue, item 4).
//
// Documents (one, several concatenated, or one per line) up to kWholeDocumentBytes are handed
// over whole, so a small document loads all or nothing as before. A larger one is split at its
// big array -- an OTLP request's "resourceSpans" (or "resource_spans", Tempo's "batches"), a
// Jaeger response's "data" (one trace per element), a Zipkin array (one span per element) --
// and its elements are handed over a few at a time, wrapped so the readers take them as a
// document of their own: {"resourceSpans":[e,...]}, {"data":[e,...]}, [e,...]. Other members
// of a split document are skipped. No element may exceed the piece limit.
//
// The splitter checks only the structure (brackets, strings); simdjson validates each piece.
// Once a document is seen to fit on its line and is followed by a newline (the Collector's
// file exporter), the input is newline-delimited: a line that ends inside a document is an
// error, and Recover() resumes at the next line.
//
// Thread safety: one thread at a time.

#ifndef SPANSTORE_FORMATS_JSON_SPLITTER_H_
#define SPANSTORE_FORMATS_JSON_SPLITTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/input_stream.h"
#include "spanstore/loader.h"

namespace spanstore {

struct JsonPiece {
  enum class Kind {
    kDocument,       // a whole document, format still to be detected
    kResourceSpans,  // {"resourceSpans":[...]}: OTLP JSON
    kJaegerTraces,   // {"data":[...]}: Jaeger JSON
    kZipkinSpans,    // [...]: Zipkin v2 JSON
    kDocumentEnd,    // no text: the split document that the previous pieces came from ended
  };
  struct Element {
    size_t begin, end;  // in text
    uint64_t line, offset;
  };
  Kind kind = Kind::kDocument;
  std::string_view text;            // valid until the next call to Next()
  std::string_view prefix, suffix;  // the wrapping around the elements in text
  std::vector<Element> elements;    // split pieces only
  size_t first_index = 0;           // index of elements[0] in its array
  uint64_t line = 1, offset = 0;    // where the piece starts
  uint64_t document = 0;            // 1-based
};

class JsonSplitter {
 public:
  // Whole documents up to this size are not split.
  static constexpr size_t kWholeDocumentBytes = 4 << 20;
  // Input is read at least this much at a time.
  static constexpr size_t kReadBytes = 256 << 10;
  // Elements are gathered into pieces of about this size.
  static constexpr size_t kPieceBytes = 1 << 20;

  // `max_piece` bounds a whole document and an element of a split one.
  JsonSplitter(InputStream* in, std::string name, TraceFormat format, uint64_t max_piece);

  // The next piece; false at the end of the input. Errors are InvalidArgument naming the
  // input, line and byte. After an element over the limit the splitter can go on (Next again
  // skips it); after other errors only Recover() can.
  absl::StatusOr<bool> Next(JsonPiece* piece);
  // After an error: true when the input is newline-delimited and reading resumes at the next
  // line; false when nothing more can be read.
  bool Recover();

  uint64_t bytes_read() const { return dropped_ + buf_.size(); }
  uint64_t documents() const { return documents_; }

 private:
  enum class State { kTop, kArray, kObjectRest, kBroken };

  int Peek();       // the byte at pos_ (reading more as needed), -1 at the end
  bool ReadMore();  // appends to buf_, dropping buf_[0, keep_); false at the end
  bool TakeLine(JsonPiece* piece);
  void SkipSpace();
  // Scans the value at pos_ to its end. Keeps what it scans unless `discard`. More than `limit`
  // bytes: *too_large, and with `stop` returns at once.
  absl::Status ScanValue(uint64_t limit, bool discard, bool stop, bool* too_large);
  absl::Status Error(uint64_t line, uint64_t offset, std::string_view what);
  absl::StatusOr<bool> StartDocument(JsonPiece* piece);
  absl::StatusOr<bool> WholeDocument(uint64_t start, JsonPiece* piece);
  absl::StatusOr<bool> FinishWhole(uint64_t start, bool too_large, JsonPiece* piece);
  absl::StatusOr<bool> SplitObject(uint64_t start, JsonPiece* piece);
  absl::StatusOr<bool> WholeDocumentTail(uint64_t start, JsonPiece* piece);
  absl::StatusOr<bool> EnterArray(JsonPiece::Kind kind, JsonPiece* piece);
  absl::StatusOr<bool> ArrayStep(JsonPiece* piece);
  absl::StatusOr<bool> ObjectRestStep(JsonPiece* piece);
  JsonPiece::Kind SplitKind(std::string_view key) const;
  void DocumentDone();
  bool EmitPiece(JsonPiece* piece);
  uint64_t Offset(size_t pos) const { return dropped_ + pos; }

  InputStream* const in_;
  const std::string name_;
  const TraceFormat format_;
  const uint64_t max_piece_;

  std::string buf_;
  size_t pos_ = 0;   // next byte to scan
  size_t keep_ = 0;  // buf_[keep_, ...) is still needed
  uint64_t dropped_ = 0;
  uint64_t line_ = 1;
  bool eof_ = false;
  absl::Status read_error_;

  State state_ = State::kTop;
  bool ndjson_ = false;
  bool expect_element_ = true;
  bool top_array_ = false;      // the split array is the document itself (Zipkin)
  bool at_line_start_ = false;  // the last error consumed its line's newline
  bool emitted_ = false;        // piece_ was handed out: cleared at the next call
  uint64_t doc_line_ = 1;       // where the current document starts
  uint64_t documents_ = 0;
  uint64_t first_doc_lines_ = 0;
  uint64_t last_doc_end_line_ = 0;
  size_t next_index_ = 0;

  JsonPiece::Kind kind_ = JsonPiece::Kind::kDocument;
  std::string piece_;  // prefix, elements, suffix
  std::vector<JsonPiece::Element> elements_;
  size_t piece_first_index_ = 0;
  absl::Status deferred_;  // an error found while a piece was pending: returned next
  bool end_pending_ = false;
};

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_JSON_SPLITTER_H_
