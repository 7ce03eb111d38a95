// Tempo's response bodies: search results with span sets, traces by id (JSON and protobuf),
// tag names and tag values.

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spanstore/formats.h"
#include "spanstore/otlp_proto.h"
#include "spanstore/tempo.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

// What a span set shows of each span: the attributes and intrinsics the query mentions.
struct Mention {
  enum class Kind : uint8_t { kAttribute, kService, kStatus, kKind, kStatusMessage };
  Kind kind;
  AttributeScope scope = AttributeScope::kAny;
  std::string key;
  friend bool operator==(const Mention&, const Mention&) = default;
};

void AddMention(Mention m, std::vector<Mention>* out) {
  if (std::find(out->begin(), out->end(), m) == out->end()) out->push_back(std::move(m));
}

void CollectMentions(const FilterExpr& e, std::vector<Mention>* out) {
  switch (e.kind) {
    case FilterExpr::Kind::kAttribute:
      AddMention({Mention::Kind::kAttribute, e.attribute.scope, e.attribute.key}, out);
      break;
    case FilterExpr::Kind::kIntrinsic:
      switch (e.intrinsic) {
        case Intrinsic::kServiceName:
          AddMention({Mention::Kind::kService, AttributeScope::kResource, "service.name"}, out);
          break;
        case Intrinsic::kStatus:
          AddMention({Mention::Kind::kStatus, AttributeScope::kAny, "status"}, out);
          break;
        case Intrinsic::kKind:
          AddMention({Mention::Kind::kKind, AttributeScope::kAny, "kind"}, out);
          break;
        case Intrinsic::kStatusMessage:
          AddMention({Mention::Kind::kStatusMessage, AttributeScope::kAny, "statusMessage"}, out);
          break;
        default:
          break;  // name, duration and ids are shown anyway
      }
      break;
    default:
      for (const FilterExpr& c : e.children) CollectMentions(c, out);
      break;
  }
}

std::vector<Mention> Mentions(const SpanQuery& q) {
  std::vector<Mention> out;
  if (!q.services.empty()) {
    AddMention({Mention::Kind::kService, AttributeScope::kResource, "service.name"}, &out);
  }
  if (q.status) AddMention({Mention::Kind::kStatus, AttributeScope::kAny, "status"}, &out);
  if (!q.kinds.empty()) AddMention({Mention::Kind::kKind, AttributeScope::kAny, "kind"}, &out);
  for (const AttributePredicate& p : q.attributes) {
    AddMention({Mention::Kind::kAttribute, p.scope, p.key}, &out);
  }
  if (q.filter) CollectMentions(*q.filter, &out);
  return out;
}

void Attribute(std::string_view key, const AnyValue& value, bool* first, std::string* out) {
  if (!*first) out->push_back(',');
  *first = false;
  out->append("{\"key\":");
  AppendJsonString(key, out);
  out->append(",\"value\":");
  AppendOtlpJsonValue(value, out);
  out->push_back('}');
}

void SpanAttributes(const Span& span, const std::vector<Mention>& mentions, std::string* out) {
  bool first = true;
  for (const Mention& m : mentions) {
    switch (m.kind) {
      case Mention::Kind::kAttribute: {
        const AnyValue* v = nullptr;
        if (m.scope != AttributeScope::kResource) v = FindAttribute(span.attributes, m.key);
        if (v == nullptr && m.scope != AttributeScope::kSpan) {
          v = FindAttribute(span.resource_attributes, m.key);
        }
        if (v != nullptr) Attribute(m.key, *v, &first, out);
        break;
      }
      case Mention::Kind::kService:
        Attribute("service.name", AnyValue::String(span.service_name), &first, out);
        break;
      case Mention::Kind::kStatus:
        Attribute("status", AnyValue::String(std::string(StatusCodeName(span.status_code))), &first,
                  out);
        break;
      case Mention::Kind::kKind:
        Attribute("kind", AnyValue::String(std::string(SpanKindName(span.kind))), &first, out);
        break;
      case Mention::Kind::kStatusMessage:
        Attribute("statusMessage", AnyValue::String(span.status_message), &first, out);
        break;
    }
  }
}

void SpanSet(const std::vector<Span>& spans, uint32_t matched, const std::vector<Mention>& mentions,
             std::string* out) {
  out->append("{\"spans\":[");
  for (size_t i = 0; i < spans.size(); ++i) {
    const Span& s = spans[i];
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, "{\"spanID\":\"", s.span_id.ToHex(), "\",\"name\":");
    AppendJsonString(s.name, out);
    absl::StrAppend(out, ",\"startTimeUnixNano\":\"", s.start_time_unix_nano,
                    "\",\"durationNanos\":\"", s.duration_nanos(), "\",\"attributes\":[");
    SpanAttributes(s, mentions, out);
    out->append("]}");
  }
  absl::StrAppend(out, "],\"matched\":", matched, "}");
}

void StringList(const std::vector<std::string>& list, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(list[i], out);
  }
  out->push_back(']');
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

