#include "format/page_codec.h"

#include <xxhash.h>

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "util/coding.h"

namespace spanstore {
namespace {

std::string Compressible(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + (i / 7) % 5));
  return s;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class PageCodecTest : public ::testing::TestWithParam<Codec> {};

TEST_P(PageCodecTest, RoundTripsEmptySmallLargeAndIncompressible) {
  for (const std::string& raw :
       {std::string(), std::string("x"), Compressible(100000), Random(5000, 1)}) {
    std::string encoded;
    ASSERT_TRUE(EncodePage(GetParam(), 3, raw, &encoded).ok());
    encoded += "trailing";
    std::string_view in = encoded;
    std::string decoded;
    ASSERT_TRUE(DecodePage(&in, {"f", 0, 0}, &decoded).ok());
    EXPECT_EQ(decoded, raw);
    EXPECT_EQ(in, "trailing");
  }
}

TEST_P(PageCodecTest, CompressesRepetitiveData) {
  const std::string raw = Compressible(100000);
  std::string encoded;
  ASSERT_TRUE(EncodePage(GetParam(), 3, raw, &encoded).ok());
  if (GetParam() == Codec::kNone) {
    EXPECT_EQ(encoded.size(), raw.size() + 1 + 3 + 3 + 8);  // codec, two 3-byte varints, xxh3
  } else {
    EXPECT_LT(encoded.size(), raw.size() / 10);
  }
}

TEST_P(PageCodecTest, EveryFlippedByteAndEveryTruncationIsDataLoss) {
  const std::string raw = Compressible(3000) + Random(200, 2);
  std::string encoded;
  ASSERT_TRUE(EncodePage(GetParam(), 3, raw, &encoded).ok());
  for (size_t i = 0; i < encoded.size(); ++i) {
    for (int bit : {0, 7}) {
      std::string damaged = encoded;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      std::string_view in = damaged;
      std::string decoded;
      const absl::Status s = DecodePage(&in, {"blk-000001.sst", 4, 1234}, &decoded);
      ASSERT_TRUE(absl::IsDataLoss(s)) << "byte " << i << ": " << s;
      EXPECT_NE(s.message().find("blk-000001.sst"), absl::string_view::npos);
      EXPECT_NE(s.message().find("page 4 at offset 1234"), absl::string_view::npos);
    }
  }
  for (size_t len = 0; len < encoded.size(); ++len) {
    std::string_view in(encoded.data(), len);
    std::string decoded;
    ASSERT_TRUE(absl::IsDataLoss(DecodePage(&in, {"f", 0, 0}, &decoded))) << len;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, PageCodecTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd));

TEST(PageCodec, HugeDeclaredSizeIsRefusedBeforeAllocating) {
  std::string page;
  page.push_back(2);
  page += "\xff\xff\xff\xff\xff\xff\xff\x7f";  // raw_size near 2^56
  page.push_back(0);
  page.append(8, '\0');
  std::string_view in = page;
  std::string decoded;
  const absl::Status s = DecodePage(&in, {"f", 0, 0}, &decoded);
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_NE(s.message().find("exceeds the limit"), absl::string_view::npos) << s;
}

// The expansion bounds readers check before allocating must hold for the most compressible
// input there is (one byte repeated), at the size where each codec's ratio is at its highest,
// and refuse anything claiming more.
TEST(PageCodec, ExpansionBoundsHoldForTheMostCompressibleInput) {
  const std::string zeros(32 << 20, '\0');
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    for (bool bare : {false, true}) {
      std::string payload;
      absl::StatusOr<Codec> used = CompressPayload(codec, 19, zeros, bare, &payload);
      ASSERT_TRUE(used.ok() && *used == codec);
      EXPECT_TRUE(PayloadMayDecodeTo(codec, payload.size(), zeros.size()))
          << static_cast<int>(codec) << " " << payload.size();
      EXPECT_FALSE(PayloadMayDecodeTo(codec, payload.size() / 2, zeros.size()))
          << static_cast<int>(codec) << " " << payload.size();
    }
  }
  EXPECT_TRUE(PayloadMayDecodeTo(Codec::kNone, 10, 10));
  EXPECT_FALSE(PayloadMayDecodeTo(Codec::kNone, 10, 11));
  EXPECT_FALSE(PayloadMayDecodeTo(Codec::kNone, 11, 10));
  EXPECT_FALSE(PayloadMayDecodeTo(static_cast<Codec>(3), 10, 10));
  EXPECT_TRUE(PayloadMayDecodeTo(Codec::kZstd, UINT64_MAX, kMaxPageRawSize));
}

// A page whose header claims more than its payload can decode to is refused before the
// output buffer is sized (the checksum is valid: a crafted or buggy file).
TEST(PageCodec, RawSizeThePayloadCannotReachIsRefused) {
  for (Codec codec : {Codec::kNone, Codec::kLz4, Codec::kZstd}) {
    std::string page;
    page.push_back(static_cast<char>(codec));
    PutVarint64(&page, kMaxPageRawSize);
    PutVarint64(&page, 4);
    page += "tiny";
    PutFixed64(&page, XXH3_64bits(page.data(), page.size()));
    std::string_view in = page;
    std::string decoded;
    const absl::Status s = DecodePage(&in, {"f", 0, 0}, &decoded);
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_NE(s.message().find("cannot decode"), absl::string_view::npos) << s;
    EXPECT_LT(decoded.capacity(), 1u << 20);
  }
}

}  // namespace
}  // namespace spanstore
