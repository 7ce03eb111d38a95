#include "engine/memtable.h"

#include <cstring>

#include "engine/absl_compat.h"
#include "engine/span_codec.h"

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

}  // namespace

MemTable::MemTable(uint64_t segment_number) : segment_number_(segment_number) {}

MemTable::~MemTable() {
  for (auto& block : blocks_) delete[] block.load(std::memory_order_relaxed);
}

char* MemTable::Allocate(size_t n) {
  if (n > chunk_left_) {
    const size_t size = n > kChunkSize / 4 ? n : kChunkSize;  // big spans get their own chunk
    chunks_.emplace_back(new char[size]);
    if (size == n) return chunks_.back().get();
    chunk_ptr_ = chunks_.back().get();
    chunk_left_ = size;
  }
  char* p = chunk_ptr_;
  chunk_ptr_ += n;
  chunk_left_ -= n;
  return p;
}

std::string_view MemTable::entry(size_t i) const {
  const Entry* block = blocks_[i / kEntriesPerBlock].load(std::memory_order_acquire);
  const Entry& e = block[i % kEntriesPerBlock];
  return std::string_view(e.data, e.size);
}

size_t MemTable::Add(absl::Span<const std::string_view> encoded_spans) {
  size_t n = count_.load(std::memory_order_relaxed);
  size_t added = 0;
  uint64_t added_bytes = 0;
  absl::MutexLock lock(&mu_);
  for (std::string_view span : encoded_spans) {
    if (n >= kMaxEntries) break;  // callers rotate before this; never overflow the index
    std::vector<uint32_t>& trace = traces_[TraceIdOf(span)];
    bool duplicate = false;
    for (uint32_t i : trace) {
      const std::string_view other = entry(i);
      if (other.size() == span.size() && SameSpanId(other, span) && other == span) {
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
    char* copy = Allocate(span.size());
    std::memcpy(copy, span.data(), span.size());
    block[n % kEntriesPerBlock] = Entry{copy, static_cast<uint32_t>(span.size())};
    trace.push_back(static_cast<uint32_t>(n));

    std::string_view service, name;
    if (PeekServiceAndName(span, &service, &name).ok()) {
      auto it = operations_.find(AsAbsl(service));
      if (it == operations_.end()) it = operations_.emplace(std::string(service), absl::btree_set<std::string>()).first;
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

bool MemTable::Contains(const TraceId& trace_id, std::string_view encoded) const {
  absl::MutexLock lock(&mu_);
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return false;
  for (uint32_t i : it->second) {
    if (entry(i) == encoded) return true;
  }
  return false;
}

void MemTable::GetTrace(const TraceId& trace_id, size_t limit,
                        std::vector<std::string_view>* out) const {
  absl::MutexLock lock(&mu_);
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return;
  for (uint32_t i : it->second) {
    if (i < limit) out->push_back(entry(i));
  }
}

void MemTable::CollectServices(absl::btree_set<std::string>* out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [service, names] : operations_) out->insert(service);
}

void MemTable::CollectOperations(const std::string& service,
                                 absl::btree_set<std::string>* out) const {
  absl::MutexLock lock(&mu_);
  auto it = operations_.find(service);
  if (it == operations_.end()) return;
  out->insert(it->second.begin(), it->second.end());
}

uint64_t MemTable::distinct_traces() const {
  absl::MutexLock lock(&mu_);
  return traces_.size();
}

}  // namespace spanstore
