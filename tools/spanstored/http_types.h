// The HTTP request and response as handlers see them: plain structs, so that handlers do not
// depend on the HTTP library (only http_server.cc and url.cc include Boost).

#ifndef SPANSTORE_TOOLS_SPANSTORED_HTTP_TYPES_H_
#define SPANSTORE_TOOLS_SPANSTORED_HTTP_TYPES_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spanstore::spanstored {

struct HttpRequest {
  std::string method;                 // "GET", "POST", ...
  std::string target;                 // as sent, e.g. "/api/search?q=%7B%7D"
  std::string path;                   // percent-decoded
  std::vector<std::string> segments;  // the path split at '/', each percent-decoded once
  std::vector<std::pair<std::string, std::string>> params;  // the query, decoded, in order
  std::string content_type;
  std::string content_encoding;
  std::string accept;
  std::string body;

  // The first value of a query parameter, or `fallback` when absent.
  std::string_view Param(std::string_view name, std::string_view fallback = {}) const {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return fallback;
  }
  bool HasParam(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return true;
    }
    return false;
  }
  std::vector<std::string> Params(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : params) {
      if (k == name) out.push_back(v);
    }
    return out;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Retry-After

  static HttpResponse Text(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    if (!r.body.empty() && r.body.back() != '\n') r.body.push_back('\n');
    return r;
  }
  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
  }
};

// Handles one request; runs on a worker thread and may block.
using HttpHandler = std::function<HttpResponse(HttpRequest& request)>;

// Splits request.target into path, segments and params. False when the target is not an
// origin-form URL (the server answers 400).
bool ParseTarget(HttpRequest* request);

}  // namespace spanstore::spanstored

#endif  // SPANSTORE_TOOLS_SPANSTORED_HTTP_TYPES_H_
