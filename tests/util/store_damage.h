// Whole-store damage for fuzz/store_dir_fuzz.cc and tests/store_dir_damage_test.cc: build a
// small store (blocks named by a MANIFEST, and live WAL segments), damage its files (bit flips,
// truncation, deletion), then open it under each recovery mode, verify it and query it, and
// check what must hold whatever the damage:
//   - nothing crashes;
//   - every span a query returns is one that was written, and none is returned twice;
//   - an Open that is not kSalvage deletes no block or WAL file that holds spans (only an empty
//     newest segment may go), and kSalvage deletes no block file it could not merge elsewhere
//     (damaged ones are moved to lost/);
//   - after kSalvage (and a compaction), the store opens in the default mode and returns the
//     same spans.
// Header-only so that the fuzz target, which links only the library, can use it.
//
// Thread safety: none; one store directory per caller.

#ifndef SPANSTORE_TESTS_UTIL_STORE_DAMAGE_H_
#define SPANSTORE_TESTS_UTIL_STORE_DAMAGE_H_

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "spanstore/spanstore.h"
#include "spanstore/verify.h"

namespace spanstore::test {

// The spans BuildDamageStore writes: `traces` traces of 3 spans, deterministic.
inline std::vector<Span> DamageStoreSpans(int first_trace, int traces) {
  std::vector<Span> spans;
  for (int t = first_trace; t < first_trace + traces; ++t) {
    for (int k = 0; k < 3; ++k) {
      Span s;
      s.trace_id = *TraceId::FromHex(absl::StrFormat("%032x", 0x1000 + t * 7919));
      s.span_id = *SpanId::FromHex(absl::StrFormat("%016x", 0x100 + t * 16 + k));
      if (k > 0) s.parent_span_id = *SpanId::FromHex(absl::StrFormat("%016x", 0x100 + t * 16));
      s.service_name = k == 2 ? "payment" : "checkout";
      s.name = absl::StrFormat("op-%d", (t + k) % 5);
      s.start_time_unix_nano = 1'700'000'000'000'000'000ull + uint64_t(t) * 1'000'000 + k * 1000;
      s.end_time_unix_nano = s.start_time_unix_nano + 5000 + uint64_t(t % 7) * 100;
      s.status_code = (t + k) % 11 == 0 ? StatusCode::kError : StatusCode::kUnset;
      s.attributes.push_back({"http.route", AnyValue::String(absl::StrFormat("/r/%d", t % 13))});
      spans.push_back(std::move(s));
    }
  }
  return spans;
}

// Builds the store in `dir` (which must not exist): two compactions' worth of blocks named by
// the MANIFEST, then more spans in several live WAL segments. Sets *written.
inline absl::Status BuildDamageStore(const std::string& dir, std::vector<Span>* written) {
  Options o;
  o.sync = SyncPolicy::kNone;
  o.background_compaction = false;
  o.segment_bytes = 1024;  // several segments
  auto store = Store::Open(o, dir);
  if (!store.ok()) return store.status();
  written->clear();
  int trace = 0;
  for (int round = 0; round < 3; ++round) {
    for (int batch = 0; batch < 6; ++batch) {
      std::vector<Span> spans = DamageStoreSpans(trace, 4);
      trace += 4;
      if (absl::Status s = (*store)->Append(spans); !s.ok()) return s;
      written->insert(written->end(), spans.begin(), spans.end());
    }
    if (round < 2) {
      if (absl::Status s = (*store)->CompactAll(); !s.ok()) return s;
    }
  }
  return (*store)->Close();
}

// Every regular file of the store but LOCK, relative to `dir`, sorted.
inline std::vector<std::string> DamageStoreFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = std::filesystem::relative(it->path(), dir).string();
    if (rel != "LOCK") files.push_back(rel);
  }
  std::sort(files.begin(), files.end());
  return files;
}

enum class DamageKind : uint8_t { kBitFlip = 0, kTruncate = 1, kDelete = 2 };

