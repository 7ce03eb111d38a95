#include "index/trace_index.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"
#include "util/coding.h"
#include "util/prefault.h"

namespace spanstore {
namespace {


uint64_t HashId(const TraceId& id) { return XXH3_64bits(id.bytes.data(), id.bytes.size()); }

// Smallest power of two with load factor <= 3/4 and at least one empty slot.
size_t SlotCountFor(size_t entries) {
  return std::bit_ceil(std::max<size_t>(entries + entries / 3 + 1, 2));
}

absl::Status IndexError(std::string_view file, std::string_view what) {
  return absl::DataLossError(
      absl::StrFormat("block %s: trace index: %s", std::string(file), std::string(what)));
}

}  // namespace

std::optional<size_t> TraceIndex::Find(const TraceId& id) const {
  if (slots_.empty()) return std::nullopt;
  const uint64_t hash = HashId(id);
  const uint64_t fingerprint = hash >> 32;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint64_t slot = slots_[i];
    if (slot == 0) return std::nullopt;  // Build guarantees an empty slot exists
    if ((slot >> 32) == fingerprint) {
      const size_t e = (slot & 0xffffffff) - 1;
      if (entries_[e].id == id) return e;
    }
  }
}

std::optional<RowRange> TraceIndex::Lookup(const TraceId& id) const {
  const std::optional<size_t> e = Find(id);
  if (!e.has_value()) return std::nullopt;
  return entries_[*e].rows;
}

uint64_t TraceIndex::Hash(const TraceId& id) { return HashId(id); }

bool TraceIndex::Filter::MayHold(uint64_t hash) const {
  if (slots == nullptr) return false;
  const uint64_t fingerprint = hash >> 32;
  for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
    const uint64_t slot = slots[i];
    if (slot == 0) return false;  // Build guarantees an empty slot exists
    if ((slot >> 32) == fingerprint) return true;
  }
}

bool TraceIndex::CoversRowsInOrder(uint64_t rows) const {
  uint64_t next = 0;
  for (const Entry& e : entries_) {
    if (e.rows.first_row != next) return false;
    next += e.rows.count;
  }
  return next == rows;
}

size_t TraceIndex::EntryOfRow(uint64_t row) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), row,
                             [](uint64_t r, const Entry& e) { return r < e.rows.first_row; });
  return static_cast<size_t>(it - entries_.begin()) - 1;
}

absl::StatusOr<TraceIndex> TraceIndex::Parse(std::string_view data, std::string_view file) {
  if (data.size() < 4 + 8) {
    return IndexError(file, absl::StrFormat("%d bytes, expected at least %d", data.size(), 12));
  }
  const uint64_t stored = DecodeFixed64(data.data() + data.size() - 8);
  const uint64_t computed = XXH3_64bits(data.data(), data.size() - 8);
  if (stored != computed) {
    return IndexError(file, absl::StrFormat("checksum mismatch (stored %016x, computed %016x)",
                                            stored, computed));
  }
  const uint32_t entry_count = DecodeFixed32(data.data());
  std::string_view in = data.substr(4, data.size() - 12);
  // Each entry takes at least 18 bytes: refuse a count the bytes cannot hold before allocating.
  if (entry_count > in.size() / 18) {
    return IndexError(file, absl::StrFormat("%d traces cannot fit in %d bytes", entry_count,
                                            in.size()));
  }
  TraceIndex index;
  index.entries_.reserve(entry_count);
  PrefaultForWrite(index.entries_.data(), entry_count * sizeof(Entry));
  int64_t previous_end = 0;
  for (uint32_t i = 0; i < entry_count; ++i) {
    TraceId id;
    uint64_t gap, count;
    if (in.size() < 16) return IndexError(file, absl::StrFormat("entry %d: short", i));
    std::memcpy(id.bytes.data(), in.data(), 16);
    in.remove_prefix(16);
    if (!GetVarint64(&in, &gap) || !GetVarint64(&in, &count) || count == 0 ||
        count > UINT32_MAX) {
      return IndexError(file, absl::StrFormat("entry %d: malformed row range", i));
    }
    // previous_end <= UINT32_MAX, so bounding the gap first keeps the sum from overflowing.
    const int64_t delta = ZigZagDecode(gap);
    if (delta < -previous_end || delta > int64_t{UINT32_MAX}) {
      return IndexError(file, absl::StrFormat("entry %d: row range out of bounds", i));
    }
    const int64_t first = previous_end + delta;
    if (first < 0 || static_cast<uint64_t>(first) + count > UINT32_MAX) {
      return IndexError(file, absl::StrFormat("entry %d: row range out of bounds", i));
    }
    index.entries_.push_back(
        {id, RowRange{static_cast<uint32_t>(first), static_cast<uint32_t>(count)}});
    previous_end = first + static_cast<int64_t>(count);
  }
  if (!in.empty()) return IndexError(file, "trailing bytes");
  index.BuildTable();
  return index;
}

