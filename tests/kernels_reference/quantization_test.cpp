// quantization.h against hand-computed values and against deliberately simple double /
// long-double re-implementations of the same definitions.

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "kernels/quantization.h"

namespace frugal::kernels {
namespace {

constexpr int32_t k2p30 = int32_t{1} << 30;

bool operator==(QuantizedMultiplier a, QuantizedMultiplier b) {
  return a.multiplier == b.multiplier && a.shift == b.shift;
}

// Usable at compile time (the MCU code generator may want constants).
static_assert(quantize_multiplier(0.5).multiplier == k2p30);
static_assert(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX);

TEST(QuantizeMultiplier, PowersOfTwoAndZero) {
  // real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).
  EXPECT_TRUE(quantize_multiplier(0.5) == (QuantizedMultiplier{k2p30, 0}));
  EXPECT_TRUE(quantize_multiplier(1.0) == (QuantizedMultiplier{k2p30, 1}));
  EXPECT_TRUE(quantize_multiplier(0.25) == (QuantizedMultiplier{k2p30, -1}));
  EXPECT_TRUE(quantize_multiplier(2.0) == (QuantizedMultiplier{k2p30, 2}));
  EXPECT_TRUE(quantize_multiplier(0.0) == (QuantizedMultiplier{0, 0}));
  // 0.75 = 0.75 * 2^0 -> 0.75 * 2^31 = 1610612736.
  EXPECT_TRUE(quantize_multiplier(0.75) == (QuantizedMultiplier{1610612736, 0}));
}

TEST(QuantizeMultiplier, RoundingAndFixups) {
  // 0.5 + 2^-32: mantissa * 2^31 = 2^30 + 0.5, a tie, rounded away from zero.
  EXPECT_TRUE(quantize_multiplier(0.5 + std::ldexp(1.0, -32)) ==
              (QuantizedMultiplier{k2p30 + 1, 0}));
  // 0.5 + 2^-33: 2^30 + 0.25 rounds down.
  EXPECT_TRUE(quantize_multiplier(0.5 + std::ldexp(1.0, -33)) == (QuantizedMultiplier{k2p30, 0}));
  // 1 - 2^-40 has frexp mantissa 1 - 2^-40 (exponent 0); * 2^31 rounds to 2^31, which does not
  // fit: it becomes 2^30 with the exponent raised to 1.
  EXPECT_TRUE(quantize_multiplier(1.0 - std::ldexp(1.0, -40)) == (QuantizedMultiplier{k2p30, 1}));
  // 2^-32 = 0.5 * 2^-31: shift -31 is still representable.
  EXPECT_TRUE(quantize_multiplier(std::ldexp(1.0, -32)) == (QuantizedMultiplier{k2p30, -31}));
  // 2^-33 = 0.5 * 2^-32: shift < -31 flushes to zero.
  EXPECT_TRUE(quantize_multiplier(std::ldexp(1.0, -33)) == (QuantizedMultiplier{0, 0}));
  // Negative values keep frexp's negative mantissa.
  EXPECT_TRUE(quantize_multiplier(-0.5) == (QuantizedMultiplier{-k2p30, 0}));
}

TEST(QuantizeMultiplier, WithinHalfAStepOfTheRealValue) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> log2_dist(-30.0, 20.0);
  for (int i = 0; i < 20000; ++i) {
    const double real = std::exp2(log2_dist(rng));
    const QuantizedMultiplier m = quantize_multiplier(real);
    ASSERT_GE(m.multiplier, k2p30);
    const double step = std::ldexp(1.0, m.shift - 31);
    EXPECT_LE(std::fabs(m.multiplier * step - real), step / 2) << real;
  }
}

// floor(a * b / 2^31 + 1/2), in exact long-double arithmetic (64-bit significand).
int32_t srdhm_oracle(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const long double v = static_cast<long double>(a) * b / 2147483648.0L;
  return static_cast<int32_t>(std::floor(v + 0.5L));
}

// x / 2^e rounded half away from zero; the quotient is exact in double.
int32_t rdbpot_oracle(int32_t x, int e) {
  return static_cast<int32_t>(std::round(std::ldexp(static_cast<double>(x), -e)));
}

TEST(FixedPoint, SaturatingRoundingDoublingHighMul) {
  EXPECT_EQ(saturating_rounding_doubling_high_mul(k2p30, k2p30), 1 << 29);  // 2^60 / 2^31
  // Ties round up, not away from zero: +0.5 -> 1 but -0.5 -> 0 and -1.5 -> -1.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1, k2p30), 1);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-1, k2p30), 0);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-3, k2p30), -1);
  // The single overflow: (-1) * (-1) = 1 is not representable in Q0.31.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX), -INT32_MAX);
  // (2^31 - 1)^2 / 2^31 = 2^31 - 2 + 2^-31 -> 2147483646.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX), 2147483646);

  std::mt19937 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const int32_t a = static_cast<int32_t>(rng());
    const int32_t b = static_cast<int32_t>(rng());
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), srdhm_oracle(a, b)) << a << " " << b;
  }
}

