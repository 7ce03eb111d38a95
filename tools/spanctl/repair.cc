// spanctl repair: open a damaged store with RecoveryMode::kSalvage (which rebuilds a missing or
// damaged MANIFEST from the block files, moves damaged files to DIR/lost/ and goes on past
// missing WAL segments), compact what was replayed, then verify the result. And the read-only
// open every read command uses.

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "spanstore/verify.h"
#include "tools/spanctl/commands.h"

namespace spanstore::spanctl {

absl::StatusOr<std::unique_ptr<Store>> OpenStoreForReading(const ParsedFlags& flags) {
  Options options;
  options.read_only = true;
  options.create_if_missing = false;
  // --salvage: skip damaged WAL records, damaged blocks and missing segments, in memory only.
  if (flags.GetBool("salvage")) options.recovery = RecoveryMode::kSalvage;
  return OpenStore(flags, options);
}

FlagSpec SalvageFlag() {
  return {"salvage", "", "",
          "read past damage (RecoveryMode::kSalvage, read-only: nothing is repaired; see "
          "'spanctl repair')"};
}

namespace {

int RunRepair(const ParsedFlags& flags) {
  Options options;
  options.recovery = RecoveryMode::kSalvage;
  options.create_if_missing = false;
  options.background_compaction = false;
  auto store = OpenStore(flags, options);
  if (!store.ok()) return Fail("repair", store.status());
  const StoreStats before = (*store)->Stats();
  for (const std::string& note : before.recovery_notes) std::printf("%s\n", note.c_str());
  // Compacting now turns what was replayed into blocks (dropping the copies of spans that were
  // already in blocks) and deletes the segments it came from, so the next open is quick.
  absl::Status s = (*store)->CompactAll();
  if (s.ok()) s = (*store)->Close();
  if (!s.ok()) return FailOperation("repair", s);
  const StoreStats after = (*store)->Stats();
  const bool repaired = before.manifest_rebuilt || before.missing_wal_segments > 0 ||
                        before.files_moved_to_lost > 0 || before.corrupt_records_skipped > 0 ||
                        before.torn_tail_records > 0;
  std::printf(
      "%s: %llu spans in %llu blocks; manifest %s; %llu WAL segments missing; %llu damaged "
      "records or blocks left out (%llu bytes); %llu files moved to lost/; %llu duplicate "
      "spans dropped\n",
      repaired ? "repaired" : "nothing to repair",
      static_cast<unsigned long long>(after.block_spans),
      static_cast<unsigned long long>(after.blocks), before.manifest_rebuilt ? "rebuilt" : "kept",
      static_cast<unsigned long long>(before.missing_wal_segments),
      static_cast<unsigned long long>(before.corrupt_records_skipped),
      static_cast<unsigned long long>(before.corrupt_bytes_skipped),
      static_cast<unsigned long long>(before.files_moved_to_lost),
      static_cast<unsigned long long>(after.duplicate_spans_dropped));
  store->reset();

  auto report = VerifyStore(flags.Get("db"));
  if (!report.ok()) return FailOperation("repair", report.status());
  for (const VerifyFinding& f : report->findings) {
    if (f.severity == VerifyFinding::Severity::kDamaged) {
      std::printf("DAMAGED  %s: %s\n", f.file.c_str(), f.message.c_str());
    }
  }
  std::printf("verify after repair: %s\n", report->ok() ? "OK" : "DAMAGED");
  return report->ok() ? kExitOk : kExitFailure;
}

}  // namespace

Command RepairCommand() {
  return {{"repair",
           "repair --db DIR",
           "rebuild a lost or damaged MANIFEST and open past damage, keeping every intact span",
           "Opens the store with RecoveryMode::kSalvage: a MANIFEST that is missing or damaged is\n"
           "rebuilt from the block files (each describes itself); blocks left by an interrupted\n"
           "compaction that share spans are merged, duplicates dropped; every WAL segment is\n"
           "replayed and spans already in blocks are dropped; damaged WAL records are skipped; a\n"
           "WAL segment missing from the middle of the sequence is reported and passed over.\n"
           "Damaged files (blocks, the old MANIFEST) are moved to DIR/lost/, never deleted.\n"
           "Then compacts, closes, and runs verify. Prints what it found and did; exit 1 when the\n"
           "store cannot be opened even so, or verify still finds damage. Never creates a store.\n"
           "See docs/recovery.md.",
           {DbFlag()},
           0,
           0},
          RunRepair};
}

}  // namespace spanstore::spanctl
