// Request targets via Boost.URL (built here header-only: this file compiles its sources once).

#include <boost/url/parse.hpp>
#include <boost/url/src.hpp>

#include "tools/spanstored/http_types.h"

namespace spanstore::spanstored {

bool ParseTarget(HttpRequest* request) {
  auto url = boost::urls::parse_origin_form(request->target);
  if (!url) return false;
  request->path = std::string(url->path());
  request->segments.clear();
  for (auto segment : url->segments()) request->segments.emplace_back(segment);
  request->params.clear();
  // Decoded, with '+' read as a space, as Go's url.Query (Tempo's and Jaeger's servers) reads it.
  for (auto param : url->params(boost::urls::encoding_opts(/*space_as_plus=*/true))) {
    request->params.emplace_back(std::string(param.key), std::string(param.value));
  }
  return true;
}

}  // namespace spanstore::spanstored
