#include "query/lexer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spanstore::query {
namespace {

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.';
}
// Attribute names carry dots, dashes, slashes and colons (`span.http.status_code`,
// `resource.k8s.pod-name`, `span:duration`).
bool IsIdentChar(char c) {
  return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '/' || c == ':';
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Unit {
  std::string_view name;
  double nanos;
};
constexpr Unit kUnits[] = {{"ns", 1},      {"us", 1e3},    {"µs", 1e3},         {"ms", 1e6},
                           {"s", 1e9},     {"m", 60e9},    {"h", 3600e9}};

}  // namespace

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kString:
      return absl::StrCat("string \"", t.text, "\"");
    case TokenKind::kInt:
    case TokenKind::kFloat:
    case TokenKind::kDuration:
      return absl::StrCat("number ", t.text);
    case TokenKind::kIdentifier:
      return absl::StrCat("'", t.text, "'");
    default:
      return absl::StrCat("'", t.text, "'");
  }
}

absl::Status Lexer::Error(size_t pos, std::string_view what) const {
  return absl::InvalidArgumentError(
      absl::StrCat("column ", pos + 1, ": ", absl::string_view(what.data(), what.size())));
}

absl::Status Lexer::Next(Token* token) {
  while (pos_ < input_.size() &&
         (input_[pos_] == ' ' || input_[pos_] == '\t' || input_[pos_] == '\n' ||
          input_[pos_] == '\r')) {
    ++pos_;
  }
  *token = Token();
  token->column = pos_ + 1;
  if (pos_ >= input_.size()) return absl::OkStatus();
  const char c = input_[pos_];
  const char next = pos_ + 1 < input_.size() ? input_[pos_ + 1] : '\0';
  auto op = [&](TokenKind kind, size_t len) {
    token->kind = kind;
    token->text = std::string(input_.substr(pos_, len));
    pos_ += len;
    return absl::OkStatus();
  };
  switch (c) {
    case '{':
      return op(TokenKind::kLBrace, 1);
    case '}':
      return op(TokenKind::kRBrace, 1);
    case '(':
      return op(TokenKind::kLParen, 1);
    case ')':
      return op(TokenKind::kRParen, 1);
    case '&':
      if (next == '&') return op(TokenKind::kAnd, 2);
      if (next == '~') return op(TokenKind::kUnionStructural, 2);
      if (next == '>' || next == '<') {
        const bool twice = pos_ + 2 < input_.size() && input_[pos_ + 2] == next;
        return op(TokenKind::kUnionStructural, twice ? 3 : 2);
      }
      return Error(pos_, "expected '&&', found a single '&'");
    case '|':
      if (next == '|') return op(TokenKind::kOr, 2);
      return op(TokenKind::kPipe, 1);
    case ',':
      return op(TokenKind::kComma, 1);
    case '~':
      return op(TokenKind::kSibling, 1);
    case '!':
      if (next == '=') return op(TokenKind::kNe, 2);
      if (next == '~') return op(TokenKind::kNotRegex, 2);
      return op(TokenKind::kNot, 1);
    case '=':
      if (next == '~') return op(TokenKind::kRegex, 2);
      if (next == '=') return Error(pos_, "'==' is not TraceQL; use '='");
      return op(TokenKind::kEq, 1);
    case '<':
      if (next == '=') return op(TokenKind::kLe, 2);
      if (next == '<') return op(TokenKind::kAncestor, 2);
      return op(TokenKind::kLt, 1);
    case '>':
      if (next == '=') return op(TokenKind::kGe, 2);
      if (next == '>') return op(TokenKind::kDescendant, 2);
      return op(TokenKind::kGt, 1);
    case '"':
    case '`':
      return String(token);
    default:
      break;
  }
  if ((c >= '0' && c <= '9') || (c == '-' && next >= '0' && next <= '9')) return Number(token);
  if (IsIdentStart(c)) {
    size_t end = pos_ + 1;
    while (end < input_.size()) {
      if (IsIdentChar(input_[end])) {
        ++end;
      } else if (input_[end] == '"' && input_[end - 1] == '.') {
        // A quoted attribute name: span."name with spaces".
        Token quoted;
        const size_t save = pos_;
        pos_ = end;
        absl::Status s = String(&quoted);
        if (!s.ok()) return s;
        token->kind = TokenKind::kIdentifier;
        token->text = absl::StrCat(absl::string_view(input_.data() + save, end - save), quoted.text);
        token->column = save + 1;
        return absl::OkStatus();
      } else {
        break;
      }
    }
    return op(TokenKind::kIdentifier, end - pos_);
  }
  return Error(pos_, absl::StrFormat("unexpected character '%c'", c));
}