TEST(FixedPoint, RoundingDivideByPowerOfTwo) {
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3 (away from zero)
  EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);  // -1.5 -> -2
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);  // -1.5 -> -2
  EXPECT_EQ(rounding_divide_by_pot(-5, 2), -1);  // -1.25 -> -1
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);  // -1.75 -> -2
  EXPECT_EQ(rounding_divide_by_pot(-4, 2), -1);  // exact
  EXPECT_EQ(rounding_divide_by_pot(-1, 1), -1);  // -0.5 -> -1
  EXPECT_EQ(rounding_divide_by_pot(1, 1), 1);    // 0.5 -> 1
  EXPECT_EQ(rounding_divide_by_pot(123, 0), 123);
  EXPECT_EQ(rounding_divide_by_pot(INT32_MIN, 31), -1);
  EXPECT_EQ(rounding_divide_by_pot(INT32_MAX, 31), 1);

  std::mt19937 rng(2);
  for (int i = 0; i < 100000; ++i) {
    const int32_t x = static_cast<int32_t>(rng());
    const int e = static_cast<int>(rng() % 32);
    ASSERT_EQ(rounding_divide_by_pot(x, e), rdbpot_oracle(x, e)) << x << " " << e;
  }
}

TEST(MultiplyByQuantizedMultiplier, HandComputed) {
  const QuantizedMultiplier half{k2p30, 0}, quarter{k2p30, -1}, two{k2p30, 2};
  EXPECT_EQ(multiply_by_quantized_multiplier(3, half), 2);    // 1.5 -> 2
  // -1.5: the high multiply rounds its tie up, to -1 (a single correct rounding would give -2).
  EXPECT_EQ(multiply_by_quantized_multiplier(-3, half), -1);
  EXPECT_EQ(multiply_by_quantized_multiplier(-3, quarter), -1);  // -1 then -0.5 -> -1
  EXPECT_EQ(multiply_by_quantized_multiplier(100, two), 200);    // left shift first
  EXPECT_EQ(multiply_by_quantized_multiplier(-100, two), -200);
  // Double rounding: 1 * 0.375 -> high multiply 0.75 -> 1, then 1 / 2 = 0.5 -> 1, where the
  // real product 0.375 would round to 0.
  EXPECT_EQ(multiply_by_quantized_multiplier(1, QuantizedMultiplier{1610612736, -1}), 1);
  // Saturation of the high multiply.
  EXPECT_EQ(multiply_by_quantized_multiplier(INT32_MIN, QuantizedMultiplier{INT32_MIN, 0}),
            INT32_MAX);
  EXPECT_EQ(multiply_by_quantized_multiplier(INT32_MIN, half), -k2p30);
  EXPECT_EQ(multiply_by_quantized_multiplier(0, QuantizedMultiplier{0, 0}), 0);
}

TEST(MultiplyByQuantizedMultiplier, MatchesTwoStepOracle) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> acc_dist(-(1 << 24), 1 << 24);
  std::uniform_real_distribution<double> log2_dist(-25.0, 0.0);
  for (int i = 0; i < 100000; ++i) {
    const int32_t x = acc_dist(rng);
    const QuantizedMultiplier m = quantize_multiplier(std::exp2(log2_dist(rng)));
    ASSERT_LE(m.shift, 0);
    const int32_t expected = rdbpot_oracle(srdhm_oracle(x, m.multiplier), -m.shift);
    ASSERT_EQ(multiply_by_quantized_multiplier(x, m), expected);
    ASSERT_EQ(multiply_by_quantized_multiplier_smaller_than_one_exp(x, m), expected);
    // And the result is within one of the correctly rounded real product.
    const double real = x * (m.multiplier * std::ldexp(1.0, m.shift - 31));
    ASSERT_LE(std::fabs(expected - real), 1.0);
  }
}

