// spanctl verify: VerifyStore (include/spanstore/verify.h), one line per finding.

#include "spanstore/verify.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "tools/spanctl/commands.h"

namespace spanstore::spanctl {
namespace {

int RunVerify(const ParsedFlags& flags) {
  const std::string dir = flags.Get("db");
  if (dir.empty()) return Fail("verify", absl::InvalidArgumentError("--db DIR is required"));
  VerifyOptions options;
  options.on_finding = [](const VerifyFinding& f) {
    const char* tag = f.severity == VerifyFinding::Severity::kOk        ? "ok"
                      : f.severity == VerifyFinding::Severity::kWarning ? "warning"
                                                                        : "DAMAGED";
    std::printf("%-8s %s: %s\n", tag, f.file.c_str(), f.message.c_str());
  };
  auto report = VerifyStore(dir, options);
  if (!report.ok()) return Fail("verify", report.status());
  std::printf(
      "%s: %s, %llu blocks (%llu rows), %llu segments (%llu records, %llu spans) checked; "
      "%llu problems, %llu warnings\n",
      report->ok() ? "OK" : "DAMAGED",
      report->manifest_readable ? "manifest ok" : "manifest damaged",
      static_cast<unsigned long long>(report->blocks),
      static_cast<unsigned long long>(report->block_rows),
      static_cast<unsigned long long>(report->segments),
      static_cast<unsigned long long>(report->records),
      static_cast<unsigned long long>(report->spans),
      static_cast<unsigned long long>(report->problems),
      static_cast<unsigned long long>(report->warnings));
  return report->ok() ? kExitOk : kExitFailure;
}

}  // namespace

Command VerifyCommand() {
  return {{"verify",
           "verify --db DIR",
           "check every checksum of every file; exit 1 on any damage",
           "Checks the MANIFEST, every block it names (every page checksum, every column of every\n"
           "row group decoded, the trace index, the manifest entry) and every live WAL segment\n"
           "(every record checksum, every span decoded). Prints one line per file: ok, DAMAGED\n"
           "with the offset and what is wrong, or warning for what a crash legitimately leaves\n"
           "behind (block files the manifest does not name, WAL segments already compacted;\n"
           "the next open deletes them). Exit 1 when anything is damaged or missing: a block,\n"
           "the MANIFEST (while block files exist), a WAL segment in the middle of the sequence;\n"
           "`spanctl repair` opens such a store with what remains (docs/recovery.md).\n"
           "Reads the files directly (it does not open the store), so it also works on a store\n"
           "that fails to open; it takes the store's lock, so close the store first.",
           {DbFlag()},
           0,
           0},
          RunVerify};
}

}  // namespace spanstore::spanctl
