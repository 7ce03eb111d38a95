// Embedding spanstore: open a store, append a trace, read it back, search for it.
#include <cstdio>
#include <vector>

#include "spanstore/spanstore.h"

int main(int argc, char** argv) {
  spanstore::Options options;  // defaults: Append is durable (fdatasync) when it returns
  auto store = spanstore::Store::Open(options, argc > 1 ? argv[1] : "/tmp/spanstore-example");
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;

  // A trace: "checkout" serves a request and calls "payment", which fails.
  std::vector<spanstore::Span> spans(2);
  for (spanstore::Span& s : spans) {
    s.trace_id = *spanstore::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
    s.start_time_unix_nano = 1'700'000'000'000'000'000;
    s.end_time_unix_nano = s.start_time_unix_nano + 120'000'000;  // 120 ms
  }
  spans[0].span_id = *spanstore::SpanId::FromHex("00f067aa0ba902b7");
  spans[0].service_name = "checkout";
  spans[0].name = "POST /checkout";
  spans[1].span_id = *spanstore::SpanId::FromHex("53995c3f42cd8ad8");
  spans[1].parent_span_id = spans[0].span_id;
  spans[1].service_name = "payment";
  spans[1].name = "charge";
  spans[1].status_code = spanstore::StatusCode::kError;
  if (absl::Status s = (*store)->Append(spans); !s.ok()) return 1;

  auto trace = (*store)->GetTrace(spans[0].trace_id);  // every span, by start time
  auto query = spanstore::ParseQuery(R"({ resource.service.name = "payment" && status = error })");
  auto found = (*store)->FindTraces(*query, /*limit=*/10);
  if (!trace.ok() || trace->spans != spans || !found.ok() || found->size() != 1) return 1;
  std::printf("trace %s: root %s, %u spans, %u errors\n", found->front().trace_id.ToHex().c_str(),
              found->front().root_service.c_str(), found->front().span_count,
              found->front().error_count);
  return (*store)->Close().ok() ? 0 : 1;
}
