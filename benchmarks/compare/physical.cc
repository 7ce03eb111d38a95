// The machine's limits, measured by the same program in the same run, so that each engine's
// figures can be read against what the hardware allows: how fast bytes reach the disk (with and
// without waiting for them to be durable), how fast memory copies, and how fast the two codecs
// spanstore offers compress this very data.

#include <fcntl.h>
#include <lz4.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmarks/compare/runner.h"
#include "spanstore/otlp_proto.h"

namespace spanstore::compare {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMiB = 1 << 20;

// Test sizes follow the workload (about 256 bytes per span) within [32 MiB, 1 GiB], so the quick
// run stays quick and the default one is large enough to leave the CPU caches far behind.
size_t TestBytes(const RunConfig& config) {
  const uint64_t want = config.workload.spans * 256;
  return std::clamp<uint64_t>(want, 32 * kMiB, 1024 * kMiB) / kMiB * kMiB;
}

double MemcpyGbps(size_t bytes) {
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  double best = 0;
  for (int i = 0; i < 4; ++i) {
    const double t0 = Now();
    memcpy(dst.data(), src.data(), bytes);
    const double t = Now() - t0;
    best = std::max(best, static_cast<double>(bytes) / t / 1e9);
    src[i] = dst[bytes - 1 - i];  // keep the copies observable
  }
  return best;
}

// Writes `bytes` sequentially in 1 MiB writes to a new file, fdatasync after each write when
// `sync`. Returns MB/s, or NaN on an I/O error.
double WriteMbps(const std::string& path, size_t bytes, bool sync) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return NAN;
  std::vector<char> chunk(kMiB, 'x');
  bool ok = true;
  const double t0 = Now();
  for (size_t done = 0; ok && done < bytes; done += kMiB) {
    ok = write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size());
    if (ok && sync) ok = fdatasync(fd) == 0;
  }
  const double t = Now() - t0;
  // Settle the page cache before the next test (not timed for the buffered run).
  ok = ok && fdatasync(fd) == 0;
  close(fd);
  unlink(path.c_str());
  return ok ? static_cast<double>(bytes) / t / 1e6 : NAN;
}

// Median latency of appending 4 KiB and fdatasync'ing it: the floor of a durable Append.
double Sync4kMedianMicros(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return NAN;
  std::vector<char> block(4096, 'y');
  std::vector<double> micros;
  for (int i = 0; i < 200; ++i) {
    const double t0 = Now();
    if (write(fd, block.data(), block.size()) != 4096 || fdatasync(fd) != 0) break;
    micros.push_back((Now() - t0) * 1e6);
  }
  close(fd);
  unlink(path.c_str());
  if (micros.empty()) return NAN;
  std::sort(micros.begin(), micros.end());
  return micros[micros.size() / 2];
}

struct CodecSpeed {
  double compress_mbps = 0, decompress_mbps = 0, ratio = 0;
};

// Compresses each chunk independently (as pages are), best of two passes.
template <typename Compress, typename Decompress>
CodecSpeed Measure(const std::vector<std::string>& chunks, Compress compress,
                   Decompress decompress) {
  CodecSpeed out;
  size_t in_bytes = 0;
  for (const std::string& c : chunks) in_bytes += c.size();
  std::vector<std::string> packed(chunks.size());
  for (int pass = 0; pass < 2; ++pass) {
    double t0 = Now();
    size_t out_bytes = 0;
    for (size_t i = 0; i < chunks.size(); ++i) out_bytes += compress(chunks[i], &packed[i]);
    out.compress_mbps = std::max(out.compress_mbps, static_cast<double>(in_bytes) / (Now() - t0) / 1e6);
    out.ratio = static_cast<double>(in_bytes) / static_cast<double>(out_bytes);
    std::string plain;
    t0 = Now();
    for (size_t i = 0; i < chunks.size(); ++i) {
      plain.resize(chunks[i].size());
      if (!decompress(packed[i], &plain) || plain != chunks[i]) return CodecSpeed{NAN, NAN, NAN};
    }
    out.decompress_mbps =
        std::max(out.decompress_mbps, static_cast<double>(in_bytes) / (Now() - t0) / 1e6);
  }
  return out;
}

