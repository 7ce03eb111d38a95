// Embedding spanstore: open a store, append a trace, read it back, search for it.
//
// Build with CMake:     find_package(spanstore REQUIRED)
//                       target_link_libraries(app PRIVATE spanstore::spanstore)
// or with pkg-config:   c++ -std=c++20 app.cc $(pkg-config --cflags --libs spanstore)
//                       (add --static when spanstore is installed as a static library)
// Run: ./app [store-dir]; it exits 1 with a message when a step fails.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "spanstore/spanstore.h"

// Prints why and returns main's exit code.
int Fail(const std::string& why) {
  std::fprintf(stderr, "embed_example: %s\n", why.c_str());
  return 1;
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/spanstore-example";
  spanstore::Options options;  // defaults: Append is durable (fdatasync) when it returns
  auto store = spanstore::Store::Open(options, dir);  // creates the store if it does not exist
  if (!store.ok()) return Fail(store.status().ToString());

  // One trace: "checkout" serves a request and calls "payment", which fails.
  const uint64_t t0 = 1700000000000000000;  // unix nanoseconds
  const spanstore::TraceId trace_id =
      spanstore::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736").value();
  std::vector<spanstore::Span> spans(2);
  spans[0].trace_id = spans[1].trace_id = trace_id;
  spans[0].span_id = spanstore::SpanId::FromHex("00f067aa0ba902b7").value();
  spans[0].service_name = "checkout";
  spans[0].name = "POST /checkout";
  spans[0].kind = spanstore::SpanKind::kServer;
  spans[0].start_time_unix_nano = t0;
  spans[0].end_time_unix_nano = t0 + 120'000'000;  // 120 ms
  spans[1].span_id = spanstore::SpanId::FromHex("53995c3f42cd8ad8").value();
  spans[1].parent_span_id = spans[0].span_id;
  spans[1].service_name = "payment";
  spans[1].name = "charge";
  spans[1].kind = spanstore::SpanKind::kClient;
  spans[1].start_time_unix_nano = t0 + 10'000'000;
  spans[1].end_time_unix_nano = t0 + 90'000'000;
  spans[1].status_code = spanstore::StatusCode::kError;
  if (absl::Status s = (*store)->Append(spans); !s.ok()) return Fail(s.ToString());

  // Every span of the trace, ordered by start time.
  auto trace = (*store)->GetTrace(trace_id);
  if (!trace.ok()) return Fail(trace.status().ToString());
  if (trace->spans != spans) return Fail("GetTrace did not return the spans appended");

  // Traces with a failed span in "payment", in TraceQL (the filter language of Grafana Tempo).
  auto query = spanstore::ParseQuery(R"({ resource.service.name = "payment" && status = error })");
  if (!query.ok()) return Fail(query.status().ToString());
  auto found = (*store)->FindTraces(*query, /*limit=*/10);
  if (!found.ok()) return Fail(found.status().ToString());
  if (found->size() != 1 || found->front().trace_id != trace_id) return Fail("trace not found");
  const spanstore::TraceSummary& hit = found->front();
  std::printf("trace %s: %s %s, %u spans, %u errors\n", hit.trace_id.ToHex().c_str(),
              hit.root_service.c_str(), hit.root_name.c_str(), hit.span_count, hit.error_count);

  if (absl::Status s = (*store)->Close(); !s.ok()) return Fail(s.ToString());
  return 0;
}
