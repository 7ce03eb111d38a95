// compare(): one Scan; every span's attributes counted per step on its side (selection or
// baseline), then the top values of each attribute become series.

#include "query/traceql_compare.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "spanstore/store.h"

namespace spanstore {
namespace {

// The steps one attribute value was seen at. Sparse (a step index per span) until a dense row
// of counters is smaller, so that values seen once -- URLs, ids -- cost 4 bytes, not a row.
class StepCounts {
 public:
  void Add(uint32_t step, uint64_t steps) {
    ++total_;
    if (!dense_.empty()) {
      ++dense_[step];
      return;
    }
    sparse_.push_back(step);
    if (sparse_.size() >= 2 * steps) {
      dense_.assign(steps, 0);
      for (uint32_t s : sparse_) ++dense_[s];
      std::vector<uint32_t>().swap(sparse_);
    }
  }
  uint64_t total() const { return total_; }
  std::vector<double> Values(uint64_t steps) const {
    std::vector<double> out(steps, 0.0);
    if (!dense_.empty()) {
      for (uint64_t i = 0; i < steps; ++i) out[i] = static_cast<double>(dense_[i]);
    } else {
      for (uint32_t s : sparse_) out[s] += 1;
    }
    return out;
  }

 private:
  uint64_t total_ = 0;
  std::vector<uint32_t> sparse_;
  std::vector<uint64_t> dense_;
};

// A value as a map key: its type's letter, then its text, so the int 200 and the string "200"
// stay apart (Tempo labels them intValue and stringValue).
void ValueKey(const AnyValue& v, std::string* key) {
  key->clear();
  switch (v.type()) {
    case AnyValue::Type::kString:
      key->push_back('s');
      key->append(v.string_value());
      return;
    case AnyValue::Type::kInt:
      key->push_back('i');
      absl::StrAppend(key, v.int_value());
      return;
    case AnyValue::Type::kDouble: {
      // The shortest text that reads back as the same double (115.21, not 115.20999999999999).
      key->push_back('d');
      char buf[32];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v.double_value());
      key->append(buf, ec == std::errc() ? end : buf);
      return;
    }
    case AnyValue::Type::kBool:
      key->push_back('b');
      key->append(v.bool_value() ? "true" : "false");
      return;
    default:  // bytes, arrays, maps: their text
      key->push_back('s');
      key->append(v.ToString());
      return;
  }
}

AnyValue::Type KeyType(std::string_view key) {
  switch (key[0]) {
    case 'i':
      return AnyValue::Type::kInt;
    case 'd':
      return AnyValue::Type::kDouble;
    case 'b':
      return AnyValue::Type::kBool;
    default:
      return AnyValue::Type::kString;
  }
}

// One side of the comparison.
struct Side {
  // attribute (as TraceQL names it) -> value key -> steps
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, StepCounts>> values;
  absl::flat_hash_map<std::string, StepCounts> totals;  // attribute -> per step
};

class Counter {
 public:
  static constexpr size_t kMaxValuesPerAttribute = 100'000;
  // And past this many attributes (keys made of ids, in hostile or careless data) a new one is
  // not counted at all.
  static constexpr size_t kMaxAttributes = 10'000;

  explicit Counter(uint64_t steps) : steps_(steps) {}

  void Add(Side& side, uint32_t step, std::string_view scope, std::string_view key,
           const AnyValue& value) {
    if (value.empty()) return;
    attribute_.assign(scope.data(), scope.size());
    attribute_.append(key.data(), key.size());
    ValueKey(value, &value_);
    auto attr = side.values.find(attribute_);
    if (attr == side.values.end()) {
      if (side.values.size() >= kMaxAttributes) return;
      attr = side.values.try_emplace(attribute_).first;
    }
    side.totals[attribute_].Add(step, steps_);
    auto v = attr->second.find(value_);
    if (v == attr->second.end()) {
      // Memory is bounded: past kMaxValuesPerAttribute distinct values (ids, URLs) a new value
      // counts only in the attribute's total. A value frequent enough to be in the top N has
      // almost surely been met before then.
      if (attr->second.size() >= kMaxValuesPerAttribute) return;
      v = attr->second.try_emplace(value_).first;
    }
    v->second.Add(step, steps_);
  }

