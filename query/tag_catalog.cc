// Tag names and values for Tempo's autocompletion, computed by scanning the store.
//
// Correct first: every matching span of the window is looked at (up to a bound). The engine
// keeps per-block dictionaries of keys and values that could answer this without decoding
// spans; once a public API exposes them, these functions should use it.

#include <algorithm>
#include <functional>

#include "absl/container/btree_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "spanstore/jaeger.h"
#include "spanstore/store.h"
#include "spanstore/tempo.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

class KeySet {
 public:
  KeySet(size_t limit, bool* truncated) : limit_(limit), truncated_(truncated) {}
  void Add(const Attributes& attributes) {
    for (const KeyValue& kv : attributes) {
      if (keys_.contains(kv.key)) continue;
      if (keys_.size() >= limit_) {
        *truncated_ = true;
        return;
      }
      keys_.insert(kv.key);
    }
  }
  std::vector<std::string> Sorted() const { return {keys_.begin(), keys_.end()}; }

 private:
  size_t limit_;
  bool* truncated_;
  absl::btree_set<std::string> keys_;
};

// Where the values of a tag come from: appends each value found on `span` to *out.
using ValueSource = std::function<void(const Span& span, std::vector<TagValue>* out)>;

bool ToTagValue(const AnyValue& v, TagValue* out) {
  switch (v.type()) {
    case AnyValue::Type::kString:
      out->type = "string";
      break;
    case AnyValue::Type::kInt:
      out->type = "int";
      break;
    case AnyValue::Type::kDouble:
      out->type = "float";
      break;
    case AnyValue::Type::kBool:
      out->type = "bool";
      break;
    default:
      return false;  // Tempo offers no completion for bytes, arrays or maps
  }
  out->value = JaegerValueString(v);
  return true;
}

void AttributeValues(const Attributes& attributes, const std::string& key,
                     std::vector<TagValue>* out) {
  for (const KeyValue& kv : attributes) {
    TagValue value;
    if (kv.key == key && ToTagValue(kv.value, &value)) out->push_back(std::move(value));
  }
}

TagValue Keyword(std::string_view value) { return {"keyword", std::string(value)}; }
TagValue String(std::string value) { return {"string", std::move(value)}; }

absl::StatusOr<ValueSource> SourceOf(std::string_view tag, bool unscoped_legacy) {
  const std::string t(tag);
  if (unscoped_legacy) {
    return ValueSource([t](const Span& s, std::vector<TagValue>* out) {
      AttributeValues(s.attributes, t, out);
      AttributeValues(s.resource_attributes, t, out);
      for (TagValue& v : *out) v.type = "string";  // version 1 lists strings only
    });
  }
  auto scoped = [&](std::string_view prefix) -> std::optional<std::string> {
    if (!absl::StartsWith(AsAbsl(tag), AsAbsl(prefix)) || tag.size() == prefix.size()) {
      return std::nullopt;
    }
    return std::string(tag.substr(prefix.size()));
  };
  if (auto k = scoped("resource.")) {
    return ValueSource([k = *k](const Span& s, std::vector<TagValue>* out) {
      AttributeValues(s.resource_attributes, k, out);
    });
  }
  if (auto k = scoped("span.")) {
    return ValueSource([k = *k](const Span& s, std::vector<TagValue>* out) {
      AttributeValues(s.attributes, k, out);
    });
  }
  if (auto k = scoped(".")) {
    return ValueSource([k = *k](const Span& s, std::vector<TagValue>* out) {
      AttributeValues(s.attributes, k, out);
      AttributeValues(s.resource_attributes, k, out);
    });
  }
  if (auto k = scoped("event.")) {
    return ValueSource([k = *k](const Span& s, std::vector<TagValue>* out) {
      for (const SpanEvent& e : s.events) AttributeValues(e.attributes, k, out);
    });
  }
  if (auto k = scoped("link.")) {
    return ValueSource([k = *k](const Span& s, std::vector<TagValue>* out) {
      for (const SpanLink& l : s.links) AttributeValues(l.attributes, k, out);
    });
  }
  if (auto k = scoped("instrumentation.")) {
    return ValueSource([k = *k](const Span& s, std::vector<TagValue>* out) {
      AttributeValues(s.scope_attributes, k, out);
    });
  }
  if (tag == "name" || tag == "span:name") {
    return ValueSource(
        [](const Span& s, std::vector<TagValue>* out) { out->push_back(String(s.name)); });
  }
  if (tag == "status" || tag == "span:status") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      out->push_back(Keyword(StatusCodeName(s.status_code)));
    });
  }
  if (tag == "kind" || tag == "span:kind") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      out->push_back(Keyword(SpanKindName(s.kind)));
    });
  }
  if (tag == "statusMessage" || tag == "span:statusMessage") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      if (!s.status_message.empty()) out->push_back(String(s.status_message));
    });
  }
  if (tag == "rootServiceName" || tag == "trace:rootService") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      if (s.is_root()) out->push_back(String(s.service_name));
    });
  }
  if (tag == "rootName" || tag == "trace:rootName") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      if (s.is_root()) out->push_back(String(s.name));
    });
  }
  if (tag == "event:name") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      for (const SpanEvent& e : s.events) out->push_back(String(e.name));
    });
  }
  if (tag == "instrumentation:name") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      if (!s.scope_name.empty()) out->push_back(String(s.scope_name));
    });
  }
  if (tag == "instrumentation:version") {
    return ValueSource([](const Span& s, std::vector<TagValue>* out) {
      if (!s.scope_version.empty()) out->push_back(String(s.scope_version));
    });
  }
  const std::vector<std::string> intrinsics = TempoIntrinsicTags();
  if (std::find(intrinsics.begin(), intrinsics.end(), tag) != intrinsics.end()) {
    // Durations and ids: too many distinct values to be worth completing.
    return ValueSource([](const Span&, std::vector<TagValue>*) {});
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "tag name is not valid intrinsic or scoped attribute: \"", AsAbsl(tag),
      "\" (expected e.g. resource.service.name, span.http.method, .http.method or name)"));
}

}  // namespace

