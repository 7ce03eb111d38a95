// The analysis summary kept beside each block (DIR/blocks/NNNNNN.sum): the block's
// AnalysisSummary (query/analysis_summary.h), built at compaction from the block's own rows and
// written, synced, before the manifest names the block.
//
// It is a derived artifact: the block alone holds the data. A missing, damaged, stale or newer
// summary never fails a query -- the store scans that block instead -- and `verify` reports it
// as a warning. It lives beside the block rather than inside it so that block files keep their
// format and a summary's schema can change (or be rebuilt) on its own.
//
// File layout (little-endian):
//   fixed32 magic "SSUM", fixed32 version (kSummaryFileVersion)
//   the block it describes: varints number, rows, traces, min_start, max_start, file_bytes
//     (a summary left from another block with the same number -- after a repair -- does not
//     match and is ignored)
//   varint payload length, payload (AnalysisSummary::EncodeTo; version 1 lacks its sections
//     part)
//   fixed64 XXH3_64bits of every byte before it
//
// Thread safety: stateless functions.

#ifndef SPANSTORE_ENGINE_SUMMARY_FILE_H_
#define SPANSTORE_ENGINE_SUMMARY_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "format/block_reader.h"
#include "query/analysis_summary.h"
#include "spanstore/env.h"

namespace spanstore {

// 2: time sections (AnalysisSummary::sections). A version 1 file still reads, unsectioned: its
// block is answered whole or scanned, as before, until `spanctl repair` or a compaction that
// touches it writes version 2.
inline constexpr uint32_t kSummaryFileVersion = 2;

// What a summary file says about the block it was built from.
struct SummaryIdentity {
  uint64_t number = 0, rows = 0, traces = 0, min_start = 0, max_start = 0, file_bytes = 0;
  friend bool operator==(const SummaryIdentity&, const SummaryIdentity&) = default;
};
SummaryIdentity IdentityOf(const BlockReader& block);

// Reads every row of `block` (in row order: whole traces, trace by trace) into a summary. A
// trace is kept open (AnalysisSummary::open_rows) when `shared` says another live block may
// hold it, or when a span of it has its parent outside the block. A trace still running at the
// block's end is not opened in advance: every open row costs each window over the block a
// pairing, and opening the traces of a margin at the end did so for ~10 s of spans per block
// (≈9k rows at 100M spans a day: most of a day's graph over 90 blocks). When a later block
// gets more of such a trace, compaction opens it here then (ReopenTraces).
// The summary is sectioned (AnalysisSummary::sections).
absl::StatusOr<AnalysisSummary> BuildBlockSummary(const BlockReader& block,
                                                  absl::FunctionRef<bool(const TraceId&)> shared);

// `summary` (of `block`) with `traces` open: those it has folded into a section are taken out
// (each such section is folded again from the block's rows of its other traces) and their rows
// added to the open rows; traces already open, or not in the block, are left as they are. It
// reads only the row groups of the sections it changes -- a compaction that finds a newer block
// sharing a few traces with this one (the traces running at the older one's end) rewrites its
// summary at the cost of a minute or so of its spans, not of the whole block. Errors (an
// unsectioned summary, a trace it places in no section, a read error): the caller builds the
// summary whole instead.
absl::StatusOr<AnalysisSummary> ReopenTraces(const BlockReader& block,
                                             const AnalysisSummary& summary,
                                             absl::Span<const TraceId> traces);

// Test hook: the spans a time section's bucket should hold at a block's rate (0: the
// default), so that a test's small blocks get minute buckets (1) as a big store's do.
void TEST_SetSpansPerSection(uint64_t spans);

// Writes the current version; `version` 1 (without the sections part) only for tests of the
// old format.
std::string EncodeSummaryFile(const SummaryIdentity& id, const AnalysisSummary& summary,
                              uint32_t version = kSummaryFileVersion);
// DataLoss for damage (bad magic, checksum, truncation, contents Encode could not write);
// FailedPrecondition for a newer version. Never crashes on any input.
absl::StatusOr<AnalysisSummary> DecodeSummaryFile(std::string_view data, SummaryIdentity* id);

// Writes the summary of `block` atomically (fsynced) beside it.
absl::Status WriteBlockSummary(Env* env, const BlockReader& block, const AnalysisSummary& summary);
// The summary beside `block`: NotFound when there is none; DataLoss when it is damaged or
// belongs to another block; FailedPrecondition for a newer version.
absl::StatusOr<AnalysisSummary> ReadBlockSummary(Env* env, const BlockReader& block);

}  // namespace spanstore

#endif  // SPANSTORE_ENGINE_SUMMARY_FILE_H_