  // Every attribute of `span` Tempo's compare() counts: the span's intrinsics that are
  // attributes of a kind (not its times or ids), its resource's and its own attributes.
  void AddSpan(Side& side, uint32_t step, const Span& span) {
    scratch_.set_string(span.name);
    Add(side, step, "", "name", scratch_);
    scratch_.set_string(StatusCodeName(span.status_code));
    Add(side, step, "", "status", scratch_);
    scratch_.set_string(SpanKindName(span.kind));
    Add(side, step, "", "kind", scratch_);
    if (!span.status_message.empty()) {
      scratch_.set_string(span.status_message);
      Add(side, step, "", "statusMessage", scratch_);
    }
    // The service is a column of its own; the loaders keep it in the resource too.
    if (!span.service_name.empty()) {
      scratch_.set_string(span.service_name);
      Add(side, step, "resource.", "service.name", scratch_);
    }
    for (const KeyValue& kv : span.resource_attributes) {
      if (kv.key != "service.name") Add(side, step, "resource.", kv.key, kv.value);
    }
    for (const KeyValue& kv : span.attributes) Add(side, step, "span.", kv.key, kv.value);
  }

 private:
  uint64_t steps_;
  std::string attribute_;
  std::string value_;
  AnyValue scratch_;
};

// The top_n values of each attribute (by count over the range; ties to the smaller value key)
// as series labelled {__meta_type=type, attribute=value}, then each attribute's totals as
// {__meta_type=type_total, attribute="nil"}.
void AddSeries(const Side& side, std::string_view type, uint32_t top_n, uint64_t steps,
               MetricsResult* result) {
  for (const auto& [attribute, values] : side.values) {
    std::vector<std::pair<uint64_t, const std::string*>> ranked;
    ranked.reserve(values.size());
    for (const auto& [key, counts] : values) ranked.emplace_back(counts.total(), &key);
    const size_t n = std::min<size_t>(top_n, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + n, ranked.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first : *a.second < *b.second;
                      });
    for (size_t i = 0; i < n; ++i) {
      const std::string& key = *ranked[i].second;
      MetricsSeries s;
      s.labels = {{"__meta_type", std::string(type)}, {attribute, key.substr(1)}};
      s.label_types = {AnyValue::Type::kString, KeyType(key)};
      s.values = values.find(key)->second.Values(steps);
      result->series.push_back(std::move(s));
    }
  }
  for (const auto& [attribute, totals] : side.totals) {
    MetricsSeries s;
    s.labels = {{"__meta_type", std::string(type) + "_total"}, {attribute, "nil"}};
    s.values = totals.Values(steps);
    result->series.push_back(std::move(s));
  }
}

}  // namespace

absl::Status EvaluateCompare(Store& store, const MetricsQuery& query, const SpanQuery& scan,
                             uint64_t start_unix_nano, uint64_t steps, uint64_t step_nanos,
                             MetricsResult* result) {
  Side baseline, selection;
  Counter counter(steps);
  const bool bounded = query.selection_start_unix_nano != 0 || query.selection_end_unix_nano != 0;
  absl::Status s = store.Scan(scan, [&](const Span& span) {
    const uint32_t step =
        static_cast<uint32_t>((span.start_time_unix_nano - start_unix_nano) / step_nanos);
    const bool in_window =
        !bounded || (span.start_time_unix_nano >= query.selection_start_unix_nano &&
                     span.start_time_unix_nano < query.selection_end_unix_nano);
    const bool selected = in_window && SpanMatches(query.selection, span);
    counter.AddSpan(selected ? selection : baseline, step, span);
    ++result->spans;
    return true;
  });
  if (!s.ok()) return s;
  AddSeries(baseline, "baseline", query.top_n, steps, result);
  AddSeries(selection, "selection", query.top_n, steps, result);
  std::sort(result->series.begin(), result->series.end(),
            [](const MetricsSeries& a, const MetricsSeries& b) { return a.labels < b.labels; });
  // Counts of zero are values here (Tempo answers them), not empty steps.
  result->zero_is_empty = false;
  return absl::OkStatus();
}

}  // namespace spanstore
