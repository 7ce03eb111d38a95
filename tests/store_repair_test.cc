// A store whose MANIFEST is missing or damaged, or whose WAL misses a segment: Open refuses
// without deleting anything, VerifyStore reports it, and RecoveryMode::kSalvage rebuilds the
// manifest from the block files (engine/store_repair.cc) keeping every span exactly once.

#include <filesystem>
#include <fstream>

#include "format/filenames.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/spanstore.h"
#include "spanstore/verify.h"
#include "tests/util/store_damage.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

Options NoBackground(RecoveryMode mode = RecoveryMode::kTolerateTornTail) {
  Options o;
  o.background_compaction = false;
  o.recovery = mode;
  return o;
}

std::vector<Span> ScanAll(Store* store) {
  std::vector<Span> spans;
  EXPECT_TRUE(store
                  ->Scan(SpanQuery(),
                         [&](const Span& s) {
                           spans.push_back(s);
                           return true;
                         })
                  .ok());
  return spans;
}

std::vector<std::string> Files(const std::string& dir, const std::string& sub) {
  std::vector<std::string> names;
  if (!fs::exists(dir + "/" + sub)) return names;
  for (const auto& e : fs::directory_iterator(dir + "/" + sub)) {
    // The blocks' analysis summaries are derived files, checked by store_analysis_test.
    if (e.path().extension() == ".sum") continue;
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void FlipByte(const std::string& path, uint64_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  const char c = static_cast<char>(f.get());
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x20));
}

class StoreRepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::BuildDamageStore(source_.Sub("s"), &written_).ok());
    blocks_ = Files(source_.Sub("s"), "blocks");
    ASSERT_GE(blocks_.size(), 2u);
    ASSERT_GE(Files(source_.Sub("s"), "wal").size(), 3u);
  }
  std::string Copy(const std::string& name) {
    const std::string dst = scratch_.Sub(name);
    fs::copy(source_.Sub("s"), dst, fs::copy_options::recursive);
    fs::remove(dst + "/LOCK");
    return dst;
  }
  // Opens with kSalvage, checks every written span comes back once, compacts, and checks that
  // the store then opens normally with the same spans and verifies clean.
  void SalvageKeepsEverySpan(const std::string& dir) {
    {
      auto store = Store::Open(NoBackground(RecoveryMode::kSalvage), dir);
      ASSERT_TRUE(store.ok()) << store.status();
      EXPECT_TRUE((*store)->Stats().manifest_rebuilt);
      EXPECT_THAT(ScanAll(store->get()), UnorderedElementsAreArray(written_));
      ASSERT_TRUE((*store)->CompactAll().ok());
      EXPECT_THAT(ScanAll(store->get()), UnorderedElementsAreArray(written_));
      ASSERT_TRUE((*store)->Close().ok());
    }
    auto store = Store::Open(NoBackground(), dir);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_THAT(ScanAll(store->get()), UnorderedElementsAreArray(written_));
    for (size_t i = 0; i < written_.size(); i += 10) {
      auto trace = (*store)->GetTrace(written_[i].trace_id);
      ASSERT_TRUE(trace.ok());
      EXPECT_EQ(trace->spans.size(), 3u);
    }
    ASSERT_TRUE((*store)->Close().ok());
    store->reset();
    auto report = VerifyStore(dir);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok());
  }

  test::TempDir source_, scratch_;
  std::vector<Span> written_;
  std::vector<std::string> blocks_;
};

// The defect: Open took the missing manifest for an empty one and deleted every block as
// unreferenced.
TEST_F(StoreRepairTest, MissingManifestRefusesAndDeletesNothing) {
  const std::string dir = Copy("missing");
  fs::remove(dir + "/MANIFEST");
  for (RecoveryMode mode : {RecoveryMode::kTolerateTornTail, RecoveryMode::kStrict}) {
    auto store = Store::Open(NoBackground(mode), dir);
    ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(dir + "/MANIFEST is missing"));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("spanctl repair --db " + dir));
    EXPECT_EQ(Files(dir, "blocks"), blocks_);
  }
  Options read_only = NoBackground();
  read_only.read_only = true;
  EXPECT_EQ(Store::Open(read_only, dir).status().code(), absl::StatusCode::kDataLoss);

  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());
  EXPECT_FALSE(report->manifest_readable);
  ASSERT_FALSE(report->findings.empty());
  EXPECT_EQ(report->findings[0].file, "MANIFEST");
  EXPECT_EQ(report->findings[0].severity, VerifyFinding::Severity::kDamaged);
  EXPECT_THAT(report->findings[0].message, HasSubstr("missing, but blocks/ holds"));
  for (const VerifyFinding& f : report->findings) {
    EXPECT_THAT(f.message, Not(HasSubstr("the next open deletes it"))) << f.file;
  }
  EXPECT_EQ(Files(dir, "blocks"), blocks_);
}

TEST_F(StoreRepairTest, DamagedManifestRefusesAndSaysHowToRepair) {
  const std::string dir = Copy("damaged");
  FlipByte(dir + "/MANIFEST", 20);
  auto store = Store::Open(NoBackground(), dir);
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("checksum mismatch"));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("spanctl repair"));
  EXPECT_EQ(Files(dir, "blocks"), blocks_);
  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());
}

