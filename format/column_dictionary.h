// Dictionary encoding for low-cardinality string columns (service, span name, attribute keys,
// low-cardinality attribute values): each distinct string is stored once, each row as a
// bit-packed id (format/column_ints.h). Ids are assigned in order of first appearance, so
// encoding is deterministic for a given input.
//
// Serialized dictionary: varint entry count, then each entry length-prefixed (varint length +
// bytes). A dictionary column is a dictionary followed by the bit-packed ids of its rows.
//
// Thread safety: DictionaryBuilder is thread-compatible (external synchronisation for
// concurrent use); the free functions are stateless.

#ifndef SPANSTORE_FORMAT_COLUMN_DICTIONARY_H_
#define SPANSTORE_FORMAT_COLUMN_DICTIONARY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace spanstore {

class DictionaryBuilder {
 public:
  DictionaryBuilder() = default;
  DictionaryBuilder(const DictionaryBuilder&) = delete;
  DictionaryBuilder& operator=(const DictionaryBuilder&) = delete;

  // Returns the id of `s`, adding it if new. Ids are dense, starting at 0.
  uint32_t Add(std::string_view s);

  size_t size() const { return entries_.size(); }
  // The id of `s`, or -1 if it is not in the dictionary.
  int64_t Find(std::string_view s) const;
  // Forgets every entry (keeps the allocated capacity for the next page).
  void Clear();
  const std::vector<std::string>& entries() const { return entries_; }

  // Appends the serialized dictionary (count + length-prefixed entries).
  void Serialize(std::string* out) const;

 private:
  std::vector<std::string> entries_;
  // The map owns copies of the keys: views into entries_ would dangle when a short string
  // (stored inline) moves as entries_ grows.
  absl::flat_hash_map<std::string, uint32_t> ids_;
};

// Reads a serialized dictionary; the views point into `*in`'s underlying buffer. Refuses an
// entry count larger than the remaining bytes could hold (each entry takes at least one byte)
// or than `max_entries`, before reserving room for the entries.
bool GetDictionary(std::string_view* in, std::vector<std::string_view>* entries,
                   uint64_t max_entries = UINT64_MAX);

// Appends a dictionary column for `values`: dictionary, then bit-packed ids.
void PutDictionaryColumn(std::span<const std::string_view> values, std::string* out);

// Reads a dictionary column of `n` rows into `*values` (views into `*in`'s buffer). Fails on
// short input or an id outside the dictionary.
bool GetDictionaryColumn(std::string_view* in, size_t n, std::vector<std::string_view>* values);

}  // namespace spanstore

#endif  // SPANSTORE_FORMAT_COLUMN_DICTIONARY_H_
