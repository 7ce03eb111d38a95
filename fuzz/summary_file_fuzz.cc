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