TEST(MultiplyByQuantizedMultiplier, GreaterThanOne) {
  // 3 * 2^5 * 0.5 = 48.
  EXPECT_EQ(multiply_by_quantized_multiplier_greater_than_one(3, QuantizedMultiplier{k2p30, 5}), 48);
  EXPECT_EQ(multiply_by_quantized_multiplier_greater_than_one(-3, QuantizedMultiplier{k2p30, 5}),
            -48);
}

TEST(ActivationRange, Int8Clamps) {
  int32_t lo = 0, hi = 0;
  activation_range(kActivationNone, 0.1f, -10, &lo, &hi);
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, 127);
  activation_range(kActivationRelu, 0.1f, -10, &lo, &hi);  // 0 -> zero point
  EXPECT_EQ(lo, -10);
  EXPECT_EQ(hi, 127);
  // 6 / 0.1f = 59.9999991 in float arithmetic -> 60.0f -> -10 + 60 = 50.
  activation_range(kActivationRelu6, 0.1f, -10, &lo, &hi);
  EXPECT_EQ(lo, -10);
  EXPECT_EQ(hi, 50);
  // 6 / 0.02 = 300 is beyond int8: the int8 limit wins.
  activation_range(kActivationRelu6, 0.02f, 0, &lo, &hi);
  EXPECT_EQ(lo, 0);
  EXPECT_EQ(hi, 127);
  // 6 / 4 = 1.5 rounds away from zero to 2.
  activation_range(kActivationRelu6, 4.0f, 0, &lo, &hi);
  EXPECT_EQ(hi, 2);
  // -1 / (1/64) = -64 -> 3 - 64 = -61; 1 -> 67.
  activation_range(kActivationReluN1To1, 0.015625f, 3, &lo, &hi);
  EXPECT_EQ(lo, -61);
  EXPECT_EQ(hi, 67);
  // A zero point below -128 (unusual but legal) is clamped to the int8 range for RELU.
  activation_range(kActivationRelu, 1.0f, -200, &lo, &hi);
  EXPECT_EQ(lo, -128);
}

TEST(Builders, ConvMultipliers) {
  // 0.5 * 0.25 / 0.25 = 0.5 and 0.5 * 0.125 / 0.25 = 0.25.
  const float filter_scales[2] = {0.25f, 0.125f};
  QuantizedMultiplier m[3];
  conv_multipliers(0.5f, filter_scales, 2, 0.25f, 2, m);
  EXPECT_TRUE(m[0] == (QuantizedMultiplier{k2p30, 0}));
  EXPECT_TRUE(m[1] == (QuantizedMultiplier{k2p30, -1}));
  // A per-tensor filter scale is repeated: 0.5 * 0.5 / 0.25 = 1.
  const float one_scale[1] = {0.5f};
  conv_multipliers(0.5f, one_scale, 1, 0.25f, 3, m);
  for (const auto& q : m) EXPECT_TRUE(q == (QuantizedMultiplier{k2p30, 1}));
}

TEST(Builders, FullyConnectedPerTensorMultipliesScalesInFloat) {
  // Expected values computed independently in Python (math.frexp, float32 via struct):
  //   float(0.1f * 0.3f) / 0.7f -> (1472560299, -4); double product -> (1472560321, -4).
  //   ResNet-8's last FC (0.127069f, 0.030554f, 0.171854f) -> (1552486607, -5) vs 1552486622.
  const float filter[1] = {0.3f};
  QuantizedMultiplier fc[2], conv[1];
  fully_connected_multipliers(0.1f, filter, 1, 0.7f, 2, fc);
  conv_multipliers(0.1f, filter, 1, 0.7f, 1, conv);
  EXPECT_TRUE(fc[0] == (QuantizedMultiplier{1472560299, -4}));
  EXPECT_TRUE(fc[1] == fc[0]);
  EXPECT_TRUE(conv[0] == (QuantizedMultiplier{1472560321, -4}));
  const float resnet_filter[1] = {0.030554f};
  fully_connected_multipliers(0.127069f, resnet_filter, 1, 0.171854f, 1, fc);
  EXPECT_TRUE(fc[0] == (QuantizedMultiplier{1552486607, -5}));
  // Per-channel FC uses the double product, like conv.
  const float two_filters[2] = {0.3f, 0.3f};
  fully_connected_multipliers(0.1f, two_filters, 2, 0.7f, 2, fc);
  EXPECT_TRUE(fc[0] == (QuantizedMultiplier{1472560321, -4}));
}

