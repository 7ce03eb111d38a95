// InputStream (formats/input_stream.cc): files, memory, streaming gzip and zstd, limits.

#include "formats/input_stream.h"

#include <zlib.h>
#include <zstd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

std::string Gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = data.size();
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = out.size();
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Everything the stream yields, read in small pieces.
absl::StatusOr<std::string> Drain(InputStream* in, size_t piece = 4096) {
  std::string out, buf(piece, '\0');
  while (true) {
    auto n = in->Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

absl::StatusOr<std::string> Decompress(const std::string& data, uint64_t limit = 1ull << 40) {
  auto in = DecompressingInput(MemoryInput(data), "x.gz", limit);
  if (!in.ok()) return in.status();
  return Drain(in->get());
}

TEST(InputStreamTest, PlainGzipAndZstd) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += std::to_string(i) + ",";
  EXPECT_EQ(*Decompress(text), text);
  EXPECT_EQ(*Decompress("ab"), "ab");
  EXPECT_EQ(*Decompress(""), "");
  EXPECT_EQ(*Decompress(Gzip(text)), text);
  // Concatenated gzip members (as `cat a.gz b.gz` makes) are one stream.
  EXPECT_EQ(*Decompress(Gzip(text) + Gzip("tail")), text + "tail");
  std::string zst(ZSTD_compressBound(text.size()), '\0');
  zst.resize(ZSTD_compress(zst.data(), zst.size(), text.data(), text.size(), 1));
  EXPECT_EQ(*Decompress(zst), text);
  EXPECT_FALSE(Decompress(zst.substr(0, zst.size() - 3)).ok());
}

TEST(InputStreamTest, DamagedAndTruncatedGzip) {
  const std::string gz = Gzip(std::string(100000, 'a') + "end");
  auto truncated = Decompress(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("x.gz: gzip data is truncated"));
  std::string damaged = gz;
  damaged[12] ^= 0x55;
  EXPECT_FALSE(Decompress(damaged).ok());
}

TEST(InputStreamTest, BombStopsAtTheLimitWithoutHoldingIt) {
  // 256 MiB of zeros in ~250 KB: reading stops at the limit, in fixed-size pieces.
  std::string zeros(1 << 20, '\0');
  std::string bomb;
  for (int i = 0; i < 256; ++i) bomb += Gzip(zeros);
  auto in = DecompressingInput(MemoryInput(bomb), "bomb.gz", 64 << 20);
  ASSERT_TRUE(in.ok());
  std::string buf(1 << 16, '\0');
  uint64_t total = 0;
  absl::Status error;
  while (true) {
    auto n = (*in)->Read(buf.data(), buf.size());
    if (!n.ok()) {
      error = n.status();
      break;
    }
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_EQ(error.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(error.message()), HasSubstr("bomb.gz: decompresses to more than"));
  EXPECT_LE(total, 64u << 20);
}

TEST(InputStreamTest, FilesAndPrefix) {
  EXPECT_EQ(OpenFileInput("/nonexistent/x.json").status().code(), absl::StatusCode::kNotFound);
  auto in = PrependInput("ab", MemoryInput("cd"));
  EXPECT_EQ(*Drain(in.get(), 1), "abcd");
}

}  // namespace
}  // namespace spanstore
