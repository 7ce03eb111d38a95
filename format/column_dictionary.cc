#include "format/column_dictionary.h"

#include "format/column_ints.h"
#include "util/coding.h"

namespace spanstore {

uint32_t DictionaryBuilder::Add(std::string_view s) {
  // Look up by view first: a repeated value (the common case) then costs no allocation.
  auto it = ids_.find(absl::string_view(s.data(), s.size()));
  if (it != ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(entries_.size());
  ids_.emplace(std::string(s), id);
  entries_.emplace_back(s);
  return id;
}

int64_t DictionaryBuilder::Find(std::string_view s) const {
  auto it = ids_.find(absl::string_view(s.data(), s.size()));
  return it == ids_.end() ? -1 : static_cast<int64_t>(it->second);
}

void DictionaryBuilder::Clear() {
  entries_.clear();
  ids_.clear();
}

void DictionaryBuilder::Serialize(std::string* out) const {
  PutVarint64(out, entries_.size());
  for (const std::string& e : entries_) PutLengthPrefixed(out, e);
}

bool GetDictionary(std::string_view* in, std::vector<std::string_view>* entries,
                   uint64_t max_entries) {
  uint64_t count = 0;
  if (!GetVarint64(in, &count) || count > in->size() || count > max_entries) return false;
  entries->clear();
  entries->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view s;
    if (!GetLengthPrefixed(in, &s)) return false;
    entries->push_back(s);
  }
  return true;
}

void PutDictionaryColumn(std::span<const std::string_view> values, std::string* out) {
  DictionaryBuilder dict;
  std::vector<uint32_t> ids;
  ids.reserve(values.size());
  for (std::string_view v : values) ids.push_back(dict.Add(v));
  dict.Serialize(out);
  PutBitPacked(ids, out);
}

bool GetDictionaryColumn(std::string_view* in, size_t n, std::vector<std::string_view>* values) {
  std::vector<std::string_view> entries;
  std::vector<uint32_t> ids;
  if (!GetDictionary(in, &entries) || !GetBitPacked(in, n, &ids)) return false;
  values->resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] >= entries.size()) return false;
    (*values)[i] = entries[ids[i]];
  }
  return true;
}

}  // namespace spanstore
