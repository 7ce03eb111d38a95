// The span data model: the OpenTelemetry span, as stored and returned by spanstore.
//
// Every field of an OTLP span has a place here, so that a span that goes in comes out equal
// (the WAL, the column blocks and every loader are round-trip tested against operator==).
//
// Thread safety: these are plain value types; const access from many threads is safe.

#ifndef SPANSTORE_SPAN_H_
#define SPANSTORE_SPAN_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "spanstore/export.h"

namespace spanstore {

// A 16-byte trace id. All-zero is invalid (W3C Trace Context).
struct SPANSTORE_EXPORT TraceId {
  std::array<uint8_t, 16> bytes{};

  // Accepts exactly 32 hex digits, either case. Errors: InvalidArgument naming the bad character.
  static absl::StatusOr<TraceId> FromHex(std::string_view hex);
  // Accepts 1..32 hex digits and left-pads with zeros: Jaeger drops leading zeros and Zipkin
  // has 64-bit (16-digit) trace ids.
  static absl::StatusOr<TraceId> FromShortHex(std::string_view hex);
  // From 16 raw bytes (e.g. a protobuf `bytes` field). InvalidArgument unless size()==16.
  static absl::StatusOr<TraceId> FromBytes(std::string_view raw);
  std::string ToHex() const;  // 32 lower-case hex digits
  bool IsValid() const;       // not all zero

  // Low 64 bits as a big-endian integer: a cheap, well-mixed key for sampling decisions.
  uint64_t Low64() const;

  friend bool operator==(const TraceId&, const TraceId&) = default;
  friend std::strong_ordering operator<=>(const TraceId&, const TraceId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TraceId& id) {
    return H::combine_contiguous(std::move(h), id.bytes.data(), id.bytes.size());
  }
};

// An 8-byte span id. All-zero is invalid as an id, and means "no parent" in parent_span_id.
struct SPANSTORE_EXPORT SpanId {
  std::array<uint8_t, 8> bytes{};

  static absl::StatusOr<SpanId> FromHex(std::string_view hex);       // exactly 16 hex digits
  static absl::StatusOr<SpanId> FromShortHex(std::string_view hex);  // 1..16, left-padded
  static absl::StatusOr<SpanId> FromBytes(std::string_view raw);     // exactly 8 bytes
  std::string ToHex() const;
  bool IsValid() const;

  friend bool operator==(const SpanId&, const SpanId&) = default;
  friend std::strong_ordering operator<=>(const SpanId&, const SpanId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SpanId& id) {
    return H::combine_contiguous(std::move(h), id.bytes.data(), id.bytes.size());
  }
};

// A parsed W3C `traceparent` header: "00-<32 hex>-<16 hex>-<2 hex>".
struct SPANSTORE_EXPORT TraceParent {
  uint8_t version = 0;
  TraceId trace_id;
  SpanId span_id;
  uint8_t flags = 0;  // bit 0: sampled
};

// Rejects malformed headers with InvalidArgument naming the offending position: wrong length,
// non-hex or upper-case digits, version ff, all-zero ids. Surrounding whitespace is ignored.
// Per the spec, a future version (>00) may carry extra "-..." fields after the flags.
SPANSTORE_EXPORT absl::StatusOr<TraceParent> ParseTraceparent(std::string_view header);

enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

enum class StatusCode : uint8_t {
  kUnset = 0,
  kOk = 1,
  kError = 2,
};

// Lower-case names as TraceQL spells them ("server", "error", ...).
SPANSTORE_EXPORT std::string_view SpanKindName(SpanKind kind);
SPANSTORE_EXPORT std::string_view StatusCodeName(StatusCode code);

struct KeyValue;

// An OTLP AnyValue: empty, string, bool, int64, double, bytes, array or key-value list.
//
// Equality compares doubles by bit pattern, so NaN == NaN and 0.0 != -0.0: "what goes in comes
// out equal" is a statement about bits. Query comparisons (query.h) use numeric semantics.
class SPANSTORE_EXPORT AnyValue {
 public:
  enum class Type : uint8_t {
    kEmpty = 0,
    kString = 1,
    kBool = 2,
    kInt = 3,
    kDouble = 4,
    kBytes = 5,
    kArray = 6,
    kMap = 7,
  };
  struct Bytes {
    std::string data;
    friend bool operator==(const Bytes&, const Bytes&) = default;
  };
  using Array = std::vector<AnyValue>;
  using Map = std::vector<KeyValue>;  // ordered; duplicate keys are kept as given

  AnyValue() = default;
  static AnyValue String(std::string v);
  static AnyValue Bool(bool v);
  static AnyValue Int(int64_t v);
  static AnyValue Double(double v);
  static AnyValue BytesValue(std::string raw);
  static AnyValue ArrayValue(Array v);
  static AnyValue MapValue(Map v);

  Type type() const { return static_cast<Type>(value_.index()); }
  bool empty() const { return type() == Type::kEmpty; }

