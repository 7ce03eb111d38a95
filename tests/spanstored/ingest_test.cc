// IngestService: admission under back-pressure, limits, decoding and the counts it reports.

#include "tools/spanstored/ingest.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/spanstored/test_support.h"
#include "tests/util/temp_dir.h"

namespace spanstore::spanstored::testing {
namespace {

using ::testing::HasSubstr;
using Kind = IngestOutcome::Kind;

constexpr uint64_t kStart = 1700000000000000000ull;

TEST(IngestTest, StoreIsBehindNearTheMemtableBudgetOrWhenReadOnly) {
  StoreStats stats;
  stats.memtable_bytes = 899;
  EXPECT_FALSE(StoreIsBehind(stats, 1000));
  stats.memtable_bytes = 900;
  EXPECT_TRUE(StoreIsBehind(stats, 1000));
  stats.memtable_bytes = 0;
  stats.read_only = true;
  EXPECT_TRUE(StoreIsBehind(stats, 1000));
}

class IngestServiceTest : public ::testing::Test {
 protected:
  void Open(Options options, ServerConfig config) {
    store_ = *Store::Open(options, dir_.Sub("db"));
    config_ = config;
    ingest_ = std::make_unique<IngestService>(store_.get(), config_, &metrics_,
                                              /*stats_interval=*/absl::ZeroDuration());
  }
  void TearDown() override {
    if (store_) (void)store_->Close();
  }
  spanstore::test::TempDir dir_;
  std::unique_ptr<Store> store_;
  ServerConfig config_;
  Metrics metrics_;
  std::unique_ptr<IngestService> ingest_;
};

TEST_F(IngestServiceTest, RefusesWithRetryWhileCompactionIsBehind) {
  Options options;
  options.background_compaction = false;  // memtables only grow: a store that fell behind
  ServerConfig config;
  config.max_memtable_bytes = 64 << 10;
  Open(options, config);
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    IngestOutcome o = ingest_->Export("test", OtlpEncoding::kProtobuf, "",
                                      ProtoRequest(SampleTrace("load", kStart + i, i)));
    if (o.kind == Kind::kUnavailable) {
      refused = true;
      EXPECT_THAT(o.message, HasSubstr("wait for compaction"));
    } else {
      ASSERT_EQ(o.kind, Kind::kOk) << o.message;
    }
  }
  ASSERT_TRUE(refused);
  EXPECT_GE(store_->Stats().memtable_bytes, config.max_memtable_bytes / 10 * 9);
  // Compaction catches up; ingest resumes.
  absl::Status compacted = store_->CompactAll();
  ASSERT_TRUE(compacted.ok()) << compacted;
  EXPECT_EQ(ingest_
                ->Export("test", OtlpEncoding::kProtobuf, "",
                         ProtoRequest(SampleTrace("after", kStart, 5000)))
                .kind,
            Kind::kOk);
}

TEST_F(IngestServiceTest, CompressedBombsStopAtTheLimit) {
  ServerConfig config;
  config.max_request_bytes = 1 << 20;
  Open(Options(), config);
  const std::string bomb = Gzip(std::string(64 << 20, 'a'));  // 64 MiB of output
  IngestOutcome o = ingest_->Export("test", OtlpEncoding::kProtobuf, "gzip", bomb);
  EXPECT_EQ(o.kind, Kind::kTooLarge);
  EXPECT_THAT(o.message, HasSubstr("1048576 bytes"));
  // An uncompressed body over the limit is refused the same way.
  IngestOutcome plain = ingest_->Export("test", OtlpEncoding::kProtobuf, "identity",
                                        std::string(config.max_request_bytes + 1, '\0'));
  EXPECT_EQ(plain.kind, Kind::kTooLarge);
}

TEST_F(IngestServiceTest, CountsReceivedAcceptedAndRejectedSpans) {
  Open(Options(), ServerConfig());
  std::vector<Span> spans = SampleTrace("counts", kStart, 1);
  spans.push_back(spans[0]);
  spans.back().trace_id = TraceId();  // invalid
  IngestOutcome o = ingest_->Export("otlp_http", OtlpEncoding::kJson, "", JsonRequest(spans));
  ASSERT_EQ(o.kind, Kind::kOk) << o.message;
  EXPECT_EQ(o.result.received_spans, 3u);
  EXPECT_EQ(o.result.rejected_spans, 1u);
  EXPECT_THAT(o.result.error_message, HasSubstr("trace id is all zeros"));
  const std::string text = metrics_.Render(store_->Stats());
  EXPECT_THAT(text, HasSubstr("spanstored_spans_received_total{protocol=\"otlp_http\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("spanstored_spans_accepted_total{protocol=\"otlp_http\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("spanstored_spans_rejected_total{protocol=\"otlp_http\"} 1\n"));
}

TEST_F(IngestServiceTest, SpansTheStoreRefusesAfterEncodingArePartialSuccessToo) {
  Options options;
  options.max_span_bytes = 2000;  // only the encoded size shows this one
  Open(options, ServerConfig());
  std::vector<Span> spans = SampleTrace("big", kStart, 2);
  spans[1].attributes.push_back({"blob", AnyValue::String(std::string(5000, 'z'))});
  IngestOutcome o = ingest_->Export("test", OtlpEncoding::kProtobuf, "", ProtoRequest(spans));
  ASSERT_EQ(o.kind, Kind::kOk) << o.message;
  EXPECT_EQ(o.result.rejected_spans, 1u);
  EXPECT_THAT(o.result.error_message, HasSubstr("max_span_bytes"));
  EXPECT_EQ(store_->GetTrace(spans[0].trace_id)->spans.size(), 1u);
}

}  // namespace
}  // namespace spanstore::spanstored::testing
