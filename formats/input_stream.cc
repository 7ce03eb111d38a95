// InputStream implementations: files, memory, and streaming gzip (zlib) and zstd decoders.

#include "formats/input_stream.h"

#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore {
namespace {

constexpr size_t kCompressedChunk = 1 << 16;

class FileInput final : public InputStream {
 public:
  FileInput(std::FILE* f, std::string path, uint64_t size)
      : f_(f), path_(std::move(path)), size_(size) {}
  ~FileInput() override {
    if (f_ != stdin) std::fclose(f_);
  }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t got = std::fread(buf, 1, n, f_);
    if (got == 0 && std::ferror(f_)) {
      return absl::UnavailableError(absl::StrCat(path_, ": read error: ", std::strerror(errno)));
    }
    return got;
  }
  uint64_t SizeHint() const override { return size_; }

 private:
  std::FILE* f_;
  const std::string path_;
  const uint64_t size_;
};

class MemInput final : public InputStream {
 public:
  explicit MemInput(std::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    n = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  uint64_t SizeHint() const override { return data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// The bytes read ahead to look for magic bytes, then the rest of the stream.
class PrefixedInput final : public InputStream {
 public:
  PrefixedInput(std::string prefix, std::unique_ptr<InputStream> rest)
      : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ < prefix_.size()) {
      n = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, n);
      pos_ += n;
      return n;
    }
    return rest_->Read(buf, n);
  }
  uint64_t SizeHint() const override { return rest_->SizeHint(); }

 private:
  std::string prefix_;
  size_t pos_ = 0;
  std::unique_ptr<InputStream> rest_;
};

// Decompressed output, counted against the limit. Shared by both decoders.
class Decoder : public InputStream {
 public:
  Decoder(std::unique_ptr<InputStream> in, std::string name, uint64_t limit)
      : in_(std::move(in)), name_(std::move(name)), limit_(limit), chunk_(kCompressedChunk) {}

 protected:
  // Refills the compressed chunk when it is used up; false at the end of the input.
  absl::StatusOr<bool> Refill() {
    if (avail_ > 0) return true;
    auto n = in_->Read(chunk_.data(), chunk_.size());
    if (!n.ok()) return n.status();
    next_ = 0;
    avail_ = *n;
    return *n > 0;
  }
  absl::Status Count(size_t n) {
    produced_ += n;
    if (produced_ > limit_) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: decompresses to more than the %d-byte input limit (LoadOptions::max_input_bytes)",
          name_, limit_));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<InputStream> in_;
  const std::string name_;
  const uint64_t limit_;
  std::vector<char> chunk_;
  size_t next_ = 0, avail_ = 0;
  uint64_t consumed_ = 0;  // compressed bytes before chunk_
  uint64_t produced_ = 0;
};

class GzipInput final : public Decoder {
 public:
  using Decoder::Decoder;
  ~GzipInput() override {
    if (init_) inflateEnd(&z_);
  }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!init_) {
      if (inflateInit2(&z_, 15 + 32) != Z_OK) return absl::InternalError("zlib init failed");
      init_ = true;
    }
    while (!done_) {
      auto more = Refill();
      if (!more.ok()) return more.status();
      if (!*more) {
        if (in_member_) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: gzip data is truncated at compressed byte %d", name_, consumed_));
        }
        done_ = true;
        break;
      }
      if (!in_member_) {  // a new member starts (the first, or one concatenated after another)
        inflateReset(&z_);
        in_member_ = true;
      }
      z_.next_in = reinterpret_cast<Bytef*>(chunk_.data() + next_);
      z_.avail_in = static_cast<uInt>(avail_);
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const size_t used = avail_ - z_.avail_in;
      consumed_ += used;
      next_ += used;
      avail_ = z_.avail_in;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: gzip data is damaged at compressed byte %d: %s", name_, consumed_,
                            z_.msg ? z_.msg : "inflate failed"));
      }
      if (rc == Z_STREAM_END) in_member_ = false;
      const size_t out = reinterpret_cast<char*>(z_.next_out) - buf;
      if (out > 0) {
        if (absl::Status s = Count(out); !s.ok()) return s;
        return out;
      }
    }
    return 0;
  }

 private:
  z_stream z_{};
  bool init_ = false, in_member_ = false, done_ = false;
};