absl::Status TraceIndexBuilder::Add(const TraceId& id, RowRange rows) {
  if (rows.count == 0) {
    return absl::InvalidArgumentError(absl::StrFormat("trace %s added with no rows", id.ToHex()));
  }
  entries_.emplace_back(id, rows);
  return absl::OkStatus();
}

void TraceIndex::BuildTable() {
  const size_t slots = SlotCountFor(entries_.size());
  slots_.reserve(slots);
  PrefaultForWrite(slots_.data(), slots * sizeof(uint64_t));
  slots_.assign(slots, 0);
  distinct_ = 0;
  const size_t mask = slots_.size() - 1;
  for (size_t e = 0; e < entries_.size(); ++e) {
    const TraceId& id = entries_[e].id;
    const uint64_t hash = HashId(id);
    const uint64_t fingerprint = hash >> 32;
    size_t i = hash & mask;
    // Fingerprints first: an occupied slot of another trace is passed over without reading
    // its entry (a cache miss) but for a 1 in 2^32 fingerprint collision.
    while (slots_[i] != 0 &&
           ((slots_[i] >> 32) != fingerprint || entries_[(slots_[i] & 0xffffffff) - 1].id != id)) {
      i = (i + 1) & mask;
    }
    if (slots_[i] == 0) ++distinct_;
    slots_[i] = fingerprint << 32 | (e + 1);  // a repeated id keeps its last range
  }
}

TraceIndex TraceIndexBuilder::Build() const {
  TraceIndex index;
  index.entries_.reserve(entries_.size());
  for (const auto& [id, rows] : entries_) index.entries_.push_back({id, rows});
  index.BuildTable();
  return index;
}

std::optional<TraceId> TraceIndexBuilder::Repeated() const {
  std::vector<TraceId> ids;
  ids.reserve(entries_.size());
  for (const auto& [id, rows] : entries_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  auto it = std::adjacent_find(ids.begin(), ids.end());
  if (it == ids.end()) return std::nullopt;
  return *it;
}

void TraceIndexBuilder::Serialize(std::string* out) const {
  // On disk the index is the list of traces, not the hash table: a trace's rows are
  // contiguous, so each range starts where the previous one ended and costs 16 bytes plus two
  // one-byte varints. Parse rebuilds the table in memory.
  const size_t start = out->size();
  PutFixed32(out, static_cast<uint32_t>(entries_.size()));
  int64_t previous_end = 0;
  for (const auto& [id, rows] : entries_) {
    out->append(reinterpret_cast<const char*>(id.bytes.data()), 16);
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(rows.first_row) - previous_end));
    PutVarint64(out, rows.count);
    previous_end = static_cast<int64_t>(rows.first_row) + rows.count;
  }
  PutFixed64(out, XXH3_64bits(out->data() + start, out->size() - start));
}

}  // namespace spanstore
