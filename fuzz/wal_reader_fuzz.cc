// Feeds arbitrary bytes to the WAL reader as a segment (both modes) and decodes every record
// that verifies: never a crash, never a read out of bounds, never a huge allocation.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/span_codec.h"
#include "format/wal_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view contents(reinterpret_cast<const char*>(data), size);
  for (bool salvage : {false, true}) {
    spanstore::WalReader reader(contents, "fuzz.log", salvage, nullptr);
    spanstore::wal::RecordType type;
    std::string_view payload;
    std::vector<spanstore::Span> spans;
    while (reader.ReadRecord(&type, &payload)) (void)spanstore::DecodeSpanBatch(payload, &spans);
  }
  return 0;
}
