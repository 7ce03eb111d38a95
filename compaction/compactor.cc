#include "compaction/compactor.h"

#include <algorithm>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "format/group_data.h"
#include "format/span_codec.h"
#include "format/value_codec.h"

namespace spanstore {
namespace {

// Writes spans to a block opened on first use.
class OutputBlock {
 public:
  OutputBlock(Env* env, const BlockBuildOptions& options, const NewBlockFile& new_file)
      : env_(env), options_(options), new_file_(new_file) {}
  ~OutputBlock() {
    if (builder_ != nullptr) builder_->Abandon();
  }

  absl::Status Add(const Span& span, std::string_view encoded_context = {}) {
    if (builder_ == nullptr) {
      block_ = new_file_();
      builder_ = std::make_unique<BlockBuilder>(env_, block_.path, options_);
      absl::Status s = builder_->Open();
      if (!s.ok()) return s;
    }
    return builder_->Add(span, encoded_context);
  }
  uint64_t rows() const { return builder_ != nullptr ? builder_->rows() : 0; }

  // Finishes the current file (if any) into *out.
  absl::Status Finish(std::vector<NewBlock>* out) {
    if (builder_ == nullptr) return absl::OkStatus();
    absl::Status s = builder_->Finish(&block_.properties);
    if (!s.ok()) return s;  // the destructor abandons the file
    builder_.reset();
    out->push_back(block_);
    return absl::OkStatus();
  }

 private:
  Env* const env_;
  const BlockBuildOptions options_;
  const NewBlockFile& new_file_;
  std::unique_ptr<BlockBuilder> builder_;
  NewBlock block_;
};

struct Ref {
  TraceId trace_id;
  uint64_t start;
  SpanId span_id;
  EncodedSpan encoded;
};

bool RefLess(const Ref& a, const Ref& b) {
  if (a.trace_id != b.trace_id) return a.trace_id < b.trace_id;
  if (a.start != b.start) return a.start < b.start;
  return a.span_id < b.span_id;
}

// Reads the traces of one block in row order, each whole (a trace's rows are contiguous), a
// row group at a time.
class TraceCursor {
 public:
  explicit TraceCursor(const BlockReader* block) : block_(block) {}

  // Reads the next trace into spans() and contexts(); valid() turns false past the last one.
  absl::Status Next() {
    used_ = 0;
    contexts_.clear();
    if (index_ == nullptr) {
      // Not kept: the merge reads this block once, and is about to replace it.
      auto index = block_->LoadTraceIndex(/*keep=*/false);
      if (!index.ok()) return index.status();
      index_ = std::move(*index);
    }
    const std::vector<TraceIndex::Entry>& entries = index_->entries();
    if (entry_ >= entries.size()) {
      valid_ = false;
      return absl::OkStatus();
    }
    // Open checked that the entries cover the rows in order, so groups only move forward.
    const RowRange range = entries[entry_].rows;
    for (uint64_t row = range.first_row; row < uint64_t{range.first_row} + range.count; ++row) {
      while (data_ == nullptr || row >= group_first_row_ + data_->rows()) {
        if (next_group_ >= block_->groups().size()) {
          return absl::DataLossError(block_->path() + ": trace index points past the last row");
        }
        group_first_row_ = block_->groups()[next_group_].first_row;
        data_ = std::make_unique<GroupData>(*block_, next_group_++);
        absl::Status s = data_->LoadAll();
        if (!s.ok()) return s;
      }
      const uint32_t r = static_cast<uint32_t>(row - group_first_row_);
      data_->SetTraceEntry(entry_);
      if (used_ == spans_.size()) spans_.emplace_back();
      absl::Status s = data_->Materialize(r, &spans_[used_++]);
      if (!s.ok()) return s;
      contexts_.push_back(block_->tables().contexts[data_->context_id(r)]);
    }
    ++entry_;
    valid_ = true;
    return absl::OkStatus();
  }
  bool valid() const { return valid_; }
  const BlockReader& block() const { return *block_; }
  // The current trace: its spans in row order (start, span id) and each one's encoded context
  // (a view into the block's meta page).
  absl::Span<const Span> spans() const { return absl::MakeConstSpan(spans_.data(), used_); }
  absl::Span<const std::string_view> contexts() const { return contexts_; }
  const TraceId& trace_id() const { return spans_[0].trace_id; }
  uint64_t first_start() const { return spans_[0].start_time_unix_nano; }

