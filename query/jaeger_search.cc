// Jaeger's trace-search semantics over a Store. A Jaeger search is a one-filter TraceQL plan
// (JaegerTraceQuery): service, operation and durations as the filter's structured fields, each
// tag as an `||` of string-form comparisons over every spot a tag can sit and of the span fields
// its key names, the tags `&&`-ed inside the one filter -- so all of them must hold on one span,
// as in Jaeger's own stores. FindJaegerTraces runs it with Store::Search, the same engine path
// (column scans, then the query per trace) and the same order as Tempo's search.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "absl/container/btree_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spanstore/formats.h"
#include "spanstore/jaeger.h"
#include "spanstore/query.h"
#include "spanstore/store.h"
#include "spanstore/traceql.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AsAbsl(a), AsAbsl(b));
}

// Go's strconv.ParseBool: what Jaeger accepts for error=true/false.
std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
    return false;
  }
  return std::nullopt;
}

void AppendDouble(double d, std::string* out) {
  if (std::isnan(d)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(d)) {
    out->append(d > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[64];
  const double a = std::fabs(d);
  // ECMAScript's Number::toString, which pdata's AsString follows: plain notation between
  // 1e-6 and 1e21, exponent notation outside, always the shortest digits that read back.
  const bool exponent = a != 0 && (a < 1e-6 || a >= 1e21);
  auto r = std::to_chars(buf, buf + sizeof buf, d,
                         exponent ? std::chars_format::scientific : std::chars_format::fixed);
  std::string_view text(buf, r.ptr - buf);
  if (!exponent) {
    out->append(text);
    return;
  }
  // to_chars writes "1e-07"; JavaScript writes "1e-7".
  const size_t e = text.find('e');
  out->append(text.substr(0, e + 2));  // mantissa, 'e', sign
  std::string_view digits = text.substr(e + 2);
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  out->append(digits);
}

void AppendValueString(const AnyValue& v, bool quoted, std::string* out) {
  switch (v.type()) {
    case AnyValue::Type::kEmpty:
      if (quoted) out->append("null");
      break;
    case AnyValue::Type::kString:
      if (quoted) {
        AppendJsonString(v.string_value(), out);
      } else {
        out->append(v.string_value());
      }
      break;
    case AnyValue::Type::kBool:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case AnyValue::Type::kInt:
      absl::StrAppend(out, v.int_value());
      break;
    case AnyValue::Type::kDouble:
      if (quoted && !std::isfinite(v.double_value())) {
        out->push_back('"');
        AppendDouble(v.double_value(), out);
        out->push_back('"');
      } else {
        AppendDouble(v.double_value(), out);
      }
      break;
    case AnyValue::Type::kBytes:
      if (quoted) out->push_back('"');
      out->append(absl::Base64Escape(AsAbsl(v.bytes_value())));
      if (quoted) out->push_back('"');
      break;
    case AnyValue::Type::kArray: {
      out->push_back('[');
      for (size_t i = 0; i < v.array_value().size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendValueString(v.array_value()[i], true, out);
      }
      out->push_back(']');
      break;
    }
    case AnyValue::Type::kMap: {
      out->push_back('{');
      for (size_t i = 0; i < v.map_value().size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(v.map_value()[i].key, out);
        out->push_back(':');
        AppendValueString(v.map_value()[i].value, true, out);
      }
      out->push_back('}');
      break;
    }
  }
}

FilterExpr Leaf(Intrinsic intrinsic, AnyValue value) {
  FilterExpr e;
  e.kind = FilterExpr::Kind::kIntrinsic;
  e.intrinsic = intrinsic;
  e.op = CompareOp::kEq;
  e.value = std::move(value);
  return e;
}

// `key` equals `value` as a string (AttributePredicate::as_string) on the attributes of `scope`.
FilterExpr StringForm(AttributeScope scope, std::string_view key, std::string_view value) {
  FilterExpr e;
  e.kind = FilterExpr::Kind::kAttribute;
  e.attribute.scope = scope;
  e.attribute.key = std::string(key);
  e.attribute.op = CompareOp::kEq;
  e.attribute.value = AnyValue::String(std::string(value));
  e.attribute.as_string = true;
  return e;
}

// The span field Jaeger's query exposes under `tag.key`, compared with its value; nullopt when
// the key names no field or the value can equal none (error=maybe, span.kind=sideways).
std::optional<FilterExpr> FieldFilter(const JaegerTag& tag) {
  const std::string& key = tag.key;
  const std::string& value = tag.value;
  auto status = [](StatusCode c) { return Leaf(Intrinsic::kStatus, AnyValue::Int(int64_t(c))); };
  if (key == "error") {
    const std::optional<bool> b = ParseGoBool(value);
    if (!b) return std::nullopt;
    return status(*b ? StatusCode::kError : StatusCode::kOk);
  }
  if (key == "span.kind") {
    for (SpanKind k : {SpanKind::kUnspecified, SpanKind::kInternal, SpanKind::kServer,
                       SpanKind::kClient, SpanKind::kProducer, SpanKind::kConsumer}) {
      if (EqualsIgnoreCase(value, SpanKindName(k))) {
        return Leaf(Intrinsic::kKind, AnyValue::Int(int64_t(k)));
      }
    }
    return std::nullopt;
  }
  if (key == "span.status" || key == "otel.status_code") {
    for (StatusCode c : {StatusCode::kUnset, StatusCode::kOk, StatusCode::kError}) {
      if (EqualsIgnoreCase(value, StatusCodeName(c))) return status(c);
    }
    return std::nullopt;
  }
  if (key == "otel.status_description") {
    return Leaf(Intrinsic::kStatusMessage, AnyValue::String(value));
  }
  if (key == "scope.name" || key == "otel.scope.name" || key == "otel.library.name") {
    return Leaf(Intrinsic::kScopeName, AnyValue::String(value));
  }
  if (key == "scope.version" || key == "otel.scope.version" || key == "otel.library.version") {
    return Leaf(Intrinsic::kScopeVersion, AnyValue::String(value));
  }
  if (key == "event") return Leaf(Intrinsic::kEventName, AnyValue::String(value));
  return std::nullopt;
}

}  // namespace

std::string JaegerValueString(const AnyValue& value) {
  std::string out;
  AppendValueString(value, false, &out);
  return out;
}

FilterExpr JaegerTagFilter(const JaegerTag& tag) {
  if (absl::StartsWith(AsAbsl(tag.key), "resource.")) {
    return StringForm(AttributeScope::kResource,
                      std::string_view(tag.key).substr(std::strlen("resource.")), tag.value);
  }
  FilterExpr any;
  any.kind = FilterExpr::Kind::kOr;
  if (std::optional<FilterExpr> field = FieldFilter(tag)) any.children.push_back(*field);
  // kAny is the span's attributes or its resource's (Tempo's unscoped `.k`).
  for (AttributeScope scope : {AttributeScope::kAny, AttributeScope::kInstrumentation,
                               AttributeScope::kEvent, AttributeScope::kLink}) {
    any.children.push_back(StringForm(scope, tag.key, tag.value));
  }
  return any;
}

TraceQuery JaegerTraceQuery(const JaegerQuery& query) {
  TraceQuery q;
  SpanQuery& filter = q.spansets.filter;
  if (!query.service.empty()) filter.services.push_back(query.service);
  if (!query.operation.empty()) filter.names.push_back(query.operation);
  filter.min_duration_nanos = query.min_duration_nanos;
  if (query.max_duration_nanos != 0) filter.max_duration_nanos = query.max_duration_nanos;
  if (query.tags.size() == 1) {
    filter.filter = JaegerTagFilter(query.tags[0]);
  } else if (query.tags.size() > 1) {
    FilterExpr all;
    all.kind = FilterExpr::Kind::kAnd;
    for (const JaegerTag& tag : query.tags) all.children.push_back(JaegerTagFilter(tag));
    filter.filter = std::move(all);
  }
  return q;
}

bool JaegerTagMatches(const JaegerTag& tag, const Span& span) {
  return FilterMatches(JaegerTagFilter(tag), span);
}

bool JaegerTagsMatch(absl::Span<const JaegerTag> tags, const Span& span) {
  for (const JaegerTag& tag : tags) {
    if (!JaegerTagMatches(tag, span)) return false;
  }
  return true;
}

absl::StatusOr<std::vector<JaegerFoundTrace>> FindJaegerTraces(Store& store,
                                                               const JaegerQuery& query) {
  std::vector<JaegerFoundTrace> found;
  if (query.limit == 0) return found;
  SearchOptions options;
  options.start_min = query.start_min;
  options.start_max = query.start_max;
  options.limit = query.limit;
  options.deadline = query.deadline;
  options.max_scanned_spans = query.max_scanned_spans;
  absl::StatusOr<std::vector<TraceSearchResult>> traces =
      store.Search(JaegerTraceQuery(query), options);
  if (!traces.ok()) return traces.status();
  found.reserve(traces->size());
  for (const TraceSearchResult& t : *traces) {
    // The whole trace's range: a later GetTrace bounded by it reads every span.
    found.push_back({t.summary.trace_id, t.summary.start_time_unix_nano,
                     t.summary.start_time_unix_nano + t.summary.duration_nanos});
  }
  return found;
}

absl::StatusOr<std::vector<std::string>> JaegerOperations(Store& store, const std::string& service,
                                                          std::string_view span_kind,
                                                          uint64_t max_scanned_spans) {
  if (span_kind.empty()) return store.Operations(service);
  std::optional<SpanKind> kind;
  for (SpanKind k : {SpanKind::kUnspecified, SpanKind::kInternal, SpanKind::kServer,
                     SpanKind::kClient, SpanKind::kProducer, SpanKind::kConsumer}) {
    if (EqualsIgnoreCase(span_kind, SpanKindName(k))) kind = k;
  }
  if (!kind) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown span kind \"", AsAbsl(span_kind),
                     "\": expected server, client, internal, producer, consumer or unspecified"));
  }
  SpanQuery query;
  query.services.push_back(service);
  query.kinds.push_back(*kind);
  absl::btree_set<std::string> names;
  uint64_t scanned = 0;
  absl::Status s = store.Scan(query, [&](const Span& span) {
    names.insert(span.name);
    return max_scanned_spans == 0 || ++scanned < max_scanned_spans;
  });
  if (!s.ok()) return s;
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace spanstore
