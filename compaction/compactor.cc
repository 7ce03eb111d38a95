#include "compaction/compactor.h"

#include <algorithm>
#include <queue>

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

// Reads the rows of one block in order, a row group at a time.
class BlockCursor {
 public:
  explicit BlockCursor(const BlockReader* block) : block_(block) {}
  absl::Status Next() {
    ++row_;
    while (data_ == nullptr || row_ >= data_->rows()) {
      if (next_group_ >= block_->groups().size()) {
        valid_ = false;
        return absl::OkStatus();
      }
      data_ = std::make_unique<GroupData>(*block_, next_group_++);
      absl::Status s = data_->LoadAll();
      if (!s.ok()) return s;
      row_ = 0;
    }
    valid_ = true;
    context_ = block_->tables().contexts[data_->context_id(row_)];
    return data_->Materialize(row_, &span_);
  }
  bool valid() const { return valid_; }
  const Span& span() const { return span_; }
  // The row's encoded context: a view into the block's meta page.
  std::string_view context() const { return context_; }

 private:
  const BlockReader* block_;
  std::unique_ptr<GroupData> data_;
  size_t next_group_ = 0;
  uint32_t row_ = 0;
  bool valid_ = false;
  Span span_;
  std::string_view context_;
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
  for (size_t i = 0; i < refs.size();) {
    size_t j = i;
    while (j < refs.size() && refs[j].trace_id == refs[i].trace_id) ++j;
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
    i = j;
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
  std::vector<std::unique_ptr<BlockCursor>> cursors;
  auto greater = [&](size_t a, size_t b) {
    return BlockRowLess(cursors[b]->span(), cursors[a]->span());
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(greater)> heap(greater);
  for (const BlockReader* block : inputs) {
    cursors.push_back(std::make_unique<BlockCursor>(block));
    absl::Status s = cursors.back()->Next();
    if (!s.ok()) return s;
    if (cursors.back()->valid()) heap.push(cursors.size() - 1);
  }
  OutputBlock output(env, options, new_file);
  bool have_last = false;
  Span last;
  while (!heap.empty()) {
    const size_t c = heap.top();
    heap.pop();
    const Span& span = cursors[c]->span();
    ++counters->input_spans;
    if (have_last && last == span) {
      // Live blocks never share a span; this only happens if that invariant was broken.
      ++counters->duplicates_dropped;
    } else {
      if (output.rows() >= max_rows && have_last && last.trace_id != span.trace_id) {
        absl::Status s = output.Finish(out);
        if (!s.ok()) return s;
      }
      absl::Status s = output.Add(span, cursors[c]->context());
      if (!s.ok()) return s;
      ++counters->output_spans;
      last = span;
      have_last = true;
    }
    absl::Status s = cursors[c]->Next();
    if (!s.ok()) return s;
    if (cursors[c]->valid()) heap.push(c);
  }
  return output.Finish(out);
}

}  // namespace spanstore
