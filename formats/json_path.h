// Shared by the JSON readers: Path (where a value sits in a JSON document, for error
// messages) and the keep-or-skip rule for a converted span.

#ifndef SPANSTORE_FORMATS_JSON_PATH_H_
#define SPANSTORE_FORMATS_JSON_PATH_H_

#include <string>
#include <string_view>
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

// Appends `span` if its conversion succeeded (`s` ok). Otherwise returns `s`, or with
// `skip_invalid` counts the span as skipped, keeps the first error and returns OK.
inline absl::Status KeepOrSkip(absl::Status s, Span&& span, bool skip_invalid,
                               std::vector<Span>* out, uint64_t* skipped,
                               std::string* first_error) {
  if (s.ok()) {
    out->push_back(std::move(span));
    return s;
  }
  if (!skip_invalid) return s;
  ++*skipped;
  if (first_error->empty()) *first_error = std::string(s.message());
  return absl::OkStatus();
}

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_JSON_PATH_H_
