#include "tests/util/fault_injection_env.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/io_error.h"

namespace spanstore::test {
namespace {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> file)
      : env_(env), path_(std::move(path)), file_(std::move(file)) {}

  absl::Status Append(std::string_view data) override {
    absl::Status s = env_->Check(FaultOp::kWrite, path_);
    if (!s.ok()) {
      if (env_->short_writes() && data.size() > 1) {
        // Part of the bytes reach the file before the error, as with a real short write.
        if (file_->Append(data.substr(0, data.size() / 2)).ok() && file_->Flush().ok()) {
          env_->RecordAppend(path_, file_->Size());
        }
      }
      return s;
    }
    s = file_->Append(data);
    if (s.ok()) env_->RecordAppend(path_, file_->Size());
    return s;
  }
  absl::Status Flush() override { return file_->Flush(); }
  absl::Status Sync() override {
    absl::Status s = env_->Check(FaultOp::kSync, path_);
    if (!s.ok()) return s;
    // Durability is simulated (PowerCut drops what was not synced), so the bytes only need to
    // reach the OS: a real fdatasync would make crash matrices of hundreds of steps take
    // minutes on a slow disk and prove nothing more.
    s = file_->Flush();
    if (s.ok()) env_->RecordSync(path_, file_->Size());
    return s;
  }
  absl::Status Truncate(uint64_t size) override {
    absl::Status s = env_->Check(FaultOp::kTruncate, path_);
    if (!s.ok()) return s;
    s = file_->Truncate(size);
    if (s.ok()) env_->RecordAppend(path_, size);
    return s;
  }
  absl::Status Close() override { return file_->Close(); }
  uint64_t Size() const override { return file_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultInjectionEnv* env, std::string path,
                        std::unique_ptr<RandomAccessFile> file)
      : env_(env), path_(std::move(path)), file_(std::move(file)) {}
  absl::Status Read(uint64_t offset, size_t n, char* scratch,
                    std::string_view* result) const override {
    absl::Status s = env_->Check(FaultOp::kRead, path_);
    if (!s.ok()) return s;
    return file_->Read(offset, n, scratch, result);
  }
  uint64_t Size() const override { return file_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
};

const char* OpName(FaultOp op) {
  switch (op) {
    case FaultOp::kWrite:
      return "write (injected)";
    case FaultOp::kSync:
      return "fdatasync (injected)";
    case FaultOp::kRead:
      return "read (injected)";
    case FaultOp::kCreate:
      return "create (injected)";
    case FaultOp::kRename:
      return "rename (injected)";
    case FaultOp::kRemove:
      return "remove (injected)";
    case FaultOp::kSyncDir:
      return "fsync directory (injected)";
    case FaultOp::kTruncate:
      return "truncate (injected)";
  }
  return "operation (injected)";
}

}  // namespace

FaultInjectionEnv::FaultInjectionEnv(Env* target) : EnvWrapper(target) {}

void FaultInjectionEnv::FailAfter(FaultOp op, int after, int err) {
  port::MutexLock l(&mu_);
  faults_[op] = Fault{after, err};
}

void FaultInjectionEnv::ClearAll() {
  port::MutexLock l(&mu_);
  faults_.clear();
  short_writes_ = false;
  crash_at_ = 0;
  crashed_ = false;
}

void FaultInjectionEnv::SetShortWrites(bool on) {
  port::MutexLock l(&mu_);
  short_writes_ = on;
}

bool FaultInjectionEnv::short_writes() const {
  port::MutexLock l(&mu_);
  return short_writes_;
}

uint64_t FaultInjectionEnv::mutations() const {
  port::MutexLock l(&mu_);
  return mutations_;
}

void FaultInjectionEnv::CrashAfter(uint64_t n) {
  port::MutexLock l(&mu_);
  crash_at_ = mutations_ + n;
}

bool FaultInjectionEnv::crashed() const {
  port::MutexLock l(&mu_);
  return crashed_;
}

absl::Status FaultInjectionEnv::Check(FaultOp op, const std::string& path) {
  port::MutexLock l(&mu_);
  if (op != FaultOp::kRead) {
    ++mutations_;
    if (crash_at_ != 0 && mutations_ >= crash_at_) crashed_ = true;
  }
  if (crashed_ && op != FaultOp::kRead) return IoError(EIO, "simulated crash", path);
  auto it = faults_.find(op);
  if (it == faults_.end() || it->second.err == 0) return absl::OkStatus();
  if (it->second.after > 0) {
    --it->second.after;
    return absl::OkStatus();
  }
  return IoError(it->second.err, OpName(op), path);
}

void FaultInjectionEnv::RecordAppend(const std::string& path, uint64_t new_size) {
  port::MutexLock l(&mu_);
  FileState& f = files_[path];
  f.size = new_size;
  if (f.synced_size > new_size) f.synced_size = new_size;
}

