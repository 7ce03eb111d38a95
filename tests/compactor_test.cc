// compaction/compactor.cc: the row order CompactSpans and MergeBlocks write (traces by their
// first start, format/block_format.h) and MergeBlocks on traces split between its inputs,
// whichever order the inputs' rows are in. The store-level behaviour (duplicates against live
// blocks, sampling, merges under faults) is in store_compaction_test and store_merge_test.

#include "compaction/compactor.h"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "format/span_codec.h"
#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/block_fixtures.h"
#include "tests/util/temp_dir.h"

namespace spanstore {
namespace {

using test::SortedRandomSpans;
using test::TempDir;
using test::WriteBlock;

class CompactorTest : public ::testing::Test {
 protected:
  NewBlockFile NewFile() {
    return [this] {
      NewBlock b;
      b.number = ++next_number_;
      b.path = dir_.Sub(absl::StrCat(b.number, ".blk"));
      return b;
    };
  }

  // Writes `spans` as one input block, in the order given.
  const BlockReader* Input(const std::vector<Span>& spans) {
    const uint64_t number = ++next_number_;
    const std::string path = dir_.Sub(absl::StrCat(number, ".blk"));
    BlockProperties props;
    EXPECT_TRUE(WriteBlock(path, spans, Codec::kLz4, /*rows_per_group=*/7, &props).ok());
    auto block = BlockReader::Open(Env::Default(), path, number);
    EXPECT_TRUE(block.ok()) << block.status();
    inputs_.push_back(std::move(*block));
    return inputs_.back().get();
  }

  // Every row of `blocks`, block after block; checks each block and that no trace is in two.
  std::vector<Span> ReadAll(const std::vector<NewBlock>& blocks) {
    std::vector<Span> rows;
    std::vector<TraceId> traces;
    for (const NewBlock& b : blocks) {
      auto block = BlockReader::Open(Env::Default(), b.path, b.number);
      EXPECT_TRUE(block.ok()) << block.status();
      if (!block.ok()) continue;
      EXPECT_TRUE((*block)->Verify().ok());
      auto index = (*block)->LoadTraceIndex();
      EXPECT_TRUE(index.ok()) << index.status();
      if (!index.ok()) continue;
      for (const TraceIndex::Entry& e : (*index)->entries()) {
        traces.push_back(e.id);
      }
      EXPECT_TRUE((*block)
                      ->ForEachRow([&](const Span& s, std::string_view) {
                        rows.push_back(s);
                        return true;
                      })
                      .ok());
    }
    std::sort(traces.begin(), traces.end());
    EXPECT_TRUE(std::adjacent_find(traces.begin(), traces.end()) == traces.end())
        << "a trace in two output blocks";
    return rows;
  }

  std::vector<const BlockReader*> inputs() const {
    std::vector<const BlockReader*> out;
    for (const auto& b : inputs_) out.push_back(b.get());
    return out;
  }

  TempDir dir_;
  uint64_t next_number_ = 0;
  std::vector<std::unique_ptr<BlockReader>> inputs_;
};

std::vector<Span> SortedById(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end(), BlockRowLess);
  return spans;
}

TEST_F(CompactorTest, CompactSpansWritesTracesByFirstStart) {
  std::vector<Span> spans = SortedRandomSpans(11, 300, /*small=*/true);
  std::shuffle(spans.begin(), spans.end(), std::mt19937(3));
  std::vector<std::string> encoded(spans.size());
  std::vector<EncodedSpan> views;
  for (size_t i = 0; i < spans.size(); ++i) {
    EncodeSpan(spans[i], &encoded[i]);
    views.push_back(EncodedSpan{encoded[i], {}});
  }
  NewBlock out;
  CompactionCounters counters;
  ASSERT_TRUE(CompactSpans(Env::Default(), BlockBuildOptions(), SamplingPolicy(), views, {},
                           NewFile(), &out, &counters)
                  .ok());
  SortBlockRows(&spans);
  EXPECT_EQ(ReadAll({out}), spans);
}

// Traces split at random between three inputs (a span may go to any of them), each input in
// the order compaction writes: the merge's output is exactly the union in that order, split
// between blocks of at most about max_rows.
TEST_F(CompactorTest, MergeOfSplitTracesKeepsTheRowOrder) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    inputs_.clear();
    std::vector<Span> all = SortedRandomSpans(seed, 400, /*small=*/true);
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::vector<std::vector<Span>> parts(3);
    for (const Span& s : all) parts[rng() % 3].push_back(s);
    for (std::vector<Span>& part : parts) {
      SortBlockRows(&part);
      Input(part);
    }
    std::vector<NewBlock> out;
    CompactionCounters counters;
    const uint64_t max_rows = seed % 2 == 0 ? 500 : 1u << 30;
    ASSERT_TRUE(MergeBlocks(Env::Default(), BlockBuildOptions(), inputs(), max_rows, NewFile(),
                            &out, &counters)
                    .ok());
    EXPECT_EQ(ReadAll(out), all);  // SortedRandomSpans sorts with SortBlockRows
    EXPECT_EQ(counters.input_spans, all.size());
    EXPECT_EQ(counters.output_spans, all.size());
    EXPECT_EQ(counters.duplicates_dropped, 0u);
    if (max_rows == 500) {
      EXPECT_GT(out.size(), 1u);
    }
  }
}

// Inputs written by older builds (traces in id order) and a span stored in two inputs (which
// live blocks never do): every span comes out once, each trace whole in one block.
TEST_F(CompactorTest, MergeOfIdOrderedInputsWithACopy) {
  std::vector<Span> all = SortedRandomSpans(21, 300, /*small=*/true);
  std::mt19937 rng(21);
  std::vector<std::vector<Span>> parts(4);
  for (const Span& s : all) parts[rng() % 4].push_back(s);
  parts[3].push_back(parts[0].front());  // the copy
  for (size_t p = 0; p < parts.size(); ++p) {
    // Two in id order, two in first-start order.
    if (p % 2 == 0) {
      std::sort(parts[p].begin(), parts[p].end(), BlockRowLess);
    } else {
      SortBlockRows(&parts[p]);
    }
    Input(parts[p]);
  }
  std::vector<NewBlock> out;
  CompactionCounters counters;
  ASSERT_TRUE(
      MergeBlocks(Env::Default(), BlockBuildOptions(), inputs(), 250, NewFile(), &out, &counters)
          .ok());
  EXPECT_EQ(SortedById(ReadAll(out)), SortedById(all));
  EXPECT_EQ(counters.input_spans, all.size() + 1);
  EXPECT_EQ(counters.output_spans, all.size());
  EXPECT_EQ(counters.duplicates_dropped, 1u);
}

}  // namespace
}  // namespace spanstore
