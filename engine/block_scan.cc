#include "engine/block_scan.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/span_fields.h"
#include "format/group_data.h"
#include "index/value_filter.h"
#include "query/span_matcher.h"

namespace spanstore {
namespace {

// Narrows `rows` to those for which keep(row) is true.
template <typename Keep>
void Narrow(std::vector<uint32_t>* rows, Keep keep) {
  rows->erase(std::remove_if(rows->begin(), rows->end(), [&](uint32_t r) { return !keep(r); }),
              rows->end());
}

// What a query needs of this block, worked out once per scan rather than per group.
struct Plan {
  bool by_time = false;
  bool by_duration = false;
  // Per block service id: whether the query's services name it (empty: no service predicate).
  std::vector<bool> services;
  // Operations whose service, name and kind the query accepts (empty: all of them).
  std::vector<bool> ops;
  bool no_op_matches = false;
  // Equalities on span attributes (a string or an int) whose value no operation template of
  // the block holds: a group whose value filter lacks the value cannot match. The filter
  // hashes, worked out with the block's key ids.
  struct FilterCheck {
    uint32_t key;
    std::vector<uint64_t> entries;  // a group (or block) must hold one of these
  };
  std::vector<FilterCheck> filter_checks;
  // A predicate names an attribute key no span of the block has.
  bool missing_key = false;
  // The second, exact stage for a typed string equality whose value is not a block string of
  // its key: a group that passed the filter (1% of those without the value do) holds the value
  // only if the key's string heap in the group has it -- unless the group has arrays (or other
  // types) for the key, whose elements are not in heaps. Key id, value, the key's marker.
  struct HeapCheck {
    uint32_t key;
    std::string_view value;
    uint64_t other_types;
  };
  std::vector<HeapCheck> heap_checks;
  // The block's value filters by group, when there are filter or heap checks (else null).
  const std::vector<std::string_view>* filters = nullptr;
  // Attribute predicates decided from the attribute columns, before any span is built: those
  // on span attributes, and unscoped ones whose key no resource of the block has.
  struct ColumnCheck {
    uint32_t key;
    const AttributePredicate* predicate;
    std::vector<int32_t> op_positions;  // per operation: the key's position in its keys, or -1
  };
  std::vector<ColumnCheck> column_checks;
  // After CandidateRows the rows are exactly the matches: no filter, and every attribute
  // predicate is a column check.
  bool exact_rows = false;
  // Otherwise, when the query reads only known parts of a span: CandidateRows' survivors are
  // built with just those parts (`fields`, the attribute keys of `field_keys`) and tested, so
  // only matching rows are built whole.
  bool prefilter = false;
  SpanFields fields;
  std::vector<bool> field_keys;  // by block key id
};

// The value of an equality a value filter can decide (a string or an int compared with `=`,
// typed or in Jaeger's string form), or nullptr.
const AnyValue* FilterableValue(const AttributePredicate& p) {
  if (p.op != CompareOp::kEq) return nullptr;
  if (p.scope != AttributeScope::kSpan && p.scope != AttributeScope::kAny) return nullptr;
  if (p.value.type() == AnyValue::Type::kInt && !p.as_string) return &p.value;
  if (p.value.type() != AnyValue::Type::kString) return nullptr;
  return &p.value;
}

// The entries of which a group must hold one to hold a value equal to p's (`id` is the key's
// id in the block): the value itself; for an int, also the key's other-types marker (a double
// 500.0 equals 500); in Jaeger's string form, the marker (a bool prints "true", an array "[..")
// and, for text that is an int's decimal form, the int too.
std::vector<uint64_t> FilterEntries(const AttributePredicate& p, const AnyValue& value,
                                    uint32_t id) {
  if (value.type() == AnyValue::Type::kInt) {
    return {ValueFilterHash(id, value.int_value()), ValueFilterOtherTypesHash(id)};
  }
  std::vector<uint64_t> entries = {ValueFilterHash(id, value.string_value())};
  if (p.as_string) {
    entries.push_back(ValueFilterOtherTypesHash(id));
    int64_t n;
    if (absl::SimpleAtoi(value.string_value(), &n) && absl::StrCat(n) == value.string_value()) {
      entries.push_back(ValueFilterHash(id, n));
    }
  }
  return entries;
}

// Whether the encoded bytes of some context (resource + scope) of the block contain `needle`,
// and so whether a resource or scope of the block may hold p's key with a value equal to p's.
// Contexts are stored encoded, so this looks for a typed string value in their bytes, and
// else (an int, which is not stored as text; a Jaeger string form) for the key.
bool ContextsMention(const BlockTables& tables, std::string_view needle) {
  return std::any_of(tables.contexts.begin(), tables.contexts.end(),
                     [&](std::string_view c) { return c.find(needle) != std::string_view::npos; });
}

bool MaybeInContexts(const BlockTables& tables, const AttributePredicate& p) {
  return ContextsMention(tables, p.value.type() == AnyValue::Type::kString && !p.as_string
                                     ? std::string_view(p.value.string_value())
                                     : std::string_view(p.key));
}

// Whether the operation templates of key `key` have one of `entries`.
bool TemplatesHold(const BlockTables& tables, uint32_t key, const std::vector<uint64_t>& entries) {
  ValueFilterBuilder templates;
  for (size_t k = 0; k < tables.op_keys.size(); ++k) {
    if (tables.op_keys[k] == key) templates.AddValue(key, tables.op_templates[k]);
  }
  const std::vector<uint64_t>& h = templates.hashes();
  return std::any_of(entries.begin(), entries.end(),
                     [&](uint64_t e) { return std::find(h.begin(), h.end(), e) != h.end(); });
}

void MakePlan(const BlockReader& block, const SpanQuery& query, Plan* plan) {
  const BlockTables& tables = block.tables();
  plan->by_time = query.start_min != 0 || query.start_max != UINT64_MAX;
  plan->by_duration = query.min_duration_nanos != 0 || query.max_duration_nanos != UINT64_MAX;
  if (!query.services.empty()) {
    plan->services.resize(tables.services.size());
    for (size_t i = 0; i < tables.services.size(); ++i) {
      plan->services[i] = std::find(query.services.begin(), query.services.end(),
                                    tables.services[i]) != query.services.end();
    }
  }
  if (!query.services.empty() || !query.names.empty() || !query.kinds.empty()) {
    plan->ops.resize(tables.ops.size());
    auto wanted = [](const std::vector<std::string>& list, std::string_view v) {
      return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
    };
    plan->no_op_matches = true;
    for (size_t i = 0; i < tables.ops.size(); ++i) {
      const BlockTables::Op& op = tables.ops[i];
      plan->ops[i] = wanted(query.services, tables.services[op.service]) &&
                     wanted(query.names, tables.names[op.name]) &&
                     (query.kinds.empty() || std::find(query.kinds.begin(), query.kinds.end(),
                                                       op.kind) != query.kinds.end());
      if (plan->ops[i]) plan->no_op_matches = false;
    }
  }
  for (const AttributePredicate& p : query.attributes) {
    const bool span_only = p.scope == AttributeScope::kSpan ||
                           (p.scope == AttributeScope::kAny && !ContextsMention(tables, p.key));
    if (span_only) {
      auto key = std::find(tables.keys.begin(), tables.keys.end(), p.key);
      if (key == tables.keys.end()) {
        plan->missing_key = true;  // no span (nor resource) of the block has the key
        return;
      }
      Plan::ColumnCheck& c = plan->column_checks.emplace_back();
      c.key = static_cast<uint32_t>(key - tables.keys.begin());
      c.predicate = &p;
      c.op_positions.assign(tables.ops.size(), -1);
      for (size_t o = 0; o < tables.ops.size(); ++o) {
        const auto keys = tables.keys_of(tables.ops[o]);
        auto at = std::find(keys.begin(), keys.end(), c.key);
        if (at != keys.end()) c.op_positions[o] = static_cast<int32_t>(at - keys.begin());
      }
    }
    const AnyValue* value = FilterableValue(p);
    if (value == nullptr) continue;
    // On any-scope attributes the value may come from a resource instead.
    if (p.scope == AttributeScope::kAny && MaybeInContexts(tables, p)) continue;
    auto key = std::find(tables.keys.begin(), tables.keys.end(), p.key);
    if (key == tables.keys.end()) {
      plan->missing_key = true;
      continue;
    }
    const uint32_t id = static_cast<uint32_t>(key - tables.keys.begin());
    std::vector<uint64_t> entries = FilterEntries(p, *value, id);
    if (TemplatesHold(tables, id, entries)) continue;  // templates are not in the filters
    plan->filter_checks.push_back({id, std::move(entries)});
    if (value->type() == AnyValue::Type::kString && !p.as_string) {
      const auto& shared = tables.strings_of(id);
      if (std::find(shared.begin(), shared.end(), value->string_value()) == shared.end()) {
        plan->heap_checks.push_back({id, value->string_value(), ValueFilterOtherTypesHash(id)});
      }
    }
  }
  plan->exact_rows =
      !query.filter.has_value() && plan->column_checks.size() == query.attributes.size();
  std::vector<std::string_view> keys;
  if (!plan->exact_rows && QueryFields(query, &plan->fields, &keys)) {
    plan->prefilter = true;
    plan->field_keys.assign(tables.keys.size(), false);
    for (std::string_view key : keys) {
      auto it = std::find(tables.keys.begin(), tables.keys.end(), key);
      if (it != tables.keys.end()) plan->field_keys[it - tables.keys.begin()] = true;
    }
    plan->fields.keys = &plan->field_keys;
  }
}

bool GroupMayMatch(const BlockReader& block, size_t group, const SpanQuery& query,
                   const Plan& plan) {
  const BlockReader::Group& g = block.groups()[group];
  if (!g.zone.MayMatchExceptServices(query)) return false;
  if (g.has_filter && !plan.filter_checks.empty()) {
    const std::string_view filter = (*plan.filters)[group];
    for (const Plan::FilterCheck& c : plan.filter_checks) {
      if (std::none_of(c.entries.begin(), c.entries.end(),
                       [&](uint64_t e) { return ValueFilterMayContain(filter, e); })) {
        return false;
      }
    }
  }
  const absl::Span<const uint32_t> services = block.group_services(g);
  return plan.services.empty() || std::any_of(services.begin(), services.end(),
                                              [&](uint32_t id) { return plan.services[id]; });
}

absl::Status CandidateRows(const SpanQuery& query, const Plan& plan, GroupData* data,
                           std::vector<uint32_t>* rows) {
  rows->clear();
  absl::Status s;
  // Then the heaps of the keys asked for, decompressing attr.strings only.
  const BlockReader::Group& group = data->block().groups()[data->group()];
  for (const Plan::HeapCheck& c : plan.heap_checks) {
    if (!group.has_filter || ValueFilterMayContain((*plan.filters)[data->group()], c.other_types)) {
      continue;
    }
    if (s = data->Load(kColAttrStrings); !s.ok()) return s;
    if (!data->HeapHasString(c.key, c.value)) return absl::OkStatus();
  }
  rows->resize(data->rows());
  for (uint32_t r = 0; r < data->rows(); ++r) (*rows)[r] = r;
  // Predicate columns, narrowing the candidates before the wide columns are decoded.
  if (!plan.ops.empty()) {
    if (s = data->Load(kColOp); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) { return plan.ops[data->op_id(r)]; });
  }
  if (plan.by_time && !rows->empty()) {
    if (s = data->Load(kColStartClass); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) {
      return data->start(r) >= query.start_min && data->start(r) <= query.start_max;
    });
  }
  if (plan.by_duration && !rows->empty()) {
    if (s = data->Load(kColStartClass); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) {
      const uint64_t d = data->duration(r);
      return d >= query.min_duration_nanos && d <= query.max_duration_nanos;
    });
  }
  if (query.status.has_value() && !rows->empty()) {
    if (s = data->Load(kColStatus); !s.ok()) return s;
    Narrow(rows, [&](uint32_t r) { return data->status(r) == *query.status; });
  }
  // Attribute predicates on the columns: each walks only its key's value stream.
  if (!plan.column_checks.empty() && !rows->empty()) {
    std::vector<uint8_t> holds(data->rows());
    for (const Plan::ColumnCheck& c : plan.column_checks) {
      std::fill(holds.begin(), holds.end(), 0);
      size_t tested = 0;
      absl::Status interrupted;
      s = data->ForEachValueOf(c.key, c.op_positions, [&](uint32_t r, const AnyValue& v) {
        // A predicate may be costly (thousands of regexes): the deadline is checked as often
        // as when spans are built.
        if (!interrupted.ok() ||
            (++tested % 16 == 0 && !(interrupted = CheckQueryInterrupted(query)).ok())) {
          return;
        }
        holds[r] = AttributeValueMatches(*c.predicate, v);
      });
      if (s.ok()) s = interrupted;
      if (!s.ok()) return s;
      Narrow(rows, [&](uint32_t r) { return holds[r] != 0; });
      if (rows->empty()) break;
    }
  }
  return s;
}

