#include "engine/memtable.h"

#include <algorithm>
#include <cstring>

#include "format/span_codec.h"
#include "util/absl_compat.h"
#include "util/coding.h"
#include "util/prefault.h"

namespace spanstore {
namespace {

constexpr size_t kChunkSize = 4 << 20;

TraceId TraceIdOf(std::string_view encoded) {
  TraceId id;
  std::memcpy(id.bytes.data(), encoded.data(), 16);
  return id;
}

bool SameSpanId(std::string_view a, std::string_view b) {
  return std::memcmp(a.data() + 16, b.data() + 16, 8) == 0;
}

// Equal spans apart from the batch-local context reference at the front of the body.
bool SameBody(std::string_view a, std::string_view b) {
  auto skip = [](std::string_view s) {
    std::string_view body = s.substr(kEncodedSpanHeaderSize);
    if (SpanContextId(s).ok()) {
      uint64_t id;
      GetVarint64(&body, &id);
    }
    return std::make_pair(s.substr(0, kEncodedSpanHeaderSize - 4), body);
  };
  return skip(a) == skip(b);
}

}  // namespace

MemTable::MemTable(uint64_t segment_number) : segment_number_(segment_number) {}

MemTable::~MemTable() {
  for (auto& block : blocks_) delete[] block.load(std::memory_order_relaxed);
  for (auto& block : context_blocks_) delete[] block.load(std::memory_order_relaxed);
}

char* MemTable::Allocate(size_t n) {
  if (n > chunk_left_) {
    const size_t size = n > kChunkSize / 4 ? n : kChunkSize;  // big spans get their own chunk
    chunks_.emplace_back(new char[size]);
    // Fresh memory, filled at once by the copies that follow: mapped in one call rather than
    // by a page fault per 4 KiB (util/prefault.h).
    PrefaultForWrite(chunks_.back().get(), size);
    if (size == n) return chunks_.back().get();
    chunk_ptr_ = chunks_.back().get();
    chunk_left_ = size;
  }
  char* p = chunk_ptr_;
  chunk_ptr_ += n;
  chunk_left_ -= n;
  return p;
}

std::string_view MemTable::CopyToArena(std::string_view bytes) {
  char* copy = Allocate(bytes.size());
  std::memcpy(copy, bytes.data(), bytes.size());
  return std::string_view(copy, bytes.size());
}

std::string_view MemTable::context(uint32_t i) const {
  const Blob* block = context_blocks_[i / kEntriesPerBlock].load(std::memory_order_acquire);
  const Blob& b = block[i % kEntriesPerBlock];
  return std::string_view(b.data, b.size);
}

EncodedSpan MemTable::entry(size_t i) const {
  const Entry* block = blocks_[i / kEntriesPerBlock].load(std::memory_order_acquire);
  const Entry& e = block[i % kEntriesPerBlock];
  return EncodedSpan{std::string_view(e.data, e.size),
                     e.context == kNoContext ? std::string_view() : context(e.context)};
}

uint32_t MemTable::InternContext(std::string_view bytes) {
  auto it = context_index_.find(bytes);
  if (it != context_index_.end()) return it->second;
  const size_t n = contexts_.load(std::memory_order_relaxed);
  Blob* block = context_blocks_[n / kEntriesPerBlock].load(std::memory_order_relaxed);
  if (block == nullptr) {
    block = new Blob[kEntriesPerBlock];
    context_blocks_[n / kEntriesPerBlock].store(block, std::memory_order_release);
  }
  const std::string_view stored = CopyToArena(bytes);
  block[n % kEntriesPerBlock] = Blob{stored.data(), static_cast<uint32_t>(stored.size())};
  context_index_.emplace(stored, static_cast<uint32_t>(n));
  bytes_.fetch_add(stored.size(), std::memory_order_relaxed);
  // Published before any entry that refers to it (count_ is stored with release after).
  contexts_.store(n + 1, std::memory_order_release);
  return static_cast<uint32_t>(n);
}

size_t MemTable::Add(const SpanBatchView& batch) {
  size_t n = count_.load(std::memory_order_relaxed);
  size_t added = 0;
  uint64_t added_bytes = 0;
  port::MutexLock lock(&mu_);
  // Batch-local context index -> memtable context index, interned on first use.
  std::vector<uint32_t>& contexts = batch_contexts_;
  contexts.assign(batch.contexts.size(), kNoContext);
  for (size_t k = 0; k < batch.spans.size(); ++k) {
    if (n >= kMaxEntries) break;  // callers rotate before this; never overflow the index
    const std::string_view span = batch.spans[k];
    uint32_t context = kNoContext;
    if (const uint32_t local = batch.span_contexts[k]; local != kNoContext) {
      if (contexts[local] == kNoContext) contexts[local] = InternContext(batch.contexts[local]);
      context = contexts[local];
    }
    // The in-body context reference is batch-local; compare spans by bytes after it plus the
    // interned context.
    const auto [chain, new_trace] =
        traces_.try_emplace(TraceIdOf(span), TraceChain{kNoEntry, kNoEntry});
    bool duplicate = false;
    for (uint32_t i = chain->second.first; i != kNoEntry; i = next_[i]) {
      const Entry& other = blocks_[i / kEntriesPerBlock].load(std::memory_order_relaxed)[i % kEntriesPerBlock];
      if (other.context == context && SameSpanId(std::string_view(other.data, other.size), span) &&
          SameBody(std::string_view(other.data, other.size), span)) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) continue;

    Entry* block = blocks_[n / kEntriesPerBlock].load(std::memory_order_relaxed);
    if (block == nullptr) {
      block = new Entry[kEntriesPerBlock];
      blocks_[n / kEntriesPerBlock].store(block, std::memory_order_release);
    }
    const std::string_view copy = CopyToArena(span);
    block[n % kEntriesPerBlock] = Entry{copy.data(), static_cast<uint32_t>(copy.size()), context};
    next_.push_back(kNoEntry);  // next_.size() == n: entries are numbered in order
    if (new_trace) {
      chain->second.first = static_cast<uint32_t>(n);
    } else {
      next_[chain->second.last] = static_cast<uint32_t>(n);
    }
    chain->second.last = static_cast<uint32_t>(n);

    std::string_view service, name;
    if (PeekServiceAndName(span, &service, &name).ok()) {
      auto it = operations_.find(AsAbsl(service));
      if (it == operations_.end()) {
        it = operations_.emplace(std::string(service), absl::btree_set<std::string>()).first;
      }
      if (it->second.find(AsAbsl(name)) == it->second.end()) it->second.emplace(name);
    }
    ++n;
    ++added;
    added_bytes += span.size();
  }
  bytes_.fetch_add(added_bytes, std::memory_order_relaxed);
  // Publish: entries before n are complete.
  count_.store(n, std::memory_order_release);
  return added;
}

void MemTable::GetTrace(const TraceId& trace_id, size_t limit,
                        std::vector<EncodedSpan>* out) const {
  port::MutexLock lock(&mu_);
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return;
  // Entries are numbered in insertion order, so the chain's first `limit` are a prefix.
  for (uint32_t i = it->second.first; i != kNoEntry && i < limit; i = next_[i]) {
    out->push_back(entry(i));
  }
}

void MemTable::CollectServices(absl::btree_set<std::string>* out) const {
  port::MutexLock lock(&mu_);
  for (const auto& [service, names] : operations_) out->insert(service);
}

void MemTable::CollectOperations(const std::string& service,
                                 absl::btree_set<std::string>* out) const {
  port::MutexLock lock(&mu_);
  auto it = operations_.find(service);
  if (it == operations_.end()) return;
  out->insert(it->second.begin(), it->second.end());
}

uint64_t MemTable::distinct_traces() const {
  port::MutexLock lock(&mu_);
  return traces_.size();
}

namespace {

// Cheap checks on the fixed header and the service/name fields before decoding a span.
bool MayMatch(const SpanQuery& q, std::string_view encoded) {
  auto h = PeekSpanHeader(encoded);
  if (!h.ok()) return true;  // let DecodeSpan report it
  if (h->start_time_unix_nano < q.start_min || h->start_time_unix_nano > q.start_max) {
    return false;
  }
  const uint64_t d = h->end_time_unix_nano > h->start_time_unix_nano
                         ? h->end_time_unix_nano - h->start_time_unix_nano
                         : 0;
  if (d < q.min_duration_nanos || d > q.max_duration_nanos) return false;
  if (q.status.has_value() && h->status_code != *q.status) return false;
  if (!q.kinds.empty() && std::find(q.kinds.begin(), q.kinds.end(), h->kind) == q.kinds.end()) {
    return false;
  }
  if (!q.services.empty() || !q.names.empty()) {
    std::string_view service, name;
    if (!PeekServiceAndName(encoded, &service, &name).ok()) return true;
    if (!q.services.empty() &&
        std::find(q.services.begin(), q.services.end(), service) == q.services.end()) {
      return false;
    }
    if (!q.names.empty() && std::find(q.names.begin(), q.names.end(), name) == q.names.end()) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status MemTableSource::GetTrace(const TraceId& trace_id, std::vector<Span>* out) const {
  std::vector<EncodedSpan> encoded;
  mem_->GetTrace(trace_id, count_, &encoded);
  for (const EncodedSpan& e : encoded) {
    absl::Status s = DecodeSpan(e, &out->emplace_back());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MemTableSource::Scan(const SpanQuery& query,
                                  absl::FunctionRef<bool(const Span&)> visitor) const {
  Span span;
  for (size_t i = 0; i < count_; ++i) {
    // A span may cost every term of the query (thousands of regexes: milliseconds), so the
    // check comes often; at tens of nanoseconds it is noise beside decoding a span.
    if (i % 16 == 0) {
      if (absl::Status s = CheckQueryInterrupted(query); !s.ok()) return s;
    }
    const EncodedSpan encoded = mem_->entry(i);
    if (!MayMatch(query, encoded.span)) continue;
    absl::Status s = DecodeSpan(encoded, &span);
    if (!s.ok()) return s;
    if (SpanMatches(query, span) && !visitor(span)) break;
  }
  return absl::OkStatus();
}

bool MemTableSource::Contains(const Span& span) const {
  std::vector<EncodedSpan> encoded;
  mem_->GetTrace(span.trace_id, count_, &encoded);
  Span candidate;
  for (const EncodedSpan& e : encoded) {
    // Only a span with the same id can be equal; decode just those.
    if (std::memcmp(e.span.data() + 16, span.span_id.bytes.data(), 8) != 0) continue;
    if (DecodeSpan(e, &candidate).ok() && candidate == span) return true;
  }
  return false;
}

void MemTableSource::CollectServices(absl::btree_set<std::string>* out) const {
  mem_->CollectServices(out);
}

void MemTableSource::CollectOperations(const std::string& service,
                                       absl::btree_set<std::string>* out) const {
  mem_->CollectOperations(service, out);
}

}  // namespace spanstore
