#include "compaction/page_codec.h"

#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "engine/coding.h"

namespace spanstore {
namespace {

// One Zstd context per thread, reused: creating one costs more than compressing a small page.
struct ZstdContexts {
  ZSTD_CCtx* compress = ZSTD_createCCtx();
  ZSTD_DCtx* decompress = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
};
ZstdContexts& Contexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}
ZSTD_CCtx* ZstdCompressContext() { return Contexts().compress; }
ZSTD_DCtx* ZstdDecompressContext() { return Contexts().decompress; }

}  // namespace
namespace {

absl::Status PageError(const PageLocation& where, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("block %s: page %d at offset %d: %s",
                                             std::string(where.file), where.page_index,
                                             where.offset, std::string(what)));
}

}  // namespace

absl::Status EncodePage(Codec codec, int zstd_level, std::string_view raw, std::string* out) {
  if (raw.size() > kMaxPageRawSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "page of %d bytes exceeds the limit of %d bytes", raw.size(), kMaxPageRawSize));
  }
  std::string compressed;
  switch (codec) {
    case Codec::kNone:
      break;
    case Codec::kLz4: {
      const int bound = LZ4_compressBound(static_cast<int>(raw.size()));
      compressed.resize(bound);
      const int n =
          LZ4_compress_default(raw.data(), compressed.data(), static_cast<int>(raw.size()), bound);
      if (n <= 0) return absl::InternalError("LZ4 compression failed");
      compressed.resize(n);
      break;
    }
    case Codec::kZstd: {
      compressed.resize(ZSTD_compressBound(raw.size()));
      const size_t n =
          ZSTD_compressCCtx(ZstdCompressContext(), compressed.data(), compressed.size(), raw.data(),
                            raw.size(), zstd_level);
      if (ZSTD_isError(n)) {
        return absl::InternalError(
            absl::StrFormat("Zstd compression failed: %s", ZSTD_getErrorName(n)));
      }
      compressed.resize(n);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown codec %d", static_cast<int>(codec)));
  }
  // Store raw when compression does not pay: decoding it is then a copy.
  const bool use_raw = codec == Codec::kNone || compressed.size() >= raw.size();
  const std::string_view payload = use_raw ? raw : std::string_view(compressed);
  const size_t start = out->size();
  out->push_back(static_cast<char>(use_raw ? Codec::kNone : codec));
  PutVarint64(out, raw.size());
  PutVarint64(out, payload.size());
  out->append(payload);
  PutFixed64(out, XXH3_64bits(out->data() + start, out->size() - start));
  return absl::OkStatus();
}

absl::Status DecodePage(std::string_view* in, const PageLocation& where, std::string* raw) {
  std::string_view cursor = *in;
  if (cursor.empty()) return PageError(where, "expected a page, found end of data");
  const uint8_t codec = static_cast<uint8_t>(cursor[0]);
  cursor.remove_prefix(1);
  uint64_t raw_size = 0;
  uint64_t stored_size = 0;
  if (!GetVarint64(&cursor, &raw_size) || !GetVarint64(&cursor, &stored_size)) {
    return PageError(where, "truncated page header");
  }
  if (raw_size > kMaxPageRawSize) {
    return PageError(
        where, absl::StrFormat("page size %d exceeds the limit of %d", raw_size, kMaxPageRawSize));
  }
  if (stored_size > cursor.size() || cursor.size() - stored_size < 8) {
    return PageError(where, absl::StrFormat("page payload of %d bytes (plus 8-byte checksum) "
                                            "runs past the %d bytes available",
                                            stored_size, cursor.size()));
  }
  const size_t header_size = in->size() - cursor.size();
  const size_t checked_size = header_size + stored_size;
  const uint64_t expected = DecodeFixed64(in->data() + checked_size);
  const uint64_t actual = XXH3_64bits(in->data(), checked_size);
  if (expected != actual) {
    return PageError(where, absl::StrFormat("checksum mismatch (stored %016x, computed %016x)",
                                            expected, actual));
  }
  const std::string_view payload = cursor.substr(0, stored_size);
  raw->resize(raw_size);
  switch (static_cast<Codec>(codec)) {
    case Codec::kNone:
      if (stored_size != raw_size) {
        return PageError(where, absl::StrFormat("uncompressed page stores %d bytes, header says %d",
                                                stored_size, raw_size));
      }
      if (raw_size > 0) std::memcpy(raw->data(), payload.data(), raw_size);
      break;
    case Codec::kLz4: {
      if (stored_size > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
        return PageError(where, "LZ4 payload too large");
      }
      const int n = LZ4_decompress_safe(payload.data(), raw->data(), static_cast<int>(stored_size),
                                        static_cast<int>(raw_size));
      if (n < 0 || static_cast<uint64_t>(n) != raw_size) {
        return PageError(where,
                         absl::StrFormat("LZ4 payload does not decode to %d bytes", raw_size));
      }
      break;
    }
    case Codec::kZstd: {
      const size_t n = ZSTD_decompressDCtx(ZstdDecompressContext(), raw->data(), raw_size,
                                           payload.data(), stored_size);
      if (ZSTD_isError(n) || n != raw_size) {
        return PageError(where,
                         absl::StrFormat("Zstd payload does not decode to %d bytes", raw_size));
      }
      break;
    }
    default:
      return PageError(where, absl::StrFormat("unknown codec %d (expected 0, 1 or 2)", codec));
  }
  in->remove_prefix(checked_size + 8);
  return absl::OkStatus();
}

}  // namespace spanstore
