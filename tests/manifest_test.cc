// The manifest file: what Encode writes Decode returns; damage is DataLoss naming the file; a
// manifest from a newer format version is refused with both versions named; version 1 (the
// layout before the manifest carried a version field) is still read.

#include "format/manifest.h"

#include <xxhash.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/coding.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

Manifest Sample() {
  Manifest m;
  m.next_block_number = 9;
  m.first_live_segment = 4;
  m.blocks.push_back({3, 0, 1000, 80, 1'700'000'000'000'000'000, 1'700'000'060'000'000'000, 4096});
  m.blocks.push_back({8, 1, 5, 1, 7, 7, 512});
  return m;
}

TEST(Manifest, RoundTrips) {
  const Manifest m = Sample();
  auto decoded = Manifest::Decode(m.Encode(), "dir/MANIFEST");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, m);
  auto empty = Manifest::Decode(Manifest().Encode(), "dir/MANIFEST");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, Manifest());
}

TEST(Manifest, CarriesItsFormatVersion) {
  // Levels 0 and 1 only: version 2, which older builds read.
  const std::string bytes = Sample().Encode();
  EXPECT_EQ(bytes.substr(0, 8), kManifestMagic);
  EXPECT_EQ(DecodeFixed32(bytes.data() + 8), 2u);
  // A block merged twice needs version 3.
  Manifest deep = Sample();
  deep.blocks[1].level = 2;
  EXPECT_EQ(DecodeFixed32(deep.Encode().data() + 8), kManifestFormatVersion);
  EXPECT_EQ(kManifestFormatVersion, 3u);
}

TEST(Manifest, LevelsAboveOneOnlyFromVersionThree) {
  Manifest deep = Sample();
  deep.blocks[1].level = kMaxManifestLevel;
  auto decoded = Manifest::Decode(deep.Encode(), "dir/MANIFEST");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, deep);

  // The same body labelled version 2 (re-checksummed) is damage: version 2 had levels 0, 1.
  std::string v2 = deep.Encode();
  EncodeFixed32(v2.data() + 8, 2);
  v2.resize(v2.size() - 8);
  PutFixed64(&v2, XXH3_64bits(v2.data(), v2.size()));
  EXPECT_EQ(Manifest::Decode(v2, "dir/MANIFEST").status().code(), absl::StatusCode::kDataLoss);

  deep.blocks[1].level = kMaxManifestLevel + 1;
  EXPECT_EQ(Manifest::Decode(deep.Encode(), "dir/MANIFEST").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(Manifest, ReadsVersionOne) {
  // Version 1: magic "SPNMANI1", then the same body, then the checksum.
  const Manifest m = Sample();
  const std::string v2 = m.Encode();
  std::string v1 = "SPNMANI1" + v2.substr(12, v2.size() - 12 - 8);
  PutFixed64(&v1, XXH3_64bits(v1.data(), v1.size()));
  auto decoded = Manifest::Decode(v1, "dir/MANIFEST");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, m);
}

TEST(Manifest, RefusesANewerVersionNamingTheFileAndBothVersions) {
  std::string bytes = Sample().Encode();
  EncodeFixed32(bytes.data() + 8, kManifestFormatVersion + 1);
  // The checksum is not even looked at: a newer writer may compute it differently.
  auto decoded = Manifest::Decode(bytes, "dir/MANIFEST");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("dir/MANIFEST"));
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr(absl::StrCat("version ", kManifestFormatVersion + 1)));
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr(absl::StrCat("up to ", kManifestFormatVersion)));
}

TEST(Manifest, EveryFlippedBitAndEveryTruncationIsDataLoss) {
  const std::string bytes = Sample().Encode();
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    std::string damaged = bytes;
    damaged[i / 8] = static_cast<char>(damaged[i / 8] ^ (1 << (i % 8)));
    auto decoded = Manifest::Decode(damaged, "dir/MANIFEST");
    ASSERT_FALSE(decoded.ok()) << "bit " << i;
    // A flip in the version field may read as a newer version; anything else is damage.
    if (i / 8 >= 8 && i / 8 < 12 &&
        decoded.status().code() == absl::StatusCode::kFailedPrecondition) {
      continue;
    }
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << "bit " << i;
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("dir/MANIFEST"));
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = Manifest::Decode(bytes.substr(0, n), "dir/MANIFEST");
    ASSERT_FALSE(decoded.ok()) << n << " bytes";
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << n << " bytes";
  }
}

}  // namespace
}  // namespace spanstore
