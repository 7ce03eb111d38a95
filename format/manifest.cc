#include "format/manifest.h"

#include <xxhash.h>

#include <algorithm>

#include "absl/strings/str_format.h"
#include "format/filenames.h"
#include "util/coding.h"

namespace spanstore {
namespace {

// Version 1 had no version field: its magic ended in '1' and the body followed at once.
constexpr std::string_view kManifestMagicV1 = "SPNMANI1";

}  // namespace

std::string Manifest::Encode() const {
  std::string out(kManifestMagic);
  const bool deep =
      std::any_of(blocks.begin(), blocks.end(), [](const ManifestBlock& b) { return b.level > 1; });
  PutFixed32(&out, deep ? kManifestFormatVersion : 2);
  PutVarint64(&out, next_block_number);
  PutVarint64(&out, first_live_segment);
  PutVarint64(&out, blocks.size());
  for (const ManifestBlock& b : blocks) {
    PutVarint64(&out, b.number);
    PutVarint64(&out, b.level);
    PutVarint64(&out, b.rows);
    PutVarint64(&out, b.traces);
    PutVarint64(&out, b.min_start);
    PutVarint64(&out, b.max_start);
    PutVarint64(&out, b.file_bytes);
  }
  PutFixed64(&out, XXH3_64bits(out.data(), out.size()));
  return out;
}

absl::StatusOr<Manifest> Manifest::Decode(std::string_view data, std::string_view file) {
  auto error = [&](std::string_view what) {
    return absl::DataLossError(absl::StrFormat("manifest %s: %s", file, what));
  };
  size_t header = 0;
  if (data.size() >= kManifestMagicV1.size() + 8 && data.substr(0, 8) == kManifestMagicV1) {
    header = kManifestMagicV1.size();
  } else if (data.size() >= kManifestMagic.size() + 4 + 8 && data.substr(0, 8) == kManifestMagic) {
    header = kManifestMagic.size() + 4;
    // Checked before the checksum: a newer writer may have changed how that is computed too.
    const uint32_t version = DecodeFixed32(data.data() + kManifestMagic.size());
    if (version > kManifestFormatVersion) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "manifest %s: format version %d was written by a newer spanstore; this build reads "
          "versions up to %d",
          file, version, kManifestFormatVersion));
    }
    if (version < 2) return error(absl::StrFormat("impossible format version %d", version));
  } else {
    return error("bad magic or too short (not a spanstore manifest)");
  }
  const uint64_t stored = DecodeFixed64(data.data() + data.size() - 8);
  if (XXH3_64bits(data.data(), data.size() - 8) != stored) return error("checksum mismatch");
  std::string_view in = data.substr(header, data.size() - header - 8);
  Manifest m;
  uint64_t count;
  if (!GetVarint64(&in, &m.next_block_number) || !GetVarint64(&in, &m.first_live_segment) ||
      !GetVarint64(&in, &count) || count > in.size()) {
    return error("malformed header");
  }
  uint32_t version = 1;
  if (header != kManifestMagicV1.size())
    version = DecodeFixed32(data.data() + kManifestMagic.size());
  // Versions 1 and 2 had levels 0 and 1 only.
  const uint64_t max_level = version >= 3 ? kMaxManifestLevel : 1;
  for (uint64_t i = 0; i < count; ++i) {
    ManifestBlock b;
    uint64_t level;
    if (!GetVarint64(&in, &b.number) || !GetVarint64(&in, &level) || level > max_level ||
        !GetVarint64(&in, &b.rows) || !GetVarint64(&in, &b.traces) ||
        !GetVarint64(&in, &b.min_start) || !GetVarint64(&in, &b.max_start) ||
        !GetVarint64(&in, &b.file_bytes)) {
      return error(absl::StrFormat("malformed block entry %d", i));
    }
    if (b.number >= m.next_block_number) return error("block number beyond next_block_number");
    b.level = static_cast<uint32_t>(level);
    m.blocks.push_back(b);
  }
  if (!in.empty()) return error("trailing bytes");
  return m;
}

bool ManifestChecksumMatches(std::string_view data) {
  return data.size() >= 8 &&
         XXH3_64bits(data.data(), data.size() - 8) == DecodeFixed64(data.data() + data.size() - 8);
}

absl::StatusOr<Manifest> ReadManifest(Env* env, const std::string& dir) {
  const std::string path = ManifestFileName(dir);
  if (!env->FileExists(path)) return Manifest();
  auto data = env->ReadFile(path);
  if (!data.ok()) return data.status();
  return Manifest::Decode(*data, path);
}

absl::Status WriteManifest(Env* env, const std::string& dir, const Manifest& manifest) {
  return env->WriteFileAtomically(ManifestFileName(dir), manifest.Encode());
}

}  // namespace spanstore
