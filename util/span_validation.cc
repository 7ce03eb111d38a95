#include "absl/strings/str_format.h"
#include "spanstore/validation.h"

namespace spanstore {
namespace {

// Deepest AnyValue nesting accepted. The row decoder refuses deeper values (span_codec.cc), so
// this must stay below its limit.
constexpr int kMaxNesting = 32;

class Validator {
 public:
  Validator(const Options& options, const Span& span) : options_(options), span_(span) {}

  absl::Status Check() {
    if (!span_.trace_id.IsValid()) return Error("trace id is all zeros");
    if (!span_.span_id.IsValid()) return Error("span id is all zeros");
    String("trace_state", span_.trace_state);
    String("service_name", span_.service_name);
    String("name", span_.name);
    String("status_message", span_.status_message);
    String("scope_name", span_.scope_name);
    String("scope_version", span_.scope_version);
    String("resource_schema_url", span_.resource_schema_url);
    String("scope_schema_url", span_.scope_schema_url);
    List("attributes", span_.attributes, 0);
    List("resource attributes", span_.resource_attributes, 0);
    List("scope attributes", span_.scope_attributes, 0);
    if (span_.events.size() > options_.max_attributes) {
      Fail(absl::StrFormat("%d events, more than the limit of %d", span_.events.size(),
                           options_.max_attributes));
    }
    if (span_.links.size() > options_.max_attributes) {
      Fail(absl::StrFormat("%d links, more than the limit of %d", span_.links.size(),
                           options_.max_attributes));
    }
    for (const SpanEvent& e : span_.events) {
      String("event name", e.name);
      List("event attributes", e.attributes, 0);
    }
    for (const SpanLink& l : span_.links) {
      String("link trace_state", l.trace_state);
      List("link attributes", l.attributes, 0);
    }
    return problem_.empty() ? absl::OkStatus() : Error(problem_);
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrFormat(
        "span %s/%s (%s): %s", span_.trace_id.ToHex(), span_.span_id.ToHex(),
        span_.name.substr(0, 64), what));
  }
  void Fail(std::string what) {
    if (problem_.empty()) problem_ = std::move(what);
  }
  void String(const char* field, const std::string& s) {
    if (s.size() > options_.max_string_bytes) {
      Fail(absl::StrFormat("%s is %d bytes, more than max_string_bytes (%d)", field, s.size(),
                           options_.max_string_bytes));
    }
  }
  void List(const char* field, const Attributes& attrs, int depth) {
    if (attrs.size() > options_.max_attributes) {
      Fail(absl::StrFormat("%s has %d entries, more than max_attributes (%d)", field,
                           attrs.size(), options_.max_attributes));
      return;
    }
    for (const KeyValue& kv : attrs) {
      String(field, kv.key);
      Value(field, kv.value, depth);
    }
  }
  void Value(const char* field, const AnyValue& v, int depth) {
    if (depth > kMaxNesting) {
      Fail(absl::StrFormat("%s: a value is nested more than %d levels deep", field, kMaxNesting));
      return;
    }
    switch (v.type()) {
      case AnyValue::Type::kString:
        String(field, v.string_value());
        break;
      case AnyValue::Type::kBytes:
        String(field, v.bytes_value());
        break;
      case AnyValue::Type::kArray:
        if (v.array_value().size() > options_.max_attributes) {
          Fail(absl::StrFormat("%s: an array has %d elements, more than max_attributes (%d)",
                               field, v.array_value().size(), options_.max_attributes));
          return;
        }
        for (const AnyValue& e : v.array_value()) Value(field, e, depth + 1);
        break;
      case AnyValue::Type::kMap:
        List(field, v.map_value(), depth + 1);
        break;
      default:
        break;
    }
  }

  const Options& options_;
  const Span& span_;
  std::string problem_;
};

}  // namespace

absl::Status ValidateSpan(const Options& options, const Span& span) {
  return Validator(options, span).Check();
}

}  // namespace spanstore
