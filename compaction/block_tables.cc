#include "compaction/block_tables.h"

#include <xxhash.h>

#include "compaction/block_format.h"
#include "engine/coding.h"
#include "engine/span_codec.h"

namespace spanstore {
namespace {

// Bounds the builder's memory for values it has seen once (hashes, 16 bytes each plus table
// overhead): beyond this many, new heap values are no longer tracked and stay in their heaps.
constexpr uint64_t kMaxSeenValues = 1 << 20;

bool GetIdList(std::string_view* in, size_t bound, std::vector<uint32_t>* ids) {
  uint64_t count;
  if (!GetVarint64(in, &count) || count > in->size()) return false;
  ids->resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id;
    if (!GetVarint64(in, &id) || id >= bound) return false;
    (*ids)[i] = static_cast<uint32_t>(id);
  }
  return true;
}

}  // namespace

void BlockTablesBuilder::Classify(const Span& span, std::string_view encoded_context,
                                  uint32_t* op, uint32_t* context_rank) {
  op_key_scratch_.clear();
  op_key_scratch_.push_back(services_.Add(span.service_name));
  op_key_scratch_.push_back(names_.Add(span.name));
  op_key_scratch_.push_back(static_cast<uint32_t>(span.kind));
  for (const KeyValue& kv : span.attributes) op_key_scratch_.push_back(keys_.Add(kv.key));
  auto [it, added] = op_ids_.try_emplace(op_key_scratch_, static_cast<uint32_t>(ops_.size()));
  *op = it->second;
  if (added) {
    BlockOp& o = ops_.emplace_back();
    o.service = op_key_scratch_[0];
    o.name = op_key_scratch_[1];
    o.kind = span.kind;
    o.keys.assign(op_key_scratch_.begin() + 3, op_key_scratch_.end());
    o.templates.reserve(span.attributes.size());
    for (const KeyValue& kv : span.attributes) o.templates.push_back(kv.value);
  }

  uint32_t context;
  auto view = encoded_context.data() != nullptr ? context_views_.find(encoded_context.data())
                                                : context_views_.end();
  if (view != context_views_.end() && view->second.first == encoded_context.size()) {
    context = view->second.second;
  } else {
    if (encoded_context.data() == nullptr) {
      context_scratch_.clear();
      EncodeSpanContext(span, &context_scratch_);
      context = contexts_.Add(context_scratch_);
    } else {
      context = contexts_.Add(encoded_context);
      context_views_[encoded_context.data()] = {encoded_context.size(), context};
    }
  }
  auto [rank, new_rank] = context_ranks_.try_emplace(
      uint64_t{*op} << 32 | context, static_cast<uint32_t>(ops_[*op].contexts.size()));
  if (new_rank) ops_[*op].contexts.push_back(context);
  *context_rank = rank->second;
}

uint32_t BlockTablesBuilder::Follow(uint32_t prev, uint32_t next) {
  const uint32_t before = ops_[prev].successor;
  if (before == kNoOp) ops_[prev].successor = next;
  return before;
}

int64_t BlockTablesBuilder::BlockString(uint32_t key, std::string_view value, uint64_t group) {
  if (key >= key_strings_.size()) key_strings_.resize(key + 1);
  auto& ks = key_strings_[key];
  if (ks == nullptr) ks = std::make_unique<KeyStrings>();
  const int64_t id = ks->strings.Find(value);
  if (id >= 0) return id;
  const uint64_t hash = XXH3_64bits(value.data(), value.size());
  auto it = ks->seen.find(hash);
  if (it == ks->seen.end()) {
    if (seen_entries_ < kMaxSeenValues) {
      ks->seen.emplace(hash, group);
      ++seen_entries_;
    }
    return -1;
  }
  if (it->second == group || ks->strings.size() >= kMaxBlockStrings ||
      string_bytes_ + value.size() > kMaxBlockStringBytes) {
    return -1;
  }
  string_bytes_ += value.size();
  return ks->strings.Add(value);
}

