// The file-system abstraction. Every byte spanstore reads or writes goes through an Env, so
// tests can inject short writes, EIO, ENOSPC, fsync failures and power cuts (tests/util/
// fault_injection_env.h), and embedders can supply their own.
//
// Error mapping, used consistently by the whole engine (see also store.h):
//   ENOENT                      -> NotFound
//   ENOSPC, EDQUOT              -> ResourceExhausted ("no space left on device")
//   any other I/O error         -> Unavailable ("I/O error"; the device may come back)
//   damaged bytes (bad checksum, impossible length, unknown format) -> DataLoss
//   the caller's mistake        -> InvalidArgument
//   refused because of state    -> FailedPrecondition (store locked, read-only after a failed
//                                  fsync, closed)
// Messages always carry the path and the operation.
//
// Thread safety: an Env is safe for concurrent use. A file object is used by one thread at a
// time unless its comment says otherwise.

#ifndef SPANSTORE_ENV_H_
#define SPANSTORE_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spanstore/export.h"

namespace spanstore {

// A file written sequentially. Append may buffer; Flush hands the bytes to the OS; Sync makes
// them durable (fdatasync). A failed Sync must never be retried-and-trusted: after it fails the
// caller has to assume the unsynced bytes are gone.
class SPANSTORE_EXPORT WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual absl::Status Append(std::string_view data) = 0;
  virtual absl::Status Flush() = 0;
  virtual absl::Status Sync() = 0;
  // Cuts the file to `size` bytes (used to drop a partially written record after a failed write).
  virtual absl::Status Truncate(uint64_t size) = 0;
  virtual absl::Status Close() = 0;
  virtual uint64_t Size() const = 0;  // bytes appended so far (including unflushed)
};

// A file read at arbitrary offsets. Safe for concurrent Read calls.
class SPANSTORE_EXPORT RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; *result points into scratch (or into a mapping
  // owned by the file) and is shorter than n only at end of file.
  virtual absl::Status Read(uint64_t offset, size_t n, char* scratch,
                            std::string_view* result) const = 0;
  virtual uint64_t Size() const = 0;
};

// A held advisory lock on a file (see Env::LockFile).
class SPANSTORE_EXPORT FileLock {
 public:
  virtual ~FileLock() = default;
};

class SPANSTORE_EXPORT Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never deleted.
  static Env* Default();

  // Creates or truncates `path` (mode 0600).
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // Opens `path` for appending, creating it when missing (mode 0600).
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  // Reads a whole file (convenience over NewRandomAccessFile).
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path);
  // Writes `data` to `path` via a temporary file, fsyncs it, renames it into place and fsyncs
  // the directory: either the old or the new content survives a crash.
  virtual absl::Status WriteFileAtomically(const std::string& path, std::string_view data);

  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries in `dir`, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  virtual absl::StatusOr<uint64_t> GetFileSize(const std::string& path) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual absl::Status TruncateFile(const std::string& path, uint64_t size) = 0;
  // Creates `dir` (mode 0700) if missing; parents must exist.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  virtual absl::Status RemoveDir(const std::string& dir) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;

  // Takes an exclusive advisory lock on `path` (created if missing). FailedPrecondition when
  // another process (or another Store in this process) holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;

  virtual uint64_t NowMicros() = 0;
};

// Forwards every call to another Env; subclass it to override a few operations.
class SPANSTORE_EXPORT EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    return target_->NewWritableFile(p);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    return target_->NewAppendableFile(p);
  }
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& p) override {
    return target_->NewRandomAccessFile(p);
  }
  bool FileExists(const std::string& p) override { return target_->FileExists(p); }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& d) override {
    return target_->GetChildren(d);
  }
  absl::StatusOr<uint64_t> GetFileSize(const std::string& p) override {
    return target_->GetFileSize(p);
  }
  absl::Status RemoveFile(const std::string& p) override { return target_->RemoveFile(p); }
  absl::Status RenameFile(const std::string& f, const std::string& t) override {
    return target_->RenameFile(f, t);
  }
  absl::Status TruncateFile(const std::string& p, uint64_t s) override {
    return target_->TruncateFile(p, s);
  }
  absl::Status CreateDir(const std::string& d) override { return target_->CreateDir(d); }
  absl::Status RemoveDir(const std::string& d) override { return target_->RemoveDir(d); }
  absl::Status SyncDir(const std::string& d) override { return target_->SyncDir(d); }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return target_->LockFile(p);
  }
  uint64_t NowMicros() override { return target_->NowMicros(); }

 private:
  Env* target_;
};

}  // namespace spanstore

#endif  // SPANSTORE_ENV_H_
