// ParseQuery (query/parser.cc, query/lexer.cc): every operator, scope, escape and unit, the
// lifting into structured fields, and error messages with columns.

#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spanstore/query.h"
#include "tests/util/random_spans.h"

namespace spanstore {
namespace {

using ::testing::HasSubstr;

Span Checkout() {
  Span s;
  s.trace_id.bytes[15] = 1;
  s.span_id.bytes[7] = 2;
  s.service_name = "checkout";
  s.name = "POST /checkout";
  s.kind = SpanKind::kServer;
  s.status_code = StatusCode::kError;
  s.status_message = "payment timed out";
  s.start_time_unix_nano = 1'000'000'000;
  s.end_time_unix_nano = s.start_time_unix_nano + 5'200'000'000ull;  // 5.2 s
  s.attributes = {{"http.host", AnyValue::String("payments.staging.internal")},
                  {"http.status_code", AnyValue::Int(504)},
                  {"retry.ratio", AnyValue::Double(0.25)},
                  {"cache.hit", AnyValue::Bool(false)},
                  {"with space", AnyValue::String("yes")},
                  {"quote\"d", AnyValue::String("tab\there")}};
  s.resource_attributes = {{"service.name", AnyValue::String("checkout")},
                           {"k8s.namespace.name", AnyValue::String("shop-prod")},
                           {"http.status_code", AnyValue::Int(200)}};
  return s;
}

bool Matches(const std::string& q) {
  auto parsed = ParseQuery(q);
  EXPECT_TRUE(parsed.ok()) << q << ": " << parsed.status();
  return parsed.ok() && SpanMatches(*parsed, Checkout());
}

TEST(QueryParserTest, MatchTable) {
  struct Case {
    const char* query;
    bool matches;
  } cases[] = {
      {"{ }", true},
      {"{}", true},
      {"{ true }", true},
      {"{ resource.service.name = \"checkout\" }", true},
      {"{ resource.service.name = \"cart\" }", false},
      {"{ resource.service.name != \"cart\" }", true},
      {"{ name = \"POST /checkout\" }", true},
      {"{ name =~ \"POST.*\" }", true},
      {"{ name =~ \"POST\" }", false},  // full match, as in Tempo
      {"{ name !~ \"GET.*\" }", true},
      {"{ status = error }", true},
      {"{ status = ok }", false},
      {"{ status != unset }", true},
      {"{ kind = server }", true},
      {"{ kind = client }", false},
      {"{ kind != consumer }", true},
      {"{ duration > 5s }", true},
      {"{ duration > 5.2s }", false},
      {"{ duration >= 5.2s }", true},
      {"{ duration < 6s }", true},
      {"{ duration <= 5200ms }", true},
      {"{ duration = 5200000us }", true},
      {"{ duration = 5200000000ns }", true},
      {"{ duration > 1m }", false},
      {"{ duration < 1h }", true},
      {"{ statusMessage = \"payment timed out\" }", true},
      {"{ statusMessage =~ \".*timed.*\" }", true},
      {"{ span.http.host =~ \"staging.*\" }", false},
      {"{ span.http.host =~ \".*staging.*\" }", true},
      {"{ span.http.host = \"payments.staging.internal\" }", true},
      {"{ .http.status_code >= 500 }", true},    // span scope first
      {"{ resource.http.status_code >= 500 }", false},
      {"{ resource.http.status_code = 200 }", true},
      {"{ span.http.status_code > 504 }", false},
      {"{ span.http.status_code < 504.5 }", true},  // int vs float
      {"{ span.http.status_code = \"504\" }", false},  // types differ
      {"{ span.retry.ratio = 0.25 }", true},
      {"{ span.retry.ratio < 1 }", true},
      {"{ span.cache.hit = false }", true},
      {"{ span.cache.hit != true }", true},
      {"{ span.missing = \"x\" }", false},
      {"{ span.missing != \"x\" }", false},  // comparisons with a missing attribute are false
      {"{ span.missing = nil }", true},
      {"{ span.http.host != nil }", true},
      {"{ span.http.host = nil }", false},
      {"{ resource.k8s.namespace.name = \"shop-prod\" }", true},
      {"{ span.\"with space\" = \"yes\" }", true},
      {"{ span.\"quote\\\"d\" = \"tab\\there\" }", true},
      {"{ span.\"quote\\\"d\" = \"tab\\u0009here\" }", true},
      {"{ span.\"quote\\\"d\" = \"tab\\u{9}here\" }", true},
      {"{ span.\"quote\\\"d\" = \"tab\\x09here\" }", true},
      {"{ status = error && duration > 2s }", true},
      {"{ status = ok || duration > 2s }", true},
      {"{ status = ok || duration > 20s }", false},
      {"{ !(status = ok) }", true},
      {"{ !status = ok }", true},
      {"{ !(status = error) || kind = server }", true},
      {"{ (kind = client || kind = server) && span.http.status_code >= 500 }", true},
      {"{ kind = client || kind = server && status = ok }", false},  // && binds tighter
      {"{ resource.service.name = \"checkout\" && duration > 2s && status = error }", true},
      {"{ span.http.host =~ \"staging.*\" || .http.status_code >= 500 }", true},
      {"{ span:duration > 1s && span:name = \"POST /checkout\" && span:status = error }", true},
      {"{ trace:id = \"00000000000000000000000000000001\" }", true},
      {"{ span:id = \"0000000000000002\" }", true},
      {"{ span:parentID = \"\" }", true},
  };
  for (const Case& c : cases) EXPECT_EQ(Matches(c.query), c.matches) << c.query;
}

TEST(QueryParserTest, LiftsConjunctsIntoStructuredFields) {
  auto q = ParseQuery(
      "{ resource.service.name = \"checkout\" && name = \"x\" && kind = server && status = error "
      "&& duration > 2s && duration <= 10s && span.http.host =~ \"a.*\" }");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->services, std::vector<std::string>{"checkout"});
  EXPECT_EQ(q->names, std::vector<std::string>{"x"});
  EXPECT_EQ(q->kinds, std::vector<SpanKind>{SpanKind::kServer});
  EXPECT_EQ(q->status, StatusCode::kError);
  EXPECT_EQ(q->min_duration_nanos, 2'000'000'001u);
  EXPECT_EQ(q->max_duration_nanos, 10'000'000'000u);
  ASSERT_EQ(q->attributes.size(), 1u);
  EXPECT_EQ(q->attributes[0].key, "http.host");
  EXPECT_EQ(q->attributes[0].scope, AttributeScope::kSpan);
  EXPECT_FALSE(q->filter.has_value());

  auto o = ParseQuery("{ status = error || duration > 2s }");
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->status.has_value());
  EXPECT_TRUE(o->filter.has_value());
}

// Lifting must not change what matches: compare with evaluating the whole tree.
TEST(QueryParserTest, LiftingPreservesMeaningOnRandomSpans) {
  const char* queries[] = {
      "{ duration > 3s && status = error }",
      "{ duration >= 1s && duration < 5s && kind = client }",
      "{ name = \"checkout\" && status != ok }",
      "{ resource.service.name = \"cart\" && .x = 1 }",
      "{ kind = server && kind = client }",
      "{ duration < 0ns }",
      "{ status = error && status = ok }",
  };
  test::RandomSpans gen(3);
  std::vector<Span> spans;
  for (int i = 0; i < 500; ++i) spans.push_back(gen.NextSpan());
  for (const char* text : queries) {
    auto q = ParseQuery(text);
    ASSERT_TRUE(q.ok()) << text;
    // Rebuild the unlifted tree: parse as an || with a false branch, which blocks lifting.
    auto whole = ParseQuery(std::string("{ (") + std::string(text).substr(1, std::strlen(text) - 2) +
                            ") || span.__never__ = \"__never__\" }");
    ASSERT_TRUE(whole.ok()) << whole.status();
    ASSERT_TRUE(whole->filter.has_value());
    for (const Span& s : spans) {
      EXPECT_EQ(SpanMatches(*q, s), FilterMatches(*whole->filter, s)) << text;
    }
  }
}

TEST(QueryParserTest, ErrorsPointAtTheColumn) {
  struct Case {
    const char* query;
    const char* message;
  } cases[] = {
      {"", "column 1: expected '{' to start the span filter, found end of input"},
      {"status = error", "column 1: expected '{'"},
      {"{ status = error", "column 17: expected '&&', '||' or '}', found end of input"},
      {"{ duration > }", "column 14: expected a duration"},
      {"{ duration > 5 }", "column 14: expected a duration"},
      {"{ duration > 5parsecs }", "column 15: unknown duration unit 'parsecs'"},
      {"{ status = broken }", "column 12: expected ok, error or unset"},
      {"{ status > error }", "column 12: status can only be compared with = or !="},
      {"{ kind = sideways }", "column 10: expected server, client"},
      {"{ http.host = \"x\" }", "column 3: unknown field 'http.host'"},
      {"{ span.x = \"unterminated }", "column 12: unterminated string"},
      {"{ span.x = \"bad \\q escape\" }", "column 17: unknown escape"},
      {"{ span.x == 1 }", "column 10: '==' is not TraceQL"},
      {"{ span.x & 1 }", "column 10: expected '&&'"},
      {"{ span.x = 1 } extra", "column 16: expected end of input"},
      {"{ span.x =~ \"(\" }", "column 13: invalid regular expression"},
      {"{ span.x < nil }", "column 10: nil can only be compared with = or !="},
      {"{ name = 5 }", "column 10: expected a quoted string to compare with 'name'"},
      {"{ span.x = staging }", "quote strings: \"staging\""},
      {"{ (status = ok }", "column 16: expected ')'"},
      {"{ span.x = 1 $ }", "column 14: unexpected character '$'"},
      {"{ span. = 1 }", "column 3: attribute name is empty"},
      {"{ span.x = 99999999999999999999 }", "column 12: integer out of range"},
  };
  for (const Case& c : cases) {
    auto q = ParseQuery(c.query);
    ASSERT_FALSE(q.ok()) << c.query;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(q.status().message()), HasSubstr(c.message)) << c.query;
  }
}

TEST(QueryParserTest, DeepNestingIsAnErrorNotACrash) {
  QueryLimits long_text;  // past the length limit, so that the depth limit is what stops it
  long_text.max_query_bytes = 1 << 20;
  std::string deep = "{ " + std::string(100000, '(') + "status = ok" + std::string(100000, ')') + " }";
  auto q = ParseQuery(deep, long_text);
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(std::string(q.status().message()), HasSubstr("nested too deeply"));
  std::string nots = "{ " + std::string(100000, '!') + "status = ok }";
  EXPECT_FALSE(ParseQuery(nots, long_text).ok());
}

// Hardening issue, item 5: a filter of thousands of `=~` terms took over two minutes and a
// gigabyte to run. The parser refuses what a query may not cost, each with a clear error:
// length, comparisons, and the compiled size of its regular expressions.
TEST(QueryParserTest, LimitsRefuseCostlyQueriesWithAClearError) {
  std::string many = "{ ";
  for (int i = 0; i < 5000; ++i) {
    if (i > 0) many += " || ";
    many += absl::StrCat("span.k", i, " =~ \"a.*b", i, ".*c\"");
  }
  many += " }";
  auto refused = ParseQuery(many);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("longer than the limit"));

