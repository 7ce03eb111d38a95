// Tempo's HTTP API, the part Grafana's Tempo data source calls. Paths, parameters and bodies
// follow Tempo's API documentation (docs/sources/tempo/api_docs); errors are plain text, as
// Tempo answers them.

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spanstore/tempo.h"
#include "tools/spanstored/handlers.h"
#include "tools/spanstored/strings.h"

namespace spanstore::spanstored {
namespace {

HttpResponse FromStatus(const absl::Status& s) {
  const int code = s.code() == absl::StatusCode::kInvalidArgument    ? 400
                   : s.code() == absl::StatusCode::kNotFound         ? 404
                   : s.code() == absl::StatusCode::kDeadlineExceeded ? 504
                                                                     : 500;
  return HttpResponse::Text(code, std::string(s.message()));
}

// One more round of percent-decoding: Grafana encodes tag names twice, and Tempo decodes a
// path parameter twice (the router once, the handler again). A '%' not followed by two hex
// digits is kept as is.
std::string DecodeAgain(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// start/end (unix seconds) and q: the spans a tag request looks at. An unparsable q is
// ignored, as Tempo does (the editor sends incomplete queries while the user types).
absl::StatusOr<SpanQuery> TagQuery(const HttpRequest& request, absl::Duration timeout) {
  TempoSearchParams params;
  params.start = request.Param("start");
  params.end = request.Param("end");
  absl::StatusOr<TempoSearchRequest> window = ParseTempoSearch(params);
  if (!window.ok()) return window.status();
  params.q = request.Param("q");
  absl::StatusOr<TempoSearchRequest> filtered = ParseTempoSearch(params);
  SpanQuery query = filtered.ok() ? filtered->query : window->query;
  query.deadline = absl::Now() + timeout;
  return query;
}

absl::StatusOr<TagSearchOptions> TagOptions(const HttpRequest& request,
                                            const ServerConfig& config) {
  TagSearchOptions options;
  options.max_scanned_spans = config.max_scanned_spans;
  const std::string_view limit = request.Param("limit");
  if (!limit.empty()) {
    uint64_t n = 0;
    const auto r = std::from_chars(limit.data(), limit.data() + limit.size(), n);
    if (r.ec != std::errc() || r.ptr != limit.data() + limit.size()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid limit \"", AsAbsl(limit), "\""));
    }
    if (n > 0) options.limit = n;
  }
  return options;
}

HttpResponse TraceById(Store* store, const HttpRequest& request, const std::string& id,
                       int version) {
  absl::StatusOr<TraceId> trace_id = TraceId::FromShortHex(id);
  if (!trace_id.ok()) {
    return HttpResponse::Text(
        400, absl::StrCat("invalid trace id \"", id, "\": ", trace_id.status().message()));
  }
  absl::StatusOr<Trace> trace = store->GetTrace(*trace_id);
  if (absl::IsNotFound(trace.status())) return HttpResponse::Text(404, "trace not found");
  if (!trace.ok()) return FromStatus(trace.status());
  HttpResponse r;
  if (absl::StrContains(absl::AsciiStrToLower(request.accept), "application/protobuf")) {
    r.content_type = "application/protobuf";
    AppendTempoTraceProto(trace->spans, version, &r.body);
  } else {
    r.content_type = "application/json";
    AppendTempoTraceJson(trace->spans, version, &r.body);
  }
  return r;
}

HttpResponse Search(Store* store, const ServerConfig& config, const HttpRequest& request) {
  TempoSearchParams params;
  params.q = request.Param("q");
  params.tags = request.Param("tags");
  params.min_duration = request.Param("minDuration");
  params.max_duration = request.Param("maxDuration");
  params.start = request.Param("start");
  params.end = request.Param("end");
  params.limit = request.Param("limit");
  params.spss = request.Param("spss");
  absl::StatusOr<TempoSearchRequest> search = ParseTempoSearch(params);
  if (!search.ok()) return FromStatus(search.status());
  search->query.deadline = absl::Now() + config.query_timeout;
  absl::StatusOr<std::vector<TempoTraceResult>> traces = TempoSearch(*store, *search);
  if (!traces.ok()) return FromStatus(traces.status());
  HttpResponse r = HttpResponse::Json(200, "");
  AppendTempoSearchResponse(*traces, search->traceql ? search->mentions : search->query, &r.body);
  return r;
}

HttpResponse TagNamesResponse(Store* store, const ServerConfig& config, const HttpRequest& request,
                              int version) {
  const std::string scope(request.Param("scope"));
  if (!(scope.empty() || scope == "all" || scope == "none" || scope == "span" ||
        scope == "resource" || scope == "intrinsic" || scope == "event" || scope == "link" ||
        scope == "instrumentation")) {
    return HttpResponse::Text(400, absl::StrCat("invalid scope \"", scope, "\""));
  }
  absl::StatusOr<SpanQuery> query = TagQuery(request, config.query_timeout);
  if (!query.ok()) return FromStatus(query.status());
  absl::StatusOr<TagSearchOptions> options = TagOptions(request, config);
  if (!options.ok()) return FromStatus(options.status());
  TagNames names;
  if (scope != "intrinsic") {  // intrinsics need no scan
    absl::StatusOr<TagNames> found = CollectTagNames(*store, *query, *options);
    if (!found.ok()) return FromStatus(found.status());
    names = *std::move(found);
  }
  HttpResponse r = HttpResponse::Json(200, "");
  AppendTempoTagNames(names, version, scope, &r.body);
  return r;
}

HttpResponse TagValuesResponse(Store* store, const ServerConfig& config, const HttpRequest& request,
                               const std::string& raw_tag, int version) {
  const std::string tag = DecodeAgain(raw_tag);
  absl::StatusOr<SpanQuery> query = TagQuery(request, config.query_timeout);
  if (!query.ok()) return FromStatus(query.status());
  absl::StatusOr<TagSearchOptions> options = TagOptions(request, config);
  if (!options.ok()) return FromStatus(options.status());
  absl::StatusOr<std::vector<TagValue>> values =
      CollectTagValues(*store, tag, /*unscoped_legacy=*/version < 2, *query, *options);
  if (!values.ok()) return FromStatus(values.status());
  HttpResponse r = HttpResponse::Json(200, "");
  AppendTempoTagValues(*values, version, &r.body);
  return r;
}

}  // namespace

