// A fresh directory under /tmp for one test, removed when the object goes away.

#ifndef SPANSTORE_TESTS_UTIL_TEMP_DIR_H_
#define SPANSTORE_TESTS_UTIL_TEMP_DIR_H_

#include <string>

namespace spanstore::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // A path inside the directory.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_TEMP_DIR_H_