  QueryLimits roomy;
  roomy.max_query_bytes = 1 << 20;
  auto terms = ParseQuery(many, roomy);
  ASSERT_FALSE(terms.ok());
  EXPECT_THAT(std::string(terms.status().message()), HasSubstr("too many comparisons"));
  EXPECT_THAT(std::string(terms.status().message()), HasSubstr("column "));

  // One pattern whose program is huge (a counted repetition of a class).
  auto big = ParseQuery(
      R"({ span.k =~ "[a-z]{1,900}-[a-z]{1,900}-[a-z]{1,900}-[a-z]{1,900}-[a-z]{1,900}-[a-z]{1,900}" })");
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(std::string(big.status().message()), HasSubstr("too complex"));

  // Many moderate patterns: each is fine, together they are not.
  std::string moderate = "{ ";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) moderate += " || ";
    moderate += absl::StrCat("span.k =~ \"[a-z]{1,40}", i, "\"");
  }
  moderate += " }";
  QueryLimits tight;
  tight.max_total_regex_program_size = 5000;
  auto together = ParseQuery(moderate, tight);
  ASSERT_FALSE(together.ok());
  EXPECT_THAT(std::string(together.status().message()), HasSubstr("too complex together"));

  // What a person writes is far inside every limit.
  EXPECT_TRUE(ParseQuery(R"({ span.http.host =~ "staging.*" || .http.status_code >= 500 })").ok());
}