// Narrows `rows` to those whose span, built with only the parts the query reads, matches.
absl::Status Prefilter(const SpanQuery& query, const Plan& plan, GroupData* data, Span* scratch,
                       std::vector<uint32_t>* rows) {
  absl::Status s = data->LoadFields(plan.fields);
  if (!s.ok()) return s;
  size_t tested = 0;
  Narrow(rows, [&](uint32_t r) {
    if (!s.ok() || (++tested % 16 == 0 && !(s = CheckQueryInterrupted(query)).ok())) {
      return false;
    }
    if (s = data->MaterializeFields(r, plan.fields, scratch); !s.ok()) return false;
    return SpanMatches(query, *scratch);
  });
  return s;
}

// Calls visit(data, rows, exact, stop) with each group of `block` that has candidate rows for
// `query` and those rows (ascending), until visit fails or sets *stop. `exact`: the rows are
// exactly the group's matches (else each may still fail SpanMatches). With `more`, the groups
// go by descending max start, and before each group that may match, after one that was
// visited, more(that group's max start: a bound on every match left) false stops.
template <typename Visit>
absl::Status ForEachCandidateGroup(const BlockReader& block, const SpanQuery& query, Visit visit,
                                   absl::FunctionRef<bool(uint64_t)>* more = nullptr) {
  if (!block.zone().MayMatch(query)) return absl::OkStatus();
  Plan plan;
  MakePlan(block, query, &plan);
  if (plan.no_op_matches || plan.missing_key) return absl::OkStatus();
  GroupValueFilters held_filters;
  if (!plan.filter_checks.empty()) {
    // The block value filter decides for the whole block, for the keys it covers, before the
    // groups' filters are read at all.
    auto block_filter = block.LoadBlockValueFilter();
    if (!block_filter.ok()) return block_filter.status();
    for (const Plan::FilterCheck& c : plan.filter_checks) {
      if ((*block_filter)->Covers(c.key) &&
          std::none_of(c.entries.begin(), c.entries.end(),
                       [&](uint64_t e) { return (*block_filter)->MayContain(e); })) {
        return absl::OkStatus();
      }
    }
  }
  if (!plan.filter_checks.empty() || !plan.heap_checks.empty()) {
    auto filters = block.ValueFilters();  // read on the block's first value search
    if (!filters.ok()) return filters.status();
    held_filters = *std::move(filters);  // keeps a cached section alive while the groups go by
    plan.filters = &held_filters.get();
  }
  std::vector<uint32_t> rows;
  Span scratch;
  const bool exact = plan.exact_rows || plan.prefilter;
  const std::vector<BlockReader::Group>& groups = block.groups();
  std::vector<uint32_t> order(groups.size());
  for (uint32_t g = 0; g < order.size(); ++g) order[g] = g;
  if (more != nullptr) {
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return groups[a].zone.max_start() > groups[b].zone.max_start();
    });
  }
  // Whether a group visited since more() was last asked: groups the zone maps and filters
  // skip add no match, so the question waits for the next group that may, whose max start
  // bounds every match left in the block (they go by descending max start).
  bool ask = false;
  // A group's value filter is a few hundred bytes of the meta page, cold in the CPU's caches:
  // probing the groups' filters one after another waits for one miss after another, so the
  // first probes of the group kPrefetchAhead on are issued before this one is tested.
  constexpr size_t kPrefetchAhead = 8;
  constexpr size_t kPrefetchHashes = 4;  // per group: an IN list prefetches its first few
  auto prefetch = [&](size_t i) {
    if (i >= order.size() || plan.filter_checks.empty()) return;
    const BlockReader::Group& grp = groups[order[i]];
    if (!grp.has_filter) return;
    size_t issued = 0;
    for (const Plan::FilterCheck& c : plan.filter_checks) {
      for (uint64_t e : c.entries) {
        if (issued++ == kPrefetchHashes) return;
        ValueFilterPrefetch((*plan.filters)[order[i]], e);
      }
    }
  };
  for (size_t i = 0; i < kPrefetchAhead; ++i) prefetch(i);
  for (size_t i = 0; i < order.size(); ++i) {
    prefetch(i + kPrefetchAhead);
    const uint32_t g = order[i];
    if (!GroupMayMatch(block, g, query, plan)) continue;
    if (ask && !(*more)(groups[g].zone.max_start())) break;
    ask = false;
    // Before each group's decoding and matching: the unit of work a stop waits for.
    absl::Status s = CheckQueryInterrupted(query);
    if (!s.ok()) return s;
    GroupData data(block, g);
    s = CandidateRows(query, plan, &data, &rows);
    if (s.ok() && plan.prefilter && !rows.empty()) {
      s = Prefilter(query, plan, &data, &scratch, &rows);
    }
    if (!s.ok()) return s;
    if (rows.empty()) continue;
    bool stop = false;
    if (s = visit(data, rows, exact, &stop); !s.ok() || stop) return s;
    ask = more != nullptr;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ScanBlock(const BlockReader& block, const SpanQuery& query,
                       absl::FunctionRef<bool(const Span&)> visitor) {
  Span span;
  return ForEachCandidateGroup(
      block, query,
      [&](GroupData& data, const std::vector<uint32_t>& rows, bool exact, bool* stop) {
        absl::Status s = data.LoadAll();
        for (size_t i = 0; s.ok() && i < rows.size() && !*stop; ++i) {
          // Within a group too: a span may cost milliseconds.
          if (i % 16 == 15 && !(s = CheckQueryInterrupted(query)).ok()) break;
          s = data.Materialize(rows[i], &span);
          *stop = s.ok() && (exact || SpanMatches(query, span)) && !visitor(span);
        }
        return s;
      });
}

bool ScanKeysFromColumns(const SpanQuery& query) {
  // Then every block either decides the query on its columns or builds the parts it reads.
  SpanFields fields;
  std::vector<std::string_view> keys;
  return QueryFields(query, &fields, &keys);
}

absl::Status ScanBlockKeys(const BlockReader& block, const SpanQuery& query,
                           absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor,
                           absl::FunctionRef<bool(uint64_t rest)>* more) {
  Span span;
  return ForEachCandidateGroup(
      block, query,
      [&](GroupData& data, const std::vector<uint32_t>& rows, bool exact, bool* stop) {
        // Not exact only for a query ScanKeysFromColumns refuses: build and test whole spans.
        absl::Status s = exact ? data.Load(kColStartClass) : data.LoadAll();
        for (size_t i = 0; s.ok() && i < rows.size() && !*stop; ++i) {
          if (!exact) {
            if (s = data.Materialize(rows[i], &span); !s.ok()) break;
            if (!SpanMatches(query, span)) continue;
          }
          *stop = !visitor(data.trace_id(rows[i]), data.start(rows[i]));
        }
        return s;
      },
      more);
}

absl::Status ScanBlockForAnalysis(const BlockReader& block,
                                  absl::Span<const std::pair<uint64_t, uint64_t>> ranges,
                                  absl::Span<const std::string_view> keys, const SpanQuery& query,
                                  absl::FunctionRef<bool(const TraceId&, uint64_t)> keep,
                                  absl::FunctionRef<bool(const Span&)> visitor) {
  if (ranges.empty()) return absl::OkStatus();
  const BlockTables& tables = block.tables();
  std::vector<bool> field_keys(tables.keys.size(), false);
  for (std::string_view key : keys) {
    auto it = std::find(tables.keys.begin(), tables.keys.end(), key);
    if (it != tables.keys.end()) field_keys[it - tables.keys.begin()] = true;
  }
  // The attributes are read only for client and producer spans whose operation has one of
  // the keys (what SpanTable::Add looks at), and a group's value streams decoded only when a
  // kept row is such a span.
  std::vector<bool> op_has_key(tables.ops.size(), false);
  for (size_t o = 0; o < tables.ops.size(); ++o) {
    const BlockTables::Op& op = tables.ops[o];
    if (op.kind != SpanKind::kClient && op.kind != SpanKind::kProducer) continue;
    for (uint32_t key : tables.keys_of(op)) {
      if (key < field_keys.size() && field_keys[key]) op_has_key[o] = true;
    }
  }
  SpanFields fields, with_attributes;
  with_attributes.attributes = true;
  with_attributes.keys = &field_keys;
  // The range holding `start`, if any: ranges are few (a window's two edges, a few sections).
  auto in_ranges = [&](uint64_t start) {
    for (const auto& [lo, hi] : ranges) {
      if (start < lo) return false;
      if (start <= hi) return true;
    }
    return false;
  };
  std::vector<uint32_t> rows;
  Span span;
  for (size_t g = 0; g < block.groups().size(); ++g) {
    const ZoneMap& zone = block.groups()[g].zone;
    if (std::none_of(ranges.begin(), ranges.end(), [&](const std::pair<uint64_t, uint64_t>& r) {
          return zone.min_start() <= r.second && r.first <= zone.max_start();
        })) {
      continue;
    }
    absl::Status s = CheckQueryInterrupted(query);
    if (!s.ok()) return s;
    GroupData data(block, g);
    if (s = data.Load(kColStartClass); !s.ok()) return s;
    rows.clear();
    for (uint32_t r = 0; r < data.rows(); ++r) {
      if (in_ranges(data.start(r)) && keep(data.trace_id(r), data.start(r))) rows.push_back(r);
    }
    if (rows.empty()) continue;
    if (s = data.Load(kColOp); !s.ok()) return s;
    const bool attributes = std::any_of(rows.begin(), rows.end(),
                                        [&](uint32_t r) { return op_has_key[data.op_id(r)]; });
    const SpanFields& f = attributes ? with_attributes : fields;
    if (s = data.LoadFields(f); !s.ok()) return s;
    for (uint32_t r : rows) {
      if (s = data.MaterializeFields(r, f, &span); !s.ok()) return s;
      if (!attributes || !op_has_key[data.op_id(r)]) span.attributes.clear();
      if (!visitor(span)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace spanstore