TEST_F(StoreRepairTest, SalvageRebuildsAMissingManifest) {
  const std::string dir = Copy("missing");
  fs::remove(dir + "/MANIFEST");
  SalvageKeepsEverySpan(dir);
}

TEST_F(StoreRepairTest, SalvageRebuildsADamagedManifestAndKeepsTheOldOne) {
  const std::string dir = Copy("damaged");
  FlipByte(dir + "/MANIFEST", 20);
  SalvageKeepsEverySpan(dir);
  EXPECT_TRUE(fs::exists(dir + "/lost/MANIFEST"));
}

// What an interrupted merge leaves: its output next to its inputs. Rebuilt naively, every span
// of the copy would come back twice.
TEST_F(StoreRepairTest, SalvageMergesBlocksThatShareSpans) {
  const std::string dir = Copy("dup");
  fs::copy_file(dir + "/blocks/" + blocks_[0], dir + "/blocks/000777.blk");
  fs::remove(dir + "/MANIFEST");
  SalvageKeepsEverySpan(dir);
  EXPECT_FALSE(fs::exists(dir + "/blocks/000777.blk"));
}

TEST_F(StoreRepairTest, SalvageMovesADamagedBlockToLost) {
  const std::string dir = Copy("badblock");
  const std::string block = dir + "/blocks/" + blocks_[0];
  FlipByte(block, fs::file_size(block) / 3);
  fs::remove(dir + "/MANIFEST");
  auto store = Store::Open(NoBackground(RecoveryMode::kSalvage), dir);
  ASSERT_TRUE(store.ok()) << store.status();
  const StoreStats stats = (*store)->Stats();
  EXPECT_TRUE(stats.manifest_rebuilt);
  EXPECT_EQ(stats.files_moved_to_lost, 1u);
  EXPECT_TRUE(fs::exists(dir + "/lost/" + blocks_[0]));
  const std::vector<Span> spans = ScanAll(store->get());
  EXPECT_LT(spans.size(), written_.size());
  EXPECT_GT(spans.size(), 0u);
  for (const Span& s : spans) {
    EXPECT_NE(std::find(written_.begin(), written_.end(), s), written_.end());
  }
}

// A manifest that is fine but names a block that is not: kSalvage rebuilds without it (moved to
// lost/), so that the store opens in the default mode afterwards.
TEST_F(StoreRepairTest, SalvageDropsANamedBlockThatDoesNotOpen) {
  const std::string dir = Copy("truncblock");
  fs::resize_file(dir + "/blocks/" + blocks_[1], 100);
  ASSERT_FALSE(Store::Open(NoBackground(), dir).ok());
  {
    auto store = Store::Open(NoBackground(RecoveryMode::kSalvage), dir);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE(fs::exists(dir + "/lost/" + blocks_[1]));
    EXPECT_TRUE(fs::exists(dir + "/lost/MANIFEST.before-repair"));
  }
  EXPECT_TRUE(Store::Open(NoBackground(), dir).ok());
}

TEST_F(StoreRepairTest, MissingSegmentInTheMiddle) {
  const std::string dir = Copy("gap");
  const std::vector<std::string> segments = Files(dir, "wal");
  const std::string gone = segments[1];
  fs::remove(dir + "/wal/" + gone);
  for (RecoveryMode mode : {RecoveryMode::kTolerateTornTail, RecoveryMode::kStrict}) {
    auto store = Store::Open(NoBackground(mode), dir);
    ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(store.status().message()), HasSubstr(gone + " is missing"));
    EXPECT_THAT(std::string(store.status().message()), HasSubstr("spanctl repair"));
  }
  EXPECT_EQ(Files(dir, "wal").size(), segments.size() - 1);

  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());
  bool named = false;
  for (const VerifyFinding& f : report->findings) {
    named |= f.file == "wal/" + gone && f.severity == VerifyFinding::Severity::kDamaged;
  }
  EXPECT_TRUE(named);

  auto store = Store::Open(NoBackground(RecoveryMode::kSalvage), dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Stats().missing_wal_segments, 1u);
  ASSERT_EQ((*store)->Stats().recovery_notes.size(), 1u);
  EXPECT_THAT((*store)->Stats().recovery_notes[0], HasSubstr(gone + " is missing"));
  const std::vector<Span> spans = ScanAll(store->get());
  EXPECT_LT(spans.size(), written_.size());
  EXPECT_GT(spans.size(), written_.size() / 2);
}

// Reopening without writing leaves an empty newest segment, which the next open removes; the
// segment after it must take its number, or the store would have a hole in its WAL.
TEST_F(StoreRepairTest, EmptyNewestSegmentLeavesNoHole) {
  test::TempDir d;
  const std::string dir = d.Sub("s");
  for (int round = 0; round < 4; ++round) {
    auto store = Store::Open(NoBackground(), dir);
    ASSERT_TRUE(store.ok()) << round << ": " << store.status();
    if (round % 2 == 1) {
      ASSERT_TRUE((*store)->Append(test::DamageStoreSpans(round, 1)).ok());
    }
    ASSERT_TRUE((*store)->Close().ok());
  }
  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  auto store = Store::Open(NoBackground(), dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ScanAll(store->get()).size(), 6u);
}

}  // namespace
}  // namespace spanstore
