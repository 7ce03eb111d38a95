#include "tests/util/block_fixtures.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "spanstore/env.h"
#include "tests/util/random_spans.h"

namespace spanstore::test {

std::vector<Span> SortedRandomSpans(uint64_t seed, int traces, bool small) {
  RandomSpanOptions options;
  if (small) {
    options.awkward = 0;
    options.max_attributes = 3;
    options.max_events = 1;
    options.max_links = 1;
  }
  RandomSpans gen(seed, options);
  std::vector<Span> spans;
  for (int t = 0; t < traces; ++t) {
    std::vector<Span> trace = gen.NextTrace(1 + static_cast<int>(gen.rng()() % 12));
    for (Span& s : trace) {
      // A few spans whose end precedes the start (clock skew) and some without a parent in
      // the block (the parent row is elsewhere).
      if (gen.rng()() % 17 == 0) s.end_time_unix_nano = s.start_time_unix_nano - 5;
      spans.push_back(std::move(s));
    }
  }
  SortBlockRows(&spans);
  return spans;
}

absl::Status WriteBlock(const std::string& path, const std::vector<Span>& spans, Codec codec,
                        uint32_t rows_per_group, BlockProperties* props, uint32_t format_version) {
  BlockBuildOptions options;
  options.codec = codec;
  options.format_version = format_version;
  options.rows_per_group = rows_per_group;
  BlockBuilder builder(Env::Default(), path, options);
  absl::Status s = builder.Open();
  for (const Span& span : spans) {
    if (s.ok()) s = builder.Add(span);
  }
  if (s.ok()) s = builder.Finish(props);
  return s;
}

std::vector<Span> AllRows(const BlockReader& block) {
  std::vector<Span> all;
  const absl::Status s = block.ForEachRow([&](const Span& span, std::string_view) {
    all.push_back(span);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return all;
}

}  // namespace spanstore::test
