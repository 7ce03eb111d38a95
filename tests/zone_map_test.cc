#include "index/zone_map.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace spanstore {
namespace {

const char* const kServices[] = {"cart", "checkout", "frontend", "payment", ""};

Span MakeSpan(std::mt19937_64& rng) {
  Span s;
  s.service_name = kServices[rng() % 5];
  s.start_time_unix_nano = 1000 + rng() % 100000;
  s.end_time_unix_nano = s.start_time_unix_nano + (rng() % 4 == 0 ? 0 : rng() % 5000);
  if (rng() % 20 == 0) s.end_time_unix_nano = s.start_time_unix_nano - 1;  // clock skew
  s.status_code = static_cast<StatusCode>(rng() % 3);
  s.kind = static_cast<SpanKind>(rng() % 6);
  return s;
}

SpanQuery MakeQuery(std::mt19937_64& rng) {
  SpanQuery q;
  if (rng() % 2) q.start_min = rng() % 110000;
  if (rng() % 2) q.start_max = q.start_min + rng() % 20000;
  if (rng() % 2) q.min_duration_nanos = rng() % 6000;
  if (rng() % 3 == 0) q.max_duration_nanos = q.min_duration_nanos + rng() % 100;
  if (rng() % 3 == 0) q.status = static_cast<StatusCode>(rng() % 3);
  if (rng() % 3 == 0) q.kinds.push_back(static_cast<SpanKind>(rng() % 6));
  if (rng() % 3 == 0) q.services.push_back(kServices[rng() % 5]);
  if (rng() % 5 == 0) q.services.push_back("absent");
  return q;
}

// A zone map may say "maybe" for a page without matches, never "no" for one with a match.
TEST(ZoneMap, NeverSkipsAPageWithAMatchAndSkipsSome) {
  std::mt19937_64 rng(5);
  int skipped = 0;
  for (int page = 0; page < 300; ++page) {
    std::vector<Span> spans;
    const int n = 1 + rng() % 8;
    ZoneMap zone;
    for (int i = 0; i < n; ++i) {
      spans.push_back(MakeSpan(rng));
      zone.Add(spans.back());
    }
    std::string serialized;
    zone.Serialize(&serialized);
    std::string_view in = serialized;
    ZoneMap parsed;
    ASSERT_TRUE(parsed.Parse(&in));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(parsed, zone);
    for (int k = 0; k < 50; ++k) {
      const SpanQuery q = MakeQuery(rng);
      bool any = false;
      for (const Span& s : spans) any = any || SpanMatches(q, s);
      if (any) {
        ASSERT_TRUE(zone.MayMatch(q)) << "page " << page << " query " << k;
      }
      if (!parsed.MayMatch(q)) ++skipped;
    }
  }
  EXPECT_GT(skipped, 1000);
}

TEST(ZoneMap, MergeEqualsAddingAll) {
  std::mt19937_64 rng(9);
  ZoneMap a, b, all;
  for (int i = 0; i < 50; ++i) {
    const Span s = MakeSpan(rng);
    (i % 3 ? a : b).Add(s);
    all.Add(s);
  }
  a.Merge(b);
  a.Merge(ZoneMap());
  EXPECT_EQ(a, all);
}

TEST(ZoneMap, EmptyMatchesNothingAndErrorsAreTracked) {
  EXPECT_FALSE(ZoneMap().MayMatch(SpanQuery()));
  ZoneMap z;
  Span s;
  s.service_name = "cart";
  z.Add(s);
  EXPECT_FALSE(z.has_error());
  SpanQuery errors;
  errors.status = StatusCode::kError;
  EXPECT_FALSE(z.MayMatch(errors));
  s.status_code = StatusCode::kError;
  z.Add(s);
  EXPECT_TRUE(z.has_error());
  EXPECT_TRUE(z.MayMatch(errors));
  EXPECT_EQ(z.services(), std::vector<std::string>{"cart"});
}

TEST(ZoneMap, ParseRejectsTruncationAndUnsortedServices) {
  ZoneMap z;
  for (const char* service : {"b", "a", "c"}) {
    Span s;
    s.service_name = service;
    z.Add(s);
  }
  std::string serialized;
  z.Serialize(&serialized);
  for (size_t len = 0; len < serialized.size(); ++len) {
    std::string_view in(serialized.data(), len);
    ZoneMap parsed;
    EXPECT_FALSE(parsed.Parse(&in)) << len;
  }
  std::string unsorted = serialized;
  std::swap(unsorted[unsorted.size() - 1], unsorted[unsorted.size() - 5]);  // "c" <-> "a"
  std::string_view in = unsorted;
  ZoneMap parsed;
  EXPECT_FALSE(parsed.Parse(&in));
}

// A block's service dictionary, in first-seen order (not name order), and a name's id in it.
const std::vector<std::string_view> kServiceDictionary = {"payment", "", "frontend", "cart",
                                                          "checkout"};
uint32_t ServiceId(std::string_view service) {
  const auto& d = kServiceDictionary;
  return static_cast<uint32_t>(std::find(d.begin(), d.end(), service) - d.begin());
}

// The compact form inside a block: times relative to the block's least start, services as
// ids into the block's (unsorted) service dictionary.
TEST(ZoneMap, CompactFormRoundTripsAgainstADictionary) {
  std::mt19937_64 rng(9);
  for (int round = 0; round < 100; ++round) {
    ZoneMap z;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) z.Add(MakeSpan(rng));
    const uint64_t base = z.min_start() - rng() % 500;
    std::string serialized;
    z.SerializeCompact(base, ServiceId, &serialized);
    std::string_view in = serialized;
    ZoneMap parsed;
    ASSERT_TRUE(parsed.ParseCompact(&in, base, kServiceDictionary));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(parsed, z);
    for (size_t len = 0; len < serialized.size(); ++len) {
      std::string_view cut(serialized.data(), len);
      ZoneMap p;
      EXPECT_FALSE(p.ParseCompact(&cut, base, kServiceDictionary)) << len;
    }
    // An id past the dictionary is damage.
    std::string_view short_in = serialized;
    ZoneMap p;
    if (z.services().size() > 0 && ServiceId(z.services().back()) >= 2) {
      const std::vector<std::string_view> first_only(kServiceDictionary.begin(),
                                                     kServiceDictionary.begin() + 1);
      EXPECT_FALSE(p.ParseCompact(&short_in, base, first_only));
    }
  }
}

