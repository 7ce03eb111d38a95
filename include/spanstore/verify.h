// VerifyStore: checks every file of a store -- every checksum, every page, every span -- without
// opening it (so it also works on a store that fails to open), and reports one finding per file.
//
//   auto report = spanstore::VerifyStore("/var/lib/traces");
//   if (!report.ok()) ...                        // could not run: no such store, or it is open
//   for (const auto& f : report->findings) ...   // kOk / kWarning / kDamaged, file, message
//   if (!report->ok()) ...                       // something is damaged or missing
//
// What is checked, per file (docs/store_layout.md):
//   MANIFEST       decodes and its checksum matches; no block listed twice
//   blocks/N.blk   every block the manifest names exists and opens (footer, meta page and trace
//                  index checksums), every page's checksum matches, every column of every row
//                  group decodes, every row is where the trace index says, and the block agrees
//                  with its manifest entry (rows, traces, bytes, time range)
//   blocks/N.sum   the analysis summary of each live block reads back (checksum, version, the
//                  block it describes); missing or damaged is a warning, not damage: it is
//                  derived data, the graph and RED scan that block instead
//   wal/N.log      every record's checksum, every span decodes
// Damage: a file that fails any check, a block the manifest names but that is missing, a
// MANIFEST that is damaged or missing while block files exist, a WAL segment missing from the
// middle of the sequence (docs/recovery.md).
// Warnings: what a crash legitimately leaves behind and the next Open deletes -- block files
// the manifest does not name, WAL segments below the manifest's first live segment, a
// MANIFEST.tmp -- and names that are not spanstore files.
//
// Thread safety: VerifyStore may be called from any thread; it takes the store's lock for its
// duration, so it refuses (FailedPrecondition) a store that a process has open.

#ifndef SPANSTORE_VERIFY_H_
#define SPANSTORE_VERIFY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "spanstore/export.h"

namespace spanstore {

class Env;

struct SPANSTORE_EXPORT VerifyFinding {
  enum class Severity { kOk, kWarning, kDamaged };
  Severity severity = Severity::kOk;
  std::string file;     // relative to the store directory, e.g. "blocks/000007.blk"
  std::string message;  // what was found: counts when ok; offset and what is wrong when damaged
};

struct SPANSTORE_EXPORT VerifyReport {
  std::vector<VerifyFinding> findings;  // in the order the files were checked
  bool manifest_readable = true;        // false: damaged or lost, so every block file was checked
  uint64_t blocks = 0;                  // block files checked
  uint64_t block_rows = 0;
  uint64_t segments = 0;  // WAL segments checked
  uint64_t records = 0;
  uint64_t spans = 0;     // spans decoded from the WAL segments
  uint64_t problems = 0;  // findings of kDamaged
  uint64_t warnings = 0;  // findings of kWarning

  bool ok() const { return problems == 0; }
};

struct SPANSTORE_EXPORT VerifyOptions {
  // The file system. nullptr: Env::Default(). Not owned.
  Env* env = nullptr;
  // Called with each finding as it is made (e.g. to print progress on a large store), besides
  // collecting it in the report.
  std::function<void(const VerifyFinding&)> on_finding;
};

// Checks the store in `dir`. The report says what is damaged; the status is an error only when
// the check could not run: NotFound (no such directory), FailedPrecondition (a process has the
// store open: its files change while it runs).
SPANSTORE_EXPORT absl::StatusOr<VerifyReport> VerifyStore(const std::string& dir,
                                                          const VerifyOptions& options = {});

}  // namespace spanstore

#endif  // SPANSTORE_VERIFY_H_
