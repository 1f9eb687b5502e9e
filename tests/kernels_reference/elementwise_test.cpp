// ADD, MUL, QUANTIZE, DEQUANTIZE and int8 requantization, hand-computed.

#include <cmath>
#include <cstdint>
#include <random>

#include <gtest/gtest.h>

#include "kernels/quantization.h"
#include "kernels/reference/reference.h"

namespace frugal::kernels {
namespace {

constexpr int32_t k2p30 = int32_t{1} << 30;

int8_t add1(const AddParams& p, int8_t a, int8_t b) {
  int8_t out = 0;
  reference::add(p, {1, 1, 1, 1}, &a, {1, 1, 1, 1}, &b, {1, 1, 1, 1}, &out);
  return out;
}

TEST(ReferenceAdd, HandComputedRounding) {
  // s1 = 0.5, s2 = 0.25, s_out = 1 (all zero points 0): multipliers 0.5, 0.25 and 2^-20.
  //   3, 5:  3*2^20*0.5 = 1572864; 5*2^20*0.25 = 1310720; sum 2883584 * 2^-20 = 2.75 -> 3
  //   1, 0:  0.5 exactly: the final rounding shift rounds the tie away from zero -> 1
  //  -1, 0: -0.5 -> -1 (the high multiply is exact here, only the shift rounds)
  //   1,-2:  0.5 - 0.5 = 0
  const AddParams p = make_add_params(0.5f, 0, 0.25f, 0, 1.0f, 0, kActivationNone);
  EXPECT_EQ(add1(p, 3, 5), 3);
  EXPECT_EQ(add1(p, -3, -5), -3);
  EXPECT_EQ(add1(p, 1, 0), 1);
  EXPECT_EQ(add1(p, -1, 0), -1);
  EXPECT_EQ(add1(p, 1, -2), 0);
  EXPECT_EQ(add1(p, 127, 127), 95);    // 63.5 + 31.75 = 95.25 -> 95
  EXPECT_EQ(add1(p, -128, -128), -96);  // -64 - 32
}

TEST(ReferenceAdd, ZeroPointsClampAndBroadcast) {
  // Equal scales 1: each input is multiplied by 0.5 after the 2^20 shift and the sum by 2^-19,
  // all exactly, so out = (a - 1) + b + (-1), clamped to RELU's [-1, 127].
  const AddParams p = make_add_params(1.0f, 1, 1.0f, 0, 1.0f, -1, kActivationRelu);
  EXPECT_EQ(p.act_min, -1);
  // input1 [2][1] = {1, 4}, input2 [1][3] = {10, 20, -20} -> output [2][3]
  const int8_t in1[2] = {1, 4};
  const int8_t in2[3] = {10, 20, -20};
  int8_t out[6];
  reference::add(p, {1, 2, 1, 1}, in1, {1, 1, 3, 1}, in2, {1, 2, 3, 1}, out);
  // row 0: (1-1) + {10, 20, -20} - 1 = {9, 19, -21 -> clamp -1}
  // row 1: (4-1) + {10, 20, -20} - 1 = {12, 22, -18 -> clamp -1}
  const int8_t expected[6] = {9, 19, -1, 12, 22, -1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i]) << i;

  // Broadcast of input1 over channels: {1,1,1,1} + {1,1,1,3}.
  const int8_t scalar[1] = {5};
  const int8_t vec[3] = {0, 1, 2};
  int8_t out3[3];
  reference::add(p, {1, 1, 1, 1}, scalar, {1, 1, 1, 3}, vec, {1, 1, 1, 3}, out3);
  EXPECT_EQ(out3[0], 3);  // 4 + 0 - 1
  EXPECT_EQ(out3[1], 4);
  EXPECT_EQ(out3[2], 5);
}

TEST(ReferenceMul, HandComputed) {
  // 0.5 * 0.25 / 0.125 = 1: out = (a - zp1) * (b - zp2) + zp_out.
  MulParams p = make_mul_params(0.5f, 1, 0.25f, 0, 0.125f, 3, kActivationNone);
  int8_t a[4] = {4, -1, 101, 1}, b[4] = {-4, 7, 100, -128};
  int8_t out[4];
  reference::mul(p, {1, 1, 1, 4}, a, {1, 1, 1, 4}, b, {1, 1, 1, 4}, out);
  EXPECT_EQ(out[0], -9);    // 3 * -4 + 3
  EXPECT_EQ(out[1], -11);   // -2 * 7 + 3
  EXPECT_EQ(out[2], 127);   // 10000 saturates
  EXPECT_EQ(out[3], 3);     // 0 * -128 + 3

  // Multiplier 0.25 (s_out = 0.5): double rounding shows.
  //   3 * 1 * 0.25: high multiply 1.5 -> 2, shift 2 / 2 = 1        (real 0.75 -> 1)
  //   1 * 1 * 0.25: high multiply 0.5 -> 1, shift 0.5 -> 1         (real 0.25 -> 0!)
  //   3 * -2 * 0.25: high multiply -3, shift -1.5 -> -2 (away from zero)
  p = make_mul_params(0.5f, 0, 0.25f, 0, 0.5f, 0, kActivationNone);
  ASSERT_EQ(p.output.multiplier, k2p30);
  ASSERT_EQ(p.output.shift, -1);
  int8_t x[3] = {3, 1, 3}, y[3] = {1, 1, -2};
  reference::mul(p, {1, 1, 1, 3}, x, {1, 1, 1, 3}, y, {1, 1, 1, 3}, out);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 1);
  EXPECT_EQ(out[2], -2);