TEST(QueryParserTest, ParseDuration) {
  EXPECT_EQ(*ParseDuration("250ms"), 250'000'000u);
  EXPECT_EQ(*ParseDuration("1.5s"), 1'500'000'000u);
  EXPECT_EQ(*ParseDuration("15m"), 900'000'000'000u);
  EXPECT_EQ(*ParseDuration("2h"), 7'200'000'000'000u);
  EXPECT_EQ(*ParseDuration("10us"), 10'000u);
  EXPECT_EQ(*ParseDuration("7ns"), 7u);
  EXPECT_FALSE(ParseDuration("15").ok());
  EXPECT_FALSE(ParseDuration("15 minutes").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
}

// Random text built from the language's own characters: the parser never crashes (the sanitizer
// builds check its reads), and every rejection is InvalidArgument naming a column, as
// ParseQuery promises.
TEST(QueryParserTest, GarbageNeverCrashes) {
  std::mt19937_64 rng(4);
  const std::string alphabet = "{}()!&|=<>~\"\\. spanresourcedurationstatuskind0123456789msnil";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string q(rng() % 40, ' ');
    for (char& c : q) c = alphabet[rng() % alphabet.size()];
    auto parsed = ParseQuery(q);
    if (parsed.ok()) {
      ++accepted;
      (void)SpanMatches(*parsed, Checkout());
      continue;
    }
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << q;
    ASSERT_THAT(std::string(parsed.status().message()), ::testing::StartsWith("column ")) << q;
  }
  EXPECT_GT(accepted, 0);  // some garbage parses, so SpanMatches ran too
}

// nestedSetParent: -1 for a root, a parent's (positive) nested-set number otherwise. Only the
// comparisons that root-ness decides are accepted; Grafana sends "nestedSetParent<0".
TEST(QueryParserTest, NestedSetParentSelectsRoots) {
  Span root;
  root.span_id.bytes[7] = 1;
  Span child = root;
  child.span_id.bytes[7] = 2;
  child.parent_span_id.bytes[7] = 1;
  struct Case {
    const char* query;
    bool root, child;
  } cases[] = {
      {"{ nestedSetParent < 0 }", true, false},    {"{ nestedSetParent = -1 }", true, false},
      {"{ nestedSetParent <= -1 }", true, false},  {"{ nestedSetParent != -1 }", false, true},
      {"{ nestedSetParent > 0 }", false, true},    {"{ nestedSetParent >= 0 }", false, true},
      {"{ nestedSetParent >= 1 }", false, true},   {"{ nestedSetParent < 1 }", true, false},
      {"{ nestedSetParent = 0 }", false, false},   {"{ nestedSetParent > -5 }", true, true},
      {"{ nestedSetParent < -1 }", false, false},  {"{ nestedSetParent<0 && true }", true, false},
      {"{ !(nestedSetParent < 0) }", false, true},
  };
  for (const Case& c : cases) {
    auto q = ParseQuery(c.query);
    ASSERT_TRUE(q.ok()) << c.query << ": " << q.status();
    EXPECT_EQ(SpanMatches(*q, root), c.root) << c.query;
    EXPECT_EQ(SpanMatches(*q, child), c.child) << c.query;
  }
  for (const char* bad :
       {"{ nestedSetParent > 3 }", "{ nestedSetParent = 1 }", "{ nestedSetParent <= 1 }",
        "{ nestedSetParent =~ \"x\" }", "{ nestedSetParent < \"a\" }"}) {
    auto q = ParseQuery(bad);
    EXPECT_FALSE(q.ok()) << bad;
    EXPECT_THAT(std::string(q.status().message()), HasSubstr("column")) << bad;
  }
}

}  // namespace
}  // namespace spanstore
