#include "format/block_tables.h"

#include <xxhash.h>

#include "format/block_format.h"
#include "format/value_codec.h"
#include "util/coding.h"

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
    PutVarint64(out, o.successor == kNoOp ? kNoSuccessor : kOpIdBias + o.successor);
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
  // Everything grows as it parses rather than being sized by a claim.
  ops.clear();
  op_keys.clear();
  op_templates.clear();
  op_template_strings.clear();
  op_contexts.clear();
  std::vector<uint32_t> ids;
  for (uint64_t i = 0; i < count; ++i) {
    Op& o = ops.emplace_back();
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
    // A template takes at least one byte: refuse a key count the bytes left cannot hold.
    if (!GetIdList(in, keys.size(), &ids) || ids.size() > in->size() ||
        op_keys.size() + ids.size() > UINT32_MAX) {
      return false;
    }
    o.key_begin = static_cast<uint32_t>(op_keys.size());
    op_keys.insert(op_keys.end(), ids.begin(), ids.end());
    o.key_end = static_cast<uint32_t>(op_keys.size());
    for (size_t k = 0; k < ids.size(); ++k) {
      const std::string_view before = *in;
      if (!DecodeAnyValue(in, &op_templates.emplace_back())) return false;
      std::string_view bytes;
      if (op_templates.back().type() == AnyValue::Type::kString) {
        std::string_view at = before.substr(1);  // after the type byte
        (void)GetLengthPrefixed(&at, &bytes);    // decoded just above
      }
      op_template_strings.push_back(bytes);
    }
    uint64_t successor;
    if (!GetIdList(in, contexts.size(), &ids) || ids.empty() || !GetVarint64(in, &successor) ||
        successor > count) {
      return false;
    }
    o.context_begin = static_cast<uint32_t>(op_contexts.size());
    op_contexts.insert(op_contexts.end(), ids.begin(), ids.end());
    o.context_end = static_cast<uint32_t>(op_contexts.size());
    o.successor = successor == kNoSuccessor ? kNoOp : static_cast<uint32_t>(successor - kOpIdBias);
  }
  uint64_t with_strings;
  if (!GetVarint64(in, &with_strings) || with_strings > keys.size()) return false;
  // Per key its dictionary, in the order written; then laid out by key id.
  std::vector<std::vector<std::string_view>> by_key(with_strings > 0 ? keys.size() : 0);
  for (uint64_t i = 0; i < with_strings; ++i) {
    uint64_t key;
    if (!GetVarint64(in, &key) || key >= keys.size() || !by_key[key].empty() ||
        !GetDictionary(in, &by_key[key]) || by_key[key].empty()) {
      return false;
    }
  }
  block_strings.clear();
  block_string_begin.assign(1, 0);
  for (const auto& strings : by_key) {
    block_strings.insert(block_strings.end(), strings.begin(), strings.end());
    block_string_begin.push_back(static_cast<uint32_t>(block_strings.size()));
  }
  return true;
}

uint64_t BlockTables::MemoryBytes() const {
  return (services.size() + names.size() + keys.size() + contexts.size() +
          op_template_strings.size() + block_strings.size()) *
             sizeof(std::string_view) +
         ops.size() * sizeof(Op) + op_templates.size() * sizeof(AnyValue) +
         (op_keys.size() + op_contexts.size() + block_string_begin.size()) * sizeof(uint32_t);
}

}  // namespace spanstore
