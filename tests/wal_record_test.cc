// SpanBatchOfRecord (format/wal_record.cc): the span batch of a plain or an LZ4 record, and the
// damage an LZ4 record can carry.

#include "format/wal_record.h"

#include <lz4.h>

#include "format/span_codec.h"
#include "gtest/gtest.h"
#include "tests/util/random_spans.h"
#include "util/coding.h"

namespace spanstore {
namespace {

// A kSpanBatchLz4 payload: u32 LE uncompressed size, then the LZ4 block of `batch`.
std::string Lz4Payload(std::string_view batch) {
  std::string out;
  PutFixed32(&out, static_cast<uint32_t>(batch.size()));
  const int bound = LZ4_compressBound(static_cast<int>(batch.size()));
  const size_t at = out.size();
  out.resize(at + bound);
  const int n =
      LZ4_compress_default(batch.data(), out.data() + at, static_cast<int>(batch.size()), bound);
  out.resize(at + n);
  return out;
}

std::string SomeBatch() {
  test::RandomSpans gen(5);
  std::string batch;
  EncodeSpanBatch(gen.NextTrace(4), &batch);
  return batch;
}

TEST(WalRecordTest, PlainBatchIsThePayload) {
  const std::string batch = SomeBatch();
  std::string scratch;
  std::string_view got;
  ASSERT_TRUE(SpanBatchOfRecord(wal::kSpanBatch, batch, &scratch, &got).ok());
  EXPECT_EQ(got.data(), batch.data());
  EXPECT_EQ(got.size(), batch.size());
}

TEST(WalRecordTest, Lz4BatchDecompresses) {
  const std::string batch = SomeBatch();
  const std::string payload = Lz4Payload(batch);
  std::string scratch;
  std::string_view got;
  ASSERT_TRUE(SpanBatchOfRecord(wal::kSpanBatchLz4, payload, &scratch, &got).ok());
  EXPECT_EQ(got, batch);
  std::vector<Span> spans;
  EXPECT_TRUE(DecodeSpanBatch(got, &spans).ok());
  EXPECT_EQ(spans.size(), 4u);
}

TEST(WalRecordTest, Lz4DamageIsDataLoss) {
  const std::string batch = SomeBatch();
  const std::string good = Lz4Payload(batch);
  std::string scratch;
  std::string_view got;
  auto code = [&](std::string_view payload) {
    return SpanBatchOfRecord(wal::kSpanBatchLz4, payload, &scratch, &got).code();
  };
  // Shorter than its size field.
  EXPECT_EQ(code("abc"), absl::StatusCode::kDataLoss);
  // A size over the largest payload is refused before anything is allocated.
  std::string huge = good;
  EncodeFixed32(huge.data(), wal::kMaxPayloadSize + 1);
  scratch.clear();
  scratch.shrink_to_fit();
  EXPECT_EQ(code(huge), absl::StatusCode::kDataLoss);
  EXPECT_LT(scratch.capacity(), size_t{1} << 20);
  // A size the block does not decompress to, either way.
  std::string smaller = good;
  EncodeFixed32(smaller.data(), static_cast<uint32_t>(batch.size() - 1));
  EXPECT_EQ(code(smaller), absl::StatusCode::kDataLoss);
  std::string larger = good;
  EncodeFixed32(larger.data(), static_cast<uint32_t>(batch.size() + 1));
  EXPECT_EQ(code(larger), absl::StatusCode::kDataLoss);
  // A truncated block.
  EXPECT_EQ(code(std::string_view(good).substr(0, good.size() - 1)), absl::StatusCode::kDataLoss);
}

TEST(WalRecordTest, OtherTypesCarryNoBatch) {
  std::string scratch;
  std::string_view got;
  EXPECT_EQ(SpanBatchOfRecord(static_cast<wal::RecordType>(wal::kSafeToIgnoreBit | 3), "x",
                              &scratch, &got)
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spanstore
