// Jaeger's query HTTP JSON API, the one Jaeger UI calls. Parameters and bodies follow Jaeger's
// query service (cmd/jaeger/internal/extension/jaegerquery/internal: http_handler.go and
// query_parser.go): {"data": ..., "total", "limit", "offset", "errors"}, times in
// microseconds, durations as Go duration strings, tags as tag=key:value or tags={JSON}.

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spanstore/dependencies.h"
#include "spanstore/formats.h"
#include "spanstore/jaeger.h"
#include "tools/spanstored/handlers.h"
#include "tools/spanstored/strings.h"

namespace spanstore::spanstored {
namespace {

// Jaeger's defaults: a search without start looks back two days; dependencies one day.
constexpr absl::Duration kSearchLookback = absl::Hours(48);
constexpr absl::Duration kDependencyLookback = absl::Hours(24);
constexpr size_t kDefaultLimit = 100;

HttpResponse Data(std::string data, size_t total, std::string errors = "null") {
  return HttpResponse::Json(200,
                            absl::StrCat("{\"data\":", data, ",\"total\":", total,
                                         ",\"limit\":0,\"offset\":0,\"errors\":", errors, "}"));
}

HttpResponse Error(int code, std::string_view message) {
  std::string msg;
  AppendJsonString(message, &msg);
  return HttpResponse::Json(
      code, absl::StrCat("{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{"
                         "\"code\":",
                         code, ",\"msg\":", msg, "}]}"));
}

HttpResponse FromStatus(const absl::Status& s) {
  return Error(s.code() == absl::StatusCode::kInvalidArgument    ? 400
               : s.code() == absl::StatusCode::kDeadlineExceeded ? 504
                                                                 : 500,
               AsStd(s.message()));
}

std::string StringArray(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(list[i], &out);
  }
  out.push_back(']');
  return out;
}

// An integer parameter, or `fallback` when absent.
absl::StatusOr<int64_t> IntParam(const HttpRequest& request, std::string_view name,
                                 int64_t fallback) {
  const std::string_view text = request.Param(name);
  if (text.empty()) return fallback;
  int64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to parse param '", AsAbsl(name), "': not an integer: ", AsAbsl(text)));
  }
  return v;
}

uint64_t MicrosToNanos(int64_t micros) {
  if (micros <= 0) return 0;
  return static_cast<uint64_t>(micros) * 1000;
}

HttpResponse Traces(Store* store, const std::vector<TraceId>& ids, bool not_found_is_404) {
  std::string data = "[";
  std::string errors;
  size_t total = 0;
  for (const TraceId& id : ids) {
    absl::StatusOr<Trace> trace = store->GetTrace(id);
    if (absl::IsNotFound(trace.status())) {
      if (not_found_is_404) return Error(404, "trace not found");
      absl::StrAppend(&errors, errors.empty() ? "" : ",",
                      "{\"msg\":\"trace not found\",\"traceID\":\"", id.ToHex(), "\"}");
      continue;
    }
    if (!trace.ok()) return FromStatus(trace.status());
    if (total++ > 0) data.push_back(',');
    AppendJaegerUiTrace(trace->spans, &data);
  }
  data.push_back(']');
  return Data(std::move(data), total, errors.empty() ? "null" : absl::StrCat("[", errors, "]"));
}

HttpResponse Search(Store* store, const ServerConfig& config, const HttpRequest& request) {
  const std::vector<std::string> trace_ids = request.Params("traceID");
  if (!trace_ids.empty()) {
    std::vector<TraceId> ids;
    for (const std::string& hex : trace_ids) {
      absl::StatusOr<TraceId> id = TraceId::FromShortHex(hex);
      if (!id.ok()) return Error(400, absl::StrCat("cannot parse traceID param: ", hex));
      ids.push_back(*id);
    }
    return Traces(store, ids, /*not_found_is_404=*/false);
  }
  JaegerQuery query;
  query.service = std::string(request.Param("service"));
  query.operation = std::string(request.Param("operation"));
  if (query.service.empty()) return Error(400, "parameter 'service' is required");
  const int64_t now_micros = absl::ToUnixMicros(absl::Now());
  absl::StatusOr<int64_t> start =
      IntParam(request, "start", now_micros - absl::ToInt64Microseconds(kSearchLookback));
  absl::StatusOr<int64_t> end = IntParam(request, "end", now_micros);
  absl::StatusOr<int64_t> limit = IntParam(request, "limit", kDefaultLimit);
  for (const auto* s : {&start, &end, &limit}) {
    if (!s->ok()) return FromStatus(s->status());
  }
  if (*limit <= 0) return Error(400, "invalid parameter: limit must be greater than 0");
  if (*start > *end) return Error(400, "invalid parameter: start time must be before end time");
  query.start_min = MicrosToNanos(*start);
  query.start_max = MicrosToNanos(*end) + 999;  // the whole last microsecond
  query.limit = static_cast<size_t>(*limit);
  query.deadline = absl::Now() + config.query_timeout;
  for (const auto& [name, target] : {std::pair{"minDuration", &query.min_duration_nanos},
                                     std::pair{"maxDuration", &query.max_duration_nanos}}) {
    const std::string_view text = request.Param(name);
    if (text.empty()) continue;
    absl::StatusOr<uint64_t> d = ParseGoDuration(text);
    if (!d.ok()) {
      return Error(400, absl::StrCat("unable to parse param '", name, "': ", d.status().message()));
    }
    *target = *d;
  }
  if (query.max_duration_nanos != 0 && query.max_duration_nanos < query.min_duration_nanos) {
    return Error(400, "'maxDuration' should be greater than 'minDuration'");
  }
  absl::StatusOr<std::vector<JaegerTag>> tags =
      ParseJaegerTags(request.Params("tag"), request.Params("tags"));
  if (!tags.ok()) return FromStatus(tags.status());
  query.tags = *std::move(tags);
  query.max_scanned_spans = config.max_scanned_spans;
  absl::StatusOr<std::vector<JaegerFoundTrace>> found = FindJaegerTraces(*store, query);
  if (!found.ok()) return FromStatus(found.status());
  std::vector<TraceId> ids;
  for (const JaegerFoundTrace& f : *found) ids.push_back(f.trace_id);
  return Traces(store, ids, /*not_found_is_404=*/false);
}

