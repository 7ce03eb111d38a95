// VerifyStore (include/spanstore/verify.h): every file of a store checked through the format
// layer's readers, without opening the store.

#include "spanstore/verify.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/summary_file.h"
#include "format/block_reader.h"
#include "format/filenames.h"
#include "format/group_data.h"
#include "format/group_page.h"
#include "format/manifest.h"
#include "format/span_codec.h"
#include "format/wal_reader.h"
#include "spanstore/env.h"

namespace spanstore {
namespace {

// Damaged pages listed per block before the rest are only counted.
constexpr int kMaxPagesListed = 10;

// The message of a lower layer without its leading "<path>: " (or "block <path>: ",
// "manifest <path>: "): the line printed already names the file.
std::string WithoutPath(absl::string_view message, const std::string& path) {
  for (absl::string_view prefix : {"block ", "manifest ", ""}) {
    const std::string lead = absl::StrCat(prefix, path, ": ");
    if (absl::StartsWith(message, lead)) return std::string(message.substr(lead.size()));
  }
  return std::string(message);
}

// Collects the findings into the report (and hands each to the caller's callback).
class Findings {
 public:
  Findings(VerifyReport* report, const std::function<void(const VerifyFinding&)>& on_finding)
      : report_(report), on_finding_(on_finding) {}

  void Ok(const std::string& file, const std::string& what) {
    Add(VerifyFinding::Severity::kOk, file, what);
  }
  void Damaged(const std::string& file, const std::string& what) {
    Add(VerifyFinding::Severity::kDamaged, file, what);
    ++report_->problems;
  }
  void Warning(const std::string& file, const std::string& what) {
    Add(VerifyFinding::Severity::kWarning, file, what);
    ++report_->warnings;
  }

  uint64_t problems() const { return report_->problems; }

 private:
  void Add(VerifyFinding::Severity severity, const std::string& file, const std::string& what) {
    report_->findings.push_back({severity, file, what});
    if (on_finding_) on_finding_(report_->findings.back());
  }

