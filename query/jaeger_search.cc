// Jaeger's trace-search semantics over a Store: tag matching in every spot a tag can sit, and
// FindJaegerTraces, which pushes what SpanQuery can say (service, operation, window, duration)
// down to the store and matches the tags span by span.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spanstore/formats.h"
#include "spanstore/jaeger.h"
#include "spanstore/query.h"
#include "spanstore/store.h"
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

// value's string form == text, without building the string for the common types.
bool ValueEquals(const AnyValue& value, std::string_view text) {
  switch (value.type()) {
    case AnyValue::Type::kString:
      return value.string_value() == text;
    case AnyValue::Type::kBool:
      return text == (value.bool_value() ? "true" : "false");
    case AnyValue::Type::kInt: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, value.int_value());
      return std::string_view(buf, r.ptr - buf) == text;
    }
    default:
      return JaegerValueString(value) == text;
  }
}

bool AttributeMatches(const Attributes& attributes, std::string_view key, std::string_view value) {
  for (const KeyValue& kv : attributes) {
    if (kv.key == key && ValueEquals(kv.value, value)) return true;
  }
  return false;
}

// Attributes on the span, its scope, its resource, its events or its links.
bool AnyAttributeMatches(const Span& span, std::string_view key, std::string_view value) {
  if (AttributeMatches(span.attributes, key, value)) return true;
  if (AttributeMatches(span.scope_attributes, key, value)) return true;
  if (AttributeMatches(span.resource_attributes, key, value)) return true;
  for (const SpanEvent& e : span.events) {
    if (AttributeMatches(e.attributes, key, value)) return true;
  }
  for (const SpanLink& l : span.links) {
    if (AttributeMatches(l.attributes, key, value)) return true;
  }
  return false;
}

// The span fields Jaeger's query exposes as tags. nullopt: `key` names no field.
std::optional<bool> FieldMatches(const JaegerTag& tag, const Span& span) {
  const std::string& key = tag.key;
  const std::string& value = tag.value;
  if (key == "error") {
    const std::optional<bool> b = ParseGoBool(value);
    if (!b) return false;
    return *b ? span.status_code == StatusCode::kError : span.status_code == StatusCode::kOk;
  }
  if (key == "span.kind") return EqualsIgnoreCase(value, SpanKindName(span.kind));
  if (key == "span.status" || key == "otel.status_code") {
    return EqualsIgnoreCase(value, StatusCodeName(span.status_code));
  }
  if (key == "otel.status_description") return value == span.status_message;
  if (key == "scope.name" || key == "otel.scope.name" || key == "otel.library.name") {
    return value == span.scope_name;
  }
  if (key == "scope.version" || key == "otel.scope.version" || key == "otel.library.version") {
    return value == span.scope_version;
  }
  if (key == "event") {
    for (const SpanEvent& e : span.events) {
      if (e.name == value) return true;
    }
    return false;
  }
  return std::nullopt;
}

}  // namespace

std::string JaegerValueString(const AnyValue& value) {
  std::string out;
  AppendValueString(value, false, &out);
  return out;
}

bool JaegerTagMatches(const JaegerTag& tag, const Span& span) {
  if (absl::StartsWith(AsAbsl(tag.key), "resource.")) {
    return AttributeMatches(span.resource_attributes,
                            std::string_view(tag.key).substr(std::strlen("resource.")), tag.value);
  }
  if (const std::optional<bool> field = FieldMatches(tag, span); field && *field) return true;
  return AnyAttributeMatches(span, tag.key, tag.value);
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
  SpanQuery structured;
  if (!query.service.empty()) structured.services.push_back(query.service);
  if (!query.operation.empty()) structured.names.push_back(query.operation);
  structured.start_min = query.start_min;
  structured.start_max = query.start_max;
  structured.deadline = query.deadline;
  structured.min_duration_nanos = query.min_duration_nanos;
  if (query.max_duration_nanos != 0) structured.max_duration_nanos = query.max_duration_nanos;

  if (query.tags.empty()) {
    absl::StatusOr<std::vector<TraceSummary>> traces = store.FindTraces(structured, query.limit);
    if (!traces.ok()) return traces.status();
    for (const TraceSummary& t : *traces) {
      found.push_back(
          {t.trace_id, t.start_time_unix_nano, t.start_time_unix_nano + t.duration_nanos});
    }
    return found;
  }

  struct Hit {
    uint64_t latest_start = 0;  // orders the results
    uint64_t first_start = UINT64_MAX;
    uint64_t last_end = 0;
  };
  absl::flat_hash_map<TraceId, Hit> hits;
  // Keeps the candidate set bounded however many traces match: only the `limit` most recent
  // can be returned, so the rest can go whenever the map grows large. A trace dropped here and
  // matched again later comes back with its new, later start, which is all the ranking needs.
  const size_t prune_at = std::max<size_t>(4 * query.limit, 1 << 16);
  auto prune = [&] {
    std::vector<std::pair<uint64_t, TraceId>> order;
    order.reserve(hits.size());
    for (const auto& [id, hit] : hits) order.emplace_back(hit.latest_start, id);
    std::nth_element(order.begin(), order.begin() + query.limit - 1, order.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = query.limit; i < order.size(); ++i) hits.erase(order[i].second);
  };
  uint64_t scanned = 0;
  absl::Status s = store.Scan(structured, [&](const Span& span) {
    ++scanned;
    if (JaegerTagsMatch(query.tags, span)) {
      Hit& hit = hits[span.trace_id];
      hit.latest_start = std::max(hit.latest_start, span.start_time_unix_nano);
      hit.first_start = std::min(hit.first_start, span.start_time_unix_nano);
      hit.last_end = std::max(hit.last_end, span.end_time_unix_nano);
      if (hits.size() > prune_at) prune();
    }
    return query.max_scanned_spans == 0 || scanned < query.max_scanned_spans;
  });
  if (!s.ok()) return s;
  std::vector<std::pair<TraceId, Hit>> ordered(hits.begin(), hits.end());
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    if (a.second.latest_start != b.second.latest_start) {
      return a.second.latest_start > b.second.latest_start;
    }
    return a.first < b.first;
  });
  if (ordered.size() > query.limit) ordered.resize(query.limit);
  for (const auto& [id, hit] : ordered) found.push_back({id, hit.first_start, hit.last_end});
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
