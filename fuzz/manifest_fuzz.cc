// Arbitrary bytes as DIR/MANIFEST (format/manifest.h): Manifest::Decode must never crash,
// hang or allocate without bound, and what decodes must encode and decode to the same manifest.
//
// The whole file is covered by one checksum in its last 8 bytes, so each input runs twice: as
// it is, and with the checksum recomputed, which takes mutations through to the field parser.
// Seeds: fuzz/corpus/manifest/ (written by tests/fuzz_corpus_test.cc).

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "format/manifest.h"
#include "util/coding.h"

namespace {

void Check(std::string_view data) {
  auto manifest = spanstore::Manifest::Decode(data, "fuzz/MANIFEST");
  if (!manifest.ok()) return;
  auto again = spanstore::Manifest::Decode(manifest->Encode(), "fuzz/MANIFEST");
  if (!again.ok() || !(*again == *manifest)) __builtin_trap();
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
