// The query parameters spanstored turns into searches (spanstore/jaeger.h, tempo.h) on
// arbitrary text: Go durations, Jaeger's tag parameters (key:value and JSON), Tempo's search
// parameters (TraceQL, logfmt tags, durations, times, limits). The first byte picks which; a
// parse either fails cleanly or yields a request whose query can be evaluated.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spanstore/jaeger.h"
#include "spanstore/tempo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  spanstore::Span span;
  span.trace_id.bytes[0] = 1;
  span.span_id.bytes[0] = 1;
  span.attributes = {{"k", spanstore::AnyValue::String("value")},
                     {"n", spanstore::AnyValue::Int(5)}};
  span.resource_attributes = {{"service.name", spanstore::AnyValue::String("svc")}};
  switch (data[0] % 4) {
    case 0:
      (void)spanstore::ParseGoDuration(text);
      break;
    case 1: {
      auto tags = spanstore::ParseJaegerTags({text}, {});
      if (tags.ok()) (void)spanstore::JaegerTagsMatch(*tags, span);
      tags = spanstore::ParseJaegerTags({}, {text});
      if (tags.ok()) (void)spanstore::JaegerTagsMatch(*tags, span);
      break;
    }
    case 2:
    case 3: {
      // Split the text into the parameters at NUL bytes.
      std::string_view parts[8];
      std::string_view rest = text;
      for (auto& part : parts) {
        const size_t nul = rest.find('\0');
        part = rest.substr(0, nul);
        rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
      }
      spanstore::TempoSearchParams p;
      if (data[0] % 4 == 2) {
        p.q = parts[0];
      } else {
        p.tags = parts[0];
      }
      p.min_duration = parts[1];
      p.max_duration = parts[2];
      p.start = parts[3];
      p.end = parts[4];
      p.limit = parts[5];
      p.spss = parts[6];
      auto request = spanstore::ParseTempoSearch(p);
      if (request.ok()) {
        if (request->limit == 0 || request->spans_per_spanset == 0) __builtin_trap();
        (void)spanstore::SpanMatches(request->query, span);
      }
      break;
    }
  }
  return 0;
}
