#include "format/group_page.h"

#include <xxhash.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "util/coding.h"

namespace spanstore {
namespace {

absl::Status PageError(const PageLocation& where, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("block %s: row group %d at offset %d: %s",
                                             std::string(where.file), where.page_index,
                                             where.offset, std::string(what)));
}

}  // namespace

absl::Status EncodeGroupPage(Codec codec, int zstd_level,
                             const std::array<std::string, kNumBlockColumns>& columns,
                             std::string* out, std::array<uint64_t, kNumBlockColumns>* stored_bytes,
                             const ZstdDictionaries* dicts) {
  thread_local std::string payloads;
  payloads.clear();
  std::array<uint8_t, kNumBlockColumns> used{};
  std::array<size_t, kNumBlockColumns> sizes{};
  for (int c = 0; c < kNumBlockColumns; ++c) {
    const size_t before = payloads.size();
    const ZSTD_CDict* dict =
        codec == Codec::kZstd && dicts != nullptr ? dicts->compress_dict(c) : nullptr;
    absl::StatusOr<Codec> u = CompressPayload(codec, zstd_level, columns[c], true, &payloads, dict);
    if (!u.ok()) return u.status();
    used[c] = *u == Codec::kZstd && dict != nullptr ? kCodecZstdDict : ToCodecByte(*u);
    sizes[c] = payloads.size() - before;
  }
  const size_t start = out->size();
  for (int c = 0; c < kNumBlockColumns; ++c) {
    out->push_back(static_cast<char>(used[c]));
    PutVarint64(out, columns[c].size());
    PutVarint64(out, sizes[c]);
    (*stored_bytes)[c] = 1 + VarintLength(columns[c].size()) + VarintLength(sizes[c]) + sizes[c];
  }
  out->append(payloads);
  PutFixed64(out, XXH3_64bits(out->data() + start, out->size() - start));
  return absl::OkStatus();
}

absl::Status GroupPage::Parse(std::string_view data, const PageLocation& where,
                              const ZstdDictionaries* dicts) {
  where_ = where;
  if (data.size() < 8) return PageError(where, "shorter than its checksum");
  const size_t checked = data.size() - 8;
  const uint64_t expected = DecodeFixed64(data.data() + checked);
  const uint64_t actual = XXH3_64bits(data.data(), checked);
  if (expected != actual) {
    return PageError(where, absl::StrFormat("checksum mismatch (stored %016x, computed %016x)",
                                            expected, actual));
  }
  std::string_view in = data.substr(0, checked);
  std::array<uint64_t, kNumBlockColumns> stored{};
  for (int c = 0; c < kNumBlockColumns; ++c) {
    if (in.empty()) return PageError(where, "truncated column table");
    Entry& e = entries_[c];
    const uint8_t codec_byte = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (!GetVarint64(&in, &e.raw_size) || !GetVarint64(&in, &stored[c])) {
      return PageError(where, "truncated column table");
    }
    e.dict = nullptr;
    if (codec_byte == kCodecZstdDict) {
      e.codec = Codec::kZstd;
      e.dict = dicts != nullptr ? dicts->decompress_dict(c) : nullptr;
      if (e.dict == nullptr) {
        return PageError(where, absl::StrFormat("column %s: compressed with a dictionary the "
                                                "block does not have",
                                                BlockColumnName(c)));
      }
    } else if (!FromCodecByte(codec_byte, &e.codec)) {
      return PageError(where, absl::StrFormat("column %s: unknown codec %d (expected 0 to 3)",
                                              BlockColumnName(c), codec_byte));
    }
    // Checked here, before Column sizes a buffer by raw_size.
    if (e.raw_size > kMaxPageRawSize || !PayloadMayDecodeTo(e.codec, stored[c], e.raw_size)) {
      return PageError(where, absl::StrFormat("column %s: bad sizes (raw %d, stored %d)",
                                              BlockColumnName(c), e.raw_size, stored[c]));
    }
  }
  for (int c = 0; c < kNumBlockColumns; ++c) {
    if (stored[c] > in.size()) {
      return PageError(where, absl::StrFormat("column %s: payload of %d bytes runs past the page",
                                              BlockColumnName(c), stored[c]));
    }
    entries_[c].payload = in.substr(0, stored[c]);
    in.remove_prefix(stored[c]);
  }
  if (!in.empty()) return PageError(where, "trailing bytes after the columns");
  return absl::OkStatus();
}

absl::Status GroupPage::Column(int c, std::string* scratch, std::string_view* raw) const {
  const Entry& e = entries_[c];
  if (e.codec == Codec::kNone) {
    *raw = e.payload;
    return absl::OkStatus();
  }
  scratch->resize(e.raw_size);
  if (!DecompressPayload(e.codec, e.payload, true, e.raw_size, scratch->data(), e.dict)) {
    return PageError(where_, absl::StrFormat("column %s: payload does not decode to %d bytes",
                                             BlockColumnName(c), e.raw_size));
  }
  *raw = *scratch;
  return absl::OkStatus();
}

absl::Status GroupPage::ColumnInto(int c, char* out) const {
  const Entry& e = entries_[c];
  if (e.codec == Codec::kNone) {
    std::memcpy(out, e.payload.data(), e.payload.size());
    return absl::OkStatus();
  }
  if (!DecompressPayload(e.codec, e.payload, true, e.raw_size, out, e.dict)) {
    return PageError(where_, absl::StrFormat("column %s: payload does not decode to %d bytes",
                                             BlockColumnName(c), e.raw_size));
  }
  return absl::OkStatus();
}

}  // namespace spanstore
