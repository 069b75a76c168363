// The conversions to float32, against values computed by hand from the specs.
#include "modeldna/io/dequantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace modeldna::io {
namespace {

TEST(Dequantize, HalfPrecisionBitPatterns) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);            // largest normal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(Dequantize, HalfRoundTripsEveryFiniteValue) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float f = f16_to_f32(static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), bits) << bits;
  }
}

TEST(Dequantize, FloatToHalfRoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // halfway: stays even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // halfway: rounds up to even
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);                          // overflows to infinity
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // halfway to the smallest subnormal: even
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
}

TEST(Dequantize, BFloat16AndEightBitFloats) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC0A0), -5.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);  // halfway: even
  // E4M3FN: bias 7, 3 mantissa bits, S.1111.111 is NaN, 448 the largest.
  EXPECT_EQ(f8_e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(f8_e4m3_to_f32(0x7E), 448.0f);
  EXPECT_EQ(f8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(f8_e4m3_to_f32(0xC0), -2.0f);
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0x7F)));
  // E5M2: bias 15, 2 mantissa bits, IEEE-like infinities.
  EXPECT_EQ(f8_e5m2_to_f32(0x3C), 1.0f);
  EXPECT_EQ(f8_e5m2_to_f32(0x7B), 57344.0f);
  EXPECT_TRUE(std::isinf(f8_e5m2_to_f32(0x7C)));
}

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(Dequantize, Q8_0ByHand) {
  // d = 0.5 (fp16 0x3800), q = 0, 1, -1, 127, -128, then zeros.
  auto block = bytes({0x00, 0x38, 0, 1, 0xFF, 127, 0x80});
  block.resize(34, std::byte{0});
  std::vector<float> y(32);
  to_f32(DType::Q8_0, block.data(), 32, y.data());
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], -0.5f);
  EXPECT_EQ(y[3], 63.5f);
  EXPECT_EQ(y[4], -64.0f);
  EXPECT_EQ(y[31], 0.0f);
}

TEST(Dequantize, Q4_0PutsLowNibblesFirst) {
  // d = 2 (0x4000); byte 0 = 0xF0: value 0 is (0 - 8) * 2, value 16 is (15 - 8) * 2.
  auto block = bytes({0x00, 0x40, 0xF0});
  block.resize(18, std::byte{0x88});  // the other nibbles are 8: value 0
  std::vector<float> y(32);
  to_f32(DType::Q4_0, block.data(), 32, y.data());
  EXPECT_EQ(y[0], -16.0f);
  EXPECT_EQ(y[16], 14.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[31], 0.0f);
}

TEST(Dequantize, Q5_1UsesTheHighBits) {
  // d = 1, m = -1; qh bit 0 set, bit 16 set; nibbles 0: values 16 - 1 and 16 - 1.
  auto block = bytes({0x00, 0x3C, 0x00, 0xBC, 0x01, 0x00, 0x01, 0x00});
  block.resize(24, std::byte{0});
  std::vector<float> y(32);
  to_f32(DType::Q5_1, block.data(), 32, y.data());
  EXPECT_EQ(y[0], 15.0f);
  EXPECT_EQ(y[16], 15.0f);
  EXPECT_EQ(y[1], -1.0f);
}

TEST(Dequantize, Q4_KScalesAndMins) {
  // d = 1, dmin = 0.5; sub-block 0 scale 2, min 4 (bytes 0 and 4 of the
  // packed scales); quants 3: 1 * 2 * 3 - 0.5 * 4 = 4.
  std::vector<std::byte> block(144, std::byte{0});
  block[0] = std::byte{0x00}; block[1] = std::byte{0x3C};  // d = 1
  block[2] = std::byte{0x00}; block[3] = std::byte{0x38};  // dmin = 0.5
  block[4 + 0] = std::byte{2};
  block[4 + 4] = std::byte{4};
  for (int l = 0; l < 32; ++l) block[16 + l] = std::byte{0x03};
  std::vector<float> y(256);
  to_f32(DType::Q4_K, block.data(), 256, y.data());
  EXPECT_EQ(y[0], 4.0f);
  EXPECT_EQ(y[31], 4.0f);
  EXPECT_EQ(y[32], 0.0f);  // sub-block 1: scale 0, min 0
}

TEST(Dequantize, IntegersConvertAsIs) {
  const int16_t values[] = {-3, 300};
  std::vector<float> y(2);
  to_f32(DType::I16, reinterpret_cast<const std::byte*>(values), 2, y.data());
  EXPECT_EQ(y[0], -3.0f);
  EXPECT_EQ(y[1], 300.0f);
}

}  // namespace
}  // namespace modeldna::io
