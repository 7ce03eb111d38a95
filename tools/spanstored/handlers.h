// The HTTP APIs, one factory per listener. Each handler is a thin mapping from HTTP requests
// to the library's functions (spanstore/otlp_http.h, tempo.h, jaeger.h, dependencies.h) and
// back to status codes and bodies.

#ifndef SPANSTORE_TOOLS_SPANSTORED_HANDLERS_H_
#define SPANSTORE_TOOLS_SPANSTORED_HANDLERS_H_

#include <functional>
#include <string>

#include "spanstore/store.h"
#include "tools/spanstored/config.h"
#include "tools/spanstored/http_types.h"
#include "tools/spanstored/ingest.h"

namespace spanstore::spanstored {

// OTLP/HTTP: POST /v1/traces.
HttpHandler MakeOtlpHttpHandler(IngestService* ingest);

// Tempo's API for Grafana: /api/echo, /api/status/buildinfo, /api/traces/{id},
// /api/v2/traces/{id}, /api/search, /api/search/tags, /api/v2/search/tags,
// /api/search/tag/{tag}/values, /api/v2/search/tag/{tag}/values.
HttpHandler MakeTempoHandler(Store* store, const ServerConfig& config);
// GET /api/metrics/query_range (instant false) and /api/metrics/query (tempo_metrics.cc).
HttpResponse TempoMetrics(Store* store, const ServerConfig& config, const HttpRequest& request,
                          bool instant);

// Jaeger's query API: /api/services, /api/services/{service}/operations, /api/operations,
// /api/traces/{id}, /api/traces, /api/dependencies.
HttpHandler MakeJaegerQueryHandler(Store* store, const ServerConfig& config);

// Adds GET /ready (200 while `ready` returns true, else 503) and GET /metrics (Prometheus
// text from `metrics`) in front of `inner`.
HttpHandler WithCommonRoutes(HttpHandler inner, std::function<bool()> ready,
                             std::function<std::string()> metrics);

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_HANDLERS_H_