std::vector<std::string> TempoIntrinsicTags() {
  return {"duration",
          "event:name",
          "instrumentation:name",
          "instrumentation:version",
          "kind",
          "name",
          "rootName",
          "rootServiceName",
          "span:duration",
          "span:id",
          "span:kind",
          "span:name",
          "span:parentID",
          "span:status",
          "span:statusMessage",
          "status",
          "statusMessage",
          "trace:id"};
}

absl::StatusOr<TagNames> CollectTagNames(Store& store, const SpanQuery& query,
                                         const TagSearchOptions& options) {
  TagNames names;
  KeySet span(options.limit, &names.truncated), resource(options.limit, &names.truncated),
      event(options.limit, &names.truncated), link(options.limit, &names.truncated),
      instrumentation(options.limit, &names.truncated);
  uint64_t scanned = 0;
  absl::Status s = store.Scan(query, [&](const Span& sp) {
    span.Add(sp.attributes);
    resource.Add(sp.resource_attributes);
    instrumentation.Add(sp.scope_attributes);
    for (const SpanEvent& e : sp.events) event.Add(e.attributes);
    for (const SpanLink& l : sp.links) link.Add(l.attributes);
    if (++scanned >= options.max_scanned_spans && options.max_scanned_spans != 0) {
      names.truncated = true;
      return false;
    }
    return true;
  });
  if (!s.ok()) return s;
  names.span = span.Sorted();
  names.resource = resource.Sorted();
  names.event = event.Sorted();
  names.link = link.Sorted();
  names.instrumentation = instrumentation.Sorted();
  return names;
}

absl::StatusOr<std::vector<TagValue>> CollectTagValues(Store& store, std::string_view tag,
                                                       bool unscoped_legacy, const SpanQuery& query,
                                                       const TagSearchOptions& options) {
  absl::StatusOr<ValueSource> source = SourceOf(tag, unscoped_legacy);
  if (!source.ok()) return source.status();
  absl::btree_set<std::pair<std::string, std::string>> seen;  // (value, type)
  std::vector<TagValue> found;
  uint64_t scanned = 0;
  absl::Status s = store.Scan(query, [&](const Span& span) {
    found.clear();
    (*source)(span, &found);
    for (TagValue& v : found) {
      if (seen.size() >= options.limit) return false;
      seen.emplace(std::move(v.value), std::move(v.type));
    }
    return options.max_scanned_spans == 0 || ++scanned < options.max_scanned_spans;
  });
  if (!s.ok()) return s;
  std::vector<TagValue> values;
  values.reserve(seen.size());
  for (const auto& [value, type] : seen) values.push_back({type, value});
  return values;
}

}  // namespace spanstore
