// SpanMatches / FilterMatches: the reference semantics of a SpanQuery, shared by every storage
// path (memtable, blocks) and by the tests' model.

#include "query/span_matcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "spanstore/jaeger.h"
#include "spanstore/query.h"

namespace spanstore {

// --- Regex ---------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const Regex>> Regex::Compile(std::string_view pattern) {
  std::shared_ptr<Regex> regex(new Regex(std::string(pattern)));
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // bounds the compiled program for hostile patterns
  regex->re_ = std::make_unique<re2::RE2>(re2::StringPiece(regex->pattern_), options);
  if (!regex->re_->ok()) {
    return absl::InvalidArgumentError("invalid regular expression \"" + regex->pattern_ +
                                      "\": " + regex->re_->error());
  }
  return std::shared_ptr<const Regex>(std::move(regex));
}

Regex::Regex(std::string pattern) : pattern_(std::move(pattern)) {}
Regex::~Regex() = default;

int Regex::ProgramSize() const { return re_->ProgramSize(); }

bool Regex::FullMatch(std::string_view text) const {
  return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

// --- Comparisons -----------------------------------------------------------------------------

namespace {

template <typename T>
bool Compare(const T& a, CompareOp op, const T& b) {
  switch (op) {
    case CompareOp::kEq:
      return a == b;
    case CompareOp::kNe:
      return a != b;
    case CompareOp::kLt:
      return a < b;
    case CompareOp::kLe:
      return a <= b;
    case CompareOp::kGt:
      return a > b;
    case CompareOp::kGe:
      return a >= b;
    default:
      return false;
  }
}

bool IsNumber(const AnyValue& v) {
  return v.type() == AnyValue::Type::kInt || v.type() == AnyValue::Type::kDouble;
}

bool CompareScalars(const AnyValue& actual, CompareOp op, const AnyValue& literal,
                    const Regex* regex);

// Compares an actual value with a query literal, TraceQL style. Incompatible types: false.
// An array against a scalar literal compares element by element, as Tempo does: `=`, `=~`
// and the orderings hold when some element satisfies them; `!=` and `!~` when no element is
// equal to (matches) the literal. An array literal compares whole.
bool CompareValues(const AnyValue& actual, CompareOp op, const AnyValue& literal,
                   const Regex* regex) {
  if (op == CompareOp::kExists) return true;
  if (actual.type() == AnyValue::Type::kArray && literal.type() != AnyValue::Type::kArray) {
    const auto& elements = actual.array_value();
    if (op == CompareOp::kNe || op == CompareOp::kNotRegex) {
      const CompareOp positive = op == CompareOp::kNe ? CompareOp::kEq : CompareOp::kRegex;
      return std::none_of(elements.begin(), elements.end(), [&](const AnyValue& e) {
        return CompareScalars(e, positive, literal, regex);
      });
    }
    return std::any_of(elements.begin(), elements.end(),
                       [&](const AnyValue& e) { return CompareScalars(e, op, literal, regex); });
  }
  return CompareScalars(actual, op, literal, regex);
}

bool CompareScalars(const AnyValue& actual, CompareOp op, const AnyValue& literal,
                    const Regex* regex) {
  if (op == CompareOp::kRegex || op == CompareOp::kNotRegex) {
    if (actual.type() != AnyValue::Type::kString || regex == nullptr) return false;
    return regex->FullMatch(actual.string_value()) == (op == CompareOp::kRegex);
  }
  if (IsNumber(actual) && IsNumber(literal)) {
    if (actual.type() == AnyValue::Type::kInt && literal.type() == AnyValue::Type::kInt) {
      return Compare(actual.int_value(), op, literal.int_value());
    }
    const double a = actual.type() == AnyValue::Type::kInt
                         ? static_cast<double>(actual.int_value())
                         : actual.double_value();
    const double b = literal.type() == AnyValue::Type::kInt
                         ? static_cast<double>(literal.int_value())
                         : literal.double_value();
    return Compare(a, op, b);
  }
  if (actual.type() != literal.type()) return false;
  switch (actual.type()) {
    case AnyValue::Type::kString:
      return Compare(std::string_view(actual.string_value()), op,
                     std::string_view(literal.string_value()));
    case AnyValue::Type::kBool:
      return (op == CompareOp::kEq || op == CompareOp::kNe) &&
             Compare(actual.bool_value(), op, literal.bool_value());
    case AnyValue::Type::kBytes:
      return Compare(std::string_view(actual.bytes_value()), op,
                     std::string_view(literal.bytes_value()));
    default:
      return (op == CompareOp::kEq && actual == literal) ||
             (op == CompareOp::kNe && !(actual == literal));
  }
}

const AnyValue* LookupAttribute(const Span& span, AttributeScope scope, std::string_view key) {
  if (scope == AttributeScope::kAny || scope == AttributeScope::kSpan) {
    if (const AnyValue* v = FindAttribute(span.attributes, key)) return v;
  }
  if (scope == AttributeScope::kAny || scope == AttributeScope::kResource) {
    if (const AnyValue* v = FindAttribute(span.resource_attributes, key)) return v;
  }
  if (scope == AttributeScope::kInstrumentation) return FindAttribute(span.scope_attributes, key);
  return nullptr;
}

// One value against the predicate (arrays element by element: CompareValues).
bool ValueMatches(const AttributePredicate& p, const AnyValue& v) {
  if (p.as_string) {
    if (p.value.type() != AnyValue::Type::kString) return false;
    const bool equal = JaegerValueString(v) == p.value.string_value();
    return p.op == CompareOp::kEq ? equal : p.op == CompareOp::kNe && !equal;
  }
  return CompareValues(v, p.op, p.value, p.regex.get());
}

bool AttributeMatches(const AttributePredicate& p, const Span& span) {
  // Events and links: one of them must carry a matching value.
  if (p.scope == AttributeScope::kEvent) {
    for (const SpanEvent& e : span.events) {
      const AnyValue* v = FindAttribute(e.attributes, p.key);
      if (v != nullptr && ValueMatches(p, *v)) return true;
    }
    return false;
  }
  if (p.scope == AttributeScope::kLink) {
    for (const SpanLink& l : span.links) {
      const AnyValue* v = FindAttribute(l.attributes, p.key);
      if (v != nullptr && ValueMatches(p, *v)) return true;
    }
    return false;
  }
  if (p.scope == AttributeScope::kAny) {
    // Tempo's unscoped `.k`: the condition holds when it holds for the span's attribute or for
    // its resource's, not only for whichever is found first (a span and its resource may both
    // carry the key, with different values).
    const AnyValue* v = FindAttribute(span.attributes, p.key);
    if (v != nullptr && ValueMatches(p, *v)) return true;
    v = FindAttribute(span.resource_attributes, p.key);
    return v != nullptr && ValueMatches(p, *v);
  }
  const AnyValue* v = LookupAttribute(span, p.scope, p.key);
  if (v == nullptr) return false;
  return ValueMatches(p, *v);
}

bool StringIntrinsic(std::string_view actual, const FilterExpr& e) {
  if (e.op == CompareOp::kExists) return true;
  if (e.op == CompareOp::kRegex || e.op == CompareOp::kNotRegex) {
    return e.regex != nullptr && e.regex->FullMatch(actual) == (e.op == CompareOp::kRegex);
  }
  if (e.value.type() != AnyValue::Type::kString) return false;
  return Compare(actual, e.op, std::string_view(e.value.string_value()));
}

bool IntIntrinsic(int64_t actual, const FilterExpr& e) {
  if (e.op == CompareOp::kExists) return true;
  return CompareValues(AnyValue::Int(actual), e.op, e.value, nullptr);
}

bool IntrinsicMatches(const FilterExpr& e, const Span& span, const TraceSummary* trace) {
  switch (e.intrinsic) {
    case Intrinsic::kEventName:
      return std::any_of(span.events.begin(), span.events.end(),
                         [&](const SpanEvent& ev) { return StringIntrinsic(ev.name, e); });
    case Intrinsic::kScopeName:
      return StringIntrinsic(span.scope_name, e);
    case Intrinsic::kScopeVersion:
      return StringIntrinsic(span.scope_version, e);
    case Intrinsic::kLinkTraceId:
      return std::any_of(span.links.begin(), span.links.end(),
                         [&](const SpanLink& l) { return StringIntrinsic(l.trace_id.ToHex(), e); });
    case Intrinsic::kLinkSpanId:
      return std::any_of(span.links.begin(), span.links.end(),
                         [&](const SpanLink& l) { return StringIntrinsic(l.span_id.ToHex(), e); });
    case Intrinsic::kTraceDuration:
      return trace != nullptr &&
             IntIntrinsic(
                 static_cast<int64_t>(std::min<uint64_t>(trace->duration_nanos, INT64_MAX)), e);
    case Intrinsic::kTraceRootService:
      return trace != nullptr && StringIntrinsic(trace->root_service, e);
    case Intrinsic::kTraceRootName:
      return trace != nullptr && StringIntrinsic(trace->root_name, e);
    case Intrinsic::kName:
      return StringIntrinsic(span.name, e);
    case Intrinsic::kStatusMessage:
      return StringIntrinsic(span.status_message, e);
    case Intrinsic::kServiceName:
      return StringIntrinsic(span.service_name, e);
    case Intrinsic::kTraceId:
      return StringIntrinsic(span.trace_id.ToHex(), e);
    case Intrinsic::kSpanId:
      return StringIntrinsic(span.span_id.ToHex(), e);
    case Intrinsic::kParentSpanId:
      return StringIntrinsic(span.is_root() ? "" : span.parent_span_id.ToHex(), e);
    case Intrinsic::kNestedSetLeft:  // the parser lets none of them into a filter
    case Intrinsic::kNestedSetRight:
    case Intrinsic::kNestedSetParent:
      return false;
    case Intrinsic::kStatus:
      return IntIntrinsic(static_cast<int64_t>(span.status_code), e);
    case Intrinsic::kKind:
      return IntIntrinsic(static_cast<int64_t>(span.kind), e);
    case Intrinsic::kDuration: {
      const uint64_t d = span.duration_nanos();
      return IntIntrinsic(d > INT64_MAX ? INT64_MAX : static_cast<int64_t>(d), e);
    }
    case Intrinsic::kStartTime: {
      const uint64_t t = span.start_time_unix_nano;
      return IntIntrinsic(t > INT64_MAX ? INT64_MAX : static_cast<int64_t>(t), e);
    }
  }
  return false;
}

template <typename T>
bool OneOf(const std::vector<T>& allowed, const T& v) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

}  // namespace

bool AttributeValueMatches(const AttributePredicate& p, const AnyValue& value) {
  return ValueMatches(p, value);
}

bool IsTraceIntrinsic(Intrinsic intrinsic) {
  return intrinsic == Intrinsic::kTraceDuration || intrinsic == Intrinsic::kTraceRootService ||
         intrinsic == Intrinsic::kTraceRootName;
}

bool FilterMatches(const FilterExpr& expr, const Span& span) {
  return FilterMatches(expr, span, nullptr);
}

bool FilterMatches(const FilterExpr& expr, const Span& span, const TraceSummary* trace) {
  switch (expr.kind) {
    case FilterExpr::Kind::kTrue:
      return true;
    case FilterExpr::Kind::kAnd:
      for (const FilterExpr& c : expr.children) {
        if (!FilterMatches(c, span, trace)) return false;
      }
      return true;
    case FilterExpr::Kind::kOr:
      for (const FilterExpr& c : expr.children) {
        if (FilterMatches(c, span, trace)) return true;
      }
      return false;
    case FilterExpr::Kind::kNot:
      return !expr.children.empty() && !FilterMatches(expr.children[0], span, trace);
    case FilterExpr::Kind::kAttribute:
      return AttributeMatches(expr.attribute, span);
    case FilterExpr::Kind::kIntrinsic:
      return IntrinsicMatches(expr, span, trace);
  }
  return false;
}

bool SpanMatches(const SpanQuery& query, const Span& span) {
  return SpanMatches(query, span, nullptr);
}

bool SpanMatches(const SpanQuery& query, const Span& span, const TraceSummary* trace) {
  if (span.start_time_unix_nano < query.start_min || span.start_time_unix_nano > query.start_max) {
    return false;
  }
  const uint64_t duration = span.duration_nanos();
  if (duration < query.min_duration_nanos || duration > query.max_duration_nanos) return false;
  if (query.status.has_value() && span.status_code != *query.status) return false;
  if (!OneOf(query.kinds, span.kind)) return false;
  if (!query.services.empty() &&
      std::find(query.services.begin(), query.services.end(), span.service_name) ==
          query.services.end()) {
    return false;
  }
  if (!query.names.empty() &&
      std::find(query.names.begin(), query.names.end(), span.name) == query.names.end()) {
    return false;
  }
  for (const AttributePredicate& p : query.attributes) {
    if (!AttributeMatches(p, span)) return false;
  }
  return !query.filter.has_value() || FilterMatches(*query.filter, span, trace);
}

absl::Status CheckQueryInterrupted(const SpanQuery& query) {
  if (query.cancel != nullptr && query.cancel->load(std::memory_order_relaxed)) {
    return absl::CancelledError("the query was cancelled");
  }
  // absl::Now() costs tens of nanoseconds, so a query without a deadline skips it.
  if (query.deadline != absl::InfiniteFuture() && absl::Now() >= query.deadline) {
    return absl::DeadlineExceededError("the query ran past its deadline");
  }
  return absl::OkStatus();
}

bool CompareNumbers(double a, CompareOp op, double b) { return Compare(a, op, b); }

}  // namespace spanstore
