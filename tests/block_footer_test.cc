// A block file's fixed-size ends: the footer round-trips, every damaged byte of it is caught,
// and the header names its format version.

#include "format/block_footer.h"

#include <string>

#include "format/block_format.h"
#include "gtest/gtest.h"

namespace spanstore {
namespace {

TEST(BlockFooter, RoundTripsAndCatchesEveryDamagedByte) {
  BlockFooter footer;
  footer.meta_offset = 123456;
  footer.meta_size = 789;
  footer.index_offset = 124245;
  footer.index_size = 4242;
  footer.version = kBlockFormatVersion;
  footer.columns = kNumBlockColumns;
  std::string bytes;
  footer.EncodeTo(&bytes);
  ASSERT_EQ(bytes.size(), kBlockFooterSize);
  BlockFooter decoded;
  std::string what;
  ASSERT_TRUE(decoded.DecodeFrom(bytes, &what)) << what;
  EXPECT_EQ(decoded.meta_offset, footer.meta_offset);
  EXPECT_EQ(decoded.meta_size, footer.meta_size);
  EXPECT_EQ(decoded.index_offset, footer.index_offset);
  EXPECT_EQ(decoded.index_size, footer.index_size);
  EXPECT_EQ(decoded.version, footer.version);
  EXPECT_EQ(decoded.columns, footer.columns);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] ^= 0x20;
    EXPECT_FALSE(decoded.DecodeFrom(damaged, &what)) << "byte " << i;
    EXPECT_FALSE(what.empty());
  }
  EXPECT_FALSE(decoded.DecodeFrom(bytes.substr(1), &what));
}

TEST(BlockFooter, HeaderCarriesTheFormatVersion) {
  std::string header;
  EncodeBlockHeader(&header);
  ASSERT_EQ(header.size(), kBlockHeaderSize);
  EXPECT_EQ(DecodeBlockHeaderVersion(header), kBlockFormatVersion);
  EXPECT_EQ(DecodeBlockHeaderVersion(header.substr(0, 10)), 0u);
  header[0] = 'X';
  EXPECT_EQ(DecodeBlockHeaderVersion(header), 0u);
}

}  // namespace
}  // namespace spanstore
