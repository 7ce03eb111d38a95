// Tokens of the TraceQL span-filter language (docs/query_language.md).
//
// Thread safety: a Lexer is used by one thread.

#ifndef SPANSTORE_QUERY_LEXER_H_
#define SPANSTORE_QUERY_LEXER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace spanstore::query {

enum class TokenKind {
  kEnd,
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kAnd,       // &&
  kOr,        // ||
  kNot,       // !
  kEq,        // =
  kNe,        // !=
  kLt,        // <
  kLe,        // <=
  kGt,        // >
  kGe,        // >=
  kRegex,     // =~
  kNotRegex,  // !~
  kString,    // "..." (text holds the unescaped value)
  kInt,
  kFloat,
  kDuration,    // a number with a unit; int_value holds nanoseconds
  kIdentifier,  // words: intrinsics, keywords, and scoped attribute names like span.http.host
  // Between spansets (TraceQL beyond one filter):
  kPipe,             // |
  kComma,            // ,
  kDescendant,       // >>
  kAncestor,         // <<
  kSibling,          // ~
  kUnionStructural,  // &> &>> &< &<< &~ (text holds which)
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t column = 1;   // 1-based column of the first character
  std::string text;    // the source text, or the unescaped string
  int64_t int_value = 0;
  double float_value = 0;
};

// A readable name of a token for error messages: "'&&'", "end of input", "string \"x\"".
std::string Describe(const Token& token);

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}
  // The next token, or InvalidArgument "column N: ..." for a malformed one.
  absl::Status Next(Token* token);

 private:
  absl::Status Error(size_t pos, std::string_view what) const;
  absl::Status String(Token* token);
  absl::Status Number(Token* token);

  std::string_view input_;
  size_t pos_ = 0;
};

}  // namespace spanstore::query

#endif  // SPANSTORE_QUERY_LEXER_H_
