#include "engine/block_scan.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "format/group_data.h"

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
  // String equalities on span attributes whose value is not block-wide: a group whose heap
  // of the key lacks the value cannot match. Key id (or kNoKey: no span has the key here).
  static constexpr uint32_t kNoKey = UINT32_MAX;
  std::vector<std::pair<uint32_t, std::string_view>> heap_checks;
};

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
    if (p.op != CompareOp::kEq || p.value.type() != AnyValue::Type::kString || p.as_string ||
        (p.scope != AttributeScope::kSpan && p.scope != AttributeScope::kAny)) {
      continue;
    }
    const std::string& value = p.value.string_value();
    // On any-scope attributes the value may come from a resource instead.
    if (p.scope == AttributeScope::kAny &&
        std::any_of(tables.contexts.begin(), tables.contexts.end(),
                    [&](std::string_view c) { return c.find(value) != std::string_view::npos; })) {
      continue;
    }
    auto key = std::find(tables.keys.begin(), tables.keys.end(), p.key);
    if (key == tables.keys.end()) {
      plan->heap_checks.emplace_back(Plan::kNoKey, value);
      continue;
    }
    const uint32_t id = static_cast<uint32_t>(key - tables.keys.begin());
    const auto& shared = tables.strings_of(id);
    const auto& templates = block.template_strings(id);
    if (std::find(shared.begin(), shared.end(), value) != shared.end() ||
        std::find(templates.begin(), templates.end(), value) != templates.end()) {
      continue;  // block-wide: any group may hold it
    }
    plan->heap_checks.emplace_back(id, value);
  }
}

bool GroupMayMatch(const BlockReader::Group& g, const SpanQuery& query, const Plan& plan) {
  if (!g.zone.MayMatchExceptServices(query)) return false;
  return plan.services.empty() || std::any_of(g.services.begin(), g.services.end(),
                                              [&](uint32_t id) { return plan.services[id]; });
}

absl::Status CandidateRows(const SpanQuery& query, const Plan& plan, GroupData* data,
                           std::vector<uint32_t>* rows) {
  rows->clear();
  absl::Status s;
  // Cheap skips first: a string equality on a span attribute needs the value in that key's
  // heap in this group when it is not block-wide.
  for (const auto& [key, value] : plan.heap_checks) {
    if (key == Plan::kNoKey) return absl::OkStatus();
    if (s = data->Load(kColAttrStrings); !s.ok()) return s;
    if (!data->HeapHasString(key, value)) return absl::OkStatus();
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
  return absl::OkStatus();
}

// Calls visit(data, rows) with each group of `block` that has candidate rows for `query` and
// those rows (ascending), until visit fails or sets *stop.
template <typename Visit>
absl::Status ForEachCandidateGroup(const BlockReader& block, const SpanQuery& query, Visit visit) {
  if (!block.zone().MayMatch(query)) return absl::OkStatus();
  Plan plan;
  MakePlan(block, query, &plan);
  if (plan.no_op_matches) return absl::OkStatus();
  std::vector<uint32_t> rows;
  for (size_t g = 0; g < block.groups().size(); ++g) {
    if (!GroupMayMatch(block.groups()[g], query, plan)) continue;
    // Before each group's decoding and matching: the unit of work a stop waits for.
    absl::Status s = CheckQueryInterrupted(query);
    if (!s.ok()) return s;
    GroupData data(block, g);
    s = CandidateRows(query, plan, &data, &rows);
    if (!s.ok()) return s;
    if (rows.empty()) continue;
    bool stop = false;
    if (s = visit(data, rows, &stop); !s.ok() || stop) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ScanBlock(const BlockReader& block, const SpanQuery& query,
                       absl::FunctionRef<bool(const Span&)> visitor) {
  Span span;
  return ForEachCandidateGroup(block, query,
                               [&](GroupData& data, const std::vector<uint32_t>& rows, bool* stop) {
                                 absl::Status s = data.LoadAll();
                                 for (size_t i = 0; s.ok() && i < rows.size() && !*stop; ++i) {
                                   s = data.Materialize(rows[i], &span);
                                   *stop = s.ok() && SpanMatches(query, span) && !visitor(span);
                                 }
                                 return s;
                               });
}

bool ScanKeysFromColumns(const SpanQuery& query) {
  // Everything else SpanMatches checks is decided by CandidateRows' columns.
  return query.attributes.empty() && !query.filter.has_value();
}

absl::Status ScanBlockKeys(const BlockReader& block, const SpanQuery& query,
                           absl::FunctionRef<bool(const TraceId&, uint64_t)> visitor) {
  return ForEachCandidateGroup(block, query,
                               [&](GroupData& data, const std::vector<uint32_t>& rows, bool* stop) {
                                 absl::Status s = data.Load(kColStartClass);
                                 for (size_t i = 0; s.ok() && i < rows.size() && !*stop; ++i) {
                                   *stop = !visitor(data.trace_id(rows[i]), data.start(rows[i]));
                                 }
                                 return s;
                               });
}

}  // namespace spanstore