void SetCodec(Results* r, const std::string& name, const CodecSpeed& c) {
  SetNumber(r, name + "_compress_mbps", c.compress_mbps);
  SetNumber(r, name + "_decompress_mbps", c.decompress_mbps);
  SetNumber(r, name + "_ratio", c.ratio);
}

}  // namespace

Results RunPhysical(const RunConfig& config, const std::string& dir) {
  Results r;
  const size_t bytes = TestBytes(config);
  fprintf(stderr, "[physical] memcpy, disk and codecs on %zu MiB\n", bytes / kMiB);
  SetNumber(&r, "write_test_mb", static_cast<double>(bytes) / 1e6);
  SetNumber(&r, "memcpy_gbps", MemcpyGbps(bytes));
  const std::string path = dir + "/physical.tmp";
  SetNumber(&r, "write_mbps", WriteMbps(path, bytes, false));
  SetNumber(&r, "write_sync_mbps", WriteMbps(path, bytes, true));
  SetNumber(&r, "sync_4k_median_us", Sync4kMedianMicros(path));

  // The spans as a collector would send them: OTLP protobuf, one request per batch.
  Workload part = config.workload;
  part.spans = 0;
  std::vector<std::string> chunks;
  std::vector<TraceId> ids;
  double generate_seconds = 0;
  const uint64_t limit = std::min<uint64_t>(config.workload.spans, 100000);
  absl::Status s = ForEachBatch(config.workload, config.batch, &ids, &generate_seconds,
                                [&](absl::Span<const Span> batch) {
                                  if (part.spans >= limit) return absl::CancelledError();
                                  EncodeOtlpTraces(batch, &chunks.emplace_back());
                                  part.spans += batch.size();
                                  return absl::OkStatus();
                                });
  if (!s.ok() && !absl::IsCancelled(s)) r["error"] = s.ToString();
  size_t otlp_bytes = 0;
  for (const std::string& c : chunks) otlp_bytes += c.size();
  SetNumber(&r, "codec_test_spans", static_cast<double>(part.spans));
  SetNumber(&r, "otlp_bytes_per_span",
            static_cast<double>(otlp_bytes) / static_cast<double>(std::max<uint64_t>(part.spans, 1)));

  SetCodec(&r, "lz4", Measure(
      chunks,
      [](const std::string& in, std::string* out) {
        out->resize(LZ4_compressBound(static_cast<int>(in.size())));
        const int n = LZ4_compress_default(in.data(), out->data(), static_cast<int>(in.size()),
                                           static_cast<int>(out->size()));
        out->resize(n);
        return static_cast<size_t>(n);
      },
      [](const std::string& in, std::string* out) {
        return LZ4_decompress_safe(in.data(), out->data(), static_cast<int>(in.size()),
                                   static_cast<int>(out->size())) ==
               static_cast<int>(out->size());
      }));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  SetCodec(&r, "zstd", Measure(
      chunks,
      [&](const std::string& in, std::string* out) {
        out->resize(ZSTD_compressBound(in.size()));
        const size_t n = ZSTD_compressCCtx(cctx, out->data(), out->size(), in.data(), in.size(),
                                           3);  // Options::zstd_level's default
        out->resize(ZSTD_isError(n) ? 0 : n);
        return out->size();
      },
      [&](const std::string& in, std::string* out) {
        const size_t n = ZSTD_decompressDCtx(dctx, out->data(), out->size(), in.data(), in.size());
        return !ZSTD_isError(n) && n == out->size();
      }));
  ZSTD_freeCCtx(cctx);
  ZSTD_freeDCtx(dctx);
  return r;
}

}  // namespace spanstore::compare