class ZstdInput final : public Decoder {
 public:
  using Decoder::Decoder;
  ~ZstdInput() override { ZSTD_freeDCtx(ctx_); }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    while (true) {
      auto more = Refill();
      if (!more.ok()) return more.status();
      if (!*more && pending_ == 0) return 0;
      ZSTD_inBuffer input{chunk_.data() + next_, avail_, 0};
      ZSTD_outBuffer output{buf, n, 0};
      const size_t rc = ZSTD_decompressStream(ctx_, &output, &input);
      consumed_ += input.pos;
      next_ += input.pos;
      avail_ -= input.pos;
      if (ZSTD_isError(rc)) {
        return absl::InvalidArgumentError(absl::StrFormat("%s: zstd data is damaged at byte %d: %s",
                                                          name_, consumed_, ZSTD_getErrorName(rc)));
      }
      pending_ = rc;  // 0 at a frame's end
      if (output.pos > 0) {
        if (absl::Status s = Count(output.pos); !s.ok()) return s;
        return output.pos;
      }
      if (!*more) {
        return absl::InvalidArgumentError(absl::StrCat(name_, ": zstd data is truncated"));
      }
    }
  }

 private:
  ZSTD_DCtx* ctx_ = ZSTD_createDCtx();
  size_t pending_ = 0;
};

// Counts plain input against the limit too.
class LimitedInput final : public InputStream {
 public:
  LimitedInput(std::unique_ptr<InputStream> in, std::string name, uint64_t limit)
      : in_(std::move(in)), name_(std::move(name)), limit_(limit) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    auto got = in_->Read(buf, n);
    if (got.ok() && (total_ += *got) > limit_) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: larger than the %d-byte input limit (LoadOptions::max_input_bytes)", name_, limit_));
    }
    return got;
  }
  uint64_t SizeHint() const override { return in_->SizeHint(); }

 private:
  std::unique_ptr<InputStream> in_;
  const std::string name_;
  const uint64_t limit_;
  uint64_t total_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<InputStream>> OpenFileInput(const std::string& path) {
  if (path == "-") return std::unique_ptr<InputStream>(new FileInput(stdin, path, 0));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  struct stat st;
  const uint64_t size =
      ::fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  return std::unique_ptr<InputStream>(new FileInput(f, path, size));
}

std::unique_ptr<InputStream> MemoryInput(std::string_view data) {
  return std::make_unique<MemInput>(data);
}

std::unique_ptr<InputStream> PrependInput(std::string prefix, std::unique_ptr<InputStream> rest) {
  return std::make_unique<PrefixedInput>(std::move(prefix), std::move(rest));
}

absl::StatusOr<std::unique_ptr<InputStream>> DecompressingInput(std::unique_ptr<InputStream> raw,
                                                                const std::string& name,
                                                                uint64_t limit) {
  std::string magic(4, '\0');
  size_t have = 0;
  while (have < magic.size()) {
    auto n = raw->Read(magic.data() + have, magic.size() - have);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    have += *n;
  }
  magic.resize(have);
  const bool gzip =
      have >= 2 && static_cast<uint8_t>(magic[0]) == 0x1f && static_cast<uint8_t>(magic[1]) == 0x8b;
  const bool zstd = have >= 4 && std::memcmp(magic.data(), "\x28\xb5\x2f\xfd", 4) == 0;
  auto in = std::make_unique<PrefixedInput>(std::move(magic), std::move(raw));
  if (gzip) return std::unique_ptr<InputStream>(new GzipInput(std::move(in), name, limit));
  if (zstd) return std::unique_ptr<InputStream>(new ZstdInput(std::move(in), name, limit));
  return std::unique_ptr<InputStream>(new LimitedInput(std::move(in), name, limit));
}

}  // namespace spanstore
