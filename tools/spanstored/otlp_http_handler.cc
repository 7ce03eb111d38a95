// POST /v1/traces: the OTLP/HTTP status contract (OTLP specification, "OTLP/HTTP Response"):
// 200 with an ExportTraceServiceResponse (partial_success for dropped spans), 400 for a body
// that does not decode, 413 over the size limit, 415 for an unknown Content-Type or
// Content-Encoding, 503 + Retry-After under back-pressure (retryable), 500 otherwise. Error
// bodies are a google.rpc.Status in the request's encoding.

#include "absl/strings/str_cat.h"
#include "tools/spanstored/handlers.h"

namespace spanstore::spanstored {

HttpHandler MakeOtlpHttpHandler(IngestService* ingest) {
  return [ingest](HttpRequest& request) -> HttpResponse {
    if (request.path != "/v1/traces") {
      return HttpResponse::Text(404, "not found: the OTLP/HTTP listener serves POST /v1/traces");
    }
    if (request.method != "POST") {
      HttpResponse r = HttpResponse::Text(405, "method not allowed: use POST");
      r.headers.emplace_back("Allow", "POST");
      return r;
    }
    const std::optional<OtlpEncoding> encoding = OtlpEncodingFromContentType(request.content_type);
    if (!encoding) {
      return HttpResponse::Text(415,
                                absl::StrCat("unsupported Content-Type \"", request.content_type,
                                             "\": use application/x-protobuf or application/json"));
    }
    IngestOutcome outcome =
        ingest->Export("otlp_http", *encoding, request.content_encoding, request.body);
    HttpResponse r;
    r.content_type = std::string(OtlpContentType(*encoding));
    auto status = [&](int http, int grpc) {
      r.status = http;
      r.body = EncodeOtlpStatus(*encoding, grpc, outcome.message);
    };
    switch (outcome.kind) {
      case IngestOutcome::Kind::kOk:
        r.status = 200;
        r.body = EncodeOtlpExportResponse(*encoding, outcome.result);
        break;
      case IngestOutcome::Kind::kInvalid:
        status(400, 3);  // INVALID_ARGUMENT
        break;
      case IngestOutcome::Kind::kTooLarge:
        status(413, 8);  // RESOURCE_EXHAUSTED
        break;
      case IngestOutcome::Kind::kUnsupportedEncoding:
        status(415, 3);
        break;
      case IngestOutcome::Kind::kUnavailable:
        status(503, 14);  // UNAVAILABLE
        r.headers.emplace_back("Retry-After",
                               absl::StrCat(absl::ToInt64Seconds(ingest->retry_after())));
        break;
      case IngestOutcome::Kind::kInternal:
        status(500, 13);  // INTERNAL
        break;
    }
    return r;
  };
}

HttpHandler WithCommonRoutes(HttpHandler inner, std::function<bool()> ready,
                             std::function<std::string()> metrics) {
  return [inner = std::move(inner), ready = std::move(ready),
          metrics = std::move(metrics)](HttpRequest& request) -> HttpResponse {
    if (request.path == "/ready" && request.method == "GET") {
      return ready() ? HttpResponse::Text(200, "ready") : HttpResponse::Text(503, "not ready");
    }
    if (request.path == "/metrics" && request.method == "GET") {
      HttpResponse r = HttpResponse::Text(200, metrics());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return r;
    }
    return inner(request);
  };
}

}  // namespace spanstore::spanstored
