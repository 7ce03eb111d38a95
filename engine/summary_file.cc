// Block summary files: building one from a block's rows, and their byte form.

#include "engine/summary_file.h"

#include <xxhash.h>

#include <atomic>
#include <iterator>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "engine/block_scan.h"
#include "format/filenames.h"
#include "query/span_table.h"
#include "util/coding.h"

namespace spanstore {
namespace {

constexpr uint32_t kSummaryMagic = 0x4d555353;  // "SSUM"
// A summary is built a table at a time so memory stays bounded on a 2M-row merged block; a
// table ends only between traces (rows come in trace order), so no pair is cut.
constexpr size_t kRowsPerTable = 65536;
// The spans a time section's bucket should hold at the block's rate: its cells (sketches of
// ~100 (service, operation, kind) rows, edges and services) approach ~20 KB at some tens of
// thousands of spans, ~1 byte a span beside the block's ~24, while an edge scans about one
// bucket of spans (~10 ms).
constexpr uint64_t kSpansPerSection = 20'000;
std::atomic<uint64_t> spans_per_section{kSpansPerSection};  // TEST_SetSpansPerSection

// The narrowest of kSectionBucketMinutes whose buckets hold kSpansPerSection spans at the
// block's average rate, else the widest.
uint64_t SectionNanos(const BlockReader& block) {
  const uint64_t range = block.zone().max_start() - block.zone().min_start() + 1;
  const double wanted = static_cast<double>(spans_per_section.load(std::memory_order_relaxed));
  for (uint64_t minutes : kSectionBucketMinutes) {
    const uint64_t width = minutes * kSectionBucketNanos;
    if (static_cast<double>(block.rows()) * static_cast<double>(width) /
            static_cast<double>(range) >=
        wanted) {
      return width;
    }
  }
  return std::end(kSectionBucketMinutes)[-1] * kSectionBucketNanos;
}

}  // namespace

void TEST_SetSpansPerSection(uint64_t spans) {
  spans_per_section.store(spans == 0 ? kSpansPerSection : spans, std::memory_order_relaxed);
}

absl::StatusOr<AnalysisSummary> ReopenTraces(const BlockReader& block,
                                             const AnalysisSummary& summary,
                                             absl::Span<const TraceId> traces) {
  if (!summary.sectioned) {
    return absl::FailedPreconditionError("an unsectioned summary is rebuilt whole");
  }
  AnalysisSummary out = summary;
  absl::flat_hash_set<TraceId> reopened;
  std::set<size_t> sections;  // the sections to fold again
  SpanTable rows;             // the reopened traces' rows
  std::vector<Span> spans;
  // Each trace is a lookup (a row group read): past this many, reading the block once is
  // cheaper.
  constexpr size_t kMaxTraces = 4096;
  for (const TraceId& trace : traces) {
    if (summary.IsOpen(trace) || reopened.contains(trace)) continue;
    if (reopened.size() == kMaxTraces) {
      return absl::FailedPreconditionError("too many traces to reopen one by one");
    }
    spans.clear();
    if (absl::Status s = block.ReadTrace(trace, &spans); !s.ok()) return s;
    if (spans.empty()) continue;  // the block does not hold it
    const ptrdiff_t k = summary.SectionOf(trace, spans.front().start_time_unix_nano);
    if (k < 0) return absl::DataLossError("a closed trace in no section of the summary");
    sections.insert(static_cast<size_t>(k));
    reopened.insert(trace);
    for (const Span& span : spans) rows.Add(span);
  }
  if (reopened.empty()) return out;
  std::vector<std::pair<size_t, AnalysisSummary>> replacements;
  for (size_t k : sections) {
    const SummarySection& sec = summary.sections[k];
    const std::pair<uint64_t, uint64_t> range{sec.min_start, sec.max_start};
    static constexpr std::string_view kKeys[] = {kSpanTablePeerKeys[0], kSpanTablePeerKeys[1]};
    SpanTable table;
    absl::Status s = ScanBlockForAnalysis(
        block, absl::MakeConstSpan(&range, 1), kKeys, SpanQuery{},
        [&](const TraceId& trace, uint64_t start) {
          return !summary.IsOpen(trace) && !reopened.contains(trace) &&
                 summary.SectionOf(trace, start) == static_cast<ptrdiff_t>(k);
        },
        [&](const Span& span) { return table.Add(span); });
    if (!s.ok()) return s;
    table.Finish();
    AnalysisSummary& cells = replacements.emplace_back(k, AnalysisSummary()).second;
    cells.AddTable(table);
  }
  if (absl::Status r = out.ReplaceSections(replacements); !r.ok()) return r;
  rows.Finish();
  auto all_open = [](absl::Span<const SpanRow>) { return true; };
  AnalysisSummary::IsOpenFn open = all_open;
  out.AddTable(rows, &open);
  return out;
}

SummaryIdentity IdentityOf(const BlockReader& block) {
  return SummaryIdentity{block.number(),           block.rows(),
                         block.traces(),           block.zone().min_start(),
                         block.zone().max_start(), block.file_bytes()};
}

absl::StatusOr<AnalysisSummary> BuildBlockSummary(const BlockReader& block,
                                                  absl::FunctionRef<bool(const TraceId&)> shared) {
  auto open_fn = [&](absl::Span<const SpanRow> rows) {
    SpanLookup lookup(rows);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!rows[i].is_root() && lookup.parents()[i] < 0) return true;
    }
    return shared(rows.front().trace);
  };
  absl::FunctionRef<bool(absl::Span<const SpanRow>)> is_open = open_fn;
  AnalysisSummary summary;
  AnalysisSummary::SectionBuild sections;
  if (block.rows() > 0 && block.zone().max_start() >= block.zone().min_start()) {
    sections.bucket_nanos = SectionNanos(block);
  }
  auto table = std::make_unique<SpanTable>();
  TraceId last{};
  bool first = true;
  absl::Status s = ScanBlock(block, SpanQuery{}, [&](const Span& span) {
    if (!first && span.trace_id != last && table->size() >= kRowsPerTable) {
      table->Finish();
      summary.AddTable(*table, &is_open, &sections);
      table = std::make_unique<SpanTable>();
    }
    first = false;
    last = span.trace_id;
    table->Add(span);
    return true;
  });
  if (!s.ok()) return s;
  table->Finish();
  summary.AddTable(*table, &is_open, &sections);
  summary.FinishSections(std::move(sections));
  return summary;
}

