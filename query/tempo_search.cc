// Tempo's search API over a Store: the request's parameters into a SpanQuery, then the traces
// with their span sets.

#include <re2/re2.h>

#include <algorithm>
#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "spanstore/jaeger.h"
#include "spanstore/store.h"
#include "spanstore/tempo.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

absl::Status BadParameter(std::string_view name, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid %s \"%s\": %s", AsAbsl(name), AsAbsl(value), AsAbsl(why)));
}

absl::StatusOr<uint64_t> ParseUnsigned(std::string_view name, std::string_view text) {
  uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return BadParameter(name, text, "expected a non-negative integer");
  }
  return v;
}

// logfmt: key=value pairs separated by spaces; a value may be "double quoted" with \" escapes.
absl::StatusOr<std::vector<JaegerTag>> ParseLogfmt(std::string_view text) {
  std::vector<JaegerTag> pairs;
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_spaces();
  while (i < text.size()) {
    const size_t key_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ' ') ++i;
    std::string key(text.substr(key_start, i - key_start));
    if (key.empty() || i >= text.size() || text[i] != '=') {
      return BadParameter("tags", text, "expected key=value pairs separated by spaces");
    }
    ++i;  // '='
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          value.push_back(text[i + 1]);
          i += 2;
        } else if (text[i] == '"') {
          ++i;
          closed = true;
          break;
        } else {
          value.push_back(text[i++]);
        }
      }
      if (!closed) return BadParameter("tags", text, "a quoted value does not end");
    } else {
      const size_t value_start = i;
      while (i < text.size() && text[i] != ' ') ++i;
      value = std::string(text.substr(value_start, i - value_start));
    }
    pairs.push_back({std::move(key), std::move(value)});
    skip_spaces();
  }
  return pairs;
}

// The fields a TraceQL query's filters name, gathered in one SpanQuery (its attributes and an
// `||` of the filters), so the search response shows them with each span.
void AddMentions(const SpanQuery& filter, SpanQuery* out) {
  if (!filter.services.empty()) out->services.push_back(filter.services[0]);
  if (filter.status.has_value()) out->status = filter.status;
  if (!filter.kinds.empty()) out->kinds.push_back(filter.kinds[0]);
  for (const AttributePredicate& p : filter.attributes) out->attributes.push_back(p);
  if (filter.filter.has_value()) {
    if (!out->filter.has_value()) {
      out->filter.emplace();
      out->filter->kind = FilterExpr::Kind::kOr;
    }
    out->filter->children.push_back(*filter.filter);
  }
}

void CollectMentions(const SpansetExpr& e, SpanQuery* out) {
  if (e.op == SpansetOp::kFilter) {
    AddMentions(e.filter, out);
    return;
  }
  for (const SpansetExpr& c : e.children) CollectMentions(c, out);
}

}  // namespace

