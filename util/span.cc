// The span data model: id parsing, traceparent, AnyValue.

#include "spanstore/span.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "util/absl_compat.h"

namespace spanstore {
namespace {

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return absl::StrCat("'", absl::string_view(&c, 1), "'");
  return absl::StrFormat("byte 0x%02x", static_cast<unsigned char>(c));
}

// Decodes hex into out[0..N), right-aligned (so short input is left-padded with zeros).
// `what` names the id kind in error messages.
template <size_t N>
absl::Status DecodeHex(std::string_view hex, bool allow_short, std::string_view what,
                       std::array<uint8_t, N>* out) {
  const size_t digits = 2 * N;
  if (hex.empty() || hex.size() > digits || (!allow_short && hex.size() != digits)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s must be %s%d hex digits, got %d characters", what, allow_short ? "1 to " : "",
        digits, hex.size()));
  }
  out->fill(0);
  const size_t pad = digits - hex.size();
  for (size_t i = 0; i < hex.size(); ++i) {
    const int v = HexDigitValue(hex[i]);
    if (v < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %s at position %d is not a hex digit", what, Printable(hex[i]), i + 1));
    }
    const size_t nibble = pad + i;
    (*out)[nibble / 2] |= static_cast<uint8_t>(nibble % 2 == 0 ? v << 4 : v);
  }
  return absl::OkStatus();
}

template <size_t N>
std::string EncodeHex(const std::array<uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

template <typename Id>
absl::StatusOr<Id> IdFromHex(std::string_view hex, bool allow_short, std::string_view what) {
  Id id;
  absl::Status s = DecodeHex(hex, allow_short, what, &id.bytes);
  if (!s.ok()) return s;
  return id;
}

template <typename Id>
absl::StatusOr<Id> IdFromBytes(std::string_view raw, std::string_view what) {
  Id id;
  if (raw.size() != id.bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s must be %d bytes, got %d", what, id.bytes.size(), raw.size()));
  }
  std::memcpy(id.bytes.data(), raw.data(), raw.size());
  return id;
}

}  // namespace

absl::StatusOr<TraceId> TraceId::FromHex(std::string_view hex) {
  return IdFromHex<TraceId>(hex, false, "trace id");
}
absl::StatusOr<TraceId> TraceId::FromShortHex(std::string_view hex) {
  return IdFromHex<TraceId>(hex, true, "trace id");
}
absl::StatusOr<TraceId> TraceId::FromBytes(std::string_view raw) {
  return IdFromBytes<TraceId>(raw, "trace id");
}
std::string TraceId::ToHex() const { return EncodeHex(bytes); }
bool TraceId::IsValid() const { return !AllZero(bytes); }
uint64_t TraceId::Low64() const {
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | bytes[i];
  return v;
}

absl::StatusOr<SpanId> SpanId::FromHex(std::string_view hex) {
  return IdFromHex<SpanId>(hex, false, "span id");
}
absl::StatusOr<SpanId> SpanId::FromShortHex(std::string_view hex) {
  return IdFromHex<SpanId>(hex, true, "span id");
}
absl::StatusOr<SpanId> SpanId::FromBytes(std::string_view raw) {
  return IdFromBytes<SpanId>(raw, "span id");
}
std::string SpanId::ToHex() const { return EncodeHex(bytes); }
bool SpanId::IsValid() const { return !AllZero(bytes); }

absl::StatusOr<TraceParent> ParseTraceparent(std::string_view header) {
  const std::string_view h = AsStd(absl::StripAsciiWhitespace(AsAbsl(header)));
  auto error = [&](size_t column, std::string_view what) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "traceparent \"%s\": column %d: %s (expected 00-<32 hex>-<16 hex>-<2 hex>)",
        absl::CHexEscape(AsAbsl(h.substr(0, 80))), column, what));
  };
  // Version, trace id, parent id and flags are fixed-width fields separated by '-'.
  static constexpr size_t kFieldStart[] = {0, 3, 36, 53};
  static constexpr size_t kFieldLen[] = {2, 32, 16, 2};
  if (h.size() < 55) {
    return error(h.size() + 1, absl::StrFormat("too short: %d characters, need 55", h.size()));
  }
  for (int f = 0; f < 4; ++f) {
    if (f > 0 && h[kFieldStart[f] - 1] != '-') {
      return error(kFieldStart[f], absl::StrCat("expected '-', found ",
                                                Printable(h[kFieldStart[f] - 1])));
    }
    for (size_t i = kFieldStart[f]; i < kFieldStart[f] + kFieldLen[f]; ++i) {
      const char c = h[i];
      // The spec allows lower-case hex only.
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return error(i + 1, absl::StrCat(Printable(c), " is not a lower-case hex digit"));
      }
    }
  }
  TraceParent tp;
  tp.version = static_cast<uint8_t>(HexDigitValue(h[0]) << 4 | HexDigitValue(h[1]));
  if (tp.version == 0xff) return error(1, "version ff is forbidden");
  if (tp.version == 0 && h.size() != 55) {
    return error(56, "version 00 has exactly 55 characters; found trailing data");
  }
  if (tp.version != 0 && h.size() > 55 && h[55] != '-') {
    return error(56, absl::StrCat("expected '-' before further fields, found ",
                                  Printable(h[55])));
  }
  auto trace_id = TraceId::FromHex(h.substr(3, 32));
  auto span_id = SpanId::FromHex(h.substr(36, 16));
  if (!trace_id.ok()) return trace_id.status();
  if (!span_id.ok()) return span_id.status();
  if (!trace_id->IsValid()) return error(4, "trace id is all zeros");
  if (!span_id->IsValid()) return error(37, "parent id is all zeros");
  tp.trace_id = *trace_id;
  tp.span_id = *span_id;
  tp.flags = static_cast<uint8_t>(HexDigitValue(h[53]) << 4 | HexDigitValue(h[54]));
  return tp;
}

