// Random damage to a whole store directory (tests/util/store_damage.h): a small store -- blocks
// named by a MANIFEST, live WAL segments -- is built once; each input names up to four damages
// (bit flips, truncations, deletions of any file), applied to a fresh copy, which is then opened
// under kTolerateTornTail, kStrict and kSalvage, verified, queried and compacted. Traps when a
// query returns a span that was never written or returns one twice, when a normal open deletes
// a file that held spans, or when a salvaged store does not open normally afterwards.
//
// Seeds: fuzz/corpus/store_dir/ (replayed by tests/store_dir_damage_test.cc). Each input is
// 7-byte records: file index, kind, offset (fixed32), bit (DamagesFromBytes).

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/util/store_damage.h"

namespace {

struct Pristine {
  std::string root;
  std::string dir;
  std::vector<spanstore::Span> written;
  std::vector<std::string> files;
};

const Pristine& GetPristine();

const Pristine& GetPristine() {
  static const Pristine* pristine = [] {
    auto* p = new Pristine;
    char tmpl[] = "/tmp/store_dir_fuzz.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) __builtin_trap();
    p->root = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(GetPristine().root, ec);
    });
    p->dir = p->root + "/pristine";
    if (!spanstore::test::BuildDamageStore(p->dir, &p->written).ok()) __builtin_trap();
    p->files = spanstore::test::DamageStoreFiles(p->dir);
    return p;
  }();
  return *pristine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  namespace fs = std::filesystem;
  const Pristine& p = GetPristine();
  const std::string dir = p.root + "/case";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::copy(p.dir, dir, fs::copy_options::recursive, ec);
  if (ec) {
    // Not a finding about spanstore (the harness could not set the case up), but say why.
    std::fprintf(stderr, "store_dir_fuzz: copying the pristine store to %s: %s\n", dir.c_str(),
                 ec.message().c_str());
    __builtin_trap();
  }
  const std::string_view in(reinterpret_cast<const char*>(bytes), size);
  for (const auto& damage : spanstore::test::DamagesFromBytes(in, p.files)) {
    spanstore::test::ApplyDamage(dir, damage);
  }
  spanstore::test::DamageOutcome out;
  absl::Status s = spanstore::test::CheckDamagedStore(dir, p.written, &out);
  if (!s.ok()) {
    std::fprintf(stderr, "store_dir_fuzz: %s\n", std::string(s.message()).c_str());
    __builtin_trap();
  }
  return 0;
}
