// EvaluateTraceQuery: the meaning of a TraceQuery on one trace (docs/traceql.md). The engine's
// Store::Search finds candidate traces from the columns and runs this on each; tests compare it
// with a naive reference evaluator.
//
// A spanset is a bit per span of the trace. The structure comes from parent ids: each span's
// parent is the first span of the trace with that id, and a parent that is not in the store
// relates to nothing.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "query/span_matcher.h"
#include "spanstore/traceql.h"

namespace spanstore {
namespace {

using Bits = std::vector<bool>;

bool Any(const Bits& b) { return std::find(b.begin(), b.end(), true) != b.end(); }

class TraceEval {
 public:
  TraceEval(absl::Span<const Span> spans, const TraceSummary& summary, uint64_t start_min,
            uint64_t start_max)
      : spans_(spans), summary_(summary), start_min_(start_min), start_max_(start_max) {
    const size_t n = spans.size();
    absl::flat_hash_map<SpanId, int> index;
    index.reserve(n);
    for (size_t i = 0; i < n; ++i) index.try_emplace(spans[i].span_id, static_cast<int>(i));
    parent_.assign(n, -1);
    for (size_t i = 0; i < n; ++i) {
      if (spans[i].is_root()) continue;
      auto it = index.find(spans[i].parent_span_id);
      if (it != index.end() && it->second != static_cast<int>(i)) parent_[i] = it->second;
    }
  }

  bool Matches(const SpanQuery& filter, size_t i) const {
    const Span& s = spans_[i];
    return s.start_time_unix_nano >= start_min_ && s.start_time_unix_nano <= start_max_ &&
           SpanMatches(filter, s, &summary_);
  }

  Bits Eval(const SpansetExpr& e) const {
    const size_t n = spans_.size();
    if (e.op == SpansetOp::kFilter) {
      Bits out(n);
      for (size_t i = 0; i < n; ++i) out[i] = Matches(e.filter, i);
      return out;
    }
    const Bits a = Eval(e.children[0]);
    const Bits b = Eval(e.children[1]);
    Bits out(n);
    switch (e.op) {
      case SpansetOp::kAnd:
        if (Any(a) && Any(b)) {
          for (size_t i = 0; i < n; ++i) out[i] = a[i] || b[i];
        }
        return out;
      case SpansetOp::kOr:
        for (size_t i = 0; i < n; ++i) out[i] = a[i] || b[i];
        return out;
      default:
        return StructuralOp(e, a, b);
    }
  }

  const std::vector<int>& parent() const { return parent_; }

 private:
  // The ancestors of span i, nearest first; a cycle of parent ids ends the walk.
  template <typename Visit>
  void ForEachAncestor(size_t i, Visit visit) const {
    int p = parent_[i];
    for (size_t steps = 0; p >= 0 && steps < spans_.size(); ++steps) {
      if (!visit(static_cast<size_t>(p))) return;
      p = parent_[p];
    }
  }

  Bits StructuralOp(const SpansetExpr& e, const Bits& a, const Bits& b) const {
    const size_t n = spans_.size();
    Bits holds(n);      // for each B span: the relation holds
    Bits related_a(n);  // the A spans related to some B span for which it holds
    switch (e.op) {
      case SpansetOp::kChild:  // B's parent is in A
        for (size_t i = 0; i < n; ++i) {
          if (b[i] && parent_[i] >= 0 && a[parent_[i]]) {
            holds[i] = true;
            related_a[parent_[i]] = true;
          }
        }
        break;
      case SpansetOp::kDescendant:  // an ancestor of B is in A
        for (size_t i = 0; i < n; ++i) {
          if (!b[i]) continue;
          ForEachAncestor(i, [&](size_t p) {
            if (a[p]) {
              holds[i] = true;
              related_a[p] = true;
              return e.both;  // every A ancestor only when they are returned
            }
            return true;
          });
        }
        break;
      case SpansetOp::kParent:  // B is the parent of an A span
        for (size_t c = 0; c < n; ++c) {
          if (a[c] && parent_[c] >= 0 && b[parent_[c]]) {
            holds[parent_[c]] = true;
            related_a[c] = true;
          }
        }
        break;
      case SpansetOp::kAncestor:  // B is an ancestor of an A span
        for (size_t c = 0; c < n; ++c) {
          if (!a[c]) continue;
          ForEachAncestor(c, [&](size_t p) {
            if (b[p]) {
              holds[p] = true;
              related_a[c] = true;
            }
            return true;
          });
        }
        break;
      case SpansetOp::kSibling: {  // another span with B's (non-zero) parent id is in A
        absl::flat_hash_map<SpanId, int> a_children;
        for (size_t i = 0; i < n; ++i) {
          if (a[i] && !spans_[i].is_root()) ++a_children[spans_[i].parent_span_id];
        }
        for (size_t i = 0; i < n; ++i) {
          if (!b[i] || spans_[i].is_root()) continue;
          auto it = a_children.find(spans_[i].parent_span_id);
          if (it != a_children.end() && it->second - (a[i] ? 1 : 0) > 0) holds[i] = true;
        }
        if (e.both) {
          for (size_t i = 0; i < n; ++i) {
            if (!a[i] || spans_[i].is_root()) continue;
            for (size_t j = 0; j < n; ++j) {
              if (j != i && holds[j] && spans_[j].parent_span_id == spans_[i].parent_span_id) {
                related_a[i] = true;
                break;
              }
            }
          }
        }
        break;
      }
      default:
        break;
    }
    Bits out(n);
    for (size_t i = 0; i < n; ++i) {
      out[i] = e.negated ? b[i] && !holds[i] : holds[i] || (e.both && related_a[i]);
    }
    return out;
  }

