#include "index/trace_index.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"
#include "engine/coding.h"

namespace spanstore {
namespace {

constexpr size_t kSlotBytes = 16 + 4 + 4;
constexpr size_t kHeaderBytes = 8;

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

std::optional<RowRange> TraceIndex::Lookup(const TraceId& id) const {
  if (slots_.empty()) return std::nullopt;
  const size_t mask = slots_.size() - 1;
  for (size_t i = HashId(id) & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.rows.count == 0) return std::nullopt;  // Parse guarantees an empty slot exists
    if (slot.id == id) return slot.rows;
  }
}

absl::StatusOr<TraceIndex> TraceIndex::Parse(std::string_view data, std::string_view file) {
  if (data.size() < kHeaderBytes + 8) {
    return IndexError(
        file, absl::StrFormat("%d bytes, expected at least %d", data.size(), kHeaderBytes + 8));
  }
  const uint64_t stored = DecodeFixed64(data.data() + data.size() - 8);
  const uint64_t computed = XXH3_64bits(data.data(), data.size() - 8);
  if (stored != computed) {
    return IndexError(file, absl::StrFormat("checksum mismatch (stored %016x, computed %016x)",
                                            stored, computed));
  }
  const uint32_t slot_count = DecodeFixed32(data.data());
  const uint32_t entry_count = DecodeFixed32(data.data() + 4);
  if (!std::has_single_bit(slot_count) || entry_count >= slot_count) {
    return IndexError(file, absl::StrFormat("%d slots for %d traces (expected a power of two "
                                            "larger than the trace count)",
                                            slot_count, entry_count));
  }
  if (data.size() - kHeaderBytes - 8 != uint64_t{slot_count} * kSlotBytes) {
    return IndexError(
        file, absl::StrFormat("%d slots need %d bytes, found %d", slot_count,
                              uint64_t{slot_count} * kSlotBytes, data.size() - kHeaderBytes - 8));
  }
  TraceIndex index;
  index.slots_.resize(slot_count);
  const char* p = data.data() + kHeaderBytes;
  size_t used = 0;
  for (Slot& slot : index.slots_) {
    std::memcpy(slot.id.bytes.data(), p, 16);
    slot.rows.first_row = DecodeFixed32(p + 16);
    slot.rows.count = DecodeFixed32(p + 20);
    if (slot.rows.count != 0) ++used;
    p += kSlotBytes;
  }
  if (used != entry_count) {
    return IndexError(file,
                      absl::StrFormat("header says %d traces, slots hold %d", entry_count, used));
  }
  index.entries_ = entry_count;
  return index;
}

absl::Status TraceIndexBuilder::Add(const TraceId& id, RowRange rows) {
  if (rows.count == 0) {
    return absl::InvalidArgumentError(absl::StrFormat("trace %s added with no rows", id.ToHex()));
  }
  entries_.emplace_back(id, rows);
  return absl::OkStatus();
}

TraceIndex TraceIndexBuilder::Build() const {
  TraceIndex index;
  index.slots_.resize(SlotCountFor(entries_.size()));
  const size_t mask = index.slots_.size() - 1;
  for (const auto& [id, rows] : entries_) {
    size_t i = HashId(id) & mask;
    while (index.slots_[i].rows.count != 0 && index.slots_[i].id != id) i = (i + 1) & mask;
    if (index.slots_[i].rows.count == 0) ++index.entries_;
    index.slots_[i] = {id, rows};  // a repeated id keeps its last range
  }
  return index;
}

void TraceIndexBuilder::Serialize(std::string* out) const {
  const TraceIndex index = Build();
  const size_t start = out->size();
  PutFixed32(out, static_cast<uint32_t>(index.slots_.size()));
  PutFixed32(out, static_cast<uint32_t>(index.entries_));
  for (const TraceIndex::Slot& slot : index.slots_) {
    out->append(reinterpret_cast<const char*>(slot.id.bytes.data()), 16);
    PutFixed32(out, slot.rows.first_row);
    PutFixed32(out, slot.rows.count);
  }
  PutFixed64(out, XXH3_64bits(out->data() + start, out->size() - start));
}

}  // namespace spanstore
