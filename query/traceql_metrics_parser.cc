// TraceQL metrics: the pipeline after the span filter (the filter itself is ParseQuery's):
// "| function(...) [by (...)] [> n] [| topk(k)] [with(...)]" or "| compare({ ... }, ...)".

#include <algorithm>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spanstore/traceql_metrics.h"

namespace spanstore {
namespace {

constexpr uint32_t kMaxSeriesLimit = 100000;

// A cursor over the pipeline text; columns are reported in the whole query's terms.
class Cursor {
 public:
  Cursor(std::string_view text, size_t pos) : text_(text), pos_(pos) {}

  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipSpace();
    return PeekRaw(c);
  }
  // Without skipping spaces first: the second character of ">=".
  bool PeekRaw(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  char Next() { return text_[pos_++]; }  // REQUIRES: a Peek was true
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  // A word: letters, digits, '_', '.', '-' (attribute names like resource.service.name).
  std::string Word() {
    SkipSpace();
    const size_t begin = pos_;
    while (pos_ < text_.size() &&
           (absl::ascii_isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
            text_[pos_] == '.' || text_[pos_] == '-')) {
      ++pos_;
    }
    return std::string(text_.substr(begin, pos_ - begin));
  }
  // Consumes the word `w` when it is next (a whole word), or leaves the cursor where it was.
  bool EatWord(std::string_view w) {
    const size_t at = pos();
    if (Word() == w) return true;
    pos_ = at;
    return false;
  }
  // A quoted string ("..." with backslash escapes), without its quotes; false when none is next.
  bool QuotedString(std::string* out) {
    if (!Peek('"')) return false;
    out->clear();
    for (++pos_; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out->push_back(text_[pos_]);
    }
    if (pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  size_t pos() {
    SkipSpace();
    return pos_;
  }
  void set_pos(size_t pos) { pos_ = pos; }
  std::string_view text() const { return text_; }
  // An error at `at` (a pos() taken before the offending word was read), or here.
  absl::Status Error(std::string_view what, size_t at = std::string_view::npos) {
    SkipSpace();
    if (at != std::string_view::npos) pos_ = at;
    const std::string found = pos_ >= text_.size()
                                  ? "end of input"
                                  : absl::StrCat("'", std::string(text_.substr(pos_, 12)), "'");
    return absl::InvalidArgumentError(
        absl::StrFormat("column %d: expected %s, found %s", pos_ + 1, what, found));
  }

 private:
  std::string_view text_;
  size_t pos_;
};

// The end of the span filter: the '}' that closes the first '{' at or after `from`, outside
// quoted strings.
absl::StatusOr<size_t> FilterEnd(std::string_view text, size_t from = 0) {
  int depth = 0;
  bool seen = false;
  for (size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' || c == '`') {
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\' && c == '"') ++i;
      }
      continue;
    }
    if (c == '{') {
      ++depth;
      seen = true;
    } else if (c == '}' && --depth == 0 && seen) {
      return i + 1;
    }
  }
  return absl::InvalidArgumentError("a metrics query starts with a span filter '{ ... }'");
}

bool ValidLabel(const std::string& name) {
  return name == "name" || name == "status" || name == "kind" ||
         (name.size() > 1 && name[0] == '.') || (name.rfind("span.", 0) == 0 && name.size() > 5) ||
         (name.rfind("resource.", 0) == 0 && name.size() > 9);
}

bool UsesTraceIntrinsics(const FilterExpr& e) {
  if (e.kind == FilterExpr::Kind::kIntrinsic && IsTraceIntrinsic(e.intrinsic)) return true;
  return std::any_of(e.children.begin(), e.children.end(), UsesTraceIntrinsics);
}

// compare()'s arguments after its '(': "{ selection } [, top_n [, start, end]]".
absl::Status ParseCompareArguments(Cursor& c, MetricsQuery* q) {
  const size_t filter_pos = c.pos();
  if (!c.Peek('{')) return c.Error("a span filter '{ ... }' choosing the selection");
  auto end = FilterEnd(c.text(), filter_pos);
  if (!end.ok()) return c.Error("a span filter '{ ... }' choosing the selection");
  auto selection = ParseQuery(c.text().substr(filter_pos, *end - filter_pos));
  if (!selection.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compare() selection (from column ", filter_pos + 1, "): ", selection.status().message()));
  }
  if (selection->filter.has_value() && UsesTraceIntrinsics(*selection->filter)) {
    return c.Error("a selection of span fields (compare() classifies one span at a time)",
                   filter_pos);
  }
  q->selection = std::move(*selection);
  c.set_pos(*end);
  if (!c.Eat(',')) return absl::OkStatus();
  const size_t n_pos = c.pos();
  if (!absl::SimpleAtoi(c.Word(), &q->top_n) || q->top_n == 0 || q->top_n > kMaxSeriesLimit) {
    return c.Error("the number of top values per attribute, from 1 to 100000", n_pos);
  }
  if (!c.Eat(',')) return absl::OkStatus();
  const size_t start_pos = c.pos();
  int64_t start = 0, end_time = 0;
  if (!absl::SimpleAtoi(c.Word(), &start) || start <= 0) {
    return c.Error("the selection's start in unix nanoseconds", start_pos);
  }
  if (!c.Eat(',')) return c.Error("',' and the selection's end in unix nanoseconds");
  const size_t end_pos = c.pos();
  if (!absl::SimpleAtoi(c.Word(), &end_time) || end_time <= start) {
    return c.Error("the selection's end in unix nanoseconds, after its start", end_pos);
  }
  q->selection_start_unix_nano = static_cast<uint64_t>(start);
  q->selection_end_unix_nano = static_cast<uint64_t>(end_time);
  return absl::OkStatus();
}

// Query hints, "with(exemplars=true, sample=0.1)", after "with".
absl::Status ParseHints(Cursor& c, MetricsQuery* q) {
  if (!c.Eat('(')) return c.Error("'(' after with");
  do {
    const size_t key_pos = c.pos();
    const std::string key = c.Word();
    if (key.empty()) return c.Error("a hint name such as exemplars", key_pos);
    if (!c.Eat('=')) return c.Error(absl::StrCat("'=' and a value for the hint ", key));
    std::string value;
    const size_t value_pos = c.pos();
    if (!c.QuotedString(&value)) value = c.Word();
    if (value.empty()) return c.Error(absl::StrCat("a value for the hint ", key), value_pos);
    if (key == "exemplars") {
      if (value == "true") {
        q->exemplars = MetricsQuery::kDefaultExemplars;
      } else if (value == "false") {
        q->exemplars = 0;
      } else {
        return c.Error("true or false for exemplars", value_pos);
      }
    }
    // Other hints (sample, most_recent, ...) tune how Tempo samples; the answer here is exact.
  } while (c.Eat(','));
  if (!c.Eat(')')) return c.Error("')' closing with(...)");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MetricsQuery> ParseMetricsQuery(std::string_view text) {
  auto end = FilterEnd(text);
  if (!end.ok()) return end.status();
  MetricsQuery q;
  auto filter = ParseQuery(text.substr(0, *end));
  if (!filter.ok()) return filter.status();
  q.filter = std::move(*filter);
  Cursor c(text, *end);
  if (!c.Eat('|')) return c.Error("'|' and a metrics function after the span filter");
  const size_t fn_pos = c.pos();
  const std::string fn = c.Word();
  using F = MetricsQuery::Function;
  static const std::pair<const char*, F> kFunctions[] = {
      {"rate", F::kRate},
      {"count_over_time", F::kCountOverTime},
      {"quantile_over_time", F::kQuantileOverTime},
      {"histogram_over_time", F::kHistogramOverTime},
      {"sum_over_time", F::kSumOverTime},
      {"min_over_time", F::kMinOverTime},
      {"max_over_time", F::kMaxOverTime},
      {"avg_over_time", F::kAvgOverTime},
      {"compare", F::kCompare}};
  auto known = std::find_if(std::begin(kFunctions), std::end(kFunctions),
                            [&](const auto& f) { return fn == f.first; });
  if (known != std::end(kFunctions)) {
    q.function = known->second;
  } else {
    return c.Error(
        "rate(), count_over_time(), quantile_over_time(value, q...), histogram_over_time(value) "
        "sum/min/max/avg_over_time(value) (the value 'duration' or an attribute) or "
        "compare({ selection })",
        fn_pos);
  }
  if (!c.Eat('(')) return c.Error("'('");
  if (q.function == MetricsQuery::Function::kCompare) {
    if (absl::Status s = ParseCompareArguments(c, &q); !s.ok()) return s;
    if (!c.Eat(')')) return c.Error("')' closing compare(");
    // Tempo takes neither by(), a threshold nor a second stage after compare(): its series
    // are already per attribute value.
    if (c.EatWord("with")) {
      if (absl::Status s = ParseHints(c, &q); !s.ok()) return s;
    }
    if (!c.AtEnd()) return c.Error("the end of the query after compare(...)");
    return q;
  }
  // Every function but rate() and count_over_time() takes a value: the duration or an
  // attribute (quantiles and histograms bucket ints only).
  const bool ints_only = q.function == MetricsQuery::Function::kQuantileOverTime ||
                         q.function == MetricsQuery::Function::kHistogramOverTime;
  if (q.function != MetricsQuery::Function::kRate &&
      q.function != MetricsQuery::Function::kCountOverTime) {
    const size_t arg_pos = c.pos();
    q.value = c.Word();
    if (q.value != "duration" &&
        (!ValidLabel(q.value) || q.value == "name" || q.value == "status" || q.value == "kind")) {
      return c.Error(ints_only ? "'duration' or an int attribute (span.x, resource.x, .x)"
                               : "'duration' or a numeric attribute (span.x, resource.x, .x)",
                     arg_pos);
    }
  }
  if (q.function == MetricsQuery::Function::kQuantileOverTime) {
    while (c.Eat(',')) {
      double v;
      const size_t number_pos = c.pos();
      const std::string number = c.Word();
      if (!absl::SimpleAtod(number, &v) || !(v >= 0 && v <= 1)) {
        return c.Error("a quantile between 0 and 1", number_pos);
      }
      q.quantiles.push_back(v);
    }
    if (q.quantiles.empty()) return c.Error("',' and at least one quantile");
  }
  if (!c.Eat(')')) return c.Error("')'");
  auto at_threshold = [&] { return c.Peek('>') || c.Peek('<') || c.Peek('=') || c.Peek('!'); };
  const size_t after_function = c.pos();
  const bool hints_next = c.EatWord("with");
  c.set_pos(after_function);
  if (!c.AtEnd() && !c.Peek('|') && !at_threshold() && !hints_next) {
    const size_t by_pos = c.pos();
    if (c.Word() != "by") {
      return c.Error("'by (...)', '| topk(n)', 'with(...)' or the end of the query", by_pos);
    }
    if (!c.Eat('(')) return c.Error("'(' after by");
    do {
      const size_t name_pos = c.pos();
      std::string name = c.Word();
      if (!ValidLabel(name)) {
        return c.Error("an attribute (span.x, resource.x, .x) or name, status, kind", name_pos);
      }
      q.by.push_back(std::move(name));
    } while (c.Eat(','));
    if (!c.Eat(')')) return c.Error("')'");
  }
  // A threshold: "> 10", keeping only the data points that meet it.
  if (at_threshold()) {
    const size_t op_pos = c.pos();
    std::string op(1, c.Next());
    if (c.PeekRaw('=')) op += c.Next();
    static const std::pair<const char*, CompareOp> kOps[] = {
        {">", CompareOp::kGt},  {">=", CompareOp::kGe}, {"<", CompareOp::kLt},
        {"<=", CompareOp::kLe}, {"=", CompareOp::kEq},  {"==", CompareOp::kEq},
        {"!=", CompareOp::kNe}};
    auto it = std::find_if(std::begin(kOps), std::end(kOps),
                           [&](const auto& o) { return op == o.first; });
    if (it == std::end(kOps)) return c.Error("a comparison (>, >=, <, <=, =, !=)", op_pos);
    q.threshold_op = it->second;
    const size_t number_pos = c.pos();
    if (!absl::SimpleAtod(c.Word(), &q.threshold) || std::isnan(q.threshold)) {
      return c.Error("a number to compare the values with", number_pos);
    }
    q.has_threshold = true;
  }
  if (c.Eat('|')) {
    const size_t stage_pos = c.pos();
    const std::string stage = c.Word();
    if (stage == "topk") {
      q.second_stage = MetricsQuery::SecondStage::kTopK;
    } else if (stage == "bottomk") {
      q.second_stage = MetricsQuery::SecondStage::kBottomK;
    } else {
      return c.Error("topk(n) or bottomk(n)", stage_pos);
    }
    if (!c.Eat('(')) return c.Error("'('");
    const size_t k_pos = c.pos();
    if (!absl::SimpleAtoi(c.Word(), &q.k) || q.k == 0 || q.k > kMaxSeriesLimit) {
      return c.Error("a series count from 1 to 100000", k_pos);
    }
    if (!c.Eat(')')) return c.Error("')'");
  }
  if (c.EatWord("with")) {
    if (absl::Status s = ParseHints(c, &q); !s.ok()) return s;
  }
  if (!c.AtEnd()) return c.Error("the end of the query");
  return q;
}

}  // namespace spanstore