HttpResponse Operations(Store* store, const ServerConfig& config, const HttpRequest& request) {
  const std::string service(request.Param("service"));
  if (service.empty()) return Error(400, "parameter 'service' is required");
  const std::string_view kind = request.Param("spanKind");
  absl::StatusOr<std::vector<std::string>> names =
      JaegerOperations(*store, service, kind, config.max_scanned_spans);
  if (!names.ok()) return FromStatus(names.status());
  std::string data = "[";
  for (size_t i = 0; i < names->size(); ++i) {
    if (i > 0) data.push_back(',');
    data.append("{\"name\":");
    AppendJsonString((*names)[i], &data);
    data.append(",\"spanKind\":");
    AppendJsonString(kind, &data);
    data.push_back('}');
  }
  data.push_back(']');
  return Data(std::move(data), names->size());
}

HttpResponse Dependencies(Store* store, const ServerConfig& config, const HttpRequest& request) {
  const int64_t now_millis = absl::ToUnixMillis(absl::Now());
  absl::StatusOr<int64_t> end = IntParam(request, "endTs", now_millis);
  absl::StatusOr<int64_t> lookback =
      IntParam(request, "lookback", absl::ToInt64Milliseconds(kDependencyLookback));
  if (!end.ok()) return FromStatus(end.status());
  if (!lookback.ok()) return FromStatus(lookback.status());
  if (*end < 0 || *lookback < 0) return Error(400, "endTs and lookback must not be negative");
  const uint64_t end_nanos = static_cast<uint64_t>(*end) * 1000000 + 999999;
  const uint64_t span = static_cast<uint64_t>(*lookback) * 1000000;
  const uint64_t start_nanos = end_nanos > span ? end_nanos - span : 0;
  absl::StatusOr<std::vector<DependencyLink>> links =
      ComputeDependencies(*store, start_nanos, end_nanos, config.max_scanned_spans,
                          /*truncated=*/nullptr, absl::Now() + config.query_timeout);
  if (!links.ok()) return FromStatus(links.status());
  const std::string_view service = request.Param("service");
  std::vector<DependencyLink> kept;
  for (DependencyLink& l : *links) {
    if (service.empty() || l.parent == service || l.child == service) kept.push_back(std::move(l));
  }
  std::string data;
  AppendJaegerDependencies(kept, &data);
  return Data(std::move(data), kept.size());
}

}  // namespace

HttpHandler MakeJaegerQueryHandler(Store* store, const ServerConfig& config) {
  return [store, config](HttpRequest& request) -> HttpResponse {
    if (request.method != "GET" && request.method != "HEAD") {
      return Error(405, "method not allowed: the query API is GET only");
    }
    const std::vector<std::string>& p = request.segments;
    const size_t n = p.size();
    if (n >= 2 && p[0] == "api") {
      if (n == 2 && p[1] == "services") {
        absl::StatusOr<std::vector<std::string>> services = store->Services();
        if (!services.ok()) return FromStatus(services.status());
        return Data(StringArray(*services), services->size());
      }
      if (n == 4 && p[1] == "services" && p[3] == "operations") {
        absl::StatusOr<std::vector<std::string>> names = store->Operations(p[2]);
        if (!names.ok()) return FromStatus(names.status());
        return Data(StringArray(*names), names->size());
      }
      if (n == 2 && p[1] == "operations") return Operations(store, config, request);
      if (n == 2 && p[1] == "traces") return Search(store, config, request);
      if (n == 3 && p[1] == "traces") {
        absl::StatusOr<TraceId> id = TraceId::FromShortHex(p[2]);
        if (!id.ok()) return Error(400, absl::StrCat("invalid trace id: ", p[2]));
        return Traces(store, {*id}, /*not_found_is_404=*/true);
      }
      if (n == 2 && p[1] == "dependencies") return Dependencies(store, config, request);
    }
    return Error(404, absl::StrCat("not found: ", request.path));
  };
}

}  // namespace spanstore::spanstored
