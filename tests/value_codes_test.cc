#include "format/value_codes.h"

#include <random>

#include "format/block_format.h"
#include "gtest/gtest.h"
#include "util/coding.h"

namespace spanstore {
namespace {

std::string Varints(const std::vector<uint64_t>& codes) {
  std::string out;
  for (uint64_t c : codes) PutVarint64(&out, c);
  return out;
}

// The codes a reader gives back from `packed`, and whether it consumed exactly them.
std::vector<uint64_t> ReadAll(std::string_view packed, bool ints, bool* done) {
  ValueCodeReader reader;
  EXPECT_TRUE(reader.ResetPacked(packed, ints));
  std::vector<uint64_t> out;
  uint64_t code;
  while (reader.Next(&code)) out.push_back(code);
  *done = reader.Done();
  return out;
}

// Packs `codes` if PackValueCodes chooses to, and checks the round trip either way.
bool PackedRoundTrip(const std::vector<uint64_t>& codes, bool ints, std::string* packed) {
  PackScratch scratch;
  packed->clear();
  if (!PackValueCodes(Varints(codes), ints, &scratch, packed)) {
    EXPECT_TRUE(packed->empty());
    return false;
  }
  bool done = false;
  EXPECT_EQ(ReadAll(*packed, ints, &done), codes);
  EXPECT_TRUE(done);
  return true;
}

TEST(ValueCodes, AnAllTemplateStreamIsAHeaderOnly) {
  std::string packed;
  ASSERT_TRUE(PackedRoundTrip(std::vector<uint64_t>(5000, kValueTemplate), false, &packed));
  EXPECT_LE(packed.size(), 8u);
  // Any one repeated code, too (a key whose every value is one block string).
  ASSERT_TRUE(PackedRoundTrip(std::vector<uint64_t>(300, BlockStringCode(17)), false, &packed));
  EXPECT_LE(packed.size(), 8u);
}

TEST(ValueCodes, NearUniformCodesPackAtTheirWidth) {
  std::mt19937_64 rng(11);
  // 1000 block strings (peer addresses): even codes, so 10 bits each after the shift.
  std::vector<uint64_t> codes(4000);
  for (auto& c : codes) c = BlockStringCode(rng() % 1000);
  std::string packed;
  ASSERT_TRUE(PackedRoundTrip(codes, false, &packed));
  EXPECT_LE(packed.size(), 16 + codes.size() * 10 / 8);
  EXPECT_LT(packed.size(), Varints(codes).size());
}

TEST(ValueCodes, TemplatesAmongOtherCodesTakeABitmap) {
  std::mt19937_64 rng(12);
  // Ephemeral ports on server spans, the template on client spans (int form).
  std::vector<uint64_t> codes(3000);
  for (size_t i = 0; i < codes.size(); ++i) {
    codes[i] = i % 2 == 0
                   ? kValueTemplate
                   : kValueInline + ZigZagEncode(30000 + static_cast<int64_t>(rng() % 30000));
  }
  std::string packed;
  ASSERT_TRUE(PackedRoundTrip(codes, true, &packed));
  // One bit per occurrence, 15 bits (zig-zag codes are even: shifted) per port, and a header.
  EXPECT_LE(packed.size(), 16 + codes.size() / 8 + (codes.size() / 2) * 15 / 8 + 1);
}

TEST(ValueCodes, RepeatingOrSkewedCodesStayVarints) {
  // A trace's user id on every span of the trace: runs, which the compressor matches.
  std::vector<uint64_t> runs;
  for (uint64_t t = 0; t < 40; ++t) runs.insert(runs.end(), 20, HeapStringCode(t));
  std::string packed;
  EXPECT_FALSE(PackedRoundTrip(runs, false, &packed));
  // Mostly one code of a wide range, a few outliers: far below its width in entropy.
  std::mt19937_64 rng(13);
  std::vector<uint64_t> skewed(2000);
  for (size_t i = 0; i < skewed.size(); ++i) {
    skewed[i] = i % 50 == 0 ? kValueInline + (rng() % 100000) : kValueInline + (i % 3);
  }
  EXPECT_FALSE(PackedRoundTrip(skewed, true, &packed));
}

TEST(ValueCodes, InlineValuesWideCodesAndEmptyStreamsAreNotPacked) {
  PackScratch scratch;
  std::string packed;
  // A generic stream with an inline value (code 1, then its encoding) cannot be packed.
  std::string with_inline = Varints({BlockStringCode(1), kValueInline});
  with_inline += std::string("\x01\x02", 2);
  EXPECT_FALSE(PackValueCodes(with_inline, false, &scratch, &packed));
  // In the int form code 1 is the int 0: packable.
  std::mt19937_64 rng(14);
  std::vector<uint64_t> ints(500);
  for (auto& c : ints) c = kValueInline + rng() % 4096;
  EXPECT_TRUE(PackedRoundTrip(ints, true, &packed));
  // Codes wider than kMaxPackedWidth bits stay varints.
  std::vector<uint64_t> wide(500);
  for (auto& c : wide) c = kValueInline + (rng() >> 1);
  EXPECT_FALSE(PackedRoundTrip(wide, true, &packed));
  EXPECT_FALSE(PackValueCodes("", false, &scratch, &packed));
  EXPECT_FALSE(PackValueCodes("\xff", true, &scratch, &packed));  // a truncated varint
  EXPECT_TRUE(packed.empty());
}

TEST(ValueCodes, EveryWidthAndLengthRoundTrips) {
  std::mt19937_64 rng(15);
  for (int width = 1; width <= kMaxPackedWidth; ++width) {
    for (size_t n : {1, 2, 7, 8, 9, 63, 65, 1000}) {
      std::vector<uint64_t> codes(n);
      const uint64_t mask = (uint64_t{1} << width) - 1;
      for (size_t i = 0; i < n; ++i) codes[i] = i % 5 == 0 ? 0 : 1 + (rng() & mask);
      // Written directly (PackValueCodes may prefer varints for some): the reader must take
      // any width at any bit offset, up to the last byte.
      std::string packed;
      PackScratch scratch;
      if (!PackValueCodes(Varints(codes), true, &scratch, &packed)) continue;
      bool done = false;
      EXPECT_EQ(ReadAll(packed, true, &done), codes) << width << " " << n;
      EXPECT_TRUE(done);
    }
  }
}

TEST(ValueCodes, SkippingCodesKeepsTheReadsAfterThemInStep) {
  std::mt19937_64 rng(17);
  for (bool templates : {false, true}) {
    std::vector<uint64_t> codes(1000);
    for (size_t i = 0; i < codes.size(); ++i) {
      codes[i] = templates && rng() % 3 == 0 ? kValueTemplate : BlockStringCode(rng() % 700);
    }
    std::string packed;
    ASSERT_TRUE(PackedRoundTrip(codes, false, &packed));
    for (size_t skip : {0, 1, 7, 8, 9, 500, 999, 1000}) {
      ValueCodeReader reader;
      ASSERT_TRUE(reader.ResetPacked(packed, false));
      for (size_t i = 0; i < skip; ++i) ASSERT_TRUE(reader.SkipPacked());
      std::vector<uint64_t> rest;
      uint64_t code;
      while (reader.Next(&code)) rest.push_back(code);
      EXPECT_EQ(rest, std::vector<uint64_t>(codes.begin() + skip, codes.end())) << skip;
      EXPECT_TRUE(reader.Done());
      EXPECT_FALSE(reader.SkipPacked());
    }
  }
}

// A hand-made packed stream: flags, width, shift, base, n, then the bytes given.
std::string Header(uint8_t flags, uint8_t width, uint8_t shift, uint64_t base, uint64_t n) {
  std::string out;
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(width));
  out.push_back(static_cast<char>(shift));
  PutVarint64(&out, base);
  PutVarint64(&out, n);
  return out;
}

TEST(ValueCodes, MalformedPackedStreamsAreRefused) {
  ValueCodeReader reader;
  uint64_t code;
  // The reader keeps views into the bytes: they must outlive its reads.
  const std::string two = Header(0, 4, 0, 2, 2) + "\x21";
  EXPECT_TRUE(reader.ResetPacked(two, false));
  EXPECT_TRUE(reader.Next(&code));
  EXPECT_EQ(code, 3u);
  EXPECT_TRUE(reader.Next(&code));
  EXPECT_EQ(code, 4u);
  EXPECT_FALSE(reader.Next(&code));
  EXPECT_TRUE(reader.Done());

  EXPECT_FALSE(reader.ResetPacked(Header(2, 4, 0, 2, 2) + "\x21", false));  // unknown flag
  EXPECT_FALSE(reader.ResetPacked(Header(0, kMaxPackedWidth + 1, 0, 2, 1) + std::string(8, '\0'),
                                  false));                                  // too wide
  EXPECT_FALSE(reader.ResetPacked(Header(0, 4, 2, 2, 2) + "\x21", false));  // shift
  EXPECT_FALSE(
      reader.ResetPacked(Header(0, 4, 0, 2, 2) + std::string("\x21\x00", 2), false));  // extra
  EXPECT_FALSE(reader.ResetPacked(Header(0, 4, 0, 2, 3) + "\x21", false));             // short
  EXPECT_FALSE(reader.ResetPacked(Header(0, 4, 0, 2, 1) + "\x21", false));  // padding bits set
  EXPECT_FALSE(reader.ResetPacked(Header(0, 0, 0, 2, 1) + std::string(1, '\0'),
                                  false));                                  // width 0: no bytes
  EXPECT_FALSE(reader.ResetPacked(Header(1, 4, 0, 2, 3) + "\xf8", false));  // bitmap padding
  EXPECT_FALSE(reader.ResetPacked(Header(0, 8, 1, UINT64_MAX - 10, 1) + "\xff", true));  // wraps
  EXPECT_FALSE(reader.ResetPacked(Header(0, 8, 0, 2, uint64_t{1} << 62) + "\xff", true));
  EXPECT_FALSE(reader.ResetPacked(std::string("\x00\x04", 2), false));
  EXPECT_FALSE(reader.Next(&code));  // a refused stream gives nothing

  // A bitmap: occurrences 0 and 2 carry values, 1 is the template.
  const std::string with_bitmap = Header(1, 4, 1, 3, 3) + "\x05" + "\x21";
  EXPECT_TRUE(reader.ResetPacked(with_bitmap, true));
  std::vector<uint64_t> got;
  while (reader.Next(&code)) got.push_back(code);
  EXPECT_EQ(got, (std::vector<uint64_t>{3 + 2, 0, 3 + 4}));
  EXPECT_TRUE(reader.Done());

  // A generic packed stream may not claim an inline value (no bytes follow to decode).
  const std::string inline_code = Header(0, 0, 0, kValueInline, 1);
  EXPECT_TRUE(reader.ResetPacked(inline_code, false));
  EXPECT_FALSE(reader.Next(&code));
  EXPECT_FALSE(reader.Done());
  EXPECT_TRUE(reader.ResetPacked(inline_code, true));  // the int 0
  EXPECT_TRUE(reader.Next(&code));
}

TEST(ValueCodes, EveryTruncationOrBitFlipIsRefusedOrReadWithinBounds) {
  std::mt19937_64 rng(16);
  std::vector<uint64_t> codes(97);
  for (size_t i = 0; i < codes.size(); ++i)
    codes[i] = i % 3 == 0 ? 0 : BlockStringCode(rng() % 900);
  std::string packed;
  ASSERT_TRUE(PackedRoundTrip(codes, false, &packed));
  ValueCodeReader reader;
  for (size_t len = 0; len < packed.size(); ++len) {
    // The copy makes a read past the prefix visible to ASan.
    const std::string prefix = packed.substr(0, len);
    EXPECT_FALSE(reader.ResetPacked(prefix, false)) << len;
  }
  for (size_t i = 0; i < packed.size() * 8; ++i) {
    std::string damaged = packed;
    damaged[i / 8] = static_cast<char>(damaged[i / 8] ^ (1 << (i % 8)));
    if (!reader.ResetPacked(damaged, false)) continue;
    uint64_t code;
    for (size_t k = 0; k < 4 * codes.size() && reader.Next(&code); ++k) {
    }
  }
}

}  // namespace
}  // namespace spanstore
