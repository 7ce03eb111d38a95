#include "tools/spanstored/ingest.h"

#include <memory>

#include "absl/strings/str_format.h"

namespace spanstore::spanstored {
namespace {

// Per worker thread: the decoder refills the spans of the previous request, the buffer keeps
// the capacity of the largest decompressed body.
struct ThreadState {
  const void* owner = nullptr;  // the IngestService whose limits the decoder checks
  std::unique_ptr<OtlpExportDecoder> decoder;
  std::string body;
};
thread_local ThreadState t_state;

IngestOutcome Fail(IngestOutcome::Kind kind, std::string message) {
  IngestOutcome o;
  o.kind = kind;
  o.message = std::move(message);
  return o;
}

bool Retryable(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kResourceExhausted:   // disk full: space may come back
    case absl::StatusCode::kUnavailable:         // I/O error
    case absl::StatusCode::kFailedPrecondition:  // read-only or closing: a restart recovers
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool StoreIsBehind(const StoreStats& stats, uint64_t max_memtable_bytes) {
  return stats.read_only || stats.memtable_bytes >= max_memtable_bytes / 10 * 9;
}

IngestService::IngestService(Store* store, const ServerConfig& config, Metrics* metrics,
                             absl::Duration stats_interval)
    : store_(store),
      config_(config),
      metrics_(metrics),
      stats_interval_(stats_interval),
      refuse_left_(config.test_refuse_ingest) {
  limits_.max_memtable_bytes = config.max_memtable_bytes;
}

bool IngestService::Overloaded() {
  std::lock_guard<std::mutex> l(stats_mu_);
  const absl::Time now = absl::Now();
  if (now - stats_time_ >= stats_interval_) {
    const StoreStats stats = store_->Stats();
    behind_ = StoreIsBehind(stats, config_.max_memtable_bytes);
    behind_message_ =
        stats.read_only
            ? absl::StrFormat("the store cannot write: %s", stats.background_error)
            : absl::StrFormat(
                  "the store is behind: %d bytes of spans wait for compaction (limit %d); retry",
                  stats.memtable_bytes, config_.max_memtable_bytes);
    stats_time_ = now;
  }
  return behind_;
}

IngestOutcome IngestService::Export(std::string_view protocol, OtlpEncoding encoding,
                                    std::string_view content_encoding, std::string_view body) {
  using Kind = IngestOutcome::Kind;
  for (uint64_t left = refuse_left_.load(); left > 0;) {
    if (refuse_left_.compare_exchange_weak(left, left - 1)) {
      return Fail(Kind::kUnavailable, "refused for testing (--test-refuse-ingest); retry");
    }
  }
  if (Overloaded()) {
    std::lock_guard<std::mutex> l(stats_mu_);
    return Fail(Kind::kUnavailable, behind_message_);
  }

  ThreadState& state = t_state;
  std::string_view plain = body;
  if (content_encoding.empty() || content_encoding == "identity") {
    if (body.size() > config_.max_request_bytes) {
      return Fail(Kind::kTooLarge,
                  absl::StrFormat("the request body is larger than %d bytes (--max-request-bytes)",
                                  config_.max_request_bytes));
    }
  } else {
    absl::Status s =
        DecodeContentEncoding(content_encoding, body, config_.max_request_bytes, &state.body);
    if (!s.ok()) {
      const Kind kind = s.code() == absl::StatusCode::kOutOfRange      ? Kind::kTooLarge
                        : s.code() == absl::StatusCode::kUnimplemented ? Kind::kUnsupportedEncoding
                                                                       : Kind::kInvalid;
      return Fail(kind, std::string(s.message()));
    }
    plain = state.body;
  }

  if (state.decoder == nullptr || state.owner != this) {
    state.decoder = std::make_unique<OtlpExportDecoder>(limits_);
    state.owner = this;
  }
  IngestOutcome outcome;
  absl::StatusOr<absl::Span<Span>> spans = state.decoder->Decode(encoding, plain, &outcome.result);
  if (!spans.ok()) {
    return Fail(Kind::kInvalid,
                absl::StrFormat("undecodable request: %s", spans.status().message()));
  }
  const uint64_t rejected_before_append = outcome.result.rejected_spans;
  const absl::Time start = absl::Now();
  absl::Status s = AppendPartially(*store_, *spans, &outcome.result);
  metrics_->ObserveAppend(absl::Now() - start);
  if (!s.ok()) {
    metrics_->AddSpans(protocol, outcome.result.received_spans, 0, outcome.result.rejected_spans);
    return Fail(Retryable(s) ? Kind::kUnavailable : Kind::kInternal, std::string(s.message()));
  }
  const uint64_t refused_by_store = outcome.result.rejected_spans - rejected_before_append;
  metrics_->AddSpans(protocol, outcome.result.received_spans, spans->size() - refused_by_store,
                     outcome.result.rejected_spans);
  return outcome;
}

}  // namespace spanstore::spanstored