struct Damage {
  std::string file;  // relative to the store directory
  DamageKind kind = DamageKind::kBitFlip;
  uint64_t offset = 0;  // taken modulo the file size
  uint8_t bit = 0;
};

inline std::string DamageName(const Damage& d) {
  const char* kind = d.kind == DamageKind::kBitFlip    ? "bit flip"
                     : d.kind == DamageKind::kTruncate ? "truncate"
                                                       : "delete";
  return absl::StrFormat("%s %s @%d", kind, d.file, d.offset);
}

inline void ApplyDamage(const std::string& dir, const Damage& d) {
  const std::string path = dir + "/" + d.file;
  std::error_code ec;
  if (d.kind == DamageKind::kDelete) {
    std::filesystem::remove(path, ec);
    return;
  }
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return;
  if (d.kind == DamageKind::kTruncate) {
    std::filesystem::resize_file(path, d.offset % size, ec);
    return;
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  char c;
  f.seekg(static_cast<std::streamoff>(d.offset % size));
  f.get(c);
  c = static_cast<char>(c ^ (1 << (d.bit % 8)));
  f.seekp(static_cast<std::streamoff>(d.offset % size));
  f.put(c);
}

// The damages a fuzz input (or a corpus file) describes: up to kMaxDamages records of 7 bytes --
// file index (modulo the number of files), kind (modulo 3), offset (fixed32, little endian,
// modulo the file size), bit. A trailing partial record is ignored.
inline constexpr size_t kDamageRecordBytes = 7;
inline constexpr size_t kMaxDamages = 4;
inline std::vector<Damage> DamagesFromBytes(std::string_view in,
                                            const std::vector<std::string>& files) {
  std::vector<Damage> damages;
  if (files.empty()) return damages;
  for (size_t at = 0; at + kDamageRecordBytes <= in.size() && damages.size() < kMaxDamages;
       at += kDamageRecordBytes) {
    const auto* b = reinterpret_cast<const uint8_t*>(in.data() + at);
    Damage d;
    d.file = files[b[0] % files.size()];
    d.kind = static_cast<DamageKind>(b[1] % 3);
    d.offset = uint64_t{b[2]} | uint64_t{b[3]} << 8 | uint64_t{b[4]} << 16 | uint64_t{b[5]} << 24;
    d.bit = b[6];
    damages.push_back(d);
  }
  return damages;
}

// Every span of the store by a full scan. Fails on a span that was not written or that comes
// twice.
inline absl::Status CheckScan(Store* store, const std::vector<Span>& written,
                              std::vector<Span>* seen) {
  seen->clear();
  absl::Status s = store->Scan(SpanQuery(), [&](const Span& span) {
    seen->push_back(span);
    return true;
  });
  if (!s.ok()) return absl::OkStatus();  // damage met while reading is an error, not a lie
  for (size_t i = 0; i < seen->size(); ++i) {
    const Span& span = (*seen)[i];
    if (std::find(written.begin(), written.end(), span) == written.end()) {
      return absl::InternalError("a span that was never written: " + span.span_id.ToHex());
    }
    if (std::find(seen->begin() + static_cast<ptrdiff_t>(i) + 1, seen->end(), span) !=
        seen->end()) {
      return absl::InternalError("a span returned twice: " + span.span_id.ToHex());
    }
  }
  // GetTrace of a few traces must agree with the scan (no invented spans there either).
  for (size_t i = 0; i < written.size(); i += 37) {
    auto trace = store->GetTrace(written[i].trace_id);
    if (!trace.ok()) continue;
    for (const Span& span : trace->spans) {
      if (std::find(written.begin(), written.end(), span) == written.end()) {
        return absl::InternalError("GetTrace returned a span never written");
      }
    }
  }
  return absl::OkStatus();
}

// What happened to a damaged store, for the caller's own assertions.
struct DamageOutcome {
  bool default_open_ok = false;
  absl::Status default_open;
  bool verify_ok = false;
  bool salvage_open_ok = false;
  std::vector<Span> default_spans;  // by a full scan, when the default open succeeded
  std::vector<Span> salvage_spans;  // by a full scan after kSalvage
};

// Opens the damaged store in `dir` under the default mode, verifies it, then opens it with
// kSalvage, compacts, reopens in the default mode. Returns an error when an invariant of the
// file comment breaks.
inline absl::Status CheckDamagedStore(const std::string& dir, const std::vector<Span>& written,
                                      DamageOutcome* out) {
  auto sizes = [&] {
    std::map<std::string, uintmax_t> m;
    std::error_code ec;
    for (const std::string& f : DamageStoreFiles(dir)) {
      m[f] = std::filesystem::file_size(dir + "/" + f, ec);
    }
    return m;
  };
  const auto before = sizes();
  Options o;
  o.background_compaction = false;
  for (RecoveryMode mode : {RecoveryMode::kTolerateTornTail, RecoveryMode::kStrict}) {
    o.recovery = mode;
    auto store = Store::Open(o, dir);
    if (mode == RecoveryMode::kTolerateTornTail) {
      out->default_open_ok = store.ok();
      out->default_open = store.status();
    }
    if (store.ok()) {
      std::vector<Span> seen;
      if (absl::Status s = CheckScan(store->get(), written, &seen); !s.ok()) return s;
      if (mode == RecoveryMode::kTolerateTornTail) out->default_spans = seen;
      (void)(*store)->Close();
    }
    // Nothing that held spans was deleted (an empty newest segment may be).
    for (const auto& [file, size] : before) {
      if (std::filesystem::exists(dir + "/" + file)) continue;
      if (file.rfind("wal/", 0) == 0 && size <= 16) continue;  // no record in it
      if (file == "MANIFEST.tmp") continue;
      return absl::InternalError(
          absl::StrFormat("a normal open deleted %s (%d bytes)", file, size));
    }
  }
  auto report = VerifyStore(dir);
  out->verify_ok = report.ok() && report->ok();

  // Salvage: moves damaged files to lost/, never deletes a block it has not merged elsewhere.
  const auto before_salvage = sizes();
  o.recovery = RecoveryMode::kSalvage;
  {
    auto store = Store::Open(o, dir);
    out->salvage_open_ok = store.ok();
    if (!store.ok()) return absl::OkStatus();
    std::vector<Span> seen;
    if (absl::Status s = CheckScan(store->get(), written, &seen); !s.ok()) return s;
    out->salvage_spans = seen;
    for (const auto& [file, size] : before_salvage) {
      if (file.rfind("blocks/", 0) != 0 || std::filesystem::exists(dir + "/" + file)) continue;
      if (!(*store)->Stats().manifest_rebuilt) {
        return absl::InternalError("kSalvage deleted " + file + " without rebuilding");
      }
    }
    absl::Status s = (*store)->CompactAll();
    if (s.ok()) {
      std::vector<Span> after;
      if (s = CheckScan(store->get(), written, &after); !s.ok()) return s;
      if (after.size() != seen.size()) {
        return absl::InternalError(
            absl::StrFormat("compaction after kSalvage changed the span count from %d to %d",
                            seen.size(), after.size()));
      }
    }
    if (!(*store)->Close().ok() || !s.ok()) return absl::OkStatus();  // damage met again
  }
  o.recovery = RecoveryMode::kTolerateTornTail;
  auto store = Store::Open(o, dir);
  if (!store.ok()) {
    return absl::InternalError("after kSalvage and a compaction the store does not open: " +
                               std::string(store.status().message()));
  }
  std::vector<Span> seen;
  if (absl::Status s = CheckScan(store->get(), written, &seen); !s.ok()) return s;
  if (seen.size() != out->salvage_spans.size()) {
    return absl::InternalError(absl::StrFormat("the repaired store returns %d spans, kSalvage %d",
                                               seen.size(), out->salvage_spans.size()));
  }
  return absl::OkStatus();
}

}  // namespace spanstore::test

#endif  // SPANSTORE_TESTS_UTIL_STORE_DAMAGE_H_
