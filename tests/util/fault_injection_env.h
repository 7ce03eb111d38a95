// An Env for tests that injects I/O faults and simulates power cuts (after LevelDB's
// db/fault_injection_test.cc and RocksDB's FaultInjectionTestFS).
//
// - Faults: while a fault is armed for an operation kind, every such operation fails with the
//   given errno (EIO, ENOSPC...). `FailAfter(kind, n, err)` lets n more operations succeed first.
//   A write can be made short: the first half of the bytes reach the file, then it fails.
// - Power cut: the env tracks, per file, how many bytes were made durable by Sync, and which
//   directory entries were made durable by SyncDir. PowerCut() drops everything else: files are
//   cut to their synced size, files created since their directory's last SyncDir are deleted, and
//   renames not yet followed by a SyncDir are undone.
// - Counting: every mutating operation bumps a counter; `CrashAfter(n)` makes the n-th mutating
//   operation and all later ones fail (EIO) as if the machine had stopped there, so a test can
//   cut power at "the k-th I/O step" and then call PowerCut().
//
// Thread safety: all methods are thread-safe.

#ifndef SPANSTORE_TESTS_UTIL_FAULT_INJECTION_ENV_H_
#define SPANSTORE_TESTS_UTIL_FAULT_INJECTION_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "spanstore/env.h"
#include "util/port_mutex.h"

namespace spanstore::test {

enum class FaultOp { kWrite, kSync, kRead, kCreate, kRename, kRemove, kSyncDir, kTruncate };

class FaultInjectionEnv : public EnvWrapper {
 public:
  explicit FaultInjectionEnv(Env* target = Env::Default());

  // Operations of `op` fail with `err` after `after` more successes. err 0 clears the fault.
  void FailAfter(FaultOp op, int after, int err);
  void Fail(FaultOp op, int err) { FailAfter(op, 0, err); }
  void Clear(FaultOp op) { FailAfter(op, 0, 0); }
  void ClearAll();
  // Failing writes write half of their bytes first.
  void SetShortWrites(bool on);

  // Mutating operations so far (writes, syncs, creates, renames, removes, truncates, dir syncs).
  uint64_t mutations() const;
  // Mutating operation number n (1-based, counting from now) and every later one fail with EIO.
  void CrashAfter(uint64_t n);
  bool crashed() const;

  // Drops everything that was not durable. Call after the store is gone (closed or destroyed).
  // Clears all faults and the crash point.
  absl::Status PowerCut();

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& p) override;
  absl::Status RemoveFile(const std::string& p) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status TruncateFile(const std::string& p, uint64_t size) override;
  absl::Status SyncDir(const std::string& d) override;

  // Used by the file wrappers.
  absl::Status Check(FaultOp op, const std::string& path);
  bool short_writes() const;
  void RecordAppend(const std::string& path, uint64_t new_size);
  void RecordSync(const std::string& path, uint64_t size);

 private:
  struct FileState {
    uint64_t size = 0;         // bytes written (that reached the target env)
    uint64_t synced_size = 0;  // bytes made durable by Sync
  };
  struct Fault {
    int after = 0;
    int err = 0;
  };
  static std::string DirOf(const std::string& path);

  mutable port::Mutex mu_;
  std::map<FaultOp, Fault> faults_ ABSL_GUARDED_BY(mu_);
  bool short_writes_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t mutations_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t crash_at_ ABSL_GUARDED_BY(mu_) = 0;  // 0: no crash point
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
  // Files created since their directory was last synced: deleted by a power cut.
  std::set<std::string> unsynced_creates_ ABSL_GUARDED_BY(mu_);
  // Renames not yet made durable, in order: (from, to, previous content of `to` or null).
  struct PendingRename {
    std::string from, to;
    bool to_existed;
    std::string to_content;
  };
  std::vector<PendingRename> unsynced_renames_ ABSL_GUARDED_BY(mu_);
};

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_FAULT_INJECTION_ENV_H_