void BlockTablesBuilder::Serialize(std::string* out) const {
  services_.Serialize(out);
  names_.Serialize(out);
  keys_.Serialize(out);
  contexts_.Serialize(out);
  PutVarint64(out, ops_.size());
  for (const BlockOp& o : ops_) {
    PutVarint64(out, o.service);
    PutVarint64(out, o.name);
    out->push_back(static_cast<char>(o.kind));
    PutVarint64(out, o.keys.size());
    for (uint32_t k : o.keys) PutVarint64(out, k);
    for (const AnyValue& v : o.templates) EncodeAnyValue(v, out);
    PutVarint64(out, o.contexts.size());
    for (uint32_t c : o.contexts) PutVarint64(out, c);
    PutVarint64(out, o.successor == kNoOp ? 0 : uint64_t{o.successor} + 1);
  }
  size_t with_strings = 0;
  for (const auto& ks : key_strings_) with_strings += ks != nullptr && ks->strings.size() > 0;
  PutVarint64(out, with_strings);
  for (size_t key = 0; key < key_strings_.size(); ++key) {
    const auto& ks = key_strings_[key];
    if (ks == nullptr || ks->strings.size() == 0) continue;
    PutVarint64(out, key);
    ks->strings.Serialize(out);
  }
}

bool BlockTables::Parse(std::string_view* in, uint64_t rows) {
  if (!GetDictionary(in, &services, rows) || !GetDictionary(in, &names, rows) ||
      !GetDictionary(in, &keys) || !GetDictionary(in, &contexts, rows)) {
    return false;
  }
  uint64_t count;
  // An operation takes at least 6 bytes.
  if (!GetVarint64(in, &count) || count > in->size() / 6 || count > rows) return false;
  // Grown as operations parse rather than sized by the claim: 96 bytes each in memory.
  ops.clear();
  for (uint64_t i = 0; i < count; ++i) {
    BlockOp& o = ops.emplace_back();
    uint64_t service, name;
    if (!GetVarint64(in, &service) || !GetVarint64(in, &name) || service >= services.size() ||
        name >= names.size() || in->empty()) {
      return false;
    }
    o.service = static_cast<uint32_t>(service);
    o.name = static_cast<uint32_t>(name);
    const uint8_t kind = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    if (kind > static_cast<uint8_t>(SpanKind::kConsumer)) return false;
    o.kind = static_cast<SpanKind>(kind);
    // A template takes at least one byte: refuse a key count the bytes left cannot hold
    // before sizing the templates (40 bytes each).
    if (!GetIdList(in, keys.size(), &o.keys) || o.keys.size() > in->size()) return false;
    o.templates.resize(o.keys.size());
    for (AnyValue& v : o.templates) {
      if (!DecodeAnyValue(in, &v)) return false;
    }
    uint64_t successor;
    if (!GetIdList(in, contexts.size(), &o.contexts) || o.contexts.empty() ||
        !GetVarint64(in, &successor) || successor > count) {
      return false;
    }
    o.successor = successor == 0 ? kNoOp : static_cast<uint32_t>(successor - 1);
  }
  op_keys.clear();
  op_key_begin.assign(1, 0);
  for (const BlockOp& o : ops) {
    op_keys.insert(op_keys.end(), o.keys.begin(), o.keys.end());
    op_key_begin.push_back(static_cast<uint32_t>(op_keys.size()));
  }
  uint64_t with_strings;
  if (!GetVarint64(in, &with_strings) || with_strings > keys.size()) return false;
  key_strings.assign(with_strings > 0 ? keys.size() : 0, {});
  for (uint64_t i = 0; i < with_strings; ++i) {
    uint64_t key;
    if (!GetVarint64(in, &key) || key >= keys.size() || !key_strings[key].empty() ||
        !GetDictionary(in, &key_strings[key]) || key_strings[key].empty()) {
      return false;
    }
  }
  return true;
}

uint64_t BlockTables::MemoryBytes() const {
  uint64_t bytes = (services.size() + names.size() + keys.size() + contexts.size()) *
                   sizeof(std::string_view);
  for (const BlockOp& o : ops) {
    bytes += sizeof(BlockOp) + (o.keys.size() + o.contexts.size()) * sizeof(uint32_t) +
             o.templates.size() * sizeof(AnyValue);
  }
  for (const auto& s : key_strings) bytes += s.size() * sizeof(std::string_view);
  return bytes + (op_keys.size() + op_key_begin.size()) * sizeof(uint32_t);
}

}  // namespace spanstore