  VerifyReport* report_;
  const std::function<void(const VerifyFinding&)>& on_finding_;
};

std::string BlockName(uint64_t number) { return absl::StrFormat("blocks/%06d.blk", number); }
std::string SegmentName(uint64_t number) { return absl::StrFormat("wal/%06d.log", number); }

// Where a column that failed to decode (after its group page's checksum matched) sits in the
// file. Loads the columns of each group in dependency order, so the first failure is the column
// itself.
std::string LocateBadColumn(const BlockReader& block) {
  static constexpr int kOrder[] = {kColParent,     kColOp,     kColContext,  kColStatus,
                                   kColStartClass, kColSpanId, kColParentId, kColAttrStrings,
                                   kColAttrValues, kColMisc,   kColEvents,   kColLinks};
  for (size_t g = 0; g < block.groups().size(); ++g) {
    GroupData data(block, g);
    for (int c : kOrder) {
      if (data.Load(c).ok()) continue;
      const BlockReader::Group& group = block.groups()[g];
      return absl::StrFormat(" (row group %d, column %s: group page at offset %d, %d bytes)", g,
                             c == kColStartClass ? "start/end" : BlockColumnName(c), group.offset,
                             group.size);
    }
  }
  return "";
}

// Checks one block file; `entry` is its manifest entry, or null when the manifest is unusable.
void CheckBlock(Env* env, const std::string& dir, uint64_t number, const ManifestBlock* entry,
                Findings* findings, VerifyReport* totals) {
  const std::string path = BlockFileName(dir, number);
  const std::string name = BlockName(number);
  ++totals->blocks;
  auto opened = BlockReader::Open(env, path, number);
  if (!opened.ok()) {
    findings->Damaged(name, WithoutPath(opened.status().message(), path));
    return;
  }
  const BlockReader& block = **opened;
  totals->block_rows += block.rows();

  // Every group page's checksum and column table on its own, so that each damaged page is
  // listed (Verify stops at the first).
  int bad_pages = 0;
  std::string bytes;
  for (size_t g = 0; g < block.groups().size(); ++g) {
    const BlockReader::Group& group = block.groups()[g];
    absl::Status s = block.ReadGroup(g, &bytes);
    GroupPage page;
    if (s.ok()) s = page.Parse(bytes, PageLocation{path, g, group.offset}, block.dictionaries());
    if (s.ok()) continue;
    if (++bad_pages <= kMaxPagesListed) {
      findings->Damaged(
          name, absl::StrFormat("%s (%d bytes)", WithoutPath(s.message(), path), group.size));
    }
  }
  if (bad_pages > kMaxPagesListed) {
    findings->Damaged(name, absl::StrFormat("%d more damaged pages", bad_pages - kMaxPagesListed));
  }
  if (bad_pages > 0) return;

  // Every column decodes and every row sits where the trace index says.
  if (absl::Status s = block.Verify(); !s.ok()) {
    std::string what = WithoutPath(s.message(), path);
    if (!absl::StrContains(what, "offset")) what += LocateBadColumn(block);
    findings->Damaged(name, what);
    return;
  }

  bool agrees = true;
  if (entry != nullptr) {
    auto disagree = [&](std::string_view field, uint64_t manifest, uint64_t file) {
      if (manifest == file) return;
      findings->Damaged(name, absl::StrFormat("the manifest says %s %d, the block has %d", field,
                                              manifest, file));
      agrees = false;
    };
    disagree("file_bytes", entry->file_bytes, block.file_bytes());
    disagree("rows", entry->rows, block.rows());
    disagree("traces", entry->traces, block.traces());
    disagree("min_start", entry->min_start, block.zone().min_start());
    disagree("max_start", entry->max_start, block.zone().max_start());
  }
  if (agrees) {
    findings->Ok(name, absl::StrFormat("%d rows, %d traces, %d row groups, %s%s", block.rows(),
                                       block.traces(), block.groups().size(),
                                       absl::StrFormat("%d bytes", block.file_bytes()),
                                       entry ? absl::StrFormat(", level %d", entry->level) : ""));
  }
  // The analysis summary beside a live block is derived data: without it nothing is lost, the
  // graph and RED scan the block instead, so its absence or damage is a warning.
  if (entry == nullptr) return;
  auto summary = ReadBlockSummary(env, block);
  if (summary.ok()) return;
  const std::string sum_name = absl::StrFormat("blocks/%06d.sum", number);
  const std::string sum_path = SummaryFileName(dir, number);
  findings->Warning(
      sum_name,
      absl::StrFormat("%s: `spanctl graph`/`red` scan this block instead of reading its "
                      "summary; `spanctl repair --db %s` writes it again",
                      summary.status().code() == absl::StatusCode::kNotFound
                          ? "missing (a block written before summaries existed, or the write "
                            "failed)"
                          : WithoutPath(summary.status().message(), sum_path),
                      dir));
}

// Reads the manifest. Returns nullopt (after reporting) when it is damaged, so the caller checks
// every block file it finds instead.
std::optional<Manifest> CheckManifest(Env* env, const std::string& dir, Findings* findings) {
  const std::string path = ManifestFileName(dir);
  if (env->FileExists(path + ".tmp")) {
    findings->Warning("MANIFEST.tmp",
                      "an unfinished manifest write (a crash during compaction); the next open "
                      "deletes it");
  }
  const std::string repair =
      absl::StrFormat("; `spanctl repair --db %s` rebuilds it from the block files", dir);
  if (!env->FileExists(path)) {
    size_t block_files = 0;
    if (auto names = env->GetChildren(BlockDirName(dir)); names.ok()) {
      for (const std::string& n : *names) block_files += ParseBlockFileName(n).has_value();
    }
    if (block_files > 0) {
      // Compaction writes the manifest before any block can be live, so blocks without one
      // mean it was lost: nothing says which blocks are live or which segments they hold.
      findings->Damaged("MANIFEST", absl::StrFormat("missing, but blocks/ holds %d block files "
                                                    "(the store refuses to open)%s",
                                                    block_files, repair));
      return std::nullopt;
    }
    findings->Ok("MANIFEST", "none (nothing compacted yet): every WAL segment is live");
    return Manifest();
  }
  auto data = env->ReadFile(path);
  if (!data.ok()) {
    findings->Damaged("MANIFEST", WithoutPath(data.status().message(), path));
    return std::nullopt;
  }
  auto manifest = Manifest::Decode(*data, path);
  if (!manifest.ok()) {
    findings->Damaged(
        "MANIFEST",
        absl::StrFormat("%s (a file of %d bytes, checksum in the last 8)%s",
                        WithoutPath(manifest.status().message(), path), data->size(),
                        manifest.status().code() == absl::StatusCode::kDataLoss ? repair : ""));
    return std::nullopt;
  }
  absl::flat_hash_map<uint64_t, int> seen;
  for (const ManifestBlock& b : manifest->blocks) {
    if (++seen[b.number] == 2) {
      findings->Damaged("MANIFEST", absl::StrFormat("block %d is listed twice", b.number));
    }
  }
  findings->Ok("MANIFEST", absl::StrFormat("%d blocks, first live segment %d, next block %d",
                                           manifest->blocks.size(), manifest->first_live_segment,
                                           manifest->next_block_number));
  return *std::move(manifest);
}

void CheckBlocks(Env* env, const std::string& dir, const std::optional<Manifest>& manifest,
                 Findings* findings, VerifyReport* totals) {
  std::vector<std::string> names;
  if (env->FileExists(BlockDirName(dir))) {
    auto children = env->GetChildren(BlockDirName(dir));
    if (!children.ok()) {
      findings->Damaged("blocks", std::string(children.status().message()));
      return;
    }
    names = std::move(*children);
  }
  std::sort(names.begin(), names.end());
  std::vector<uint64_t> present;
  for (const std::string& n : names) {
    if (auto number = ParseBlockFileName(n)) {
      present.push_back(*number);
    } else if (auto sum = ParseSummaryFileName(n)) {
      // A live block's summary is checked with the block; one without a live block is left
      // by a compaction or deletion a crash interrupted.
      const bool live = manifest.has_value() &&
                        std::any_of(manifest->blocks.begin(), manifest->blocks.end(),
                                    [&](const ManifestBlock& b) { return b.number == *sum; });
      if (!live && manifest.has_value()) {
        findings->Warning("blocks/" + n,
                          "the analysis summary of a block not in the manifest; the next open "
                          "deletes it");
      }
    } else {
      findings->Warning("blocks/" + n, absl::EndsWith(n, ".tmp")
                                           ? "an unfinished file; the next open deletes it"
                                           : "not a block file");
    }
  }
  if (!manifest.has_value()) {
    // Without a manifest nothing says which blocks are live: check them all (Open refuses the
    // store rather than delete them as unreferenced).
    for (uint64_t number : present) CheckBlock(env, dir, number, nullptr, findings, totals);
    return;
  }
  for (const ManifestBlock& b : manifest->blocks) {
    if (std::find(present.begin(), present.end(), b.number) == present.end()) {
      findings->Damaged(
          BlockName(b.number),
          absl::StrFormat("missing: the manifest names it (%d rows, %d traces)", b.rows, b.traces));
      continue;
    }
    CheckBlock(env, dir, b.number, &b, findings, totals);
  }
  for (uint64_t number : present) {
    const bool live = std::any_of(manifest->blocks.begin(), manifest->blocks.end(),
                                  [&](const ManifestBlock& b) { return b.number == number; });
    if (!live) {
      findings->Warning(BlockName(number),
                        "not in the manifest (written by a compaction that did not finish, or "
                        "replaced by one); the next open deletes it");
    }
  }
}

// Reads one segment in salvage mode so that every damaged record is listed, not just the first.
void CheckSegment(Env* env, const std::string& dir, uint64_t number, bool last, Findings* findings,
                  VerifyReport* totals) {
  const std::string path = SegmentFileName(dir, number);
  const std::string name = SegmentName(number);
  ++totals->segments;
  auto contents = env->ReadFile(path);
  if (!contents.ok()) {
    findings->Damaged(name, WithoutPath(contents.status().message(), path));
    return;
  }
  struct Reporter : WalReader::Reporter {
    Reporter(Findings* f, const std::string& n, const std::string& p) : f(f), name(n), path(p) {}
    void Corruption(uint64_t offset, uint64_t bytes, const absl::Status& reason) override {
      f->Damaged(name, absl::StrFormat("%s (%d bytes skipped)", WithoutPath(reason.message(), path),
                                       bytes));
    }
    Findings* f;
    const std::string& name;
    const std::string& path;
  } reporter(findings, name, path);
  const uint64_t problems_before = findings->problems();
  WalReader reader(*contents, path, /*salvage=*/true, &reporter);
  wal::RecordType type;
  std::string_view payload;
  SpanBatchView batch;
  Span span;
  uint64_t records = 0, spans = 0;
  while (reader.ReadRecord(&type, &payload)) {
    ++records;
    absl::Status s = type == wal::kSpanBatch ? SplitSpanBatch(payload, &batch) : absl::OkStatus();
    for (size_t k = 0; s.ok() && type == wal::kSpanBatch && k < batch.spans.size(); ++k) {
      const uint32_t c = batch.span_contexts[k];
      s = DecodeSpan({batch.spans[k], c == kNoContext ? std::string_view() : batch.contexts[c]},
                     &span);
      ++spans;
    }
    if (!s.ok()) {
      findings->Damaged(name, absl::StrFormat("offset %d: %s", reader.last_record_offset(),
                                              WithoutPath(s.message(), path)));
    }
  }
  if (!reader.status().ok()) findings->Damaged(name, WithoutPath(reader.status().message(), path));
  if (reader.torn_tail()) {
    // Only the newest segment is written to; older ones were fdatasync'd whole before the next
    // was created, so a torn end there is damage. In the newest it is what a crash leaves.
    if (last) {
      findings->Warning(name,
                        absl::StrFormat("%d records, %d spans; offset %d: %d bytes of an "
                                        "incomplete record at the end: a write torn by a "
                                        "crash, never acknowledged; opening the store "
                                        "truncates it",
                                        records, spans, reader.valid_end(), reader.torn_bytes()));
    } else {
      findings->Damaged(name, absl::StrFormat("offset %d: %d bytes of an incomplete record at "
                                              "the end of a sealed segment (sealed segments "
                                              "are synced whole)",
                                              reader.valid_end(), reader.torn_bytes()));
    }
  }
  totals->records += records;
  totals->spans += spans;
  if (findings->problems() == problems_before && !reader.torn_tail()) {
    findings->Ok(name, absl::StrFormat("%d records, %d spans", records, spans));
  }
}

void CheckWal(Env* env, const std::string& dir, const std::optional<Manifest>& manifest,
              Findings* findings, VerifyReport* totals) {
  auto names = env->GetChildren(WalDirName(dir));
  if (!names.ok()) {
    findings->Damaged("wal", WithoutPath(names.status().message(), WalDirName(dir)));
    return;
  }
  std::vector<uint64_t> segments;
  for (const std::string& n : *names) {
    if (auto number = ParseSegmentFileName(n)) {
      segments.push_back(*number);
    } else {
      findings->Warning("wal/" + n, "not a segment file");
    }
  }
  std::sort(segments.begin(), segments.end());
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t first_live = manifest.has_value() ? manifest->first_live_segment : 0;
    // Segments are deleted only from the front once compacted: a hole among the live ones is a
    // lost file (Open refuses the store, kSalvage goes on without it).
    if (i > 0 && segments[i - 1] >= first_live && segments[i] != segments[i - 1] + 1) {
      const uint64_t from = segments[i - 1] + 1, to = segments[i] - 1;
      findings->Damaged(
          from == to ? SegmentName(from)
                     : absl::StrFormat("%s..%s", SegmentName(from), SegmentName(to)),
          absl::StrFormat("missing: WAL segments %d and %d exist but not the %s "
                          "between them; the spans written there are lost unless "
                          "already compacted (`spanctl repair --db %s` opens the "
                          "store without them)",
                          segments[i - 1], segments[i], from == to ? "one" : "ones", dir));
    }
    if (manifest.has_value() && segments[i] < manifest->first_live_segment) {
      findings->Warning(SegmentName(segments[i]),
                        absl::StrFormat("below the manifest's first live segment %d: already in "
                                        "blocks; the next open deletes it",
                                        manifest->first_live_segment));
      continue;
    }
    CheckSegment(env, dir, segments[i], i + 1 == segments.size(), findings, totals);
  }
}

}  // namespace

absl::StatusOr<VerifyReport> VerifyStore(const std::string& dir, const VerifyOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  if (!env->FileExists(dir)) {
    return absl::NotFoundError(absl::StrFormat("%s does not exist", dir));
  }
  VerifyReport report;
  Findings findings(&report, options.on_finding);
  // Compaction replaces and deletes files: checking a store another process has open would
  // report files vanishing under it as damage.
  std::unique_ptr<FileLock> lock;
  if (env->FileExists(LockFileName(dir))) {
    auto locked = env->LockFile(LockFileName(dir));
    if (locked.ok()) {
      lock = std::move(*locked);
    } else if (locked.status().code() == absl::StatusCode::kFailedPrecondition) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s is open in another process; close it first (its files change while it runs)", dir));
    } else {
      findings.Warning("LOCK", absl::StrFormat("not taken (%s): the results are wrong if a "
                                               "process writes the store meanwhile",
                                               locked.status().message()));
    }
  }
  const std::optional<Manifest> manifest = CheckManifest(env, dir, &findings);
  report.manifest_readable = manifest.has_value();
  CheckBlocks(env, dir, manifest, &findings, &report);
  CheckWal(env, dir, manifest, &findings, &report);
  return report;
}

}  // namespace spanstore
