#include "tests/util/temp_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

namespace spanstore::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "spanstore_test.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace spanstore::test
