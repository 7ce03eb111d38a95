// Tempo's TraceQL metrics API: GET /api/metrics/query_range and /api/metrics/query, answered by
// the library's EvaluateMetricsQuery (spanstore/traceql_metrics.h).

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "spanstore/timestamp.h"
#include "spanstore/traceql_metrics.h"
#include "tools/spanstored/handlers.h"

namespace spanstore::spanstored {
namespace {

// Tempo takes unix seconds, unix nanoseconds or RFC 3339 for start and end.
absl::StatusOr<uint64_t> TimeParam(const HttpRequest& request, std::string_view name,
                                   uint64_t fallback) {
  const std::string_view v = request.Param(name);
  if (v.empty()) return fallback;
  auto t = ParseTimestamp(v);
  if (!t.ok()) t = ParseTimestamp(v, TimeUnit::kNanoseconds);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(name), ": '", std::string(v),
                     "' is not unix seconds, unix nanoseconds or RFC 3339"));
  }
  return *t;
}

HttpResponse BadRequest(const absl::Status& s) {
  const int code = s.code() == absl::StatusCode::kInvalidArgument    ? 400
                   : s.code() == absl::StatusCode::kDeadlineExceeded ? 504
                                                                     : 500;
  return HttpResponse::Text(code, std::string(s.message()));
}

}  // namespace

HttpResponse TempoMetrics(Store* store, const ServerConfig& config, const HttpRequest& request,
                          bool instant) {
  auto query = ParseMetricsQuery(request.Param("q"));
  if (!query.ok()) return BadRequest(query.status());
  // Bounded like the searches (--query-timeout): a scan past it answers 504.
  query->filter.deadline = absl::Now() + config.query_timeout;
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  auto end = TimeParam(request, "end", now);
  if (!end.ok()) return BadRequest(end.status());
  const uint64_t hour = 3600ull * 1'000'000'000;
  auto start = TimeParam(request, "start", *end > hour ? *end - hour : 0);
  if (!start.ok()) return BadRequest(start.status());
  if (*end <= *start) return HttpResponse::Text(400, "end must be after start");
  uint64_t step =
      instant ? *end - *start : std::max<uint64_t>((*end - *start) / 100, 1'000'000'000);
  const std::string_view step_param = request.Param("step");
  if (!instant && !step_param.empty()) {
    // A duration ("30s"), or a number of seconds as Prometheus takes it ("30", "0.5").
    absl::StatusOr<uint64_t> d = ParseDuration(step_param);
    double seconds = 0;
    if (!d.ok() &&
        absl::SimpleAtod(absl::string_view(step_param.data(), step_param.size()), &seconds) &&
        seconds > 0 && seconds < 1e9) {
      d = static_cast<uint64_t>(seconds * 1e9);
    }
    if (!d.ok() || *d == 0) {
      return HttpResponse::Text(
          400, absl::StrCat("step: '", std::string(step_param), "' is not a duration"));
    }
    step = *d;
  }
  // Grafana asks for exemplars with `exemplars=N`; the query's with(exemplars=true) asks for
  // the default. Capped as Tempo caps them.
  const std::string_view exemplars_param = request.Param("exemplars");
  if (!instant && !exemplars_param.empty()) {
    uint32_t n = 0;
    if (!absl::SimpleAtoi(absl::string_view(exemplars_param.data(), exemplars_param.size()), &n)) {
      return HttpResponse::Text(
          400, absl::StrCat("exemplars: '", std::string(exemplars_param), "' is not a count"));
    }
    if (n > 0) query->exemplars = std::min(n, MetricsQuery::kDefaultExemplars);
  }
  if (instant) query->exemplars = 0;  // an instant answer has no points to hang them on
  auto result = EvaluateMetricsQuery(*store, *query, *start, *end, step);
  if (!result.ok()) return BadRequest(result.status());
  return HttpResponse::Json(200,
                            instant ? MetricsInstantJson(*result) : MetricsResultJson(*result));
}

}  // namespace spanstore::spanstored
