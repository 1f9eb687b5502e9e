// The few gemmlowp-style fixed-point functions that TFLite's int8 SOFTMAX is built from,
// written on plain int32 raw values. A value in "Qm" format (m integer bits, 31 - m fractional
// bits) represents raw / 2^(31 - m). Products of a Qa and a Qb value are Q(a+b) values computed
// with saturating_rounding_doubling_high_mul.
#pragma once

#include <cstdint>

#include "kernels/quantization.h"

namespace frugal::kernels::fixed_point {

// x * 2^exponent for exponent > 0, saturating to the int32 range (gemmlowp's
// SaturatingRoundingMultiplyByPOT with a positive exponent). Note that the lower bound is
// -threshold, so -2^(31 - exponent) itself also saturates (to INT32_MIN, its exact value).
constexpr int32_t saturating_shift_left(int32_t x, int exponent) {
  const int32_t threshold = static_cast<int32_t>((int64_t{1} << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return wrapping_shift_left(x, exponent);
}

// Changes the format of a value from Q(src_integer_bits) to Q(dst_integer_bits): a saturating
// left shift when gaining fractional bits, a rounding right shift when losing them.
constexpr int32_t rescale(int32_t x, int src_integer_bits, int dst_integer_bits) {
  const int exponent = src_integer_bits - dst_integer_bits;
  if (exponent > 0) return saturating_shift_left(x, exponent);
  if (exponent < 0) return rounding_divide_by_pot(x, -exponent);
  return x;
}

constexpr int32_t mul(int32_t a, int32_t b) { return saturating_rounding_doubling_high_mul(a, b); }

// exp(a) for a Q0 value a in [-1/4, 0), as a Q0 value: the Taylor expansion of exp around
// -1/8 up to the 4th power, exp(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24) with x = a + 1/8.
constexpr int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  constexpr int32_t kExpMinusOneEighth = 1895147668;  // round(exp(-1/8) * 2^31)
  constexpr int32_t kOneThird = 715827883;            // round(1/3 * 2^31)
  const int32_t x = a + (1 << 28);                    // 1/8 in Q0
  const int32_t x2 = mul(x, x);
  const int32_t x3 = mul(x2, x);
  const int32_t x4 = mul(x2, x2);
  const int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
  // ((x^4/4 + x^3) / 3 + x^2) / 2 = x^4/24 + x^3/6 + x^2/2
  const int32_t higher_terms = rounding_divide_by_pot(mul(x4_over_4 + x3, kOneThird) + x2, 1);
  return kExpMinusOneEighth + mul(kExpMinusOneEighth, x + higher_terms);
}

// exp(a) for a Q(integer_bits) value a <= 0, as a Q0 value (gemmlowp's exp_on_negative_values).
// a is split into a multiple of 1/4 and a remainder in [-1/4, 0): the remainder goes through the
// Taylor expansion, the multiple through a product of the constants exp(-2^k), one per bit.
constexpr int32_t exp_on_negative_values(int32_t a, int integer_bits) {
  const int fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = int32_t{1} << (fractional_bits - 2);
  const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
  const int32_t remainder = a_mod_quarter_minus_one_quarter - a;

  // round(exp(-2^k) * 2^31) for k = -2 .. 4.
  constexpr int32_t kExpMinusPowerOfTwo[7] = {1672461947, 1302514674, 790015084, 290630308,
                                              39332535,   720401,     242};
  for (int k = -2; k <= 4; ++k) {
    if (integer_bits > k) {
      const int32_t bit = int32_t{1} << (fractional_bits + k);
      if (remainder & bit) result = mul(result, kExpMinusPowerOfTwo[k + 2]);
    }
  }
  // Inputs below -32 underflow to zero (only reachable with more than 5 integer bits).
  if (integer_bits > 5) {
    const int32_t minus_32 = -(int32_t{1} << (36 - integer_bits));
    if (a < minus_32) result = 0;
  }
  if (a == 0) result = INT32_MAX;  // exp(0) = 1, the largest Q0 value
  return result;
}

// (a + b) / 2 rounded half away from zero, without overflow (gemmlowp's RoundingHalfSum).
constexpr int32_t rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = int64_t{a} + int64_t{b};
  const int64_t sign = sum >= 0 ? 1 : -1;
  return static_cast<int32_t>((sum + sign) / 2);
}

// 1 / (1 + a) for a Q0 value a in [0, 1), as a Q0 value: three Newton-Raphson iterations on
// the half denominator (1 + a) / 2, starting from 48/17 - 32/17 * d, computed in Q2.
constexpr int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  constexpr int32_t kQ2One = int32_t{1} << 29;
  constexpr int32_t k48Over17 = 1515870810;       // round(48/17 * 2^29)
  constexpr int32_t kMinus32Over17 = -1010580540;  // round(-32/17 * 2^29)
  const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);  // Q0
  int32_t x = k48Over17 + mul(half_denominator, kMinus32Over17);      // Q2
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = mul(half_denominator, x);  // Q2
    const int32_t one_minus_half_denominator_times_x = kQ2One - half_denominator_times_x;
    x = x + rescale(mul(x, one_minus_half_denominator_times_x), 4, 2);
  }
  // x approximates 1 / half_denominator = 2 / (1 + a); halving it is a change of format (Q2 ->
  // Q1, same raw value), then Q1 -> Q0.
  return rescale(x, 1, 0);
}

// TFLite's GetReciprocal: for a positive Q(integer_bits) value x, returns a Q0 value r and a
// count of bits so that 1 / x = r * 2^-num_bits_over_unit, with x normalised to [1, 2) first.
constexpr int32_t reciprocal(int32_t x, int integer_bits, int* num_bits_over_unit) {
  const uint32_t ux = static_cast<uint32_t>(x);
  int headroom_plus_one = 0;  // count of leading zeros
  while (headroom_plus_one < 32 && !(ux & (uint32_t{1} << (31 - headroom_plus_one)))) {
    ++headroom_plus_one;
  }
  *num_bits_over_unit = integer_bits - headroom_plus_one;
  const int32_t shifted_minus_one = static_cast<int32_t>(
      (headroom_plus_one < 32 ? ux << headroom_plus_one : 0u) - (uint32_t{1} << 31));
  return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one);
}

}  // namespace frugal::kernels::fixed_point
