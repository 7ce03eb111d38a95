// The block-wide tables of a block file, kept in its meta page and held in memory by readers:
// the dictionaries of services, span names, attribute keys and contexts (resource + scope),
// the operation table, and the block strings of attribute keys.
//
// An *operation* is what a row's service, span name, kind and attribute key list are together.
// A block of a microservice's spans holds a few hundred of them, so one small id per row (the
// op column) replaces four columns, and rows of one operation share:
//   - a template: the attribute values of the operation's first span; a later span's value
//     equal to it costs a zero code (constant attributes: rpc.method, db.system, server.port);
//   - a context list: the contexts (service instances) seen with the operation; a row stores
//     its index in that list, a few bits;
//   - a successor: the operation of the row that followed the operation's first row. Traces of
//     one kind of request repeat the same sequence of operations, so a row whose operation is
//     its predecessor's successor costs a zero code.
// Block strings: a string value of a key seen in two different row groups is given a
// block-wide id (its first occurrence stays in that group's heap), so values that recur across
// the block (peer addresses, hosts, routes) are stored once, while values local to one trace
// (session ids, order ids) stay in their group's heap and never weigh on a reader's memory.
//
// Thread safety: BlockTablesBuilder is thread-compatible; BlockTables is immutable once parsed.

#ifndef SPANSTORE_COMPACTION_BLOCK_TABLES_H_
#define SPANSTORE_COMPACTION_BLOCK_TABLES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "compaction/column_dictionary.h"
#include "spanstore/span.h"

namespace spanstore {

inline constexpr uint32_t kNoOp = UINT32_MAX;

struct BlockOp {
  uint32_t service = 0;  // ids into the service, name and key dictionaries
  uint32_t name = 0;
  SpanKind kind = SpanKind::kUnspecified;
  std::vector<uint32_t> keys;       // the span's attribute keys, in its order
  std::vector<AnyValue> templates;  // one per key: the first span's value
  std::vector<uint32_t> contexts;   // context ids seen with the operation, first seen first
  uint32_t successor = kNoOp;       // see the file comment
};

// The tables as a reader holds them (views into the meta page, which must outlive them).
struct BlockTables {
  std::vector<std::string_view> services, names, keys, contexts;
  std::vector<BlockOp> ops;
  std::vector<std::vector<std::string_view>> key_strings;  // by key id; empty for most keys
  // Every operation's keys, concatenated: op i's keys are op_keys[op_key_begin[i] ..
  // op_key_begin[i + 1]). The row decoders walk these for every row of a group, and a block
  // touched by a random trace lookup is cold in the cache: one contiguous array costs a few
  // cache misses where each operation's own vector would cost one each.
  std::vector<uint32_t> op_keys;
  std::vector<uint32_t> op_key_begin;

  // Parses what BlockTablesBuilder::Serialize wrote and advances *in. False on malformed
  // input: every id inside its dictionary, counts bounded by the bytes left, no key twice.
  // Every service, span name, context and operation comes from at least one row, so a block
  // of `rows` rows has at most that many of each: larger counts are refused before anything
  // is sized for them (the meta page may decompress to far more than the file holds).
  bool Parse(std::string_view* in, uint64_t rows);

  const std::vector<std::string_view>& strings_of(uint32_t key) const {
    static const std::vector<std::string_view> kNone;
    return key < key_strings.size() ? key_strings[key] : kNone;
  }
  // Approximate bytes held (excluding the meta page itself).
  uint64_t MemoryBytes() const;
};

class BlockTablesBuilder {
 public:
  BlockTablesBuilder() = default;
  BlockTablesBuilder(const BlockTablesBuilder&) = delete;
  BlockTablesBuilder& operator=(const BlockTablesBuilder&) = delete;

  // The id of the span's operation (adding it, with the span's values as its template, when
  // new) and the index of its context in the operation's context list. `encoded_context` is
  // the span's context as EncodeSpanContext writes it, when the caller has it (a memtable
  // holds each once): it is then not re-encoded, and repeated views are recognised by address.
  void Classify(const Span& span, std::string_view encoded_context, uint32_t* op,
                uint32_t* context_rank);

  const BlockOp& op(uint32_t id) const { return ops_[id]; }
  uint32_t service_id(std::string_view service) { return services_.Add(service); }
  // Records that `next` followed `prev` (first time only) and returns the successor in force
  // before this call.
  uint32_t Follow(uint32_t prev, uint32_t next);

  // The block string id of `value` for `key`, or -1 when it belongs in the group heap.
  // `group` is the row group being written: a value seen in an earlier group gets an id.
  int64_t BlockString(uint32_t key, std::string_view value, uint64_t group);

  void Serialize(std::string* out) const;

 private:
  DictionaryBuilder services_, names_, keys_, contexts_;
  absl::flat_hash_map<const char*, std::pair<size_t, uint32_t>> context_views_;  // -> (size, id)
  std::string context_scratch_;
  std::vector<BlockOp> ops_;
  absl::flat_hash_map<std::vector<uint32_t>, uint32_t> op_ids_;  // service, name, kind, keys
  std::vector<uint32_t> op_key_scratch_;
  absl::flat_hash_map<uint64_t, uint32_t> context_ranks_;  // op << 32 | context -> rank
  struct KeyStrings {
    DictionaryBuilder strings;
    absl::flat_hash_map<uint64_t, uint64_t> seen;  // hash of a heap value -> its group
  };
  std::vector<std::unique_ptr<KeyStrings>> key_strings_;  // by key id
  uint64_t string_bytes_ = 0;
  uint64_t seen_entries_ = 0;
};

}  // namespace spanstore

#endif  // SPANSTORE_COMPACTION_BLOCK_TABLES_H_
