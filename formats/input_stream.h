// Byte streams the loader reads from: a file or stdin, memory, and gzip/zstd decoders layered
// on either, so that a file of any size -- or a small gzip that inflates to gigabytes -- is
// read in fixed-size pieces instead of being held whole (hardening issue, item 4).
//
// Thread safety: an InputStream is used by one thread at a time.

#ifndef SPANSTORE_FORMATS_INPUT_STREAM_H_
#define SPANSTORE_FORMATS_INPUT_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spanstore {

class InputStream {
 public:
  virtual ~InputStream() = default;
  // Reads up to n bytes into buf; 0 means the end of the input. Errors name the input.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  // The input's size in bytes when known up front (a plain regular file), else 0.
  virtual uint64_t SizeHint() const { return 0; }
};

// A file ("-" is standard input, which is not closed). NotFound when it cannot be opened.
absl::StatusOr<std::unique_ptr<InputStream>> OpenFileInput(const std::string& path);

// Bytes in memory the caller keeps alive while the stream is used.
std::unique_ptr<InputStream> MemoryInput(std::string_view data);

// `prefix` (bytes already read from `rest`), then the rest of `rest`.
std::unique_ptr<InputStream> PrependInput(std::string prefix, std::unique_ptr<InputStream> rest);

// `raw`, decompressed when it starts with the gzip (1f 8b) or zstd (28 b5 2f fd) magic bytes
// (concatenated gzip members and zstd frames are read on). Decompressed bytes past `limit`
// fail with ResourceExhausted naming `name` and the limit; damaged compressed data is
// InvalidArgument with the compressed offset.
absl::StatusOr<std::unique_ptr<InputStream>> DecompressingInput(std::unique_ptr<InputStream> raw,
                                                                const std::string& name,
                                                                uint64_t limit);

}  // namespace spanstore

#endif  // SPANSTORE_FORMATS_INPUT_STREAM_H_
