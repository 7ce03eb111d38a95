// What a query reads of a span (engine/span_fields.h).

#include "engine/span_fields.h"

#include <algorithm>

namespace spanstore {
namespace {

// Adds to *f and *keys what testing an attribute in `scope` reads of a span; false for a
// scope this does not know.
bool AttributeFields(AttributeScope scope, std::string_view key, SpanFields* f,
                     std::vector<std::string_view>* keys) {
  switch (scope) {
    case AttributeScope::kAny:
      f->context = true;
      [[fallthrough]];
    case AttributeScope::kSpan:
      f->attributes = true;
      keys->push_back(key);
      return true;
    case AttributeScope::kResource:
    case AttributeScope::kInstrumentation:
      f->context = true;
      return true;
    case AttributeScope::kEvent:
      f->events = true;
      return true;
    case AttributeScope::kLink:
      f->links = true;
      return true;
  }
  return false;
}

// What FilterMatches(e, span) reads of a span beyond what every built span has (SpanFields);
// false when it may read something this does not know of.
bool FilterFields(const FilterExpr& e, SpanFields* f, std::vector<std::string_view>* keys) {
  switch (e.kind) {
    case FilterExpr::Kind::kTrue:
      return true;
    case FilterExpr::Kind::kAnd:
    case FilterExpr::Kind::kOr:
    case FilterExpr::Kind::kNot:
      return std::all_of(e.children.begin(), e.children.end(),
                         [&](const FilterExpr& c) { return FilterFields(c, f, keys); });
    case FilterExpr::Kind::kAttribute:
      return AttributeFields(e.attribute.scope, e.attribute.key, f, keys);
    case FilterExpr::Kind::kIntrinsic:
      switch (e.intrinsic) {
        case Intrinsic::kEventName:
          f->events = true;
          return true;
        case Intrinsic::kScopeName:
        case Intrinsic::kScopeVersion:
          f->context = true;
          return true;
        case Intrinsic::kLinkTraceId:
        case Intrinsic::kLinkSpanId:
          f->links = true;
          return true;
        case Intrinsic::kStatusMessage:
          f->misc = true;
          return true;
        case Intrinsic::kName:
        case Intrinsic::kServiceName:
        case Intrinsic::kTraceId:
        case Intrinsic::kSpanId:
        case Intrinsic::kParentSpanId:
        case Intrinsic::kStatus:
        case Intrinsic::kKind:
        case Intrinsic::kDuration:
        case Intrinsic::kStartTime:
        // Trace-level intrinsics read the trace summary, which a scan does not pass.
        case Intrinsic::kTraceDuration:
        case Intrinsic::kTraceRootService:
        case Intrinsic::kTraceRootName:
        // The nested-set numbers come from ids and parents, which every span has.
        case Intrinsic::kNestedSetLeft:
        case Intrinsic::kNestedSetRight:
        case Intrinsic::kNestedSetParent:
          return true;
      }
      return false;
  }
  return false;
}

}  // namespace

bool QueryFields(const SpanQuery& query, SpanFields* f, std::vector<std::string_view>* keys) {
  for (const AttributePredicate& p : query.attributes) {
    if (!AttributeFields(p.scope, p.key, f, keys)) return false;
  }
  return !query.filter.has_value() || FilterFields(*query.filter, f, keys);
}

bool TraceQueryFields(const TraceQuery& query, SpanFields* f, std::vector<std::string_view>* keys) {
  auto spansets = [&](const SpansetExpr& e, auto& self) -> bool {
    if (e.op == SpansetOp::kFilter) return QueryFields(e.filter, f, keys);
    return std::all_of(e.children.begin(), e.children.end(),
                       [&](const SpansetExpr& c) { return self(c, self); });
  };
  auto field = [&](const TraceQLField& x) {
    if (x.is_attribute) return AttributeFields(x.scope, x.key, f, keys);
    FilterExpr e;
    e.kind = FilterExpr::Kind::kIntrinsic;
    e.intrinsic = x.intrinsic;
    return FilterFields(e, f, keys);
  };
  if (!spansets(query.spansets, spansets)) return false;
  for (const PipelineStage& stage : query.pipeline) {
    switch (stage.kind) {
      case PipelineStage::Kind::kAggregate:
        if (stage.fn != AggregateFn::kCount && !field(stage.field)) return false;
        break;
      case PipelineStage::Kind::kBy:
      case PipelineStage::Kind::kSelect:
        if (!std::all_of(stage.fields.begin(), stage.fields.end(), field)) return false;
        break;
      case PipelineStage::Kind::kFilter:
        if (!QueryFields(stage.filter, f, keys)) return false;
        break;
    }
  }
  return std::all_of(query.selected.begin(), query.selected.end(), field);
}

}  // namespace spanstore