std::string_view SpanKindName(SpanKind kind) {
  switch (kind) {
    case SpanKind::kUnspecified:
      return "unspecified";
    case SpanKind::kInternal:
      return "internal";
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kProducer:
      return "producer";
    case SpanKind::kConsumer:
      return "consumer";
  }
  return "unknown";
}

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kUnset:
      return "unset";
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kError:
      return "error";
  }
  return "unknown";
}

AnyValue AnyValue::String(std::string v) {
  AnyValue a;
  a.value_.emplace<1>(std::move(v));
  return a;
}
AnyValue AnyValue::Bool(bool v) {
  AnyValue a;
  a.value_.emplace<2>(v);
  return a;
}
AnyValue AnyValue::Int(int64_t v) {
  AnyValue a;
  a.value_.emplace<3>(v);
  return a;
}
AnyValue AnyValue::Double(double v) {
  AnyValue a;
  a.value_.emplace<4>(v);
  return a;
}
AnyValue AnyValue::BytesValue(std::string raw) {
  AnyValue a;
  a.value_.emplace<5>(Bytes{std::move(raw)});
  return a;
}
AnyValue AnyValue::ArrayValue(Array v) {
  AnyValue a;
  a.value_.emplace<6>(std::move(v));
  return a;
}
AnyValue AnyValue::MapValue(Map v) {
  AnyValue a;
  a.value_.emplace<7>(std::move(v));
  return a;
}

bool operator==(const AnyValue& a, const AnyValue& b) {
  if (a.type() != b.type()) return false;
  if (a.type() == AnyValue::Type::kDouble) {
    const double x = a.double_value(), y = b.double_value();
    return std::memcmp(&x, &y, sizeof x) == 0;
  }
  return a.value_ == b.value_;
}

namespace {
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  out->append(absl::Utf8SafeCHexEscape(AsAbsl(s)));
  out->push_back('"');
}

void AppendValue(const AnyValue& v, bool quote_strings, std::string* out) {
  switch (v.type()) {
    case AnyValue::Type::kEmpty:
      out->append("null");
      break;
    case AnyValue::Type::kString:
      if (quote_strings) {
        AppendJsonString(v.string_value(), out);
      } else {
        out->append(v.string_value());
      }
      break;
    case AnyValue::Type::kBool:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case AnyValue::Type::kInt:
      absl::StrAppend(out, v.int_value());
      break;
    case AnyValue::Type::kDouble:
      absl::StrAppend(out, absl::StrFormat("%.17g", v.double_value()));
      break;
    case AnyValue::Type::kBytes:
      out->append(absl::Base64Escape(v.bytes_value()));
      break;
    case AnyValue::Type::kArray: {
      out->push_back('[');
      bool first = true;
      for (const AnyValue& e : v.array_value()) {
        if (!first) out->push_back(',');
        first = false;
        AppendValue(e, true, out);
      }
      out->push_back(']');
      break;
    }
    case AnyValue::Type::kMap: {
      out->push_back('{');
      bool first = true;
      for (const KeyValue& kv : v.map_value()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(kv.key, out);
        out->push_back(':');
        AppendValue(kv.value, true, out);
      }
      out->push_back('}');
      break;
    }
  }
}
}  // namespace

std::string AnyValue::ToString() const {
  std::string out;
  AppendValue(*this, false, &out);
  return out;
}

const AnyValue* FindAttribute(const Attributes& attributes, std::string_view key) {
  for (const KeyValue& kv : attributes) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

}  // namespace spanstore
