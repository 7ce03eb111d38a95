// Arbitrary bytes as a block's analysis summary (DIR/blocks/NNNNNN.sum, engine/summary_file.h):
// DecodeSummaryFile must never crash, hang or allocate without bound, and what decodes must be
// usable (merged, its open rows paired) and encode and decode to the same summary.
//
// The file is covered by one checksum in its last 8 bytes, so each input runs twice: as it is,
// and with the checksum recomputed, which takes mutations through to the payload decoder.

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/summary_file.h"
#include "query/span_table.h"
#include "util/coding.h"

namespace {

void Check(std::string_view data) {
  spanstore::SummaryIdentity id;
  auto summary = spanstore::DecodeSummaryFile(data, &id);
  if (!summary.ok()) return;
  spanstore::AnalysisSummary merged;
  merged.Merge(*summary);
  spanstore::SpanTable table;
  summary->AddOpenRowsTo(&table);
  table.Finish();
  merged.AddTable(table);
  // Sections are decoded only when a window cuts the block: each must decode or fail cleanly.
  for (size_t k = 0; k < summary->sections.size(); ++k) {
    auto cells = summary->DecodeSection(k);
    if (cells.ok()) merged.Merge(*cells);
  }
  if (summary->sectioned) {
    for (const spanstore::SummarySection& s : summary->sections) {
      (void)summary->SectionOf(spanstore::TraceId{}, s.min_start);
    }
    for (const spanstore::TraceId& t : summary->spread_traces) (void)summary->SectionOf(t, 0);
  }
  spanstore::SummaryIdentity id2;
  auto again = spanstore::DecodeSummaryFile(spanstore::EncodeSummaryFile(id, *summary), &id2);
  if (!again.ok() || !(*again == *summary) || !(id2 == id)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  std::string data(reinterpret_cast<const char*>(bytes), size);
  Check(data);
  if (data.size() < 8) return 0;
  const uint64_t sum = XXH3_64bits(data.data(), data.size() - 8);
  if (spanstore::DecodeFixed64(data.data() + data.size() - 8) == sum) return 0;
  spanstore::EncodeFixed64(data.data() + data.size() - 8, sum);
  Check(data);
  return 0;
}