absl::Status Lexer::String(Token* token) {
  const char quote = input_[pos_];
  const size_t start = pos_;
  ++pos_;
  std::string value;
  while (true) {
    if (pos_ >= input_.size()) return Error(start, "unterminated string");
    const char c = input_[pos_];
    if (c == quote) {
      ++pos_;
      break;
    }
    if (c == '\\' && quote == '"') {
      if (pos_ + 1 >= input_.size()) return Error(start, "unterminated string");
      const char e = input_[pos_ + 1];
      pos_ += 2;
      switch (e) {
        case '"':
        case '\\':
        case '\'':
        case '/':
          value.push_back(e);
          break;
        case 'n':
          value.push_back('\n');
          break;
        case 't':
          value.push_back('\t');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 'x': {
          if (pos_ + 2 > input_.size() || Hex(input_[pos_]) < 0 || Hex(input_[pos_ + 1]) < 0) {
            return Error(pos_ - 2, "\\x needs two hex digits");
          }
          value.push_back(static_cast<char>(Hex(input_[pos_]) * 16 + Hex(input_[pos_ + 1])));
          pos_ += 2;
          break;
        }
        case 'u': {
          uint32_t cp = 0;
          if (pos_ < input_.size() && input_[pos_] == '{') {
            size_t end = pos_ + 1;
            while (end < input_.size() && Hex(input_[end]) >= 0 && end - pos_ <= 6) {
              cp = cp * 16 + static_cast<uint32_t>(Hex(input_[end]));
              ++end;
            }
            if (end >= input_.size() || input_[end] != '}' || end == pos_ + 1) {
              return Error(pos_ - 2, "\\u{...} needs 1 to 6 hex digits and a closing '}'");
            }
            pos_ = end + 1;
          } else {
            if (pos_ + 4 > input_.size()) return Error(pos_ - 2, "\\u needs four hex digits");
            for (int i = 0; i < 4; ++i) {
              const int h = Hex(input_[pos_ + i]);
              if (h < 0) return Error(pos_ - 2, "\\u needs four hex digits");
              cp = cp * 16 + static_cast<uint32_t>(h);
            }
            pos_ += 4;
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return Error(pos_ - 1, "not a valid Unicode code point");
          }
          AppendUtf8(cp, &value);
          break;
        }
        default:
          return Error(pos_ - 2, absl::StrFormat("unknown escape '\\%c'", e));
      }
      continue;
    }
    value.push_back(c);
    ++pos_;
  }
  token->kind = TokenKind::kString;
  token->text = std::move(value);
  return absl::OkStatus();
}

absl::Status Lexer::Number(Token* token) {
  const size_t start = pos_;
  size_t end = pos_;
  if (input_[end] == '-') ++end;
  bool is_float = false;
  while (end < input_.size() && ((input_[end] >= '0' && input_[end] <= '9') ||
                                  input_[end] == '.' ||
                                  ((input_[end] == 'e' || input_[end] == 'E') && is_float))) {
    if (input_[end] == '.') {
      if (is_float) return Error(end, "a number has at most one '.'");
      is_float = true;
    }
    ++end;
  }
  const std::string number(input_.substr(start, end - start));
  // A unit right after the number makes it a duration.
  size_t unit_end = end;
  while (unit_end < input_.size() &&
         ((input_[unit_end] >= 'a' && input_[unit_end] <= 'z') ||
          static_cast<unsigned char>(input_[unit_end]) >= 0x80)) {
    ++unit_end;
  }
  const std::string_view unit = input_.substr(end, unit_end - end);
  token->text = std::string(input_.substr(start, unit_end - start));
  if (!unit.empty()) {
    const Unit* u = nullptr;
    for (const Unit& candidate : kUnits) {
      if (candidate.name == unit) u = &candidate;
    }
    if (u == nullptr) {
      return Error(end, absl::StrCat("unknown duration unit '", absl::string_view(unit.data(), unit.size()),
                                     "' (use ns, us, ms, s, m or h)"));
    }
    const double value = std::strtod(number.c_str(), nullptr) * u->nanos;
    if (!(value >= 0) || value > static_cast<double>(std::numeric_limits<int64_t>::max())) {
      return Error(start, "duration out of range");
    }
    token->kind = TokenKind::kDuration;
    token->int_value = static_cast<int64_t>(std::llround(value));
    pos_ = unit_end;
    return absl::OkStatus();
  }
  errno = 0;
  if (is_float) {
    token->kind = TokenKind::kFloat;
    token->float_value = std::strtod(number.c_str(), nullptr);
  } else {
    token->kind = TokenKind::kInt;
    token->int_value = std::strtoll(number.c_str(), nullptr, 10);
    if (errno == ERANGE) return Error(start, "integer out of range");
  }
  pos_ = end;
  return absl::OkStatus();
}

}  // namespace spanstore::query