std::string EncodeSummaryFile(const SummaryIdentity& id, const AnalysisSummary& summary,
                              uint32_t version) {
  std::string out;
  PutFixed32(&out, kSummaryMagic);
  PutFixed32(&out, version);
  for (uint64_t v : {id.number, id.rows, id.traces, id.min_start, id.max_start, id.file_bytes}) {
    PutVarint64(&out, v);
  }
  std::string payload;
  if (version == 1) {
    AnalysisSummary old = summary;
    old.sectioned = false;
    old.EncodeTo(&payload);
    payload.pop_back();  // the "not sectioned" byte: version 1 has no sections part
  } else {
    summary.EncodeTo(&payload);
  }
  PutLengthPrefixed(&out, payload);
  PutFixed64(&out, XXH3_64bits(out.data(), out.size()));
  return out;
}

absl::StatusOr<AnalysisSummary> DecodeSummaryFile(std::string_view data, SummaryIdentity* id) {
  if (data.size() < 16) return absl::DataLossError("summary file: truncated");
  std::string_view in = data;
  uint32_t magic, version;
  GetFixed32(&in, &magic);
  GetFixed32(&in, &version);
  if (magic != kSummaryMagic) return absl::DataLossError("summary file: bad magic");
  std::string_view body = data.substr(0, data.size() - 8);
  std::string_view tail = data.substr(data.size() - 8);
  uint64_t checksum;
  GetFixed64(&tail, &checksum);
  if (checksum != XXH3_64bits(body.data(), body.size())) {
    return absl::DataLossError("summary file: checksum mismatch");
  }
  if (version > kSummaryFileVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "summary file: version %d is newer than this build's %d", version, kSummaryFileVersion));
  }
  if (version == 0) return absl::DataLossError("summary file: bad version");
  in = body.substr(8);
  std::string_view payload;
  if (!GetVarint64(&in, &id->number) || !GetVarint64(&in, &id->rows) ||
      !GetVarint64(&in, &id->traces) || !GetVarint64(&in, &id->min_start) ||
      !GetVarint64(&in, &id->max_start) || !GetVarint64(&in, &id->file_bytes) ||
      !GetLengthPrefixed(&in, &payload) || !in.empty()) {
    return absl::DataLossError("summary file: truncated header");
  }
  return AnalysisSummary::Decode(payload, /*with_sections=*/version >= 2);
}

absl::Status WriteBlockSummary(Env* env, const BlockReader& block, const AnalysisSummary& summary) {
  return env->WriteFileAtomically(SummaryPathOfBlock(block.path()),
                                  EncodeSummaryFile(IdentityOf(block), summary));
}

absl::StatusOr<AnalysisSummary> ReadBlockSummary(Env* env, const BlockReader& block) {
  const std::string path = SummaryPathOfBlock(block.path());
  if (!env->FileExists(path)) return absl::NotFoundError(path + ": no analysis summary");
  auto data = env->ReadFile(path);
  if (!data.ok()) return data.status();
  SummaryIdentity id;
  auto summary = DecodeSummaryFile(*data, &id);
  if (!summary.ok()) {
    return absl::Status(summary.status().code(),
                        absl::StrFormat("%s: %s", path, summary.status().message()));
  }
  if (!(id == IdentityOf(block))) {
    return absl::DataLossError(path + ": the summary of another block (left by a repair?)");
  }
  return summary;
}

}  // namespace spanstore