// The form a block reader keeps: ids instead of names, and MayMatchExceptServices deciding
// everything but the services exactly as MayMatch does.
TEST(ZoneMap, CompactFormWithServiceIds) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 100; ++round) {
    ZoneMap z;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) z.Add(MakeSpan(rng));
    std::string serialized;
    z.SerializeCompact(z.min_start(), ServiceId, &serialized);
    std::string_view in = serialized;
    ZoneMap parsed;
    std::vector<uint32_t> ids;
    ASSERT_TRUE(parsed.ParseCompact(&in, z.min_start(), kServiceDictionary.size(), &ids));
    EXPECT_TRUE(in.empty());
    EXPECT_TRUE(parsed.services().empty());
    std::vector<uint32_t> expected;
    for (const std::string& s : z.services()) expected.push_back(ServiceId(s));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(ids, expected);
    for (int q = 0; q < 20; ++q) {
      SpanQuery query = MakeQuery(rng);
      query.services.clear();
      EXPECT_EQ(parsed.MayMatchExceptServices(query), z.MayMatch(query));
    }
  }
}

// A group lists the services of its rows: more services than rows is damage.
TEST(ZoneMap, CompactFormRefusesMoreServicesThanRows) {
  ZoneMap z;
  Span s;
  s.service_name = "a";
  z.Add(s);
  std::string serialized;
  z.SerializeCompact(0, [](std::string_view) { return 0u; }, &serialized);
  serialized.pop_back();  // the one id
  serialized.pop_back();  // the count
  serialized.push_back(2);
  serialized.push_back(0);
  serialized.push_back(1);
  std::string_view in = serialized;
  ZoneMap parsed;
  std::vector<uint32_t> ids;
  EXPECT_FALSE(parsed.ParseCompact(&in, 0, 2, &ids));
}

TEST(ZoneMap, CompactFormRefusesTimesThatOverflow) {
  ZoneMap z;
  Span s;
  s.start_time_unix_nano = UINT64_MAX - 10;
  s.end_time_unix_nano = UINT64_MAX;
  z.Add(s);
  std::string serialized;
  z.SerializeCompact(0, [](std::string_view) { return 0u; }, &serialized);
  std::string_view in = serialized;
  ZoneMap parsed;
  EXPECT_FALSE(parsed.ParseCompact(&in, 100, {""}));  // base + min_start wraps
  in = serialized;
  EXPECT_TRUE(parsed.ParseCompact(&in, 0, {""}));
  EXPECT_EQ(parsed, z);
}

}  // namespace
}  // namespace spanstore
