// Shared by the JSON readers: Path (where a value sits in a JSON document, for error
// messages), Jaeger/Zipkin microsecond times, and the keep-or-skip rule for a converted span.

#ifndef SPANSTORE_FORMATS_JSON_PATH_H_
#define SPANSTORE_FORMATS_JSON_PATH_H_

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spanstore/span.h"

namespace spanstore {

// Where a value sits in the document, e.g. resourceSpans[0].scopeSpans[1].spans[3].traceId.
// Built on the stack as the converter descends and formatted only for an error message, so the
// common path costs nothing.
class Path {
 public:
  explicit Path(std::string_view key) : parent_(nullptr), key_(key) {}
  Path(const Path* parent, std::string_view key) : parent_(parent), key_(key) {}
  Path(const Path* parent, size_t index) : parent_(parent), index_(index), is_index_(true) {}

  std::string ToString() const {
    std::string out = parent_ != nullptr ? parent_->ToString() : "";
    if (is_index_) {
      absl::StrAppend(&out, "[", index_, "]");
    } else {
      if (!out.empty()) out.push_back('.');
      out.append(key_.data(), key_.size());
    }
    return out;
  }

 private:
  const Path* parent_;
  std::string_view key_;
  size_t index_ = 0;
  bool is_index_ = false;
};

// InvalidArgument "<path>: <what>".
inline absl::Status PathError(const Path& path, std::string_view what) {
  const std::string where = path.ToString();
  return absl::InvalidArgumentError(
      where.empty() ? std::string(what)
                    : absl::StrCat(where, ": ", absl::string_view(what.data(), what.size())));
}

// Microseconds since the epoch, or a duration in microseconds (Jaeger and Zipkin JSON), as
// nanoseconds. Values that are negative or overflow int64 nanoseconds (past the year 2262) are
// refused rather than wrapped. JSON null is 0 when null_is_zero (Jaeger may write null).
inline absl::Status MicrosAsNanos(simdjson::dom::element v, const Path& path, bool null_is_zero,
                                  uint64_t* nanos) {
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX) / 1000;
  uint64_t u = 0;
  int64_t i = 0;
  double d = 0;
  if (v.get(u) == simdjson::SUCCESS) {
    if (u > kMax) {
      return PathError(path, absl::StrCat(u, " microseconds overflows 64-bit nanoseconds"));
    }
    *nanos = u * 1000;
    return absl::OkStatus();
  }
  if (v.get(i) == simdjson::SUCCESS) {
    return PathError(path, absl::StrCat("negative time ", i, " (microseconds)"));
  }
  if (v.get(d) == simdjson::SUCCESS) {
    if (!(d >= 0)) return PathError(path, absl::StrCat("negative or NaN time ", d));
    if (d >= static_cast<double>(kMax)) {
      return PathError(path, absl::StrCat(d, " microseconds overflows 64-bit nanoseconds"));
    }
    *nanos = static_cast<uint64_t>(d * 1000);
    return absl::OkStatus();
  }
  if (null_is_zero && v.is_null()) {
    *nanos = 0;
    return absl::OkStatus();
  }
  return PathError(path, "expected a number of microseconds");
}

// What a Zipkin span said that the Span cannot hold, until its trace is put together.
struct ZipkinSpanInfo {
  size_t index = 0;     // in the input's array
  uint64_t line = 0;    // of the input, for messages (set by the loader)
  bool shared = false;  // "shared": true -- the server half of an RPC that reuses the client's id
  bool timed = true;    // had a timestamp (else start is 0 and end holds the duration)
};

// How a JSON reader treats what it converts.
struct JsonReadOptions {
  // Skip (count, keep the first message of) an invalid span instead of failing.
  bool skip_invalid = false;
  // The index of the document's first element in the whole input's array, when the loader
  // hands a large document over in pieces (formats/json_splitter.h): error paths name the
  // element's index in the input, not in the piece.
  size_t first_index = 0;
  // Called on each converted span (e.g. the store's ValidateSpan): a refusal is the span's
  // error, with its path. May be null.
  const std::function<absl::Status(const Span&)>* validate = nullptr;
  // Zipkin only: one entry per span appended to *out, for FixZipkinTraces
  // (formats/zipkin_json_reader.h). May be null.
  std::vector<ZipkinSpanInfo>* zipkin = nullptr;
};

// Appends `span` if its conversion succeeded (`s` ok) and the validator takes it. Otherwise
// returns the error (a refusal prefixed with `path`), or with `skip_invalid` counts the span
// as skipped, keeps the first error and returns OK.
inline absl::Status KeepOrSkip(absl::Status s, Span&& span, const Path& path,
                               const JsonReadOptions& options, std::vector<Span>* out,
                               uint64_t* skipped, std::string* first_error) {
  if (s.ok() && options.validate != nullptr && *options.validate) {
    s = (*options.validate)(span);
    if (!s.ok()) s = PathError(path, std::string(s.message()));
  }
  if (s.ok()) {
    out->push_back(std::move(span));
    return s;
  }
  if (!options.skip_invalid) return s;
  ++*skipped;
  if (first_error->empty()) *first_error = std::string(s.message());
  return absl::OkStatus();
}

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_JSON_PATH_H_
