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

#ifndef SPANSTORE_FORMAT_BLOCK_TABLES_H_
#define SPANSTORE_FORMAT_BLOCK_TABLES_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "format/column_dictionary.h"
#include "spanstore/span.h"

namespace spanstore {

inline constexpr uint32_t kNoOp = UINT32_MAX;

// An operation as the builder keeps it.
struct BlockOp {
  uint32_t service = 0;  // ids into the service, name and key dictionaries
  uint32_t name = 0;
  SpanKind kind = SpanKind::kUnspecified;
  std::vector<uint32_t> keys;       // the span's attribute keys, in its order
  std::vector<AnyValue> templates;  // one per key: the first span's value
  std::vector<uint32_t> contexts;   // context ids seen with the operation, first seen first
  uint32_t successor = kNoOp;       // see the file comment
};

// The tables as a reader holds them: views into the meta page (which must outlive them) and
// flat arrays. A block touched by a random trace lookup is cold in the cache, and the decoders
// read these tables for every row they build: each operation's keys, templates and contexts
// sit in shared contiguous arrays (a few cache misses in all) rather than in vectors of their
// own scattered over the heap (a miss each), and a string template is a view into the meta
// page rather than a separately allocated copy.
struct BlockTables {
  struct Op {
    uint32_t service = 0;  // ids into the service and name dictionaries
    uint32_t name = 0;
    SpanKind kind = SpanKind::kUnspecified;
    uint32_t successor = kNoOp;
    uint32_t key_begin = 0, key_end = 0;          // range of op_keys and op_templates
    uint32_t context_begin = 0, context_end = 0;  // range of op_contexts
  };
  std::vector<std::string_view> services, names, keys, contexts;
  std::vector<Op> ops;
  std::vector<uint32_t> op_keys;                    // key ids
  std::vector<AnyValue> op_templates;               // the first span's value for each key
  std::vector<std::string_view> op_template_strings;  // a string template's bytes, else empty
  std::vector<uint32_t> op_contexts;                // context ids, first seen first
  std::vector<std::string_view> block_strings;      // every key's block strings
  std::vector<uint32_t> block_string_begin;         // per key id, and one past the last

  // Parses what BlockTablesBuilder::Serialize wrote and advances *in. False on malformed
  // input: every id inside its dictionary, counts bounded by the bytes left, no key twice.
  // Every service, span name, context and operation comes from at least one row, so a block
  // of `rows` rows has at most that many of each: larger counts are refused before anything
  // is sized for them (the meta page may decompress to far more than the file holds).
  bool Parse(std::string_view* in, uint64_t rows);

  std::span<const uint32_t> keys_of(const Op& op) const {
    return {op_keys.data() + op.key_begin, op_keys.data() + op.key_end};
  }
  std::span<const AnyValue> templates_of(const Op& op) const {
    return {op_templates.data() + op.key_begin, op_templates.data() + op.key_end};
  }
  std::span<const uint32_t> contexts_of(const Op& op) const {
    return {op_contexts.data() + op.context_begin, op_contexts.data() + op.context_end};
  }
  // The block strings of attribute key `key` (any id; empty for most keys).
  std::span<const std::string_view> strings_of(uint32_t key) const {
    if (key + 1 >= block_string_begin.size()) return {};
    return {block_strings.data() + block_string_begin[key],
            block_strings.data() + block_string_begin[key + 1]};
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
  uint32_t key_count() const { return static_cast<uint32_t>(keys_.size()); }
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

#endif  // SPANSTORE_FORMAT_BLOCK_TABLES_H_