void AppendTempoSearchResponse(absl::Span<const TempoTraceResult> traces, const SpanQuery& query,
                               std::string* out) {
  const std::vector<Mention> mentions = Mentions(query);
  out->append("{\"traces\":[");
  for (size_t i = 0; i < traces.size(); ++i) {
    const TempoTraceResult& t = traces[i];
    const TraceSummary& s = t.summary;
    if (i > 0) out->push_back(',');
    absl::StrAppend(out, "{\"traceID\":\"", s.trace_id.ToHex(), "\",\"rootServiceName\":");
    // Tempo's words for a trace whose root span has not arrived.
    AppendJsonString(s.root_service.empty() && s.root_name.empty() ? "<root span not yet received>"
                                                                   : s.root_service,
                     out);
    out->append(",\"rootTraceName\":");
    AppendJsonString(s.root_name, out);
    absl::StrAppend(out, ",\"startTimeUnixNano\":\"", s.start_time_unix_nano,
                    "\",\"durationMs\":", s.duration_nanos / 1000000, ",\"spanSet\":");
    // "spanSet" (the first set) is what Grafana before 10 reads; "spanSets" what later ones do.
    SpanSet(t.matched_spans, t.matched, mentions, out);
    out->append(",\"spanSets\":[");
    SpanSet(t.matched_spans, t.matched, mentions, out);
    for (const TempoTraceResult::Spanset& set : t.more_spansets) {
      out->push_back(',');
      SpanSet(set.spans, set.matched, mentions, out);
    }
    out->append("]}");
  }
  absl::StrAppend(out, "],\"metrics\":{\"inspectedTraces\":", traces.size(),
                  ",\"inspectedBytes\":\"0\",\"completedJobs\":1,\"totalJobs\":1}}");
}

void AppendTempoTraceJson(absl::Span<const Span> spans, int api_version, std::string* out) {
  std::string otlp;
  WriteOtlpJson(spans, &otlp);
  if (api_version >= 2) {
    absl::StrAppend(out, "{\"trace\":", otlp, "}");
    return;
  }
  // Tempo's version 1 calls the list "batches" (tempopb.Trace); the rest is OTLP/JSON.
  constexpr std::string_view kPrefix = "{\"resourceSpans\":";
  if (absl::StartsWith(otlp, AsAbsl(kPrefix))) {
    absl::StrAppend(out, "{\"batches\":", AsAbsl(std::string_view(otlp).substr(kPrefix.size())));
  } else {
    out->append(otlp);
  }
}

void AppendTempoTraceProto(absl::Span<const Span> spans, int api_version, std::string* out) {
  std::string trace;
  EncodeOtlpTraces(spans, &trace);  // TracesData and tempopb.Trace share their layout
  if (api_version < 2) {
    out->append(trace);
    return;
  }
  out->push_back(0x0a);  // TraceByIDResponse.trace, field 1, length-delimited
  AppendVarint(trace.size(), out);
  out->append(trace);
}

void AppendTempoTagNames(const TagNames& names, int api_version, std::string_view scope,
                         std::string* out) {
  const bool all = scope.empty() || scope == "all" || scope == "none";
  if (api_version < 2) {
    std::vector<std::string> merged;
    auto add = [&](const std::vector<std::string>& list) {
      merged.insert(merged.end(), list.begin(), list.end());
    };
    if (all || scope == "span") add(names.span);
    if (all || scope == "resource") add(names.resource);
    if (scope == "event") add(names.event);
    if (scope == "link") add(names.link);
    if (scope == "instrumentation") add(names.instrumentation);
    if (scope == "intrinsic") add(TempoIntrinsicTags());
    std::sort(merged.begin(), merged.end());
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    out->append("{\"tagNames\":");
    StringList(merged, out);
    out->append(",\"metrics\":{\"inspectedBytes\":\"0\"}}");
    return;
  }
  const std::pair<std::string_view, std::vector<std::string>> scopes[] = {
      {"resource", names.resource},
      {"span", names.span},
      {"intrinsic", TempoIntrinsicTags()},
      {"event", names.event},
      {"link", names.link},
      {"instrumentation", names.instrumentation},
  };
  out->append("{\"scopes\":[");
  bool first = true;
  for (const auto& [name, tags] : scopes) {
    if (!(all || scope == name) || tags.empty()) continue;
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, "{\"name\":\"", AsAbsl(name), "\",\"tags\":");
    StringList(tags, out);
    out->push_back('}');
  }
  out->append("],\"metrics\":{\"inspectedBytes\":\"0\"}}");
}

void AppendTempoTagValues(absl::Span<const TagValue> values, int api_version, std::string* out) {
  out->append("{\"tagValues\":[");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    if (api_version < 2) {
      AppendJsonString(values[i].value, out);
      continue;
    }
    out->append("{\"type\":");
    AppendJsonString(values[i].type, out);
    out->append(",\"value\":");
    AppendJsonString(values[i].value, out);
    out->push_back('}');
  }
  out->append("],\"metrics\":{\"inspectedBytes\":\"0\"}}");
}

}  // namespace spanstore