  // Broadcast a scalar over a [1,1,2,2] tensor.
  p = make_mul_params(1.0f, 0, 1.0f, 0, 1.0f, 0, kActivationNone);
  const int8_t scalar[1] = {-3};
  const int8_t t[4] = {1, 2, 3, 40};
  reference::mul(p, {1, 1, 2, 2}, t, {1, 1, 1, 1}, scalar, {1, 1, 2, 2}, out);
  EXPECT_EQ(out[0], -3);
  EXPECT_EQ(out[1], -6);
  EXPECT_EQ(out[2], -9);
  EXPECT_EQ(out[3], -120);
}

TEST(ReferenceQuantize, FloatToInt8) {
  // scale 0.5, zero point -3: q = round(x / 0.5) - 3, ties away from zero, saturated.
  const float in[8] = {1.25f, -1.25f, 0.2f, -0.2f, 1000.0f, -1000.0f, 0.0f, 0.75f};
  int8_t out[8];
  reference::quantize_float_to_int8(0.5f, -3, 8, in, out);
  EXPECT_EQ(out[0], 0);     // 2.5 -> 3
  EXPECT_EQ(out[1], -6);    // -2.5 -> -3
  EXPECT_EQ(out[2], -3);    // 0.4 -> 0
  EXPECT_EQ(out[3], -3);    // -0.4 -> 0
  EXPECT_EQ(out[4], 127);
  EXPECT_EQ(out[5], -128);
  EXPECT_EQ(out[6], -3);
  EXPECT_EQ(out[7], -1);    // 1.5 -> 2
  // Huge values must not overflow the zero-point addition.
  const float huge[2] = {3e38f, -3e38f};
  reference::quantize_float_to_int8(1e-3f, 100, 2, huge, out);
  EXPECT_EQ(out[0], 127);
  EXPECT_EQ(out[1], -128);
}

TEST(ReferenceDequantize, Int8ToFloat) {
  const int8_t in[3] = {1, -128, 127};
  float out[3];
  reference::dequantize_int8_to_float(0.5f, -3, 3, in, out);
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_EQ(out[1], -62.5f);
  EXPECT_EQ(out[2], 65.0f);
  // Against a long-double oracle (the exact product rounded once to float).
  std::mt19937 rng(5);
  for (int i = 0; i < 1000; ++i) {
    const float scale = std::uniform_real_distribution<float>(1e-4f, 2.0f)(rng);
    const int32_t zp = std::uniform_int_distribution<int32_t>(-128, 127)(rng);
    const int8_t q = static_cast<int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
    float result = 0;
    reference::dequantize_int8_to_float(scale, zp, 1, &q, &result);
    ASSERT_EQ(result, static_cast<float>(static_cast<long double>(scale) * (q - zp)));
  }
}

TEST(ReferenceRequantize, Int8ToInt8) {
  // s_in 0.5 -> s_out 0.25: multiplier 2; zero points 5 -> -5.
  RequantizeParams p = make_requantize_params(0.5f, 5, 0.25f, -5);
  const int8_t in[3] = {10, 127, -128};
  int8_t out[3];
  reference::requantize_int8(p, 3, in, out);
  EXPECT_EQ(out[0], 5);     // (10 - 5) * 2 - 5
  EXPECT_EQ(out[1], 127);   // 244 saturates
  EXPECT_EQ(out[2], -128);  // -266 saturates
  // Multiplier 0.5: +1.5 -> 2 and -1.5 -> -1 (the high multiply rounds ties up).
  p = make_requantize_params(0.25f, 0, 0.5f, 0);
  const int8_t in2[2] = {3, -3};
  reference::requantize_int8(p, 2, in2, out);
  EXPECT_EQ(out[0], 2);
  EXPECT_EQ(out[1], -1);
}

}  // namespace
}  // namespace frugal::kernels