HttpHandler MakeTempoHandler(Store* store, const ServerConfig& config) {
  return [store, config](HttpRequest& request) -> HttpResponse {
    const std::vector<std::string>& p = request.segments;
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r = HttpResponse::Text(405, "method not allowed: the Tempo API is GET only");
      r.headers.emplace_back("Allow", "GET");
      return r;
    }
    const size_t n = p.size();
    if (n >= 2 && p[0] == "api") {
      // /api/v2/... is /api/... with version 2.
      const bool v2 = p[1] == "v2";
      const size_t b = v2 ? 2 : 1;  // index of the first segment after the version
      const int version = v2 ? 2 : 1;
      if (!v2 && n == 2 && p[1] == "echo") return HttpResponse::Text(200, "echo");
      if (!v2 && n == 3 && p[1] == "status" && p[2] == "buildinfo") {
        // Grafana reads the version to decide which APIs to use; the v2 APIs here date
        // from Tempo 2.x.
        return HttpResponse::Json(
            200, R"({"version":"2.6.0","revision":"spanstored","branch":"","buildUser":"",)"
                 R"("buildDate":"","goVersion":""})");
      }
      if (n == b + 2 && p[b] == "traces") return TraceById(store, request, p[b + 1], version);
      if (!v2 && n == 2 && p[1] == "search") return Search(store, config, request);
      if (!v2 && n == 3 && p[1] == "metrics" && (p[2] == "query_range" || p[2] == "query")) {
        return TempoMetrics(store, config, request, p[2] == "query");
      }
      if (n == b + 2 && p[b] == "search" && p[b + 1] == "tags") {
        return TagNamesResponse(store, config, request, version);
      }
      if (n == b + 4 && p[b] == "search" && p[b + 1] == "tag" && p[b + 3] == "values") {
        return TagValuesResponse(store, config, request, p[b + 2], version);
      }
    }
    return HttpResponse::Text(404, absl::StrCat("not found: ", request.path));
  };
}

}  // namespace spanstore::spanstored
