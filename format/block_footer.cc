#include "format/block_footer.h"

#include <xxhash.h>

#include "format/block_format.h"
#include "util/coding.h"

namespace spanstore {
namespace {

// The bytes of the footer the checksum covers: everything before it.
constexpr size_t kFooterChecksummed = 8 * 4 + 4 + 4;
static_assert(kFooterChecksummed + 8 + kBlockMagic.size() == kBlockFooterSize);

}  // namespace

void EncodeBlockHeader(std::string* out, uint32_t version) {
  out->append(kBlockMagic);
  PutFixed32(out, version);
  PutFixed32(out, 0);  // reserved
}

uint32_t DecodeBlockHeaderVersion(std::string_view data) {
  if (data.size() < kBlockHeaderSize || data.substr(0, kBlockMagic.size()) != kBlockMagic) {
    return 0;
  }
  return DecodeFixed32(data.data() + kBlockMagic.size());
}

void BlockFooter::EncodeTo(std::string* out) const {
  const size_t start = out->size();
  PutFixed64(out, meta_offset);
  PutFixed64(out, meta_size);
  PutFixed64(out, index_offset);
  PutFixed64(out, index_size);
  PutFixed32(out, version);
  PutFixed32(out, columns);
  PutFixed64(out, XXH3_64bits(out->data() + start, kFooterChecksummed));
  out->append(kBlockMagic);
}

bool BlockFooter::DecodeFrom(std::string_view data, std::string* what) {
  if (data.size() != kBlockFooterSize ||
      data.substr(kBlockFooterSize - kBlockMagic.size()) != kBlockMagic) {
    *what = "bad footer magic (truncated block?)";
    return false;
  }
  const char* f = data.data();
  if (XXH3_64bits(f, kFooterChecksummed) != DecodeFixed64(f + kFooterChecksummed)) {
    *what = "footer checksum mismatch";
    return false;
  }
  meta_offset = DecodeFixed64(f);
  meta_size = DecodeFixed64(f + 8);
  index_offset = DecodeFixed64(f + 16);
  index_size = DecodeFixed64(f + 24);
  version = DecodeFixed32(f + 32);
  columns = DecodeFixed32(f + 36);
  return true;
}

}  // namespace spanstore