TEST(Builders, AddParams) {
  // max scale 0.5 -> twice_max = 1; 0.5 / 1 = 0.5; 0.25 / 1 = 0.25; 1 / (2^20 * 1) = 2^-20.
  const AddParams p = make_add_params(0.5f, 3, 0.25f, -4, 1.0f, 7, kActivationRelu);
  EXPECT_EQ(p.input1_offset, -3);
  EXPECT_EQ(p.input2_offset, 4);
  EXPECT_EQ(p.output_offset, 7);
  EXPECT_EQ(p.left_shift, 20);
  EXPECT_TRUE(p.input1 == (QuantizedMultiplier{k2p30, 0}));
  EXPECT_TRUE(p.input2 == (QuantizedMultiplier{k2p30, -1}));
  EXPECT_TRUE(p.output == (QuantizedMultiplier{k2p30, -19}));
  EXPECT_EQ(p.act_min, 7);
  EXPECT_EQ(p.act_max, 127);
}

TEST(Builders, MulRequantizeMeanParams) {
  const MulParams mul = make_mul_params(0.5f, 1, 0.25f, 2, 0.125f, -3, kActivationNone);
  EXPECT_TRUE(mul.output == (QuantizedMultiplier{k2p30, 1}));  // 0.5 * 0.25 / 0.125 = 1
  EXPECT_EQ(mul.input1_offset, -1);
  EXPECT_EQ(mul.input2_offset, -2);
  EXPECT_EQ(mul.output_offset, -3);
  EXPECT_EQ(mul.act_min, -128);
  const RequantizeParams rq = make_requantize_params(0.5f, 5, 0.25f, -5);
  EXPECT_TRUE(rq.multiplier == (QuantizedMultiplier{k2p30, 2}));  // 0.5 / 0.25 = 2
  EXPECT_EQ(rq.input_zero_point, 5);
  EXPECT_EQ(rq.output_zero_point, -5);
  const MeanParams mp = make_mean_params(0.25f, 1, 0.5f, 2);
  EXPECT_TRUE(mp.multiplier == (QuantizedMultiplier{k2p30, 0}));  // 0.5
}

TEST(Builders, SoftmaxParams) {
  // scale 1/32, beta 1: 2^-5 * 2^26 = 2^21 = 0.5 * 2^22 -> (2^30, 22);
  // diff_min = -floor(31 * 2^26 / 2^22) = -496.
  SoftmaxParams p = make_softmax_params(0.03125f, 1.0f);
  EXPECT_EQ(p.input_multiplier, k2p30);
  EXPECT_EQ(p.input_left_shift, 22);
  EXPECT_EQ(p.diff_min, -496);
  // beta 2 doubles the multiplier: shift 23, radius 31 * 2^26 / 2^23 = 248.
  p = make_softmax_params(0.03125f, 2.0f);
  EXPECT_EQ(p.input_left_shift, 23);
  EXPECT_EQ(p.diff_min, -248);
  // Huge scale: 100 * 2^26 exceeds 2^31 - 1 and is capped there: (2^31 - 1) / 2^31 * 2^31 ->
  // (2147483647, 31); radius floor(31 * 2^26 / 2^31) = floor(0.97) = 0.
  p = make_softmax_params(100.0f, 1.0f);
  EXPECT_EQ(p.input_multiplier, INT32_MAX);
  EXPECT_EQ(p.input_left_shift, 31);
  EXPECT_EQ(p.diff_min, 0);
}

TEST(Rounding, HalfAwayFromZero) {
  EXPECT_EQ(round_half_away_from_zero(2.5f), 3.0f);
  EXPECT_EQ(round_half_away_from_zero(-2.5f), -3.0f);
  EXPECT_EQ(round_half_away_from_zero(0.49999997f), 0.0f);  // x + 0.5 would round to 1
  EXPECT_EQ(round_half_away_from_zero(-0.49999997f), 0.0f);
  EXPECT_EQ(round_half_away_from_zero(8388609.0f), 8388609.0f);
  EXPECT_EQ(round_half_away_from_zero(2.5), 3.0);
  EXPECT_EQ(round_half_away_from_zero(-1e300), -1e300);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> dist(-1000.0f, 1000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float x = dist(rng);
    ASSERT_EQ(round_half_away_from_zero(x), std::round(x)) << x;
  }
}

}  // namespace
}  // namespace frugal::kernels
