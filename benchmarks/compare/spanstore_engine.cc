// spanstore through its public API only (store.h, options.h, query.h), so that the comparison
// measures whatever the engine does today -- compaction into column blocks included once it
// lands -- without this program changing.

#include <utility>

#include "benchmarks/compare/engine.h"
#include "spanstore/store.h"

namespace spanstore::compare {
namespace {

class SpanstoreEngine : public Engine {
 public:
  explicit SpanstoreEngine(Codec codec) : codec_(codec) {}

  absl::Status Open(const std::string& dir) override {
    Options options;  // defaults: kEveryBatch, background compaction
    options.codec = codec_;
    auto store = Store::Open(options, dir);
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    return absl::OkStatus();
  }

  absl::Status Write(absl::Span<const Span> spans) override { return store_->Append(spans); }

  absl::Status Compact() override { return store_->CompactAll(); }

  absl::Status Close() override {
    absl::Status s = store_->Close();
    store_.reset();
    return s;
  }

  absl::Status GetTrace(const TraceId& trace_id, std::vector<Span>* spans) override {
    auto trace = store_->GetTrace(trace_id);
    if (absl::IsNotFound(trace.status())) {
      spans->clear();
      return absl::OkStatus();
    }
    if (!trace.ok()) return trace.status();
    *spans = std::move(trace->spans);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<TraceSummary>> FindTraces(const SpanQuery& query,
                                                       size_t limit) override {
    return store_->FindTraces(query, limit);
  }

  absl::Status Scan(const SpanQuery& query,
                    absl::FunctionRef<void(const Span&)> visit) override {
    return store_->Scan(query, [&](const Span& span) {
      visit(span);
      return true;
    });
  }

 private:
  const Codec codec_;
  std::unique_ptr<Store> store_;
};

}  // namespace

std::unique_ptr<Engine> NewSpanstoreEngine(Codec codec) {
  return std::make_unique<SpanstoreEngine>(codec);
}

}  // namespace spanstore::compare