 private:
  const BlockReader* block_;
  TraceIndexCache::Ref index_;  // the block's, read by the first Next
  size_t entry_ = 0;  // the next trace's trace index entry
  std::unique_ptr<GroupData> data_;
  uint64_t group_first_row_ = 0;
  size_t next_group_ = 0;
  bool valid_ = false;
  std::vector<Span> spans_;  // reused from trace to trace; the first used_ are the trace
  size_t used_ = 0;
  std::vector<std::string_view> contexts_;
};

}  // namespace

bool KeepTrace(const SamplingPolicy& policy, const TraceId& trace_id,
               absl::Span<const Span> spans) {
  if (!policy.enabled) return true;
  if (policy.keep) {
    Trace trace;
    trace.trace_id = trace_id;
    trace.spans.assign(spans.begin(), spans.end());
    trace.total_spans = spans.size();
    return policy.keep(trace);
  }
  for (const Span& s : spans) {
    if (policy.keep_errors && s.status_code == StatusCode::kError) return true;
    if (policy.keep_slower_than > absl::ZeroDuration() &&
        absl::Nanoseconds(s.duration_nanos()) >= policy.keep_slower_than) {
      return true;
    }
  }
  // The same trace id always gets the same answer, whichever compaction sees its spans.
  const double bucket = static_cast<double>(trace_id.Low64() % 1000000) / 10000.0;
  return bucket < policy.keep_percent;
}

absl::Status CompactSpans(Env* env, const BlockBuildOptions& options,
                          const SamplingPolicy& sampling, absl::Span<const EncodedSpan> spans,
                          absl::Span<const BlockReader* const> existing,
                          const NewBlockFile& new_file, NewBlock* out,
                          CompactionCounters* counters) {
  std::vector<Ref> refs;
  refs.reserve(spans.size());
  for (const EncodedSpan& e : spans) {
    auto header = PeekSpanHeader(e.span);
    if (!header.ok()) return header.status();
    refs.push_back(Ref{header->trace_id, header->start_time_unix_nano, header->span_id, e});
  }
  counters->input_spans += refs.size();
  std::sort(refs.begin(), refs.end(), RefLess);
  // Then the traces by their first start (format/block_format.h): the block's row groups then
  // cover consecutive stretches of time.
  struct TraceRefs {
    size_t begin, end;
  };
  std::vector<TraceRefs> traces;
  for (size_t i = 0; i < refs.size();) {
    size_t j = i + 1;
    while (j < refs.size() && refs[j].trace_id == refs[i].trace_id) ++j;
    traces.push_back({i, j});
    i = j;
  }
  std::sort(traces.begin(), traces.end(), [&](const TraceRefs& a, const TraceRefs& b) {
    return TraceOrderLess(refs[a.begin].start, refs[a.begin].trace_id, refs[b.begin].start,
                          refs[b.begin].trace_id);
  });

  OutputBlock output(env, options, new_file);
  // The spans of the trace in hand, decoded into objects reused from trace to trace (their
  // buffers stay allocated), and each one's encoded context. A context given separately (a
  // memtable holds each distinct one once) is not decoded: the block stores it as is, and
  // duplicates are recognised by comparing its bytes.
  std::vector<Span> pool;
  std::vector<std::string_view> contexts;
  size_t used = 0;
  Span with_context;
  std::vector<const BlockReader*> holders;
  for (const auto [i, j] : traces) {
    // A live block can hold a copy of one of these spans only if its time range covers the
    // span's start (a copy has the same start): blocks are cut from the WAL in arrival order,
    // so this leaves the few blocks of the same time, and the trace index decides the rest.
    // Checking every block instead would make each compaction cost grow with the store.
    holders.clear();
    const uint64_t first_start = refs[i].start, last_start = refs[j - 1].start;
    for (const BlockReader* block : existing) {
      if (block->zone().max_start() < first_start || block->zone().min_start() > last_start) {
        continue;
      }
      if (block->MayContainTrace(refs[i].trace_id)) holders.push_back(block);
    }
    used = 0;
    contexts.clear();
    for (size_t k = i; k < j; ++k) {
      if (used == pool.size()) pool.emplace_back();
      Span& span = pool[used];
      const std::string_view context = refs[k].encoded.context;
      absl::Status s = DecodeSpanWithoutContext(refs[k].encoded, &span);
      if (!s.ok()) return s;
      // Exact copies sort next to each other (same trace, start and span id): compare with
      // the earlier spans of the same key.
      bool duplicate = false;
      for (size_t m = used; m-- > 0;) {
        if (pool[m].start_time_unix_nano != span.start_time_unix_nano ||
            pool[m].span_id != span.span_id) {
          break;
        }
        if (pool[m] == span && contexts[m] == context) {
          duplicate = true;
          break;
        }
      }
      if (!duplicate && !holders.empty()) {
        with_context = span;
        if (context.data() != nullptr && !DecodeSpanContext(context, &with_context)) {
          return absl::DataLossError(absl::StrFormat("span %s/%s: malformed context",
                                                     span.trace_id.ToHex(), span.span_id.ToHex()));
        }
        for (const BlockReader* b : holders) {
          if (duplicate) break;
          duplicate = b->Contains(with_context);
        }
      }
      if (duplicate) {
        ++counters->duplicates_dropped;
        continue;
      }
      contexts.push_back(context);
      ++used;
    }
    const absl::Span<Span> trace(pool.data(), used);
    if (used > 0 && sampling.enabled && sampling.keep) {
      // A custom rule sees whole spans.
      for (size_t k = 0; k < used; ++k) {
        if (contexts[k].data() != nullptr && !DecodeSpanContext(contexts[k], &trace[k])) {
          return absl::DataLossError("malformed span context");
        }
      }
    }
    if (used > 0 && !KeepTrace(sampling, trace.front().trace_id, trace)) {
      ++counters->sampled_out_traces;
      counters->sampled_out_spans += used;
      used = 0;
    }
    for (size_t k = 0; k < used; ++k) {
      absl::Status s = output.Add(trace[k], contexts[k]);
      if (!s.ok()) return s;
      ++counters->output_spans;
    }
  }
  std::vector<NewBlock> written;
  absl::Status s = output.Finish(&written);
  if (!s.ok()) return s;
  *out = written.empty() ? NewBlock() : written.front();
  return absl::OkStatus();
}

absl::Status MergeBlocks(Env* env, const BlockBuildOptions& options,
                         absl::Span<const BlockReader* const> inputs, uint64_t max_rows,
                         const NewBlockFile& new_file, std::vector<NewBlock>* out,
                         CompactionCounters* counters) {
  // A k-way merge of the inputs' traces by (first start, trace id), the order each input was
  // written in (an older block, in trace-id order, merges as correctly, only less clustered).
  // A trace split between inputs (its spans arrived around a block's cut) is written whole
  // where it is met first -- at its earliest first start -- with its spans from the other
  // inputs read through their trace indexes; those inputs skip it when their cursors reach it.
  // No input has passed it by then: it would have been met, and written, earlier.
  std::vector<std::unique_ptr<TraceCursor>> cursors;
  auto greater = [&](size_t a, size_t b) {
    const TraceCursor& x = *cursors[a];
    const TraceCursor& y = *cursors[b];
    if (x.first_start() != y.first_start() || x.trace_id() != y.trace_id()) {
      return TraceOrderLess(y.first_start(), y.trace_id(), x.first_start(), x.trace_id());
    }
    return a > b;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(greater)> heap(greater);
  for (const BlockReader* block : inputs) {
    cursors.push_back(std::make_unique<TraceCursor>(block));
    absl::Status s = cursors.back()->Next();
    if (!s.ok()) return s;
    if (cursors.back()->valid()) heap.push(cursors.size() - 1);
  }
  OutputBlock output(env, options, new_file);
  // Traces written ahead of some input's cursor, with how many inputs are yet to skip them.
  absl::flat_hash_map<TraceId, uint32_t> written_ahead;
  // A split trace's spans from every input that holds it, and their order.
  std::vector<Span> gathered;
  std::vector<std::string_view> gathered_contexts;
  std::vector<size_t> order;
  auto write = [&](const Span& span, std::string_view context, const Span* previous) {
    ++counters->input_spans;
    if (previous != nullptr && *previous == span) {
      // Live blocks never share a span; this only happens if that invariant was broken.
      ++counters->duplicates_dropped;
      return absl::OkStatus();
    }
    ++counters->output_spans;
    return output.Add(span, context);
  };
  while (!heap.empty()) {
    const size_t c = heap.top();
    heap.pop();
    TraceCursor& cursor = *cursors[c];
    const TraceId id = cursor.trace_id();
    if (auto ahead = written_ahead.find(id); ahead != written_ahead.end()) {
      if (--ahead->second == 0) written_ahead.erase(ahead);
    } else {
      if (output.rows() >= max_rows) {
        absl::Status s = output.Finish(out);
        if (!s.ok()) return s;
      }
      gathered.clear();
      gathered_contexts.clear();
      for (size_t d = 0; d < cursors.size(); ++d) {
        if (d == c || !cursors[d]->valid()) continue;
        const size_t before = gathered.size();
        absl::Status s = cursors[d]->block().ReadTrace(id, &gathered);
        if (!s.ok()) return s;
        if (gathered.size() == before) continue;
        // The builder encodes these spans' contexts itself.
        gathered_contexts.resize(gathered.size());
        ++written_ahead[id];
      }
      absl::Span<const Span> spans = cursor.spans();
      absl::Span<const std::string_view> contexts = cursor.contexts();
      if (gathered.empty()) {
        for (size_t k = 0; k < spans.size(); ++k) {
          absl::Status s = write(spans[k], contexts[k], k > 0 ? &spans[k - 1] : nullptr);
          if (!s.ok()) return s;
        }
      } else {
        gathered.insert(gathered.end(), spans.begin(), spans.end());
        gathered_contexts.insert(gathered_contexts.end(), contexts.begin(), contexts.end());
        order.resize(gathered.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
          return BlockRowLess(gathered[a], gathered[b]);
        });
        for (size_t k = 0; k < order.size(); ++k) {
          absl::Status s = write(gathered[order[k]], gathered_contexts[order[k]],
                                 k > 0 ? &gathered[order[k - 1]] : nullptr);
          if (!s.ok()) return s;
        }
      }
    }
    absl::Status s = cursor.Next();
    if (!s.ok()) return s;
    if (cursor.valid()) heap.push(c);
  }
  return output.Finish(out);
}

}  // namespace spanstore