  // REQUIRES: type() matches the accessor.
  const std::string& string_value() const { return std::get<1>(value_); }
  bool bool_value() const { return std::get<2>(value_); }
  int64_t int_value() const { return std::get<3>(value_); }
  double double_value() const { return std::get<4>(value_); }
  const std::string& bytes_value() const { return std::get<5>(value_).data; }
  const Array& array_value() const { return std::get<6>(value_); }
  const Map& map_value() const { return std::get<7>(value_); }
  std::string& mutable_string() { return std::get<1>(value_); }
  Array& mutable_array() { return std::get<6>(value_); }
  Map& mutable_map() { return std::get<7>(value_); }

  // In-place setters, for decoders that refill the same objects request after request: a value
  // that already holds a string (bytes) keeps its buffer, so refilling it allocates nothing.
  void set_empty();
  void set_string(std::string_view v);
  void set_bool(bool v);
  void set_int(int64_t v);
  void set_double(double v);
  void set_bytes(std::string_view v);
  // Makes this an array (a map). Elements it already holds as one are kept, so that a refill
  // can overwrite them in place; the caller then resizes it to the new length.
  Array& reuse_array();
  Map& reuse_map();

  // A human-readable rendering: strings unquoted, arrays/maps as JSON-ish text, bytes as base64.
  std::string ToString() const;

  // Defined in the library, so exported by name: a friend does not take the class's visibility.
  friend SPANSTORE_EXPORT bool operator==(const AnyValue& a, const AnyValue& b);

 private:
  std::variant<std::monostate, std::string, bool, int64_t, double, Bytes, Array, Map> value_;
};

struct SPANSTORE_EXPORT KeyValue {
  std::string key;
  AnyValue value;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

using Attributes = std::vector<KeyValue>;

// Defined here, where KeyValue is complete.
inline void AnyValue::set_empty() { value_.emplace<0>(); }
inline void AnyValue::set_string(std::string_view v) {
  if (auto* s = std::get_if<1>(&value_)) {
    if (s->size() == v.size()) {  // a refill often has the old length: skip assign's checks
      std::char_traits<char>::move(s->data(), v.data(), v.size());
    } else {
      s->assign(v.data(), v.size());
    }
  } else {
    value_.emplace<1>(v);
  }
}
inline void AnyValue::set_bool(bool v) { value_.emplace<2>(v); }
inline void AnyValue::set_int(int64_t v) { value_.emplace<3>(v); }
inline void AnyValue::set_double(double v) { value_.emplace<4>(v); }
inline void AnyValue::set_bytes(std::string_view v) {
  if (auto* b = std::get_if<5>(&value_)) {
    b->data.assign(v.data(), v.size());
  } else {
    value_.emplace<5>(Bytes{std::string(v)});
  }
}
inline AnyValue::Array& AnyValue::reuse_array() {
  if (auto* a = std::get_if<6>(&value_)) return *a;
  return value_.emplace<6>();
}
inline AnyValue::Map& AnyValue::reuse_map() {
  if (auto* m = std::get_if<7>(&value_)) return *m;
  return value_.emplace<7>();
}

// Returns the first attribute named `key`, or nullptr.
SPANSTORE_EXPORT const AnyValue* FindAttribute(const Attributes& attributes, std::string_view key);

struct SPANSTORE_EXPORT SpanEvent {
  uint64_t time_unix_nano = 0;
  std::string name;
  Attributes attributes;
  uint32_t dropped_attributes_count = 0;
  friend bool operator==(const SpanEvent&, const SpanEvent&) = default;
};

struct SPANSTORE_EXPORT SpanLink {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  Attributes attributes;
  uint32_t dropped_attributes_count = 0;
  uint32_t flags = 0;
  friend bool operator==(const SpanLink&, const SpanLink&) = default;
};

struct SPANSTORE_EXPORT Span {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // all zero for a root span
  std::string trace_state;
  uint32_t flags = 0;  // OTLP Span.flags (W3C trace flags in the low byte)

  // Copied from the resource attribute "service.name" by the loaders; kept in
  // resource_attributes too, so a round trip through OTLP is lossless.
  std::string service_name;
  std::string name;
  SpanKind kind = SpanKind::kUnspecified;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  StatusCode status_code = StatusCode::kUnset;
  std::string status_message;

  Attributes attributes;
  uint32_t dropped_attributes_count = 0;
  Attributes resource_attributes;
  std::string resource_schema_url;
  std::string scope_name;
  std::string scope_version;
  Attributes scope_attributes;
  std::string scope_schema_url;

  std::vector<SpanEvent> events;
  uint32_t dropped_events_count = 0;
  std::vector<SpanLink> links;
  uint32_t dropped_links_count = 0;

  bool is_root() const { return !parent_span_id.IsValid(); }
  // end - start, or 0 when end precedes start (clock skew in the wild).
  uint64_t duration_nanos() const {
    return end_time_unix_nano > start_time_unix_nano ? end_time_unix_nano - start_time_unix_nano
                                                     : 0;
  }

  friend bool operator==(const Span&, const Span&) = default;
};

}  // namespace spanstore

#endif  // SPANSTORE_SPAN_H_
