// Env's default implementations of the convenience operations, in terms of the primitives, so
// that every Env (including the fault-injecting one in tests) gets them with the same semantics.

#include "spanstore/env.h"

#include "absl/strings/str_cat.h"

namespace spanstore {

absl::StatusOr<std::string> Env::ReadFile(const std::string& path) {
  auto file = NewRandomAccessFile(path);
  if (!file.ok()) return file.status();
  std::string data((*file)->Size(), '\0');
  std::string_view result;
  absl::Status s = (*file)->Read(0, data.size(), data.data(), &result);
  if (!s.ok()) return s;
  data.resize(result.size());
  return data;
}

absl::Status Env::WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  auto file = NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  absl::Status s = (*file)->Append(data);
  if (s.ok()) s = (*file)->Sync();
  absl::Status close = (*file)->Close();
  if (s.ok()) s = close;
  if (s.ok()) s = RenameFile(tmp, path);
  if (s.ok()) {
    const size_t slash = path.rfind('/');
    s = SyncDir(slash == std::string::npos ? "." : path.substr(0, slash));
  }
  if (!s.ok()) (void)RemoveFile(tmp);
  return s;
}

}  // namespace spanstore
