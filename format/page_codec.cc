#include "format/page_codec.h"

#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "util/coding.h"
#include "util/prefault.h"

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

constexpr char kZstdMagic[] = {'\x28', '\xb5', '\x2f', '\xfd'};  // ZSTD_MAGICNUMBER, LE
constexpr size_t kZstdMagicSize = 4;

}  // namespace
namespace {

absl::Status PageError(const PageLocation& where, std::string_view what) {
  return absl::DataLossError(absl::StrFormat("block %s: page %d at offset %d: %s",
                                             std::string(where.file), where.page_index,
                                             where.offset, std::string(what)));
}

}  // namespace

absl::StatusOr<Codec> CompressPayload(Codec codec, int zstd_level, std::string_view raw,
                                      bool bare_zstd, std::string* out, const ZSTD_CDict* dict) {
  if (raw.size() > kMaxPageRawSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "page of %d bytes exceeds the limit of %d bytes", raw.size(), kMaxPageRawSize));
  }
  const size_t start = out->size();
  switch (codec) {
    case Codec::kNone:
      break;
    case Codec::kLz4: {
      const int bound = LZ4_compressBound(static_cast<int>(raw.size()));
      out->resize(start + bound);
      const int n = LZ4_compress_default(raw.data(), out->data() + start,
                                         static_cast<int>(raw.size()), bound);
      if (n <= 0) return absl::InternalError("LZ4 compression failed");
      out->resize(start + n);
      break;
    }
    case Codec::kZstd: {
      ZSTD_CCtx* cctx = ZstdCompressContext();
      ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level);
      // raw_size is stored beside the payload; the frame need not repeat it.
      if (bare_zstd) ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
      if (dict != nullptr) {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_dictIDFlag, 0);
        ZSTD_CCtx_refCDict(cctx, dict);  // dropped by the next call's reset
      }
      out->resize(start + ZSTD_compressBound(raw.size()));
      const size_t n = ZSTD_compress2(cctx, out->data() + start, out->size() - start,
                                      raw.data(), raw.size());
      if (ZSTD_isError(n)) {
        out->resize(start);
        return absl::InternalError(
            absl::StrFormat("Zstd compression failed: %s", ZSTD_getErrorName(n)));
      }
      out->resize(start + n);
      if (bare_zstd) {
        // The frame magic is implied by the codec byte.
        if (n < kZstdMagicSize || std::memcmp(out->data() + start, kZstdMagic, kZstdMagicSize)) {
          out->resize(start);
          return absl::InternalError("Zstd frame without its magic number");
        }
        out->erase(start, kZstdMagicSize);
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("unknown codec %d", static_cast<int>(codec)));
  }
  // Store raw when compression does not pay: decoding it is then a copy (or a view).
  if (codec == Codec::kNone || out->size() - start >= raw.size()) {
    out->resize(start);
    out->append(raw);
    return Codec::kNone;
  }
  return codec;
}

bool PayloadMayDecodeTo(Codec codec, uint64_t stored_size, uint64_t raw_size) {
  // Divisions, not products: stored_size comes from the file and may be near 2^64.
  constexpr uint64_t kLz4MaxExpansion = 255;
  constexpr uint64_t kZstdMaxExpansion = 32 << 10;  // 128 KiB block / 4-byte RLE block
  switch (codec) {
    case Codec::kNone:
      return stored_size == raw_size;
    case Codec::kLz4:
      return raw_size / kLz4MaxExpansion <= stored_size;
    case Codec::kZstd:
      return raw_size / kZstdMaxExpansion <= stored_size;
  }
  return false;
}

bool DecompressPayload(Codec codec, std::string_view payload, bool bare_zstd, size_t raw_size,
                       char* dst, const ZSTD_DDict* dict) {
  switch (codec) {
    case Codec::kNone:
      if (payload.size() != raw_size) return false;
      if (raw_size > 0) std::memcpy(dst, payload.data(), raw_size);
      return true;
    case Codec::kLz4: {
      if (payload.size() > static_cast<uint64_t>(std::numeric_limits<int>::max())) return false;
      const int n = LZ4_decompress_safe(payload.data(), dst, static_cast<int>(payload.size()),
                                        static_cast<int>(raw_size));
      return n >= 0 && static_cast<uint64_t>(n) == raw_size;
    }
    case Codec::kZstd: {
      std::string_view frame = payload;
      if (bare_zstd) {
        // Put the magic back in front (a copy of the compressed bytes, a few KB).
        thread_local std::string with_magic;
        with_magic.assign(kZstdMagic, kZstdMagicSize);
        with_magic.append(payload);
        frame = with_magic;
      }
      const size_t n = dict != nullptr
                           ? ZSTD_decompress_usingDDict(ZstdDecompressContext(), dst, raw_size,
                                                        frame.data(), frame.size(), dict)
                           : ZSTD_decompressDCtx(ZstdDecompressContext(), dst, raw_size,
                                                 frame.data(), frame.size());
      return !ZSTD_isError(n) && n == raw_size;
    }
  }
  return false;
}

absl::Status EncodePage(Codec codec, int zstd_level, std::string_view raw, std::string* out) {
  std::string payload;
  absl::StatusOr<Codec> used = CompressPayload(codec, zstd_level, raw, false, &payload);
  if (!used.ok()) return used.status();
  const size_t start = out->size();
  out->push_back(static_cast<char>(ToCodecByte(*used)));
  PutVarint64(out, raw.size());
  PutVarint64(out, payload.size());
  out->append(payload);
  PutFixed64(out, XXH3_64bits(out->data() + start, out->size() - start));
  return absl::OkStatus();
}

absl::Status DecodePage(std::string_view* in, const PageLocation& where, std::string* raw) {
  std::string_view cursor = *in;
  if (cursor.empty()) return PageError(where, "expected a page, found end of data");
  const uint8_t codec_byte = static_cast<uint8_t>(cursor[0]);
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
  Codec codec;
  if (!FromCodecByte(codec_byte, &codec)) {
    return PageError(where, absl::StrFormat("unknown codec %d (expected 0, 1 or 2)", codec_byte));
  }
  // Before the buffer is sized: a valid checksum says nothing about a crafted raw_size.
  if (!PayloadMayDecodeTo(codec, stored_size, raw_size)) {
    return PageError(where, absl::StrFormat("a payload of %d bytes of codec %d cannot decode "
                                            "to %d bytes",
                                            stored_size, codec_byte, raw_size));
  }
  raw->reserve(raw_size);
  PrefaultForWrite(raw->data(), raw->capacity());  // a block's meta page: ~0.6 MB at 1.5M rows
  raw->resize(raw_size);
  if (!DecompressPayload(codec, payload, false, raw_size, raw->data())) {
    return PageError(where, absl::StrFormat("payload of codec %d does not decode to %d bytes",
                                            codec_byte, raw_size));
  }
  in->remove_prefix(checked_size + 8);
  return absl::OkStatus();
}

}  // namespace spanstore
