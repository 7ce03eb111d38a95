// Group pages: every column comes back exactly (each codec, empty and incompressible columns),
// per-column byte counts add up to the page, and any damage is DataLoss, never a bad read.

#include "format/group_page.h"

#include <xxhash.h>

#include <random>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

std::array<std::string, kNumBlockColumns> SampleColumns(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::array<std::string, kNumBlockColumns> columns;
  for (int c = 0; c < kNumBlockColumns; ++c) {
    const size_t n = c == 3 ? 0 : rng() % 3000;  // one empty column
    // Even columns compress (words from a small vocabulary), odd ones do not (random bytes).
    static constexpr const char* kWords[] = {"GET /cart ", "POST /pay ", "checkout ", "200 OK "};
    while (columns[c].size() < n) {
      if (c % 2 == 0) {
        columns[c] += kWords[rng() % 4];
      } else {
        columns[c].push_back(static_cast<char>(rng()));
      }
    }
    columns[c].resize(n);
  }
  return columns;
}

class GroupPageTest : public ::testing::TestWithParam<Codec> {};

TEST_P(GroupPageTest, RoundTripsEveryColumn) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const auto columns = SampleColumns(seed);
    std::string page = "prefix";
    std::array<uint64_t, kNumBlockColumns> stored{};
    ASSERT_TRUE(EncodeGroupPage(GetParam(), 3, columns, &page, &stored).ok());
    ASSERT_EQ(page.substr(0, 6), "prefix");  // appended, not replaced
    const std::string_view data = std::string_view(page).substr(6);
    uint64_t sum = 8;  // the checksum
    for (uint64_t s : stored) sum += s;
    EXPECT_EQ(sum, data.size());

    GroupPage parsed;
    ASSERT_TRUE(parsed.Parse(data, PageLocation{"t.blk", 0, 16}).ok());
    for (int c = 0; c < kNumBlockColumns; ++c) {
      std::string scratch;
      std::string_view raw;
      ASSERT_TRUE(parsed.Column(c, &scratch, &raw).ok()) << c;
      EXPECT_EQ(raw, columns[c]) << "column " << c;
      EXPECT_EQ(parsed.raw_size(c), columns[c].size());
      // Incompressible columns are stored as they are, whatever the codec.
      if (c % 2 == 1 && !columns[c].empty()) {
        EXPECT_GE(stored[c], columns[c].size());
      }
      if (GetParam() != Codec::kNone && c % 2 == 0 && columns[c].size() > 500) {
        EXPECT_LT(stored[c], columns[c].size() / 2) << "column " << c << " not compressed";
      }
    }
  }
}

TEST_P(GroupPageTest, EveryFlippedByteAndTruncationIsDataLoss) {
  std::array<std::string, kNumBlockColumns> columns;
  for (int c = 0; c < kNumBlockColumns; ++c) columns[c] = std::string(40 + c, 'a' + c % 3);
  std::string page;
  std::array<uint64_t, kNumBlockColumns> stored{};
  ASSERT_TRUE(EncodeGroupPage(GetParam(), 3, columns, &page, &stored).ok());
  for (size_t i = 0; i < page.size(); ++i) {
    std::string damaged = page;
    damaged[i] ^= 0x04;
    GroupPage parsed;
    absl::Status s = parsed.Parse(damaged, PageLocation{"t.blk", 7, 100});
    ASSERT_FALSE(s.ok()) << "flip at " << i;
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("t.blk: row group 7 at offset 100"), std::string::npos) << s;
  }
  for (size_t len = 0; len < page.size(); ++len) {
    GroupPage parsed;
    EXPECT_EQ(parsed.Parse(std::string_view(page).substr(0, len), PageLocation{"t.blk", 0, 0})
                  .code(),
              absl::StatusCode::kDataLoss)
        << len;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, GroupPageTest,
                         ::testing::Values(Codec::kNone, Codec::kLz4, Codec::kZstd));

// A page whose checksum is right but whose compressed payload does not decode (a writer bug, or
// a crafted file) fails when that column is decoded, naming it.
TEST(GroupPage, PayloadThatDoesNotDecodeIsDataLoss) {
  std::array<std::string, kNumBlockColumns> columns;
  for (int c = 0; c < kNumBlockColumns; ++c) columns[c] = std::string(500, 'x');
  std::string page;
  std::array<uint64_t, kNumBlockColumns> stored{};
  ASSERT_TRUE(EncodeGroupPage(Codec::kZstd, 3, columns, &page, &stored).ok());
  // The last column's payload ends just before the checksum: damage it, then re-checksum.
  page[page.size() - 9] ^= 0x55;
  const uint64_t sum = XXH3_64bits(page.data(), page.size() - 8);
  for (int i = 0; i < 8; ++i) page[page.size() - 8 + i] = static_cast<char>(sum >> (8 * i));
  GroupPage parsed;
  ASSERT_TRUE(parsed.Parse(page, PageLocation{"t.blk", 0, 0}).ok());
  std::string scratch;
  std::string_view raw;
  absl::Status s = parsed.Column(kNumBlockColumns - 1, &scratch, &raw);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("links"), std::string::npos) << s;
}

}  // namespace
}  // namespace spanstore
