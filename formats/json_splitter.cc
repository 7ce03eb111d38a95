// JsonSplitter: a resumable scan over the JSON structure (strings, brackets) that keeps in
// memory only the document or element being cut out, plus what was read ahead.

#include "formats/json_splitter.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"

namespace spanstore {
namespace {

constexpr std::string_view kResourceSpansPrefix = "{\"resourceSpans\":[";
constexpr std::string_view kJaegerPrefix = "{\"data\":[";
constexpr std::string_view kObjectSuffix = "]}";

std::string_view Prefix(JsonPiece::Kind kind) {
  switch (kind) {
    case JsonPiece::Kind::kResourceSpans:
      return kResourceSpansPrefix;
    case JsonPiece::Kind::kJaegerTraces:
      return kJaegerPrefix;
    case JsonPiece::Kind::kZipkinSpans:
      return "[";
    default:
      return "";
  }
}

std::string_view Suffix(JsonPiece::Kind kind) {
  return kind == JsonPiece::Kind::kZipkinSpans ? "]" : kObjectSuffix;
}

std::string_view ElementName(JsonPiece::Kind kind) {
  switch (kind) {
    case JsonPiece::Kind::kResourceSpans:
      return "resourceSpans element";
    case JsonPiece::Kind::kJaegerTraces:
      return "Jaeger trace (data element)";
    case JsonPiece::Kind::kZipkinSpans:
      return "Zipkin span (array element)";
    default:
      return "JSON document";
  }
}

bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

JsonSplitter::JsonSplitter(InputStream* in, std::string name, TraceFormat format,
                           uint64_t max_piece)
    : in_(in),
      name_(std::move(name)),
      format_(format),
      max_piece_(std::max<uint64_t>(max_piece, 2)) {}

int JsonSplitter::Peek() {
  if (pos_ < buf_.size()) return static_cast<unsigned char>(buf_[pos_]);
  if (!ReadMore()) return -1;
  return static_cast<unsigned char>(buf_[pos_]);
}

bool JsonSplitter::ReadMore() {
  if (eof_) return false;
  if (keep_ > 0) {  // drop what is no longer needed before reading more
    buf_.erase(0, keep_);
    pos_ -= keep_;
    dropped_ += keep_;
    keep_ = 0;
  }
  // Reading at least as much as is kept makes the moves above linear in the input.
  const size_t want = std::max<size_t>(1 << 20, buf_.size());
  const size_t old = buf_.size();
  buf_.resize(old + want);
  auto n = in_->Read(buf_.data() + old, want);
  buf_.resize(old + (n.ok() ? *n : 0));
  if (!n.ok()) read_error_ = n.status();
  if (!n.ok() || *n == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

// Newline-delimited input: the line is the document (simdjson finds whatever is wrong with it),
// found with memchr instead of scanning its structure. False when the line is too long to take
// whole: it is then scanned and split like any large document.
bool JsonSplitter::TakeLine(JsonPiece* piece) {
  const size_t limit = std::min<uint64_t>(kWholeDocumentBytes, max_piece_);
  size_t searched = pos_;
  while (true) {
    const void* nl = std::memchr(buf_.data() + searched, '\n', buf_.size() - searched);
    size_t end = nl != nullptr ? static_cast<const char*>(nl) - buf_.data() : buf_.size();
    if (end - pos_ > limit) return false;
    if (nl == nullptr) {
      searched = buf_.size() - pos_;  // relative: ReadMore may move the buffer
      const size_t at = pos_;
      keep_ = at;
      if (ReadMore()) {
        searched += pos_;
        continue;
      }
      end = buf_.size();
    }
    const uint64_t start = Offset(pos_);
    size_t last = end;
    while (last > pos_ &&
           (buf_[last - 1] == '\r' || buf_[last - 1] == ' ' || buf_[last - 1] == '\t')) {
      --last;
    }
    piece->kind = JsonPiece::Kind::kDocument;
    piece->text = std::string_view(buf_).substr(pos_, last - pos_);
    piece->elements.clear();
    piece->first_index = 0;
    piece->line = line_;
    piece->offset = start;
    piece->document = documents_;
    pos_ = std::min(end + 1, buf_.size());
    keep_ = pos_;
    DocumentDone();
    line_ += nl != nullptr;
    return true;
  }
}

void JsonSplitter::SkipSpace() {
  for (int c = Peek(); IsSpace(c); c = Peek()) {
    line_ += c == '\n';
    ++pos_;
    if (state_ == State::kTop) keep_ = pos_;
  }
}

absl::Status JsonSplitter::Error(uint64_t line, uint64_t offset, std::string_view what) {
  if (!read_error_.ok()) return read_error_;
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: line %d: %s (byte %d)", name_, line, what, offset));
}

absl::Status JsonSplitter::ScanValue(uint64_t limit, bool discard, bool stop, bool* too_large) {
  const uint64_t start = Offset(pos_), start_line = line_;
  int c = Peek();
  if (c < 0) return Error(start_line, start, "the input ends inside a JSON document");
  if (c != '{' && c != '[' && c != '"') {  // a number or literal: up to the next delimiter
    while (c >= 0 && !IsSpace(c) && c != ',' && c != ']' && c != '}') {
      ++pos_;
      if (discard) keep_ = pos_;
      c = Peek();
    }
    *too_large = Offset(pos_) - start > limit;
    return absl::OkStatus();
  }
  int depth = 0;
  bool in_string = false, escape = false;
  while (true) {
    if (pos_ == buf_.size()) {
      if (discard) keep_ = pos_;
      if (Peek() < 0) {
        return Error(start_line, start,
                     absl::StrFormat("the input ends inside a JSON document (%d bytes unparsed)",
                                     Offset(pos_) - start));
      }
    }
    const char* p = buf_.data() + pos_;
    const char* const end = buf_.data() + buf_.size();
    for (; p < end; ++p) {
      const char ch = *p;
      if (in_string) {
        // Strings are most of the bytes: jump to the next quote or backslash. (A raw newline
        // in a string is invalid JSON, which simdjson reports; it is not counted as a line.)
        if (escape) {
          escape = false;
          continue;
        }
        const char* q = static_cast<const char*>(std::memchr(p, '"', end - p));
        const char* b = static_cast<const char*>(std::memchr(p, '\\', (q ? q : end) - p));
        if (b != nullptr) {
          p = b;
          escape = true;
        } else if (q == nullptr) {
          p = end - 1;
        } else {
          p = q;
          in_string = false;
          if (depth == 0) {
            pos_ = p + 1 - buf_.data();
            *too_large = Offset(pos_) - start > limit;
            return absl::OkStatus();
          }
        }
        continue;
      }
      switch (ch) {
        case '"':
          in_string = true;
          break;
        case '{':
        case '[':
          ++depth;
          break;
        case '}':
        case ']':
          if (--depth == 0) {
            pos_ = p + 1 - buf_.data();
            *too_large = *too_large || Offset(pos_) - start > limit;
            return absl::OkStatus();
          }
          break;
        case '\n':
          if (ndjson_) {
            pos_ = p + 1 - buf_.data();
            at_line_start_ = true;
            return Error(line_++, start,
                         "invalid JSON: the line ends inside a JSON document (newline-delimited "
                         "input)");
          }
          ++line_;
          break;
        default:
          break;
      }
    }
    pos_ = end - buf_.data();
    if (Offset(pos_) - start > limit) {
      *too_large = true;
      if (stop) return absl::OkStatus();
      discard = true;
    }
  }
}

absl::StatusOr<bool> JsonSplitter::Next(JsonPiece* piece) {
  if (emitted_) {
    piece_.clear();
    elements_.clear();
    emitted_ = false;
  }
  if (!deferred_.ok()) return std::exchange(deferred_, absl::OkStatus());
  if (end_pending_) {
    end_pending_ = false;
    piece->kind = JsonPiece::Kind::kDocumentEnd;
    piece->text = {};
    piece->elements.clear();
    piece->document = documents_;
    return true;
  }
  switch (state_) {
    case State::kTop:
      return StartDocument(piece);
    case State::kArray:
      return ArrayStep(piece);
    case State::kObjectRest:
      return ObjectRestStep(piece);
    case State::kBroken:
      return false;
  }
  return false;
}

bool JsonSplitter::Recover() {
  if (state_ != State::kBroken) return true;
  if (!ndjson_ || !read_error_.ok()) return false;
  piece_.clear();
  elements_.clear();
  if (!at_line_start_) {
    for (int c = Peek(); c >= 0; c = Peek()) {
      ++pos_;
      keep_ = pos_;
      if (c == '\n') {
        ++line_;
        break;
      }
    }
  }
  at_line_start_ = false;
  keep_ = pos_;
  state_ = State::kTop;
  return true;
}

void JsonSplitter::DocumentDone() {
  if (documents_ == 1) first_doc_lines_ = line_ - doc_line_;
  last_doc_end_line_ = line_;
  state_ = State::kTop;
}

absl::StatusOr<bool> JsonSplitter::StartDocument(JsonPiece* piece) {
  SkipSpace();
  keep_ = pos_;
  const int c = Peek();
  if (c < 0) {
    if (!read_error_.ok()) return read_error_;
    return false;
  }
  ++documents_;
  // The first document fit on its line and the next starts on a later one: one per line.
  if (documents_ == 2 && first_doc_lines_ == 0 && line_ > last_doc_end_line_) ndjson_ = true;
  const uint64_t start = Offset(pos_);
  doc_line_ = line_;
  at_line_start_ = false;
  if (c != '{' && c != '[') {
    state_ = State::kBroken;
    return Error(line_, start, "invalid JSON: expected a document ('{' or '[')");
  }
  if (ndjson_ && TakeLine(piece)) return true;
  bool too_large = false;
  absl::Status s =
      ScanValue(std::min<uint64_t>(kWholeDocumentBytes, max_piece_), false, true, &too_large);
  if (!s.ok()) {
    state_ = State::kBroken;
    return s;
  }
  if (!too_large) {
    const size_t begin = start - dropped_;
    piece->kind = JsonPiece::Kind::kDocument;
    piece->text = std::string_view(buf_).substr(begin, pos_ - begin);
    piece->elements.clear();
    piece->first_index = 0;
    piece->line = doc_line_;
    piece->offset = start;
    piece->document = documents_;
    keep_ = pos_;
    DocumentDone();
    return true;
  }
  // Too large to take whole: start again at the document's first byte and split it.
  pos_ = start - dropped_;
  line_ = doc_line_;
  if (c == '[' && (format_ == TraceFormat::kAuto || format_ == TraceFormat::kZipkinJson)) {
    ++pos_;
    keep_ = pos_;
    top_array_ = true;
    return EnterArray(JsonPiece::Kind::kZipkinSpans, piece);
  }
  if (c == '{') return SplitObject(start, piece);
  return WholeDocument(start, piece);
}

absl::StatusOr<bool> JsonSplitter::WholeDocument(uint64_t start, JsonPiece* piece) {
  bool too_large = false;
  absl::Status s = ScanValue(max_piece_, false, false, &too_large);
  if (!s.ok()) {
    state_ = State::kBroken;
    return s;
  }
  return FinishWhole(start, too_large, piece);
}

absl::StatusOr<bool> JsonSplitter::FinishWhole(uint64_t start, bool too_large, JsonPiece* piece) {
  DocumentDone();
  if (too_large || Offset(pos_) - start > max_piece_) {
    keep_ = pos_;
    return Error(doc_line_, start,
                 absl::StrFormat("a JSON document is larger than the %d-byte document limit "
                                 "(LoadOptions::max_document_bytes)",
                                 max_piece_));
  }
  const size_t begin = start - dropped_;
  piece->kind = JsonPiece::Kind::kDocument;
  piece->text = std::string_view(buf_).substr(begin, pos_ - begin);
  piece->elements.clear();
  piece->first_index = 0;
  piece->line = doc_line_;
  piece->offset = start;
  piece->document = documents_;
  keep_ = pos_;
  return true;
}

JsonPiece::Kind JsonSplitter::SplitKind(std::string_view key) const {
  const bool otlp = format_ == TraceFormat::kAuto || format_ == TraceFormat::kOtlpJson;
  const bool jaeger = format_ == TraceFormat::kAuto || format_ == TraceFormat::kJaegerJson;
  if (otlp && (key == "resourceSpans" || key == "resource_spans" || key == "batches")) {
    return JsonPiece::Kind::kResourceSpans;
  }
  if (jaeger && key == "data") return JsonPiece::Kind::kJaegerTraces;
  return JsonPiece::Kind::kDocument;
}

absl::StatusOr<bool> JsonSplitter::SplitObject(uint64_t start, JsonPiece* piece) {
  ++pos_;  // '{'
  bool too_large = false;
  while (true) {
    SkipSpace();
    const int c = Peek();
    if (c == '}') {  // nothing to split at: the document is taken whole, within the limit
      ++pos_;
      return FinishWhole(start, too_large, piece);
    }
    if (c == ',') {
      ++pos_;
      continue;
    }
    if (c != '"') {
      state_ = State::kBroken;
      return Error(
          line_, Offset(pos_),
          c < 0 ? "the input ends inside a JSON document" : "invalid JSON: expected a member name");
    }
    const uint64_t key_at = Offset(pos_);
    absl::Status s = ScanValue(max_piece_, false, false, &too_large);
    if (s.ok() && too_large) return WholeDocumentTail(start, piece);
    const size_t key_begin = key_at - dropped_ + 1;
    const std::string key = s.ok() ? buf_.substr(key_begin, pos_ - 1 - key_begin) : "";
    if (s.ok()) {
      SkipSpace();
      if (Peek() != ':') s = Error(line_, Offset(pos_), "invalid JSON: expected ':'");
      ++pos_;
      SkipSpace();
    }
    if (!s.ok()) {
      state_ = State::kBroken;
      return s;
    }
    const JsonPiece::Kind kind = SplitKind(key);
    if (kind != JsonPiece::Kind::kDocument && Peek() == '[') {
      ++pos_;
      keep_ = pos_;  // the members before are not needed
      top_array_ = false;
      return EnterArray(kind, piece);
    }
    s = ScanValue(max_piece_, false, false, &too_large);
    if (!s.ok()) {
      state_ = State::kBroken;
      return s;
    }
    if (too_large || Offset(pos_) - start > max_piece_) return WholeDocumentTail(start, piece);
  }
}

// The rest of a document already known to be over the limit: skipped, then reported.
absl::StatusOr<bool> JsonSplitter::WholeDocumentTail(uint64_t start, JsonPiece* piece) {
  int depth = 1;  // inside the top-level object
  bool too_large = true;
  while (depth > 0) {
    keep_ = pos_;
    const int c = Peek();
    if (c < 0) {
      state_ = State::kBroken;
      return Error(doc_line_, start, "the input ends inside a JSON document");
    }
    if (c == '"' || c == '{' || c == '[') {
      absl::Status s = ScanValue(max_piece_, true, false, &too_large);
      if (!s.ok()) {
        state_ = State::kBroken;
        return s;
      }
      continue;
    }
    depth -= c == '}' || c == ']';
    line_ += c == '\n';
    ++pos_;
  }
  return FinishWhole(start, true, piece);
}

absl::StatusOr<bool> JsonSplitter::EnterArray(JsonPiece::Kind kind, JsonPiece* piece) {
  state_ = State::kArray;
  kind_ = kind;
  expect_element_ = true;
  next_index_ = 0;
  return ArrayStep(piece);
}

bool JsonSplitter::EmitPiece(JsonPiece* piece) {
  if (elements_.empty()) return false;
  piece_.append(Suffix(kind_));
  piece->kind = kind_;
  piece->text = piece_;
  piece->prefix = Prefix(kind_);
  piece->suffix = Suffix(kind_);
  piece->elements = elements_;
  piece->first_index = piece_first_index_;
  piece->line = elements_[0].line;
  piece->offset = elements_[0].offset;
  piece->document = documents_;
  emitted_ = true;
  return true;
}

absl::StatusOr<bool> JsonSplitter::ArrayStep(JsonPiece* piece) {
  while (true) {
    SkipSpace();
    keep_ = pos_;
    const int c = Peek();
    if (c == ']' && !(expect_element_ && next_index_ > 0)) {
      ++pos_;
      keep_ = pos_;
      if (top_array_) {
        DocumentDone();
        end_pending_ = true;
      } else {
        state_ = State::kObjectRest;
      }
      if (EmitPiece(piece)) return true;
      return Next(piece);
    }
    if (c == ',' && !expect_element_) {
      ++pos_;
      expect_element_ = true;
      continue;
    }
    if (c < 0 || !expect_element_ || c == ',' || c == ']') {
      state_ = State::kBroken;
      absl::Status s = Error(line_, Offset(pos_),
                             c < 0 ? "the input ends inside a JSON document"
                                   : "invalid JSON: expected ',' or ']' between array elements");
      if (EmitPiece(piece)) {
        deferred_ = s;
        return true;
      }
      return s;
    }
    const uint64_t at = Offset(pos_), line = line_;
    bool too_large = false;
    absl::Status s = ScanValue(max_piece_, false, false, &too_large);
    if (!s.ok()) {
      state_ = State::kBroken;
      if (EmitPiece(piece)) {
        deferred_ = s;
        return true;
      }
      return s;
    }
    expect_element_ = false;
    const size_t index = next_index_++;
    if (too_large) {
      keep_ = pos_;
      s = Error(line, at,
                absl::StrFormat("a %s of more than %d bytes is over the limit "
                                "(LoadOptions::max_document_bytes)",
                                ElementName(kind_), max_piece_));
      if (EmitPiece(piece)) {
        deferred_ = s;
        return true;
      }
      return s;
    }
    if (elements_.empty()) {
      piece_.assign(Prefix(kind_));
      piece_first_index_ = index;
    } else {
      piece_.push_back(',');
    }
    const size_t begin = at - dropped_;
    JsonPiece::Element& e = elements_.emplace_back();
    e.begin = piece_.size();
    piece_.append(buf_, begin, pos_ - begin);
    e.end = piece_.size();
    e.line = line;
    e.offset = at;
    keep_ = pos_;
    if (piece_.size() >= kPieceBytes) {
      EmitPiece(piece);
      return true;
    }
  }
}

absl::StatusOr<bool> JsonSplitter::ObjectRestStep(JsonPiece* piece) {
  while (true) {
    SkipSpace();
    keep_ = pos_;
    const int c = Peek();
    if (c == '}') {
      ++pos_;
      keep_ = pos_;
      DocumentDone();
      piece->kind = JsonPiece::Kind::kDocumentEnd;
      piece->text = {};
      piece->elements.clear();
      piece->document = documents_;
      return true;
    }
    if (c == ',') {
      ++pos_;
      continue;
    }
    bool unused = false;
    absl::Status s = c == '"' ? ScanValue(UINT64_MAX, true, false, &unused)
                              : Error(line_, Offset(pos_),
                                      c < 0 ? "the input ends inside a JSON document"
                                            : "invalid JSON: expected a member name");
    if (s.ok()) {
      SkipSpace();
      if (Peek() != ':') s = Error(line_, Offset(pos_), "invalid JSON: expected ':'");
      ++pos_;
      SkipSpace();
    }
    if (s.ok()) s = ScanValue(UINT64_MAX, true, false, &unused);
    if (!s.ok()) {
      state_ = State::kBroken;
      return s;
    }
  }
}

}  // namespace spanstore