absl::StatusOr<TempoSearchRequest> ParseTempoSearch(const TempoSearchParams& params) {
  TempoSearchRequest request;
  const std::string_view q = AsStd(absl::StripAsciiWhitespace(AsAbsl(params.q)));
  if (!q.empty()) {
    absl::StatusOr<SpanQuery> parsed = ParseQuery(q);
    if (parsed.ok()) {
      request.query = *std::move(parsed);
    } else {
      // More than one filter: the whole language. Its errors cover one filter's too.
      absl::StatusOr<TraceQuery> traceql = ParseTraceQuery(q);
      if (!traceql.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid TraceQL query: ", traceql.status().message()));
      }
      CollectMentions(traceql->spansets, &request.mentions);
      for (const PipelineStage& stage : traceql->pipeline) {
        if (stage.kind == PipelineStage::Kind::kFilter) {
          AddMentions(stage.filter, &request.mentions);
        }
      }
      // select(...) names what to show with each span.
      for (const TraceQLField& f : traceql->selected) {
        if (f.is_attribute) {
          AttributePredicate p;
          p.scope = f.scope;
          p.key = f.key;
          p.op = CompareOp::kExists;
          request.mentions.attributes.push_back(std::move(p));
        } else if (f.intrinsic == Intrinsic::kStatus) {
          request.mentions.status = StatusCode::kUnset;  // only its presence counts here
        } else if (f.intrinsic == Intrinsic::kKind) {
          request.mentions.kinds.push_back(SpanKind::kUnspecified);
        } else if (f.intrinsic == Intrinsic::kServiceName) {
          request.mentions.services.push_back("");
        } else if (f.intrinsic == Intrinsic::kNestedSetLeft ||
                   f.intrinsic == Intrinsic::kNestedSetRight ||
                   f.intrinsic == Intrinsic::kNestedSetParent) {
          // Search adds them to the spans as attributes (query/nested_set.h).
          AttributePredicate p;
          p.scope = AttributeScope::kSpan;
          p.key = f.text;
          p.op = CompareOp::kExists;
          request.mentions.attributes.push_back(std::move(p));
        }
      }
      request.traceql = *std::move(traceql);
    }
  }
  if (!params.tags.empty()) {
    absl::StatusOr<std::vector<JaegerTag>> tags = ParseLogfmt(params.tags);
    if (!tags.ok()) return tags.status();
    for (const JaegerTag& tag : *tags) {
      // Tempo's tag search: the value is a case-insensitive substring of the attribute.
      AttributePredicate p;
      p.scope = AttributeScope::kAny;
      p.key = tag.key;
      p.op = CompareOp::kRegex;
      const std::string pattern = absl::StrCat("(?is).*", RE2::QuoteMeta(tag.value), ".*");
      absl::StatusOr<std::shared_ptr<const Regex>> regex = Regex::Compile(pattern);
      if (!regex.ok()) return regex.status();
      p.value = AnyValue::String(pattern);
      p.regex = *std::move(regex);
      request.query.attributes.push_back(std::move(p));
    }
  }
  if (!params.min_duration.empty()) {
    absl::StatusOr<uint64_t> d = ParseGoDuration(params.min_duration);
    if (!d.ok())
      return BadParameter("minDuration", params.min_duration, AsStd(d.status().message()));
    request.query.min_duration_nanos = std::max(request.query.min_duration_nanos, *d);
  }
  if (!params.max_duration.empty()) {
    absl::StatusOr<uint64_t> d = ParseGoDuration(params.max_duration);
    if (!d.ok())
      return BadParameter("maxDuration", params.max_duration, AsStd(d.status().message()));
    request.query.max_duration_nanos = std::min(request.query.max_duration_nanos, *d);
  }
  constexpr uint64_t kNanos = 1000000000;
  constexpr uint64_t kMaxSeconds = UINT64_MAX / kNanos - 1;
  if (!params.start.empty()) {
    absl::StatusOr<uint64_t> s = ParseUnsigned("start", params.start);
    if (!s.ok()) return s.status();
    request.query.start_min = std::min(*s, kMaxSeconds) * kNanos;
  }
  if (!params.end.empty()) {
    absl::StatusOr<uint64_t> e = ParseUnsigned("end", params.end);
    if (!e.ok()) return e.status();
    if (*e < kMaxSeconds) request.query.start_max = *e * kNanos + (kNanos - 1);  // the whole second
  }
  if (request.query.start_min > request.query.start_max) {
    return absl::InvalidArgumentError("invalid time range: start is after end");
  }
  if (!params.limit.empty()) {
    absl::StatusOr<uint64_t> limit = ParseUnsigned("limit", params.limit);
    if (!limit.ok()) return limit.status();
    if (*limit > 0) request.limit = static_cast<size_t>(std::min<uint64_t>(*limit, 100000));
  }
  if (!params.spss.empty()) {
    absl::StatusOr<uint64_t> spss = ParseUnsigned("spss", params.spss);
    if (!spss.ok()) return spss.status();
    if (*spss > 0)
      request.spans_per_spanset = static_cast<size_t>(std::min<uint64_t>(*spss, 100000));
  }
  return request;
}

absl::StatusOr<std::vector<TempoTraceResult>> TempoSearch(Store& store,
                                                          const TempoSearchRequest& request) {
  if (request.traceql.has_value()) {
    SearchOptions options;
    options.start_min = request.query.start_min;
    options.start_max = request.query.start_max;
    options.limit = request.limit;
    options.deadline = request.query.deadline;
    options.cancel = request.query.cancel;
    absl::StatusOr<std::vector<TraceSearchResult>> found = store.Search(*request.traceql, options);
    if (!found.ok()) return found.status();
    std::vector<TempoTraceResult> results;
    results.reserve(found->size());
    auto first_spans = [&](std::vector<Span>* spans) {
      if (spans->size() > request.spans_per_spanset) spans->resize(request.spans_per_spanset);
      return std::move(*spans);
    };
    for (TraceSearchResult& r : *found) {
      TempoTraceResult result;
      result.summary = std::move(r.summary);
      for (size_t i = 0; i < r.spansets.size(); ++i) {
        std::vector<Span>& spans = r.spansets[i].spans;
        const uint32_t matched = static_cast<uint32_t>(spans.size());
        if (i == 0) {
          result.matched = matched;
          result.matched_spans = first_spans(&spans);
        } else {
          result.more_spansets.push_back({first_spans(&spans), matched});
        }
      }
      results.push_back(std::move(result));
    }
    return results;
  }
  absl::StatusOr<std::vector<TraceSummary>> summaries =
      store.FindTraces(request.query, request.limit);
  if (!summaries.ok()) return summaries.status();
  std::vector<TempoTraceResult> results;
  results.reserve(summaries->size());
  for (TraceSummary& summary : *summaries) {
    // The span set is the trace's matching spans, which FindTraces only counts.
    absl::StatusOr<Trace> trace = store.GetTrace(summary.trace_id);
    if (absl::IsNotFound(trace.status())) continue;  // gone since (retention)
    if (!trace.ok()) return trace.status();
    TempoTraceResult result;
    result.summary = std::move(summary);
    for (Span& span : trace->spans) {  // ordered by start time
      if (!SpanMatches(request.query, span)) continue;
      ++result.matched;
      if (result.matched_spans.size() < request.spans_per_spanset) {
        result.matched_spans.push_back(std::move(span));
      }
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace spanstore
