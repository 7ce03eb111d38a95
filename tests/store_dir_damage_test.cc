// The damage matrix of fuzz/store_dir_fuzz.cc, deterministic, in the normal suite (so it also
// runs under ASan/UBSan): every file of a small store (MANIFEST, blocks, WAL segments) deleted,
// truncated and bit-flipped at chosen offsets, then opened under each recovery mode, verified
// and queried (tests/util/store_damage.h says what must hold). Damage to the MANIFEST, which
// holds no spans, must cost no span at all once kSalvage has rebuilt it; damage to a block's
// analysis summary (blocks/NNNNNN.sum) must cost nothing at all.

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/util/store_damage.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;
using ::testing::UnorderedElementsAreArray;

class StoreDirDamageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    written_ = new std::vector<Span>;
    ASSERT_TRUE(test::BuildDamageStore(dir_->Sub("pristine"), written_).ok());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete written_;
  }
  static std::string Pristine() { return dir_->Sub("pristine"); }

  static test::TempDir* dir_;
  static std::vector<Span>* written_;
};
test::TempDir* StoreDirDamageTest::dir_ = nullptr;
std::vector<Span>* StoreDirDamageTest::written_ = nullptr;

TEST_F(StoreDirDamageTest, EveryFileEveryKindOfDamage) {
  const std::vector<std::string> files = test::DamageStoreFiles(Pristine());
  ASSERT_GE(files.size(), 6u);
  int cases = 0;
  for (const std::string& file : files) {
    const uint64_t size = fs::file_size(Pristine() + "/" + file);
    std::vector<test::Damage> damages = {{file, test::DamageKind::kDelete, 0, 0}};
    for (uint64_t at : {uint64_t{0}, size / 2, size - 1}) {
      damages.push_back({file, test::DamageKind::kTruncate, at, 0});
    }
    for (uint64_t at :
         {uint64_t{0}, uint64_t{9}, uint64_t{21}, size / 3, size / 2, size - 12, size - 1}) {
      damages.push_back({file, test::DamageKind::kBitFlip, at, 3});
    }
    for (const test::Damage& damage : damages) {
      SCOPED_TRACE(test::DamageName(damage));
      const std::string dir = dir_->Sub("case");
      fs::remove_all(dir);
      fs::copy(Pristine(), dir, fs::copy_options::recursive);
      test::ApplyDamage(dir, damage);
      test::DamageOutcome out;
      absl::Status s = test::CheckDamagedStore(dir, *written_, &out);
      ASSERT_TRUE(s.ok()) << s;
      ++cases;
      if (file == "MANIFEST") {
        // No span lives in the manifest: refused, reported, and rebuilt with every span.
        EXPECT_FALSE(out.default_open_ok);
        EXPECT_FALSE(out.verify_ok);
        ASSERT_TRUE(out.salvage_open_ok);
        EXPECT_THAT(out.salvage_spans, UnorderedElementsAreArray(*written_));
      } else if (file.size() > 4 && file.compare(file.size() - 4, 4, ".sum") == 0) {
        // A block's analysis summary is derived data: any damage to it costs no span and no
        // open; verify only warns.
        EXPECT_TRUE(out.default_open_ok);
        EXPECT_TRUE(out.verify_ok);
        EXPECT_THAT(out.default_spans, UnorderedElementsAreArray(*written_));
      } else if (damage.kind == test::DamageKind::kDelete && file.rfind("blocks/", 0) == 0) {
        EXPECT_FALSE(out.default_open_ok);
        EXPECT_FALSE(out.verify_ok);
      }
      if (out.default_open_ok) {
        // What a normal open returns after damage it accepted (a torn tail) is what was written,
        // less at most the torn records.
        EXPECT_LE(out.default_spans.size(), written_->size());
      }
    }
  }
  EXPECT_GT(cases, 50);
}

// The same with the middle WAL segment gone: refused, reported, and salvage keeps the rest.
TEST_F(StoreDirDamageTest, MissingMiddleSegment) {
  std::vector<std::string> segments;
  for (const std::string& f : test::DamageStoreFiles(Pristine())) {
    if (f.rfind("wal/", 0) == 0) segments.push_back(f);
  }
  ASSERT_GE(segments.size(), 3u);
  const std::string dir = dir_->Sub("gap");
  fs::copy(Pristine(), dir, fs::copy_options::recursive);
  test::ApplyDamage(dir, {segments[1], test::DamageKind::kDelete, 0, 0});
  test::DamageOutcome out;
  absl::Status s = test::CheckDamagedStore(dir, *written_, &out);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_FALSE(out.default_open_ok);
  EXPECT_THAT(std::string(out.default_open.message()), ::testing::HasSubstr("is missing"));
  EXPECT_FALSE(out.verify_ok);
  EXPECT_TRUE(out.salvage_open_ok);
  EXPECT_GT(out.salvage_spans.size(), written_->size() / 2);
}

// The seeds of fuzz/store_dir_fuzz.cc (and any finding kept there), as the fuzzer runs them.
TEST_F(StoreDirDamageTest, FuzzCorpusReplays) {
  const std::string corpus = std::string(SPANSTORE_TESTDATA_DIR) + "/../../fuzz/corpus/store_dir";
  ASSERT_TRUE(fs::exists(corpus));
  const std::vector<std::string> files = test::DamageStoreFiles(Pristine());
  int replayed = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    SCOPED_TRACE(entry.path().filename().string());
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string dir = dir_->Sub("corpus");
    fs::remove_all(dir);
    fs::copy(Pristine(), dir, fs::copy_options::recursive);
    for (const test::Damage& d : test::DamagesFromBytes(bytes, files)) test::ApplyDamage(dir, d);
    test::DamageOutcome out;
    absl::Status s = test::CheckDamagedStore(dir, *written_, &out);
    EXPECT_TRUE(s.ok()) << s;
    ++replayed;
  }
  EXPECT_GE(replayed, 10);
}

}  // namespace
}  // namespace spanstore