  absl::Span<const Span> spans_;
  const TraceSummary& summary_;
  uint64_t start_min_, start_max_;
  std::vector<int> parent_;
};

const AnyValue* FindIn(const Attributes& attrs, const std::string& key) {
  return FindAttribute(attrs, key);
}

std::string AggregateText(const PipelineStage& s) {
  static constexpr const char* kNames[] = {"count", "avg", "min", "max", "sum"};
  return absl::StrCat(kNames[static_cast<int>(s.fn)], "(",
                      s.fn == AggregateFn::kCount ? "" : s.field.text, ")");
}

// The aggregate of a spanset, or nullopt when no span has a numeric value of the field.
std::optional<double> Aggregate(const PipelineStage& s, const std::vector<const Span*>& spans,
                                const TraceSummary& summary) {
  if (s.fn == AggregateFn::kCount) return static_cast<double>(spans.size());
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  size_t count = 0;
  for (const Span* span : spans) {
    const AnyValue v = FieldValue(s.field, *span, summary);
    double x;
    if (v.type() == AnyValue::Type::kInt) {
      x = static_cast<double>(v.int_value());
    } else if (v.type() == AnyValue::Type::kDouble) {
      x = v.double_value();
    } else {
      continue;
    }
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    ++count;
  }
  if (count == 0) return std::nullopt;
  switch (s.fn) {
    case AggregateFn::kAvg:
      return sum / static_cast<double>(count);
    case AggregateFn::kMin:
      return lo;
    case AggregateFn::kMax:
      return hi;
    default:
      return sum;
  }
}

struct WorkSet {
  std::vector<const Span*> spans;
  std::vector<std::pair<std::string, AnyValue>> by;
  std::vector<std::pair<std::string, AnyValue>> aggregates;
};

}  // namespace

AnyValue FieldValue(const TraceQLField& f, const Span& span, const TraceSummary& trace) {
  if (f.is_attribute) {
    const AnyValue* v = nullptr;
    switch (f.scope) {
      case AttributeScope::kAny:
        v = FindIn(span.attributes, f.key);
        if (v == nullptr) v = FindIn(span.resource_attributes, f.key);
        break;
      case AttributeScope::kSpan:
        v = FindIn(span.attributes, f.key);
        break;
      case AttributeScope::kResource:
        v = FindIn(span.resource_attributes, f.key);
        break;
      case AttributeScope::kInstrumentation:
        v = FindIn(span.scope_attributes, f.key);
        break;
      case AttributeScope::kEvent:
        for (const SpanEvent& e : span.events) {
          if ((v = FindIn(e.attributes, f.key)) != nullptr) break;
        }
        break;
      case AttributeScope::kLink:
        for (const SpanLink& l : span.links) {
          if ((v = FindIn(l.attributes, f.key)) != nullptr) break;
        }
        break;
    }
    return v == nullptr ? AnyValue() : *v;
  }
  auto clamp = [](uint64_t x) { return static_cast<int64_t>(std::min<uint64_t>(x, INT64_MAX)); };
  switch (f.intrinsic) {
    case Intrinsic::kName:
      return AnyValue::String(span.name);
    case Intrinsic::kStatus:
      return AnyValue::String(std::string(StatusCodeName(span.status_code)));
    case Intrinsic::kKind:
      return AnyValue::String(std::string(SpanKindName(span.kind)));
    case Intrinsic::kDuration:
      return AnyValue::Int(clamp(span.duration_nanos()));
    case Intrinsic::kStatusMessage:
      return AnyValue::String(span.status_message);
    case Intrinsic::kServiceName:
      return AnyValue::String(span.service_name);
    case Intrinsic::kTraceId:
      return AnyValue::String(span.trace_id.ToHex());
    case Intrinsic::kSpanId:
      return AnyValue::String(span.span_id.ToHex());
    case Intrinsic::kParentSpanId:
      return AnyValue::String(span.is_root() ? "" : span.parent_span_id.ToHex());
    case Intrinsic::kStartTime:
      return AnyValue::Int(clamp(span.start_time_unix_nano));
    case Intrinsic::kEventName:
      return span.events.empty() ? AnyValue() : AnyValue::String(span.events[0].name);
    case Intrinsic::kScopeName:
      return AnyValue::String(span.scope_name);
    case Intrinsic::kScopeVersion:
      return AnyValue::String(span.scope_version);
    case Intrinsic::kLinkTraceId:
      return span.links.empty() ? AnyValue() : AnyValue::String(span.links[0].trace_id.ToHex());
    case Intrinsic::kLinkSpanId:
      return span.links.empty() ? AnyValue() : AnyValue::String(span.links[0].span_id.ToHex());
    case Intrinsic::kTraceDuration:
      return AnyValue::Int(clamp(trace.duration_nanos));
    case Intrinsic::kTraceRootService:
      return AnyValue::String(trace.root_service);
    case Intrinsic::kTraceRootName:
      return AnyValue::String(trace.root_name);
    case Intrinsic::kNestedSetLeft:  // need the trace's tree: query/nested_set.h
    case Intrinsic::kNestedSetRight:
    case Intrinsic::kNestedSetParent:
      return AnyValue();
  }
  return AnyValue();
}

std::vector<Spanset> EvaluateTraceQuery(const TraceQuery& query, absl::Span<const Span> spans,
                                        const TraceSummary& summary, uint64_t start_min,
                                        uint64_t start_max) {
  TraceEval eval(spans, summary, start_min, start_max);
  const Bits matched = eval.Eval(query.spansets);
  std::vector<WorkSet> sets(1);
  for (size_t i = 0; i < spans.size(); ++i) {
    if (matched[i]) sets[0].spans.push_back(&spans[i]);
  }
  if (sets[0].spans.empty()) return {};
  for (const PipelineStage& stage : query.pipeline) {
    std::vector<WorkSet> next;
    for (WorkSet& set : sets) {
      switch (stage.kind) {
        case PipelineStage::Kind::kSelect:
          next.push_back(std::move(set));
          break;
        case PipelineStage::Kind::kFilter: {
          WorkSet kept;
          kept.by = set.by;
          kept.aggregates = set.aggregates;
          for (const Span* s : set.spans) {
            if (s->start_time_unix_nano >= start_min && s->start_time_unix_nano <= start_max &&
                SpanMatches(stage.filter, *s, &summary)) {
              kept.spans.push_back(s);
            }
          }
          if (!kept.spans.empty()) next.push_back(std::move(kept));
          break;
        }
        case PipelineStage::Kind::kBy: {
          // Groups in order of first appearance; a missing value groups as nil.
          std::vector<std::pair<std::vector<AnyValue>, WorkSet>> groups;
          for (const Span* s : set.spans) {
            std::vector<AnyValue> key;
            for (const TraceQLField& f : stage.fields) key.push_back(FieldValue(f, *s, summary));
            auto it = std::find_if(groups.begin(), groups.end(),
                                   [&](const auto& g) { return g.first == key; });
            if (it == groups.end()) {
              WorkSet g;
              g.by = set.by;
              g.aggregates = set.aggregates;
              for (size_t k = 0; k < key.size(); ++k) {
                g.by.emplace_back(stage.fields[k].text, key[k]);
              }
              groups.emplace_back(key, std::move(g));
              it = groups.end() - 1;
            }
            it->second.spans.push_back(s);
          }
          for (auto& g : groups) next.push_back(std::move(g.second));
          break;
        }
        case PipelineStage::Kind::kAggregate: {
          const std::optional<double> v = Aggregate(stage, set.spans, summary);
          const double literal = stage.value.type() == AnyValue::Type::kInt
                                     ? static_cast<double>(stage.value.int_value())
                                     : stage.value.double_value();
          if (!v.has_value() || !CompareNumbers(*v, stage.op, literal)) break;
          const bool integral = std::floor(*v) == *v && std::fabs(*v) < 9e18;
          set.aggregates.emplace_back(
              AggregateText(stage),
              integral ? AnyValue::Int(static_cast<int64_t>(*v)) : AnyValue::Double(*v));
          next.push_back(std::move(set));
          break;
        }
      }
    }
    sets = std::move(next);
    if (sets.empty()) return {};
  }
  std::vector<Spanset> out;
  out.reserve(sets.size());
  for (WorkSet& w : sets) {
    Spanset s;
    s.spans.reserve(w.spans.size());
    for (const Span* span : w.spans) s.spans.push_back(*span);
    s.by = std::move(w.by);
    s.aggregates = std::move(w.aggregates);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace spanstore