void FaultInjectionEnv::RecordSync(const std::string& path, uint64_t size) {
  port::MutexLock l(&mu_);
  FileState& f = files_[path];
  f.size = size;
  f.synced_size = size;
}

std::string FaultInjectionEnv::DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& p) {
  absl::Status s = Check(FaultOp::kCreate, p);
  if (!s.ok()) return s;
  const bool existed = target()->FileExists(p);
  auto file = target()->NewWritableFile(p);
  if (!file.ok()) return file.status();
  {
    port::MutexLock l(&mu_);
    files_[p] = FileState{};
    if (!existed) unsynced_creates_.insert(p);
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, p, std::move(*file)));
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& p) {
  absl::Status s = Check(FaultOp::kCreate, p);
  if (!s.ok()) return s;
  const bool existed = target()->FileExists(p);
  auto file = target()->NewAppendableFile(p);
  if (!file.ok()) return file.status();
  {
    port::MutexLock l(&mu_);
    auto it = files_.find(p);
    if (it == files_.end()) {
      // Bytes that were there before we started watching are taken as durable.
      files_[p] = FileState{(*file)->Size(), (*file)->Size()};
    }
    if (!existed) unsynced_creates_.insert(p);
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, p, std::move(*file)));
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(
    const std::string& p) {
  absl::Status s = Check(FaultOp::kRead, p);
  if (!s.ok()) return s;
  auto file = target()->NewRandomAccessFile(p);
  if (!file.ok()) return file.status();
  return std::unique_ptr<RandomAccessFile>(new FaultRandomAccessFile(this, p, std::move(*file)));
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& p) {
  absl::Status s = Check(FaultOp::kRemove, p);
  if (!s.ok()) return s;
  s = target()->RemoveFile(p);
  if (s.ok()) {
    port::MutexLock l(&mu_);
    files_.erase(p);
    unsynced_creates_.erase(p);
  }
  return s;
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  absl::Status s = Check(FaultOp::kRename, from);
  if (!s.ok()) return s;
  PendingRename pending{from, to, target()->FileExists(to), ""};
  if (pending.to_existed) {
    auto old = target()->ReadFile(to);
    if (old.ok()) pending.to_content = std::move(*old);
  }
  s = target()->RenameFile(from, to);
  if (!s.ok()) return s;
  port::MutexLock l(&mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(it);
  }
  if (unsynced_creates_.erase(from) > 0) unsynced_creates_.insert(to);
  unsynced_renames_.push_back(std::move(pending));
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::TruncateFile(const std::string& p, uint64_t size) {
  absl::Status s = Check(FaultOp::kTruncate, p);
  if (!s.ok()) return s;
  s = target()->TruncateFile(p, size);
  if (s.ok()) RecordAppend(p, size);
  return s;
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& d) {
  absl::Status s = Check(FaultOp::kSyncDir, d);
  if (!s.ok()) return s;
  // Simulated, like file syncs: no real fsync of the directory.
  port::MutexLock l(&mu_);
  for (auto it = unsynced_creates_.begin(); it != unsynced_creates_.end();) {
    it = DirOf(*it) == d ? unsynced_creates_.erase(it) : std::next(it);
  }
  std::vector<PendingRename> still;
  for (auto& r : unsynced_renames_) {
    if (DirOf(r.to) != d) still.push_back(std::move(r));
  }
  unsynced_renames_ = std::move(still);
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::PowerCut() {
  port::MutexLock l(&mu_);
  // Undo renames that never became durable, newest first.
  for (auto it = unsynced_renames_.rbegin(); it != unsynced_renames_.rend(); ++it) {
    if (target()->FileExists(it->to)) (void)target()->RenameFile(it->to, it->from);
    // An unsynced create moves back with the file: a rename over an existing file must not
    // make the restored old file look newly created (it would then be deleted below).
    if (unsynced_creates_.erase(it->to) > 0) unsynced_creates_.insert(it->from);
    auto f = files_.find(it->to);
    if (f != files_.end()) {
      files_[it->from] = f->second;
      files_.erase(f);
    }
    if (it->to_existed) {
      auto file = target()->NewWritableFile(it->to);
      if (file.ok()) {
        (void)(*file)->Append(it->to_content);
        (void)(*file)->Close();
      }
    }
  }
  unsynced_renames_.clear();
  for (const std::string& p : unsynced_creates_) {
    (void)target()->RemoveFile(p);
    files_.erase(p);
  }
  unsynced_creates_.clear();
  for (auto& [path, f] : files_) {
    if (!target()->FileExists(path)) continue;
    absl::Status s = target()->TruncateFile(path, f.synced_size);
    if (!s.ok()) return s;
    f.size = f.synced_size;
  }
  faults_.clear();
  short_writes_ = false;
  crash_at_ = 0;
  crashed_ = false;
  return absl::OkStatus();
}

}  // namespace spanstore::test
